/*
 * attend-rollout -- attention rollout and attention flow (Abnar and
 * Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020) of each
 * record's maps: how much of each input token reaches each token of each
 * layer through the attention of every layer below and the residual
 * connections beside it.
 *
 * Per layer l the heads are pooled (mean, max or min) into A_l (T, T), and
 * the residual added: Â_l = rows of (0.5 A_l + 0.5 I) scaled to sum to 1.
 * Rollout: R_1 = Â_1, R_l = Â_l R_(l-1).  Flow: the layered graph whose
 * node (k, i) is token i after layer k (k = 0 the input), with an edge of
 * capacity Â_k[i][j] from (k, i) to (k-1, j); flow_l[i][j] is the maximum
 * flow from (l, i) to (0, j), by Dinic's algorithm, each row scaled to sum
 * to 1 as the authors' code does (-r keeps the raw values).
 */
#include <err.h>
#include <getopt.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"
#include "tensor.h"
#include "util.h"

enum { POOL_MEAN, POOL_MAX, POOL_MIN };

static const char *const poolname[] = { "mean", "max", "min" };

/* Below this a residual capacity is spent (the capacities are <= 1). */
#define FLOW_EPS	1e-13

/* ---- the heads of each layer, pooled, with the residual ---- */

/*
 * a (L, T, T) = Â of each layer from maps (L, H, T, T) in dtype: the heads
 * pooled, half the identity added, rows scaled to sum to 1.  Maps must be
 * finite and not negative (they become capacities).
 */
static void
residual(double *a, const struct tensor *t, int pool, const char *key)
{
	size_t L = t->shape[0], H = t->shape[1], T = t->shape[2];

	for (size_t l = 0; l < L; l++)
		for (size_t i = 0; i < T; i++) {
			double *row = a + (l * T + i) * T, sum = 0;

			for (size_t j = 0; j < T; j++) {
				double v = 0;

				for (size_t h = 0; h < H; h++) {
					size_t at = ((l * H + h) * T + i) * T +
					    j;
					float x = tensor_get(t, at);

					if (!isfinite(x) || x < 0)
						rec_die("'%s' L%zuH%zu row %zu "
						    "column %zu is %g: maps "
						    "must be finite and not "
						    "negative", key, l + 1,
						    h + 1, i + 1, j + 1, x);
					if (h == 0 || pool == POOL_MEAN)
						v = h == 0 ? x : v + x;
					else if (pool == POOL_MAX)
						v = x > v ? x : v;
					else
						v = x < v ? x : v;
				}
				if (pool == POOL_MEAN)
					v /= (double)H;
				row[j] = 0.5 * v + (i == j ? 0.5 : 0);
				sum += row[j];
			}
			for (size_t j = 0; j < T; j++)
				row[j] /= sum;
		}
}

/* r (L, T, T): R_1 = Â_1, R_l = Â_l R_(l-1). */
static void
rollout(double *r, const double *a, size_t L, size_t T)
{
	memcpy(r, a, T * T * sizeof(*r));
	for (size_t l = 1; l < L; l++) {
		const double *al = a + l * T * T, *prev = r + (l - 1) * T * T;
		double *out = r + l * T * T;

		for (size_t i = 0; i < T; i++) {
			double *o = out + i * T;

			memset(o, 0, T * sizeof(*o));
			for (size_t k = 0; k < T; k++) {
				double w = al[i * T + k];
				const double *p = prev + k * T;

				for (size_t j = 0; j < T; j++)
					o[j] += w * p[j];
			}
		}
	}
}

/* ---- attention flow: Dinic's algorithm on the layered graph ---- */

/*
 * Node (k, i) is k * T + i.  Edge 2e goes from (k, i) down to (k-1, j),
 * e = ((k-1) * T + i) * T + j; edge 2e+1 is its reverse.  A node's edges
 * are listed in adj[first[x] .. first[x+1]): its T edges down, then the
 * reverses of the T edges that come down into it.  The graph is shared by
 * the threads; each has a workspace of its own.
 */
struct graph {
	size_t	 L, T, nodes, edges;
	double	*cap0;		/* (2 * edges) the capacities */
	size_t	*to;		/* (2 * edges) the node each edge goes to */
	size_t	*first, *adj;
};

struct flowws {
	const struct graph *g;
	double	*cap;		/* (2 * edges) what is left of cap0 */
	size_t	*it;		/* each node's next edge to try */
	int	*level;
	size_t	*queue;
	size_t	*used, nused, capused;	/* edges whose cap changed */
};

static void
graph_init(struct graph *g, size_t L, size_t T)
{
	size_t n = 0;

	g->L = L;
	g->T = T;
	g->nodes = (L + 1) * T;
	g->edges = L * T * T;
	g->cap0 = xreallocarray(NULL, 2 * g->edges, sizeof(double));
	g->adj = xreallocarray(NULL, 2 * g->edges, sizeof(size_t));
	g->to = xreallocarray(NULL, 2 * g->edges, sizeof(size_t));
	g->first = xreallocarray(NULL, g->nodes + 1, sizeof(size_t));
	for (size_t k = 0; k <= L; k++)
		for (size_t i = 0; i < T; i++) {
			g->first[k * T + i] = n;
			if (k > 0)
				for (size_t j = 0; j < T; j++)
					g->adj[n++] = 2 * (((k - 1) * T + i) *
					    T + j);
			if (k < L)
				for (size_t j = 0; j < T; j++)
					g->adj[n++] = 2 * ((k * T + j) * T +
					    i) + 1;
		}
	g->first[g->nodes] = n;
	for (size_t k = 1; k <= L; k++)
		for (size_t i = 0; i < T; i++)
			for (size_t j = 0; j < T; j++) {
				size_t e = ((k - 1) * T + i) * T + j;

				g->to[2 * e] = (k - 1) * T + j;
				g->to[2 * e + 1] = k * T + i;
			}
}

static void
graph_release(struct graph *g)
{
	free(g->cap0);
	free(g->adj);
	free(g->to);
	free(g->first);
}

/* The capacities from a (L, T, T). */
static void
graph_set(struct graph *g, const double *a)
{
	for (size_t e = 0; e < g->edges; e++) {
		g->cap0[2 * e] = a[e];
		g->cap0[2 * e + 1] = 0;
	}
}

/* A workspace for g, with no flow yet. */
static void
flowws_init(struct flowws *w, const struct graph *g)
{
	memset(w, 0, sizeof(*w));
	w->g = g;
	w->cap = xreallocarray(NULL, 2 * g->edges, sizeof(double));
	memcpy(w->cap, g->cap0, 2 * g->edges * sizeof(double));
	w->it = xreallocarray(NULL, g->nodes, sizeof(size_t));
	w->level = xreallocarray(NULL, g->nodes, sizeof(int));
	w->queue = xreallocarray(NULL, g->nodes, sizeof(size_t));
}

static void
flowws_release(struct flowws *w)
{
	free(w->cap);
	free(w->it);
	free(w->level);
	free(w->queue);
	free(w->used);
}

/* Levels from s over edges with capacity left; 1 when t is reached. */
static int
bfs(struct flowws *w, size_t s, size_t t)
{
	const struct graph *g = w->g;
	size_t qh = 0, qt = 0;

	for (size_t x = 0; x < g->nodes; x++)
		w->level[x] = -1;
	w->level[s] = 0;
	w->queue[qt++] = s;
	while (qh < qt && w->level[t] < 0) {
		size_t x = w->queue[qh++];

		for (size_t p = g->first[x]; p < g->first[x + 1]; p++) {
			size_t e = g->adj[p], y = g->to[e];

			if (w->cap[e] > FLOW_EPS && w->level[y] < 0) {
				w->level[y] = w->level[x] + 1;
				w->queue[qt++] = y;
			}
		}
	}
	return w->level[t] >= 0;
}

/* Push up to f from x to t along the level graph; what was pushed. */
static double
dfs(struct flowws *w, size_t x, size_t t, double f)
{
	const struct graph *g = w->g;

	if (x == t)
		return f;
	for (; w->it[x] < g->first[x + 1]; w->it[x]++) {
		size_t e = g->adj[w->it[x]], y = g->to[e];
		double d;

		if (w->cap[e] <= FLOW_EPS || w->level[y] != w->level[x] + 1)
			continue;
		d = dfs(w, y, t, f < w->cap[e] ? f : w->cap[e]);
		if (d > 0) {
			if (w->nused == w->capused) {
				w->capused = w->capused ? 2 * w->capused : 64;
				w->used = xreallocarray(w->used, w->capused,
				    sizeof(size_t));
			}
			w->used[w->nused++] = e;
			w->cap[e] -= d;
			w->cap[e ^ 1] += d;
			return d;
		}
	}
	return 0;
}

/*
 * The maximum flow from (l, u) to (0, v); the workspace is left with no
 * flow again.  Levels stop at the sink's, so a phase looks at the nodes
 * of layers l..0 that are nearer the source than the sink.
 */
static double
maxflow(struct flowws *w, size_t l, size_t u, size_t v)
{
	const struct graph *g = w->g;
	size_t s = l * g->T + u;
	double total = 0, d;

	while (bfs(w, s, v)) {
		for (size_t x = 0; x < g->nodes; x++)
			w->it[x] = g->first[x];
		while ((d = dfs(w, s, v, INFINITY)) > 0)
			total += d;
	}
	for (size_t k = 0; k < w->nused; k++) {
		size_t e = w->used[k];

		w->cap[e] = g->cap0[e];
		w->cap[e ^ 1] = g->cap0[e ^ 1];
	}
	w->nused = 0;
	return total;
}

/*
 * The rows of flow: row r is layer L - r / T (the deepest, and dearest,
 * first), source token r % T.  Threads take the next row in turn.
 */
struct flowjob {
	struct flowws	 ws;
	double		*f;
	int		 raw;
	size_t		*next;
	pthread_mutex_t	*mu;
};

static void *
flowrows(void *arg)
{
	struct flowjob *j = arg;
	const struct graph *g = j->ws.g;
	size_t L = g->L, T = g->T, r;

	for (;;) {
		size_t l, u;
		double *row, sum = 0;

		pthread_mutex_lock(j->mu);
		r = (*j->next)++;
		pthread_mutex_unlock(j->mu);
		if (r >= L * T)
			break;
		l = L - r / T;
		u = r % T;
		row = j->f + ((l - 1) * T + u) * T;
		for (size_t v = 0; v < T; v++)
			sum += row[v] = maxflow(&j->ws, l, u, v);
		if (!j->raw && sum > 0)
			for (size_t v = 0; v < T; v++)
				row[v] /= sum;
	}
	return NULL;
}

/* f (L, T, T): the flows of every layer, on n threads. */
static void
flow(double *f, const struct graph *g, int raw, int n)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct flowjob *job = xcalloc(n, sizeof(*job));
	pthread_t *th = xcalloc(n, sizeof(*th));
	size_t next = 0;
	int started = 1;

	for (int i = 0; i < n; i++) {
		flowws_init(&job[i].ws, g);
		job[i].f = f;
		job[i].raw = raw;
		job[i].next = &next;
		job[i].mu = &mu;
	}
	while (started < n && pthread_create(&th[started], NULL, flowrows,
	    &job[started]) == 0)
		started++;
	flowrows(&job[0]);
	for (int i = 1; i < started; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < n; i++)
		flowws_release(&job[i].ws);
	free(job);
	free(th);
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr, "usage: attend-rollout [-Frvz] [-j threads] [-k key] "
	    "[-p mean|max|min]\n"
	    "                      [-t dtype] [file ...]\n");
	exit(2);
}

static void
put(struct rec_writer *w, const char *key, const double *v, size_t L,
    size_t T, int dtype)
{
	size_t shape[4] = { L, 1, T, T }, n = L * T * T;
	float *x = xreallocarray(NULL, n, sizeof(float));

	for (size_t i = 0; i < n; i++)
		x[i] = (float)v[i];
	rec_put_tensor(w, key, dtype, shape, 4, x);
	free(x);
}

int
main(int argc, char *argv[])
{
	static const struct option lopt[] = {
		{ "dtype", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "key", required_argument, NULL, 'k' },
		{ "no-flow", no_argument, NULL, 'F' },
		{ "pool", required_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *drop[] = { "rollout", "flow", NULL };
	const char *key = "attn";
	struct rec_reader *rr;
	struct rec_writer *w;
	struct progress pr;
	struct graph g = { 0 };
	msgpack_object o;
	int ch, gz = 0, verbose = 0, noflow = 0, raw = 0, pool = POOL_MEAN;
	int dtype = DT_F32, nthreads;
	long v;

	v = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = v < 1 ? 1 : v > 64 ? 64 : (int)v;
	while ((ch = getopt_long(argc, argv, "Fj:k:p:rt:vz", lopt, NULL))
	    != -1) {
		switch (ch) {
		case 'F':
			noflow = 1;
			break;
		case 'j':
			if (parse_long(optarg, 1, 64, &v) == -1) {
				warnx("-j: '%s' is not a number of threads "
				    "from 1 to 64", optarg);
				usage();
			}
			nthreads = (int)v;
			break;
		case 'k':
			key = optarg;
			break;
		case 'p':
			for (pool = 0; pool < 3; pool++)
				if (strcmp(optarg, poolname[pool]) == 0)
					break;
			if (pool == 3) {
				warnx("-p: '%s' is not mean, max or min",
				    optarg);
				usage();
			}
			break;
		case 'r':
			raw = 1;
			break;
		case 't':
			if ((dtype = tensor_dtype(optarg)) == -1) {
				warnx("-t: '%s' is not f32, f16 or bf16",
				    optarg);
				usage();
			}
			break;
		case 'v':
			verbose = 1;
			break;
		case 'z':
			gz = 1;
			break;
		default:
			usage();
		}
	}
	if (raw && noflow) {
		warnx("-r is for flow, and -F leaves flow out");
		usage();
	}
	argc -= optind;
	argv += optind;
	rr = rec_open(argc, argv);
	w = rec_wopen(gz);
	progress_init(&pr, "records", 0, verbose);
	while (rec_next(rr, &o)) {
		struct tensor t;
		size_t L, T;
		double *a, *r, *f = NULL;

		rec_maps(&o, key, &t);
		L = t.shape[0];
		T = t.shape[2];
		a = xreallocarray(NULL, L * T * T, sizeof(double));
		r = xreallocarray(NULL, L * T * T, sizeof(double));
		residual(a, &t, pool, key);
		rollout(r, a, L, T);
		if (!noflow) {
			if (g.L != L || g.T != T) {
				graph_release(&g);
				graph_init(&g, L, T);
			}
			graph_set(&g, a);
			f = xreallocarray(NULL, L * T * T, sizeof(double));
			flow(f, &g, raw, nthreads);
		}
		rec_map_begin(w);
		rec_copy_except(w, &o, drop);
		put(w, "rollout", r, L, T, dtype);
		if (!noflow)
			put(w, "flow", f, L, T, dtype);
		rec_map_end(w);
		free(a);
		free(r);
		free(f);
		progress_add(&pr, 1);
	}
	progress_done(&pr);
	rec_wclose(w);
	rec_close(rr);
	graph_release(&g);
	return 0;
}
