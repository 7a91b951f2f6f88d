"""Pickling slots dataclasses as their class and a tuple of their fields.

The default pickling of a slots dataclass runs Python per object (its generated
__getstate__ calls dataclasses.fields()); a run pickles a handful of these per
input file between processes and phases, which for a folder of 20,000 small
files came to ~0.6 CPU-s in the main process alone. A (class, fields) reduce
pickles in C.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


def pickled_by_fields(cls: type[T]) -> type[T]:
    """Class decorator (outside @dataclass): every field must be an __init__ argument."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    if any(not f.init for f in fields(cls)):  # type: ignore[arg-type]
        raise TypeError(f"{cls.__name__}: a field outside __init__ cannot be pickled by fields")
    get = attrgetter(*names)

    def __reduce__(self: Any) -> tuple[Any, ...]:
        values = get(self)
        return cls, values if len(names) > 1 else (values,)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls
