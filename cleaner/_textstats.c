/* Optional compiled kernels for cleaner/textfeat.py and cleaner/prefilter.py: one
 * pass over each paragraph's characters instead of a few dozen numpy passes. Same
 * results as the numpy code (tests/test_textfeat.py compares them); when this module
 * is not built, cleaner uses numpy.
 *
 *   char_stats(paragraphs, cls, scr, flags, counts, script_letters)
 *       per paragraph (a list of str), the counts of textfeat.COUNTS into the int64
 *       (n, NCOUNTS) matrix and letters per script into the int64 (n, NSCRIPTS)
 *       matrix; cls, scr, flags are the uint8 tables of the 65,536 BMP code points
 *       (textfeat.tables()); code points above follow textfeat._astral.
 *   tree_logits(x, feature, threshold, value, depth, base, out)
 *       boosted trees (gbdt.Stage): out[r] = base + the leaf value of each tree in
 *       turn (added in tree order, as the numpy code adds them) for each row of the
 *       float64 (rows, features) matrix x; feature/threshold/value are (trees, nodes).
 *   tree_contributions(x, feature, threshold, value, depth, out)
 *       what each feature's splits add to each row's logit (gbdt.Stage.contributions):
 *       out is a zeroed float64 (rows, features) matrix; level by level, each tree's
 *       change along the row's path is summed per feature in tree order and the
 *       level's sums added to out, as the numpy code does (the same floats).
 *   find_literals(text, literals, para_starts, out)
 *       for each literal (a list of str, each of 1+ characters) whether each
 *       paragraph of `text` (starting at the sorted int64 para_starts) contains it:
 *       out is a uint8 (nliterals, nparagraphs) matrix set to 1 where it does.
 *   find_sorted(keys, slots, queries, pos, hit)
 *       the position of each uint64 query in the sorted unique uint64 `keys` (pos, int64,
 *       0 where absent) and whether it is there (hit, uint8): as numpy's searchsorted, by
 *       an open-addressing table of key positions (int64 `slots`, a power of two of at
 *       least twice len(keys), filled on the first call: all -1 before) -- a binary
 *       search per token missed the cache on each of its ~17 steps.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* character classes and flags: textfeat.C_* and the bits of textfeat.tables() */
enum { C_OTHER, C_SPACE, C_UPPER, C_LETTER, C_MARK, C_DIGIT, C_NUMBER, C_PUNCT, C_SYMBOL };
enum { F_STOP = 1, F_TERMINAL = 2, F_SEP = 4, F_LIST = 8, F_CONNECT = 32 };
/* columns of textfeat.COUNTS */
enum {
    K_CHARS, K_LETTERS, K_UPPER, K_DIGITS, K_PUNCT, K_SYMBOLS, K_SPACES, K_WORDS, K_PLAIN, K_CAP, K_CASED,
    K_DIGITW, K_LONG, K_WORDCH, K_SEP, K_SENT, K_TERM, K_HEAD, K_LIST, K_EMOJI, K_HANDLES, K_TAGS, K_SLASH,
    K_SPACELESS, K_COLON, NCOUNTS
};
/* scripts: textfeat.SCRIPTS */
enum { S_OTHER, S_LATIN, S_GREEK, S_CYRILLIC, S_ARMENIAN, S_HEBREW, S_ARABIC, S_INDIC, S_THAI, S_LAO, S_TIBETAN,
       S_MYANMAR, S_GEORGIAN, S_HANGUL, S_ETHIOPIC, S_KHMER, S_HAN, S_KANA, S_EMOJI, NSCRIPTS };
#define COLON_EARLY 40

static inline int spaceless_script(int s) {
    return s == S_HAN || s == S_KANA || s == S_THAI || s == S_LAO || s == S_KHMER || s == S_MYANMAR || s == S_TIBETAN;
}

static inline int cased_script(int s) {
    return s == S_LATIN || s == S_GREEK || s == S_CYRILLIC || s == S_ARMENIAN || s == S_GEORGIAN;
}

typedef struct {
    const uint8_t *cls, *scr, *flg;
} Tables;

typedef struct {
    uint32_t cp;
    uint8_t cls, scr, flg;
} Ch;

static inline Ch classify(const Tables *t, uint32_t cp) {
    Ch c;
    c.cp = cp;
    if (cp < 0x10000) {
        c.cls = t->cls[cp];
        c.scr = t->scr[cp];
        c.flg = t->flg[cp];
        return c;
    }
    c.flg = 0;
    if (cp >= 0x1F000 && cp <= 0x1FAFF) {
        c.cls = C_SYMBOL;
        c.scr = S_EMOJI;
    } else if (cp >= 0x20000 && cp <= 0x3FFFF) {
        c.cls = C_LETTER;
        c.scr = S_HAN;
    } else if (cp >= 0x1B000 && cp <= 0x1B16F) {
        c.cls = C_LETTER;
        c.scr = S_KANA;
    } else {
        c.cls = C_OTHER;
        c.scr = S_OTHER;
    }
    return c;
}

static inline int is_letter(Ch c) { return c.cls == C_UPPER || c.cls == C_LETTER; }
static inline int is_alnum(Ch c) { return is_letter(c) || c.cls == C_DIGIT || c.cls == C_NUMBER; }
static inline int is_wordc(Ch c) { return is_alnum(c) || c.cls == C_MARK || (c.flg & F_CONNECT); }

static void stats_one(const Tables *t, PyObject *s, int64_t *k, int64_t *sl) {
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    k[K_CHARS] = n;
    if (n == 0)
        return;
#define AT(i) classify(t, PyUnicode_READ(kind, data, (i)))
    /* the current word run */
    int in_run = 0, r_alnum = 0, r_digit = 0, r_sl = 0, r_cased = 0, r_cap = 0;
    Py_ssize_t r_len = 0;
    Ch prev = {0, C_OTHER, 0, 0}, cur = AT(0);
    Ch next = n > 1 ? AT(1) : (Ch){0, C_OTHER, 0, 0};
    for (Py_ssize_t i = 0; i < n; i++) {
        Ch next2 = i + 2 < n ? AT(i + 2) : (Ch){0, C_OTHER, 0, 0};
        int has_prev = i > 0, has_next = i + 1 < n;
        int letter = is_letter(cur), wordc = is_wordc(cur);
        if (letter)
            k[K_LETTERS]++;
        if (cur.cls == C_UPPER)
            k[K_UPPER]++;
        if (cur.cls == C_DIGIT)
            k[K_DIGITS]++;
        if (cur.cls == C_PUNCT)
            k[K_PUNCT]++;
        if (cur.cls == C_SYMBOL)
            k[K_SYMBOLS]++;
        if (cur.cls == C_SPACE)
            k[K_SPACES]++;
        if (wordc)
            k[K_WORDCH]++;
        int sl_letter = (letter || cur.cls == C_MARK) && spaceless_script(cur.scr);
        if (sl_letter)
            k[K_SPACELESS]++;
        if (letter || cur.cls == C_MARK)
            sl[cur.scr]++;
        /* word runs */
        if (wordc) {
            if (!in_run) {
                in_run = 1;
                r_alnum = r_digit = r_sl = r_cased = 0;
                r_len = 0;
                r_cap = cur.cls == C_UPPER;
            }
            r_len++;
            r_alnum |= is_alnum(cur);
            r_digit |= cur.cls == C_DIGIT;
            r_sl |= sl_letter;
            r_cased |= letter && cased_script(cur.scr);
        }
        if (in_run && (!has_next || !is_wordc(next))) {
            if (r_alnum) {
                k[K_WORDS]++;
                if (!r_sl)
                    k[K_PLAIN]++;
                if (r_cap && r_cased)
                    k[K_CAP]++;
                if (r_cased)
                    k[K_CASED]++;
                if (r_digit)
                    k[K_DIGITW]++;
                if (r_len >= 3)
                    k[K_LONG]++;
            }
            in_run = 0;
        }
        int prev_space = !has_prev || prev.cls == C_SPACE;
        int next_space = !has_next || next.cls == C_SPACE;
        if ((cur.flg & F_SEP) && prev_space && next_space)
            k[K_SEP]++;
        if (cur.flg & F_STOP) {
            int latin = cur.cp < 0x80 || cur.cp == 0x2026;
            if (latin) {
                if (has_next && next.cls == C_SPACE && i + 2 < n &&
                    (next2.cls == C_UPPER || next2.cls == C_DIGIT || (!cased_script(next2.scr) && next2.cls == C_LETTER)))
                    k[K_SENT]++;
            } else if (has_next) {
                k[K_SENT]++;
            }
        }
        if (cur.scr == S_EMOJI)
            k[K_EMOJI]++;
        if (cur.cp == 64 && !(has_prev && (is_wordc(prev) || prev.cp == 46)) && has_next && is_wordc(next))
            k[K_HANDLES]++;
        if (cur.cp == 35 && !(has_prev && (is_wordc(prev) || prev.cp == 38)) && has_next && is_letter(next))
            k[K_TAGS]++;
        if (cur.cp == 47)
            k[K_SLASH]++;
        if ((cur.cp == 58 || cur.cp == 0xFF1A) && i < COLON_EARLY)
            k[K_COLON] = 1;
        prev = cur;
        cur = next;
        next = next2;
    }
    Ch first = AT(0), last = AT(n - 1);
    k[K_TERM] = (last.flg & F_TERMINAL) != 0;
    k[K_HEAD] = first.cls == C_UPPER || first.cls == C_DIGIT || first.cp == 34 || first.cp == 39 ||
                first.cp == 0x201C || first.cp == 0x2018 || first.cp == 0xAB;
    Ch c1 = n > 1 ? AT(1) : (Ch){0, C_OTHER, 0, 0};
    Ch c2 = n > 2 ? AT(2) : (Ch){0, C_OTHER, 0, 0};
    Ch c3 = n > 3 ? AT(3) : (Ch){0, C_OTHER, 0, 0};
#define DOT(c) ((c).cp == 46 || (c).cp == 41)
    int mark1 = (first.flg & F_LIST) && n > 1 && c1.cls == C_SPACE;
    int num1 = first.cls == C_DIGIT && n > 2 && DOT(c1) && c2.cls == C_SPACE;
    int num2 = first.cls == C_DIGIT && n > 3 && c1.cls == C_DIGIT && DOT(c2) && c3.cls == C_SPACE;
    k[K_LIST] = mark1 || num1 || num2;
#undef DOT
#undef AT
}

static int table_buffer(PyObject *o, Py_buffer *v, const char *name) {
    if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (v->len != 0x10000) {
        PyErr_Format(PyExc_ValueError, "%s: a table of 65536 bytes expected", name);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

static int int64_matrix(PyObject *o, Py_buffer *v, Py_ssize_t rows, Py_ssize_t cols, const char *name) {
    if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
        return -1;
    const char *f = v->format ? v->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    if (v->itemsize != 8 || !(*f == 'q' || *f == 'l') || f[1] != '\0' || v->len != rows * cols * 8) {
        PyErr_Format(PyExc_ValueError, "%s: a C-contiguous int64 (%zd, %zd) array expected", name, rows, cols);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

static PyObject *char_stats(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *paras, *ocls, *oscr, *oflg, *ocounts, *oscripts;
    if (!PyArg_ParseTuple(args, "O!OOOOO", &PyList_Type, &paras, &ocls, &oscr, &oflg, &ocounts, &oscripts))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(paras);
    for (Py_ssize_t p = 0; p < n; p++)
        if (!PyUnicode_Check(PyList_GET_ITEM(paras, p))) {
            PyErr_SetString(PyExc_TypeError, "paragraphs must be str");
            return NULL;
        }
    Py_buffer v[5];
    if (table_buffer(ocls, &v[0], "cls") < 0)
        return NULL;
    if (table_buffer(oscr, &v[1], "scr") < 0) {
        PyBuffer_Release(&v[0]);
        return NULL;
    }
    if (table_buffer(oflg, &v[2], "flags") < 0) {
        PyBuffer_Release(&v[0]);
        PyBuffer_Release(&v[1]);
        return NULL;
    }
    if (int64_matrix(ocounts, &v[3], n, NCOUNTS, "counts") < 0) {
        for (int j = 0; j < 3; j++)
            PyBuffer_Release(&v[j]);
        return NULL;
    }
    if (int64_matrix(oscripts, &v[4], n, NSCRIPTS, "script_letters") < 0) {
        for (int j = 0; j < 4; j++)
            PyBuffer_Release(&v[j]);
        return NULL;
    }
    Tables t = {(const uint8_t *)v[0].buf, (const uint8_t *)v[1].buf, (const uint8_t *)v[2].buf};
    int64_t *counts = (int64_t *)v[3].buf, *scripts = (int64_t *)v[4].buf;
    memset(counts, 0, (size_t)n * NCOUNTS * 8);
    memset(scripts, 0, (size_t)n * NSCRIPTS * 8);
    for (Py_ssize_t p = 0; p < n; p++)
        stats_one(&t, PyList_GET_ITEM(paras, p), counts + p * NCOUNTS, scripts + p * NSCRIPTS);
    for (int j = 0; j < 5; j++)
        PyBuffer_Release(&v[j]);
    Py_RETURN_NONE;
}

/* Does `hay` (kind/data, length hn) contain `needle` at position i? */
static inline int match_at(int hk, const void *hd, Py_ssize_t i, int nk, const void *nd, Py_ssize_t nn) {
    for (Py_ssize_t j = 0; j < nn; j++)
        if (PyUnicode_READ(hk, hd, i + j) != PyUnicode_READ(nk, nd, j))
            return 0;
    return 1;
}

typedef struct {
    const void *data;
    Py_ssize_t n;
    int kind;
} Lit;

static PyObject *find_literals(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *text, *lits, *ostarts, *oout;
    if (!PyArg_ParseTuple(args, "UO!OO", &text, &PyList_Type, &lits, &ostarts, &oout))
        return NULL;
    Py_ssize_t nl = PyList_GET_SIZE(lits);
    for (Py_ssize_t j = 0; j < nl; j++) {
        PyObject *x = PyList_GET_ITEM(lits, j);
        if (!PyUnicode_Check(x) || PyUnicode_GET_LENGTH(x) == 0) {
            PyErr_SetString(PyExc_ValueError, "literals must be non-empty str");
            return NULL;
        }
    }
    Py_buffer vs, vo;
    if (PyObject_GetBuffer(ostarts, &vs, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    const char *f = vs.format ? vs.format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    if (vs.itemsize != 8 || !(*f == 'q' || *f == 'l') || f[1] != '\0') {
        PyErr_SetString(PyExc_ValueError, "para_starts: int64 expected");
        PyBuffer_Release(&vs);
        return NULL;
    }
    Py_ssize_t np_ = vs.len / 8;
    if (PyObject_GetBuffer(oout, &vo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&vs);
        return NULL;
    }
    if (vo.itemsize != 1 || vo.len != nl * np_) {
        PyErr_SetString(PyExc_ValueError, "out: a uint8 (nliterals, nparagraphs) matrix expected");
        PyBuffer_Release(&vs);
        PyBuffer_Release(&vo);
        return NULL;
    }
    const int64_t *starts = (const int64_t *)vs.buf;
    uint8_t *out = (uint8_t *)vo.buf;
    int hk = PyUnicode_KIND(text);
    const void *hd = PyUnicode_DATA(text);
    Py_ssize_t hn = PyUnicode_GET_LENGTH(text);
    int bad = 0;
    for (Py_ssize_t p = 0; p + 1 < np_; p++)
        if (starts[p] > starts[p + 1])
            bad = 1;
    if (np_ && (starts[0] < 0 || starts[np_ - 1] > hn))
        bad = 1;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "para_starts must be sorted offsets into text");
        PyBuffer_Release(&vs);
        PyBuffer_Release(&vo);
        return NULL;
    }
    memset(out, 0, (size_t)(nl * np_));
    /* literals bucketed by their first three characters (shorter ones by their first two, or
     * one): at each position of the text only the literals of its buckets are compared. Two
     * characters were too few: the 71 literals that start with "co" were tried at every "co". */
    enum { NB3 = 1 << 16, NB2 = 1 << 16, NB1 = 1 << 12 };
    Py_ssize_t *head3 = PyMem_Calloc(NB3, sizeof(Py_ssize_t));
    Py_ssize_t *head2 = PyMem_Calloc(NB2, sizeof(Py_ssize_t));
    Py_ssize_t *head1 = PyMem_Calloc(NB1, sizeof(Py_ssize_t));
    Py_ssize_t *link = PyMem_Malloc((size_t)(nl ? nl : 1) * sizeof(Py_ssize_t));
    /* one bit per bucket, whether any literal is in it: 16 KB that stay in the first-level
     * cache, where the heads (1 MB) missed it at nearly every character of the text */
    uint64_t *has3 = PyMem_Calloc(NB3 / 64, sizeof(uint64_t));
    uint64_t *has2 = PyMem_Calloc(NB2 / 64, sizeof(uint64_t));
    /* each literal's kind, data and length, read once: not through its object at each try */
    Lit *lit = PyMem_Malloc((size_t)(nl ? nl : 1) * sizeof(Lit));
    if (!head3 || !head2 || !head1 || !link || !lit || !has3 || !has2) {
        PyMem_Free(has3);
        PyMem_Free(has2);
        PyMem_Free(lit);
        PyMem_Free(head3);
        PyMem_Free(head2);
        PyMem_Free(head1);
        PyMem_Free(link);
        PyBuffer_Release(&vs);
        PyBuffer_Release(&vo);
        return PyErr_NoMemory();
    }
#define KEY2(a, b) ((((uint32_t)(a) * 40503u) ^ (uint32_t)(b)) & (NB2 - 1))
#define KEY3(a, b, c) (((((uint32_t)(a) * 40503u) ^ (uint32_t)(b)) * 2654435761u ^ (uint32_t)(c)) & (NB3 - 1))
    for (Py_ssize_t j = nl - 1; j >= 0; j--) {
        PyObject *x = PyList_GET_ITEM(lits, j);
        int xk = PyUnicode_KIND(x);
        const void *xd = PyUnicode_DATA(x);
        Py_ssize_t xn = PyUnicode_GET_LENGTH(x);
        uint32_t c0 = PyUnicode_READ(xk, xd, 0);
        lit[j] = (Lit){xd, xn, xk};
        Py_ssize_t *h;
        if (xn >= 3) {
            uint32_t key = KEY3(c0, PyUnicode_READ(xk, xd, 1), PyUnicode_READ(xk, xd, 2));
            has3[key >> 6] |= (uint64_t)1 << (key & 63);
            h = &head3[key];
        } else if (xn == 2) {
            uint32_t key = KEY2(c0, PyUnicode_READ(xk, xd, 1));
            has2[key >> 6] |= (uint64_t)1 << (key & 63);
            h = &head2[key];
        } else {
            h = &head1[c0 & (NB1 - 1)];
        }
        link[j] = *h - 1;
        *h = j + 1;
    }
    Py_ssize_t para = -1, next_start = np_ ? starts[0] : hn + 1;
    uint32_t c = hn ? PyUnicode_READ(hk, hd, 0) : 0, c1 = hn > 1 ? PyUnicode_READ(hk, hd, 1) : 0;
    for (Py_ssize_t i = 0; i < hn; i++) {
        while (i >= next_start) {
            para++;
            next_start = para + 1 < np_ ? starts[para + 1] : hn + 1;
        }
        uint32_t c2 = i + 2 < hn ? PyUnicode_READ(hk, hd, i + 2) : 0;
        if (para >= 0) {
            uint32_t k3 = KEY3(c, c1, c2), k2 = KEY2(c, c1);
            int in3 = i + 2 < hn && (has3[k3 >> 6] >> (k3 & 63) & 1);
            int in2 = i + 1 < hn && (has2[k2 >> 6] >> (k2 & 63) & 1);
            for (int pass = 0; pass < 3; pass++) {
                Py_ssize_t j = pass == 0   ? (in3 ? head3[k3] - 1 : -1)
                               : pass == 1 ? (in2 ? head2[k2] - 1 : -1)
                                           : head1[c & (NB1 - 1)] - 1;
                for (; j >= 0; j = link[j]) {
                    /* a literal is found in the paragraph where it starts, whole inside the text */
                    if (i + lit[j].n <= hn && match_at(hk, hd, i, lit[j].kind, lit[j].data, lit[j].n))
                        out[j * np_ + para] = 1;
                }
            }
        }
        c = c1;
        c1 = c2;
    }
#undef KEY2
#undef KEY3
    PyMem_Free(has3);
    PyMem_Free(has2);
    PyMem_Free(head1);
    PyMem_Free(head2);
    PyMem_Free(head3);
    PyMem_Free(link);
    PyMem_Free(lit);
    PyBuffer_Release(&vs);
    PyBuffer_Release(&vo);
    Py_RETURN_NONE;
}

static int float_or_int_matrix(PyObject *o, Py_buffer *v, char kind, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (kind == 'o' ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, v, flags) < 0)
        return -1;
    const char *f = v->format ? v->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    int ok = v->itemsize == 8 && f[1] == '\0' && (kind == 'i' ? (*f == 'q' || *f == 'l') : *f == 'd');
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "%s: a C-contiguous %s array expected", name, kind == 'i' ? "int64" : "float64");
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* The arrays of a call on boilerplate trees (gbdt.Stage): x (rows, nf), feature, threshold,
 * value (trees, nodes) and out (rows * out_cols floats), checked for shape, depth and
 * feature indices. On failure the buffers are released and a ValueError naming `fn` is set. */
typedef struct {
    Py_buffer v[5];
    Py_ssize_t rows, nf, trees, nodes;
    const double *x, *thr, *val;
    const int64_t *feature;
    double *out;
} Trees;

static void close_trees(Trees *t) {
    for (int j = 0; j < 5; j++)
        PyBuffer_Release(&t->v[j]);
}

static int open_trees(PyObject *o[5], int depth, int per_feature, const char *fn, Trees *t) {
    static const char kinds[5] = {'f', 'i', 'f', 'f', 'o'};
    static const char *names[5] = {"x", "feature", "threshold", "value", "out"};
    Py_buffer *v = t->v;
    for (int j = 0; j < 5; j++)
        if (float_or_int_matrix(o[j], &v[j], kinds[j], names[j]) < 0) {
            for (int q = 0; q < j; q++)
                PyBuffer_Release(&v[q]);
            return -1;
        }
    int bad = v[0].ndim != 2 || v[1].ndim != 2 || v[2].ndim != 2 || v[3].ndim != 2 || depth < 0 || depth > 30;
    if (!bad) {
        t->rows = v[0].shape[0];
        t->nf = v[0].shape[1];
        t->trees = v[1].shape[0];
        t->nodes = v[1].shape[1];
        bad = v[2].shape[0] != t->trees || v[2].shape[1] != t->nodes || v[3].shape[0] != t->trees ||
              v[3].shape[1] != t->nodes || v[4].len != t->rows * (per_feature ? t->nf : 1) * 8 ||
              ((Py_ssize_t)1 << (depth + 1)) - 1 > t->nodes;
    }
    t->feature = (const int64_t *)v[1].buf;
    for (Py_ssize_t k = 0; !bad && k < t->trees * t->nodes; k++)
        if (t->feature[k] < 0 || t->feature[k] >= t->nf)
            bad = 1;
    if (bad) {
        close_trees(t);
        PyErr_Format(PyExc_ValueError, "%s: inconsistent shapes or feature indices", fn);
        return -1;
    }
    t->x = (const double *)v[0].buf;
    t->thr = (const double *)v[2].buf;
    t->val = (const double *)v[3].buf;
    t->out = (double *)v[4].buf;
    return 0;
}

typedef struct {
    double thr;
    int32_t f;
} Split;

/* ROWS rows walk a tree side by side: one row's walk is a chain of dependent loads,
 * several independent chains keep the processor busy. node[j]: the leaf row j reaches;
 * path (if not NULL): the node row j is at after each step d, at path[(j * depth + d) * stride]. */
enum { ROWS = 8 };

static inline void walk_rows(const Split *ts, const double *const row[ROWS], int depth, int32_t node[ROWS],
                             int32_t *path, Py_ssize_t stride) {
    for (int j = 0; j < ROWS; j++)
        node[j] = 0;
    for (int d = 0; d < depth; d++)
        for (int j = 0; j < ROWS; j++) {
            Split q = ts[node[j]];
            node[j] = 2 * node[j] + 1 + (row[j][q.f] > q.thr);
            if (path != NULL)
                path[((Py_ssize_t)j * depth + d) * stride] = node[j];
        }
}

static PyObject *tree_logits(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[5];
    int depth;
    double base;
    Trees t;
    if (!PyArg_ParseTuple(args, "OOOOidO", &o[0], &o[1], &o[2], &o[3], &depth, &base, &o[4]) ||
        open_trees(o, depth, 0, "tree_logits", &t) < 0)
        return NULL;
    const int64_t *feature = t.feature;
    const double *thr = t.thr, *val = t.val;
    Split *sp = NULL;
    Py_BEGIN_ALLOW_THREADS
    /* ROWS rows side by side (walk_rows); each row still adds its leaves in tree order: the
     * same floats */
    /* each node's split as one record (its feature and threshold side by side) */
    Py_ssize_t nn = t.trees * t.nodes;
    sp = PyMem_RawMalloc(sizeof(Split) * (size_t)(nn ? nn : 1));
    if (sp != NULL) {
        for (Py_ssize_t q = 0; q < nn; q++)
            sp[q] = (Split){thr[q], (int32_t)feature[q]};
        for (Py_ssize_t r0 = 0; r0 < t.rows; r0 += ROWS) {
            int m = t.rows - r0 < ROWS ? (int)(t.rows - r0) : ROWS;
            const double *row[ROWS];
            double s[ROWS];
            for (int j = 0; j < ROWS; j++) {
                row[j] = t.x + (r0 + (j < m ? j : 0)) * t.nf;  /* a short last block repeats its first row */
                s[j] = base;
            }
            for (Py_ssize_t k = 0; k < t.trees; k++) {
                int32_t node[ROWS];
                walk_rows(sp + k * t.nodes, row, depth, node, NULL, 0);
                const double *va = val + k * t.nodes;
                for (int j = 0; j < ROWS; j++)
                    s[j] += va[node[j]];
            }
            for (int j = 0; j < m; j++)
                t.out[r0 + j] = s[j];
        }
        PyMem_RawFree(sp);
    }
    Py_END_ALLOW_THREADS
    close_trees(&t);
    if (sp == NULL)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *tree_contributions(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[5];
    int depth;
    Trees t;
    if (!PyArg_ParseTuple(args, "OOOOiO", &o[0], &o[1], &o[2], &o[3], &depth, &o[4]) ||
        open_trees(o, depth, 1, "tree_contributions", &t) < 0)
        return NULL;
    /* as in tree_logits, ROWS rows walk each tree side by side; each node also
     * holds what stepping into it adds (its value less its parent's, the same subtraction
     * the numpy code makes) and the feature its parent split on */
    Py_ssize_t nn = t.trees * t.nodes;
    Split *sp = PyMem_Malloc(sizeof(Split) * (size_t)(nn ? nn : 1));
    double *delta = PyMem_Malloc(sizeof(double) * (size_t)(nn ? nn : 1));
    int32_t *pf = PyMem_Malloc(sizeof(int32_t) * (size_t)(nn ? nn : 1));
    int32_t *path = PyMem_Malloc(sizeof(int32_t) * (size_t)(ROWS * t.trees * depth + 1));
    double *level = PyMem_Malloc(sizeof(double) * (size_t)(ROWS * t.nf + 1));
    if (sp == NULL || delta == NULL || pf == NULL || path == NULL || level == NULL) {
        PyMem_Free(sp);
        PyMem_Free(delta);
        PyMem_Free(pf);
        PyMem_Free(path);
        PyMem_Free(level);
        close_trees(&t);
        return PyErr_NoMemory();
    }
    const int64_t *feature = t.feature;
    const double *thr = t.thr, *val = t.val;
    Py_ssize_t nf = t.nf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t q = 0; q < nn; q++) {
        sp[q] = (Split){thr[q], (int32_t)feature[q]};
        delta[q] = 0.0;
        pf[q] = 0;
    }
    /* only nodes on some path of depth `depth` are read: those below the root */
    for (Py_ssize_t k = 0; k < t.trees; k++) {
        Py_ssize_t off = k * t.nodes;
        for (Py_ssize_t c = 1; c < ((Py_ssize_t)1 << (depth + 1)) - 1; c++) {
            Py_ssize_t par = (c - 1) / 2;
            delta[off + c] = val[off + c] - val[off + par];
            pf[off + c] = (int32_t)feature[off + par];
        }
    }
    for (Py_ssize_t r0 = 0; r0 < t.rows; r0 += ROWS) {
        int m = t.rows - r0 < ROWS ? (int)(t.rows - r0) : ROWS;
        const double *row[ROWS];
        for (int j = 0; j < ROWS; j++)
            row[j] = t.x + (r0 + (j < m ? j : 0)) * nf;  /* a short last block repeats its first row */
        for (Py_ssize_t k = 0; k < t.trees; k++) {
            int32_t node[ROWS];
            walk_rows(sp + k * t.nodes, row, depth, node, path + k, t.trees);
        }
        /* each row's level sums in tree order, the ROWS rows' sums side by side (independent
         * chains of additions: one row's are often to the same feature, one after another) */
        for (int d = 0; d < depth; d++) {
            memset(level, 0, sizeof(double) * (size_t)(ROWS * nf));
            const int32_t *p[ROWS];
            for (int j = 0; j < ROWS; j++)
                p[j] = path + ((Py_ssize_t)j * depth + d) * t.trees;
            for (Py_ssize_t k = 0; k < t.trees; k++) {
                Py_ssize_t off = k * t.nodes;
                for (int j = 0; j < ROWS; j++) {
                    Py_ssize_t c = off + p[j][k];
                    level[j * nf + pf[c]] += delta[c];
                }
            }
            for (int j = 0; j < m; j++) {
                double *acc = t.out + (r0 + j) * nf;
                const double *lv = level + j * nf;
                for (Py_ssize_t f = 0; f < nf; f++)
                    acc[f] += lv[f];
            }
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(sp);
    PyMem_Free(delta);
    PyMem_Free(pf);
    PyMem_Free(path);
    PyMem_Free(level);
    close_trees(&t);
    Py_RETURN_NONE;
}

static int flat_buffer(PyObject *o, Py_buffer *v, const char *formats, int writable, const char *name) {
    if (PyObject_GetBuffer(o, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const char *f = v->format ? v->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    int size = formats[0] == 'B' ? 1 : 8;
    if (v->ndim != 1 || v->itemsize != size || f[1] != '\0' || !strchr(formats, *f)) {
        PyErr_Format(PyExc_ValueError, "%s: a C-contiguous one-dimensional array of %s expected", name,
                     size == 1 ? "uint8" : (formats[0] == 'Q' ? "uint64" : "int64"));
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

static inline uint64_t mix64(uint64_t x) { /* splitmix64's finaliser: the keys may be small integers */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static PyObject *find_sorted(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    static const char *formats[5] = {"QL", "ql", "QL", "ql", "B"};
    static const char *names[5] = {"keys", "slots", "queries", "pos", "hit"};
    Py_buffer v[5];
    for (int j = 0; j < 5; j++)
        if (flat_buffer(o[j], &v[j], formats[j], j == 1 || j >= 3, names[j]) < 0) {
            for (int q = 0; q < j; q++)
                PyBuffer_Release(&v[q]);
            return NULL;
        }
    Py_ssize_t nk = v[0].shape[0], ns = v[1].shape[0], nq = v[2].shape[0];
    const uint64_t *keys = (const uint64_t *)v[0].buf, *qs = (const uint64_t *)v[2].buf;
    int64_t *slots = (int64_t *)v[1].buf, *pos = (int64_t *)v[3].buf;
    uint8_t *hit = (uint8_t *)v[4].buf;
    int bad = ns < 2 * nk || ns < 1 || (ns & (ns - 1)) != 0 || v[3].shape[0] != nq || v[4].shape[0] != nq;
    for (Py_ssize_t i = 1; !bad && i < nk; i++)
        bad = keys[i] <= keys[i - 1];
    if (bad) {
        for (int j = 0; j < 5; j++)
            PyBuffer_Release(&v[j]);
        PyErr_SetString(PyExc_ValueError, "find_sorted: keys not sorted unique, or inconsistent sizes");
        return NULL;
    }
    uint64_t mask = (uint64_t)ns - 1;
    if (nk && slots[mix64(keys[0]) & mask] == -1) { /* not filled yet: once it is, that slot is taken */
        for (Py_ssize_t i = 0; i < nk; i++) {
            uint64_t s = mix64(keys[i]) & mask;
            while (slots[s] != -1)
                s = (s + 1) & mask;
            slots[s] = i;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < nq; i++) {
        uint64_t q = qs[i], s = mix64(q) & mask;
        int64_t k;
        pos[i] = 0;
        hit[i] = 0;
        while ((k = slots[s]) != -1) {
            if (keys[k] == q) {
                pos[i] = k;
                hit[i] = 1;
                break;
            }
            s = (s + 1) & mask;
        }
    }
    Py_END_ALLOW_THREADS
    for (int j = 0; j < 5; j++)
        PyBuffer_Release(&v[j]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"find_sorted", find_sorted, METH_VARARGS, "Positions of uint64 values in a sorted unique array, by a hash table."},
    {"tree_logits", tree_logits, METH_VARARGS, "Logits of boosted trees (gbdt.Stage) for the rows of a matrix."},
    {"tree_contributions", tree_contributions, METH_VARARGS,
     "What each feature's splits add to the logit of boosted trees, for the rows of a matrix."},
    {"char_stats", char_stats, METH_VARARGS, "Per-paragraph character counts (textfeat.COUNTS) and letters per script."},
    {"find_literals", find_literals, METH_VARARGS, "Which paragraphs of a joined text contain each literal."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_textstats", "Compiled kernels for cleaner.textfeat and cleaner.prefilter.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__textstats(void) { return PyModule_Create(&module); }
