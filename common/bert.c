/*
 * bert.c -- BERT's forward pass in float32: OpenBLAS for the matrix
 * products, plain loops for LayerNorm, softmax and GELU.  Letters as in
 * llm.c: L layers, H heads, T tokens of a sequence, N tokens of the batch,
 * C hidden, D = C / H per head, F the FFN width.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bert.h"
#include "util.h"

/* y (N, out) = x (N, in) . w (out, in)^T + b (out), as nn.Linear. */
static void
linear(float *y, const float *x, const float *w, const float *b, int N,
    int in, int out)
{
	for (int i = 0; i < N; i++)
		memcpy(y + (size_t)i * out, b, out * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in,
	    1.0f, x, in, w, in, 1.0f, y, out);
}

/*
 * y (N, C) = LayerNorm(x + r) with gain g and bias b, as nn.LayerNorm:
 * biased variance, eps inside the square root.  y may be x.
 */
static void
add_layernorm(float *y, const float *x, const float *r, const float *g,
    const float *b, int N, int C, float eps)
{
	float *row = xmalloc(C * sizeof(float));

	for (int i = 0; i < N; i++) {
		const float *xi = x + (size_t)i * C;
		const float *ri = r ? r + (size_t)i * C : NULL;
		float *yi = y + (size_t)i * C;
		double mean = 0, var = 0;

		/* pass 1: the sum and its mean */
		for (int j = 0; j < C; j++) {
			row[j] = ri ? xi[j] + ri[j] : xi[j];
			mean += row[j];
		}
		mean /= C;
		/* pass 2: the variance about the mean */
		for (int j = 0; j < C; j++) {
			double d = row[j] - mean;
			var += d * d;
		}
		var /= C;
		/* pass 3: normalise, scale, shift */
		float rstd = (float)(1.0 / sqrt(var + eps)), m = (float)mean;
		for (int j = 0; j < C; j++)
			yi[j] = (row[j] - m) * rstd * g[j] + b[j];
	}
	free(row);
}

/* x = x * Phi(x), GELU with erf, as HF's "gelu". */
static void
gelu(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

/* Row-wise softmax of p (T, T), the row max subtracted first. */
static void
softmax_rows(float *p, int T)
{
	for (int i = 0; i < T; i++) {
		float *row = p + (size_t)i * T, max = row[0], sum = 0;

		for (int j = 1; j < T; j++)
			if (row[j] > max)
				max = row[j];
		for (int j = 0; j < T; j++) {
			row[j] = expf(row[j] - max);
			sum += row[j];
		}
		for (int j = 0; j < T; j++)
			row[j] /= sum;
	}
}

void
bert_run_init(struct bert_run *r, const struct bert *m)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->xs = xcalloc(m->cfg.L + 1, sizeof(float *));
}

void
bert_run_release(struct bert_run *r)
{
	if (r->xs != NULL)
		for (int l = 0; l <= r->m->cfg.L; l++)
			free(r->xs[l]);
	free(r->xs);
	free(r->T);
	free(r->off);
	free(r->aoff);
	free(r->ids);
	free(r->seg);
	free(r->qkv);
	free(r->ctx);
	free(r->h1);
	free(r->ff);
	free(r->y[0]);
	free(r->y[1]);
	free(r->probs);
	free(r->attn);
	free(r->pooled);
	free(r->logits);
	memset(r, 0, sizeof(*r));
}

/* Make room for B sequences of N tokens, the longest maxT. */
static void
reserve(struct bert_run *r, int B, int N, int maxT)
{
	const struct bert_config *c = &r->m->cfg;
	size_t C = c->C;

	if ((size_t)N > r->capN) {
		for (int l = 0; l <= c->L; l++)
			r->xs[l] = xreallocarray(r->xs[l], N * C, sizeof(float));
		r->qkv = xreallocarray(r->qkv, N * 3 * C, sizeof(float));
		r->ctx = xreallocarray(r->ctx, N * C, sizeof(float));
		r->h1 = xreallocarray(r->h1, N * C, sizeof(float));
		r->y[0] = xreallocarray(r->y[0], N * C, sizeof(float));
		r->y[1] = xreallocarray(r->y[1], N * C, sizeof(float));
		r->ff = xreallocarray(r->ff, (size_t)N * c->F, sizeof(float));
		r->ids = xreallocarray(r->ids, N, sizeof(int));
		r->seg = xreallocarray(r->seg, N, sizeof(int));
		r->capN = N;
	}
	if ((size_t)B > r->capB) {
		r->T = xreallocarray(r->T, B, sizeof(int));
		r->off = xreallocarray(r->off, B + 1, sizeof(int));
		r->aoff = xreallocarray(r->aoff, B + 1, sizeof(size_t));
		r->pooled = xreallocarray(r->pooled, B * C, sizeof(float));
		r->logits = xreallocarray(r->logits, (size_t)B *
		    (c->nlabels ? c->nlabels : 1), sizeof(float));
		r->capB = B;
	}
	if ((size_t)maxT > r->capT) {
		r->probs = xreallocarray(r->probs, (size_t)c->H * maxT * maxT,
		    sizeof(float));
		r->capT = maxT;
	}
}

int
bert_run_batch(struct bert_run *r, int B, const int *const *ids,
    const int *const *seg, const int *T, char *err, size_t errlen)
{
	const struct bert *m = r->m;
	const struct bert_config *c = &m->cfg;
	int N = 0, maxT = 0, C = c->C;

	for (int b = 0; b < B; b++) {
		if (T[b] < 1) {
			snprintf(err, errlen, "no tokens");
			return -1;
		}
		if (T[b] > c->P) {
			snprintf(err, errlen, "%d tokens, over the model's "
			    "max_position_embeddings %d", T[b], c->P);
			return -1;
		}
		for (int i = 0; i < T[b]; i++) {
			if (ids[b][i] < 0 || ids[b][i] >= c->V) {
				snprintf(err, errlen, "'ids'[%d] is %d, outside "
				    "the vocabulary of %d", i, ids[b][i], c->V);
				return -1;
			}
			if (seg && seg[b] && (seg[b][i] < 0 ||
			    seg[b][i] >= c->S)) {
				snprintf(err, errlen, "'seg'[%d] is %d, outside "
				    "the %d token types", i, seg[b][i], c->S);
				return -1;
			}
		}
		N += T[b];
		if (T[b] > maxT)
			maxT = T[b];
	}
	reserve(r, B, N, maxT);
	r->B = B;
	r->N = N;
	r->off[0] = 0;
	r->aoff[0] = 0;
	for (int b = 0; b < B; b++) {
		r->T[b] = T[b];
		r->off[b + 1] = r->off[b] + T[b];
		r->aoff[b + 1] = r->aoff[b] +
		    (size_t)c->L * c->H * T[b] * T[b];
		for (int i = 0; i < T[b]; i++) {
			r->ids[r->off[b] + i] = ids[b][i];
			r->seg[r->off[b] + i] = seg && seg[b] ? seg[b][i] : 0;
		}
	}
	if (r->want_attn && r->aoff[B] > r->capA) {
		r->attn = xreallocarray(r->attn, r->aoff[B], sizeof(float));
		r->capA = r->aoff[B];
	}
	/* embeddings: word + position + token type, then LayerNorm */
	float *x = r->xs[0];
	for (int b = 0; b < B; b++)
		for (int i = 0; i < T[b]; i++) {
			int n = r->off[b] + i;
			const float *w = m->wte + (size_t)r->ids[n] * C;
			const float *p = m->wpe + (size_t)i * C;
			const float *t = m->tte + (size_t)r->seg[n] * C;
			for (int j = 0; j < C; j++)
				x[(size_t)n * C + j] = w[j] + p[j] + t[j];
		}
	add_layernorm(x, x, NULL, m->elng, m->elnb, N, C, c->eps);
	return 0;
}

int
bert_run_input(struct bert_run *r, const int *ids, const int *seg, size_t T,
    char *err, size_t errlen)
{
	if (T > (size_t)r->m->cfg.P) {
		snprintf(err, errlen, "%zu tokens, over the model's "
		    "max_position_embeddings %d", T, r->m->cfg.P);
		return -1;
	}
	int t = (int)T;
	return bert_run_batch(r, 1, &ids, &seg, &t, err, errlen);
}

/*
 * One layer: y (N, C) from x (N, C).  Attention probabilities of sequence b
 * go to ap + aoff[b] + (l * H) * T * T when ap is not NULL.
 */
static void
layer(struct bert_run *r, int l, float *y, const float *x,
    const struct headset *off, int mode)
{
	const struct bert *m = r->m;
	const struct bert_config *c = &m->cfg;
	const struct bert_layer *w = &m->layer[l - 1];
	int C = c->C, H = c->H, D = C / H, N = r->N;
	float scale = 1.0f / sqrtf((float)D);

	/* qkv (N, 3C) = x . [Wq; Wk; Wv]^T + b */
	linear(r->qkv, x, w->qkvw, w->qkvb, N, C, 3 * C);
	for (int b = 0; b < r->B; b++) {
		int T = r->T[b];
		const float *q = r->qkv + (size_t)r->off[b] * 3 * C;
		float *ctx = r->ctx + (size_t)r->off[b] * C;
		float *P = r->want_attn ? r->attn + r->aoff[b] +
		    (size_t)(l - 1) * H * T * T : r->probs;

		for (int h = 0; h < H; h++) {
			float *p = P + (size_t)h * T * T;
			int dis = off != NULL && headset_has(off, l, h + 1);

			/* p (T, T) = softmax(q_h (T, D) . k_h (T, D)^T / sqrt(D)) */
			if (!dis) {
				cblas_sgemm(CblasRowMajor, CblasNoTrans,
				    CblasTrans, T, T, D, scale, q + h * D,
				    3 * C, q + C + h * D, 3 * C, 0.0f, p, T);
				softmax_rows(p, T);
			} else {
				float v = mode == BERT_UNIFORM ? 1.0f / T : 0;
				for (size_t i = 0; i < (size_t)T * T; i++)
					p[i] = v;
			}
			/* ctx_h (T, D) = p (T, T) . v_h (T, D) */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    T, D, T, 1.0f, p, T, q + 2 * C + h * D, 3 * C,
			    0.0f, ctx + h * D, C);
		}
	}
	/* h1 = LayerNorm(ctx . Wo^T + bo + x) */
	linear(r->h1, r->ctx, w->aow, w->aob, N, C, C);
	add_layernorm(r->h1, r->h1, x, w->ln1g, w->ln1b, N, C, c->eps);
	/* y = LayerNorm(gelu(h1 . Wi^T + bi) . Wo2^T + bo2 + h1) */
	linear(r->ff, r->h1, w->iw, w->ib, N, C, c->F);
	gelu(r->ff, (size_t)N * c->F);
	linear(y, r->ff, w->ow, w->ob, N, c->F, C);
	add_layernorm(y, y, r->h1, w->ln2g, w->ln2b, N, C, c->eps);
}

void
bert_run_layers(struct bert_run *r, int from, const struct headset *off,
    int mode, int keep)
{
	int L = r->m->cfg.L;
	const float *x = r->xs[from - 1];

	for (int l = from; l <= L; l++) {
		float *y = keep || l == L ? r->xs[l] : r->y[l & 1];
		layer(r, l, y, x, off, mode);
		x = y;
	}
}

void
bert_run_head(struct bert_run *r, float *logits)
{
	const struct bert *m = r->m;
	int C = m->cfg.C, nl = m->cfg.nlabels;
	const float *x = r->xs[m->cfg.L];

	if (m->pw == NULL)
		return;
	/* pooled (B, C) = tanh([CLS] . Wp^T + bp), [CLS] the first token */
	for (int b = 0; b < r->B; b++) {
		float *p = r->pooled + (size_t)b * C;
		const float *cls = x + (size_t)r->off[b] * C;
		memcpy(p, m->pb, C * sizeof(float));
		cblas_sgemv(CblasRowMajor, CblasNoTrans, C, C, 1.0f, m->pw, C,
		    cls, 1, 1.0f, p, 1);
		for (int j = 0; j < C; j++)
			p[j] = tanhf(p[j]);
	}
	if (nl == 0)
		return;
	/* logits (B, nl) = pooled . Wc^T + bc */
	linear(r->logits, r->pooled, m->cw, m->cb, r->B, C, nl);
	if (logits != NULL)
		memcpy(logits, r->logits, (size_t)r->B * nl * sizeof(float));
}

const float *
bert_run_attn(const struct bert_run *r, int b)
{
	return r->attn + r->aoff[b];
}

double
bert_flops(const struct bert_config *c, int T)
{
	double C = c->C, F = c->F;

	/* per layer: qkv, scores, context, out, FFN up and down; 2 per FMA */
	return c->L * (2.0 * T * C * 3 * C + 2.0 * T * T * C * 2 +
	    2.0 * T * C * C + 2.0 * 2 * T * C * F);
}
