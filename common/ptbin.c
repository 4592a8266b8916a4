/*
 * ptbin.c -- pytorch_model.bin, the zip archive that torch.save (>= 1.6)
 * writes, as a tensor file (model.h).
 *
 * The archive holds <name>/data.pkl, a pickle of the state dict, and one
 * stored (uncompressed) entry <name>/data/<key> per storage.  The pickle is
 * read by a small interpreter that knows only the opcodes torch.save emits
 * for a dict of tensors.  It builds plain values and never calls anything:
 * the few globals it accepts (OrderedDict, the tensor and parameter rebuild
 * functions, the storage classes) are recognised by name and interpreted
 * here; any other global or opcode is an error that names it.
 *
 * A tensor is (storage, offset, shape, stride).  Contiguous tensors point
 * straight into the mmap'd archive, several of them into one storage when
 * the state dict shares storages (tied weights, slices of a fused tensor).
 * Non-contiguous tensors are an error.  Tensors whose storage is not float32,
 * float16 or bfloat16 (int64 position_ids buffers, for instance) are left out
 * of the entries and listed by ptbin_skipped().
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "model.h"
#include "ptbin.h"
#include "util.h"

/* ---- the zip container ---- */

struct zent {
	const char	*name;
	size_t		 namelen;
	uint64_t	 lho;		/* local header offset */
	uint64_t	 size;		/* uncompressed */
	uint64_t	 csize;		/* compressed */
	uint32_t	 crc;
	int		 method, flags;
};

struct zip {
	const unsigned char	*map;
	size_t			 len;
	struct zent		*e;		/* sorted by name */
	size_t			 n;
};

static uint16_t
rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
zentcmp(const void *a, const void *b)
{
	const struct zent *x = a, *y = b;
	size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return (x->namelen > y->namelen) - (x->namelen < y->namelen);
}

/*
 * Read the central directory (ZIP64 when the end record says so) into z->e.
 * Every offset and size is checked against the file before use.
 */
static int
zip_read(struct zip *z, const char *path, char *err, size_t errlen)
{
	const unsigned char *m = z->map, *eocd = NULL, *p, *end;
	uint64_t nent, cdsize, cdoff;
	size_t len = z->len, i, lo;

	if (len < 22) {
		seterr(err, errlen, "%s: not a zip archive (%zu bytes)", path,
		    len);
		return -1;
	}
	lo = len - 22 > 65535 ? len - 22 - 65535 : 0;
	for (i = len - 22 + 1; i-- > lo; )
		if (rd32(m + i) == 0x06054b50 &&
		    22 + (size_t)rd16(m + i + 20) <= len - i) {
			eocd = m + i;
			break;
		}
	if (eocd == NULL) {
		seterr(err, errlen, "%s: truncated or not a zip archive "
		    "(no end of central directory)", path);
		return -1;
	}
	nent = rd16(eocd + 10);
	cdsize = rd32(eocd + 12);
	cdoff = rd32(eocd + 16);
	if (nent == 0xffff || cdsize == 0xffffffff || cdoff == 0xffffffff) {
		const unsigned char *loc;
		uint64_t z64;

		if (eocd - m < 20 || rd32(eocd - 20) != 0x07064b50) {
			seterr(err, errlen, "%s: zip64 end of central "
			    "directory locator is missing", path);
			return -1;
		}
		loc = eocd - 20;
		z64 = rd64(loc + 8);
		if (z64 > len || len - z64 < 56 ||
		    rd32(m + z64) != 0x06064b50) {
			seterr(err, errlen, "%s: zip64 end of central "
			    "directory is outside the file or corrupt", path);
			return -1;
		}
		nent = rd64(m + z64 + 32);
		cdsize = rd64(m + z64 + 40);
		cdoff = rd64(m + z64 + 48);
	}
	if (cdoff > len || cdsize > len - cdoff) {
		seterr(err, errlen, "%s: central directory (offset %llu, "
		    "%llu bytes) is outside the file (%zu bytes): truncated?",
		    path, (unsigned long long)cdoff,
		    (unsigned long long)cdsize, len);
		return -1;
	}
	if (nent > cdsize / 46) {
		seterr(err, errlen, "%s: central directory is too small for "
		    "%llu entries", path, (unsigned long long)nent);
		return -1;
	}
	z->e = xcalloc(nent ? nent : 1, sizeof(*z->e));
	p = m + cdoff;
	end = p + cdsize;
	for (i = 0; i < nent; i++) {
		struct zent *e = &z->e[i];
		const unsigned char *x, *xend;
		size_t nl, xl, cl;

		if (end - p < 46 || rd32(p) != 0x02014b50) {
			seterr(err, errlen, "%s: central directory entry %zu "
			    "is corrupt", path, i);
			return -1;
		}
		nl = rd16(p + 28);
		xl = rd16(p + 30);
		cl = rd16(p + 32);
		if ((size_t)(end - p) - 46 < nl + xl + cl) {
			seterr(err, errlen, "%s: central directory entry %zu "
			    "runs past the directory", path, i);
			return -1;
		}
		e->flags = rd16(p + 8);
		e->method = rd16(p + 10);
		e->crc = rd32(p + 16);
		e->csize = rd32(p + 20);
		e->size = rd32(p + 24);
		e->lho = rd32(p + 42);
		e->name = (const char *)p + 46;
		e->namelen = nl;
		/* ZIP64 extra field: the 32-bit fields that are all ones. */
		x = p + 46 + nl;
		xend = x + xl;
		while (xend - x >= 4) {
			size_t id = rd16(x), sz = rd16(x + 2);
			const unsigned char *q = x + 4;

			if ((size_t)(xend - q) < sz)
				break;
			if (id == 1) {
				const unsigned char *qe = q + sz;

				if (e->size == 0xffffffff && qe - q >= 8) {
					e->size = rd64(q);
					q += 8;
				}
				if (e->csize == 0xffffffff && qe - q >= 8) {
					e->csize = rd64(q);
					q += 8;
				}
				if (e->lho == 0xffffffff && qe - q >= 8)
					e->lho = rd64(q);
			}
			x += 4 + sz;
		}
		p += 46 + nl + xl + cl;
	}
	z->n = nent;
	qsort(z->e, z->n, sizeof(*z->e), zentcmp);
	return 0;
}

static const struct zent *
zip_find(const struct zip *z, const char *name)
{
	struct zent key;

	key.name = name;
	key.namelen = strlen(name);
	return bsearch(&key, z->e, z->n, sizeof(*z->e), zentcmp);
}

/* The data of a stored entry, checked against the file's size. */
static int
zip_data(const struct zip *z, const struct zent *e, const unsigned char **dp,
    const char *path, char *err, size_t errlen)
{
	const unsigned char *h;
	uint64_t off;

	if (e->method != 0) {
		seterr(err, errlen, "%s: entry '%.*s' is compressed (method "
		    "%d); torch.save stores entries uncompressed", path,
		    (int)e->namelen, e->name, e->method);
		return -1;
	}
	if (e->flags & 1) {
		seterr(err, errlen, "%s: entry '%.*s' is encrypted", path,
		    (int)e->namelen, e->name);
		return -1;
	}
	if (e->csize != e->size) {
		seterr(err, errlen, "%s: entry '%.*s' is stored but its sizes "
		    "differ", path, (int)e->namelen, e->name);
		return -1;
	}
	if (e->lho > z->len || z->len - e->lho < 30 ||
	    rd32(z->map + e->lho) != 0x04034b50) {
		seterr(err, errlen, "%s: entry '%.*s': local header is "
		    "outside the file or corrupt: truncated?", path,
		    (int)e->namelen, e->name);
		return -1;
	}
	h = z->map + e->lho;
	off = e->lho + 30 + (uint64_t)rd16(h + 26) + rd16(h + 28);
	if (off > z->len || e->size > z->len - off) {
		seterr(err, errlen, "%s: entry '%.*s' (%llu bytes at offset "
		    "%llu) runs past the end of the file (%zu bytes): "
		    "truncated?", path, (int)e->namelen, e->name,
		    (unsigned long long)e->size, (unsigned long long)off,
		    z->len);
		return -1;
	}
	*dp = z->map + off;
	return 0;
}

/* ---- the pickle subset ---- */

enum { V_NONE, V_BOOL, V_INT, V_STR, V_TUPLE, V_LIST, V_DICT, V_GLOBAL,
    V_STORAGE, V_TENSOR };

/* The globals the interpreter accepts, by kind. */
enum { G_ODICT, G_TENSOR, G_PARAM, G_STORAGE };

static const struct sttype {
	const char	*cls;		/* torch.<cls> */
	const char	*dtname;	/* for messages */
	int		 dtype;		/* DT_* or -1: skipped */
	size_t		 size;
} sttypes[] = {
	{ "FloatStorage",		"float32",	DT_F32,	 4 },
	{ "HalfStorage",		"float16",	DT_F16,	 2 },
	{ "BFloat16Storage",		"bfloat16",	DT_BF16, 2 },
	{ "DoubleStorage",		"float64",	-1,	 8 },
	{ "LongStorage",		"int64",	-1,	 8 },
	{ "IntStorage",			"int32",	-1,	 4 },
	{ "ShortStorage",		"int16",	-1,	 2 },
	{ "CharStorage",		"int8",		-1,	 1 },
	{ "ByteStorage",		"uint8",	-1,	 1 },
	{ "BoolStorage",		"bool",		-1,	 1 },
	{ "ComplexFloatStorage",	"complex64",	-1,	 8 },
	{ "ComplexDoubleStorage",	"complex128",	-1,	 16 },
};

struct val {
	int		 type;
	int64_t		 i;		/* BOOL, INT; GLOBAL kind */
	const char	*s;		/* STR, into the pickle; STORAGE key */
	size_t		 len;
	struct val	**a;		/* TUPLE, LIST; DICT: keys, values */
	size_t		 n, cap;
	const struct sttype *st;	/* GLOBAL G_STORAGE, STORAGE */
	/* TENSOR: storage, offset, shape, stride */
	struct val	*stor;
	uint64_t	 off, numel;
	int		 ndim;
	int64_t		 shape[TENSOR_MAXDIM], stride[TENSOR_MAXDIM];
};

struct pk {
	const unsigned char	*p;
	size_t			 len, pos, at;	/* at: current opcode */
	struct val		**stack;
	size_t			 sp, scap;
	size_t			*marks;
	size_t			 nmark, mcap;
	struct val		**memo;
	size_t			 nmemo;
	struct val		**all;		/* for freeing */
	size_t			 nall, acap;
	const char		*path;
	char			*err;
	size_t			 errlen;
};

static const struct {
	int		 op;
	const char	*name;
} opnames[] = {
	{ '0', "POP" }, { '1', "POP_MARK" }, { '2', "DUP" },
	{ 'F', "FLOAT" }, { 'I', "INT" }, { 'L', "LONG" }, { 'S', "STRING" },
	{ 'T', "BINSTRING" }, { 'U', "SHORT_BINSTRING" }, { 'V', "UNICODE" },
	{ 'G', "BINFLOAT" }, { 'B', "BINBYTES" }, { 'C', "SHORT_BINBYTES" },
	{ 'P', "PERSID" }, { 'd', "DICT" }, { 'l', "LIST" }, { 'g', "GET" },
	{ 'p', "PUT" }, { 'i', "INST" }, { 'o', "OBJ" }, { 0x81, "NEWOBJ" },
	{ 0x82, "EXT1" }, { 0x83, "EXT2" }, { 0x84, "EXT4" },
	{ 0x8b, "LONG4" }, { 0x8e, "BINBYTES8" }, { 0x8f, "EMPTY_SET" },
	{ 0x90, "ADDITEMS" }, { 0x91, "FROZENSET" }, { 0x92, "NEWOBJ_EX" },
	{ 0x96, "BYTEARRAY8" }, { 0x97, "NEXT_BUFFER" },
	{ 0x98, "READONLY_BUFFER" },
};

static int
pkerr(struct pk *k, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	seterr(k->err, k->errlen, "%s: data.pkl offset %zu: %s", k->path,
	    k->at, buf);
	return -1;
}

static struct val *
newval(struct pk *k, int type)
{
	struct val *v = xcalloc(1, sizeof(*v));

	v->type = type;
	if (k->nall == k->acap) {
		k->acap = k->acap ? 2 * k->acap : 256;
		k->all = xreallocarray(k->all, k->acap, sizeof(*k->all));
	}
	k->all[k->nall++] = v;
	return v;
}

static void
vadd(struct val *v, struct val *x)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 4;
		v->a = xreallocarray(v->a, v->cap, sizeof(*v->a));
	}
	v->a[v->n++] = x;
}

static void
push(struct pk *k, struct val *v)
{
	if (k->sp == k->scap) {
		k->scap = k->scap ? 2 * k->scap : 64;
		k->stack = xreallocarray(k->stack, k->scap, sizeof(*k->stack));
	}
	k->stack[k->sp++] = v;
}

/* Pop one value; never below the innermost mark. */
static struct val *
pop(struct pk *k)
{
	size_t floor = k->nmark ? k->marks[k->nmark - 1] : 0;

	if (k->sp <= floor) {
		pkerr(k, "pickle stack underflow");
		return NULL;
	}
	return k->stack[--k->sp];
}

static struct val *
top(struct pk *k)
{
	size_t floor = k->nmark ? k->marks[k->nmark - 1] : 0;

	if (k->sp <= floor) {
		pkerr(k, "pickle stack underflow");
		return NULL;
	}
	return k->stack[k->sp - 1];
}

/* Pop back to the innermost mark; the values are k->stack[*from..k->sp). */
static int
popmark(struct pk *k, size_t *from)
{
	if (k->nmark == 0)
		return pkerr(k, "no MARK on the pickle stack");
	*from = k->marks[--k->nmark];
	return 0;
}

static int
need(struct pk *k, size_t n)
{
	if (k->len - k->pos < n)
		return pkerr(k, "truncated pickle");
	return 0;
}

static int
memoput(struct pk *k, uint64_t idx)
{
	struct val *v;

	if ((v = top(k)) == NULL)
		return -1;
	/* Indices come from the pickler in order; bound them by its size. */
	if (idx > k->len + 16)
		return pkerr(k, "memo index %llu is out of range",
		    (unsigned long long)idx);
	if (idx >= k->nmemo) {
		k->memo = xreallocarray(k->memo, idx + 1, sizeof(*k->memo));
		memset(k->memo + k->nmemo, 0,
		    (idx + 1 - k->nmemo) * sizeof(*k->memo));
		k->nmemo = idx + 1;
	}
	k->memo[idx] = v;
	return 0;
}

static int
memoget(struct pk *k, uint64_t idx)
{
	if (idx >= k->nmemo || k->memo[idx] == NULL)
		return pkerr(k, "memo index %llu was never stored",
		    (unsigned long long)idx);
	push(k, k->memo[idx]);
	return 0;
}

static int
streq(const struct val *v, const char *s)
{
	return v->type == V_STR && v->len == strlen(s) &&
	    memcmp(v->s, s, v->len) == 0;
}

static int
global(struct pk *k, const char *mod, size_t ml, const char *name, size_t nl)
{
	struct val *v = newval(k, V_GLOBAL);
	size_t i;

#define IS(a, l, s)	((l) == strlen(s) && memcmp((a), (s), (l)) == 0)
	if (IS(mod, ml, "collections") && IS(name, nl, "OrderedDict"))
		v->i = G_ODICT;
	else if (IS(mod, ml, "torch._utils") &&
	    IS(name, nl, "_rebuild_tensor_v2"))
		v->i = G_TENSOR;
	else if (IS(mod, ml, "torch._utils") &&
	    (IS(name, nl, "_rebuild_parameter") ||
	    IS(name, nl, "_rebuild_parameter_with_state")))
		v->i = G_PARAM;
	else if (IS(mod, ml, "torch")) {
		for (i = 0; i < sizeof(sttypes) / sizeof(sttypes[0]); i++)
			if (IS(name, nl, sttypes[i].cls))
				break;
		if (i == sizeof(sttypes) / sizeof(sttypes[0]))
			goto bad;
		v->i = G_STORAGE;
		v->st = &sttypes[i];
	} else
		goto bad;
#undef IS
	push(k, v);
	return 0;
bad:
	return pkerr(k, "global '%.*s.%.*s' is not one that torch.save "
	    "writes for a state dict (refused, never called)",
	    (int)(ml > 60 ? 60 : ml), mod, (int)(nl > 60 ? 60 : nl), name);
}

static int
getint(const struct val *v, int64_t *x)
{
	if (v->type != V_INT && v->type != V_BOOL)
		return -1;
	*x = v->i;
	return 0;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[,
 * metadata]) */
static struct val *
rebuild_tensor(struct pk *k, struct val *args)
{
	struct val *t, *sz, *st;
	int64_t off;
	size_t i;

	if (args->n != 6 && args->n != 7) {
		pkerr(k, "_rebuild_tensor_v2 with %zu arguments", args->n);
		return NULL;
	}
	if (args->a[0]->type != V_STORAGE) {
		pkerr(k, "_rebuild_tensor_v2: first argument is not a "
		    "storage");
		return NULL;
	}
	sz = args->a[2];
	st = args->a[3];
	if (getint(args->a[1], &off) == -1 || off < 0 ||
	    sz->type != V_TUPLE || st->type != V_TUPLE || sz->n != st->n) {
		pkerr(k, "_rebuild_tensor_v2: bad offset, size or stride");
		return NULL;
	}
	if (sz->n > TENSOR_MAXDIM) {
		pkerr(k, "_rebuild_tensor_v2: %zu dimensions (at most %d)",
		    sz->n, TENSOR_MAXDIM);
		return NULL;
	}
	t = newval(k, V_TENSOR);
	t->stor = args->a[0];
	t->off = (uint64_t)off;
	t->ndim = (int)sz->n;
	for (i = 0; i < sz->n; i++)
		if (getint(sz->a[i], &t->shape[i]) == -1 || t->shape[i] < 0 ||
		    getint(st->a[i], &t->stride[i]) == -1 ||
		    t->stride[i] < 0) {
			pkerr(k, "_rebuild_tensor_v2: size or stride %zu is "
			    "not a non-negative integer", i);
			return NULL;
		}
	return t;
}

static int
reduce(struct pk *k)
{
	struct val *args, *f, *v = NULL;

	if ((args = pop(k)) == NULL || (f = pop(k)) == NULL)
		return -1;
	if (f->type != V_GLOBAL)
		return pkerr(k, "REDUCE of something that is not a global");
	if (args->type != V_TUPLE)
		return pkerr(k, "REDUCE arguments are not a tuple");
	switch (f->i) {
	case G_ODICT:
		if (args->n != 0)
			return pkerr(k, "OrderedDict with arguments");
		v = newval(k, V_DICT);
		break;
	case G_TENSOR:
		if ((v = rebuild_tensor(k, args)) == NULL)
			return -1;
		break;
	case G_PARAM:
		if (args->n < 3 || args->n > 4 || args->a[0]->type != V_TENSOR)
			return pkerr(k, "_rebuild_parameter: bad arguments");
		v = args->a[0];
		break;
	default:
		return pkerr(k, "REDUCE of storage class torch.%s",
		    f->st->cls);
	}
	push(k, v);
	return 0;
}

/* BINPERSID: ('storage', storage class, key, location, numel) */
static int
persid(struct pk *k)
{
	struct val *t, *v;
	int64_t numel;

	if ((t = pop(k)) == NULL)
		return -1;
	if (t->type != V_TUPLE || t->n != 5 || !streq(t->a[0], "storage") ||
	    t->a[1]->type != V_GLOBAL || t->a[1]->i != G_STORAGE ||
	    t->a[2]->type != V_STR || getint(t->a[4], &numel) == -1 ||
	    numel < 0 || memchr(t->a[2]->s, '\0', t->a[2]->len) != NULL)
		return pkerr(k, "persistent id is not ('storage', storage "
		    "class, key, location, numel)");
	v = newval(k, V_STORAGE);
	v->st = t->a[1]->st;
	v->s = t->a[2]->s;
	v->len = t->a[2]->len;
	v->numel = (uint64_t)numel;
	push(k, v);
	return 0;
}

static int
opname(int op, const char **name)
{
	size_t i;

	for (i = 0; i < sizeof(opnames) / sizeof(opnames[0]); i++)
		if (opnames[i].op == op) {
			*name = opnames[i].name;
			return 0;
		}
	return -1;
}

/* Run the pickle up to STOP; *res is the value it returns. */
static int
unpickle(struct pk *k, struct val **res)
{
	struct val *v, *w, *x;
	size_t from = 0, i, n;
	uint64_t u;
	int op;

	for (;;) {
		k->at = k->pos;
		if (k->pos >= k->len)
			return pkerr(k, "truncated pickle (no STOP)");
		op = k->p[k->pos++];
		switch (op) {
		case 0x80:		/* PROTO */
			if (need(k, 1) == -1)
				return -1;
			if (k->p[k->pos] > 5)
				return pkerr(k, "pickle protocol %d",
				    k->p[k->pos]);
			k->pos++;
			break;
		case 0x95:		/* FRAME: a length we don't need */
			if (need(k, 8) == -1)
				return -1;
			k->pos += 8;
			break;
		case '}':		/* EMPTY_DICT */
			push(k, newval(k, V_DICT));
			break;
		case ']':		/* EMPTY_LIST */
			push(k, newval(k, V_LIST));
			break;
		case ')':		/* EMPTY_TUPLE */
			push(k, newval(k, V_TUPLE));
			break;
		case '(':		/* MARK */
			if (k->nmark == k->mcap) {
				k->mcap = k->mcap ? 2 * k->mcap : 16;
				k->marks = xreallocarray(k->marks, k->mcap,
				    sizeof(*k->marks));
			}
			k->marks[k->nmark++] = k->sp;
			break;
		case 't':		/* TUPLE */
			if (popmark(k, &from) == -1)
				return -1;
			v = newval(k, V_TUPLE);
			for (i = from; i < k->sp; i++)
				vadd(v, k->stack[i]);
			k->sp = from;
			push(k, v);
			break;
		case 0x85:		/* TUPLE1 */
		case 0x86:		/* TUPLE2 */
		case 0x87:		/* TUPLE3 */
			n = (size_t)(op - 0x84);
			v = newval(k, V_TUPLE);
			v->a = xcalloc(n, sizeof(*v->a));
			v->n = v->cap = n;
			for (i = n; i-- > 0; )
				if ((v->a[i] = pop(k)) == NULL)
					return -1;
			push(k, v);
			break;
		case 'X':		/* BINUNICODE */
		case 0x8c:		/* SHORT_BINUNICODE */
		case 0x8d:		/* BINUNICODE8 */
			n = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
			if (need(k, n) == -1)
				return -1;
			u = n == 4 ? rd32(k->p + k->pos) : n == 1 ?
			    k->p[k->pos] : rd64(k->p + k->pos);
			k->pos += n;
			if (u > k->len - k->pos)
				return pkerr(k, "string of %llu bytes runs "
				    "past the pickle",
				    (unsigned long long)u);
			v = newval(k, V_STR);
			v->s = (const char *)k->p + k->pos;
			v->len = (size_t)u;
			k->pos += (size_t)u;
			push(k, v);
			break;
		case 'J':		/* BININT */
			if (need(k, 4) == -1)
				return -1;
			v = newval(k, V_INT);
			v->i = (int32_t)rd32(k->p + k->pos);
			k->pos += 4;
			push(k, v);
			break;
		case 'K':		/* BININT1 */
			if (need(k, 1) == -1)
				return -1;
			v = newval(k, V_INT);
			v->i = k->p[k->pos++];
			push(k, v);
			break;
		case 'M':		/* BININT2 */
			if (need(k, 2) == -1)
				return -1;
			v = newval(k, V_INT);
			v->i = rd16(k->p + k->pos);
			k->pos += 2;
			push(k, v);
			break;
		case 0x8a:		/* LONG1: n bytes, two's complement */
			if (need(k, 1) == -1)
				return -1;
			n = k->p[k->pos++];
			if (n > 8)
				return pkerr(k, "integer of %zu bytes is too "
				    "large", n);
			if (need(k, n) == -1)
				return -1;
			u = 0;
			for (i = 0; i < n; i++)
				u |= (uint64_t)k->p[k->pos + i] << (8 * i);
			if (n > 0 && n < 8 && (k->p[k->pos + n - 1] & 0x80))
				u |= ~(uint64_t)0 << (8 * n);
			k->pos += n;
			v = newval(k, V_INT);
			v->i = (int64_t)u;
			push(k, v);
			break;
		case 0x88:		/* NEWTRUE */
		case 0x89:		/* NEWFALSE */
			v = newval(k, V_BOOL);
			v->i = op == 0x88;
			push(k, v);
			break;
		case 'N':		/* NONE */
			push(k, newval(k, V_NONE));
			break;
		case 'q':		/* BINPUT */
			if (need(k, 1) == -1)
				return -1;
			if (memoput(k, k->p[k->pos++]) == -1)
				return -1;
			break;
		case 'r':		/* LONG_BINPUT */
			if (need(k, 4) == -1)
				return -1;
			u = rd32(k->p + k->pos);
			k->pos += 4;
			if (memoput(k, u) == -1)
				return -1;
			break;
		case 0x94:		/* MEMOIZE */
			if (memoput(k, k->nmemo) == -1)
				return -1;
			break;
		case 'h':		/* BINGET */
			if (need(k, 1) == -1)
				return -1;
			if (memoget(k, k->p[k->pos++]) == -1)
				return -1;
			break;
		case 'j':		/* LONG_BINGET */
			if (need(k, 4) == -1)
				return -1;
			u = rd32(k->p + k->pos);
			k->pos += 4;
			if (memoget(k, u) == -1)
				return -1;
			break;
		case 'c': {		/* GLOBAL: module\nname\n */
			const char *s = (const char *)k->p + k->pos, *e1, *e2;
			size_t left = k->len - k->pos;

			if ((e1 = memchr(s, '\n', left)) == NULL ||
			    (e2 = memchr(e1 + 1, '\n',
			    left - (size_t)(e1 + 1 - s))) == NULL)
				return pkerr(k, "truncated GLOBAL");
			if (global(k, s, (size_t)(e1 - s), e1 + 1,
			    (size_t)(e2 - e1 - 1)) == -1)
				return -1;
			k->pos += (size_t)(e2 + 1 - s);
			break;
		}
		case 0x93:		/* STACK_GLOBAL */
			if ((w = pop(k)) == NULL || (v = pop(k)) == NULL)
				return -1;
			if (v->type != V_STR || w->type != V_STR)
				return pkerr(k, "STACK_GLOBAL of non-strings");
			if (global(k, v->s, v->len, w->s, w->len) == -1)
				return -1;
			break;
		case 'R':		/* REDUCE */
			if (reduce(k) == -1)
				return -1;
			break;
		case 'b':		/* BUILD: state of a dict is dropped */
			if ((w = pop(k)) == NULL || (v = top(k)) == NULL)
				return -1;
			if (v->type != V_DICT && v->type != V_TENSOR)
				return pkerr(k, "BUILD of something that is "
				    "not a dict or tensor");
			break;
		case 's':		/* SETITEM */
			if ((x = pop(k)) == NULL || (w = pop(k)) == NULL ||
			    (v = top(k)) == NULL)
				return -1;
			if (v->type != V_DICT)
				return pkerr(k, "SETITEM on a non-dict");
			vadd(v, w);
			vadd(v, x);
			break;
		case 'u':		/* SETITEMS */
			if (popmark(k, &from) == -1)
				return -1;
			if ((k->sp - from) % 2 != 0)
				return pkerr(k, "SETITEMS with an odd number "
				    "of values");
			n = k->sp;
			k->sp = from;
			if ((v = top(k)) == NULL)
				return -1;
			if (v->type != V_DICT)
				return pkerr(k, "SETITEMS on a non-dict");
			for (i = from; i < n; i++)
				vadd(v, k->stack[i]);
			break;
		case 'a':		/* APPEND */
			if ((w = pop(k)) == NULL || (v = top(k)) == NULL)
				return -1;
			if (v->type != V_LIST)
				return pkerr(k, "APPEND to a non-list");
			vadd(v, w);
			break;
		case 'e':		/* APPENDS */
			if (popmark(k, &from) == -1)
				return -1;
			n = k->sp;
			k->sp = from;
			if ((v = top(k)) == NULL)
				return -1;
			if (v->type != V_LIST)
				return pkerr(k, "APPENDS to a non-list");
			for (i = from; i < n; i++)
				vadd(v, k->stack[i]);
			break;
		case 'Q':		/* BINPERSID */
			if (persid(k) == -1)
				return -1;
			break;
		case '.':		/* STOP */
			if ((*res = pop(k)) == NULL)
				return -1;
			return 0;
		default: {
			const char *name;

			if (opname(op, &name) == 0)
				return pkerr(k, "opcode %s (0x%02x) is not in "
				    "the subset torch.save writes for a "
				    "state dict", name, op);
			return pkerr(k, "unknown opcode 0x%02x", op);
		}
		}
	}
}

static void
pk_release(struct pk *k)
{
	size_t i;

	for (i = 0; i < k->nall; i++) {
		free(k->all[i]->a);
		free(k->all[i]);
	}
	free(k->all);
	free(k->stack);
	free(k->marks);
	free(k->memo);
}

/* ---- tensors ---- */

/*
 * tf->priv: the skipped values, in one block that free(3) releases, names
 * packed after the array.
 */
struct ptpriv {
	size_t		 nskip;
	struct ptskip	 skip[];
};

struct skiplist {
	struct ptskip	*s;
	size_t		 n, cap;
};

static int
namecmp(const void *a, const void *b)
{
	const struct tfentry *x = *(const struct tfentry *const *)a;
	const struct tfentry *y = *(const struct tfentry *const *)b;

	return strcmp(x->name, y->name);
}

/*
 * Point entry e at tensor t inside its storage's zip entry, after checking
 * that it is contiguous and fits.
 */
static int
place(struct tfentry *e, const struct val *t, const struct zip *z,
    const char *pfx, const char *path, char *err, size_t errlen)
{
	const struct val *s = t->stor;
	const struct zent *ze;
	const unsigned char *d;
	char *zname;
	size_t es = s->st->size, n = 1, need;
	uint64_t want = 1;
	int i;

	for (i = 0; i < t->ndim; i++) {
		if (__builtin_mul_overflow(n, (size_t)t->shape[i], &n)) {
			seterr(err, errlen, "%s: tensor '%s': shape overflows",
			    path, e->name);
			return -1;
		}
		e->shape[i] = (size_t)t->shape[i];
	}
	e->ndim = t->ndim;
	e->n = n;
	e->dtype = s->st->dtype;
	/* Contiguous: row-major strides; a dimension of size 1 may say any. */
	if (n > 0)
		for (i = t->ndim - 1; i >= 0; i--) {
			if (t->shape[i] != 1 &&
			    (uint64_t)t->stride[i] != want) {
				seterr(err, errlen, "%s: tensor '%s' is not "
				    "contiguous (stride %lld in dimension %d, "
				    "expected %llu); save .contiguous() "
				    "tensors", path, e->name,
				    (long long)t->stride[i], i,
				    (unsigned long long)want);
				return -1;
			}
			want *= (uint64_t)t->shape[i];
		}
	zname = xmalloc(strlen(pfx) + 5 + s->len + 1);
	sprintf(zname, "%sdata/%.*s", pfx, (int)s->len, s->s);
	ze = zip_find(z, zname);
	free(zname);
	if (ze == NULL) {
		seterr(err, errlen, "%s: tensor '%s': storage '%.*s' is not "
		    "in the archive", path, e->name, (int)(s->len > 64 ? 64 :
		    s->len), s->s);
		return -1;
	}
	if (zip_data(z, ze, &d, path, err, errlen) == -1)
		return -1;
	if (s->numel > ze->size / es) {
		seterr(err, errlen, "%s: tensor '%s': storage '%.*s' has %llu "
		    "bytes, less than its %llu elements of %s", path, e->name,
		    (int)s->len, s->s, (unsigned long long)ze->size,
		    (unsigned long long)s->numel, s->st->dtname);
		return -1;
	}
	/* offset + n elements within the storage's numel */
	if (t->off > s->numel || n > s->numel - t->off) {
		seterr(err, errlen, "%s: tensor '%s': %zu elements at offset "
		    "%llu do not fit in storage '%.*s' of %llu elements", path,
		    e->name, n, (unsigned long long)t->off, (int)s->len, s->s,
		    (unsigned long long)s->numel);
		return -1;
	}
	need = (size_t)t->off * es;
	e->data = d + need;
	return 0;
}

static void
addskip(struct skiplist *sl, const char *name, size_t len, const char *why)
{
	if (sl->n == sl->cap) {
		sl->cap = sl->cap ? 2 * sl->cap : 8;
		sl->s = xreallocarray(sl->s, sl->cap, sizeof(*sl->s));
	}
	sl->s[sl->n].name = xstrndup(name, len);
	sl->s[sl->n].why = why;
	sl->n++;
}

static struct ptpriv *
packskip(struct skiplist *sl)
{
	struct ptpriv *pv;
	size_t i, sz = sizeof(*pv) + sl->n * sizeof(pv->skip[0]);
	char *q;

	for (i = 0; i < sl->n; i++)
		sz += strlen(sl->s[i].name) + 1;
	pv = xmalloc(sz);
	pv->nskip = sl->n;
	q = (char *)&pv->skip[sl->n];
	for (i = 0; i < sl->n; i++) {
		size_t l = strlen(sl->s[i].name) + 1;

		memcpy(q, sl->s[i].name, l);
		pv->skip[i].name = q;
		pv->skip[i].why = sl->s[i].why;
		q += l;
		free((char *)sl->s[i].name);
	}
	free(sl->s);
	return pv;
}

static int
collect(struct tfile *tf, const struct val *d, const struct zip *z,
    const char *pfx, const char *path, char *err, size_t errlen)
{
	struct skiplist sl = { NULL, 0, 0 };
	struct tfentry **sorted;
	size_t i;
	int rc = 0;

	tf->e = xcalloc(d->n / 2 + 1, sizeof(*tf->e));
	for (i = 0; i + 1 < d->n; i += 2) {
		const struct val *k = d->a[i], *t = d->a[i + 1];
		struct tfentry *e;

		if (k->type != V_STR) {
			seterr(err, errlen, "%s: a key of the state dict is "
			    "not a string", path);
			rc = -1;
			break;
		}
		if (memchr(k->s, '\0', k->len) != NULL) {
			seterr(err, errlen, "%s: a tensor name contains a "
			    "NUL byte", path);
			rc = -1;
			break;
		}
		if (t->type != V_TENSOR) {
			addskip(&sl, k->s, k->len, "not a tensor");
			continue;
		}
		if (t->stor->st->dtype == -1) {
			addskip(&sl, k->s, k->len, t->stor->st->dtname);
			continue;
		}
		e = &tf->e[tf->n++];
		e->name = xstrndup(k->s, k->len);
		if (place(e, t, z, pfx, path, err, errlen) == -1) {
			rc = -1;
			break;
		}
	}
	tf->priv = packskip(&sl);
	if (rc == -1)
		return -1;
	/* Duplicate names would make tfile_find ambiguous. */
	sorted = xreallocarray(NULL, tf->n ? tf->n : 1, sizeof(*sorted));
	for (i = 0; i < tf->n; i++)
		sorted[i] = &tf->e[i];
	qsort(sorted, tf->n, sizeof(*sorted), namecmp);
	for (i = 1; i < tf->n; i++)
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			seterr(err, errlen, "%s: tensor '%s' appears twice",
			    path, sorted[i]->name);
			rc = -1;
			break;
		}
	free(sorted);
	return rc;
}

/* ---- opening ---- */

/* The "<name>/" that every entry of a torch.save archive starts with. */
static const struct zent *
find_pickle(const struct zip *z, char **pfx)
{
	size_t i, pl;

	for (i = 0; i < z->n; i++) {
		const struct zent *e = &z->e[i];

		if (e->namelen < 8 || memcmp(e->name + e->namelen - 8,
		    "data.pkl", 8) != 0)
			continue;
		pl = e->namelen - 8;
		if (pl == 0 || (e->name[pl - 1] == '/' &&
		    memchr(e->name, '/', pl - 1) == NULL &&
		    memchr(e->name, '\0', pl) == NULL)) {
			*pfx = xstrndup(e->name, pl);
			return e;
		}
	}
	return NULL;
}

static int
load(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	const unsigned char *m = tf->map, *d;
	const struct zent *pe, *bo;
	struct zip z = { m, tf->maplen, NULL, 0 };
	struct pk k;
	struct val *res = NULL;
	char *pfx = NULL, *boname;
	int rc = -1;

	/* The legacy format is a pickle of a magic number, then more. */
	if (tf->maplen >= 4 && m[0] == 0x80 && m[1] == 0x02 &&
	    m[2] == 0x8a && m[3] == 0x0a) {
		seterr(err, errlen, "%s: legacy PyTorch format (torch.save "
		    "before 1.6, not a zip archive); convert it with "
		    "torch>=1.6, torch.save(torch.load(f), f), or save it as "
		    "model.safetensors", path);
		return -1;
	}
	if (tf->maplen >= 262 && memcmp(m + 257, "ustar", 5) == 0) {
		seterr(err, errlen, "%s: legacy PyTorch tar format; convert "
		    "it with torch>=1.6, torch.save(torch.load(f), f), or "
		    "save it as model.safetensors", path);
		return -1;
	}
	if (tf->maplen < 4 || rd32(m) != 0x04034b50) {
		seterr(err, errlen, "%s: not a zip archive, so not a "
		    "pytorch_model.bin written by torch.save", path);
		return -1;
	}
	if (zip_read(&z, path, err, errlen) == -1)
		goto out;
	if ((pe = find_pickle(&z, &pfx)) == NULL) {
		seterr(err, errlen, "%s: no data.pkl in the archive: not "
		    "written by torch.save", path);
		goto out;
	}
	if (zip_data(&z, pe, &d, path, err, errlen) == -1)
		goto out;
	if (pe->size <= UINT32_MAX &&
	    crc32(crc32(0, NULL, 0), d, (uInt)pe->size) != pe->crc) {
		seterr(err, errlen, "%s: data.pkl fails its CRC check", path);
		goto out;
	}
	boname = xmalloc(strlen(pfx) + sizeof("byteorder"));
	sprintf(boname, "%sbyteorder", pfx);
	bo = zip_find(&z, boname);
	free(boname);
	if (bo != NULL) {
		const unsigned char *b;

		if (zip_data(&z, bo, &b, path, err, errlen) == -1)
			goto out;
		if (bo->size != 6 || memcmp(b, "little", 6) != 0) {
			seterr(err, errlen, "%s: storages are not "
			    "little-endian (byteorder '%.*s')", path,
			    (int)(bo->size > 16 ? 16 : bo->size), b);
			goto out;
		}
	}
	memset(&k, 0, sizeof(k));
	k.p = d;
	k.len = (size_t)pe->size;
	k.path = path;
	k.err = err;
	k.errlen = errlen;
	if (unpickle(&k, &res) == 0) {
		if (res->type != V_DICT)
			seterr(err, errlen, "%s: data.pkl holds no dict of "
			    "tensors (a state dict)", path);
		else
			rc = collect(tf, res, &z, pfx, path, err, errlen);
	}
	pk_release(&k);
out:
	free(z.e);
	free(pfx);
	return rc;
}

int
ptbin_open(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	void *map;
	int fd;

	memset(tf, 0, sizeof(*tf));
	if ((fd = open(path, O_RDONLY)) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (sb.st_size == 0) {
		seterr(err, errlen, "%s: empty file", path);
		close(fd);
		return -1;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		seterr(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return -1;
	}
	tf->path = xstrdup(path);
	tf->map = map;
	tf->maplen = (size_t)sb.st_size;
	if (load(tf, path, err, errlen) == -1) {
		tfile_release(tf);
		return -1;
	}
	return 0;
}

size_t
ptbin_skipped(const struct tfile *tf, const struct ptskip **skip)
{
	const struct ptpriv *pv = tf->priv;

	*skip = NULL;
	if (pv == NULL)
		return 0;
	*skip = pv->skip;
	return pv->nskip;
}
