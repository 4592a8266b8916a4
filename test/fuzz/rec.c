/*
 * rec.c -- libFuzzer target: the record reader on arbitrary bytes, then
 * every key of every record through the typed getters and the tensor check,
 * and every tensor converted to f32.  Bit 0 of the first byte gzips the
 * rest before the reader sees it, so that both of its paths are driven; bit
 * 1 names the file twice, as two operands.  The getters report bad values
 * with rec_die(), which would exit: the function it calls first (rec_atdie)
 * jumps back here instead.  Seeds: the .mp files of samples/ and test/golden/.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "memfile.h"
#include "rec.h"
#include "tensor.h"

static jmp_buf	 jb;
static int	*iv;
static float	*fv;
static char	**sv;

static void
bail(void *arg)
{
	longjmp(jb, 1);
}

/* deflate with a gzip wrapper; 0 or -1. */
static int
gzip(unsigned char **out, size_t *outlen, const uint8_t *p, size_t n)
{
	z_stream zs;
	size_t cap = deflateBound(NULL, n) + 64;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	*out = malloc(cap);
	zs.next_in = (unsigned char *)p;
	zs.avail_in = n;
	zs.next_out = *out;
	zs.avail_out = cap;
	if (*out == NULL || deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(*out);
		return -1;
	}
	*outlen = cap - zs.avail_out;
	deflateEnd(&zs);
	return 0;
}

/* A tensor: checked, then every element read. */
static void
tensor(const msgpack_object *o)
{
	struct tensor t;
	char err[256];
	volatile float sum = 0;
	float *f;

	if (rec_obj_tensor(o, &t, err, sizeof(err)) == -1)
		return;
	if (t.n == 0)
		return;
	if ((f = malloc(t.n * sizeof(float))) == NULL)
		return;
	tensor_to_f32(f, t.data, t.dtype, t.n);
	sum += f[0] + f[t.n - 1] + tensor_get(&t, t.n - 1);
	free(f);
}

/* Every getter on key; those that die come back through bail(). */
static void
getters(const msgpack_object *rec, const char *key)
{
	const msgpack_object *o;
	struct tensor t;
	volatile double sum = 0;
	size_t n, k;

	if ((o = rec_get(rec, key)) == NULL)
		__builtin_trap();	/* a key of the record not found */
	(void)rec_typename(o);
	tensor(o);
	/* rec_die() calls bail() once and forgets it: set before each */
	rec_atdie(bail, NULL);
	if (setjmp(jb) == 0)
		free(rec_str(rec, key));
	rec_atdie(bail, NULL);
	if (setjmp(jb) == 0)
		sum += rec_int(rec, key);
	rec_atdie(bail, NULL);
	if (setjmp(jb) == 0)
		sum += rec_num(rec, key);
	iv = NULL;
	rec_atdie(bail, NULL);
	if (setjmp(jb) == 0) {
		if ((n = rec_ints(rec, key, &iv)) > 0)
			sum += iv[n - 1];
	}
	free(iv);
	fv = NULL;
	rec_atdie(bail, NULL);
	if (setjmp(jb) == 0) {
		if ((n = rec_floats(rec, key, &fv)) > 0)
			sum += fv[n - 1];
	}
	free(fv);
	sv = NULL;
	rec_atdie(bail, NULL);
	if (setjmp(jb) == 0) {
		n = rec_strs(rec, key, &sv);
		rec_strs_free(sv, n);
	} else if (sv != NULL) {
		/* the strings before the first that is not one were made */
		for (k = 0; k < o->via.array.size &&
		    o->via.array.ptr[k].type == MSGPACK_OBJECT_STR; k++)
			;
		rec_strs_free(sv, k);
	}
	rec_atdie(bail, NULL);
	if (setjmp(jb) == 0)
		rec_tensor(rec, key, &t);
	rec_atdie(NULL, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	const char *path;
	struct rec_reader *rr;
	msgpack_object rec;
	unsigned char *gz = NULL;
	char *argv[2], key[256];
	size_t len;
	int r;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		if (gzip(&gz, &len, data + 1, size - 1) == -1)
			return 0;
	} else {
		len = size - 1;
	}
	path = memfile(&fd, "rec", gz ? gz : data + 1, len);
	free(gz);
	if (path == NULL)
		return 0;
	argv[0] = argv[1] = (char *)path;
	rr = rec_open(data[0] & 2 ? 2 : 1, argv);
	while ((r = rec_read(rr, &rec)) == 1) {
		for (uint32_t i = 0; i < rec.via.map.size; i++) {
			const msgpack_object *k = &rec.via.map.ptr[i].key;
			if (k->type != MSGPACK_OBJECT_STR ||
			    k->via.str.size >= sizeof(key) ||
			    (k->via.str.size > 0 && memchr(k->via.str.ptr,
			    '\0', k->via.str.size)))
				continue;
			if (k->via.str.size > 0)	/* else ptr may be NULL */
				memcpy(key, k->via.str.ptr, k->via.str.size);
			key[k->via.str.size] = '\0';
			getters(&rec, key);
		}
		(void)rec_where();
	}
	if (r == -1 && rec_error(rr)[0] == '\0')
		__builtin_trap();	/* an error without a message */
	(void)rec_count(rr);
	rec_close(rr);
	return 0;
}
