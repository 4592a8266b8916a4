/*
 * rec.h -- record streams (DESIGN.md section 2): a sequence of msgpack maps,
 * read record by record from file operands or stdin, gzip detected by its
 * magic and inflated, written to stdout, gzipped when asked.
 *
 * Errors in a stream name the record the way jq names <stdin>:1:
 * "record 17: 'ids' is a string, expected an array of integers", and with
 * the file when it is not stdin: "dev.mp: record 17: ...".
 */
#ifndef REC_H
#define REC_H

#include <stddef.h>
#include <stdio.h>

#include <msgpack.h>

#include "tensor.h"

/* ---- reading ---- */

struct rec_reader;

/*
 * Read the files named by argv[0..argc-1] one after another ("-" is stdin),
 * or stdin when argc is 0.
 */
struct rec_reader	*rec_open(int argc, char *const argv[]);
void			 rec_close(struct rec_reader *rr);

/*
 * Read the next record.  Returns 1 and sets *obj (valid until the next call),
 * 0 at a clean end of input, -1 on a malformed or truncated stream, a
 * record that is not a map, or an I/O error, with the message in
 * rec_error(rr).
 */
int		 rec_read(struct rec_reader *rr, msgpack_object *obj);
const char	*rec_error(const struct rec_reader *rr);

/* rec_read() that reports an error with errx(1) itself: 1 or 0. */
int		 rec_next(struct rec_reader *rr, msgpack_object *obj);

/* Records read so far by rr; the record number of the current one. */
size_t		 rec_count(const struct rec_reader *rr);

/*
 * Where the current record of the reader read last came from:
 * "record 17" or "dev.mp: record 17".
 */
const char	*rec_where(void);

/*
 * A function that rec_die() and rec_next() call before they exit, once: a
 * filter that holds records back (a batch) writes out the good ones.
 */
void	rec_atdie(void (*fn)(void *), void *arg);

/* Report a problem with the current record and exit 1. */
void	rec_die(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* ---- typed access to a record's keys ---- */

/* The value of key, or NULL when the record does not have it. */
const msgpack_object	*rec_get(const msgpack_object *rec, const char *key);
/* The value of key; the record must have it. */
const msgpack_object	*rec_need(const msgpack_object *rec, const char *key);

/* "a string", "an integer", "an array", "a map", ... for messages. */
const char	*rec_typename(const msgpack_object *o);

/*
 * Typed getters: each dies with rec_die() when the key is missing or its value
 * has the wrong type, saying what was found and what was expected.
 * Arrays are returned in xmalloc'd memory that the caller frees.
 */
char	*rec_str(const msgpack_object *rec, const char *key);
long long rec_int(const msgpack_object *rec, const char *key);
double	 rec_num(const msgpack_object *rec, const char *key); /* int or float */
size_t	 rec_ints(const msgpack_object *rec, const char *key, int **v);
size_t	 rec_floats(const msgpack_object *rec, const char *key, float **v);
size_t	 rec_strs(const msgpack_object *rec, const char *key, char ***v);
void	 rec_strs_free(char **v, size_t n);
/* A tensor, checked (dtype known, shape sane, data size exact); data not copied. */
void	 rec_tensor(const msgpack_object *rec, const char *key, struct tensor *t);

/*
 * A stack of maps in attn's shape (headcount(7)): key's tensor of shape
 * [L, H, T, T], H maps a layer (H is 1 for a map per layer), each (T, T)
 * with rows as queries; none of L, H, T is 0, L and H are at most
 * REC_MAXLH.  Dies naming the record otherwise: "no key 'norm'", "'attn'
 * has shape [3, 4], expected [L, H, T, T]", "'attn' is empty".
 */
#define REC_MAXLH	4096
void	 rec_maps(const msgpack_object *rec, const char *key,
	    struct tensor *t);
/*
 * The keys of headcount(7) that hold such a stack (attn, norm, ..., attr),
 * NULL-terminated: a filter that splits a record into one record per map
 * does not copy them into each.
 */
extern const char *const rec_mapkeys[];

/* The same checks on a bare object; name is used in the message. */
int	 rec_obj_tensor(const msgpack_object *o, struct tensor *t,
	    char *err, size_t errlen);
/* 1 when o is a string equal to s. */
int	 rec_obj_streq(const msgpack_object *o, const char *s);

/* ---- writing ---- */

struct rec_writer;

/* Write to stdout; gzip-compressed when gz is set (-z). */
struct rec_writer	*rec_wopen(int gz);
/*
 * Flush and close.  A write error (a full disk) is reported with errx(1);
 * a reader that went away (EPIPE) ends the program quietly with status 0.
 */
void			 rec_wclose(struct rec_writer *w);

/*
 * A record: rec_map_begin(), its keys and values (rec_put_*(),
 * rec_copy_except(), or rec_key() and a value packed with rec_packer()),
 * rec_map_end().  The writer counts the keys: the record's body waits in
 * memory until rec_map_end() writes the map's header, the smallest that
 * holds the count, and then the body.  Records do not nest; a map inside
 * a record is packed with its count (rec_packer()).  A record that
 * rec_die() cuts short is left out.
 */
void	rec_map_begin(struct rec_writer *w);
void	rec_map_end(struct rec_writer *w);

/*
 * A key of the record begun, counted; the value follows.  Every key
 * argument below may be NULL, for a value alone (inside a map or an array
 * packed with rec_packer()), which is not counted.
 */
void	rec_key(struct rec_writer *w, const char *key);

/* The packer, for values the helpers below do not cover. */
msgpack_packer	*rec_packer(struct rec_writer *w);

/*
 * The records written so far are whole.  Records read with rec_read() mark
 * this themselves; a filter that makes records from other input (tokenize)
 * says it after each one.  When the program exits on bad input, the whole
 * records go out and nothing of the next one.
 */
void	rec_whole(struct rec_writer *w);

void	rec_put_str(struct rec_writer *w, const char *key, const char *s);
void	rec_put_int(struct rec_writer *w, const char *key, long long v);
void	rec_put_num(struct rec_writer *w, const char *key, double v);
void	rec_put_ints(struct rec_writer *w, const char *key, const int *v,
	    size_t n);
void	rec_put_floats(struct rec_writer *w, const char *key, const float *v,
	    size_t n);
void	rec_put_strs(struct rec_writer *w, const char *key, char *const *v,
	    size_t n);
/* A tensor from f32 data, stored as dtype. */
void	rec_put_tensor(struct rec_writer *w, const char *key, int dtype,
	    const size_t *shape, int ndim, const float *data);
/* A tensor whose data is in dtype already, copied as it is. */
void	rec_put_raw(struct rec_writer *w, const char *key, int dtype,
	    const size_t *shape, int ndim, const void *data);
void	rec_put_obj(struct rec_writer *w, const char *key,
	    const msgpack_object *o);

/*
 * Pass-through: the keys of rec that are not in drop (a NULL-terminated
 * list, or NULL), copied as they are into the record begun.  A filter that
 * adds keys writes rec_map_begin(w), rec_copy_except(w, rec, drop), its own
 * keys, rec_map_end(w).
 */
void	rec_copy_except(struct rec_writer *w, const msgpack_object *rec,
	    const char *const *drop);
/* A whole record unchanged (not inside one begun). */
void	rec_copy(struct rec_writer *w, const msgpack_object *rec);

#endif
