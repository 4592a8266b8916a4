/*
 * bert.h -- the forward pass of a BERT encoder (struct bert, model.h) in
 * float32 with OpenBLAS, exactly as Hugging Face's BertModel and
 * BertForSequenceClassification compute it in eval mode: embeddings (word +
 * position + token type, LayerNorm), post-LayerNorm layers with erf GELU and
 * scaled dot-product attention, the tanh pooler on [CLS], the classifier.
 *
 * A run holds one batch: B sequences of lengths T[b], N = T[0] + ... +
 * T[B-1] token rows, packed one after another in Np rows: sequence b's
 * rows are off[b] .. off[b] + T[b] - 1, each off[b] a multiple of
 * bert_rowunit(), with rows of zeros between (fewer than the unit per
 * sequence).  Every dense layer is one product over the Np rows, split
 * between the threads by rows; attention is computed per sequence and
 * head.  A sequence's numbers are the same bits whatever it is packed with
 * and whatever the number of threads.  On CPUs with AVX2 and FMA the dense
 * products are gemm.c's, whose rows do not depend on their neighbours: the
 * unit is 1, and bert_run_init() rearranges the model's dense weights for
 * that kernel once; attention's products run on it too, each head's keys
 * and values rearranged in turn.  Elsewhere they are OpenBLAS's sgemm,
 * which may round a row differently in one part of its register tile than
 * in another, and chooses other kernels for products of other sizes: every
 * call has the same number of rows (the last padded with zeros), the unit
 * is the tile's rows where its position matters (12 for the Haswell and
 * Zen kernels, 1 for SkylakeX's), and OpenBLAS runs on one thread (its own
 * threads would split a product elsewhere); the threads are ours, as many
 * as OpenBLAS would have used (OPENBLAS_NUM_THREADS).
 *
 * Heads can be disabled (a struct headset, headset.h) two ways:
 * BERT_UNIFORM, the paper's: the head's attention probabilities become 1/T
 * over the T tokens; BERT_ZERO, Michel et al.'s and HF's head_mask: they
 * become 0, and so does the head's output.
 *
 * Layers are numbered from 1.  xs[l - 1] is the input of layer l (xs[0] the
 * embeddings' output, xs[L] the last hidden state); with keep set, every
 * layer's input stays, so that a later call can start at any layer: ablate
 * runs the baseline once and each head set from its first disabled layer.
 *
 * With cls_only set, only the pooler and the classifier read the last
 * layer: it computes the keys and values of every row, but the query and
 * the attention of [CLS] alone (every row's with want_attn, with OpenBLAS,
 * or where C is not a multiple of GEMM_PANEL), and goes on after
 * attention with the [CLS] rows alone; xs[L] holds
 * them, with the same bits as a whole run gives, and zeros in every other
 * row.  That saves most of the last layer's work: about 6% of a BERT-base
 * forward on GLUE-length sequences, more of a run that starts at a late
 * layer.
 */
#ifndef BERT_H
#define BERT_H

#include <stddef.h>

#include "headset.h"
#include "model.h"

enum { BERT_UNIFORM, BERT_ZERO };

struct bert_run {
	const struct bert *m;
	int	 B, N, Np;	/* sequences, token rows, rows with the padding */
	int	*T;		/* (B) lengths */
	int	*off;		/* (B + 1) row offsets, multiples of the unit */
	size_t	*aoff;		/* (B + 1) offsets of each sequence's attn */
	int	*ids, *seg;	/* (N) */
	int	 want_attn;	/* keep every layer's probabilities in attn */
	int	 cls_only;	/* of the last layer, only [CLS] is wanted */
	float	**xs;		/* L + 1 of (Np, C): each layer's input */
	float	*qkv;		/* (Np, 3C), or (3H, Np, D) */
	float	*ctx;		/* (Np, C) */
	float	*h1;		/* (Np, C) after the attention sublayer */
	float	*ff;		/* (Np, F) */
	float	*y[2];		/* (Np, C) scratch layer outputs */
	float	*probs;		/* (T, T) per thread, scratch */
	float	*kv;		/* a head's keys or values packed, per thread */
	float	*cls;		/* (2B, C): [CLS]'s rows of x, then queries */
	float	*attn;		/* sum_b (L, H, T_b, T_b); with want_attn */
	float	*pooled;	/* (B, C) */
	float	*logits;	/* (B, nlabels) */
	size_t	 capN, capB, capA, capT;
};

/*
 * Start a run on model m.  The first run on a model rearranges its layers'
 * dense weights for gemm.c (m->packed), where that kernel runs: from then
 * on they are read through bert.c alone.
 */
void	bert_run_init(struct bert_run *r, struct bert *m);
void	bert_run_release(struct bert_run *r);

/*
 * Set the batch to one sequence (ids, seg of length T; seg NULL means all 0),
 * or to B sequences, and compute the embeddings into xs[0].  Returns 0, or
 * -1 with a message in err for an id outside the vocabulary, a token type
 * outside type_vocab_size, T of 0 or over max_position_embeddings.
 */
int	bert_run_input(struct bert_run *r, const int *ids, const int *seg,
	    size_t T, char *err, size_t errlen);
int	bert_run_batch(struct bert_run *r, int B, const int *const *ids,
	    const int *const *seg, const int *T, char *err, size_t errlen);

/*
 * Run layers from..L on xs[from - 1], with the heads in off (NULL: none)
 * disabled the way mode says.  With keep, xs[from..L] are written; without,
 * the layers run through scratch memory, xs[from..L - 1] stay as they were
 * and only xs[L], the last hidden state, is written.  A later call can
 * start at layer k only if xs[k - 1] was kept.  With want_attn, the
 * probabilities of layers from..L go to attn.
 */
void	bert_run_layers(struct bert_run *r, int from,
	    const struct headset *off, int mode, int keep);

/*
 * Pooler and classifier on the last hidden state: pooled (B, C) and logits
 * (B, nlabels), copied to logits when it is not NULL.  Without a pooler
 * nothing is done.
 */
void	bert_run_head(struct bert_run *r, float *logits);

/* Sequence b's attention, (L, H, T_b, T_b), valid after a run with attn. */
const float *bert_run_attn(const struct bert_run *r, int b);

/*
 * The threads of every run (taken from OpenBLAS, which is then set to one
 * thread), and the rows every sequence's offset is a multiple of (1 with
 * gemm.c; with OpenBLAS probed once: 12 for its Haswell and Zen kernels;
 * HEADCOUNT_ROWUNIT overrides it, for tests and to measure what the
 * alignment costs).
 */
int	bert_threads(void);
int	bert_rowunit(void);

/*
 * The dense layers' kernel: "headcount's AVX2 kernel" (gemm.c; its rows
 * need no alignment: the unit is 1) or "OpenBLAS sgemm".
 */
const char *bert_dense(void);

/*
 * GELU in place on x (n): x Phi(x), with an erf within 1.5e-7 of the true
 * one (libm's erff: about 6e-8), vectorised; and d (n) *= GELU'(x (n)),
 * the derivative of that GELU, for training.  bert_erf and bert_exp (x <=
 * 0) are the functions inside them and inside softmax, for tests.
 * bert_simd() names the code in use: "AVX2", or "x86-64" (any x86-64, and
 * under HEADCOUNT_NOAVX2), which gives the same bits.
 */
void	bert_gelu(float *x, size_t n);
void	bert_gelu_grad(float *d, const float *x, size_t n);
void	bert_erf(float *y, const float *x, size_t n);
void	bert_exp(float *y, const float *x, size_t n);
const char *bert_simd(void);

/* The number of float operations of the encoder on a sequence of T. */
double	bert_flops(const struct bert_config *c, int T);

#endif
