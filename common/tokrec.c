/*
 * tokrec.c -- token records read, checked and kept for a batch of the
 * model filters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "bert.h"
#include "model.h"
#include "rec.h"
#include "tokrec.h"
#include "util.h"

void
tokrec_init(struct tokrec *r)
{
	memset(r, 0, sizeof(*r));
	msgpack_sbuffer_init(&r->sb);
	msgpack_unpacked_init(&r->up);
}

void
tokrec_release(struct tokrec *r)
{
	tokrec_done(r);
	msgpack_unpacked_destroy(&r->up);
	msgpack_sbuffer_destroy(&r->sb);
}

/* "id 'MRPC/dev/17': " for messages, or "" when the record has no id. */
static const char *
idtext(const msgpack_object *rec)
{
	static char buf[80];
	const msgpack_object *o = rec_get(rec, "id");

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return "";
	snprintf(buf, sizeof(buf), "id '%.*s': ", o->via.str.size > 60 ? 60 :
	    (int)o->via.str.size, o->via.str.ptr);
	return buf;
}

size_t
tokrec_check(const msgpack_object *rec, const struct bert_config *c,
    const struct wp_vocab *v, const char *mdir, int **idsp, int **segp)
{
	int *ids = NULL, *seg = NULL;
	size_t T, Ts;
	char err[512];

	T = rec_ints(rec, "ids", &ids);
	if (rec_get(rec, "seg") != NULL &&
	    (Ts = rec_ints(rec, "seg", &seg)) != T)
		rec_die("'seg' has %zu values, 'ids' %zu", Ts, T);
	if (T == 0)
		rec_die("'ids' is empty");
	if (T > (size_t)model_maxlen(c))
		rec_die("%s%zu tokens, longer than the %d positions of %s "
		    "(max_position_embeddings%s); tokenize -m %s truncates "
		    "to fit", idtext(rec), T, model_maxlen(c), mdir,
		    c->pos0 ? " less pad_token_id + 1" : "", mdir);
	for (size_t i = 0; i < T; i++) {
		if (ids[i] < 0 || ids[i] >= c->V)
			rec_die("'ids'[%zu] is %d, outside the vocabulary of "
			    "%d", i, ids[i], c->V);
		if (seg && c->S > 0 && (seg[i] < 0 || seg[i] >= c->S))
			rec_die("'seg'[%zu] is %d, outside the %d token types",
			    i, seg[i], c->S);
	}
	if (model_tokens(v, rec, ids, T, mdir, err, sizeof(err)) == -1)
		rec_die("%s", err);
	*idsp = ids;
	*segp = seg;
	return T;
}

void
tokrec_keep(struct tokrec *r, const msgpack_object *rec, int *ids, int *seg,
    size_t T)
{
	msgpack_packer pk;
	size_t off = 0, n;

	msgpack_sbuffer_clear(&r->sb);
	msgpack_packer_init(&pk, &r->sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *rec);
	if (msgpack_unpack_next(&r->up, r->sb.data, r->sb.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		rec_die("cannot copy the record");
	tokrec_done(r);
	r->ids = ids;
	r->seg = seg;
	r->T = (int)T;
	/* "dev.mp: record 17: id 'x'", or without the id */
	snprintf(r->where, sizeof(r->where), "%s: %s", rec_where(),
	    idtext(rec));
	n = strlen(r->where);
	r->where[n - 2] = '\0';
}

void
tokrec_done(struct tokrec *r)
{
	free(r->ids);
	free(r->seg);
	r->ids = r->seg = NULL;
}

int
tokrec_mode(const char *name, char *err, size_t errlen)
{
	if (strcmp(name, "uniform") == 0)
		return BERT_UNIFORM;
	if (strcmp(name, "zero") == 0)
		return BERT_ZERO;
	return errf(err, errlen, "'%s' is not uniform or zero", name);
}
