/*
 * contrib.h -- what each input token contributes to each output token of
 * one attention sublayer, beyond the attention weights (encode -M):
 *
 * norm (per head; Kobayashi et al. 2020, "Attention is Not Only a
 * Weight"): with f_h(x_j) = v^h_j W_O^h, v^h_j token j's value in head h
 * (bias included) and W_O^h head h's columns of the output projection
 * (its bias left out), the map is alpha^h_ij |f_h(x_j)|.
 *
 * norm_layer (per layer): |sum_h alpha^h_ij f_h(x_j)|.
 *
 * alti (per layer; Ferrando et al. 2022, ALTI): the residual and the
 * LayerNorm taken in.  T_i(x_j) = LN_i(sum_h alpha^h_ij f_h(x_j) +
 * delta_ij x_i), LN_i the LayerNorm's linear part with token i's
 * statistics: u -> (u - mean(u)) / s_i * gamma, s_i the standard deviation
 * (eps included) of the sublayer's sum before the LayerNorm.  y_i =
 * sum_j T_i(x_j), the sublayer's output without its biases (those of W_O
 * and of the LayerNorm), and c_ij = max(0, |y_i|_1 - |y_i - T_i(x_j)|_1),
 * each row divided by its sum.
 *
 * vz (per layer; Mohebbi et al. 2023, value zeroing) needs the layer run
 * again with token j's values zeroed in every head: contrib_zero() gives
 * the context that run starts from, contrib_cos() the column j of the
 * map, 1 - cos(layer output with v_j zeroed, layer output), and
 * contrib_rows() divides each row by its sum at the end.
 *
 * Sums are in double; every map is of one sequence, T tokens, and row i is
 * the output token (the query), as in attn.
 */
#ifndef CONTRIB_H
#define CONTRIB_H

#include <stddef.h>

#include "bert.h"

struct contrib {
	int		 T, H, D;	/* tokens, heads, head size; C = H D */
	const float	*x;		/* (T, C) the layer's input, lx apart */
	const float	*v;		/* (T, C) values, head h at h D, lv apart */
	const float	*p;		/* (H, T, T) probabilities as applied */
	const float	*wo;		/* (C, C) W_O, out x in, row-major */
	const float	*bo;		/* (C) its bias */
	const float	*gamma;		/* (C) the sublayer's LayerNorm weight */
	float		 eps;		/* its epsilon */
	size_t		 lx, lv;
};

/* Floats of work memory contrib_maps() needs. */
size_t	contrib_work(int T, int H, int D);

/*
 * Any of norm (H, T, T), norml (T, T) and alti (T, T), NULL for those not
 * wanted, with work of contrib_work() floats.
 */
void	contrib_maps(const struct contrib *c, float *norm, float *norml,
	    float *alti, float *work);

/*
 * ctx (T, C), the context of every head with token j's values zeroed:
 * row i is sum_h sum_{k != j} alpha^h_ik v^h_k, computed as the full
 * context, ctx0, less alpha^h_ij v^h_j.
 */
void	contrib_zero(float *ctx, size_t lc, const float *ctx0, size_t l0,
	    const struct contrib *c, int j);

/*
 * Column j of map (T, T): 1 - cos(y_i, z_i) for each row i, y the layer's
 * output and z the output with token j zeroed (T, C), rows ly and lz apart.
 */
void	contrib_cos(float *map, int j, const float *y, size_t ly,
	    const float *z, size_t lz, int T, int C);

/* Each row of map (T, T) divided by its sum (a row summing to 0 stays). */
void	contrib_rows(float *map, int T);

#endif

/* ---- encode's driver: the maps of a run ---- */

enum { CONTRIB_NORM = 1, CONTRIB_NORML = 2, CONTRIB_ALTI = 4, CONTRIB_VZ = 8 };

/* The keys, in the order of the bits above, and how many maps a layer. */
extern const char *const contrib_keys[4];

/*
 * which from a list such as "norm,alti" (the keys above, or "all"):
 * 0, or -1 with a message in err.
 */
int	contrib_parse(const char *list, int *which, char *err, size_t errlen);

struct contrib_model {
	const struct bert *m;
	int		 which;
	float		*wv, *bv;	/* (L, C, C), (L, C): the values' */
	float		*wo, *bo;	/* (L, C, C), (L, C): W_O's */
	struct bert_run	 r2;		/* vz: the layer run again */
	int		 r2init;
	float		*buf;		/* scratch */
	size_t		 cap;
};

/*
 * Copies of the weights the maps need, taken before bert_run_init()
 * rearranges them for the kernel.
 */
void	contrib_init(struct contrib_model *cm, const struct bert *m,
	    int which);
void	contrib_release(struct contrib_model *cm);

/*
 * The maps of sequence b of run r, after a run that kept every layer's
 * input (bert_run_layers with keep) and the attention (want_attn): for
 * each bit of cm->which, out[k] (L, H, T, T) for norm, (L, 1, T, T) for
 * the others.  ids and seg (T) are the sequence's, for vz's run.
 */
void	contrib_run(struct contrib_model *cm, struct bert_run *r, int b,
	    const int *ids, const int *seg, float *out[4]);
