/*
 * rec.c -- record streams: msgpack maps read from files or stdin (gzip
 * detected by its magic and inflated with zlib), written to stdout.
 *
 * The reader keeps one growing buffer.  Before msgpack-c sees any bytes, a
 * scan over the headers finds where the next object ends (skipping the
 * bodies of strings and bins), so that an object is unpacked only once all
 * of it is there: a claimed length can never make us allocate more than the
 * bytes that actually arrived, and end of input inside an object is told
 * apart from end of input between records.  The unpacked object points into
 * the buffer (no copy of bin data).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>
#include <zlib.h>

#include "rec.h"
#include "util.h"

#define CHUNK	(1 << 20)

struct rec_reader {
	char *const	*files;
	int		 nfiles, fi;	/* files[fi] is open */
	const char	*name;		/* of the open file; NULL for stdin */
	int		 fd;		/* of the open file; -1 when none */
	int		 gz;		/* -1 not known yet, 0 plain, 1 gzip */
	z_stream	 zs;		/* gzip: zin[] inflated into buf[] */
	unsigned char	*zin;
	size_t		 zcap;
	int		 zeof, zend;	/* gzip: no more input; a member ended */
	unsigned char	*buf;
	size_t		 cap, beg, end;	/* unconsumed bytes: buf[beg..end) */
	int		 eof;		/* of the open file */
	size_t		 nrec;		/* in the open file, for messages */
	size_t		 total;		/* in all files: rec_count() */
	msgpack_unpacked res;
	char		 err[512];
};

struct rec_writer {
	gzFile		 gz;
	unsigned char	*buf;
	size_t		 len, cap;
	size_t		 mark;	/* buf[0..mark): whole records (last read) */
	int		 dying;	/* salvage(): write errors are ignored */
	double		 checked;	/* now() at the last whole() check */
	msgpack_packer	 pk;
	/*
	 * Between rec_map_begin() and rec_map_end(), the packer's bytes
	 * go to body[0..blen) and the record's keys are counted in nkeys;
	 * rec_map_end() writes the map's header, then the body.
	 */
	int		 inmap;
	unsigned char	*body;
	size_t		 blen, bcap;
	size_t		 nkeys;
};

static char where[512] = "record 0";
static struct rec_writer *curw;		/* open, for salvage() */
static void salvage(int all);
static void salvage0(void);
static int atexitset;		/* salvage0() registered */
static void wflush(struct rec_writer *, const void *, size_t);
static void wfail(const char *);
static void whole(struct rec_writer *);
static void (*atdie)(void *);
static void *atdiearg;

void
rec_atdie(void (*fn)(void *), void *arg)
{
	atdie = fn;
	atdiearg = arg;
}

static void
runatdie(void)
{
	void (*fn)(void *) = atdie;

	atdie = NULL;
	if (fn != NULL)
		fn(atdiearg);
}

/* ---- reading ---- */

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

#define MAXDEPTH	30	/* msgpack-c unpacks no deeper than 32 */

/*
 * Find the end of the msgpack object at p[0..n): 1 and *len when it is
 * complete, 0 when more bytes are needed, -1 for a byte that starts no
 * object (0xc1), -2 for nesting deeper than MAXDEPTH.  Iterative: rem[d]
 * counts the objects still to read in the container at depth d.
 */
static int
extent(const unsigned char *p, size_t n, size_t *len)
{
	uint64_t rem[MAXDEPTH + 1], pending = 1, body, kids;
	size_t i = 0;
	unsigned c;
	int d = 0, hl;

	rem[0] = 1;
	while (d >= 0) {
		if (rem[d] == 0) {
			d--;
			continue;
		}
		if (i >= n)
			return 0;
		c = p[i];
		rem[d]--;
		pending--;
		body = kids = 0;
		hl = 1;
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 ||
		    c == 0xc3) {
			;
		} else if (c >= 0x80 && c <= 0x8f) {
			kids = 2 * (uint64_t)(c & 0x0f);
		} else if (c >= 0x90 && c <= 0x9f) {
			kids = c & 0x0f;
		} else if (c >= 0xa0 && c <= 0xbf) {
			body = c & 0x1f;
		} else {
			switch (c) {
			case 0xc4: case 0xd9: hl = 2; break;	/* bin8 str8 */
			case 0xc5: case 0xda: hl = 3; break;
			case 0xc6: case 0xdb: hl = 5; break;
			case 0xc7: hl = 3; break;		/* ext8 */
			case 0xc8: hl = 4; break;
			case 0xc9: hl = 6; break;
			case 0xca: hl = 5; break;		/* float32 */
			case 0xcb: hl = 9; break;
			case 0xcc: case 0xd0: hl = 2; break;
			case 0xcd: case 0xd1: hl = 3; break;
			case 0xce: case 0xd2: hl = 5; break;
			case 0xcf: case 0xd3: hl = 9; break;
			case 0xd4: hl = 3; break;		/* fixext */
			case 0xd5: hl = 4; break;
			case 0xd6: hl = 6; break;
			case 0xd7: hl = 10; break;
			case 0xd8: hl = 18; break;
			/* array16, map16; array32, map32 */
			case 0xdc: case 0xde: hl = 3; break;
			case 0xdd: case 0xdf: hl = 5; break;
			default: return -1;			/* 0xc1 */
			}
			if (n - i < (size_t)hl)
				return 0;
			switch (c) {
			case 0xc4: case 0xc5: case 0xc6:
			case 0xd9: case 0xda: case 0xdb:
				body = be(p + i + 1, hl - 1);
				break;
			case 0xc7: case 0xc8: case 0xc9:
				body = be(p + i + 1, hl - 2);	/* + type */
				break;
			case 0xdc: case 0xdd:
				kids = be(p + i + 1, hl - 1);
				break;
			case 0xde: case 0xdf:
				kids = 2 * be(p + i + 1, hl - 1);
				break;
			}
		}
		if (n - i < (size_t)hl || n - i - hl < body)
			return 0;
		i += hl + body;
		if (kids > 0) {
			if (d == MAXDEPTH)
				return -2;
			rem[++d] = kids;
			pending += kids;
		}
		/* each object still to come needs at least a byte */
		if (pending > n - i)
			return 0;
	}
	*len = i;
	return 1;
}

static int
rfail(struct rec_reader *rr, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(rr->err, sizeof(rr->err), "%s%srecord %zu: ",
	    rr->name ? rr->name : "", rr->name ? ": " : "", rr->nrec + 1);
	va_start(ap, fmt);
	vsnprintf(rr->err + k, sizeof(rr->err) - k, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * A pipe of 64 kB costs a context switch per 64 kB; a larger one (Linux,
 * up to /proc/sys/fs/pipe-max-size) lets a record cross in fewer steps.
 */
static void
bigpipe(int fd)
{
#ifdef F_SETPIPE_SZ
	(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);	/* fails on files: fine */
#endif
}

/* Open files[fi] (stdin when there are none); 0 or -1. */
static int
ropen(struct rec_reader *rr)
{
	int fd;

	rr->name = NULL;
	if (rr->nfiles == 0 || strcmp(rr->files[rr->fi], "-") == 0) {
		fd = dup(0);
	} else {
		rr->name = rr->files[rr->fi];
		fd = open(rr->name, O_RDONLY);
	}
	if (fd == -1) {
		snprintf(rr->err, sizeof(rr->err), "%s: %s",
		    rr->name ? rr->name : "<stdin>", strerror(errno));
		return -1;
	}
	bigpipe(fd);
	rr->fd = fd;
	rr->gz = -1;
	rr->zeof = rr->zend = 0;
	rr->beg = rr->end = 0;
	rr->eof = 0;
	return 0;
}

static void
rclose(struct rec_reader *rr)
{
	if (rr->fd == -1)
		return;
	close(rr->fd);
	rr->fd = -1;
	if (rr->gz == 1)
		inflateEnd(&rr->zs);
	free(rr->zin);
	rr->zin = NULL;
}

struct rec_reader *
rec_open(int argc, char *const argv[])
{
	struct rec_reader *rr = xcalloc(1, sizeof(*rr));

	rr->files = argv;
	rr->nfiles = argc;
	rr->cap = CHUNK;
	rr->buf = xmalloc(rr->cap);
	rr->fd = -1;
	msgpack_unpacked_init(&rr->res);
	if (ropen(rr) == -1)
		errx(1, "%s", rr->err);
	return rr;
}

void
rec_close(struct rec_reader *rr)
{
	if (rr == NULL)
		return;
	rclose(rr);
	msgpack_unpacked_destroy(&rr->res);
	free(rr->buf);
	free(rr);
}

/*
 * Before a read that would wait for a slow producer, pass on what is ready:
 * the records written so far (rec_read is called between records, so they
 * are whole) and stdio's buffer.  A pipeline then moves record by record
 * when its input trickles in, and in large writes when it does not.
 */
static void
beforewait(int fd)
{
	struct pollfd pfd;
	struct rec_writer *w = curw;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0)
		return;
	if (w != NULL && w->len > 0) {
		wflush(w, w->buf, w->len);
		w->len = w->mark = 0;
		if (w->gz != NULL && gzflush(w->gz, Z_SYNC_FLUSH) != Z_OK)
			wfail("");
	}
	if (fflush(stdout) == EOF)
		wfail("");
}

/* read(2), again when interrupted; what is ready is passed on first. */
static ssize_t
rdfd(int fd, unsigned char *p, size_t n)
{
	ssize_t r;

	beforewait(fd);
	while ((r = read(fd, p, n)) == -1 && errno == EINTR)
		;
	return r;
}

/*
 * Inflate what the open gzip file has to give: bytes added to buf, 0 at the
 * end of the last member, -1.  Returns as soon as it has something, so that
 * a record on a slow pipe is not held back waiting for a full buffer.
 * Members one after the other are one stream, as gzip(1) has it.
 */
static int
inflatemore(struct rec_reader *rr)
{
	size_t room, got;
	ssize_t n;
	int ret;

	for (;;) {
		if (rr->zs.avail_in == 0 && !rr->zeof) {
			if ((n = rdfd(rr->fd, rr->zin, rr->zcap)) == -1)
				return rfail(rr, "%s", strerror(errno));
			rr->zeof = n == 0;
			rr->zs.next_in = rr->zin;
			rr->zs.avail_in = n;
		}
		if (rr->zend) {
			if (rr->zs.avail_in == 0) {
				if (rr->zeof)
					return 0;
				continue;
			}
			inflateReset(&rr->zs);
			rr->zend = 0;
		}
		if (rr->zs.avail_in == 0)
			return rfail(rr, "bad gzip data: unexpected end of "
			    "file");
		room = rr->cap - rr->end;
		if (room > UINT_MAX)
			room = UINT_MAX;
		rr->zs.next_out = rr->buf + rr->end;
		rr->zs.avail_out = room;
		ret = inflate(&rr->zs, Z_NO_FLUSH);
		got = room - rr->zs.avail_out;
		rr->end += got;
		if (ret == Z_STREAM_END)
			rr->zend = 1;
		else if (ret == Z_MEM_ERROR)
			return rfail(rr, "out of memory inflating gzip data");
		else if (ret != Z_OK && ret != Z_BUF_ERROR)
			return rfail(rr, "bad gzip data: %s", rr->zs.msg ?
			    rr->zs.msg : "inflate failed");
		if (got > 0)
			return got > INT_MAX ? INT_MAX : (int)got;
	}
}

/*
 * Read more of the open file into the buffer: bytes read, 0 at EOF, -1.
 * The first bytes of a file tell whether it is gzip (1f 8b) or not.
 */
static int
fill(struct rec_reader *rr)
{
	ssize_t n;

	if (rr->beg > 0 && (rr->end == rr->cap || rr->beg > rr->cap / 2)) {
		memmove(rr->buf, rr->buf + rr->beg, rr->end - rr->beg);
		rr->end -= rr->beg;
		rr->beg = 0;
	}
	if (rr->end == rr->cap) {
		rr->cap *= 2;
		rr->buf = xreallocarray(rr->buf, rr->cap, 1);
	}
	if (rr->gz == 1)
		return inflatemore(rr);
	if (rr->gz == -1) {
		/* a fresh file: beg == end == 0 */
		while (rr->end < 2) {
			n = rdfd(rr->fd, rr->buf + rr->end, rr->cap - rr->end);
			if (n == -1)
				return rfail(rr, "%s", strerror(errno));
			if (n == 0)
				break;
			rr->end += n;
		}
		if (rr->end < 2 || rr->buf[0] != 0x1f || rr->buf[1] != 0x8b) {
			rr->gz = 0;
			return rr->end;
		}
		rr->gz = 1;
		memset(&rr->zs, 0, sizeof(rr->zs));
		if (inflateInit2(&rr->zs, 16 + MAX_WBITS) != Z_OK)
			return rfail(rr, "cannot start inflating gzip data");
		/* what was read is gzip input: it moves to zin */
		rr->zcap = rr->cap;
		rr->zin = rr->buf;
		rr->zs.next_in = rr->zin;
		rr->zs.avail_in = rr->end;
		rr->buf = xmalloc(rr->cap);
		rr->end = 0;
		return inflatemore(rr);
	}
	n = rdfd(rr->fd, rr->buf + rr->end,
	    rr->cap - rr->end > INT_MAX ? INT_MAX : rr->cap - rr->end);
	if (n == -1)
		return rfail(rr, "%s", strerror(errno));
	rr->end += n;
	return n;
}

int
rec_read(struct rec_reader *rr, msgpack_object *obj)
{
	size_t len, off;
	int r;

	for (;;) {
		if (rr->end > rr->beg) {
			r = extent(rr->buf + rr->beg, rr->end - rr->beg, &len);
			if (r == -1)
				return rfail(rr, "not msgpack (byte 0xc1)");
			if (r == -2)
				return rfail(rr, "nested deeper than %d "
				    "levels", MAXDEPTH);
			if (r == 1)
				break;
		}
		if (rr->eof) {
			if (rr->end > rr->beg)
				return rfail(rr, "truncated record "
				    "(end of input inside it)");
			rclose(rr);
			if (rr->fi + 1 >= rr->nfiles) {
				if (curw != NULL)	/* all before is whole */
					whole(curw);
				return 0;
			}
			rr->fi++;
			if (ropen(rr) == -1)
				return -1;
			rr->nrec = 0;
			continue;
		}
		if ((r = fill(rr)) == -1)
			return -1;
		if (r == 0)
			rr->eof = 1;
	}
	off = 0;
	r = msgpack_unpack_next(&rr->res, (const char *)rr->buf + rr->beg,
	    len, &off);
	if (r == MSGPACK_UNPACK_NOMEM_ERROR)
		return rfail(rr, "out of memory unpacking %zu bytes", len);
	if (r != MSGPACK_UNPACK_SUCCESS || off != len)
		return rfail(rr, "malformed msgpack (nested too deeply?)");
	rr->beg += len;
	if (rr->res.data.type != MSGPACK_OBJECT_MAP)
		return rfail(rr, "not a map (found %s)",
		    rec_typename(&rr->res.data));
	rr->nrec++;
	rr->total++;
	if (curw != NULL)
		whole(curw);	/* what went before is whole */
	snprintf(where, sizeof(where), "%s%srecord %zu",
	    rr->name ? rr->name : "", rr->name ? ": " : "", rr->nrec);
	*obj = rr->res.data;
	return 1;
}

const char *
rec_error(const struct rec_reader *rr)
{
	return rr->err;
}

int
rec_next(struct rec_reader *rr, msgpack_object *obj)
{
	int r;

	if ((r = rec_read(rr, obj)) == -1) {
		runatdie();
		salvage(1);
		errx(1, "%s", rr->err);
	}
	return r;
}

size_t
rec_count(const struct rec_reader *rr)
{
	return rr->total;
}

const char *
rec_where(void)
{
	return where;
}

void
rec_die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (curw != NULL) {	/* a record begun is left out */
		curw->inmap = 0;
		curw->blen = 0;
	}
	runatdie();
	salvage(0);
	errx(1, "%s: %s", where, msg);
}

/* ---- typed access ---- */

const msgpack_object *
rec_get(const msgpack_object *rec, const char *key)
{
	size_t n = strlen(key);

	if (rec->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object *k = &rec->via.map.ptr[i].key;
		/* an empty string's ptr may be NULL, which memcmp must not see */
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
		    (n == 0 || memcmp(k->via.str.ptr, key, n) == 0))
			return &rec->via.map.ptr[i].val;
	}
	return NULL;
}

const msgpack_object *
rec_need(const msgpack_object *rec, const char *key)
{
	const msgpack_object *o;

	if ((o = rec_get(rec, key)) == NULL)
		rec_die("no key '%s'", key);
	return o;
}

const char *
rec_typename(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:		return "nil";
	case MSGPACK_OBJECT_BOOLEAN:		return "a boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:	return "an integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:		return "a float";
	case MSGPACK_OBJECT_STR:		return "a string";
	case MSGPACK_OBJECT_BIN:		return "binary data";
	case MSGPACK_OBJECT_ARRAY:		return "an array";
	case MSGPACK_OBJECT_MAP:		return "a map";
	default:				return "an extension";
	}
}

static int
isint(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static int
isnum(const msgpack_object *o)
{
	return isint(o) || o->type == MSGPACK_OBJECT_FLOAT32 ||
	    o->type == MSGPACK_OBJECT_FLOAT64;
}

static double
num(const msgpack_object *o)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (double)o->via.u64;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (double)o->via.i64;
	return o->via.f64;
}

static const msgpack_object *
need(const msgpack_object *rec, const char *key, int type, const char *what)
{
	const msgpack_object *o = rec_need(rec, key);

	if ((int)o->type != type)
		rec_die("'%s' is %s, expected %s", key, rec_typename(o), what);
	return o;
}

char *
rec_str(const msgpack_object *rec, const char *key)
{
	const msgpack_object *o = need(rec, key, MSGPACK_OBJECT_STR,
	    "a string");

	return xstrndup(o->via.str.ptr, o->via.str.size);
}

long long
rec_int(const msgpack_object *rec, const char *key)
{
	const msgpack_object *o = rec_need(rec, key);

	if (!isint(o))
		rec_die("'%s' is %s, expected an integer", key,
		    rec_typename(o));
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 > INT64_MAX)
		rec_die("'%s' is too large", key);
	return o->via.i64;
}

double
rec_num(const msgpack_object *rec, const char *key)
{
	const msgpack_object *o = rec_need(rec, key);

	if (!isnum(o))
		rec_die("'%s' is %s, expected a number", key, rec_typename(o));
	return num(o);
}

size_t
rec_ints(const msgpack_object *rec, const char *key, int **v)
{
	const msgpack_object *o = need(rec, key, MSGPACK_OBJECT_ARRAY,
	    "an array of integers");
	size_t n = o->via.array.size;

	*v = xreallocarray(NULL, n, sizeof(int));
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		if (!isint(e))
			rec_die("'%s'[%zu] is %s, expected an integer", key, i,
			    rec_typename(e));
		if ((e->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    e->via.u64 > INT32_MAX) || e->via.i64 < INT32_MIN)
			rec_die("'%s'[%zu] is outside the range of int", key,
			    i);
		(*v)[i] = (int)e->via.i64;
	}
	return n;
}

size_t
rec_floats(const msgpack_object *rec, const char *key, float **v)
{
	const msgpack_object *o = need(rec, key, MSGPACK_OBJECT_ARRAY,
	    "an array of numbers");
	size_t n = o->via.array.size;

	*v = xreallocarray(NULL, n, sizeof(float));
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		if (!isnum(e))
			rec_die("'%s'[%zu] is %s, expected a number", key, i,
			    rec_typename(e));
		(*v)[i] = (float)num(e);
	}
	return n;
}

size_t
rec_strs(const msgpack_object *rec, const char *key, char ***v)
{
	const msgpack_object *o = need(rec, key, MSGPACK_OBJECT_ARRAY,
	    "an array of strings");
	size_t n = o->via.array.size;

	*v = xreallocarray(NULL, n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_STR)
			rec_die("'%s'[%zu] is %s, expected a string", key, i,
			    rec_typename(e));
		(*v)[i] = xstrndup(e->via.str.ptr, e->via.str.size);
	}
	return n;
}

void
rec_strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n && v != NULL; i++)
		free(v[i]);
	free(v);
}

int
rec_obj_streq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	    (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

int
rec_obj_tensor(const msgpack_object *o, struct tensor *t, char *err,
    size_t errlen)
{
	const msgpack_object *dt, *sh, *da;
	char name[16];
	size_t need, n = 1;

	if (o->type != MSGPACK_OBJECT_MAP)
		return errf(err, errlen, "is %s, expected a tensor map "
		    "{dtype, shape, data}", rec_typename(o));
	if ((dt = rec_get(o, "dtype")) == NULL ||
	    (sh = rec_get(o, "shape")) == NULL ||
	    (da = rec_get(o, "data")) == NULL)
		return errf(err, errlen, "is a map without '%s', expected a "
		    "tensor {dtype, shape, data}", dt == NULL ? "dtype" :
		    rec_get(o, "shape") == NULL ? "shape" : "data");
	if (dt->type != MSGPACK_OBJECT_STR ||
	    dt->via.str.size >= sizeof(name))
		return errf(err, errlen, "has a dtype that is %s, expected "
		    "\"f32\", \"f16\" or \"bf16\"", rec_typename(dt));
	memcpy(name, dt->via.str.ptr, dt->via.str.size);
	name[dt->via.str.size] = '\0';
	if ((t->dtype = tensor_dtype(name)) == -1)
		return errf(err, errlen, "has dtype '%s', expected f32, f16 or "
		    "bf16", name);
	if (sh->type != MSGPACK_OBJECT_ARRAY ||
	    sh->via.array.size > TENSOR_MAXDIM)
		return errf(err, errlen, "has a shape that is %s, expected an "
		    "array of at most %d integers", rec_typename(sh),
		    TENSOR_MAXDIM);
	t->ndim = sh->via.array.size;
	for (int i = 0; i < t->ndim; i++) {
		const msgpack_object *e = &sh->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    e->via.u64 > (uint64_t)1 << 40 ||
		    (e->via.u64 && n > SIZE_MAX / 8 / e->via.u64))
			return errf(err, errlen, "has shape[%d] that is %s, "
			    "expected a size", i, isint(e) ?
			    "negative or too large" : rec_typename(e));
		t->shape[i] = e->via.u64;
		n *= e->via.u64;
	}
	if (da->type != MSGPACK_OBJECT_BIN)
		return errf(err, errlen, "has data that is %s, expected binary "
		    "data", rec_typename(da));
	need = n * tensor_dtsize(t->dtype);
	if (da->via.bin.size != need) {
		char s[128];
		int k = 0;
		for (int i = 0; i < t->ndim && k < 100; i++)
			k += snprintf(s + k, sizeof(s) - k, "%s%zu",
			    i ? ", " : "", t->shape[i]);
		s[k] = '\0';
		return errf(err, errlen, "has shape [%s] of %s, which needs "
		    "%zu bytes, but its data has %u", s, name, need,
		    da->via.bin.size);
	}
	t->n = n;
	t->data = da->via.bin.ptr;
	return 0;
}

void
rec_tensor(const msgpack_object *rec, const char *key, struct tensor *t)
{
	char err[256];

	if (rec_obj_tensor(rec_need(rec, key), t, err, sizeof(err)) == -1)
		rec_die("'%s' %s", key, err);
}

const char *const rec_mapkeys[] = {
	"attn", "norm", "norm_layer", "alti", "vz", "rollout", "flow", "attr",
	NULL
};

void
rec_maps(const msgpack_object *rec, const char *key, struct tensor *t)
{
	char sh[128] = "";
	size_t k = 0;

	if (rec_get(rec, key) == NULL)
		rec_die("no key '%s'%s", key, strcmp(key, "attn") == 0 ?
		    " (run encode -a first)" : "");
	rec_tensor(rec, key, t);
	if (t->ndim != 4 || t->shape[2] != t->shape[3]) {
		for (int d = 0; d < t->ndim && k < sizeof(sh) - 24; d++)
			k += snprintf(sh + k, sizeof(sh) - k, "%s%zu",
			    d ? ", " : "", t->shape[d]);
		rec_die("'%s' has shape [%s], expected [L, H, T, T]", key, sh);
	}
	if (t->shape[0] == 0 || t->shape[1] == 0 || t->shape[2] == 0)
		rec_die("'%s' is empty", key);
	if (t->shape[0] > REC_MAXLH || t->shape[1] > REC_MAXLH)
		rec_die("'%s' has %zu layers of %zu maps, more than %d", key,
		    t->shape[0], t->shape[1], REC_MAXLH);
}

/* ---- writing ---- */

static void
wfail(const char *what)
{
	if (errno == EPIPE)
		exit(0);	/* the reader went away: quietly done */
	err(1, "stdout%s", what);
}

static void
wflush(struct rec_writer *w, const void *p, size_t n)
{
	const char *s = p;
	ssize_t k;
	int zerr;

	if (w->gz != NULL) {
		while (n > 0) {
			unsigned m = n > (1u << 30) ? 1u << 30 : (unsigned)n;
			if (gzwrite(w->gz, s, m) != (int)m) {
				if (w->dying)
					return;
				const char *msg = gzerror(w->gz, &zerr);
				if (zerr == Z_ERRNO)
					wfail("");
				errx(1, "stdout: %s", msg);
			}
			s += m;
			n -= m;
		}
		return;
	}
	while (n > 0) {
		if ((k = write(1, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			if (w->dying)
				return;
			wfail("");
		}
		s += k;
		n -= k;
	}
}

static int
wcb(void *data, const char *p, size_t n)
{
	struct rec_writer *w = data;

	if (n == 0)
		return 0;
	if (w->inmap) {		/* a record's body, until its end */
		if (w->blen + n > w->bcap) {
			while (w->blen + n > w->bcap)
				w->bcap = w->bcap ? 2 * w->bcap : CHUNK;
			w->body = xreallocarray(w->body, w->bcap, 1);
		}
		memcpy(w->body + w->blen, p, n);
		w->blen += n;
		return 0;
	}
	if (w->len + n > w->cap || n >= w->cap / 2) {
		/*
		 * The whole records go out; the start of the current one
		 * stays (so that an exit on bad input leaves no half record)
		 * unless what comes would not fit beside it.
		 */
		if (n < w->cap / 2 && w->len - w->mark + n <= w->cap) {
			wflush(w, w->buf, w->mark);
			memmove(w->buf, w->buf + w->mark, w->len - w->mark);
			w->len -= w->mark;
		} else {
			wflush(w, w->buf, w->len);
			w->len = 0;
		}
		w->mark = 0;
	}
	if (n >= w->cap / 2) {		/* large: straight from the caller */
		wflush(w, p, n);
		return 0;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

struct rec_writer *
rec_wopen(int gz)
{
	struct rec_writer *w = xcalloc(1, sizeof(*w));

	outinit();
	bigpipe(1);
	if (gz && (w->gz = gzdopen(dup(1), "wb6")) == NULL)
		err(1, "stdout: gzdopen");
	w->cap = CHUNK;
	w->buf = xmalloc(w->cap);
	w->checked = now();
	msgpack_packer_init(&w->pk, w, wcb);
	curw = w;
	if (!atexitset)
		atexit(salvage0);
	atexitset = 1;
	return w;
}

/*
 * The records written so far are whole.  At most every OUTCHECK_SECONDS
 * they also go out (a slow filter's records reach the next one without
 * waiting for a full buffer) and the reader is asked whether it is still
 * there: a pipeline whose reader has gone (`encode | head -c 1`) ends at
 * the next record, with status 0, instead of computing to the end of its
 * input.  The cost is a clock read per record and two system calls every
 * OUTCHECK_SECONDS, whatever the record size.  A gzip stream is not
 * flushed (that would change its bytes with the timing), only polled.
 */
static void
whole(struct rec_writer *w)
{
	double t;

	w->mark = w->len;
	if (w->dying || (t = now()) - w->checked < OUTCHECK_SECONDS)
		return;
	w->checked = t;
	if (w->gz == NULL && w->len > 0) {
		wflush(w, w->buf, w->len);	/* EPIPE: wfail() exits 0 */
		w->len = w->mark = 0;
	}
	if (outgone(1))
		exit(0);
}

void
rec_whole(struct rec_writer *w)
{
	whole(w);
}

void
rec_wclose(struct rec_writer *w)
{
	int zerr;

	if (w->inmap)
		errx(1, "internal error: rec_wclose() inside a record");
	if (curw == w)
		curw = NULL;	/* no salvage(): it all goes out here */
	wflush(w, w->buf, w->len);
	w->len = 0;
	if (w->gz != NULL) {
		zerr = gzclose(w->gz);
		if (zerr == Z_ERRNO)
			wfail("");
		if (zerr != Z_OK)
			errx(1, "stdout: gzip error %d", zerr);
	}
	if (fflush(stdout) == EOF)
		wfail("");
	free(w->buf);
	free(w->body);
	free(w);
}

/*
 * The program is about to exit on bad input: write out the records that are
 * whole (all that is buffered when a read failed, the records before the
 * current one otherwise), ignoring write errors, so that the exit status
 * stays 1.
 */
static void
salvage(int all)
{
	struct rec_writer *w = curw;

	if (w == NULL)
		return;
	curw = NULL;
	w->dying = 1;
	wflush(w, w->buf, all ? w->len : w->mark);
	if (w->gz != NULL)
		gzclose(w->gz);
}

/* At exit with the writer open (an errx() anywhere): the whole records. */
static void
salvage0(void)
{
	salvage(0);
}

msgpack_packer *
rec_packer(struct rec_writer *w)
{
	return &w->pk;
}

void
rec_map_begin(struct rec_writer *w)
{
	if (w->inmap)
		errx(1, "internal error: a record begun inside a record");
	w->inmap = 1;
	w->blen = 0;
	w->nkeys = 0;
}

void
rec_map_end(struct rec_writer *w)
{
	if (!w->inmap)
		errx(1, "internal error: the end of a record not begun");
	w->inmap = 0;
	if (w->nkeys > UINT32_MAX)
		errx(1, "a record of %zu keys", w->nkeys);
	/* msgpack-c writes the smallest header that holds the count */
	msgpack_pack_map(&w->pk, (size_t)w->nkeys);
	wcb(w, (const char *)w->body, w->blen);
	w->blen = 0;
}

/* A string, as a value or a key of a map inside a record. */
static void
pstr(struct rec_writer *w, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(&w->pk, n);
	msgpack_pack_str_body(&w->pk, s, n);
}

void
rec_key(struct rec_writer *w, const char *key)
{
	if (key == NULL)
		return;		/* a value alone */
	w->nkeys++;
	pstr(w, key);
}

void
rec_put_str(struct rec_writer *w, const char *key, const char *s)
{
	rec_key(w, key);
	pstr(w, s);
}

void
rec_put_int(struct rec_writer *w, const char *key, long long v)
{
	rec_key(w, key);
	msgpack_pack_long_long(&w->pk, v);
}

void
rec_put_num(struct rec_writer *w, const char *key, double v)
{
	rec_key(w, key);
	msgpack_pack_double(&w->pk, v);
}

void
rec_put_ints(struct rec_writer *w, const char *key, const int *v, size_t n)
{
	rec_key(w, key);
	msgpack_pack_array(&w->pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_int(&w->pk, v[i]);
}

void
rec_put_floats(struct rec_writer *w, const char *key, const float *v,
    size_t n)
{
	rec_key(w, key);
	msgpack_pack_array(&w->pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_float(&w->pk, v[i]);
}

void
rec_put_strs(struct rec_writer *w, const char *key, char *const *v, size_t n)
{
	rec_key(w, key);
	msgpack_pack_array(&w->pk, n);
	for (size_t i = 0; i < n; i++)
		pstr(w, v[i]);
}

/* A tensor's map up to its data's bin header; returns its values. */
static size_t
tensorhead(struct rec_writer *w, const char *key, int dtype,
    const size_t *shape, int ndim)
{
	size_t n = 1;

	for (int i = 0; i < ndim; i++)
		n *= shape[i];
	rec_key(w, key);
	msgpack_pack_map(&w->pk, 3);
	pstr(w, "dtype");
	pstr(w, tensor_dtypename(dtype));
	pstr(w, "shape");
	msgpack_pack_array(&w->pk, ndim);
	for (int i = 0; i < ndim; i++)
		msgpack_pack_uint64(&w->pk, shape[i]);
	pstr(w, "data");
	msgpack_pack_bin(&w->pk, n * tensor_dtsize(dtype));
	return n;
}

void
rec_put_raw(struct rec_writer *w, const char *key, int dtype,
    const size_t *shape, int ndim, const void *data)
{
	size_t n = tensorhead(w, key, dtype, shape, ndim);

	msgpack_pack_bin_body(&w->pk, data, n * tensor_dtsize(dtype));
}

void
rec_put_tensor(struct rec_writer *w, const char *key, int dtype,
    const size_t *shape, int ndim, const float *data)
{
	unsigned char tmp[8192];
	size_t n, es = tensor_dtsize(dtype);

	if (dtype == DT_F32) {
		rec_put_raw(w, key, dtype, shape, ndim, data);
		return;
	}
	n = tensorhead(w, key, dtype, shape, ndim);
	for (size_t i = 0; i < n; i += sizeof(tmp) / es) {
		size_t m = n - i < sizeof(tmp) / es ? n - i : sizeof(tmp) / es;
		tensor_from_f32(tmp, data + i, dtype, m);
		msgpack_pack_bin_body(&w->pk, tmp, m * es);
	}
}

void
rec_put_obj(struct rec_writer *w, const char *key, const msgpack_object *o)
{
	rec_key(w, key);
	msgpack_pack_object(&w->pk, *o);
}

static int
dropped(const msgpack_object *k, const char *const *drop)
{
	for (; drop != NULL && *drop != NULL; drop++)
		if (rec_obj_streq(k, *drop))
			return 1;
	return 0;
}

void
rec_copy_except(struct rec_writer *w, const msgpack_object *rec,
    const char *const *drop)
{
	for (uint32_t i = 0; i < rec->via.map.size; i++) {
		const msgpack_object_kv *kv = &rec->via.map.ptr[i];
		if (dropped(&kv->key, drop))
			continue;
		w->nkeys++;
		msgpack_pack_object(&w->pk, kv->key);
		msgpack_pack_object(&w->pk, kv->val);
	}
}

void
rec_copy(struct rec_writer *w, const msgpack_object *rec)
{
	if (w->inmap)
		errx(1, "internal error: a record copied inside a record");
	msgpack_pack_object(&w->pk, *rec);
}
