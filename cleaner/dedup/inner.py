"""Repeats inside a document: exact and near repeats among its kept paragraphs.

The first occurrence stays. All documents of a map task are done at once, and
the same pass computes what the corpus-wide steps need of the kept text (keys,
MinHash signatures, shingle sets), so the text is tokenised once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .. import reasons as R
from ..config import Config
from ..document import Document, Drop
from ..ragged import Ragged


@dataclass(slots=True)
class FileKeys:
    """What the corpus-wide steps need of a file's kept text (tokenised once), as
    arrays over its kept paragraphs (documents in order, paragraphs in order)."""

    p_key: np.ndarray  # uint64 normalised key of each kept paragraph
    p_words: np.ndarray  # its number of word tokens
    para_rows: np.ndarray  # the kept paragraphs with a MinHash (long ones; dedup only)
    para_sigs: np.ndarray | None  # their MinHashes
    doc_key: list[int]  # per document: key of its kept text (0 if none)
    doc_sig: np.ndarray | None  # per document: MinHash of its kept text (dedup only)
    # shingle hashes (not yet deduplicated) for verifying candidates in the reduce:
    doc_sets: Ragged | None = None  # per document
    para_sets: Ragged | None = None  # per para_rows entry

    @classmethod
    def empty(cls) -> FileKeys:
        z = np.zeros(0, dtype=np.int64)
        return cls(z.astype(np.uint64), z, z, None, [], None)


def in_repeated_block(twin: np.ndarray, same_doc: np.ndarray, long_enough: np.ndarray) -> np.ndarray:
    """Which repeats go: `twin[r]` is the earlier paragraph item r repeats (-1: none), in
    one sequence of the documents' kept paragraphs in order; `same_doc[r]`: items r and
    r + 1 are of one document. A repeat long enough goes on its own; a short one only
    inside a repeated block: a run of paragraphs that repeats a run of adjacent earlier
    ones and holds a paragraph long enough to go on its own. Runs of short lines alone
    recur as content: a table's rows ("Friday. Rest Day"), the lines of code shown twice,
    a label ("What We Don't Like") or a line of code of many documents."""
    is_rep = twin >= 0
    if not len(twin):
        return is_rep
    link = np.zeros(len(twin), dtype=bool)  # item r and r + 1 are one block
    link[:-1] = same_doc & is_rep[:-1] & is_rep[1:] & (twin[1:] == twin[:-1] + 1)
    in_block = link | np.concatenate(([False], link[:-1]))
    block = np.concatenate(([0], np.cumsum(~link[:-1])))
    has_long = np.bincount(block, weights=(long_enough & is_rep).astype(float)) > 0
    return is_rep & (long_enough | (in_block & has_long[block]))


def repeats_inside(docs: list[Document], cfg: Config, dedup: bool = True,
                   settle: Callable[[list[Document]], set[int]] | None = None) -> FileKeys:
    """Drop exact and near repeats among the kept paragraphs of each document
    (the first occurrence stays), for all documents of a file at once, and
    compute the keys and signatures the corpus-wide steps need. The text is
    tokenised once for paragraph keys, paragraph shingles and document shingles.
    `settle(docs)`, once the repeats are marked, may drop more paragraphs (in doc.drops)
    and returns the documents it changed: the keys are those of what each one keeps.
    """
    from .. import minhash as mh

    kept_lists = [doc.kept() for doc in docs]
    n_kept = np.array([len(k) for k in kept_lists], dtype=np.int64)
    item_doc = np.repeat(np.arange(len(docs), dtype=np.int64), n_kept)
    item_idx = np.fromiter(chain.from_iterable(kept_lists), dtype=np.int64, count=int(n_kept.sum()))
    tok = mh.tokenize([docs[d].paragraphs[i] for d, k in enumerate(kept_lists) for i in k])
    keys, norm_len = mh.keys_of(tok, arrays=True)
    alive = np.ones(len(item_doc), dtype=bool)  # kept paragraphs not (yet) dropped as repeats

    def drop(r: int, r2: int, reason: str, detail: str, sim: float) -> None:
        doc = docs[int(item_doc[r])]
        i, i2 = int(item_idx[r]), int(item_idx[r2])
        doc.drops[i] = Drop(reason, f"{detail} {doc.lines[i2]}", twin=doc.id, twin_line=doc.lines[i2],
                            twin_file=doc.source, similarity=sim)
        alive[r] = False

    if dedup:
        # exact repeats: the first paragraph of each (document, key), among those long enough, stays
        cand = np.flatnonzero(norm_len >= cfg.min_inner_dup_chars)
        c = cand[np.lexsort((cand, keys[cand], item_doc[cand]))]
        if len(c) > 1:
            same = np.zeros(len(c), dtype=bool)
            same[1:] = (item_doc[c[1:]] == item_doc[c[:-1]]) & (keys[c[1:]] == keys[c[:-1]])
            first = c[np.flatnonzero(~same)][np.cumsum(~same) - 1]
            rep, of = c[same], first[same]
            twin = np.full(len(item_doc), -1, dtype=np.int64)
            twin[rep] = of
            same_doc = item_doc[1:] == item_doc[:-1]
            goes = in_repeated_block(twin, same_doc, tok.counts >= cfg.min_inner_dup_words)
            for r, r2 in zip(rep.tolist(), of.tolist()):
                if goes[r]:
                    drop(r, r2, R.DUP_PARA, "same as line", 1.0)
    long_rows = np.flatnonzero(alive & (tok.counts >= cfg.min_near_words)) if dedup \
        else np.zeros(0, dtype=np.int64)
    sigs = None
    psets: Ragged | None = None
    t = cfg.paragraph_threshold
    if len(long_rows):
        ph, pc = mh.shingles_of(tok.select(long_rows), cfg.paragraph_shingle)
        sigs = mh.signatures_from_hashes(ph, pc, cfg.paragraph_num_perm, cfg.seed)
        psets = Ragged.from_counts(ph, pc)
        long_doc = item_doc[long_rows]
        per = np.bincount(long_doc, minlength=len(docs))
        check = _docs_with_close_rows(sigs, long_doc, t - 0.2) | set(np.flatnonzero(per > 64).tolist())
        for d in sorted(check):
            rows = np.flatnonzero(long_doc == d).tolist()  # near repeats: rows into sigs, in order
            sub = sigs[rows]
            sets: dict[int, np.ndarray] = {}

            def exact(a: int, b: int, rows: list[int] = rows, sets: dict[int, np.ndarray] = sets,
                      psets: Ragged = psets) -> float:
                # the paragraphs' shingles, already hashed for their signatures
                for x in (a, b):
                    if x not in sets:
                        sets[x] = mh.sorted_unique(psets.row(rows[x]))
                return mh.jaccard_sets(sets[a], sets[b])

            def near(a: int, b: int, sim: float, rows: list[int] = rows) -> None:
                drop(int(long_rows[rows[a]]), int(long_rows[rows[b]]), R.NEAR_DUP_PARA, "near line", round(sim, 4))

            def distinct(a: int, b: int, rows: list[int] = rows) -> bool:
                ra, rb = int(long_rows[rows[a]]), int(long_rows[rows[b]])
                return substitutes(docs[int(item_doc[ra])].paragraphs[int(item_idx[ra])],
                                   docs[int(item_doc[rb])].paragraphs[int(item_idx[rb])])

            if len(rows) <= 64:
                # few paragraphs: compare every pair, in order, against the survivors so far
                est = (sub[:, None, :] == sub[None, :, :]).mean(axis=2)
                kept_rows: list[int] = []
                for a in range(len(rows)):
                    for b in kept_rows:
                        if est[a, b] >= t - 0.2 and (jac := exact(a, b)) >= t and not distinct(a, b):
                            near(a, b, jac)
                            break
                    else:
                        kept_rows.append(a)
            else:
                from .lsh import cluster

                asg = cluster(sub, t, np.arange(len(rows)), exact, distinct=distinct)
                for a in range(len(rows)):
                    if int(asg.survivor[a]) != a:
                        near(a, int(asg.survivor[a]), float(asg.similarity[a]))
    changed = settle(docs) if settle is not None else set()
    if changed:
        for r in np.flatnonzero(alive & np.isin(item_doc, sorted(changed))).tolist():
            if int(item_idx[r]) in docs[int(item_doc[r])].drops:
                alive[r] = False
    final_arr = np.flatnonzero(alive)
    p_key = keys[final_arr]
    p_words = tok.counts[final_arr]
    para_rows = np.zeros(0, dtype=np.int64)
    para_sigs = None
    para_sets = None
    if sigs is not None and psets is not None:
        pos_in_final = np.full(len(item_doc), -1, dtype=np.int64)
        pos_in_final[final_arr] = np.arange(len(final_arr))
        kept_long = np.flatnonzero(pos_in_final[long_rows] >= 0)
        para_rows = pos_in_final[long_rows[kept_long]]
        para_sigs = sigs[kept_long]
        para_sets = psets.take(kept_long)
    per_doc = np.bincount(item_doc[final_arr], minlength=len(docs))
    doc_tok = tok.select(final_arr).grouped(per_doc)
    doc_key, _ = mh.keys_of(doc_tok)
    doc_sig = None
    doc_sets = None
    if dedup and docs:
        dh, dc = mh.shingles_of(doc_tok, cfg.shingle)
        doc_sig = mh.signatures_from_hashes(dh, dc, cfg.num_perm, cfg.seed)
        doc_sets = Ragged.from_counts(dh, dc)
    return FileKeys(p_key, p_words, para_rows, para_sigs, doc_key, doc_sig, doc_sets, para_sets)


_LETTERS = None


def substitutes(a: str, b: str) -> bool:
    """Whether two near-identical paragraphs each have a word the other lacks: the same
    template stating different facts ("IVPN supports WireGuard ..." and "Mullvad supports
    WireGuard ...", one event per city, a spec per model), which is content, not a repeat.
    A word cut short at the end of a teaser is no word of its own (it begins one of the
    other's). Words are runs of letters, so numbers alone do not make facts distinct.

    Why: on both dev sets' text inputs, the near repeats this keeps were 75-95 % words of
    the gold content (wcxb-dev readability output 1,696 content words and 66 other, gold
    text itself 1,727 and 0; Dragnet 132 and 0)."""
    global _LETTERS
    if _LETTERS is None:
        import regex

        _LETTERS = regex.compile(r"[^\W\d_]+")
    wa, wb = set(_LETTERS.findall(a.casefold())), set(_LETTERS.findall(b.casefold()))
    only_a = [w for w in wa - wb if not any(x.startswith(w) for x in wb)]
    if not only_a:
        return False
    return any(not any(x.startswith(w) for x in wa) for w in wb - wa)


def _docs_with_close_rows(sigs: np.ndarray, doc_of: np.ndarray, min_est: float) -> set[int]:
    """Documents with two signature rows (rows of a document are consecutive) whose
    estimated Jaccard is >= min_est: only these need the pairwise loop."""
    d = np.asarray(doc_of, dtype=np.int64)
    n = len(d)
    if n < 2:
        return set()
    # partners of row r: the rows after it in its document
    doc_end = np.searchsorted(d, d, side="right")
    cnt = doc_end - np.arange(n) - 1
    total = int(cnt.sum())
    if total == 0:
        return set()
    a = np.repeat(np.arange(n), cnt)
    b = a + 1 + (np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    from ..minhash import agreement

    est = agreement(sigs, np.stack([a, b], axis=1)) / sigs.shape[1]
    return set(d[a[est >= min_est]].tolist())
