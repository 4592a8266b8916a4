/* contrib.c -- contribution maps of an attention sublayer; see contrib.h. */
#include <err.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "contrib.h"
#include "util.h"

size_t
contrib_work(int T, int H, int D)
{
	size_t C = (size_t)H * D;

	/* f (H, T, C), then one row's sums s_ij (T, C) and y_i (C) */
	return (size_t)H * T * C + (size_t)T * C + C;
}

/* f (H, T, C): f_h(x_j) = v^h_j W_O^h. */
static void
heads(float *f, const struct contrib *c)
{
	int T = c->T, H = c->H, D = c->D, C = H * D;

	for (int h = 0; h < H; h++)
		for (int j = 0; j < T; j++) {
			const float *v = c->v + (size_t)j * c->lv + h * D;
			float *o = f + ((size_t)h * T + j) * C;

			for (int k = 0; k < C; k++) {
				const float *w = c->wo + (size_t)k * C + h * D;
				double s = 0;

				for (int d = 0; d < D; d++)
					s += (double)v[d] * w[d];
				o[k] = (float)s;
			}
		}
}

static double
norm2(const float *x, int n)
{
	double s = 0;

	for (int k = 0; k < n; k++)
		s += (double)x[k] * x[k];
	return sqrt(s);
}

void
contrib_maps(const struct contrib *c, float *norm, float *norml,
    float *alti, float *work)
{
	int T = c->T, H = c->H, C = c->H * c->D;
	float *f = work, *s = f + (size_t)H * T * C, *y = s + (size_t)T * C;

	heads(f, c);
	if (norm != NULL)
		for (int h = 0; h < H; h++)
			for (int j = 0; j < T; j++) {
				double n = norm2(f + ((size_t)h * T + j) * C, C);

				for (int i = 0; i < T; i++) {
					size_t a = ((size_t)h * T + i) * T + j;

					norm[a] = (float)(c->p[a] * n);
				}
			}
	if (norml == NULL && alti == NULL)
		return;
	for (int i = 0; i < T; i++) {
		const float *xi = c->x + (size_t)i * c->lx;
		double mu = 0, var = 0, sd;

		/* s_ij = sum_h alpha^h_ij f_h(x_j), j = 0 .. T - 1 */
		for (int j = 0; j < T; j++) {
			float *sj = s + (size_t)j * C;

			memset(sj, 0, C * sizeof *sj);
			for (int h = 0; h < H; h++) {
				float a = c->p[((size_t)h * T + i) * T + j];
				const float *fj = f + ((size_t)h * T + j) * C;

				for (int k = 0; k < C; k++)
					sj[k] += a * fj[k];
			}
			if (norml != NULL)
				norml[(size_t)i * T + j] = (float)norm2(sj, C);
		}
		if (alti == NULL)
			continue;

		/* token i's statistics before the LayerNorm */
		for (int k = 0; k < C; k++) {
			double r = (double)xi[k] + c->bo[k];

			for (int j = 0; j < T; j++)
				r += s[(size_t)j * C + k];
			y[k] = (float)r;
			mu += r;
		}
		mu /= C;
		for (int k = 0; k < C; k++)
			var += (y[k] - mu) * (y[k] - mu);
		sd = sqrt(var / C + c->eps);

		/* T_i(x_j) in place of s_ij, and y_i their sum */
		memset(y, 0, C * sizeof *y);
		for (int j = 0; j < T; j++) {
			float *t = s + (size_t)j * C;
			double m = 0;

			if (j == i)
				for (int k = 0; k < C; k++)
					t[k] += xi[k];
			for (int k = 0; k < C; k++)
				m += t[k];
			m /= C;
			for (int k = 0; k < C; k++) {
				t[k] = (float)((t[k] - m) / sd * c->gamma[k]);
				y[k] += t[k];
			}
		}
		double yn = 0, sum = 0;
		float *row = alti + (size_t)i * T;

		for (int k = 0; k < C; k++)
			yn += fabs(y[k]);
		for (int j = 0; j < T; j++) {
			const float *t = s + (size_t)j * C;
			double d = 0;

			for (int k = 0; k < C; k++)
				d += fabs((double)y[k] - t[k]);
			row[j] = (float)fmax(0, yn - d);
			sum += row[j];
		}
		if (sum > 0)
			for (int j = 0; j < T; j++)
				row[j] = (float)(row[j] / sum);
	}
}

void
contrib_zero(float *ctx, size_t lc, const float *ctx0, size_t l0,
    const struct contrib *c, int j)
{
	int T = c->T, H = c->H, D = c->D;
	const float *vj = c->v + (size_t)j * c->lv;

	for (int i = 0; i < T; i++) {
		float *o = ctx + (size_t)i * lc;
		const float *z = ctx0 + (size_t)i * l0;

		for (int h = 0; h < H; h++) {
			float a = c->p[((size_t)h * T + i) * T + j];

			for (int d = 0; d < D; d++)
				o[h * D + d] = z[h * D + d] - a * vj[h * D + d];
		}
	}
}

void
contrib_cos(float *map, int j, const float *y, size_t ly, const float *z,
    size_t lz, int T, int C)
{
	for (int i = 0; i < T; i++) {
		const float *a = y + (size_t)i * ly, *b = z + (size_t)i * lz;
		double ab = 0, aa = 0, bb = 0, cs;

		for (int k = 0; k < C; k++) {
			ab += (double)a[k] * b[k];
			aa += (double)a[k] * a[k];
			bb += (double)b[k] * b[k];
		}
		cs = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1;
		map[(size_t)i * T + j] = (float)(1 - cs);
	}
}

void
contrib_rows(float *map, int T)
{
	for (int i = 0; i < T; i++) {
		float *row = map + (size_t)i * T;
		double s = 0;

		for (int j = 0; j < T; j++)
			s += row[j];
		if (s > 0)
			for (int j = 0; j < T; j++)
				row[j] = (float)(row[j] / s);
	}
}

/* ---- encode's driver ---- */

const char *const contrib_keys[4] = { "norm", "norm_layer", "alti", "vz" };

int
contrib_parse(const char *list, int *which, char *err, size_t errlen)
{
	const char *p = list;

	*which = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		int k;

		for (k = 0; k < 4; k++)
			if (strlen(contrib_keys[k]) == n &&
			    strncmp(p, contrib_keys[k], n) == 0)
				break;
		if (k < 4)
			*which |= 1 << k;
		else if (n == 3 && strncmp(p, "all", 3) == 0)
			*which |= 15;
		else {
			snprintf(err, errlen, "'%.*s' is not norm, norm_layer, "
			    "alti, vz or all", (int)n, p);
			return -1;
		}
		p += n + (p[n] == ',');
	}
	if (*which == 0) {
		snprintf(err, errlen, "no measure named");
		return -1;
	}
	return 0;
}

void
contrib_init(struct contrib_model *cm, const struct bert *m, int which)
{
	const struct bert_config *c = &m->cfg;
	size_t C = c->C, L = c->L;

	memset(cm, 0, sizeof(*cm));
	cm->m = m;
	cm->which = which;
	cm->wv = xreallocarray(NULL, L * C, C * sizeof(float));
	cm->wo = xreallocarray(NULL, L * C, C * sizeof(float));
	cm->bv = xreallocarray(NULL, L, C * sizeof(float));
	cm->bo = xreallocarray(NULL, L, C * sizeof(float));
	for (size_t l = 0; l < L; l++) {
		const struct bert_layer *w = &m->layer[l];

		memcpy(cm->wv + l * C * C, w->qkvw + 2 * C * C,
		    C * C * sizeof(float));
		memcpy(cm->bv + l * C, w->qkvb + 2 * C, C * sizeof(float));
		memcpy(cm->wo + l * C * C, w->aow, C * C * sizeof(float));
		memcpy(cm->bo + l * C, w->aob, C * sizeof(float));
	}
}

void
contrib_release(struct contrib_model *cm)
{
	if (cm->r2init)
		bert_run_release(&cm->r2);
	free(cm->wv);
	free(cm->wo);
	free(cm->bv);
	free(cm->bo);
	free(cm->buf);
	memset(cm, 0, sizeof(*cm));
}

static float *
scratch(struct contrib_model *cm, size_t n)
{
	if (n > cm->cap) {
		free(cm->buf);
		cm->buf = xreallocarray(NULL, n, sizeof(float));
		cm->cap = n;
	}
	return cm->buf;
}

/*
 * vz of layer l: the layer run again from its input x (T, C) for the
 * context ctx0 (T, C) and for each token's values zeroed, k copies of
 * the sequence at a time packed into one batch of cm->r2.
 */
static void
valuezero(struct contrib_model *cm, const struct contrib *c, int l,
    const int *ids, const int *seg, const float *ctx0, float *map)
{
	enum { K = 16 };
	int T = c->T, C = c->H * c->D, n = K + 1;
	const int *pids[K + 1], *pseg[K + 1];
	int pT[K + 1];
	char err[256];

	if (!cm->r2init) {
		/* the model is packed already: the run shares its weights */
		bert_run_init(&cm->r2, (struct bert *)cm->m);
		cm->r2init = 1;
	}
	for (int i = 0; i < n; i++) {
		pids[i] = ids;
		pseg[i] = seg;
		pT[i] = T;
	}
	float *y = NULL;
	for (int j0 = 0; j0 < T; j0 += K) {
		int k = T - j0 < K ? T - j0 : K;	/* copies zeroed */
		struct bert_run *r = &cm->r2;

		/* copy 0 the layer as it is, copies 1..k token j0 + i - 1 */
		if (bert_run_pack(r, k + 1, pids, pseg, pT, err,
		    sizeof(err)) == -1)
			errx(1, "%s", err);
		size_t np = (size_t)r->Np * C;
		float *buf = scratch(cm, 3 * np), *x = buf, *ctx = x + np;
		y = ctx + np;
		memset(buf, 0, 3 * np * sizeof(float));
		for (int i = 0; i <= k; i++) {
			float *xi = x + (size_t)r->off[i] * C;
			float *ci = ctx + (size_t)r->off[i] * C;

			for (int t = 0; t < T; t++)
				memcpy(xi + (size_t)t * C, c->x + (size_t)t *
				    c->lx, C * sizeof(float));
			if (i == 0)
				memcpy(ci, ctx0, (size_t)T * C *
				    sizeof(float));
			else
				contrib_zero(ci, C, ctx0, C, c, j0 + i - 1);
		}
		bert_out(r, l, y, ctx, x);
		for (int i = 1; i <= k; i++)
			contrib_cos(map, j0 + i - 1, y, C, y +
			    (size_t)r->off[i] * C, C, T, C);
	}
	contrib_rows(map, T);
}

void
contrib_run(struct contrib_model *cm, struct bert_run *r, int b,
    const int *ids, const int *seg, float *out[4])
{
	const struct bert_config *cf = &cm->m->cfg;
	int T = r->T[b], L = cf->L, H = cf->H, C = cf->C, D = C / H;
	size_t TT = (size_t)T * T, TC = (size_t)T * C;
	const float *attn = bert_run_attn(r, b);
	float *v = xreallocarray(NULL, 2 * TC, sizeof(float)), *ctx = v + TC;
	float *work = xreallocarray(NULL, contrib_work(T, H, D),
	    sizeof(float));

	for (int l = 1; l <= L; l++) {
		const struct bert_layer *w = &cm->m->layer[l - 1];
		const float *x = r->xs[l - 1] + (size_t)r->off[b] * C;
		const float *p = attn + (size_t)(l - 1) * H * TT;
		struct contrib c = { T, H, D, x, v, p,
		    cm->wo + (size_t)(l - 1) * C * C,
		    cm->bo + (size_t)(l - 1) * C, w->ln1g, cf->eps, C, C };

		/* v (T, C) = x . W_V^T + b_V */
		for (int t = 0; t < T; t++)
			memcpy(v + (size_t)t * C, cm->bv + (size_t)(l - 1) * C,
			    C * sizeof(float));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, C, C,
		    1.0f, x, C, cm->wv + (size_t)(l - 1) * C * C, C, 1.0f, v,
		    C);
		contrib_maps(&c,
		    out[0] ? out[0] + (size_t)(l - 1) * H * TT : NULL,
		    out[1] ? out[1] + (size_t)(l - 1) * TT : NULL,
		    out[2] ? out[2] + (size_t)(l - 1) * TT : NULL, work);
		if (out[3] == NULL)
			continue;
		/* the context, every head's p . v */
		for (int h = 0; h < H; h++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    T, D, T, 1.0f, p + (size_t)h * TT, T, v + h * D, C,
			    0.0f, ctx + h * D, C);
		valuezero(cm, &c, l, ids, seg, ctx, out[3] +
		    (size_t)(l - 1) * TT);
	}
	free(work);
	free(v);
}
