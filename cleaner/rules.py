"""The pattern library: TOML rules compiled with `regex`, matched with a timeout."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import regex

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_MAX_WORDS = 40
# A paragraph longer than this is never removed by patterns alone.
PATTERN_WORD_CAP = 400
_REASON_RE = regex.compile(r"^[a-z][a-z0-9-]{0,40}$")
_KEYS = {"name", "reason", "pattern", "max_words", "block", "block_max_words", "late", "case_sensitive"}


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file and rule."""


class RuleTimeout(RuntimeError):
    """A pattern ran longer than the allowed time on one paragraph."""

    def __init__(self, rule: str, seconds: float) -> None:
        super().__init__(f"rule {rule!r} took over {seconds:g}s on one paragraph and was skipped there")
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    reason: str
    pattern: str
    max_words: int
    block: bool
    compiled: regex.Pattern
    # Built-in rules are written for lower-case text: matched on the lower-cased
    # paragraph without IGNORECASE and without a per-search timeout, which makes
    # them three times faster (the document's --doc-timeout still bounds them).
    trusted: bool = False
    # Strings one of which every match contains (prefilter.required_literals), for
    # trusted rules: a paragraph without any of them is not searched.
    literals: tuple[str, ...] | None = None
    # A late rule removes its paragraph after the classifier has decided the others, so the
    # line is not junk context for its neighbours (rules.toml, comment-actions, says why).
    late: bool = False
    # A block rule's line opens a block only up to this many words (None: up to max_words).
    block_max_words: int | None = None

    def hit(self, n_words: int) -> Hit:
        block = self.block and (self.block_max_words is None or n_words <= self.block_max_words)
        return Hit(self.name, self.reason, block, n_words <= self.max_words, self.max_words == 0, self.late)


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    reason: str
    block: bool
    decisive: bool  # this hit alone may remove the paragraph (short enough)
    evidence_only: bool = False  # max_words = 0: never removes by itself, a feature of the classifier
    late: bool = False  # removes after the classifier's decision (Rule.late)


def _parse(data: dict, origin: str, trusted: bool = False) -> list[Rule]:
    items = data.get("rule", [])
    extra = set(data) - {"rule"}
    if extra:
        raise RuleError(f"{origin}: unknown top-level key(s) {sorted(extra)}; expected [[rule]] tables")
    if not isinstance(items, list):
        raise RuleError(f"{origin}: 'rule' must be an array of tables ([[rule]])")
    rules = []
    for i, item in enumerate(items, 1):
        where = f"{origin}: rule #{i}"
        if not isinstance(item, dict):
            raise RuleError(f"{where}: not a table")
        name = item.get("name", f"rule{i}")
        where = f"{origin}: rule #{i} ({name})"
        unknown = set(item) - _KEYS
        if unknown:
            raise RuleError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("reason", "pattern"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise RuleError(f"{where}: '{key}' is required and must be a non-empty string")
        if not _REASON_RE.match(item["reason"]):
            raise RuleError(f"{where}: reason {item['reason']!r} must be lower-case words joined by '-'")
        max_words = item.get("max_words", DEFAULT_MAX_WORDS)
        if not isinstance(max_words, int) or isinstance(max_words, bool) or max_words < 0:
            raise RuleError(f"{where}: max_words must be a whole number >= 0 (0: evidence only)")
        for key in ("block", "late", "case_sensitive"):
            if not isinstance(item.get(key, False), bool):
                raise RuleError(f"{where}: {key} must be true or false")
        block_max = item.get("block_max_words")
        if block_max is not None and (not isinstance(block_max, int) or isinstance(block_max, bool) or block_max < 1):
            raise RuleError(f"{where}: block_max_words must be a whole number >= 1")
        if block_max is not None and not item.get("block", False):
            raise RuleError(f"{where}: block_max_words goes with block = true")
        lower = trusted and not item.get("case_sensitive", False)
        flags = regex.UNICODE | (0 if item.get("case_sensitive", False) or lower else regex.IGNORECASE)
        try:
            compiled = regex.compile(item["pattern"], flags)
        except regex.error as e:
            raise RuleError(f"{where}: bad pattern: {e}") from None
        literals = None
        if lower:
            from .prefilter import required_literals

            found = required_literals(item["pattern"])
            literals = tuple(found) if found else None
        rules.append(Rule(str(name), item["reason"], item["pattern"], max_words,
                          bool(item.get("block", False)), compiled, lower, literals,
                          bool(item.get("late", False)), block_max))
    names = [r.name for r in rules]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise RuleError(f"{origin}: duplicate rule name(s) {dup}")
    return rules


def load_rules_text(text: str, origin: str, trusted: bool = False) -> list[Rule]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RuleError(f"{origin}: not valid TOML: {e}") from None
    return _parse(data, origin, trusted)


def load_rule_file(path: str | Path) -> list[Rule]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RuleError(f"{p}: cannot read rule file: {e}") from None
    return load_rules_text(text, str(p))


def _shipped_text() -> str:
    return resources.files("cleaner").joinpath("data/rules.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_rules() -> tuple[Rule, ...]:
    return tuple(load_rules_text(_shipped_text(), "cleaner/data/rules.toml", trusted=True))


@lru_cache(maxsize=1)
def _default_names() -> tuple[str, ...]:
    """The shipped rules' names, as _parse names them, without compiling their patterns."""
    items = tomllib.loads(_shipped_text())["rule"]
    return tuple(str(item.get("name", f"rule{i}")) for i, item in enumerate(items, 1))


class RuleSet:
    """Rules ready to match paragraphs."""

    def __init__(self, rules: Sequence[Rule], timeout: float = 0.25) -> None:
        self.rules = list(rules)
        self.timeout = timeout
        names = [r.name for r in self.rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise RuleError(f"rule name(s) defined twice (default and user rules?): {dup}")

    @classmethod
    def build(cls, extra_files: Iterable[str | Path] = (), use_defaults: bool = True,
              timeout: float = 0.25) -> RuleSet:
        rules: list[Rule] = list(default_rules()) if use_defaults else []
        for f in extra_files:
            rules.extend(load_rule_file(f))
        return cls(rules, timeout)

    @staticmethod
    def check(extra_files: Iterable[str | Path] = (), use_defaults: bool = True) -> None:
        """Raise RuleError where `build` would, without compiling the shipped rules (the
        caller's up-front check: ~0.2 s of regex compiling and imports, which every worker
        does again; the shipped file is checked by the tests)."""
        seen = dict.fromkeys(_default_names(), "the shipped rules") if use_defaults else {}
        for f in extra_files:
            for r in load_rule_file(f):
                if r.name in seen:
                    raise RuleError(f"{f}: rule {r.name!r} is already defined in {seen[r.name]}; rename it")
                seen[r.name] = str(f)

    def match(self, text: str, n_words: int) -> tuple[list[Hit], list[RuleTimeout]]:
        """All rules that match `text`, and the rules that timed out on it."""
        hits: list[Hit] = []
        timeouts: list[RuleTimeout] = []
        if n_words > PATTERN_WORD_CAP:
            return hits, timeouts
        lower = None
        for r in self.rules:
            if r.trusted:
                if lower is None:
                    lower = text.lower()
                found = r.compiled.search(lower)
            else:
                try:
                    found = r.compiled.search(text, timeout=self.timeout)
                except TimeoutError:
                    timeouts.append(RuleTimeout(r.name, self.timeout))
                    continue
            if found:
                hits.append(r.hit(n_words))
        return hits, timeouts


    def match_many(self, paragraphs: Sequence[str], n_words: Sequence[int], lower: Sequence[str] | None = None,
                   lower_joined: str | None = None) -> tuple[list[tuple[Hit, ...]], list[tuple[int, RuleTimeout]]]:
        """`match` for many paragraphs at once: the same hits, in rule order. A trusted
        rule runs only on the paragraphs that contain one of its literals (found for
        all rules in one pass over the lower-cased text). `lower`: the paragraphs
        lower-cased, and `lower_joined` those joined by newlines, if the caller has them."""
        import numpy as np

        from .prefilter import literal_matrix

        n = len(paragraphs)
        timeouts: list[tuple[int, RuleTimeout]] = []
        if not n or not self.rules:
            return [()] * n, timeouts
        # most paragraphs match no rule: their hits are the one shared empty tuple
        hits: dict[int, list[Hit]] = {}
        words = np.asarray(n_words, dtype=np.int64)
        eligible = words <= PATTERN_WORD_CAP
        if lower is None:
            lower = [p.lower() for p in paragraphs]
        lits = sorted({lit for r in self.rules if r.literals for lit in r.literals})
        row = {lit: k for k, lit in enumerate(lits)}
        found = literal_matrix(lits, lower, joined=lower_joined) if lits else np.zeros((0, n), dtype=bool)
        everyone = np.flatnonzero(eligible).tolist()
        for r in self.rules:
            if r.literals:
                cand = np.flatnonzero(found[[row[x] for x in r.literals]].any(axis=0) & eligible).tolist()
            else:
                cand = everyone
            search = r.compiled.search
            for i in cand:
                if r.trusted:
                    hit = search(lower[i])
                else:
                    try:
                        hit = search(paragraphs[i], timeout=self.timeout)
                    except TimeoutError:
                        timeouts.append((i, RuleTimeout(r.name, self.timeout)))
                        continue
                if hit:
                    hits.setdefault(i, []).append(r.hit(int(words[i])))
        out: list[tuple[Hit, ...]] = [()] * n
        for i, h in hits.items():
            out[i] = tuple(h)
        return out, timeouts


def decide(hits: Sequence[Hit]) -> Hit | None:
    """The hit that removes the paragraph, if the hits are enough to remove it.

    One decisive hit is enough; otherwise two different rules with the same
    reason (a long pitch that says "subscribe" in two ways, say), at least one of
    them not evidence-only (max_words = 0).
    """
    for h in hits:
        if h.decisive:
            return h
    by_reason: dict[str, list[Hit]] = {}
    for h in hits:
        by_reason.setdefault(h.reason, []).append(h)
    for group in by_reason.values():
        if len({h.rule for h in group}) >= 2:
            firm = [h for h in group if not h.evidence_only]
            if firm:
                return firm[0]
    return None
