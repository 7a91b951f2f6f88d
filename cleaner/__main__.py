"""`python -m cleaner` runs the `clean` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
