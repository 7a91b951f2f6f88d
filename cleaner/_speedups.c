/* Optional compiled kernels for cleaner/minhash.py: loops that numpy can only
 * run as many passes over memory. Same results, bit for bit, as the
 * numpy code they replace (tests/test_dedup.py compares the two); when this
 * module is not built, minhash.py uses numpy.
 *
 *   tokens(text, hashes, starts, ends, pos=0) -> (n, next)
 *       word tokens of lower-cased UTF-8 bytes from byte pos on: the byte rules
 *       of _word_mask, the polynomial token hash of _hash_spans, into the
 *       preallocated uint64 / int64 arrays; stops when they are full, before
 *       the token that starts at byte next (next == len(text): done).
 *   keys(hashes, lengths, counts, keys, norm, m0)
 *       per text, as keys_of: fmix64 of the sum of fmix64(hash + position * m0)
 *       plus the token count (0 for no tokens), and token bytes + gaps.
 *   shingles(hashes, counts, mult, out)
 *       word k-gram shingles (k = len(mult)) of each text's token hashes, as
 *       shingles_of: sum of hash * mult[q], fmix64, high 32 bits; a text of
 *       1..k-1 tokens gives one shingle of all of them.
 *   agreement(sigs, pairs, out)
 *       out[k] = number of equal slots of rows pairs[k, 0] and pairs[k, 1] of
 *       the 2-D uint32 signature matrix (the MinHash estimate times its width).
 *   band_keys(sigs, bands, rows, mult, out)
 *       out[i, b]: the LSH band key of band b of signature row i, as
 *       dedup.band_keys computes it.
 *   bucket_close_pairs(members, offsets, sigs, min_agree, cap) -> (bytes, raw)
 *       for each band bucket (members[offsets[b]:offsets[b+1]], in rank order),
 *       each member with the members before it (at most cap): the pairs
 *       (earlier, later) whose signature rows agree in >= min_agree slots, as
 *       int64 pairs in bytes (repeats across buckets included), and how many
 *       pairs were compared.
 *   segment_sets(values, offsets, out, out_offsets)
 *       the sorted unique values of each segment values[offsets[t]:offsets[t+1]],
 *       concatenated into out, with their offsets.
 *   jaccard_pairs(values, offsets, pairs, out)
 *       out[k] = |A & B| / |A | B| of the sorted unique segments pairs[k] (1.0 for
 *       two empty sets), as minhash.jaccard_pairs.
 *   signatures(values, offsets, a, b, out)
 *       MinHash rows: out[t, p] = min over values v of text t of a[p] * fmix32(v) + b[p]
 *       (uint32 arithmetic, datasketch's affine32 scheme); offsets has ntexts + 1 entries.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define BASE 0x100000001B3ULL
#define CHUNK (1 << 20)

static inline uint64_t fmix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    return x ^ (x >> 33);
}

static inline uint32_t fmix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x85EBCA6BU;
    x ^= x >> 13;
    x *= 0xC2B2AE35U;
    return x ^ (x >> 16);
}

/* Bytes at b[i] that end (or are not in) a word token: 0 if b[i] starts or
 * continues a word, else how many to skip. Not words: ASCII outside [0-9a-z_],
 * and the punctuation ranges U+0080..U+00BF (C2 80..BF), U+2000..U+206F
 * (E2 80/81 xx) and U+3000..U+303F (E3 80 xx), as _word_mask. */
static inline Py_ssize_t not_word(const unsigned char *b, Py_ssize_t i, Py_ssize_t n) {
    unsigned char c = b[i];
    if (c < 0x80)
        return ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') ? 0 : 1;
    if (c == 0xC2 && i + 1 < n && b[i + 1] < 0xC0)
        return 2;
    if (i + 2 < n && ((c == 0xE2 && (b[i + 1] == 0x80 || b[i + 1] == 0x81)) || (c == 0xE3 && b[i + 1] == 0x80)))
        return 3;
    return 0;
}

typedef struct {
    int writable;
    char kind; /* 'u' unsigned integer, 'i' signed integer, 'f' floating point */
    Py_ssize_t itemsize;
    const char *name;
} BufSpec;

/* A buffer format (struct-module syntax) of one number of the given kind, in native
   byte order: an int64 array passed where uint64 is read would be read wrong. */
static int format_ok(const char *fmt, char kind) {
    if (fmt == NULL)
        fmt = "B";
#if PY_LITTLE_ENDIAN
    if (*fmt == '@' || *fmt == '=' || *fmt == '<')
#else
    if (*fmt == '@' || *fmt == '=' || *fmt == '>' || *fmt == '!')
#endif
        fmt++;
    if (fmt[0] == '\0' || fmt[1] != '\0')
        return 0;
    switch (kind) {
    case 'u':
        return strchr("BHILQN", fmt[0]) != NULL;
    case 'i':
        return strchr("bhilqn", fmt[0]) != NULL;
    case 'f':
        return fmt[0] == 'f' || fmt[0] == 'd';
    }
    return 0;
}

static void release(Py_buffer *views, int n) {
    while (n-- > 0)
        PyBuffer_Release(&views[n]);
}

/* C-contiguous buffers of the given item kinds and sizes; on failure none is held. */
static int get_buffers(PyObject *const *objs, Py_buffer *views, const BufSpec *specs, int n) {
    for (int k = 0; k < n; k++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (specs[k].writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objs[k], &views[k], flags) < 0) {
            release(views, k);
            return -1;
        }
        if (views[k].itemsize != specs[k].itemsize || !format_ok(views[k].format, specs[k].kind)) {
            const char *what = specs[k].kind == 'u' ? "unsigned integer" : specs[k].kind == 'i' ? "signed integer"
                                                                                               : "floating point";
            PyErr_Format(PyExc_TypeError, "%s: %s items of %zd bytes expected, got format '%s'", specs[k].name, what,
                         specs[k].itemsize, views[k].format ? views[k].format : "B");
            release(views, k + 1);
            return -1;
        }
    }
    return 0;
}

/* Release the buffers; None, or a ValueError when the sizes did not fit together. */
static PyObject *finish(Py_buffer *views, int n, int bad, const char *name) {
    release(views, n);
    if (bad) {
        PyErr_Format(PyExc_ValueError, "%s: inconsistent array sizes", name);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Offsets of n segments of a total-long array: nondecreasing, from >= 0, up to <= total. */
static int offsets_ok(const int64_t *off, Py_ssize_t n, Py_ssize_t total) {
    if (n < 0 || off[0] < 0)
        return 0;
    for (Py_ssize_t t = 0; t < n; t++)
        if (off[t] > off[t + 1] || off[t + 1] > total)
            return 0;
    return 1;
}

/* Every index in [0, limit). */
static int indices_ok(const int64_t *x, Py_ssize_t n, Py_ssize_t limit) {
    for (Py_ssize_t k = 0; k < n; k++)
        if (x[k] < 0 || x[k] >= limit)
            return 0;
    return 1;
}

/* Rows and width of a 2-D signature matrix; 0 if it is not 2-D. */
static int matrix_shape(const Py_buffer *v, Py_ssize_t *rows, Py_ssize_t *width) {
    if (v->ndim != 2)
        return 0;
    *rows = v->shape[0];
    *width = v->shape[1];
    return 1;
}

static inline int64_t same_slots(const uint32_t *x, const uint32_t *y, Py_ssize_t width) {
    int64_t same = 0;
    for (Py_ssize_t c = 0; c < width; c++)
        same += x[c] == y[c];
    return same;
}

static PyObject *tokens(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[4];
    Py_ssize_t pos = 0;
    if (!PyArg_ParseTuple(args, "OOOO|n", &o[0], &o[1], &o[2], &o[3], &pos))
        return NULL;
    static const BufSpec spec[4] = {{0, 'u', 1, "text"}, {1, 'u', 8, "hashes"}, {1, 'i', 8, "starts"}, {1, 'i', 8, "ends"}};
    Py_buffer v[4];
    if (get_buffers(o, v, spec, 4) < 0)
        return NULL;
    const unsigned char *b = (const unsigned char *)v[0].buf;
    Py_ssize_t n = v[0].len, cap = v[1].len / 8;
    if (v[2].len / 8 < cap)
        cap = v[2].len / 8;
    if (v[3].len / 8 < cap)
        cap = v[3].len / 8;
    uint64_t *hashes = (uint64_t *)v[1].buf;
    int64_t *starts = (int64_t *)v[2].buf, *ends = (int64_t *)v[3].buf;
    Py_ssize_t count = 0, i = pos < 0 ? 0 : pos;
    Py_BEGIN_ALLOW_THREADS
    while (i < n) {
        Py_ssize_t skip = not_word(b, i, n);
        if (skip) {
            i += skip;
            continue;
        }
        if (count >= cap)
            break; /* full: the caller resumes at i, the start of a token */
        Py_ssize_t s = i;
        uint64_t h = 0, p = 1;
        do {
            if (i - s < CHUNK) {
                h += ((uint64_t)b[i] + 1) * p;
                p *= BASE;
            }
            i++;
        } while (i < n && !not_word(b, i, n));
        hashes[count] = fmix64(h + (uint64_t)(i - s));
        starts[count] = s;
        ends[count] = i;
        count++;
    }
    Py_END_ALLOW_THREADS
    release(v, 4);
    return Py_BuildValue("nn", count, i < n ? i : n);
}

static PyObject *shingles(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[4];
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    static const BufSpec spec[4] = {{0, 'u', 8, "hashes"}, {0, 'i', 8, "counts"}, {0, 'u', 8, "mult"}, {1, 'u', 4, "out"}};
    Py_buffer v[4];
    if (get_buffers(o, v, spec, 4) < 0)
        return NULL;
    const uint64_t *th = (const uint64_t *)v[0].buf, *mult = (const uint64_t *)v[2].buf;
    const int64_t *counts = (const int64_t *)v[1].buf;
    uint32_t *out = (uint32_t *)v[3].buf;
    Py_ssize_t ntexts = v[1].len / 8, ntok = v[0].len / 8, k = v[2].len / 8, cap = v[3].len / 4;
    Py_ssize_t need = 0, total = 0;
    int bad = k < 1;
    for (Py_ssize_t t = 0; !bad && t < ntexts; t++) {
        int64_t c = counts[t];
        bad = c < 0;
        total += c;
        need += c >= k ? c - k + 1 : (c > 0 ? 1 : 0);
    }
    bad = bad || total != ntok || need != cap;
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t pos = 0, w = 0;
        for (Py_ssize_t t = 0; t < ntexts; t++) {
            Py_ssize_t c = (Py_ssize_t)counts[t];
            /* a text of 1..k-1 tokens gives one shingle of all of them */
            Py_ssize_t width = c >= k ? k : c, last = c >= k ? c - k : 0;
            for (Py_ssize_t j = 0; c > 0 && j <= last; j++) {
                uint64_t acc = 0;
                for (Py_ssize_t q = 0; q < width; q++)
                    acc += th[pos + j + q] * mult[q];
                out[w++] = (uint32_t)(fmix64(acc) >> 32);
            }
            pos += c;
        }
        Py_END_ALLOW_THREADS
    }
    return finish(v, 4, bad, "shingles");
}

static PyObject *keys(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[5];
    unsigned long long m0;
    if (!PyArg_ParseTuple(args, "OOOOOK", &o[0], &o[1], &o[2], &o[3], &o[4], &m0))
        return NULL;
    static const BufSpec spec[5] = {
        {0, 'u', 8, "hashes"}, {0, 'i', 8, "lengths"}, {0, 'i', 8, "counts"}, {1, 'u', 8, "keys"}, {1, 'i', 8, "norm"},
    };
    Py_buffer v[5];
    if (get_buffers(o, v, spec, 5) < 0)
        return NULL;
    const uint64_t *th = (const uint64_t *)v[0].buf;
    const int64_t *len = (const int64_t *)v[1].buf, *counts = (const int64_t *)v[2].buf;
    uint64_t *out = (uint64_t *)v[3].buf;
    int64_t *norm = (int64_t *)v[4].buf;
    Py_ssize_t ntexts = v[2].len / 8, ntok = v[0].len / 8, total = 0;
    int bad = v[1].len != v[0].len || v[3].len != v[2].len || v[4].len != v[2].len;
    for (Py_ssize_t t = 0; !bad && t < ntexts; t++) {
        bad = counts[t] < 0;
        total += counts[t];
    }
    bad = bad || total != ntok;
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t pos = 0;
        for (Py_ssize_t t = 0; t < ntexts; t++) {
            uint64_t sum = 0;
            int64_t chars = 0, c = counts[t];
            for (int64_t q = 0; q < c; q++) {
                sum += fmix64(th[pos + q] + (uint64_t)q * m0);
                chars += len[pos + q];
            }
            out[t] = c > 0 ? fmix64(sum + (uint64_t)c) : 0;
            norm[t] = chars + (c > 1 ? c - 1 : 0);
            pos += c;
        }
        Py_END_ALLOW_THREADS
    }
    return finish(v, 5, bad, "keys");
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void sign_rows(const uint32_t *values, const int64_t *offsets, Py_ssize_t ntexts,
                      const uint32_t *a, const uint32_t *b, Py_ssize_t nperm, uint32_t *out) {
    for (Py_ssize_t t = 0; t < ntexts; t++) {
        uint32_t *row = out + t * nperm;
        for (Py_ssize_t p = 0; p < nperm; p++)
            row[p] = 0xFFFFFFFFU;
        for (int64_t k = offsets[t]; k < offsets[t + 1]; k++) {
            uint32_t h = fmix32(values[k]);
            for (Py_ssize_t p = 0; p < nperm; p++) {
                uint32_t v = a[p] * h + b[p];
                row[p] = v < row[p] ? v : row[p];
            }
        }
    }
}

static PyObject *signatures(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    static const BufSpec spec[5] = {{0, 'u', 4, "values"}, {0, 'i', 8, "offsets"}, {0, 'u', 4, "a"}, {0, 'u', 4, "b"}, {1, 'u', 4, "out"}};
    Py_buffer v[5];
    if (get_buffers(o, v, spec, 5) < 0)
        return NULL;
    Py_ssize_t ntexts = v[1].len / 8 - 1, nperm = v[2].len / 4;
    const int64_t *off = (const int64_t *)v[1].buf;
    int bad = !offsets_ok(off, ntexts, v[0].len / 4) || v[3].len != v[2].len || v[4].len != ntexts * nperm * 4;
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        sign_rows((const uint32_t *)v[0].buf, off, ntexts, (const uint32_t *)v[2].buf, (const uint32_t *)v[3].buf,
                  nperm, (uint32_t *)v[4].buf);
        Py_END_ALLOW_THREADS
    }
    return finish(v, 5, bad, "signatures");
}

static PyObject *agreement(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[3];
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2]))
        return NULL;
    static const BufSpec spec[3] = {{0, 'u', 4, "sigs"}, {0, 'i', 8, "pairs"}, {1, 'i', 8, "out"}};
    Py_buffer v[3];
    if (get_buffers(o, v, spec, 3) < 0)
        return NULL;
    const uint32_t *sig = (const uint32_t *)v[0].buf;
    const int64_t *pairs = (const int64_t *)v[1].buf;
    int64_t *out = (int64_t *)v[2].buf;
    Py_ssize_t rows = 0, width = 0, npairs = v[2].len / 8;
    int bad = !matrix_shape(&v[0], &rows, &width) || v[1].len != npairs * 16 || !indices_ok(pairs, 2 * npairs, rows);
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t k = 0; k < npairs; k++)
            out[k] = same_slots(sig + pairs[2 * k] * width, sig + pairs[2 * k + 1] * width, width);
        Py_END_ALLOW_THREADS
    }
    return finish(v, 3, bad, "agreement");
}

static PyObject *bucket_close_pairs(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[3];
    Py_ssize_t min_agree, cap;
    if (!PyArg_ParseTuple(args, "OOOnn", &o[0], &o[1], &o[2], &min_agree, &cap))
        return NULL;
    static const BufSpec spec[3] = {{0, 'i', 8, "members"}, {0, 'i', 8, "offsets"}, {0, 'u', 4, "sigs"}};
    Py_buffer v[3];
    if (get_buffers(o, v, spec, 3) < 0)
        return NULL;
    const int64_t *m = (const int64_t *)v[0].buf, *off = (const int64_t *)v[1].buf;
    const uint32_t *sig = (const uint32_t *)v[2].buf;
    Py_ssize_t nm = v[0].len / 8, nb = v[1].len / 8 - 1, rows = 0, width = 0;
    int bad = !matrix_shape(&v[2], &rows, &width) || cap < 1 || !offsets_ok(off, nb, nm) || off[nb] != nm ||
              !indices_ok(m, nm, rows);
    if (bad)
        return finish(v, 3, bad, "bucket_close_pairs");
    Py_ssize_t n = 0, size = 1024;
    long long raw = 0;
    int64_t *out = PyMem_RawMalloc(size * 2 * sizeof(int64_t));
    int nomem = out == NULL;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = 0; !nomem && b < nb; b++) {
        for (int64_t p = off[b] + 1; !nomem && p < off[b + 1]; p++) {
            /* a member is paired with the members before it in its bucket (rank order), at most cap */
            int64_t last = off[b] + (p - off[b] < cap ? p - off[b] : cap);
            const uint32_t *y = sig + m[p] * width;
            for (int64_t q = off[b]; q < last; q++) {
                raw++;
                if (same_slots(sig + m[q] * width, y, width) < min_agree)
                    continue;
                if (n == size) {
                    int64_t *grown = PyMem_RawRealloc(out, size * 4 * sizeof(int64_t));
                    if (grown == NULL) {
                        nomem = 1;
                        break;
                    }
                    out = grown;
                    size *= 2;
                }
                out[2 * n] = m[q];
                out[2 * n + 1] = m[p];
                n++;
            }
        }
    }
    Py_END_ALLOW_THREADS
    release(v, 3);
    if (nomem) {
        PyMem_RawFree(out);
        return PyErr_NoMemory();
    }
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)out, n * 2 * (Py_ssize_t)sizeof(int64_t));
    PyMem_RawFree(out);
    if (bytes == NULL)
        return NULL;
    return Py_BuildValue("NL", bytes, raw);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static PyObject *segment_sets(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[4];
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    static const BufSpec spec[4] = {{0, 'u', 4, "values"}, {0, 'i', 8, "offsets"}, {1, 'u', 4, "out"}, {1, 'i', 8, "out_offsets"}};
    Py_buffer v[4];
    if (get_buffers(o, v, spec, 4) < 0)
        return NULL;
    const uint32_t *val = (const uint32_t *)v[0].buf;
    const int64_t *off = (const int64_t *)v[1].buf;
    uint32_t *out = (uint32_t *)v[2].buf;
    int64_t *out_off = (int64_t *)v[3].buf;
    Py_ssize_t nseg = v[1].len / 8 - 1, nval = v[0].len / 4;
    int bad = !offsets_ok(off, nseg, nval) || off[0] != 0 || v[3].len != v[1].len || v[2].len < v[0].len;
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        int64_t w = 0;
        out_off[0] = 0;
        for (Py_ssize_t t = 0; t < nseg; t++) {
            int64_t n = off[t + 1] - off[t], start = w;
            memcpy(out + w, val + off[t], (size_t)n * sizeof(uint32_t));
            qsort(out + w, (size_t)n, sizeof(uint32_t), cmp_u32);
            for (int64_t k = 0; k < n; k++)
                if (k == 0 || out[start + k] != out[w - 1])
                    out[w++] = out[start + k];
            out_off[t + 1] = w;
        }
        Py_END_ALLOW_THREADS
    }
    return finish(v, 4, bad, "segment_sets");
}

static PyObject *jaccard_pairs(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[4];
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3]))
        return NULL;
    static const BufSpec spec[4] = {{0, 'u', 4, "values"}, {0, 'i', 8, "offsets"}, {0, 'i', 8, "pairs"}, {1, 'f', 8, "out"}};
    Py_buffer v[4];
    if (get_buffers(o, v, spec, 4) < 0)
        return NULL;
    const uint32_t *val = (const uint32_t *)v[0].buf;
    const int64_t *off = (const int64_t *)v[1].buf, *pairs = (const int64_t *)v[2].buf;
    double *out = (double *)v[3].buf;
    Py_ssize_t nset = v[1].len / 8 - 1, npairs = v[3].len / 8;
    int bad = !offsets_ok(off, nset, v[0].len / 4) || v[2].len != npairs * 16 || !indices_ok(pairs, 2 * npairs, nset);
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t k = 0; k < npairs; k++) {
            int64_t a = pairs[2 * k], b = pairs[2 * k + 1];
            int64_t i = off[a], ie = off[a + 1], j = off[b], je = off[b + 1], inter = 0;
            int64_t total = (ie - i) + (je - j);
            while (i < ie && j < je) {
                if (val[i] < val[j])
                    i++;
                else if (val[i] > val[j])
                    j++;
                else {
                    inter++;
                    i++;
                    j++;
                }
            }
            out[k] = total - inter > 0 ? (double)inter / (double)(total - inter) : 1.0;
        }
        Py_END_ALLOW_THREADS
    }
    return finish(v, 4, bad, "jaccard_pairs");
}

static PyObject *band_keys(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[3];
    Py_ssize_t bands, rows;
    if (!PyArg_ParseTuple(args, "OnnOO", &o[0], &bands, &rows, &o[1], &o[2]))
        return NULL;
    static const BufSpec spec[3] = {{0, 'u', 4, "sigs"}, {0, 'u', 8, "mult"}, {1, 'u', 8, "out"}};
    Py_buffer v[3];
    if (get_buffers(o, v, spec, 3) < 0)
        return NULL;
    const uint32_t *sig = (const uint32_t *)v[0].buf;
    const uint64_t *mult = (const uint64_t *)v[1].buf;
    uint64_t *out = (uint64_t *)v[2].buf;
    Py_ssize_t n = 0, width = 0, nmult = v[1].len / 8;
    int bad = !matrix_shape(&v[0], &n, &width) || bands < 1 || rows < 1 || bands * rows > width || nmult < 1 ||
              v[2].len != n * bands * 8;
    if (!bad) {
        Py_BEGIN_ALLOW_THREADS
        /* as band_keys in dedup.py: per band, fold its values (pairs of slots as one
           64-bit value, low slot first, when rows is even) into a 64-bit key */
        int even = rows % 2 == 0;
        Py_ssize_t steps = even ? rows / 2 : rows;
        for (Py_ssize_t i = 0; i < n; i++) {
            const uint32_t *row = sig + i * width;
            for (Py_ssize_t b = 0; b < bands; b++) {
                const uint32_t *x = row + b * rows;
                uint64_t acc = (uint64_t)(b + 1);
                for (Py_ssize_t r = 0; r < steps; r++) {
                    uint64_t col = even ? ((uint64_t)x[2 * r] | ((uint64_t)x[2 * r + 1] << 32)) : (uint64_t)x[r];
                    acc ^= col;
                    acc *= mult[r % nmult];
                    acc ^= acc >> 29;
                }
                out[i * bands + b] = acc;
            }
        }
        Py_END_ALLOW_THREADS
    }
    return finish(v, 3, bad, "band_keys");
}

static PyMethodDef methods[] = {
    {"band_keys", band_keys, METH_VARARGS, "One 64-bit key per (row, band) of a signature matrix."},
    {"segment_sets", segment_sets, METH_VARARGS, "Sorted unique values of each segment."},
    {"jaccard_pairs", jaccard_pairs, METH_VARARGS, "Exact Jaccard of pairs of sorted unique segments."},
    {"bucket_close_pairs", bucket_close_pairs, METH_VARARGS,
     "Pairs of bucket members (earlier, later) whose signatures agree in at least min_agree slots."},
    {"agreement", agreement, METH_VARARGS, "Equal signature slots of each pair of rows."},
    {"keys", keys, METH_VARARGS, "Order-sensitive 64-bit key and normalised length of each text's tokens."},
    {"shingles", shingles, METH_VARARGS, "32-bit word k-gram shingle values of each text's token hashes."},
    {"tokens", tokens, METH_VARARGS, "Word tokens of lower-cased UTF-8 bytes: hashes, starts, ends."},
    {"signatures", signatures, METH_VARARGS, "MinHash rows of concatenated 32-bit shingle values."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Compiled kernels for cleaner.minhash.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
