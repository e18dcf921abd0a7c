/* The native fast path of a table's rows: accept a batch of lines that is certainly valid, or say nothing.

   hosting/formats/rows/native.py translates a row schema, with what the reader knows (the ids a reference may
   name, the archive's annexes, the time grid), into a plan: nested tuples of the node kinds below. A
   Scanner runs that plan over a batch of complete lines without the GIL and answers the id of every row,
   or None. None proves nothing: the batch is read again by the Python paths, which name the fault. So
   this file may refuse anything it finds unusual (an escape in a key, "-0", a duplicate key...), and must
   never accept what those paths refuse: tests/unit/formats/test_native.py holds the two to that.

   JSON is read as RFC 8259 says, with these narrowings: one object a line; keys hold no escape; a string
   holds no U+0000 and no lone surrogate; an integer is "-?(0|[1-9][0-9]*)" with at most 18 digits, no "-0",
   and no fraction or exponent. Strings are valid UTF-8 (no overlong form, no surrogate, nothing above
   U+10FFFF), counted in code points as JSON Schema counts them. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { K_OBJECT = 1, K_STRING = 2, K_MEMBER = 3, K_INT = 4, K_ARRAY = 5, K_EMAIL = 6 };
/* Raised with native.py's SCANNER_VERSION whenever a plan or an answer changes: a module built from an older
   file then says so, and the reader takes the Python paths instead of handing it plans it misreads. */
#define ROWSCAN_VERSION 1
#define MAX_FIELDS 64
#define MAX_SLOTS 8
#define MAX_DEPTH 8
#define SEEN_ARRAYS 16

/* ---- a set of byte strings, hashed with SipHash-1-3 under a key the caller draws at random ---- */

typedef struct {
    uint64_t hash;   /* 0: an empty slot (a value hashing to 0 is stored as 1) */
    Py_ssize_t start, len;
} Slot;

typedef struct {
    uint64_t k0, k1;
    size_t mask;     /* capacity - 1, a power of two minus one */
    Slot *slots;
    char *blob;
} ByteSet;

static inline int same_bytes(const char *a, const char *b, Py_ssize_t len) {
    for (Py_ssize_t i = 0; i < len; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                            \
    do {                                                                    \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);          \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                             \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                             \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);          \
    } while (0)

static uint64_t siphash13(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len) {
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = ((uint64_t)len) << 56, m;
    const unsigned char *end = in + (len - (len % 8));
    for (; in != end; in += 8) {
        memcpy(&m, in, 8);  /* (little-endian machines: the value differs elsewhere, the set works alike) */
        v3 ^= m; SIPROUND; v0 ^= m;
    }
    for (size_t i = 0; i < len % 8; i++) b |= ((uint64_t)in[i]) << (8 * i);
    v3 ^= b; SIPROUND; v0 ^= b;
    v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static void set_free(ByteSet *set) {
    PyMem_Free(set->slots); PyMem_Free(set->blob);
    set->slots = NULL; set->blob = NULL;
}

static inline uint64_t set_hash(const ByteSet *set, const char *data, Py_ssize_t len) {
    uint64_t h = siphash13(set->k0, set->k1, (const unsigned char *)data, (size_t)len);
    return h ? h : 1;
}

static int set_contains(const ByteSet *set, const char *data, Py_ssize_t len) {
    uint64_t h = set_hash(set, data, len);
    for (size_t i = (size_t)h & set->mask;; i = (i + 1) & set->mask) {
        const Slot *slot = &set->slots[i];
        if (slot->hash == 0) return 0;
        if (slot->hash == h && slot->len == len && same_bytes(set->blob + slot->start, data, len)) return 1;
    }
}

/* values: a sequence of str. Returns 0, or -1 with an exception set. */
static int set_build(ByteSet *set, PyObject *values, uint64_t k0, uint64_t k1) {
    PyObject *seq = PySequence_Fast(values, "a member node's values must be a sequence of str");
    if (seq == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), total = 0;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t size;
        if (!PyUnicode_Check(items[i]) || PyUnicode_AsUTF8AndSize(items[i], &size) == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "a member node's values must be str");
            Py_DECREF(seq);
            return -1;
        }
        total += size;
    }
    size_t capacity = 8;
    while (capacity < (size_t)n * 2 + 2) capacity <<= 1;
    set->k0 = k0; set->k1 = k1; set->mask = capacity - 1;
    set->slots = PyMem_Calloc(capacity, sizeof(Slot));
    set->blob = PyMem_Malloc((size_t)total + 1);
    if (set->slots == NULL || set->blob == NULL) {
        set_free(set); Py_DECREF(seq); PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t size;
        const char *data = PyUnicode_AsUTF8AndSize(items[i], &size);
        if (set_contains(set, data, size)) continue;  /* a repeated value is kept once */
        memcpy(set->blob + at, data, (size_t)size);
        uint64_t h = set_hash(set, data, size);
        size_t i_slot = (size_t)h & set->mask;
        while (set->slots[i_slot].hash != 0) i_slot = (i_slot + 1) & set->mask;
        set->slots[i_slot] = (Slot){.hash = h, .start = at, .len = size};
        at += size;
    }
    Py_DECREF(seq);
    return 0;
}

/* ---- the plan ---- */

typedef struct Node Node;
typedef struct {
    char *name;
    Py_ssize_t len;
    Node *node;
} Field;

struct Node {
    int kind;
    long long min, max;  /* string, email: code points; int: value; array: items */
    int capture;         /* string: 1 if it is the row's id (top level only); int: its slot, or -1 */
    int unique;          /* array of ints: no item twice (their range spans fewer than 64 values) */
    ByteSet set;         /* member */
    Node *item;          /* array */
    int nfields;
    Field *fields;       /* object */
    uint64_t required;   /* object: a bit per required field */
};

static void node_free(Node *node) {
    if (node == NULL) return;
    if (node->kind == K_MEMBER) set_free(&node->set);
    node_free(node->item);
    for (int i = 0; i < node->nfields; i++) {
        PyMem_Free(node->fields[i].name);
        node_free(node->fields[i].node);
    }
    PyMem_Free(node->fields);
    PyMem_Free(node);
}

static Node *node_build(PyObject *plan, uint64_t k0, uint64_t k1, int depth, int top);

static int as_ll(PyObject *tuple, Py_ssize_t index, long long *out) {
    *out = PyLong_AsLongLong(PyTuple_GET_ITEM(tuple, index));
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static Node *node_build(PyObject *plan, uint64_t k0, uint64_t k1, int depth, int top) {
    if (depth > MAX_DEPTH || !PyTuple_Check(plan) || PyTuple_GET_SIZE(plan) < 1) {
        PyErr_SetString(PyExc_ValueError, "a plan node is a tuple (kind, ...), at most 8 deep");
        return NULL;
    }
    Node *node = PyMem_Calloc(1, sizeof(Node));
    if (node == NULL) return (Node *)PyErr_NoMemory();
    long long kind;
    Py_ssize_t size = PyTuple_GET_SIZE(plan);
    if (as_ll(plan, 0, &kind) < 0) goto fail;
    node->kind = (int)kind;
    node->capture = -1;
    switch (node->kind) {
    case K_STRING:  /* (STRING, min, max, is_id) */
        if (size != 4 || as_ll(plan, 1, &node->min) < 0 || as_ll(plan, 2, &node->max) < 0) goto bad;
        node->capture = PyObject_IsTrue(PyTuple_GET_ITEM(plan, 3)) && top ? 1 : -1;
        break;
    case K_EMAIL:  /* (EMAIL, max) */
        if (size != 2 || as_ll(plan, 1, &node->max) < 0) goto bad;
        break;
    case K_MEMBER:  /* (MEMBER, values) */
        if (size != 2 || set_build(&node->set, PyTuple_GET_ITEM(plan, 1), k0, k1) < 0) goto fail;
        break;
    case K_INT: {  /* (INT, min, max, slot) */
        long long slot;
        if (size != 4 || as_ll(plan, 1, &node->min) < 0 || as_ll(plan, 2, &node->max) < 0 || as_ll(plan, 3, &slot) < 0)
            goto bad;
        if (slot >= MAX_SLOTS || node->min < -999999999999999999LL || node->max > 999999999999999999LL) goto bad;
        node->capture = (int)slot;
        break;
    }
    case K_ARRAY: {  /* (ARRAY, min_items, max_items, unique, item) */
        if (size != 5 || as_ll(plan, 1, &node->min) < 0 || as_ll(plan, 2, &node->max) < 0) goto bad;
        node->unique = PyObject_IsTrue(PyTuple_GET_ITEM(plan, 3));
        node->item = node_build(PyTuple_GET_ITEM(plan, 4), k0, k1, depth + 1, 0);
        if (node->item == NULL) goto fail;
        if (node->unique && (node->item->kind != K_INT || node->item->capture >= 0 ||
                             node->item->max - node->item->min >= 64)) goto bad;
        break;
    }
    case K_OBJECT: {  /* (OBJECT, ((name, required, node), ...)) */
        PyObject *fields = PyTuple_GET_ITEM(plan, size - 1);
        if (size != 2 || !PyTuple_Check(fields) || PyTuple_GET_SIZE(fields) > MAX_FIELDS) goto bad;
        node->nfields = 0;
        node->fields = PyMem_Calloc((size_t)PyTuple_GET_SIZE(fields) + 1, sizeof(Field));
        if (node->fields == NULL) { PyErr_NoMemory(); goto fail; }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++) {
            PyObject *field = PyTuple_GET_ITEM(fields, i);
            Py_ssize_t len;
            const char *name;
            if (!PyTuple_Check(field) || PyTuple_GET_SIZE(field) != 3 ||
                (name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(field, 0), &len)) == NULL)
                goto bad;
            Field *slot = &node->fields[node->nfields++];
            slot->name = PyMem_Malloc((size_t)len + 1);
            if (slot->name == NULL) { PyErr_NoMemory(); goto fail; }
            memcpy(slot->name, name, (size_t)len + 1);
            slot->len = len;
            if (PyObject_IsTrue(PyTuple_GET_ITEM(field, 1))) node->required |= 1ULL << i;
            slot->node = node_build(PyTuple_GET_ITEM(field, 2), k0, k1, depth + 1, top && depth == 0);
            if (slot->node == NULL) goto fail;
        }
        break;
    }
    default:
        goto bad;
    }
    return node;
bad:
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a plan node does not fit its kind");
fail:
    node_free(node);
    return NULL;
}

/* ---- reading one line ---- */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buffer;

static int buffer_put(Buffer *buffer, const char *data, Py_ssize_t len) {
    if (len == 0) return 0;  /* (an empty id: no bytes, and maybe no buffer yet) */
    if (buffer->len + len > buffer->cap) {
        Py_ssize_t cap = buffer->cap ? buffer->cap : 4096;
        while (cap < buffer->len + len) cap *= 2;
        char *grown = realloc(buffer->data, (size_t)cap);  /* (no GIL: the C allocator, not PyMem) */
        if (grown == NULL) return -1;
        buffer->data = grown; buffer->cap = cap;
    }
    memcpy(buffer->data + buffer->len, data, (size_t)len);
    buffer->len += len;
    return 0;
}

typedef struct {
    const unsigned char *p, *end;  /* where the reading is, and the region's end (a line ends at its newline) */
    Buffer scratch;                /* a string's decoded bytes, when it held escapes */
    Buffer ids;                    /* every row's id, one after the other */
    Py_ssize_t *id_ends;
    Py_ssize_t rows, id_cap;
    long long values[MAX_SLOTS];
    unsigned present;              /* slots seen in this row */
    struct { const Node *node; const unsigned char *text; Py_ssize_t len; } seen[SEEN_ARRAYS];
    int seen_next;                 /* (arrays of ints found valid, by their text: a course's weeks repeat) */
    int failed_memory;
} Reader;

static inline void skip_ws(Reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r')) r->p++;
}

static inline int expect(Reader *r, unsigned char c) {
    skip_ws(r);
    if (r->p < r->end && *r->p == c) { r->p++; return 1; }
    return 0;
}

static int hex4(const unsigned char *p, unsigned *out) {
    unsigned value = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        value <<= 4;
        if (c >= '0' && c <= '9') value |= c - '0';
        else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') value |= c - 'A' + 10;
        else return 0;
    }
    *out = value;
    return 1;
}

/* One UTF-8 sequence starting at p (its first byte >= 0x80); its length, or 0 if invalid. */
static int utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    int n;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) low = 0xA0;
        if (c == 0xED) high = 0x9F;  /* no surrogate */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) low = 0x90;
        if (c == 0xF4) high = 0x8F;  /* nothing above U+10FFFF */
    } else return 0;
    if (end - p < n || p[1] < low || p[1] > high) return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

static void put_utf8(Reader *r, unsigned cp) {
    char out[4];
    int n;
    if (cp < 0x80) { out[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    if (buffer_put(&r->scratch, out, n) < 0) r->failed_memory = 1;
}

/* A JSON string: its decoded UTF-8 bytes in (*data, *len), its code points in *cps. 0 if refused. */
static int read_string(Reader *r, const char **data, Py_ssize_t *len, long long *cps) {
    skip_ws(r);
    if (r->p >= r->end || *r->p != '"') return 0;
    const unsigned char *start = ++r->p, *p = start, *end = r->end;
    long long count = 0;
    int escaped = 0;
    r->scratch.len = 0;
    while (p < end) {
        const unsigned char *run = p;  /* a run of plain ASCII, the common case, in one tight loop */
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        count += p - run;
        if (escaped && p > run && buffer_put(&r->scratch, (const char *)run, p - run) < 0) r->failed_memory = 1;
        if (p >= end) break;
        unsigned char c = *p;
        if (c == '"') break;
        if (c < 0x20) return 0;
        if (c >= 0x80) {
            int n = utf8_sequence(p, end);
            if (n == 0) return 0;
            if (escaped && buffer_put(&r->scratch, (const char *)p, n) < 0) r->failed_memory = 1;
            p += n; count++;
            continue;
        }
        /* an escape: from here on the decoded bytes are built in scratch */
        if (!escaped) {
            escaped = 1;
            if (buffer_put(&r->scratch, (const char *)start, p - start) < 0) r->failed_memory = 1;
        }
        if (end - p < 2) return 0;
        unsigned cp;
        switch (p[1]) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (end - p < 6 || !hex4(p + 2, &cp)) return 0;
            if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return 0;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned low;
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &low) || low < 0xDC00 || low > 0xDFFF)
                    return 0;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            p += 4;
            break;
        default:
            return 0;
        }
        p += 2;
        count++;
        put_utf8(r, cp);
    }
    if (p >= end || r->failed_memory) return 0;
    r->p = p + 1;
    if (escaped) { *data = r->scratch.data; *len = r->scratch.len; }
    else { *data = (const char *)start; *len = p - start; }
    *cps = count;
    return 1;
}

static int read_int(Reader *r, long long *out) {
    skip_ws(r);
    const unsigned char *p = r->p, *end = r->end;
    int negative = 0;
    if (p < end && *p == '-') { negative = 1; p++; }
    if (p >= end || *p < '0' || *p > '9') return 0;
    const unsigned char *digits = p;
    long long value = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (p - digits >= 18) return 0;
        value = value * 10 + (*p - '0');
        p++;
    }
    if ((*digits == '0' && p - digits > 1) || (negative && value == 0)) return 0;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return 0;
    r->p = p;
    *out = negative ? -value : value;
    return 1;
}

static int read_value(Reader *r, const Node *node);

static int read_object(Reader *r, const Node *node) {
    uint64_t seen = 0;
    int next = 0;
    if (!expect(r, '{')) return 0;
    if (expect(r, '}')) return (node->required & ~seen) == 0;
    for (;;) {
        skip_ws(r);
        if (r->p >= r->end || *r->p != '"') return 0;
        const unsigned char *key = ++r->p;
        while (r->p < r->end && *r->p != '"' && *r->p != '\\') r->p++;  /* keys hold no escape */
        if (r->p >= r->end || *r->p != '"') return 0;
        Py_ssize_t len = r->p++ - key;
        if (!expect(r, ':')) return 0;
        int index = -1;
        /* rows list their fields in one order: the field after the last one matched comes first */
        for (int tried = 0, i = next; tried < node->nfields; tried++, i = (i + 1) % node->nfields)
            if (node->fields[i].len == len && same_bytes(node->fields[i].name, (const char *)key, len)) { index = i; break; }
        next = index + 1 < node->nfields ? index + 1 : 0;
        if (index < 0 || (seen & (1ULL << index))) return 0;  /* an unknown field, or a key twice */
        seen |= 1ULL << index;
        if (!read_value(r, node->fields[index].node)) return 0;
        if (expect(r, ',')) continue;
        if (expect(r, '}')) break;
        return 0;
    }
    return (node->required & ~seen) == 0;
}

static int read_value(Reader *r, const Node *node) {
    const char *data;
    Py_ssize_t len;
    long long cps, value;
    switch (node->kind) {
    case K_OBJECT:
        return read_object(r, node);
    case K_STRING:
        if (!read_string(r, &data, &len, &cps) || cps < node->min || cps > node->max) return 0;
        if (node->capture > 0) {
            if (buffer_put(&r->ids, data, len) < 0) return 0;
            r->id_ends[r->rows] = r->ids.len;
        }
        return 1;
    case K_EMAIL: {
        if (!read_string(r, &data, &len, &cps) || cps > node->max || cps != len) return 0;  /* ASCII only */
        Py_ssize_t at = -1;
        for (Py_ssize_t i = 0; i < len; i++) {
            char c = data[i];
            if (c == '@') {
                if (at >= 0) return 0;
                at = i;
            } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
                return 0;
            }
        }
        return at > 0 && at < len - 1;
    }
    case K_MEMBER:
        return read_string(r, &data, &len, &cps) && set_contains(&node->set, data, len);
    case K_INT:
        if (!read_int(r, &value) || value < node->min || value > node->max) return 0;
        if (node->capture >= 0) {
            r->values[node->capture] = value;
            r->present |= 1u << node->capture;
        }
        return 1;
    case K_ARRAY: {
        long long items = 0;
        uint64_t taken = 0;
        const unsigned char *text = NULL, *close = NULL;
        if (node->unique) {
            /* The same text as an array found valid before is valid: its items are integers, so its
               first ']' closes it. (The text stays in the region, which outlives the scan.) */
            skip_ws(r);
            text = r->p;
            close = memchr(text, ']', (size_t)(r->end - text));
            if (close == NULL) return 0;
            for (int i = 0; i < SEEN_ARRAYS; i++)
                if (r->seen[i].node == node && r->seen[i].len == close + 1 - text &&
                    same_bytes((const char *)r->seen[i].text, (const char *)text, close + 1 - text)) {
                    r->p = close + 1;
                    return 1;
                }
        }
        if (!expect(r, '[')) return 0;
        if (!expect(r, ']')) {
            for (;;) {
                if (++items > node->max) return 0;
                if (node->unique) {
                    const Node *item = node->item;
                    if (!read_int(r, &value) || value < item->min || value > item->max) return 0;
                    uint64_t bit = 1ULL << (value - item->min);
                    if (taken & bit) return 0;
                    taken |= bit;
                } else if (!read_value(r, node->item)) {
                    return 0;
                }
                if (expect(r, ',')) continue;
                if (expect(r, ']')) break;
                return 0;
            }
        }
        if (items < node->min) return 0;
        if (text != NULL && r->p == close + 1) {
            r->seen[r->seen_next].node = node;
            r->seen[r->seen_next].text = text;
            r->seen[r->seen_next].len = close + 1 - text;
            r->seen_next = (r->seen_next + 1) % SEEN_ARRAYS;
        }
        return 1;
    }
    }
    return 0;
}

/* ---- the scanner ---- */

typedef struct {
    PyObject_HEAD
    Node *plan;
    Py_ssize_t max_line_bytes;
    int nsums;
    unsigned sum_slots[MAX_SLOTS];
    long long sum_limits[MAX_SLOTS];
} Scanner;

static void Scanner_dealloc(Scanner *self) {
    node_free(self->plan);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"plan", "key", "max_line_bytes", "sums", NULL};
    PyObject *plan, *sums = NULL;
    Py_buffer key;
    Py_ssize_t max_line_bytes;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Oy*n|O", names, &plan, &key, &max_line_bytes, &sums)) return -1;
    if (key.len != 16 || max_line_bytes < 1) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_ValueError, "key: 16 bytes; max_line_bytes: at least 1");
        return -1;
    }
    if (self->plan != NULL) {  /* (a plan freed while another thread scans with it: never) */
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_RuntimeError, "a Scanner is initialised once");
        return -1;
    }
    uint64_t k0, k1;
    memcpy(&k0, key.buf, 8);
    memcpy(&k1, (const char *)key.buf + 8, 8);
    PyBuffer_Release(&key);
    self->plan = node_build(plan, k0, k1, 0, 1);
    if (self->plan == NULL) return -1;
    if (self->plan->kind != K_OBJECT) {
        node_free(self->plan);
        self->plan = NULL;
        PyErr_SetString(PyExc_ValueError, "a row's plan is an object");
        return -1;
    }
    self->max_line_bytes = max_line_bytes;
    self->nsums = 0;
    if (sums != NULL) {  /* ((slot mask, limit), ...): when every slot of the mask is present, their sum <= limit */
        PyObject *seq = PySequence_Fast(sums, "sums: a sequence of (slot mask, limit)");
        if (seq == NULL) return -1;
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
            unsigned long long mask;
            long long limit;
            if (i >= MAX_SLOTS || !PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "KL", &mask, &limit)) {
                Py_DECREF(seq);
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "at most 8 sums");
                return -1;
            }
            self->sum_slots[i] = (unsigned)mask;
            self->sum_limits[i] = limit;
            self->nsums++;
        }
        Py_DECREF(seq);
    }
    return 0;
}

/* Every line of region [data, data + size), each ending with a newline; 1 if every one is valid.
   (A line is parsed up to its newline, which no token can hold: it ends the object or refuses it.) */
static int scan_lines(const Scanner *self, Reader *r, const unsigned char *data, Py_ssize_t size) {
    const unsigned char *at = data, *stop = data + size;
    while (at < stop) {
        if (r->rows >= r->id_cap) {
            Py_ssize_t cap = r->id_cap ? r->id_cap * 2 : 1024;
            Py_ssize_t *grown = realloc(r->id_ends, (size_t)cap * sizeof(Py_ssize_t));
            if (grown == NULL) return 0;
            r->id_ends = grown; r->id_cap = cap;
        }
        r->id_ends[r->rows] = -1;
        r->p = at; r->end = stop; r->present = 0;
        if (!read_object(r, self->plan)) return 0;
        skip_ws(r);
        /* the whole line is one object, and it gave its id (the plan's id is required: once a row) */
        if (r->p >= stop || *r->p != '\n' || r->p - at > self->max_line_bytes || r->id_ends[r->rows] != r->ids.len)
            return 0;
        for (int i = 0; i < self->nsums; i++) {
            unsigned mask = self->sum_slots[i];
            if ((r->present & mask) != mask) continue;
            long long total = 0;
            for (int slot = 0; slot < MAX_SLOTS; slot++)
                if (mask & (1u << slot)) total += r->values[slot];
            if (total > self->sum_limits[i]) return 0;
        }
        r->rows++;
        at = r->p + 1;
    }
    return 1;
}

static PyObject *Scanner_scan(Scanner *self, PyObject *arg) {
    if (self->plan == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the Scanner has no plan");
        return NULL;
    }
    Py_buffer region;
    if (PyObject_GetBuffer(arg, &region, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *data = region.buf;
    Reader r;
    memset(&r, 0, sizeof r);
    int valid;
    Py_BEGIN_ALLOW_THREADS
    valid = scan_lines(self, &r, data, region.len);
    Py_END_ALLOW_THREADS
    Py_ssize_t lines = r.rows;
    PyObject *result = NULL, *ids = NULL, *hashes = NULL;
    if (!valid || lines == 0) {  /* (a refusal, or no memory: the Python paths will say which) */
        result = Py_NewRef(Py_None);
    } else if ((ids = PyList_New(lines)) != NULL &&
               (hashes = PyBytes_FromStringAndSize(NULL, lines * (Py_ssize_t)sizeof(Py_hash_t))) != NULL) {
        /* each id as str, its hash (Python's, as idset.py fingerprints), and whether the ids ascend
           (UTF-8 orders as code points do, and so as str compares) */
        Py_hash_t *hash = (Py_hash_t *)PyBytes_AS_STRING(hashes);
        Py_ssize_t start = 0, before = 0, before_len = -1;
        int ascending = 1;
        for (Py_ssize_t i = 0; i < lines; i++) {
            Py_ssize_t len = r.id_ends[i] - start;
            PyObject *ident = PyUnicode_DecodeUTF8(r.ids.data + start, len, "strict");
            if (ident == NULL || (hash[i] = PyObject_Hash(ident)) == -1) { Py_XDECREF(ident); goto fail; }
            PyList_SET_ITEM(ids, i, ident);
            if (ascending && before_len >= 0) {
                Py_ssize_t common = len < before_len ? len : before_len;
                int order = memcmp(r.ids.data + before, r.ids.data + start, (size_t)common);
                ascending = order < 0 || (order == 0 && before_len < len);
            }
            before = start; before_len = len;
            start = r.id_ends[i];
        }
        result = Py_BuildValue("(OON)", ids, hashes, PyBool_FromLong(ascending));
    }
fail:
    Py_XDECREF(ids);
    Py_XDECREF(hashes);
    free(r.id_ends); free(r.ids.data); free(r.scratch.data);
    PyBuffer_Release(&region);
    return result;
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_O,
     "scan(region) -> (ids, hashes, ascending) | None: if every row of region (complete lines) is valid, the id\n"
     "of each, their hashes (native int64s), and whether each id is greater than the one before."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hosting.formats.rows._rowscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(plan, key, max_line_bytes, sums=()): a table's rows checked by a plan (see native.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef rowscan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hosting.formats.rows._rowscan",
    .m_doc = "The native fast path of a table's rows (see native.py).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__rowscan(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *module = PyModule_Create(&rowscan_module);
    if (module == NULL) return NULL;
    if (PyModule_AddObjectRef(module, "Scanner", (PyObject *)&ScannerType) < 0 ||
        PyModule_AddIntConstant(module, "OBJECT", K_OBJECT) < 0 || PyModule_AddIntConstant(module, "STRING", K_STRING) < 0 ||
        PyModule_AddIntConstant(module, "MEMBER", K_MEMBER) < 0 || PyModule_AddIntConstant(module, "INT", K_INT) < 0 ||
        PyModule_AddIntConstant(module, "ARRAY", K_ARRAY) < 0 || PyModule_AddIntConstant(module, "EMAIL", K_EMAIL) < 0 ||
        PyModule_AddIntConstant(module, "VERSION", ROWSCAN_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
