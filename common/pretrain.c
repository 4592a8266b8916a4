/*
 * pretrain.c -- BertForPreTraining's masked-LM and next-sentence heads,
 * forward and backward, around bert.c's encoder.  Letters as in llm.c: C
 * hidden, V vocabulary, M masked rows, B sequences.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bert.h"
#include "gemm.h"
#include "model.h"
#include "pretrain.h"
#include "train.h"
#include "util.h"

#define GROUPS	(MT_POOLER | MT_PRETRAIN)
#define OUTS	256	/* outputs of a product's task, a multiple of 16 */

/* ---- products on the kernel ---- */

/*
 * y (n, out) = x (n, in) . w^T + b, or added to y.  x's rows lx apart, or
 * with xt x given as its transpose (in, n), rows lx apart.  w (out, in)
 * is wp (out, in), or with wt wp's transpose: wp (in, out).  b NULL for
 * none.  On gemm.c, w is packed into pk first; tasks of GEMM_ROWS rows by
 * OUTS outputs each.
 */
struct prod {
	float		*y, *pk;
	const float	*x, *wp, *b;
	int		 ly, lx, xt, wt, n, out, in, add, nrt;
};

static void
pack_task(void *arg, int k)
{
	const struct prod *a = arg;
	int j0 = k * OUTS, no = a->out - j0 < OUTS ? a->out - j0 : OUTS;

	if (a->wt)
		gemm_pack_cols(a->pk + (size_t)j0 * a->in, a->wp + j0, a->out,
		    no, a->in);
	else
		gemm_pack_rows(a->pk + (size_t)j0 * a->in, a->wp +
		    (size_t)j0 * a->in, a->in, no, a->in, 1.0f);
}

static void
prod_task(void *arg, int k)
{
	const struct prod *a = arg;
	int i0 = k % a->nrt * GEMM_ROWS, j0 = k / a->nrt * OUTS;
	int n = a->n - i0 < GEMM_ROWS ? a->n - i0 : GEMM_ROWS;
	int no = a->out - j0 < OUTS ? a->out - j0 : OUTS;

	gemm_run(&(struct gemm_y){ a->y + (size_t)i0 * a->ly + j0, a->ly,
	    (no + GEMM_PANEL - 1) / GEMM_PANEL * GEMM_PANEL, 0, a->add },
	    &(struct gemm_x){ a->xt ? a->x + i0 : a->x + (size_t)i0 * a->lx,
	    a->lx, a->xt, NULL }, a->pk + (size_t)j0 * a->in, a->b ? a->b + j0 :
	    NULL, n, no, a->in);
}

static void
prod(struct pretrain *p, float *y, int ly, const float *x, int lx, int xt,
    const float *wp, int wt, const float *b, int n, int out, int in,
    int add)
{
	struct prod a = { y, NULL, x, wp, b, ly, lx, xt, wt, n, out, in, add,
	    (n + GEMM_ROWS - 1) / GEMM_ROWS };
	int nct = (out + OUTS - 1) / OUTS;

	if (n == 0)
		return;
	if (!gemm_ok()) {
		cblas_sgemm(CblasRowMajor, xt ? CblasTrans : CblasNoTrans,
		    wt ? CblasNoTrans : CblasTrans, n, out, in, 1.0f, x, lx,
		    wp, wt ? out : in, add ? 1.0f : 0.0f, y, ly);
		for (int i = 0; b != NULL && i < n; i++)
			for (int j = 0; j < out; j++)
				y[(size_t)i * ly + j] += b[j];
		return;
	}
	if ((size_t)out * in > p->cappk) {
		p->pk = xscratch(p->pk, (size_t)out * in, sizeof(float));
		p->cappk = (size_t)out * in;
	}
	a.pk = p->pk;
	bert_parallel(nct, pack_task, &a);
	bert_parallel(a.nrt * nct, prod_task, &a);
}

/* s (n) = the column sums of d (m, n), each in the rows' order. */
static void
colsum(float *s, const float *d, int m, int n)
{
	memset(s, 0, n * sizeof(float));
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++)
			s[j] += d[(size_t)i * n + j];
}

/* ---- the model ---- */

void
pt_init(struct pretrain *p, const struct bert_config *c,
    const struct bert *src, float dropout, uint64_t seed)
{
	struct train *t = &p->t;
	struct model_it it;
	uint64_t rng = seed ^ 0x5eed5eed5eed5eedULL;
	size_t np;
	int n = 0;

	memset(p, 0, sizeof(*p));
	t->m.cfg = *c;
	t->m.cfg.nlabels = 0;
	np = model_layout(&t->m, NULL, GROUPS);
	t->m.nparams = t->g.nparams = np;
	t->m.params = xcalloc_huge(np, sizeof(float));
	t->grads = t->g.params = xcalloc_huge(np, sizeof(float));
	t->am = xcalloc_huge(np, sizeof(float));
	t->av = xcalloc_huge(np, sizeof(float));
	t->m.layer = xcalloc(c->L, sizeof(*t->m.layer));
	t->g.layer = xcalloc(c->L, sizeof(*t->g.layer));
	t->g.cfg = t->m.cfg;
	model_layout(&t->m, t->m.params, GROUPS);
	model_layout(&t->g, t->g.params, GROUPS);

	/* the parameter list, for clipping and AdamW; and the weights */
	model_it_init(&it, &t->m.cfg, GROUPS);
	while (model_it_next(&it))
		n++;
	t->tt = xcalloc(n, sizeof(*t->tt));
	model_it_init(&it, &t->m.cfg, GROUPS);
	while (model_it_next(&it)) {
		struct train_tensor *e = &t->tt[t->ntt++];
		float *w = model_ptr(&t->m, &it), *s;

		if (snprintf(e->name, sizeof(e->name), "%s%s",
		    model_prefix(&it), it.name) >= (int)sizeof(e->name)) {
			fprintf(stderr, "internal error: tensor name '%s' is "
			    "too long\n", it.name);
			abort();
		}
		e->off = w - t->m.params;
		e->n = it.n;
		e->ndim = it.ndim;
		e->shape[0] = it.shape[0];
		e->shape[1] = it.ndim > 1 ? it.shape[1] : 0;
		e->decay = (it.t->flags & MT_DECAY) != 0;
		if (src != NULL && (s = model_ptr(src, &it)) != NULL) {
			memcpy(w, s, it.n * sizeof(float));
			continue;
		}
		/* HF _init_weights */
		for (size_t i = 0; i < it.n; i++)
			w[i] = it.t->flags & MT_GAIN ? 1.0f : it.ndim == 1 ?
			    0.0f : (float)(0.02 * train_normal(&rng));
		if (w == t->m.wte)
			memset(w, 0, c->C * sizeof(float));	/* [PAD] */
	}
	/* the next-sentence head as bert.c's classifier */
	t->m.cw = t->m.nspw;
	t->m.cb = t->m.nspb;
	t->g.cw = t->g.nspw;
	t->g.cb = t->g.nspb;
	t->m.cfg.nlabels = t->g.cfg.nlabels = 2;
	if (src != NULL && src->dir != NULL)
		t->m.dir = xstrdup(src->dir);
	t->dropout = dropout;
	t->seed = seed;
	t->stale = 1;
}

void
pt_release(struct pretrain *p)
{
	train_release(&p->t);
	free(p->row);
	free(p->lab);
	free(p->xm);
	free(p->z);
	free(p->ge);
	free(p->hn);
	free(p->mr);
	free(p->lg);
	free(p->dm);
	free(p->nz);
	free(p->nl);
	free(p->pk);
	memset(p, 0, sizeof(*p));
}

void
pt_model(const struct pretrain *p, struct bert *m)
{
	*m = p->t.m;
	m->cw = m->cb = NULL;
	m->cfg.nlabels = 0;
	m->packed = 0;
	m->bfw = NULL;
}

/* ---- forward ---- */

static void
reserve(struct pretrain *p, int M, int B)
{
	size_t C = p->t.m.cfg.C, V = p->t.m.cfg.V;

	if ((size_t)M > p->capM) {
		p->capM = M;
		p->row = xreallocarray(p->row, M, sizeof(int));
		p->lab = xreallocarray(p->lab, M, sizeof(int));
		p->xm = xreallocarray(p->xm, M * C, sizeof(float));
		p->z = xreallocarray(p->z, M * C, sizeof(float));
		p->ge = xreallocarray(p->ge, M * C, sizeof(float));
		p->hn = xreallocarray(p->hn, M * C, sizeof(float));
		p->dm = xreallocarray(p->dm, M * C, sizeof(float));
		p->mr = xreallocarray(p->mr, 2 * (size_t)M, sizeof(float));
		p->lg = xreallocarray(p->lg, M * V, sizeof(float));
	}
	if ((size_t)B > p->capB) {
		p->capB = B;
		p->nz = xreallocarray(p->nz, 2 * (size_t)B, sizeof(float));
		p->nl = xreallocarray(p->nl, B, sizeof(int));
	}
}

/*
 * Cross-entropy of the logits z (n) at label y: z becomes the softmax,
 * the loss is returned, *hit is whether y is the argmax.
 */
static double
xent(float *z, int n, int y, int *hit)
{
	float mx = z[0], zy = z[y];
	double s = 0;
	int am = 0;

	for (int j = 1; j < n; j++)
		if (z[j] > mx)
			mx = z[j], am = j;
	for (int j = 0; j < n; j++)
		s += (z[j] = expf(z[j] - mx));
	for (int j = 0; j < n; j++)
		z[j] = (float)(z[j] / s);
	*hit = am == y;
	/* -log softmax at y = log sum exp(z - max) - (z_y - max) */
	return log(s) - ((double)zy - mx);
}

float
pt_forward(struct pretrain *p, const struct pt_batch *b, int train)
{
	struct train *t = &p->t;
	struct bert_run *r = &t->run;
	const struct bert_config *k = &t->m.cfg;
	int B = b->B, C = k->C, V = k->V, M = 0, N = 0, hit;
	const int **idp, **segp;
	double loss = 0;
	char err[256];

	for (int i = 0; i < B; i++)
		N += b->T[i];
	for (int i = 0; i < N; i++)
		M += b->label[i] != PT_IGNORE;
	reserve(p, M, B);
	train_pack(t);
	t->bt.p = train ? t->dropout : 0.0f;
	t->bt.seed = t->seed;
	t->bt.step = t->step;
	t->bt.gate = NULL;
	t->bt.imp = NULL;
	t->B = B;
	t->train = train;

	idp = xreallocarray(NULL, B, sizeof(*idp));
	segp = xreallocarray(NULL, B, sizeof(*segp));
	for (int i = 0, o = 0; i < B; o += b->T[i++]) {
		idp[i] = b->ids + o;
		segp[i] = b->seg + o;
	}
	if (bert_run_batch(r, B, idp, segp, b->T, err, sizeof(err)) == -1) {
		fprintf(stderr, "pt_forward: %s\n", err);
		abort();	/* the caller checks its batches */
	}
	free(idp);
	free(segp);
	bert_run_layers(r, 1, NULL, BERT_UNIFORM, 1);
	const float *x = r->xs[k->L];

	/* next sentence: the pooler and the head, no dropout between */
	p->nsp_loss = 0;
	p->has_nsp = b->nsp != NULL;
	if (b->nsp != NULL) {
		float keep = t->bt.p;

		t->bt.p = 0;
		bert_head(r, x, r->pooled, p->nz);
		t->bt.p = keep;
		for (int i = 0; i < B; i++) {
			p->nl[i] = b->nsp[i];
			loss += xent(p->nz + 2 * i, 2, b->nsp[i], &hit);
		}
		p->nsp_loss = (float)(loss / B);
	}

	/* the masked rows, gathered */
	M = 0;
	for (int i = 0, o = 0; i < B; o += b->T[i++])
		for (int j = 0; j < b->T[i]; j++) {
			if (b->label[o + j] == PT_IGNORE)
				continue;
			p->row[M] = r->off[i] + j;
			p->lab[M] = b->label[o + j];
			memcpy(p->xm + (size_t)M * C, x + (size_t)p->row[M] * C,
			    C * sizeof(float));
			M++;
		}
	p->M = M;

	/* transform: z = xm . Wt^T + bt, GELU, LayerNorm */
	prod(p, p->z, C, p->xm, C, 0, t->m.mtw, 0, t->m.mtb, M, C, C, 0);
	memcpy(p->ge, p->z, (size_t)M * C * sizeof(float));
	bert_gelu(p->ge, (size_t)M * C);
	for (int i = 0; i < M; i++) {
		const float *g = p->ge + (size_t)i * C;
		float *h = p->hn + (size_t)i * C;
		double mu = 0, var = 0;

		/* mean, then variance about it, then normalise */
		for (int j = 0; j < C; j++)
			mu += g[j];
		mu /= C;
		for (int j = 0; j < C; j++)
			var += (g[j] - mu) * (g[j] - mu);
		var /= C;
		float rs = (float)(1.0 / sqrt(var + k->eps));
		for (int j = 0; j < C; j++)
			h[j] = (float)(g[j] - mu) * rs * t->m.mlng[j] +
			    t->m.mlnb[j];
		p->mr[2 * i] = (float)mu;
		p->mr[2 * i + 1] = rs;
	}

	/* the decoder, tied to the word embeddings: lg = hn . wte^T + bias */
	prod(p, p->lg, V, p->hn, C, 0, t->m.wte, 0, t->m.mlmb, M, V, C, 0);
	double ml = 0;
	p->correct = 0;
	for (int i = 0; i < M; i++) {
		ml += xent(p->lg + (size_t)i * V, V, p->lab[i], &hit);
		p->correct += hit;
	}
	p->mlm_loss = M > 0 ? (float)(ml / M) : 0.0f;
	p->loss = p->mlm_loss + p->nsp_loss;
	t->loss = p->loss;
	return p->loss;
}

/* ---- backward ---- */

void
pt_backward(struct pretrain *p)
{
	struct train *t = &p->t;
	struct bert_run *r = &t->run;
	const struct bert_config *k = &t->m.cfg;
	struct bert *m = &t->m, *g = &t->g;
	int B = t->B, C = k->C, V = k->V, M = p->M;
	size_t n = (size_t)r->Np * C;

	if (n > t->capd) {
		t->d = xreallocarray(t->d, n, sizeof(float));
		t->capd = n;
	}
	/* the next-sentence head and the pooler, or nothing */
	if (p->has_nsp) {
		float keep = t->bt.p;

		for (int i = 0; i < B; i++) {
			p->nz[2 * i + p->nl[i]] -= 1.0f;
			p->nz[2 * i] /= B;
			p->nz[2 * i + 1] /= B;
		}
		t->bt.p = 0;
		bert_head_backward(r, g, t->d, p->nz);
		t->bt.p = keep;
	} else {
		memset(t->d, 0, n * sizeof(float));
		memset(g->pw, 0, (size_t)C * C * sizeof(float));
		memset(g->pb, 0, C * sizeof(float));
		memset(g->nspw, 0, 2 * (size_t)C * sizeof(float));
		memset(g->nspb, 0, 2 * sizeof(float));
	}

	/* dlogits (M, V) = (softmax - onehot) / M, in place */
	for (int i = 0; i < M; i++) {
		float *d = p->lg + (size_t)i * V;

		d[p->lab[i]] -= 1.0f;
		for (int j = 0; j < V; j++)
			d[j] /= M;
	}
	colsum(g->mlmb, p->lg, M, V);
	/* dhn (M, C) = dlogits . wte */
	prod(p, p->dm, C, p->lg, V, 0, m->wte, 1, NULL, M, C, V, 0);

	/*
	 * LayerNorm: with xh the normalised input and dy the gradient times
	 * the gain, dx = rstd (dy - mean(dy) - xh mean(dy xh)); the gain's
	 * and bias's gradients are sums over the rows.
	 */
	memset(g->mlng, 0, C * sizeof(float));
	memset(g->mlnb, 0, C * sizeof(float));
	for (int i = 0; i < M; i++) {
		float *d = p->dm + (size_t)i * C;
		const float *x = p->ge + (size_t)i * C;
		float mu = p->mr[2 * i], rs = p->mr[2 * i + 1];
		double s1 = 0, s2 = 0;

		for (int j = 0; j < C; j++) {
			float xh = (x[j] - mu) * rs, dy = d[j] * m->mlng[j];

			g->mlng[j] += d[j] * xh;
			g->mlnb[j] += d[j];
			s1 += dy;
			s2 += dy * xh;
		}
		s1 /= C;
		s2 /= C;
		for (int j = 0; j < C; j++) {
			float xh = (x[j] - mu) * rs, dy = d[j] * m->mlng[j];

			d[j] = rs * (dy - (float)s1 - xh * (float)s2);
		}
	}
	/* GELU, then the dense layer: dWt = dz^T . xm, dbt, dxm = dz . Wt */
	bert_gelu_grad(p->dm, p->z, (size_t)M * C);
	prod(p, g->mtw, C, p->dm, C, 1, p->xm, 1, NULL, C, C, M, 0);
	colsum(g->mtb, p->dm, M, C);
	prod(p, p->z, C, p->dm, C, 0, m->mtw, 1, NULL, M, C, C, 0);
	for (int i = 0; i < M; i++) {
		float *d = t->d + (size_t)p->row[i] * C;
		const float *s = p->z + (size_t)i * C;

		for (int j = 0; j < C; j++)
			d[j] += s[j];
	}

	/* the encoder, bert.c's twins in reverse order */
	for (int l = k->L; l >= 1; l--)
		bert_layer_backward(r, l, g, t->d);
	bert_embed_backward(r, g, t->d);

	/* the decoder's share of the tied word embeddings: += dlogits^T . hn */
	prod(p, g->wte, C, p->lg, V, 1, p->hn, 1, NULL, V, C, M, 1);
	r->tr->zg = NULL;	/* every row written: zeroed whole next time */
}
