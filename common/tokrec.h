/*
 * tokrec.h -- token records as the filters that run a model over them
 * (encode, ablate) read them: each record's ids and seg checked against
 * the model on its own, so that an error names the record, then a copy of
 * the whole record kept until the batch it waits in has run and its
 * output is written.  And --mode, the option those filters share.
 */
#ifndef TOKREC_H
#define TOKREC_H

#include <stddef.h>

#include <msgpack.h>

#include "model.h"

/* A record waiting in a batch: its own copy, unpacked. */
struct tokrec {
	msgpack_sbuffer	 sb;
	msgpack_unpacked up;		/* up.data: the record */
	int		*ids, *seg;	/* (T); seg NULL when none */
	int		 T;
	char		 where[600];	/* "a.mp: record 17: id 'x'" */
};

void	tokrec_init(struct tokrec *r);
void	tokrec_release(struct tokrec *r);

/*
 * Check the record rec_next() has just read against the model of
 * directory mdir, with config c and vocabulary v: 'ids' of 1 to
 * max_position_embeddings tokens, each in the vocabulary; 'seg', when the
 * record has it, as long, each a token type; its tokens, when it has them,
 * the model's (model_tokens()).  Returns T with the ids and seg (NULL when
 * the record has none) in xmalloc'd arrays; dies with rec_die() naming the
 * record otherwise.
 */
size_t	tokrec_check(const msgpack_object *rec,
	    const struct bert_config *c, const struct wp_vocab *v,
	    const char *mdir, int **ids, int **seg);

/*
 * Keep the record checked in r: a copy of rec, and ids and seg (T), which r
 * owns until tokrec_done().  The copy stays valid until r is kept again.
 */
void	tokrec_keep(struct tokrec *r, const msgpack_object *rec, int *ids,
	    int *seg, size_t T);
/* The record's output is written: its ids and seg are freed. */
void	tokrec_done(struct tokrec *r);

/*
 * --mode: "uniform" is BERT_UNIFORM, the paper's way of disabling a head
 * (its attention 1/T over the T tokens), "zero" BERT_ZERO (Michel et al.,
 * Hugging Face's head_mask: no output).  Returns -1 with a message in err
 * for any other name.
 */
int	tokrec_mode(const char *name, char *err, size_t errlen);

#endif
