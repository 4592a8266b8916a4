/*
 * tensorfile.c -- the files of a checkpoint's tensors (tensorfile.h): the
 * safetensors reader and writer, pytorch_model.bin's three formats, and
 * sharded checkpoints.
 *
 * safetensors: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data; offsets are relative to the end of the header.  The file
 * is memory-mapped and its tensors point into the map.
 *
 * pytorch_model.bin, in the three formats torch.save has written:
 *
 * zip (PyTorch 1.6 and later): <name>/data.pkl, a pickle of the state dict,
 * and one stored (uncompressed) entry <name>/data/<key> per storage.
 *
 * legacy (before 1.6, and _use_new_zipfile_serialization=False since): five
 * pickles back to back -- the magic number 0x1950a86a20f9469cfc6c, the
 * protocol version 1001, the system info {little_endian, type_sizes}, the
 * state dict, the sorted list of storage keys -- then, for each key in that
 * order, the storage's element count (8 bytes, little-endian) and its data.
 *
 * tar (the first releases): members 'sys_info' (a pickle), 'storages' (a
 * count, then per storage a pickle (key, location, storage class), its
 * element count and data; then a pickle of the views of storages),
 * 'tensors' (a count, then per tensor a pickle (key, storage key, tensor
 * class) and its ndim, sizes, strides and offset as raw integers) and
 * 'pickle', the state dict, whose persistent ids are tensor keys.
 *
 * The pickles are read by a small interpreter that knows only the opcodes
 * torch.save emits for a dict of tensors.  It builds plain values and never
 * calls anything: the few globals it accepts (OrderedDict, the tensor and
 * parameter rebuild functions, the storage and tensor classes) are
 * recognised by name and interpreted here; any other global or opcode is an
 * error that names it.  Its memory is bounded by the size of the file: a
 * few bytes of pickle cannot ask for gigabytes.
 *
 * A tensor is (storage, offset, shape, stride).  Contiguous tensors point
 * straight into the mmap'd file, several of them into one storage when the
 * state dict shares storages (tied weights, slices of a fused tensor).
 * Strided views (a transposed weight) are copied out, contiguous, into one
 * block, tf->buf.  Tensors whose storage is not float32, float16 or
 * bfloat16 (int64 position_ids buffers, for instance) are left out of the
 * entries and listed by ptbin_skipped().
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "tensorfile.h"
#include "util.h"

/* ---- JSON ---- */

static int
keycmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys of an object are sorted: a header of n tensors costs n log n. */
const char *
tfile_dupkey(const cJSON *j, int deep)
{
	const cJSON *x;
	const char *d = NULL, **k;
	int n = 0, i;

	for (x = j->child; x != NULL; x = x->next, n++)
		if (deep && (cJSON_IsObject(x) || cJSON_IsArray(x)) &&
		    (d = tfile_dupkey(x, 1)) != NULL)
			return d;
	if (!cJSON_IsObject(j) || n < 2)
		return NULL;
	k = xcalloc(n, sizeof(*k));
	for (x = j->child, i = 0; x != NULL; x = x->next)
		k[i++] = x->string != NULL ? x->string : "";
	qsort(k, n, sizeof(*k), keycmp);
	for (i = 1; i < n && d == NULL; i++)
		if (strcmp(k[i - 1], k[i]) == 0)
			d = k[i];
	free(k);
	return d;
}

/* ---- safetensors ---- */

/*
 * The one way a tensor file is opened.  stat first: a FIFO would block
 * open(2) and a directory would fail at mmap with "No such device".  The
 * open is non-blocking too, in case the name changed in between.
 */
int
tfile_map(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(tf, 0, sizeof(*tf));
	tf->path = xstrdup(path);
	if (stat(path, &st) == -1)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errf(err, errlen, "%s: not a regular file", path);
	if ((fd = open(path, O_RDONLY | O_NONBLOCK)) == -1)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errf(err, errlen, "%s: not a regular file", path);
	}
	tf->maplen = st.st_size;
	if (tf->maplen > 0) {
		tf->map = mmap(NULL, tf->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
		if (tf->map == MAP_FAILED) {
			tf->map = NULL;
			close(fd);
			return errf(err, errlen, "%s: mmap: %s", path,
			    strerror(errno));
		}
	}
	close(fd);
	return 0;
}

/*
 * The header's numbers are sizes and offsets: whole, not negative, written
 * as digits alone (the Rust reader's usize; 1e3 and 12.0 are not), and at
 * most 2^53, past which a double (cJSON's number) no longer holds every
 * integer.  s[0..n) is the header, already parsed as JSON; the entry
 * "__metadata__" is free text.  Returns 0, or -1 with err naming the tensor.
 */
static int
numbers(const char *s, size_t n, const char *path, char *err, size_t errlen)
{
	const char *key = "", *str = NULL;
	size_t i = 0, k, keylen = 0, strlen_ = 0;
	int depth = 0;

	while (i < n) {
		char c = s[i];

		if (c == '"') {
			str = s + ++i;
			for (; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			strlen_ = s + i - str;
			i++;
			continue;
		}
		if (c == ':' && depth == 1 && str != NULL) {
			key = str;
			keylen = strlen_;
		} else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		if (c != '-' && (c < '0' || c > '9')) {
			i++;
			continue;
		}
		for (k = i; k < n && strchr("0123456789+-.eE", s[k]) != NULL;
		    k++)
			;
		if (!(keylen == 12 && memcmp(key, "__metadata__", 12) == 0)) {
			int ok = k - i <= 16;
			for (size_t m = i; m < k && ok; m++)
				ok = s[m] >= '0' && s[m] <= '9';
			if (ok && strtod(s + i, NULL) > 9007199254740992.0)
				ok = 0;
			if (!ok)
				return errf(err, errlen, "%s: tensor '%.*s' "
				    "has %.*s, not a whole number from 0 to "
				    "2^53",
				    path, (int)(keylen > 200 ? 200 : keylen),
				    key, (int)(k - i > 40 ? 40 : k - i), s + i);
		}
		i = k;
	}
	return 0;
}

/* A data offset of the header, or UINT64_MAX when it is not one. */
static uint64_t
offset(const cJSON *x)
{
	return cJSON_IsNumber(x) && x->valuedouble >= 0 &&
	    x->valuedouble <= 9007199254740992.0 &&
	    x->valuedouble == floor(x->valuedouble) ?
	    (uint64_t)x->valuedouble : UINT64_MAX;
}

/* A tensor's bytes in the file, for the overlap check. */
struct range {
	const unsigned char	*b, *e;
	size_t			 i;
};

static int
rangecmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->b < y->b ? -1 : x->b > y->b;
}

int
safetensors_open(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	const unsigned char *p;
	const char *end, *d;
	uint64_t hlen = 0;
	cJSON *j = NULL, *e;
	struct range *r;
	size_t k = 0, nr = 0, far = 0;

	if (tfile_map(tf, path, err, errlen) == -1)
		goto bad;
	p = tf->map;
	if (tf->maplen < 8) {
		errf(err, errlen, "%s: %zu bytes, too short for a "
		    "safetensors header", path, tf->maplen);
		goto bad;
	}
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | p[i];
	if (hlen > tf->maplen - 8) {
		errf(err, errlen, "%s: header length %llu is past the end of "
		    "the file (%zu bytes)", path, (unsigned long long)hlen,
		    tf->maplen);
		goto bad;
	}
	j = cJSON_ParseWithLengthOpts((const char *)p + 8, hlen, &end, 0);
	if (j == NULL || !cJSON_IsObject(j)) {
		errf(err, errlen, "%s: the header is not a JSON object",
		    path);
		goto bad;
	}
	/* the writers pad the header with spaces; anything else is not ours */
	for (const char *q = end; q < (const char *)p + 8 + hlen; q++)
		if (*q != ' ') {
			errf(err, errlen, "%s: %zu bytes after the header's "
			    "JSON, at byte %zu, are not spaces", path,
			    (size_t)((const char *)p + 8 + hlen - q),
			    (size_t)(q - (const char *)p));
			goto bad;
		}
	if (numbers((const char *)p + 8, end - (const char *)p - 8, path, err,
	    errlen) == -1)
		goto bad;
	/* a tensor twice: cJSON keeps both, and which one is loaded? */
	if ((d = tfile_dupkey(j, 0)) != NULL) {
		errf(err, errlen, "%s: tensor '%s' is in the header twice",
		    path, d);
		goto bad;
	}
	tf->e = xcalloc(cJSON_GetArraySize(j) + 1, sizeof(*tf->e));
	cJSON_ArrayForEach(e, j) {
		struct tfentry *te = &tf->e[k];
		cJSON *dt, *sh, *off, *x;
		uint64_t b, en, n = 1, es;

		if (strcmp(e->string, "__metadata__") == 0)
			continue;
		if ((d = tfile_dupkey(e, 1)) != NULL) {
			errf(err, errlen, "%s: tensor '%s': key '%s' is "
			    "there twice", path, e->string, d);
			goto bad;
		}
		dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
		sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
		off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
		if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) ||
		    !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2) {
			errf(err, errlen, "%s: tensor '%s': header entry "
			    "lacks dtype, shape or data_offsets", path,
			    e->string);
			goto bad;
		}
		if (strcmp(dt->valuestring, "F32") == 0)
			te->dtype = DT_F32;
		else if (strcmp(dt->valuestring, "F16") == 0)
			te->dtype = DT_F16;
		else if (strcmp(dt->valuestring, "BF16") == 0)
			te->dtype = DT_BF16;
		else
			te->dtype = -1;	/* another dtype: kept, never loaded */
		es = te->dtype == -1 ? 0 : tensor_dtsize(te->dtype);
		if (cJSON_GetArraySize(sh) > TENSOR_MAXDIM) {
			errf(err, errlen, "%s: tensor '%s' has %d dimensions",
			    path, e->string, cJSON_GetArraySize(sh));
			goto bad;
		}
		te->ndim = 0;
		cJSON_ArrayForEach(x, sh) {
			if (!cJSON_IsNumber(x) || x->valuedouble < 0 ||
			    x->valuedouble > 1e12 ||
			    x->valuedouble != floor(x->valuedouble)) {
				errf(err, errlen, "%s: tensor '%s' has a bad "
				    "shape", path, e->string);
				goto bad;
			}
			te->shape[te->ndim++] = (size_t)x->valuedouble;
			/* before the product: [2^39, 2^25] wrapped to 0 */
			if (x->valuedouble > 0 && n > ((uint64_t)1 << 40) /
			    (uint64_t)x->valuedouble) {
				errf(err, errlen, "%s: tensor '%s' is too "
				    "large", path, e->string);
				goto bad;
			}
			n *= (uint64_t)x->valuedouble;
		}
		b = offset(cJSON_GetArrayItem(off, 0));
		en = offset(cJSON_GetArrayItem(off, 1));
		if (b > en || en > tf->maplen - 8 - hlen) {
			errf(err, errlen, "%s: tensor '%s' has data_offsets "
			    "outside the data (%llu bytes)", path, e->string,
			    (unsigned long long)(tf->maplen - 8 - hlen));
			goto bad;
		}
		if (es != 0 && en - b != n * es) {
			errf(err, errlen, "%s: tensor '%s': %llu bytes of "
			    "data for %llu elements of %s", path, e->string,
			    (unsigned long long)(en - b),
			    (unsigned long long)n, dt->valuestring);
			goto bad;
		}
		te->name = xstrdup(e->string);
		te->n = n;
		te->data = p + 8 + hlen + b;
		k++;
		tf->n = k;
	}
	/*
	 * Tensors must not overlap: sorted by where they begin, each must
	 * begin at or after the furthest end before it (n log n, every one).
	 */
	r = xcalloc(k + 1, sizeof(*r));
	for (size_t a = 0; a < k; a++) {
		const struct tfentry *te = &tf->e[a];
		size_t len = te->dtype == -1 ? 0 : te->n *
		    tensor_dtsize(te->dtype);
		if (len == 0)
			continue;
		r[nr].b = te->data;
		r[nr].e = r[nr].b + len;
		r[nr++].i = a;
	}
	qsort(r, nr, sizeof(*r), rangecmp);
	for (size_t a = 1; a < nr; a++) {
		if (r[a].b < r[far].e) {
			errf(err, errlen, "%s: tensors '%s' and '%s' overlap",
			    path, tf->e[r[far].i].name, tf->e[r[a].i].name);
			free(r);
			goto bad;
		}
		if (r[a].e > r[far].e)
			far = a;
	}
	free(r);
	cJSON_Delete(j);
	return 0;
bad:
	cJSON_Delete(j);
	tfile_release(tf);
	return -1;
}

void
tfile_release(struct tfile *tf)
{
	for (size_t i = 0; i < tf->n; i++)
		free(tf->e[i].name);
	free(tf->e);
	if (tf->map != NULL)
		munmap(tf->map, tf->maplen);
	for (size_t i = 0; i < tf->nsub; i++)
		tfile_release(&tf->sub[i]);
	free(tf->sub);
	free(tf->buf);
	free(tf->path);
	free(tf->priv);
	memset(tf, 0, sizeof(*tf));
}

const struct tfentry *
tfile_find(const struct tfile *tf, const char *name)
{
	for (size_t i = 0; i < tf->n; i++)
		if (strcmp(tf->e[i].name, name) == 0)
			return &tf->e[i];
	return NULL;
}

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

/* Byte strings in order: by their bytes, then the shorter first. */
static int
bytescmp(const void *a, size_t na, const void *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);

	return c != 0 ? c : (na > nb) - (na < nb);
}

static int
zentcmp(const void *a, const void *b)
{
	const struct zent *x = a, *y = b;

	return bytescmp(x->name, x->namelen, y->name, y->namelen);
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
		errf(err, errlen, "%s: not a zip archive (%zu bytes)", path,
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
		errf(err, errlen, "%s: truncated or not a zip archive "
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
			errf(err, errlen, "%s: zip64 end of central "
			    "directory locator is missing", path);
			return -1;
		}
		loc = eocd - 20;
		z64 = rd64(loc + 8);
		if (z64 > len || len - z64 < 56 ||
		    rd32(m + z64) != 0x06064b50) {
			errf(err, errlen, "%s: zip64 end of central "
			    "directory is outside the file or corrupt", path);
			return -1;
		}
		nent = rd64(m + z64 + 32);
		cdsize = rd64(m + z64 + 40);
		cdoff = rd64(m + z64 + 48);
	}
	if (cdoff > len || cdsize > len - cdoff) {
		errf(err, errlen, "%s: central directory (offset %llu, "
		    "%llu bytes) is outside the file (%zu bytes): truncated?",
		    path, (unsigned long long)cdoff,
		    (unsigned long long)cdsize, len);
		return -1;
	}
	if (nent > cdsize / 46) {
		errf(err, errlen, "%s: central directory is too small for "
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
			errf(err, errlen, "%s: central directory entry %zu "
			    "is corrupt", path, i);
			return -1;
		}
		nl = rd16(p + 28);
		xl = rd16(p + 30);
		cl = rd16(p + 32);
		if ((size_t)(end - p) - 46 < nl + xl + cl) {
			errf(err, errlen, "%s: central directory entry %zu "
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
		errf(err, errlen, "%s: entry '%.*s' is compressed (method "
		    "%d); torch.save stores entries uncompressed", path,
		    (int)e->namelen, e->name, e->method);
		return -1;
	}
	if (e->flags & 1) {
		errf(err, errlen, "%s: entry '%.*s' is encrypted", path,
		    (int)e->namelen, e->name);
		return -1;
	}
	if (e->csize != e->size) {
		errf(err, errlen, "%s: entry '%.*s' is stored but its sizes "
		    "differ", path, (int)e->namelen, e->name);
		return -1;
	}
	if (e->lho > z->len || z->len - e->lho < 30 ||
	    rd32(z->map + e->lho) != 0x04034b50) {
		errf(err, errlen, "%s: entry '%.*s': local header is "
		    "outside the file or corrupt: truncated?", path,
		    (int)e->namelen, e->name);
		return -1;
	}
	h = z->map + e->lho;
	off = e->lho + 30 + (uint64_t)rd16(h + 26) + rd16(h + 28);
	if (off > z->len || e->size > z->len - off) {
		errf(err, errlen, "%s: entry '%.*s' (%llu bytes at offset "
		    "%llu) runs past the end of the file (%zu bytes): "
		    "truncated?", path, (int)e->namelen, e->name,
		    (unsigned long long)e->size, (unsigned long long)off,
		    z->len);
		return -1;
	}
	*dp = z->map + off;
	return 0;
}

/* ---- the tar container ---- */

/* The members of a tar archive that torch.save wrote, by name. */
enum { M_SYSINFO, M_PICKLE, M_TENSORS, M_STORAGES, NMEMBER };
static const char *const mnames[NMEMBER] = { "sys_info", "pickle", "tensors",
    "storages" };

struct tmem {
	const unsigned char	*data;		/* NULL: absent */
	size_t			 size;
};

/* An octal number field, or GNU's base-256; -1 when it is neither. */
static int64_t
tarnum(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return -1;
			v = v << 8 | p[i];
		}
		return (p[0] & 0x7f) == 0 ? (int64_t)v : -1;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v << 3 | (uint64_t)(p[i] - '0');
	if (i < n && p[i] != ' ' && p[i] != '\0')
		return -1;
	return (int64_t)v;
}

/* The path and size a pax header sets for the next member. */
static void
paxhdr(const unsigned char *p, size_t n, const unsigned char **path,
    size_t *plen, int64_t *size)
{
	size_t at = 0;

	while (at < n) {
		size_t len = 0, i = at, k;

		while (i < n && p[i] >= '0' && p[i] <= '9' && len < n)
			len = len * 10 + (size_t)(p[i++] - '0');
		if (i >= n || p[i] != ' ' || len <= i - at || len > n - at)
			return;
		k = i + 1;	/* key=value\n ends at at + len */
		if (at + len - k > 5 && memcmp(p + k, "path=", 5) == 0) {
			*path = p + k + 5;
			*plen = at + len - 1 - (k + 5);
		} else if (at + len - k > 5 && memcmp(p + k, "size=", 5) == 0) {
			int64_t v = 0;

			for (i = k + 5; i < at + len - 1 && p[i] >= '0' &&
			    p[i] <= '9' && v < ((int64_t)1 << 56); i++)
				v = v * 10 + (p[i] - '0');
			*size = v;
		}
		at += len;
	}
}

static int
tar_read(const unsigned char *m, size_t len, struct tmem *mem,
    const char *path, char *err, size_t errlen)
{
	const unsigned char *pp = NULL;
	size_t pos = 0, plen = 0, i;
	int64_t psize = -1;

	memset(mem, 0, NMEMBER * sizeof(*mem));
	while (len - pos >= 512) {
		const unsigned char *h = m + pos;
		int64_t size, sum;
		unsigned s = 0;

		for (i = 0; i < 512 && h[i] == 0; i++)
			;
		if (i == 512)
			break;		/* the end-of-archive blocks */
		for (i = 0; i < 512; i++)
			s += i >= 148 && i < 156 ? ' ' : h[i];
		size = tarnum(h + 124, 12);
		sum = tarnum(h + 148, 8);
		if (sum != (int64_t)s || size < 0) {
			errf(err, errlen, "%s: tar header at offset %zu is "
			    "corrupt", path, pos);
			return -1;
		}
		if (psize >= 0)
			size = psize;
		if ((uint64_t)size > len - pos - 512) {
			errf(err, errlen, "%s: tar member at offset %zu "
			    "(%lld bytes) runs past the end of the file: "
			    "truncated?", path, pos, (long long)size);
			return -1;
		}
		if (h[156] == 'x') {
			paxhdr(h + 512, (size_t)size, &pp, &plen, &psize);
		} else if (h[156] == '0' || h[156] == '\0') {
			const unsigned char *nm = pp ? pp : h;
			size_t nl = pp ? plen : strnlen((const char *)h, 100);

			/* a name with a ustar prefix is not one of ours */
			if (pp == NULL && h[345] != '\0')
				nl = 0;
			for (i = 0; i < NMEMBER; i++)
				if (nl == strlen(mnames[i]) &&
				    memcmp(nm, mnames[i], nl) == 0) {
					mem[i].data = h + 512;
					mem[i].size = (size_t)size;
				}
			pp = NULL;
			psize = -1;
		} else if (h[156] != 'g') {
			pp = NULL;
			psize = -1;
		}
		pos += 512 + ((size_t)size + 511) / 512 * 512;
		if (pos > len)
			break;
	}
	for (i = 1; i < NMEMBER; i++)
		if (mem[i].data == NULL) {
			errf(err, errlen, "%s: tar archive without a '%s' "
			    "member: not written by torch.save", path,
			    mnames[i]);
			return -1;
		}
	return 0;
}

/* ---- the pickle subset ---- */

enum { V_NONE, V_BOOL, V_INT, V_BIG, V_STR, V_TUPLE, V_LIST, V_DICT,
    V_GLOBAL, V_STORAGE, V_TENSOR };

/* The globals the interpreter accepts, by kind. */
enum { G_ODICT, G_TENSOR, G_TENSOR1, G_PARAM, G_STORAGE, G_TTYPE };

static const struct sttype {
	const char	*cls;		/* torch.<cls>Storage, ...Tensor */
	const char	*dtname;	/* for messages */
	int		 dtype;		/* DT_* or -1: skipped */
	size_t		 size;
} sttypes[] = {
	{ "Float",		"float32",	DT_F32,	 4 },
	{ "Half",		"float16",	DT_F16,	 2 },
	{ "BFloat16",		"bfloat16",	DT_BF16, 2 },
	{ "Double",		"float64",	-1,	 8 },
	{ "Long",		"int64",	-1,	 8 },
	{ "Int",		"int32",	-1,	 4 },
	{ "Short",		"int16",	-1,	 2 },
	{ "Char",		"int8",		-1,	 1 },
	{ "Byte",		"uint8",	-1,	 1 },
	{ "Bool",		"bool",		-1,	 1 },
	{ "ComplexFloat",	"complex64",	-1,	 8 },
	{ "ComplexDouble",	"complex128",	-1,	 16 },
};

/* A storage: the bytes of numel elements, bound to the file before use. */
struct stor {
	const struct sttype	*st;
	const char		*key;
	size_t			 keylen;
	uint64_t		 numel;		/* as the pickle says */
	uint64_t		 voff;	/* a view's offset in its root */
	uint64_t		 vlen;	/* a view's elements */
	int			 isview;
	const unsigned char	*data;	/* numel elements, or NULL */
};

struct tens {
	struct val	*stor;
	uint64_t	 off;
	int		 ndim;
	int64_t		 shape[TENSOR_MAXDIM], stride[TENSOR_MAXDIM];
};

struct val {
	int		 type;
	int64_t		 i;		/* BOOL, INT; GLOBAL kind */
	const char	*s;		/* STR, BIG: bytes in the pickle */
	size_t		 len;
	struct val	**a;		/* TUPLE, LIST; DICT: keys, values */
	size_t		 n, cap;
	const struct sttype *st;	/* GLOBAL G_STORAGE, G_TTYPE */
	struct stor	*sto;		/* STORAGE */
	struct tens	*t;		/* TENSOR */
};

/* Values come from chunks, freed together. */
#define NCHUNK	256
struct chunk {
	struct chunk	*next;
	size_t		 n;
	struct val	 v[NCHUNK];
};

/* Key -> value tables of the tar format. */
struct kv {
	int64_t		 key;
	struct val	*v;
};

struct pk {
	const unsigned char	*p;
	size_t			 len, pos, at;	/* at: current opcode */
	size_t			 base;	/* p's offset, for messages */
	const char		*where;	/* "data.pkl offset", ... */
	struct val		**stack;
	size_t			 sp, scap;
	size_t			*marks;
	size_t			 nmark, mcap;
	struct val		**memo;
	size_t			 nmemo, memocap;
	struct chunk		*chunks;
	size_t			 mem;	/* bytes used */
	size_t			 budget; /* bytes allowed */
	struct val		 none, yes, no, empty;
	/* tar: persistent ids are keys of these */
	struct kv		*tensors, *stors;
	size_t			 ntensors, nstors;
	int			 tar;
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
	{ 'V', "UNICODE" }, { 'G', "BINFLOAT" }, { 'B', "BINBYTES" },
	{ 'C', "SHORT_BINBYTES" }, { 'P', "PERSID" }, { 'd', "DICT" },
	{ 'l', "LIST" }, { 'g', "GET" }, { 'p', "PUT" }, { 'i', "INST" },
	{ 'o', "OBJ" }, { 0x81, "NEWOBJ" }, { 0x82, "EXT1" },
	{ 0x83, "EXT2" }, { 0x84, "EXT4" }, { 0x8b, "LONG4" },
	{ 0x8e, "BINBYTES8" }, { 0x8f, "EMPTY_SET" }, { 0x90, "ADDITEMS" },
	{ 0x91, "FROZENSET" }, { 0x92, "NEWOBJ_EX" }, { 0x96, "BYTEARRAY8" },
	{ 0x97, "NEXT_BUFFER" }, { 0x98, "READONLY_BUFFER" },
};

static int
pkerr(struct pk *k, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	errf(k->err, k->errlen, "%s: %s %zu: %s", k->path, k->where,
	    k->base + k->at, buf);
	return -1;
}

/*
 * Memory is counted as it is taken and checked after each opcode against
 * the budget, a multiple of the file's size (the real state dicts take
 * about four times their pickle's size).
 */
static struct val *
newval(struct pk *k, int type)
{
	struct val *v;

	if (k->chunks == NULL || k->chunks->n == NCHUNK) {
		struct chunk *c = xmalloc(sizeof(*c));

		c->next = k->chunks;
		c->n = 0;
		k->chunks = c;
		k->mem += sizeof(*c);
	}
	v = &k->chunks->v[k->chunks->n++];
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

/* An array of n values, counted (the malloc header too). */
static struct val **
newarr(struct pk *k, struct val **a, size_t old, size_t n)
{
	k->mem += (n - old) * sizeof(*a) + (old ? 0 : 16);
	return xreallocarray(a, n, sizeof(*a));
}

static void
vadd(struct pk *k, struct val *v, struct val *x)
{
	if (v->n == v->cap) {
		size_t c = v->cap ? 2 * v->cap : 4;

		v->a = newarr(k, v->a, v->cap, c);
		v->cap = c;
	}
	v->a[v->n++] = x;
}

static void
push(struct pk *k, struct val *v)
{
	if (k->sp == k->scap) {
		size_t c = k->scap ? 2 * k->scap : 64;

		k->mem += (c - k->scap) * sizeof(*k->stack);
		k->stack = xreallocarray(k->stack, c, sizeof(*k->stack));
		k->scap = c;
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
	if (idx >= k->memocap) {
		size_t c = k->memocap ? 2 * k->memocap : 64;

		if (c <= idx)
			c = idx + 1;
		k->mem += (c - k->memocap) * sizeof(*k->memo);
		k->memo = xreallocarray(k->memo, c, sizeof(*k->memo));
		memset(k->memo + k->memocap, 0,
		    (c - k->memocap) * sizeof(*k->memo));
		k->memocap = c;
	}
	if (idx >= k->nmemo)
		k->nmemo = idx + 1;
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
	size_t i, cl;

#define IS(a, l, s)	((l) == strlen(s) && memcmp((a), (s), (l)) == 0)
	if (IS(mod, ml, "collections") && IS(name, nl, "OrderedDict"))
		v->i = G_ODICT;
	else if (IS(mod, ml, "torch._utils") &&
	    IS(name, nl, "_rebuild_tensor_v2"))
		v->i = G_TENSOR;
	else if (IS(mod, ml, "torch._utils") &&
	    IS(name, nl, "_rebuild_tensor"))
		v->i = G_TENSOR1;
	else if (IS(mod, ml, "torch._utils") &&
	    (IS(name, nl, "_rebuild_parameter") ||
	    IS(name, nl, "_rebuild_parameter_with_state")))
		v->i = G_PARAM;
	else if (IS(mod, ml, "torch") || IS(mod, ml, "torch.cuda")) {
		/* torch.FloatStorage, torch.cuda.HalfTensor, ... */
		for (i = 0; i < sizeof(sttypes) / sizeof(sttypes[0]); i++) {
			cl = strlen(sttypes[i].cls);
			if (nl == cl + 7 && memcmp(name, sttypes[i].cls,
			    cl) == 0 && memcmp(name + cl, "Storage", 7) == 0) {
				v->i = G_STORAGE;
				break;
			}
			if (nl == cl + 6 && memcmp(name, sttypes[i].cls,
			    cl) == 0 && memcmp(name + cl, "Tensor", 6) == 0) {
				v->i = G_TTYPE;
				break;
			}
		}
		if (i == sizeof(sttypes) / sizeof(sttypes[0]))
			goto bad;
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

/* A tensor on storage s: offset, shape and stride given (checked later). */
static struct val *
newtensor(struct pk *k, struct val *s)
{
	struct val *t = newval(k, V_TENSOR);

	t->t = xcalloc(1, sizeof(*t->t));
	k->mem += sizeof(*t->t) + 16;
	t->t->stor = s;
	return t;
}

/*
 * _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[,
 * metadata]), or the older _rebuild_tensor(storage, offset, size, stride).
 */
static struct val *
rebuild_tensor(struct pk *k, struct val *args, int v1)
{
	const char *fn = v1 ? "_rebuild_tensor" : "_rebuild_tensor_v2";
	struct val *t, *sz, *st;
	int64_t off;
	size_t i;

	if (v1 ? args->n != 4 : args->n != 6 && args->n != 7) {
		pkerr(k, "%s with %zu arguments", fn, args->n);
		return NULL;
	}
	if (args->a[0]->type != V_STORAGE) {
		pkerr(k, "%s: first argument is not a storage", fn);
		return NULL;
	}
	sz = args->a[2];
	st = args->a[3];
	if (getint(args->a[1], &off) == -1 || off < 0 ||
	    sz->type != V_TUPLE || st->type != V_TUPLE || sz->n != st->n) {
		pkerr(k, "%s: bad offset, size or stride", fn);
		return NULL;
	}
	if (sz->n > TENSOR_MAXDIM) {
		pkerr(k, "%s: %zu dimensions (at most %d)", fn, sz->n,
		    TENSOR_MAXDIM);
		return NULL;
	}
	t = newtensor(k, args->a[0]);
	t->t->off = (uint64_t)off;
	t->t->ndim = (int)sz->n;
	for (i = 0; i < sz->n; i++)
		if (getint(sz->a[i], &t->t->shape[i]) == -1 ||
		    t->t->shape[i] < 0 ||
		    getint(st->a[i], &t->t->stride[i]) == -1 ||
		    t->t->stride[i] < 0) {
			pkerr(k, "%s: size or stride %zu is not a "
			    "non-negative integer", fn, i);
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
	case G_TENSOR1:
		if ((v = rebuild_tensor(k, args, f->i == G_TENSOR1)) == NULL)
			return -1;
		break;
	case G_PARAM:
		if (args->n < 3 || args->n > 4 || args->a[0]->type != V_TENSOR)
			return pkerr(k, "_rebuild_parameter: bad arguments");
		v = args->a[0];
		break;
	default:
		return pkerr(k, "REDUCE of class torch.%s%s", f->st->cls,
		    f->i == G_STORAGE ? "Storage" : "Tensor");
	}
	push(k, v);
	return 0;
}

static struct val *
kvfind(const struct kv *t, size_t n, int64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid].key == key)
			return t[mid].v;
		if (t[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A key of the tar format: an integer, or one written in decimal. */
static int
tarkey(const struct val *v, int64_t *key)
{
	int64_t x = 0;
	size_t i;

	if (getint(v, key) == 0)
		return 0;
	if (v->type != V_STR || v->len == 0 || v->len > 18)
		return -1;
	for (i = 0; i < v->len; i++) {
		if (v->s[i] < '0' || v->s[i] > '9')
			return -1;
		x = x * 10 + (v->s[i] - '0');
	}
	*key = x;
	return 0;
}

/*
 * BINPERSID.  zip and legacy: ('storage', storage class, key, location,
 * numel[, view]), where a legacy view is None or (view key, offset, numel).
 * tar: a tensor's or storage's key.
 */
static int
persid(struct pk *k)
{
	struct val *t, *v, *w;
	int64_t numel, key, off, vn;

	if ((t = pop(k)) == NULL)
		return -1;
	if (k->tar) {
		if (tarkey(t, &key) == -1 ||
		    ((v = kvfind(k->tensors, k->ntensors, key)) == NULL &&
		    (v = kvfind(k->stors, k->nstors, key)) == NULL))
			return pkerr(k, "persistent id is not the key of a "
			    "tensor or storage in the archive");
		push(k, v);
		return 0;
	}
	if (t->type != V_TUPLE || (t->n != 5 && t->n != 6) ||
	    !streq(t->a[0], "storage") ||
	    t->a[1]->type != V_GLOBAL || t->a[1]->i != G_STORAGE ||
	    t->a[2]->type != V_STR || getint(t->a[4], &numel) == -1 ||
	    numel < 0 || memchr(t->a[2]->s, '\0', t->a[2]->len) != NULL)
		return pkerr(k, "persistent id is not ('storage', storage "
		    "class, key, location, numel)");
	v = newval(k, V_STORAGE);
	v->sto = xcalloc(1, sizeof(*v->sto));
	k->mem += sizeof(*v->sto) + 16;
	v->sto->st = t->a[1]->st;
	v->sto->key = t->a[2]->s;
	v->sto->keylen = t->a[2]->len;
	v->sto->numel = (uint64_t)numel;
	if (t->n == 6 && t->a[5]->type != V_NONE) {
		w = t->a[5];
		if (w->type != V_TUPLE || w->n != 3 ||
		    getint(w->a[1], &off) == -1 || off < 0 ||
		    getint(w->a[2], &vn) == -1 || vn < 0)
			return pkerr(k, "storage view is not (key, offset, "
			    "numel)");
		v->sto->isview = 1;
		v->sto->voff = (uint64_t)off;
		v->sto->vlen = (uint64_t)vn;
	}
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

/* A string of n bytes whose length is in the next w bytes. */
static int
string(struct pk *k, size_t w)
{
	struct val *v;
	uint64_t u;

	if (need(k, w) == -1)
		return -1;
	u = w == 4 ? rd32(k->p + k->pos) : w == 1 ? k->p[k->pos] :
	    rd64(k->p + k->pos);
	k->pos += w;
	if (u > k->len - k->pos)
		return pkerr(k, "string of %llu bytes runs past the pickle",
		    (unsigned long long)u);
	v = newval(k, V_STR);
	v->s = (const char *)k->p + k->pos;
	v->len = (size_t)u;
	k->pos += (size_t)u;
	push(k, v);
	return 0;
}

/* Run one pickle from k->pos to its STOP; *res is the value it returns. */
static int
unpickle(struct pk *k, struct val **res)
{
	struct val *v, *w, *x;
	size_t from = 0, i, n;
	uint64_t u;
	int op;

	k->sp = k->nmark = k->nmemo = 0;
	if (k->memo != NULL)
		memset(k->memo, 0, k->memocap * sizeof(*k->memo));
	for (;;) {
		k->at = k->pos;
		if (k->mem > k->budget)
			return pkerr(k, "the pickle takes more than %zu bytes "
			    "of memory, more than a file of %zu bytes can "
			    "need", k->budget, k->len);
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
		case ')':		/* EMPTY_TUPLE: one, never changed */
			push(k, &k->empty);
			break;
		case '(':		/* MARK */
			if (k->nmark == k->mcap) {
				size_t c = k->mcap ? 2 * k->mcap : 16;

				k->mem += (c - k->mcap) * sizeof(*k->marks);
				k->marks = xreallocarray(k->marks, c,
				    sizeof(*k->marks));
				k->mcap = c;
			}
			k->marks[k->nmark++] = k->sp;
			break;
		case 't':		/* TUPLE */
			if (popmark(k, &from) == -1)
				return -1;
			if (from == k->sp) {
				push(k, &k->empty);
				break;
			}
			v = newval(k, V_TUPLE);
			v->n = v->cap = k->sp - from;
			v->a = newarr(k, NULL, 0, v->n);
			memcpy(v->a, k->stack + from, v->n * sizeof(*v->a));
			k->sp = from;
			push(k, v);
			break;
		case 0x85:		/* TUPLE1 */
		case 0x86:		/* TUPLE2 */
		case 0x87:		/* TUPLE3 */
			n = (size_t)(op - 0x84);
			v = newval(k, V_TUPLE);
			v->a = newarr(k, NULL, 0, n);
			v->n = v->cap = n;
			for (i = n; i-- > 0; )
				if ((v->a[i] = pop(k)) == NULL)
					return -1;
			push(k, v);
			break;
		case 'X':		/* BINUNICODE */
		case 'T':		/* BINSTRING (Python 2) */
			if (string(k, 4) == -1)
				return -1;
			break;
		case 0x8c:		/* SHORT_BINUNICODE */
		case 'U':		/* SHORT_BINSTRING (Python 2) */
			if (string(k, 1) == -1)
				return -1;
			break;
		case 0x8d:		/* BINUNICODE8 */
			if (string(k, 8) == -1)
				return -1;
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
			if (need(k, n) == -1)
				return -1;
			if (n > 8) {	/* the legacy magic number */
				v = newval(k, V_BIG);
				v->s = (const char *)k->p + k->pos;
				v->len = n;
				k->pos += n;
				push(k, v);
				break;
			}
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
			push(k, &k->yes);
			break;
		case 0x89:		/* NEWFALSE */
			push(k, &k->no);
			break;
		case 'N':		/* NONE */
			push(k, &k->none);
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
			vadd(k, v, w);
			vadd(k, v, x);
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
				vadd(k, v, k->stack[i]);
			break;
		case 'a':		/* APPEND */
			if ((w = pop(k)) == NULL || (v = top(k)) == NULL)
				return -1;
			if (v->type != V_LIST)
				return pkerr(k, "APPEND to a non-list");
			vadd(k, v, w);
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
				vadd(k, v, k->stack[i]);
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
pk_init(struct pk *k, const char *path, size_t filelen, char *err,
    size_t errlen)
{
	memset(k, 0, sizeof(*k));
	k->none.type = V_NONE;
	k->yes.type = k->no.type = V_BOOL;
	k->yes.i = 1;
	k->empty.type = V_TUPLE;
	k->budget = 16 * filelen + ((size_t)1 << 20);
	k->path = path;
	k->err = err;
	k->errlen = errlen;
}

/* Point the interpreter at the next pickle: p[0..len), at offset base. */
static void
pk_at(struct pk *k, const unsigned char *p, size_t len, size_t base,
    const char *where)
{
	k->p = p;
	k->len = len;
	k->pos = 0;
	k->base = base;
	k->where = where;
}

static void
pk_release(struct pk *k)
{
	struct chunk *c, *next;
	size_t i;

	for (c = k->chunks; c != NULL; c = next) {
		next = c->next;
		for (i = 0; i < c->n; i++) {
			free(c->v[i].a);
			free(c->v[i].sto);
			free(c->v[i].t);
		}
		free(c);
	}
	free(k->stack);
	free(k->marks);
	free(k->memo);
	free(k->tensors);
	free(k->stors);
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

/* Where the storages' bytes are: a zip archive's entries, or bound already. */
struct src {
	const struct zip	*z;		/* or NULL */
	const char		*pfx;
	const char		*path;
	size_t			 budget; /* bytes of strided copies */
};

static int
namecmp(const void *a, const void *b)
{
	const struct tfentry *x = *(const struct tfentry *const *)a;
	const struct tfentry *y = *(const struct tfentry *const *)b;

	return strcmp(x->name, y->name);
}

/* Bind a zip storage to its entry, <pfx>data/<key>. */
static int
zipbind(struct stor *s, const struct src *sc, const char *tname, char *err,
    size_t errlen)
{
	const struct zent *ze;
	const unsigned char *d;
	char *zname;

	zname = xmalloc(strlen(sc->pfx) + 5 + s->keylen + 1);
	sprintf(zname, "%sdata/%.*s", sc->pfx, (int)s->keylen, s->key);
	ze = zip_find(sc->z, zname);
	free(zname);
	if (ze == NULL) {
		errf(err, errlen, "%s: tensor '%s': storage '%.*s' is not "
		    "in the archive", sc->path, tname,
		    (int)(s->keylen > 64 ? 64 : s->keylen), s->key);
		return -1;
	}
	if (zip_data(sc->z, ze, &d, sc->path, err, errlen) == -1)
		return -1;
	if (s->numel > ze->size / s->st->size) {
		errf(err, errlen, "%s: tensor '%s': storage '%.*s' has %llu "
		    "bytes, less than its %llu elements of %s", sc->path,
		    tname, (int)s->keylen, s->key,
		    (unsigned long long)ze->size,
		    (unsigned long long)s->numel, s->st->dtname);
		return -1;
	}
	s->data = d;
	return 0;
}

/*
 * Check tensor t against its storage and point entry e at it: into the
 * file when it is contiguous; otherwise e->data stays NULL and *copy is
 * the bytes that gather() will need.
 */
static int
place(struct tfentry *e, const struct tens *t, const struct src *sc,
    size_t *copy, char *err, size_t errlen)
{
	struct stor *s = t->stor->sto;
	size_t es = s->st->size, n = 1;
	uint64_t want = 1, last = 0, numel;
	int i, contig = 1;

	for (i = 0; i < t->ndim; i++) {
		if (__builtin_mul_overflow(n, (size_t)t->shape[i], &n) ||
		    n > ((size_t)1 << 40)) {
			errf(err, errlen, "%s: tensor '%s': shape overflows",
			    sc->path, e->name);
			return -1;
		}
		e->shape[i] = (size_t)t->shape[i];
	}
	e->ndim = t->ndim;
	e->n = n;
	e->dtype = s->st->dtype;
	*copy = 0;
	if (s->data == NULL && sc->z != NULL &&
	    zipbind(s, sc, e->name, err, errlen) == -1)
		return -1;
	if (s->data == NULL) {
		errf(err, errlen, "%s: tensor '%s': storage '%.*s' has no "
		    "data in the file", sc->path, e->name,
		    (int)(s->keylen > 64 ? 64 : s->keylen), s->key);
		return -1;
	}
	numel = s->isview ? s->vlen : s->numel;
	/*
	 * Contiguous: row-major strides, where a dimension of size 1 may say
	 * any.  Otherwise the last element is at the sum of (size - 1) *
	 * stride, each term below 2^40 * 2^63 / 2^40.
	 */
	for (i = t->ndim - 1; i >= 0; i--) {
		uint64_t d = (uint64_t)t->shape[i];

		if (d != 1 && (uint64_t)t->stride[i] != want)
			contig = 0;
		want *= d;
		if (d > 0 && t->stride[i] > 0 &&
		    (__builtin_mul_overflow(d - 1, (uint64_t)t->stride[i],
		    &d) || __builtin_add_overflow(last, d, &last)))
			last = UINT64_MAX;
	}
	if (n == 0)
		contig = 1;
	if (contig ? t->off > numel || n > numel - t->off :
	    t->off >= numel || last >= numel - t->off) {
		errf(err, errlen, "%s: tensor '%s': %zu elements at offset "
		    "%llu do not fit in storage '%.*s' of %llu elements",
		    sc->path, e->name, n, (unsigned long long)t->off,
		    (int)(s->keylen > 64 ? 64 : s->keylen), s->key,
		    (unsigned long long)numel);
		return -1;
	}
	if (contig) {
		e->data = s->data + (size_t)t->off * es;
		return 0;
	}
	/* A strided view: at most as many elements as its storage holds. */
	if (n > numel) {
		errf(err, errlen, "%s: tensor '%s': a strided view of %zu "
		    "elements on a storage of %llu", sc->path, e->name, n,
		    (unsigned long long)numel);
		return -1;
	}
	*copy = n * es;
	return 0;
}

/* Copy the strided tensor t to dst, row-major. */
static unsigned char *
gather(unsigned char *dst, const unsigned char *src, const struct tens *t,
    int d, size_t es)
{
	int64_t i;

	if (d == t->ndim) {
		memcpy(dst, src, es);
		return dst + es;
	}
	for (i = 0; i < t->shape[d]; i++)
		dst = gather(dst, src + (size_t)(i * t->stride[d]) * es, t,
		    d + 1, es);
	return dst;
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
collect(struct tfile *tf, const struct val *d, const struct src *sc,
    char *err, size_t errlen)
{
	struct skiplist sl = { NULL, 0, 0 };
	struct tfentry **sorted;
	const struct tens **views;
	size_t i, j, copy, total = 0, names = 0;
	unsigned char *q;
	int rc = 0;

	/*
	 * A name or value may be memoized once and used many times: the
	 * entries and their names are bounded by the file too.
	 */
	if ((d->n / 2 + 1) * (sizeof(*tf->e) + sizeof(*views)) > sc->budget) {
		errf(err, errlen, "%s: a state dict of %zu values, more than "
		    "a file of its size holds", sc->path, d->n / 2);
		return -1;
	}
	tf->e = xcalloc(d->n / 2 + 1, sizeof(*tf->e));
	views = xcalloc(d->n / 2 + 1, sizeof(*views));
	for (i = 0; i + 1 < d->n; i += 2) {
		const struct val *k = d->a[i], *t = d->a[i + 1];
		struct tfentry *e;

		if (k->type != V_STR) {
			errf(err, errlen, "%s: a key of the state dict is "
			    "not a string", sc->path);
			rc = -1;
			break;
		}
		if (memchr(k->s, '\0', k->len) != NULL) {
			errf(err, errlen, "%s: a tensor name contains a "
			    "NUL byte", sc->path);
			rc = -1;
			break;
		}
		if ((names += k->len + 1) > sc->budget) {
			errf(err, errlen, "%s: the tensor names take more "
			    "than %zu bytes", sc->path, sc->budget);
			rc = -1;
			break;
		}
		if (t->type != V_TENSOR || t->t->stor->type != V_STORAGE) {
			addskip(&sl, k->s, k->len, "not a tensor");
			continue;
		}
		if (t->t->stor->sto->st->dtype == -1) {
			addskip(&sl, k->s, k->len,
			    t->t->stor->sto->st->dtname);
			continue;
		}
		e = &tf->e[tf->n];
		e->name = xstrndup(k->s, k->len);
		tf->n++;
		if (place(e, t->t, sc, &copy, err, errlen) == -1) {
			rc = -1;
			break;
		}
		if (copy > 0) {
			views[tf->n - 1] = t->t;
			total += copy;
			if (total > sc->budget) {
				errf(err, errlen, "%s: tensor '%s': the "
				    "strided views take more than %zu bytes",
				    sc->path, e->name, sc->budget);
				rc = -1;
				break;
			}
		}
	}
	tf->priv = packskip(&sl);
	if (rc == 0 && total > 0) {
		q = tf->buf = xmalloc(total);
		for (j = 0; j < tf->n; j++)
			if (views[j] != NULL) {
				const struct stor *s = views[j]->stor->sto;

				tf->e[j].data = q;
				q = gather(q, s->data + views[j]->off *
				    s->st->size, views[j], 0, s->st->size);
			}
	}
	free(views);
	if (rc == -1)
		return -1;
	/* Duplicate names would make tfile_find ambiguous. */
	sorted = xreallocarray(NULL, tf->n ? tf->n : 1, sizeof(*sorted));
	for (i = 0; i < tf->n; i++)
		sorted[i] = &tf->e[i];
	qsort(sorted, tf->n, sizeof(*sorted), namecmp);
	for (i = 1; i < tf->n; i++)
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			errf(err, errlen, "%s: tensor '%s' appears twice",
			    sc->path, sorted[i]->name);
			rc = -1;
			break;
		}
	free(sorted);
	return rc;
}

/* ---- the zip format ---- */

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
load_zip(struct tfile *tf, struct pk *k, const char *path, char *err,
    size_t errlen)
{
	const unsigned char *d;
	const struct zent *pe, *bo;
	struct zip z = { tf->map, tf->maplen, NULL, 0 };
	struct src sc;
	struct val *res = NULL;
	char *pfx = NULL, *boname;
	int rc = -1;

	tf->format = "PyTorch zip";
	if (zip_read(&z, path, err, errlen) == -1)
		goto out;
	if ((pe = find_pickle(&z, &pfx)) == NULL) {
		errf(err, errlen, "%s: no data.pkl in the archive: not "
		    "written by torch.save", path);
		goto out;
	}
	if (zip_data(&z, pe, &d, path, err, errlen) == -1)
		goto out;
	if (pe->size <= UINT32_MAX &&
	    crc32(crc32(0, NULL, 0), d, (uInt)pe->size) != pe->crc) {
		errf(err, errlen, "%s: data.pkl fails its CRC check", path);
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
			errf(err, errlen, "%s: storages are not "
			    "little-endian (byteorder '%.*s')", path,
			    (int)(bo->size > 16 ? 16 : bo->size), b);
			goto out;
		}
	}
	pk_at(k, d, (size_t)pe->size, 0, "data.pkl offset");
	if (unpickle(k, &res) == -1)
		goto out;
	if (res->type != V_DICT) {
		errf(err, errlen, "%s: data.pkl holds no dict of tensors (a "
		    "state dict)", path);
		goto out;
	}
	sc.z = &z;
	sc.pfx = pfx;
	sc.path = path;
	sc.budget = 2 * tf->maplen + ((size_t)1 << 20);
	rc = collect(tf, res, &sc, err, errlen);
out:
	free(z.e);
	free(pfx);
	return rc;
}

/* ---- the legacy format ---- */

/* 0x1950a86a20f9469cfc6c, little-endian, as LONG1 pickles it */
static const unsigned char magic[10] = { 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20,
    0x6a, 0xa8, 0x50, 0x19 };

/* The system info: refused unless the storages are little-endian. */
static int
sysinfo(const struct val *d, const char *path, char *err, size_t errlen)
{
	size_t i;

	if (d->type != V_DICT) {
		errf(err, errlen, "%s: the system info is not a dict", path);
		return -1;
	}
	for (i = 0; i + 1 < d->n; i += 2)
		if (streq(d->a[i], "little_endian") &&
		    (d->a[i + 1]->type != V_BOOL || d->a[i + 1]->i != 1)) {
			errf(err, errlen, "%s: storages are big-endian "
			    "(the system info says little_endian False): "
			    "written on a big-endian machine", path);
			return -1;
		}
	return 0;
}

static int
storcmp(const void *a, const void *b)
{
	const struct stor *x = *(const struct stor *const *)a;
	const struct stor *y = *(const struct stor *const *)b;

	return bytescmp(x->key, x->keylen, y->key, y->keylen);
}

/*
 * After the storage keys: per key, the element count and the data.  Every
 * storage of the pickle with that key (tied weights share one) is bound.
 */
static int
legacy_bind(struct pk *k, const struct val *keys, size_t pos,
    const char *path, char *err, size_t errlen)
{
	const unsigned char *m = k->p;
	struct stor **all, key;
	struct chunk *c;
	size_t ns = 0, i, j, lo, hi;
	int rc = -1;

	for (c = k->chunks; c != NULL; c = c->next)
		for (i = 0; i < c->n; i++)
			ns += c->v[i].type == V_STORAGE;
	all = xreallocarray(NULL, ns ? ns : 1, sizeof(*all));
	ns = 0;
	for (c = k->chunks; c != NULL; c = c->next)
		for (i = 0; i < c->n; i++)
			if (c->v[i].type == V_STORAGE)
				all[ns++] = c->v[i].sto;
	qsort(all, ns, sizeof(*all), storcmp);
	for (i = 0; i < keys->n; i++) {
		const struct val *kv = keys->a[i];
		const struct sttype *st;
		uint64_t cnt;
		struct stor *kp = &key;

		if (kv->type != V_STR) {
			errf(err, errlen, "%s: storage key %zu is not a "
			    "string", path, i);
			goto out;
		}
		key.key = kv->s;
		key.keylen = kv->len;
		for (lo = 0, hi = ns; lo < hi; ) {
			size_t mid = lo + (hi - lo) / 2;

			if (storcmp(&all[mid], &kp) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == ns || storcmp(&all[lo], &kp) != 0) {
			errf(err, errlen, "%s: storage '%.*s' is listed but "
			    "no tensor uses it", path,
			    (int)(kv->len > 64 ? 64 : kv->len), kv->s);
			goto out;
		}
		st = all[lo]->st;
		if (all[lo]->data != NULL) {
			errf(err, errlen, "%s: storage '%.*s' is listed "
			    "twice", path, (int)(kv->len > 64 ? 64 : kv->len),
			    kv->s);
			goto out;
		}
		if (k->len - pos < 8) {
			errf(err, errlen, "%s: storage '%.*s' at offset %zu: "
			    "truncated file", path,
			    (int)(kv->len > 64 ? 64 : kv->len), kv->s, pos);
			goto out;
		}
		cnt = rd64(m + pos);
		pos += 8;
		if (cnt > (k->len - pos) / st->size) {
			errf(err, errlen, "%s: storage '%.*s' at offset %zu: "
			    "%llu elements of %s run past the end of the "
			    "file: truncated?", path,
			    (int)(kv->len > 64 ? 64 : kv->len), kv->s,
			    pos - 8, (unsigned long long)cnt, st->dtname);
			goto out;
		}
		for (j = lo; j < ns && storcmp(&all[j], &kp) == 0; j++) {
			struct stor *s = all[j];

			if (s->st != st || s->numel != cnt) {
				errf(err, errlen, "%s: storage '%.*s' has "
				    "%llu elements of %s in the file, the "
				    "pickle says %llu of %s", path,
				    (int)(kv->len > 64 ? 64 : kv->len), kv->s,
				    (unsigned long long)cnt, st->dtname,
				    (unsigned long long)s->numel,
				    s->st->dtname);
				goto out;
			}
			if (s->isview && (s->voff > cnt ||
			    s->vlen > cnt - s->voff)) {
				errf(err, errlen, "%s: a view of storage "
				    "'%.*s' is outside it", path,
				    (int)(kv->len > 64 ? 64 : kv->len), kv->s);
				goto out;
			}
			s->data = m + pos + (s->isview ? s->voff * st->size :
			    0);
		}
		pos += cnt * st->size;
	}
	rc = 0;
out:
	free(all);
	return rc;
}

static int
load_legacy(struct tfile *tf, struct pk *k, const char *path, char *err,
    size_t errlen)
{
	struct val *v, *dict, *keys;
	struct src sc;
	int64_t ver;

	tf->format = "PyTorch legacy";
	pk_at(k, tf->map, tf->maplen, 0, "offset");
	if (unpickle(k, &v) == -1)
		return -1;
	if (v->type != V_BIG || v->len != sizeof(magic) ||
	    memcmp(v->s, magic, sizeof(magic)) != 0) {
		errf(err, errlen, "%s: a pickle without torch.save's magic "
		    "number: not a pytorch_model.bin", path);
		return -1;
	}
	if (unpickle(k, &v) == -1)
		return -1;
	if (getint(v, &ver) == -1 || ver != 1001) {
		errf(err, errlen, "%s: legacy format version is not 1001",
		    path);
		return -1;
	}
	if (unpickle(k, &v) == -1 || sysinfo(v, path, err, errlen) == -1)
		return -1;
	if (unpickle(k, &dict) == -1)
		return -1;
	if (dict->type != V_DICT) {
		errf(err, errlen, "%s: the pickle holds no dict of tensors "
		    "(a state dict)", path);
		return -1;
	}
	if (unpickle(k, &keys) == -1)
		return -1;
	if (keys->type != V_LIST && keys->type != V_TUPLE) {
		errf(err, errlen, "%s: the storage keys are not a list",
		    path);
		return -1;
	}
	if (legacy_bind(k, keys, k->pos, path, err, errlen) == -1)
		return -1;
	sc.z = NULL;
	sc.pfx = "";
	sc.path = path;
	sc.budget = 2 * tf->maplen + ((size_t)1 << 20);
	return collect(tf, dict, &sc, err, errlen);
}

/* ---- the tar format ---- */

static int
kvcmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

static int
kvadd(struct pk *k, struct kv **t, size_t *n, int64_t key, struct val *v)
{
	if ((*n & (*n - 1)) == 0) {	/* 0, 1, 2, 4, ...: double */
		*t = xreallocarray(*t, *n ? 2 * *n : 1, sizeof(**t));
		k->mem += (*n ? *n : 1) * sizeof(**t);
	}
	(*t)[*n].key = key;
	(*t)[(*n)++].v = v;
	return 0;
}

/* Sort a table by key; a key twice is an error. */
static int
kvsort(struct kv *t, size_t n, const char *what, const char *path, char *err,
    size_t errlen)
{
	size_t i;

	qsort(t, n, sizeof(*t), kvcmp);
	for (i = 1; i < n; i++)
		if (t[i].key == t[i - 1].key) {
			errf(err, errlen, "%s: %s key %lld appears twice",
			    path, what, (long long)t[i].key);
			return -1;
		}
	return 0;
}

/* A count at the start of a member. */
static int
count(struct pk *k, int64_t *n, const char *path, const char *what,
    char *err, size_t errlen)
{
	struct val *v;

	if (unpickle(k, &v) == -1)
		return -1;
	if (getint(v, n) == -1 || *n < 0) {
		errf(err, errlen, "%s: tar member '%s' does not start with "
		    "a count", path, what);
		return -1;
	}
	return 0;
}

/* 'storages': count, then (key, location, class), numel, data; views. */
static int
tar_storages(struct pk *k, const char *path, char *err, size_t errlen)
{
	struct val *v, *w;
	int64_t n, i, key, root, off, cnt;
	uint64_t numel;
	size_t j;

	if (count(k, &n, path, "storages", err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (unpickle(k, &v) == -1)
			return -1;
		if (v->type != V_TUPLE || v->n != 3 ||
		    tarkey(v->a[0], &key) == -1 ||
		    v->a[2]->type != V_GLOBAL || v->a[2]->i != G_STORAGE)
			return pkerr(k, "storage %lld is not (key, location, "
			    "storage class)", (long long)i);
		k->at = k->pos;
		if (need(k, 8) == -1)
			return -1;
		numel = rd64(k->p + k->pos);
		k->pos += 8;
		if (numel > (k->len - k->pos) / v->a[2]->st->size)
			return pkerr(k, "storage %lld: %llu elements of %s run "
			    "past the member", (long long)key,
			    (unsigned long long)numel, v->a[2]->st->dtname);
		w = newval(k, V_STORAGE);
		w->sto = xcalloc(1, sizeof(*w->sto));
		k->mem += sizeof(*w->sto) + 16;
		w->sto->st = v->a[2]->st;
		w->sto->key = (const char *)k->p + k->pos - 8;
		w->sto->keylen = 0;
		w->sto->numel = numel;
		w->sto->data = k->p + k->pos;
		k->pos += numel * w->sto->st->size;
		kvadd(k, &k->stors, &k->nstors, key, w);
		if (k->mem > k->budget)
			return pkerr(k, "too many storages");
	}
	if (kvsort(k->stors, k->nstors, "storage", path, err, errlen) == -1)
		return -1;
	/* Views: (key, root key, offset, numel), each a storage of its own. */
	if (unpickle(k, &v) == -1)
		return -1;
	if (v->type != V_LIST && v->type != V_TUPLE)
		return pkerr(k, "the storage views are not a list");
	for (j = 0; j < v->n; j++) {
		struct val *x = v->a[j], *r;

		if (x->type != V_TUPLE || x->n != 4 ||
		    tarkey(x->a[0], &key) == -1 ||
		    tarkey(x->a[1], &root) == -1 ||
		    getint(x->a[2], &off) == -1 || off < 0 ||
		    getint(x->a[3], &cnt) == -1 || cnt < 0 ||
		    (r = kvfind(k->stors, k->nstors, root)) == NULL ||
		    (uint64_t)off > r->sto->numel ||
		    (uint64_t)cnt > r->sto->numel - (uint64_t)off)
			return pkerr(k, "storage view %zu is not (key, root, "
			    "offset, numel) inside its root", j);
		w = newval(k, V_STORAGE);
		w->sto = xcalloc(1, sizeof(*w->sto));
		k->mem += sizeof(*w->sto) + 16;
		*w->sto = *r->sto;
		w->sto->numel = (uint64_t)cnt;
		w->sto->data = r->sto->data + off * r->sto->st->size;
		kvadd(k, &k->stors, &k->nstors, key, w);
	}
	return kvsort(k->stors, k->nstors, "storage", path, err, errlen);
}

/* 'tensors': count, then (key, storage key, class), ndim, sizes, strides,
 * offset. */
static int
tar_tensors(struct pk *k, const char *path, char *err, size_t errlen)
{
	struct val *v, *s, *t;
	int64_t n, i, key, sk, x;
	int32_t nd;
	int d;

	if (count(k, &n, path, "tensors", err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (unpickle(k, &v) == -1)
			return -1;
		if (v->type != V_TUPLE || v->n != 3 ||
		    tarkey(v->a[0], &key) == -1 ||
		    tarkey(v->a[1], &sk) == -1)
			return pkerr(k, "tensor %lld is not (key, storage "
			    "key, tensor class)", (long long)i);
		if ((s = kvfind(k->stors, k->nstors, sk)) == NULL)
			return pkerr(k, "tensor %lld: storage %lld is not in "
			    "the archive", (long long)key, (long long)sk);
		k->at = k->pos;
		if (need(k, 8) == -1)
			return -1;
		nd = (int32_t)rd32(k->p + k->pos);
		k->pos += 8;
		if (nd < 0 || nd > TENSOR_MAXDIM)
			return pkerr(k, "tensor %lld: %d dimensions (at most "
			    "%d)", (long long)key, (int)nd, TENSOR_MAXDIM);
		if (need(k, 16 * (size_t)nd + 8) == -1)
			return -1;
		t = newtensor(k, s);
		t->t->ndim = nd;
		for (d = 0; d < nd; d++) {
			t->t->shape[d] = (int64_t)rd64(k->p + k->pos + 8 * d);
			t->t->stride[d] = (int64_t)rd64(k->p + k->pos +
			    8 * (nd + d));
			if (t->t->shape[d] < 0 || t->t->stride[d] < 0)
				return pkerr(k, "tensor %lld: a negative size "
				    "or stride", (long long)key);
		}
		x = (int64_t)rd64(k->p + k->pos + 16 * nd);
		if (x < 0)
			return pkerr(k, "tensor %lld: a negative offset",
			    (long long)key);
		t->t->off = (uint64_t)x;
		k->pos += 16 * (size_t)nd + 8;
		kvadd(k, &k->tensors, &k->ntensors, key, t);
		if (k->mem > k->budget)
			return pkerr(k, "too many tensors");
	}
	return kvsort(k->tensors, k->ntensors, "tensor", path, err, errlen);
}

static int
load_tar(struct tfile *tf, struct pk *k, const char *path, char *err,
    size_t errlen)
{
	const unsigned char *m = tf->map;
	struct tmem mem[NMEMBER];
	struct val *v;
	struct src sc;

	tf->format = "PyTorch legacy tar";
	if (tar_read(m, tf->maplen, mem, path, err, errlen) == -1)
		return -1;
	k->tar = 1;
	if (mem[M_SYSINFO].data != NULL) {
		pk_at(k, mem[M_SYSINFO].data, mem[M_SYSINFO].size,
		    (size_t)(mem[M_SYSINFO].data - m), "offset");
		if (unpickle(k, &v) == -1 || sysinfo(v, path, err,
		    errlen) == -1)
			return -1;
	}
	pk_at(k, mem[M_STORAGES].data, mem[M_STORAGES].size,
	    (size_t)(mem[M_STORAGES].data - m), "offset");
	if (tar_storages(k, path, err, errlen) == -1)
		return -1;
	pk_at(k, mem[M_TENSORS].data, mem[M_TENSORS].size,
	    (size_t)(mem[M_TENSORS].data - m), "offset");
	if (tar_tensors(k, path, err, errlen) == -1)
		return -1;
	pk_at(k, mem[M_PICKLE].data, mem[M_PICKLE].size,
	    (size_t)(mem[M_PICKLE].data - m), "offset");
	if (unpickle(k, &v) == -1)
		return -1;
	if (v->type != V_DICT) {
		errf(err, errlen, "%s: the pickle holds no dict of tensors "
		    "(a state dict)", path);
		return -1;
	}
	sc.z = NULL;
	sc.pfx = "";
	sc.path = path;
	sc.budget = 2 * tf->maplen + ((size_t)1 << 20);
	return collect(tf, v, &sc, err, errlen);
}

/* ---- opening a pytorch_model.bin ---- */

int
ptbin_open(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	const unsigned char *m;
	struct pk k;
	int rc;

	if (tfile_map(tf, path, err, errlen) == -1) {
		tfile_release(tf);
		return -1;
	}
	m = tf->map;
	if (tf->maplen == 0) {
		errf(err, errlen, "%s: empty file", path);
		tfile_release(tf);
		return -1;
	}
	pk_init(&k, path, tf->maplen, err, errlen);
	if (tf->maplen >= 4 && rd32(m) == 0x04034b50)
		rc = load_zip(tf, &k, path, err, errlen);
	else if (tf->maplen >= 512 && memcmp(m + 257, "ustar", 5) == 0)
		rc = load_tar(tf, &k, path, err, errlen);
	else if (m[0] == 0x80)
		rc = load_legacy(tf, &k, path, err, errlen);
	else {
		errf(err, errlen, "%s: not a zip archive, tar archive or "
		    "pickle, so not a pytorch_model.bin written by "
		    "torch.save", path);
		rc = -1;
	}
	pk_release(&k);
	if (rc == -1) {
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
	if (pv == NULL || tf->format == NULL ||
	    strstr(tf->format, "PyTorch") == NULL)
		return 0;
	*skip = pv->skip;
	return pv->nskip;
}

/*
 * The skipped values of the nsub files of a sharded checkpoint, as one
 * block for its tf->priv; free(3) releases it.
 */
static void *
joinskipped(const struct tfile *sub, size_t nsub)
{
	struct skiplist sl = { NULL, 0, 0 };
	const struct ptskip *sk;
	size_t i, j, n;

	for (i = 0; i < nsub; i++) {
		n = ptbin_skipped(&sub[i], &sk);
		for (j = 0; j < n; j++)
			addskip(&sl, sk[j].name, strlen(sk[j].name),
			    sk[j].why);
	}
	return packskip(&sl);
}

/* ---- choosing a tensor file, and sharded checkpoints ---- */

static int
endswith(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* A file that is not an index: safetensors or pytorch_model.bin. */
static int
openone(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	const unsigned char *m;
	int pt;

	if (endswith(path, ".bin"))
		pt = 1;
	else if (endswith(path, ".safetensors"))
		pt = 0;
	else {
		/* by content: zip, tar or pickle is torch.save's */
		if (tfile_map(tf, path, err, errlen) == -1) {
			tfile_release(tf);
			return -1;
		}
		m = tf->map;
		pt = tf->maplen >= 4 && (memcmp(m, "PK\3\4", 4) == 0 ||
		    m[0] == 0x80 || (tf->maplen >= 512 &&
		    memcmp(m + 257, "ustar", 5) == 0));
		tfile_release(tf);
	}
	if (pt)
		return ptbin_open(tf, path, err, errlen);
	if (safetensors_open(tf, path, err, errlen) == -1)
		return -1;
	tf->format = "safetensors";
	return 0;
}

/* The text of a small file, NUL-terminated; NULL with err set. */
static char *
indextext(const char *path, size_t max, char *err, size_t errlen)
{
	struct tfile tf;
	char *s;

	if (tfile_map(&tf, path, err, errlen) == -1) {
		tfile_release(&tf);
		return NULL;
	}
	if (tf.maplen > max) {
		errf(err, errlen, "%s: %zu bytes, too large for an index",
		    path, tf.maplen);
		tfile_release(&tf);
		return NULL;
	}
	s = xmalloc(tf.maplen + 1);
	if (tf.maplen > 0)
		memcpy(s, tf.map, tf.maplen);
	s[tf.maplen] = '\0';
	tfile_release(&tf);
	return s;
}

/*
 * A sharded checkpoint: {"weight_map": {tensor: shard file}} names the
 * shards, files beside the index.  Each is opened once; the entries, in
 * the order of the weight map, point into them.
 */
static int
openindex(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	cJSON *j = NULL, *wm, *x;
	char *text, *dir, *sp;
	const char *slash;
	size_t nmap, i, cap = 0;
	int r = -1;

	memset(tf, 0, sizeof(*tf));
	tf->path = xstrdup(path);
	if ((text = indextext(path, (size_t)1 << 26, err, errlen)) == NULL)
		goto out;
	j = cJSON_Parse(text);
	free(text);
	wm = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
	if (j == NULL || !cJSON_IsObject(j)) {
		errf(err, errlen, "%s: not valid JSON", path);
		goto out;
	}
	if (!cJSON_IsObject(wm)) {
		errf(err, errlen, "%s: no weight_map object", path);
		goto out;
	}
	slash = strrchr(path, '/');
	dir = slash ? xstrndup(path, (size_t)(slash - path + 1)) : xstrdup("");
	nmap = (size_t)cJSON_GetArraySize(wm);
	tf->e = xcalloc(nmap + 1, sizeof(*tf->e));
	cJSON_ArrayForEach(x, wm) {
		const struct tfentry *e = NULL;
		struct tfile *sh = NULL;

		if (!cJSON_IsString(x) || x->valuestring[0] == '\0' ||
		    strchr(x->valuestring, '/') != NULL ||
		    strcmp(x->valuestring, "..") == 0 ||
		    endswith(x->valuestring, ".json")) {
			errf(err, errlen, "%s: tensor '%s' is mapped to %s, "
			    "not a file name beside the index", path,
			    x->string, cJSON_IsString(x) ? "a bad name" :
			    "a non-string");
			break;
		}
		for (i = 0; i < tf->nsub; i++)
			if (strcmp(strrchr(tf->sub[i].path, '/') ?
			    strrchr(tf->sub[i].path, '/') + 1 :
			    tf->sub[i].path, x->valuestring) == 0)
				sh = &tf->sub[i];
		if (sh == NULL) {
			if (tf->nsub == cap) {
				cap = cap ? 2 * cap : 4;
				tf->sub = xreallocarray(tf->sub, cap,
				    sizeof(*tf->sub));
			}
			sp = xmalloc(strlen(dir) + strlen(x->valuestring) + 1);
			sprintf(sp, "%s%s", dir, x->valuestring);
			sh = &tf->sub[tf->nsub];
			if (openone(sh, sp, err, errlen) == -1) {
				free(sp);
				break;
			}
			free(sp);
			tf->nsub++;
		}
		if ((e = tfile_find(sh, x->string)) == NULL) {
			errf(err, errlen, "%s: tensor '%s' is mapped to %s, "
			    "which lacks it", path, x->string, sh->path);
			break;
		}
		tf->e[tf->n] = *e;
		tf->e[tf->n].name = xstrdup(e->name);
		tf->n++;
	}
	free(dir);
	if (tf->n < nmap)
		goto out;
	if (tf->nsub == 0) {
		errf(err, errlen, "%s: the weight_map is empty", path);
		goto out;
	}
	snprintf(tf->fmtbuf, sizeof(tf->fmtbuf), "%zu shard%s, %s", tf->nsub,
	    tf->nsub == 1 ? "" : "s", tf->sub[0].format);
	tf->format = tf->fmtbuf;
	if (strncmp(tf->sub[0].format, "PyTorch", 7) == 0)
		tf->priv = joinskipped(tf->sub, tf->nsub);
	r = 0;
out:
	cJSON_Delete(j);
	if (r == -1)
		tfile_release(tf);
	return r;
}

int
tfile_open(struct tfile *tf, const char *path, char *err, size_t errlen)
{
	if (endswith(path, ".index.json"))
		return openindex(tf, path, err, errlen);
	return openone(tf, path, err, errlen);
}

int
tfile_opendir(struct tfile *tf, const char *dir, char *err, size_t errlen)
{
	static const char *const names[] = { "model.safetensors",
	    "model.safetensors.index.json", "pytorch_model.bin",
	    "pytorch_model.bin.index.json" };
	struct stat st;
	char path[4096];
	size_t i;

	memset(tf, 0, sizeof(*tf));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		/* a FIFO or directory by that name is an error, not absent */
		if (stat(path, &st) == 0)
			return tfile_open(tf, path, err, errlen);
	}
	return errf(err, errlen, "%s: no model.safetensors or "
	    "pytorch_model.bin", dir);
}

/* ---- writing ---- */

FILE *
tfile_create(const char *path, char **tmp, char *err, size_t errlen)
{
	mode_t u;
	FILE *fp;
	int fd, e;

	*tmp = xmalloc(strlen(path) + sizeof(".tmp-XXXXXX"));
	sprintf(*tmp, "%s.tmp-XXXXXX", path);
	if ((fd = mkstemp(*tmp)) == -1) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return NULL;
	}
	umask(u = umask(022));
	if (fchmod(fd, 0666 & ~u) == -1 || (fp = fdopen(fd, "wb")) == NULL) {
		e = errno;
		close(fd);
		remove(*tmp);
		free(*tmp);
		*tmp = NULL;
		errf(err, errlen, "%s: %s", path, strerror(e));
		return NULL;
	}
	return fp;
}

int
tfile_commit(FILE *fp, char **tmp, const char *path, int replace, char *err,
    size_t errlen)
{
	int bad = ferror(fp), e = EIO, r = 0;

	if (fflush(fp) == EOF || fsync(fileno(fp)) == -1) {
		bad = 1;
		e = errno;
	}
	if (fclose(fp) == EOF && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad)
		r = errf(err, errlen, "%s: %s", path, strerror(e));
	/* link(2) refuses to replace: no check-then-write race */
	else if ((replace ? rename(*tmp, path) : link(*tmp, path)) == -1)
		r = errf(err, errlen, "%s: %s", path, errno == EEXIST ?
		    "exists (-f replaces it)" : strerror(errno));
	if (r == -1 || !replace)
		remove(*tmp);
	free(*tmp);
	*tmp = NULL;
	return r;
}

static const char *const stdt[] = { "F32", "F16", "BF16" };

/* Whether the writer takes entry e: F32, F16 or BF16. */
static int
floats(const struct tfentry *e)
{
	return e->dtype >= DT_F32 && e->dtype <= DT_BF16;
}

/*
 * The safetensors header of the entries of e that the writer takes, each
 * in dtype (-1: its own): an 8-byte little-endian header length, the JSON
 * (padded with spaces to a multiple of 8), then the data, each tensor at
 * the [begin, end) byte offsets the header gives, relative to the data
 * start.  NULL when out of memory; *len is its length.
 */
static char *
header(const struct tfentry *e, size_t n, int dtype, size_t *len)
{
	cJSON *hdr, *meta, *h, *a;
	char *js, *b;
	size_t off = 0, jl, pad;

	hdr = cJSON_CreateObject();
	meta = cJSON_AddObjectToObject(hdr, "__metadata__");
	cJSON_AddStringToObject(meta, "format", "pt");
	for (size_t i = 0; i < n; i++) {
		int dt = dtype == -1 ? e[i].dtype : dtype;

		if (!floats(&e[i]))
			continue;
		h = cJSON_AddObjectToObject(hdr, e[i].name);
		cJSON_AddStringToObject(h, "dtype", stdt[dt]);
		a = cJSON_AddArrayToObject(h, "shape");
		for (int d = 0; d < e[i].ndim; d++)
			cJSON_AddItemToArray(a,
			    cJSON_CreateNumber((double)e[i].shape[d]));
		a = cJSON_AddArrayToObject(h, "data_offsets");
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)off));
		off += e[i].n * tensor_dtsize(dt);
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)off));
	}
	js = cJSON_PrintUnformatted(hdr);
	cJSON_Delete(hdr);
	if (js == NULL)
		return NULL;
	jl = strlen(js);
	pad = (8 - (8 + jl) % 8) % 8;
	*len = 8 + jl + pad;
	b = xmalloc(*len);
	for (int i = 0; i < 8; i++)
		b[i] = (char)((uint64_t)(jl + pad) >> (8 * i));
	memcpy(b + 8, js, jl);
	memset(b + 8 + jl, ' ', pad);
	free(js);
	return b;
}

int
tfile_write(const char *path, const struct tfentry *e, size_t n, int dtype,
    int replace, char *err, size_t errlen)
{
	float buf[4096];
	unsigned char out[4096 * 4];
	char *h, *tmp;
	size_t hl;
	FILE *fp;

	if ((h = header(e, n, dtype, &hl)) == NULL)
		return errf(err, errlen, "%s: out of memory", path);
	if ((fp = tfile_create(path, &tmp, err, errlen)) == NULL) {
		free(h);
		return -1;
	}
	fwrite(h, 1, hl, fp);
	free(h);
	/* The values as stored, or through f32 to the dtype asked. */
	for (size_t i = 0; i < n; i++) {
		const struct tfentry *t = &e[i];
		size_t es;

		if (!floats(t))
			continue;
		es = tensor_dtsize(t->dtype);
		if (dtype == -1 || dtype == t->dtype) {
			fwrite(t->data, es, t->n, fp);
			continue;
		}
		for (size_t j = 0, k; j < t->n; j += k) {
			k = t->n - j < 4096 ? t->n - j : 4096;
			tensor_to_f32(buf, (const unsigned char *)t->data +
			    j * es, t->dtype, k);
			tensor_from_f32(out, buf, dtype, k);
			fwrite(out, tensor_dtsize(dtype), k, fp);
		}
	}
	return tfile_commit(fp, &tmp, path, replace, err, errlen);
}
