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
 * Layers are numbered from 1.  The pass is in pieces, each with its input
 * and output activations given by the caller, (Np, C) rows in the batch's
 * packing: bert_embed, then for each layer bert_layer (bert_qkv,
 * bert_attend and bert_out in turn), then bert_head.  The run holds the
 * batch's layout and the scratch memory between the pieces (queries, keys
 * and values, the FFN's rows), sized by the largest batch so far.
 * bert_run_batch, bert_run_layers and bert_run_head are the whole pass on
 * activations of the run's own: xs[l - 1] is the input of layer l (xs[0]
 * the embeddings' output, xs[L] the last hidden state); with keep, every
 * layer's input stays, so that a later call can start at any layer.
 *
 * ablate(1) calls the pieces itself: the layers below a head set's first
 * disabled layer l are the baseline's, so it keeps their inputs for the
 * batch; the queries, keys, values and probabilities of layer l are the
 * same for every set that starts there, so it computes layer l's
 * attention twice (no head disabled, every head disabled), mixes each
 * set's context from the two by heads, and runs every set's copy of the
 * batch from the output projection on, the copies packed one after
 * another into one larger batch (each sequence's heads of its own).
 *
 * With cls_only set, only the pooler and the classifier read the last
 * layer: it computes the keys and values of every row, but the query and
 * the attention of [CLS] alone (every row's with want_attn, with OpenBLAS,
 * or where C is not a multiple of GEMM_PANEL), and goes on after
 * attention with the [CLS] rows alone; its output holds
 * them, with the same bits as a whole run gives, and zeros in every other
 * row.  That saves most of the last layer's work: about 6% of a BERT-base
 * forward on GLUE-length sequences, more of a run that starts at a late
 * layer.
 */
#ifndef BERT_H
#define BERT_H

#include <stddef.h>
#include <stdint.h>

#include "headset.h"
#include "model.h"

enum { BERT_UNIFORM, BERT_ZERO };

struct bert_train;

struct bert_run {
	const struct bert *m;
	int	 B, N, Np;	/* sequences, token rows, rows with the padding */
	int	*T;		/* (B) lengths */
	int	*off;		/* (B + 1) row offsets, multiples of the unit */
	size_t	*aoff;		/* (B + 1) offsets of each sequence's attn */
	int	*ids, *seg;	/* (N) */
	int	*pos;		/* (N) each token's position */
	int	 want_attn;	/* keep every layer's probabilities in attn */
	int	 cls_only;	/* of the last layer, only [CLS] is wanted */
	float	**xs;		/* L + 1 of (Np, C): each layer's input */
	size_t	*xcap, ycap[2];	/* rows xs[l] and y[i] have room for */
	const struct headset **offs;	/* (B) bert_run_layers' heads */
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
	float	*emb;		/* (Np, E) embeddings to be projected */
	size_t	 capN, capB, capA, capT, capE;
	struct bert_train *tr;	/* training: see below; NULL for inference */
};

/*
 * Start a run on model m.  The first run on a model rearranges its layers'
 * dense weights for gemm.c (m->packed), where that kernel runs: from then
 * on they are read through bert.c alone.
 */
void	bert_run_init(struct bert_run *r, struct bert *m);
void	bert_run_release(struct bert_run *r);

/*
 * After bert_run_init() in bf16, for a program that runs m forward and
 * reads no float32 dense weight of its own: their pages go back to the
 * system (a third of a bf16 run's memory, and the pages that its
 * buffers then take without the cost of fresh ones) and the weights
 * become unreadable, so that a read stops the program instead of
 * finding zeros.  Their addresses stay, through which bert.c finds the
 * bf16 copies.  Nothing where the weights are not packed in bf16.
 */
void	bert_drop_dense(struct bert *m);

/*
 * Set the batch to B sequences (ids[b], seg[b] of length T[b]; seg or
 * seg[b] NULL means all 0; a model without token types, DistilBERT,
 * ignores seg) and make room for it: r->off, r->Np, and each token's
 * position (RoBERTa's and XLM-R's count from pad_token_id + 1 over the
 * tokens that are not padding, as HF's create_position_ids_from_input_ids).
 * Returns 0, or -1 with a message in err for an id outside the
 * vocabulary, a token type outside type_vocab_size, T of 0 or over
 * model_maxlen().
 */
int	bert_run_pack(struct bert_run *r, int B, const int *const *ids,
	    const int *const *seg, const int *T, char *err, size_t errlen);

/*
 * x (Np, C): the embeddings of the batch, LayerNorm applied; in ELECTRA
 * and ALBERT, rows of E then mapped to C (a product a row, in float32
 * whatever the precision).
 */
void	bert_embed(struct bert_run *r, float *x);

/*
 * Layer l, y (Np, C) from x (Np, C), the heads off[b] (NULL: none; off
 * NULL: none in any sequence) of sequence b disabled the way mode says.
 * It is bert_qkv(r, l, x), bert_attend(r, l, r->ctx, off, mode) and
 * bert_out(r, l, y, r->ctx, x): layer l's queries, keys and values into
 * the run's scratch; the context ctx (Np, C) of every head from them
 * (with want_attn, the probabilities to attn); y from ctx and x, the
 * residual (ctx is overwritten in the [CLS]-only last layer).  y may not
 * be x.
 */
void	bert_layer(struct bert_run *r, int l, float *y, const float *x,
	    const struct headset *const *off, int mode);
void	bert_qkv(struct bert_run *r, int l, const float *x);
void	bert_attend(struct bert_run *r, int l, float *ctx,
	    const struct headset *const *off, int mode);
void	bert_out(struct bert_run *r, int l, float *y, float *ctx,
	    const float *x);

/*
 * Pooler and classifier on the last hidden state x (Np, C): pooled (B, C)
 * and logits (B, nlabels).  Without a pooler nothing is done.  The pooler
 * is the family's: the first token's row through pw, pb and the head's
 * activation (tanh; ELECTRA's GELU, DistilBERT's ReLU).
 */
void	bert_head(struct bert_run *r, const float *x, float *pooled,
	    float *logits);

/*
 * The whole pass on the run's own activations.  bert_run_batch packs the
 * batch and computes the embeddings into xs[0].
 */
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
 * bert_head on xs[L], into r->pooled and r->logits, copied to logits when
 * it is not NULL.
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
 * The dense layers' kernel: "headcount's AVX-512 kernel" or "headcount's
 * AVX2 kernel" (gemm.c, the same bits; its rows need no alignment: the
 * unit is 1), or "OpenBLAS sgemm".
 */
const char *bert_dense(void);

/*
 * Every product in bf16 (bf16 = 1: weights rounded once, when the first
 * run packs them; activations rounded at each product's input; sums,
 * softmax, LayerNorm, GELU and the rest in float32), by gemmbf.c; or in
 * float32 (0, the default).  Before the first run.  Returns 0, or -1 with
 * a message in err where the processor has no AVX512-BF16.
 */
int	bert_precision(int bf16, char *err, size_t errlen);
/* 0 for "f32", 1 for "bf16", -1 for anything else (--precision). */
int	bert_precision_name(const char *s);

/*
 * fn(arg, i) for i in 0..n - 1 on the threads of every run (bert_threads),
 * the caller's included; returns when all are done.
 */
void	bert_parallel(int n, void (*fn)(void *, int), void *arg);

/*
 * GELU in place on x (n): x Phi(x), with an erf within 1.5e-7 of the true
 * one (libm's erff: about 6e-8), vectorised; and d (n) *= GELU'(x (n)),
 * the derivative of that GELU, for training.  The FFN's other activations
 * (ACT_GELU_TANH, HF's gelu_new: 0.5 x (1 + tanh(sqrt(2 / pi) (x +
 * 0.044715 x^3))), the tanh from the exp below; ACT_RELU) go the same
 * way.  bert_erf and bert_exp (x <= 0) are the functions inside them and
 * inside softmax, bert_softmax (n rows of T, in place) is attention's and
 * bert_layernorm (one row of C, gain g, bias b) the layers', for tests.
 * bert_simd() names the code in use: "AVX-512" (the element-wise functions
 * on 16 lanes, the rest as AVX2), "AVX2", or "x86-64" (any x86-64, and
 * under HEADCOUNT_NOAVX2), which give the same bits.
 */
void	bert_gelu(float *x, size_t n);
void	bert_gelu_grad(float *d, const float *x, size_t n);
void	bert_erf(float *y, const float *x, size_t n);
void	bert_exp(float *y, const float *x, size_t n);
void	bert_softmax(float *p, int n, int T);
void	bert_layernorm(float *y, const float *x, const float *g,
	    const float *b, int C, float eps);
const char *bert_simd(void);

/*
 * ---- training ----
 *
 * A run whose tr is set is a training run (train.h): the same pieces,
 * bert_embed, bert_qkv, bert_attend, bert_out and bert_head, keep in tr
 * what the backward pass needs, and apply dropout (HF's five sites: the
 * embeddings' output, the attention probabilities, the attention and FFN
 * outputs before each residual sum, the pooled output) and the head gate
 * (each head's context times gate[l][h], as HF's head_mask), and in
 * RoBERTa's and ELECTRA's heads a sixth, on the first token's row before
 * the head's dense layer.  With p 0
 * and every gate 1, the logits are those of a run without tr, bit for
 * bit.  want_attn must be 0, and the whole batch kept (bert_run_layers
 * with keep): layer l's input is xs[l - 1].  With cls_only, what the
 * last layer does not compute for the other rows has no gradient: the
 * loss reads [CLS]'s alone, and the backward pass leaves those rows out
 * too.
 *
 * Each piece has its backward twin, which takes the gradient of the
 * piece's output and writes the gradients of its weights into g (a
 * struct bert in the layout of the model's weights, pointing into the
 * gradients) and that of its input; they run in the reverse order of the
 * pieces, after the whole forward pass.  Their products run on gemm.c
 * where it runs (dX = dY . W and dW = dY^T . X for each dense layer, the
 * four products of each head's attention), on gemmbf.c in bf16
 * (bert_precision), on OpenBLAS elsewhere, split between the pool's
 * threads where nothing depends on the split: the gradients have the
 * same bits whatever the number of threads.
 *
 * The model of a training run is tr's own copy of the dense weights
 * packed for the kernel (and for the backward pass, their transposes),
 * with every other tensor shared with the model trained:
 * bert_train_pack() makes it, and must run again whenever the weights
 * change (after each optimizer step).
 */
struct bert_acts {	/* one layer's, (Np, ...) in the run's rows */
	float	*qkv;	/* (Np, 3C) in bert_qkv's layout */
	float	*att;	/* sum_b (H, T_b, T_b) probabilities */
	float	*ctx;	/* (Np, C) the heads' context, gated */
	float	*r1;	/* (Np, C) LayerNorm 1's input */
	float	*x1;	/* (Np, C) its output */
	float	*fc;	/* (Np, F) the FFN before GELU */
	float	*ge;	/* (Np, F) after */
	float	*r2;	/* (Np, C) LayerNorm 2's input */
	float	*ln;	/* (4, Np) LN 1's mean, rstd; LN 2's */
};

struct bert_train {
	/* set by the caller before a forward pass */
	float		 p;	/* dropout probability; 0: none */
	uint64_t	 seed;	/* masks: train_key(seed, step, ...) */
	long		 step;
	const float	*gate;	/* (L, H) head gate; NULL: every 1 */
	double		*imp;	/* (L, H) or NULL: see backward */
	double		 impscale;

	/* what the forward pass keeps */
	float		*emb;		/* (Np, E) the embeddings' sum */
	float		*eln;		/* (2, Np) its LayerNorm's mean, rstd */
	float		*eo;		/* (Np, E) its output after dropout, */
					/* with a projection (epw) */
	struct bert_acts *a;		/* (L) */
	float		*pooled;	/* (B, C) tanh output */
	float		*poold;		/* (B, C) after dropout */
	float		*hpre;		/* (B, C) before the head's activation */
	float		*clsd;		/* (B, C) the first token's row after */
					/* dropout, MF_CLSDROP */
	int		*urow;		/* (Np) row without the padding; -1 */
	int		*curow;		/* (B unit) the same, cls_rows's rows */
	size_t		*poff;		/* (B + 1) offsets in att */

	/* bert_train_pack's model, and scratch */
	const struct bert *src;	/* the model trained */
	struct bert	 pm;
	float		*fw, *bw;	/* the packed weights, one block each */
	float		**wt;		/* (4L) into bw: W^T packed */
	uint16_t	**wtb;		/* (4L) W^T packed in bf16 */
	uint16_t	*xpb;		/* X^T packed in bf16 */
	float		*d1, *dt;	/* (Np, C) */
	float		*dh;		/* (Np, F) */
	float		*dq;		/* (Np, 3C) */
	float		*xp;		/* (Np, max(C, F)) X^T packed */
	float		*de;		/* (2, Np, E) with a projection */
	int		 acc;		/* add to g's weights: see below */
	float		*part;		/* LayerNorm's sums per task */
	float		*cb;		/* (3, B unit, C) cls_rows's gradients */
	float		*sc;		/* per thread, attention's backward */
	double		*dgate;		/* (B, H) */

	/*
	 * Attention attribution (attribute(1)), set by the caller: with
	 * ascale, layer al's probabilities of sequence b are multiplied by
	 * ascale[b] after the softmax (and the heads disabled); with dprob,
	 * the backward pass writes there the gradient by layer al's
	 * probabilities as applied, (H, T_b, T_b) of sequence b at poff[b].
	 * Dropout must be off.
	 */
	int		 al;
	const float	*ascale;	/* (B) */
	float		*dprob;
	const struct bert *zg;		/* the gradients last written, */
	int		*zids;		/* and the words of their rows */
	int		 nz;
	size_t		 capz;
	size_t		 capN, capB, capP, capT;
};

/*
 * Make tr's model (tr->pm) from m: its dense weights packed for the
 * forward and the backward pass, everything else m's own.  tr is zeroed
 * by the caller before the first call; bert_run_init(r, &tr->pm) after
 * it.
 */
void	bert_train_pack(struct bert_train *tr, const struct bert *m);
void	bert_train_release(struct bert_train *tr);

/*
 * The backward twins.  d (Np, C) holds the gradient of the piece's output
 * and becomes that of its input; g receives the gradients of the piece's
 * weights, written (not added), except bert_embed_backward's three
 * tables, which are zeroed, then added to row by row (of the words'
 * table, the rows of the last batch's words, when g was the last call's:
 * a caller that writes there between the calls sets tr->zg to NULL), and
 * the weights of an ALBERT layer whose group a later layer shares: the
 * later one's backward has written them, and this one's adds to them
 * (tr->acc, set by bert_out_backward and bert_qkv_backward), so that a
 * shared tensor gets the sum of every application's gradient.
 * bert_head_backward starts from dlogits (B, nlabels), the gradient of
 * the loss by the logits of bert_head, and writes d, zero but in the
 * [CLS] rows.  With tr->imp set, bert_attend_backward adds to imp[l][h]
 * |impscale * <ctx_h / gate, d ctx_h>| of each sequence: the gradient of
 * the loss by head h's gate, each sequence's own when impscale is B and
 * the loss is the batch's mean.
 */
void	bert_head_backward(struct bert_run *r, struct bert *g, float *d,
	    const float *dlogits);
void	bert_layer_backward(struct bert_run *r, int l, struct bert *g,
	    float *d);
void	bert_embed_backward(struct bert_run *r, struct bert *g, float *d);

/*
 * bert_layer_backward is these three in turn.  bert_out_backward: d from
 * the output's gradient to that of the layer's input through the
 * residual sums alone, and dctx (Np, C) the context's.
 * bert_attend_backward: dqkv (Np, 3C), the gradient of the queries, keys
 * and values, rows of 3C whatever bert_qkv's layout, from dctx.
 * bert_qkv_backward: adds dqkv's share to d.
 */
void	bert_out_backward(struct bert_run *r, int l, struct bert *g,
	    float *d, float *dctx);
void	bert_attend_backward(struct bert_run *r, int l, float *dqkv,
	    const float *dctx);
void	bert_qkv_backward(struct bert_run *r, int l, struct bert *g,
	    float *d, const float *dqkv);

#endif
