/*
 * train.h -- fine-tuning BERT for sequence classification or regression:
 * the loss, AdamW, the learning-rate schedule and the dropout masks around
 * bert.c's forward pass, which keeps its activations when it trains, and
 * its backward twins (the backward pass written out by hand, as llm.c
 * does for GPT-2).  One forward pass for encode, ablate and finetune: with
 * dropout off, finetune's logits are encode's, bit for bit.
 *
 * A batch is B examples of different lengths packed one after another
 * (bert.h): every dense layer is one product over the batch's rows,
 * attention runs per example and head, forward and backward, on gemm.c's
 * kernel and bert.c's threads where the kernel runs (OpenBLAS
 * elsewhere).
 *
 * The model being trained is a struct bert (model.h) in a layout of our
 * own, pooler and classifier included, with a second struct bert of the
 * same layout that points into the gradients.  The forward pass reads the
 * dense weights packed for the kernel (bert_train_pack), a copy made again
 * after each optimizer step.
 *
 * Semantics are those of HF BertForSequenceClassification in train mode:
 * dropout on the embeddings, on the attention probabilities, on the
 * attention and FFN outputs before each residual sum, and on the pooled
 * output; cross-entropy over num_labels, or mean squared error when
 * num_labels is 1.  A head gate (L, H), 1 by default, multiplies each
 * head's context as HF's head_mask does (Michel et al. 2019).
 */
#ifndef TRAIN_H
#define TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bert.h"
#include "model.h"

struct train_batch {
	int		 B;
	const int	*T;		/* (B) tokens per example */
	const int	*ids;		/* (N) packed */
	const int	*seg;		/* (N) token types */
	const float	*label;		/* (B) class index, or target */
};

/* One named parameter tensor, HF name without the "bert." prefix. */
struct train_tensor {
	char	 name[80];
	size_t	 off, n;		/* into params and grads */
	int	 ndim;
	size_t	 shape[2];
	int	 decay;			/* weight decay applies */
};

struct train {
	struct bert	 m;		/* the weights */
	struct bert	 g;		/* their gradients, same layout */
	float		*grads;		/* (nparams) */
	float		*am, *av;	/* AdamW moments (nparams) */
	struct train_tensor *tt;
	int		 ntt;
	float		 dropout;	/* 0 turns every dropout off */
	uint64_t	 seed;
	long		 step;		/* optimizer steps done */
	float		*gate;		/* (L, H) head gate, 1 by default */
	double		*imp;		/* (L, H) sum over examples of |dL/dgate| */
	size_t		 nimp;		/* examples summed into imp */
	int		 want_imp;	/* backward accumulates imp */
	float		 gscale;	/* train_clip's, for train_adamw */

	/* The last forward's batch, and the run that keeps its activations. */
	int		 B, train;
	float		*label;		/* (B) */
	float		*logits;	/* (B, nlabels) */
	float		*probs;		/* (B, nlabels) softmax, classification */
	float		 loss;		/* mean over the batch */
	size_t		 capB;
	const int	**idp, **segp;	/* (B) each example's */
	struct bert_run	 run;
	struct bert_train bt;		/* the run's training part */
	int		 stale;		/* weights changed: pack */
	float		*d;		/* (Np, C) backward's */
	size_t		 capd;
};

/*
 * Copy src into t, in our own layout, with nlabels classifier rows.  The
 * classifier of src is kept when it has nlabels rows, otherwise a new one
 * is drawn from N(0, 0.02) (HF initializer_range); a missing pooler is
 * drawn the same way.  With random_init every weight is drawn anew as HF
 * _init_weights does: N(0, 0.02) for matrices and embeddings (the [PAD]
 * row 0 zeroed), LayerNorm 1 and 0, biases 0.  seed seeds those draws and
 * the dropout masks.
 */
void	train_init(struct train *t, const struct bert *src, int nlabels,
	    int random_init, float dropout, uint64_t seed);
void	train_release(struct train *t);

/*
 * Forward over batch b; with train set, dropout is on, with masks drawn
 * from (seed, t->step).  Keeps the activations for train_backward(), sets
 * t->logits and returns the mean loss (0 when b->label is NULL).  The
 * batch must be valid: ids in the vocabulary, seg in the token types,
 * every T from 1 to max_position_embeddings.  Weights changed other than
 * by train_adamw() need t->stale set before.
 */
float	train_forward(struct train *t, const struct train_batch *b, int train);

/*
 * Pack the weights for the kernel (bert_train_pack) when they changed
 * since the last time (t->stale); train_forward() calls it.
 */
void	train_pack(struct train *t);

/*
 * Gradients of the last forward's mean loss into t->grads (overwritten).
 * With t->want_imp, adds |dL_x/dgate| of each example x to t->imp.
 */
void	train_backward(struct train *t);

/*
 * Scale the gradients so that their global L2 norm is at most maxnorm
 * (as torch clip_grad_norm_); maxnorm <= 0 only measures.  Returns the
 * norm before clipping.  The scaling is train_adamw()'s, as it reads the
 * gradients (t->gscale): one pass over them fewer.
 */
double	train_clip(struct train *t, double maxnorm);

/*
 * One AdamW step at learning rate lr (torch.optim.AdamW: betas 0.9 and
 * 0.999, eps 1e-8, bias correction, decoupled weight decay wd, which
 * skips biases and LayerNorm weights).  Increments t->step.
 */
void	train_adamw(struct train *t, float lr, float wd);

/*
 * Linear warmup over the first warm steps from 0, then linear decay to 0
 * at step total (HF get_linear_schedule_with_warmup); step counts from 0.
 */
float	train_lr(float lr, long step, long warm, long total);

/*
 * Dropout masks: element i of the mask for site key is kept when
 * train_keep() says so.  The key mixes the seed, the step, the layer and
 * the kind of site (TRAIN_DROP_*), so that masks are the same whatever
 * order they are drawn in.
 */
enum {
	TRAIN_DROP_EMB, TRAIN_DROP_ATT, TRAIN_DROP_AO, TRAIN_DROP_FO,
	TRAIN_DROP_POOL, TRAIN_DROP_CLS
};
uint64_t	train_key(uint64_t seed, long step, int layer, int kind);
int		train_keep(uint64_t key, size_t i, float p);
/* m[k] = train_keep(key, i0 + k, p) for k < n */
void		train_mask(unsigned char *m, uint64_t key, size_t i0,
		    size_t n, float p);
/* y (n) = x (n) where train_mask keeps it, times 1 / (1 - p), or 0 */
void		train_drop(float *y, const float *x, size_t n, uint64_t key,
		    size_t i0, float p);

/* Pseudo-random numbers for initialisation and shuffling. */
uint64_t	train_rand(uint64_t *s);		/* splitmix64 */
double		train_normal(uint64_t *s);		/* N(0, 1) */

#endif
