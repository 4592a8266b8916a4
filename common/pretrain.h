/*
 * pretrain.h -- BERT pre-training: Hugging Face BertForPreTraining's two
 * heads, masked-LM and next-sentence prediction, forward and backward, on
 * bert.c's encoder (its pieces and their backward twins, train.h's
 * AdamW and clipping) and gemm.c's kernel.
 *
 * The masked-LM head runs on the labelled rows alone (M of them):
 *
 *	h (M, C) = LayerNorm(GELU(x (M, C) . Wt^T + bt))
 *	logits (M, V) = h . wte^T + bias	(the decoder tied to wte)
 *
 * and its loss is the mean cross-entropy over those rows.  The
 * next-sentence head reads the pooler's tanh output of each sequence's
 * [CLS], without dropout, as BertPreTrainingHeads does: logits (B, 2) =
 * pooled . Wn^T + bn, and its loss the mean cross-entropy over the batch.
 * The loss is their sum (HF's total_loss).  The products of the head (the
 * decoder's over the vocabulary above all) run on gemm.c's kernel split
 * between bert.c's threads, on OpenBLAS where the kernel does not run;
 * the bits do not depend on the number of threads.
 *
 * The model is a struct train (train.h) whose weights hold the pooler and
 * both heads (groups MT_POOLER | MT_PRETRAIN, model.h) and whose
 * parameter list, for train_clip and train_adamw, lists them all.  Its
 * classifier (cw, cb, nlabels 2) is the next-sentence head, so that
 * bert.c's bert_head and bert_head_backward compute it.
 */
#ifndef PRETRAIN_H
#define PRETRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "train.h"

/* The label of a token without loss (HF's ignore_index). */
#define PT_IGNORE	(-100)

struct pt_batch {
	int		 B;
	const int	*T;		/* (B) tokens per sequence */
	const int	*ids;		/* (N) packed, masked */
	const int	*seg;		/* (N) token types */
	const int	*label;		/* (N) original id, or PT_IGNORE */
	const int	*nsp;		/* (B) 0 next, 1 random; NULL: none */
};

struct pretrain {
	struct train	 t;		/* weights, gradients, moments, run */

	/* the last forward's masked-LM rows and what the backward needs */
	int		 M;
	int		*row;		/* (M) packed row in the run */
	int		*lab;		/* (M) the token to predict */
	float		*xm;		/* (M, C) last hidden state's rows */
	float		*z;		/* (M, C) transform before GELU */
	float		*ge;		/* (M, C) after GELU */
	float		*hn;		/* (M, C) after LayerNorm */
	float		*mr;		/* (2M) LayerNorm's mean, rstd */
	float		*lg;		/* (M, V) logits, then softmax */
	float		*dm;		/* (M, C) scratch gradient */
	float		*nz;		/* (B, 2) NSP logits, then softmax */
	int		*nl;		/* (B) NSP labels */
	int		 has_nsp;	/* the batch had NSP labels */
	size_t		 capM, capB;
	float		*pk;		/* packed weights, scratch */
	size_t		 cappk;

	float		 mlm_loss, nsp_loss, loss;
	int		 correct;	/* rows whose argmax is the label */
};

/*
 * A model of configuration c in p: with src, src's weights (its pooler
 * and heads where it has them, else drawn anew), else every weight drawn
 * as HF _init_weights does (N(0, 0.02), the [PAD] row 0, LayerNorm 1 and
 * 0, biases 0) from seed, which also seeds the dropout masks.
 */
void	pt_init(struct pretrain *p, const struct bert_config *c,
	    const struct bert *src, float dropout, uint64_t seed);
void	pt_release(struct pretrain *p);

/*
 * Forward over b; with train, dropout is on (masks from the seed and
 * p->t.step).  Sets mlm_loss, nsp_loss (0 without b->nsp), loss and
 * correct, and returns loss.  The batch must be valid (ids in the
 * vocabulary, labels in it or PT_IGNORE, every T from 1 to
 * max_position_embeddings); a batch without a label has mlm_loss 0.
 */
float	pt_forward(struct pretrain *p, const struct pt_batch *b, int train);

/* Gradients of the last forward's loss into p->t.grads (overwritten). */
void	pt_backward(struct pretrain *p);

/*
 * The model to write (stw_write): p's weights, the heads as
 * BertForPreTraining names them, no classifier.  Shares p's memory.
 */
void	pt_model(const struct pretrain *p, struct bert *m);

#endif
