/*
 * score -- a task's GLUE metrics per group of records (per head set from
 * ablate), each group's difference to the base group with a paired test
 * over the same examples, as a TSV table; optionally the L x H heat map of
 * the head differences and the layer column.
 */
#include <ctype.h>
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attnstat.h"
#include "glue.h"
#include "metrics.h"
#include "rec.h"
#include "util.h"
#include "plot.h"

#define USAGE	"usage: score [-t task] [--base name] [--by key] " \
		"[--heatmap file] [--metric name]\n" \
		"             [--resamples n] [--seed s] [file ...]\n"

/* ---- tasks (common/glue.c's table) ---- */

/* For records with no task and no -t: a classifier, scored by accuracy. */
static const struct glue_task notask = { .name = "-", .metrics = { "acc" } };

#define REGRESSION(t)	((t)->nlabels == 1)

/* ---- a string -> index table (open addressing, FNV-1a) ---- */

struct strtab {
	char	**key;
	size_t	 *val;
	size_t	  n, cap;
};

/* The slot of key: where it is, or the empty one where it would go. */
static size_t
strtab_slot(const struct strtab *t, const char *key)
{
	size_t i = fnv1a_str(key) & (t->cap - 1);

	while (t->key[i] != NULL && strcmp(t->key[i], key) != 0)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static size_t *
strtab_find(const struct strtab *t, const char *key)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	i = strtab_slot(t, key);
	return t->key[i] != NULL ? &t->val[i] : NULL;
}

/* Add key (not copied) with val; 0, or -1 when key is already there. */
static int
strtab_add(struct strtab *t, char *key, size_t val)
{
	size_t i;

	if (2 * (t->n + 1) > t->cap) {
		struct strtab old = *t;

		t->cap = t->cap ? 2 * t->cap : 64;
		t->key = xcalloc(t->cap, sizeof(*t->key));
		t->val = xcalloc(t->cap, sizeof(*t->val));
		for (size_t j = 0; j < old.cap; j++)
			if (old.key[j] != NULL) {
				i = strtab_slot(t, old.key[j]);
				t->key[i] = old.key[j];
				t->val[i] = old.val[j];
			}
		free(old.key);
		free(old.val);
	}
	i = strtab_slot(t, key);
	if (t->key[i] != NULL)
		return -1;
	t->key[i] = key;
	t->val[i] = val;
	t->n++;
	return 0;
}

static void
strtab_release(struct strtab *t)
{
	free(t->key);
	free(t->val);
}

/* ---- groups of records ---- */

struct group {
	char		*name;
	size_t		 n, cap;
	double		*pred, *gold;	/* (n) */
	char		**id;		/* (n), NULL without ids */
	struct strtab	 ids;
	/* the comparison with the base group */
	size_t		 paired;
	struct metric_boot boot;
	int		 compared;
	const char	*test;
};

static struct group	*groups;
static size_t		 ngroups;
static struct strtab	 groupnames;

static struct group *
group_get(const char *name)
{
	size_t *i = strtab_find(&groupnames, name);
	struct group *g;

	if (i != NULL)
		return &groups[*i];
	groups = xreallocarray(groups, ngroups + 1, sizeof(*groups));
	g = &groups[ngroups];
	memset(g, 0, sizeof(*g));
	g->name = xstrdup(name);
	strtab_add(&groupnames, g->name, ngroups);
	ngroups++;
	return g;
}

/* A string or integer value as a string, or NULL for other types. */
static char *
objstr(const msgpack_object *o)
{
	char buf[32];

	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		return xstrndup(o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(buf, sizeof(buf), "%llu",
		    (unsigned long long)o->via.u64);
		return xstrdup(buf);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)o->via.i64);
		return xstrdup(buf);
	default:
		return NULL;
	}
}

/* ---- reading ---- */

static const struct glue_task *task;	/* from -t, or the first record's */
static int		  task_opt;	/* task came from -t */
static char		 *taskname;	/* as the first record spells it */
static const char	 *bykey;	/* NULL: "ablation" when present */
static int		  bydecided, useby, useids;

/* The class or value a record predicts: argmax of logits, logits[0], pred. */
static double
record_pred(const msgpack_object *rec)
{
	const msgpack_object *o;
	float *v;
	size_t n;
	double x;

	if ((o = rec_get(rec, "logits")) != NULL) {
		n = rec_floats(rec, "logits", &v);
		if (n == 0)
			rec_die("'logits' is empty");
		if (REGRESSION(task) && n != 1)
			rec_die("'logits' has %zu values, expected 1 for "
			    "regression task %s", n, task->name);
		if (!REGRESSION(task) && n == 1)
			rec_die("'logits' has 1 value (a regression model?), "
			    "but %s is a classification task", task->name);
		if (!REGRESSION(task) && task->nlabels > 0 &&
		    n != (size_t)task->nlabels)
			rec_die("'logits' has %zu values, %s has %d classes",
			    n, task->name, task->nlabels);
		x = REGRESSION(task) ? v[0] : (double)argmax(v, n);
		for (size_t i = 0; i < n; i++)
			if (!isfinite(v[i]))
				rec_die("'logits'[%zu] is %g, not a finite "
				    "number", i, v[i]);
		free(v);
		return x;
	}
	if (rec_get(rec, "pred") == NULL)
		rec_die("no key 'logits' or 'pred'");
	x = rec_num(rec, "pred");
	if (!isfinite(x))
		rec_die("'pred' is %g, not a finite number", x);
	if (!REGRESSION(task) && !isclass(x, task->nlabels))
		rec_die("'pred' is %g, expected a class number", x);
	return x;
}

static void
record_task(const msgpack_object *rec)
{
	const msgpack_object *o = rec_get(rec, "task");
	const struct glue_task *t;

	if (o == NULL) {
		if (task == NULL)
			task = &notask;
		return;
	}
	if (o->type != MSGPACK_OBJECT_STR)
		rec_die("'task' is %s, expected a string", rec_typename(o));
	if (taskname == NULL) {
		if ((t = glue_taskn(o->via.str.ptr, o->via.str.size)) == NULL)
			rec_die("unknown task '%.*s'", (int)o->via.str.size,
			    o->via.str.ptr);
		if (task_opt && t != task)
			rec_die("task '%.*s', but -t says %s",
			    (int)o->via.str.size, o->via.str.ptr, task->name);
		if (task == &notask)
			rec_die("task '%.*s', but earlier records have none",
			    (int)o->via.str.size, o->via.str.ptr);
		task = t;
		taskname = xstrndup(o->via.str.ptr, o->via.str.size);
	} else if (strlen(taskname) != o->via.str.size ||
	    strncmp(taskname, o->via.str.ptr, o->via.str.size) != 0)
		rec_die("task '%.*s', but earlier records are %s: mixed tasks",
		    (int)o->via.str.size, o->via.str.ptr, taskname);
}

static void
record_add(const msgpack_object *rec)
{
	const msgpack_object *o;
	struct group *g;
	char *gname, *id = NULL;
	double gold, pred;

	record_task(rec);

	/* the group */
	if (!bydecided) {
		useby = bykey != NULL || rec_get(rec, "ablation") != NULL;
		if (bykey == NULL)
			bykey = "ablation";
		useids = rec_get(rec, "id") != NULL;
		bydecided = 1;
	}
	if (useby) {
		o = rec_need(rec, bykey);
		if ((gname = objstr(o)) == NULL)
			rec_die("'%s' is %s, expected a string", bykey,
			    rec_typename(o));
	} else
		gname = xstrdup("all");
	g = group_get(gname);
	free(gname);

	/* the example */
	if (useids) {
		if ((o = rec_get(rec, "id")) == NULL)
			rec_die("no key 'id' (earlier records have one)");
		if ((id = objstr(o)) == NULL)
			rec_die("'id' is %s, expected a string",
			    rec_typename(o));
	}
	if (rec_get(rec, "label") == NULL)
		rec_die("no key 'label'");
	gold = rec_num(rec, "label");
	if (!isfinite(gold))
		rec_die("'label' is %g, not a finite number", gold);
	if (!REGRESSION(task) && !isclass(gold, task->nlabels))
		rec_die("'label' is %g, expected a class number for %s", gold,
		    task->name);
	pred = record_pred(rec);

	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->pred = xreallocarray(g->pred, g->cap, sizeof(*g->pred));
		g->gold = xreallocarray(g->gold, g->cap, sizeof(*g->gold));
		g->id = xreallocarray(g->id, g->cap, sizeof(*g->id));
	}
	if (id != NULL && strtab_add(&g->ids, id, g->n) == -1)
		rec_die("id '%s' appears twice in group '%s'", id, g->name);
	g->pred[g->n] = pred;
	g->gold[g->n] = gold;
	g->id[g->n] = id;
	g->n++;
}

/* ---- one order, whatever order the records come in ---- */

/*
 * Strings with each run of decimal digits taken as its number: L2 before
 * L10, RTE/dev/9 before RTE/dev/10.  Strings equal that way ("L02",
 * "L2") compare byte by byte.
 */
static int
natcmp(const char *a, const char *b)
{
	const char *x = a, *y = b;

	while (*x != '\0' && *y != '\0') {
		if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
			size_t n = 0, m = 0;
			int c;

			while (*x == '0')
				x++;
			while (*y == '0')
				y++;
			while (isdigit((unsigned char)x[n]))
				n++;
			while (isdigit((unsigned char)y[m]))
				m++;
			if (n != m)		/* more digits, a larger number */
				return n < m ? -1 : 1;
			if ((c = memcmp(x, y, n)) != 0)
				return c < 0 ? -1 : 1;
			x += n;
			y += m;
			continue;
		}
		if (*x != *y)
			return (unsigned char)*x < (unsigned char)*y ? -1 : 1;
		x++;
		y++;
	}
	if (*x != '\0' || *y != '\0')
		return *x != '\0' ? 1 : -1;
	return strcmp(a, b);
}

/*
 * A head's name, L3H7 (h the head), or a layer's, L3 (h 0): 1, else 0.
 * Numbers from 1, digits only.
 */
static int
headname(const char *s, int *l, int *h)
{
	long a, b = 0;
	char *e;

	if (s[0] != 'L' || !isdigit((unsigned char)s[1]))
		return 0;
	a = strtol(s + 1, &e, 10);
	if (*e == 'H') {
		if (!isdigit((unsigned char)e[1]))
			return 0;
		b = strtol(e + 1, &e, 10);
		if (b < 1)
			return 0;
	}
	if (*e != '\0' || a < 1 || a > INT_MAX || b > INT_MAX)
		return 0;
	*l = a;
	*h = b;
	return 1;
}

static const char	*basegrp = "base";

/* 0 the base group, 1 a head, 2 a layer, 3 any other name. */
static int
grouprank(const char *name, int *l, int *h)
{
	if (strcmp(name, basegrp) == 0)
		return 0;
	if (headname(name, l, h))
		return *h > 0 ? 1 : 2;
	return 3;
}

/*
 * The base group, then the heads by layer and head, then the layers, then
 * the other groups by name (natcmp).
 */
static int
groupcmp(const void *p, const void *q)
{
	const struct group *a = p, *b = q;
	int la = 0, ha = 0, lb = 0, hb = 0, ra, rb;

	ra = grouprank(a->name, &la, &ha);
	rb = grouprank(b->name, &lb, &hb);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 1 || ra == 2) {
		if (la != lb)
			return la < lb ? -1 : 1;
		if (ha != hb)
			return ha < hb ? -1 : 1;
	}
	return natcmp(a->name, b->name);
}

static char	**sortids;	/* the ids idcmp compares by index */

static int
idcmp(const void *p, const void *q)
{
	return natcmp(sortids[*(const size_t *)p], sortids[*(const size_t *)q]);
}

/*
 * The groups in groupcmp's order and, with ids, each group's examples in
 * natcmp's order of their ids: the table, the pairing and the bootstrap's
 * draws are then the same however the records were split and merged.
 */
static void
canonical_order(void)
{
	qsort(groups, ngroups, sizeof(*groups), groupcmp);
	strtab_release(&groupnames);
	memset(&groupnames, 0, sizeof(groupnames));
	for (size_t i = 0; i < ngroups; i++)
		strtab_add(&groupnames, groups[i].name, i);
	if (!useids)
		return;
	for (size_t i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];
		size_t *ix = xreallocarray(NULL, g->n + 1, sizeof(*ix));
		double *pred = xreallocarray(NULL, 2 * (g->n + 1),
		    sizeof(*pred)), *gold = pred + g->n + 1;
		char **id = xreallocarray(NULL, g->n + 1, sizeof(*id));

		for (size_t j = 0; j < g->n; j++)
			ix[j] = j;
		sortids = g->id;
		qsort(ix, g->n, sizeof(*ix), idcmp);
		strtab_release(&g->ids);
		memset(&g->ids, 0, sizeof(g->ids));
		for (size_t j = 0; j < g->n; j++) {
			pred[j] = g->pred[ix[j]];
			gold[j] = g->gold[ix[j]];
			id[j] = g->id[ix[j]];
			strtab_add(&g->ids, id[j], j);
		}
		memcpy(g->pred, pred, g->n * sizeof(*pred));
		memcpy(g->gold, gold, g->n * sizeof(*gold));
		memcpy(g->id, id, g->n * sizeof(*id));
		free(ix);
		free(pred);
		free(id);
	}
}

/* ---- comparing with the base group ---- */

static metric_fn	*dmetric;	/* the metric of the differences */
static uint64_t		 seed = 1;
static size_t		 resamples = 1000;

/*
 * Pair g's examples with base's: by id, or by position without ids.  The
 * gold value must agree; examples only one side has are left out and
 * counted in a warning.
 */
static void
compare(struct group *g, const struct group *base)
{
	double *a, *b, *gold;
	size_t n = 0, nonly = 0, bonly;

	a = xreallocarray(NULL, 3 * (g->n + 1), sizeof(*a));
	b = a + g->n + 1;
	gold = b + g->n + 1;
	for (size_t i = 0; i < g->n; i++) {
		size_t j, *jp;

		if (useids) {
			if ((jp = strtab_find(&base->ids, g->id[i])) == NULL) {
				nonly++;
				continue;
			}
			j = *jp;
		} else if ((j = i) >= base->n) {
			nonly++;
			continue;
		}
		if (g->gold[i] != base->gold[j])
			errx(1, "example '%s': label %g in group '%s' but %g "
			    "in '%s'", useids ? g->id[i] : "?", g->gold[i],
			    g->name, base->gold[j], base->name);
		a[n] = g->pred[i];
		b[n] = base->pred[j];
		gold[n] = base->gold[j];
		n++;
	}
	bonly = base->n - n;
	if (nonly || bonly)
		warnx("group '%s': %zu of its examples are not in '%s', "
		    "%zu of '%s' are not in it; paired on %zu", g->name,
		    nonly, base->name, bonly, base->name, n);
	g->paired = n;
	g->compared = 1;
	metric_bootstrap(&g->boot, dmetric, a, b, gold, n,
	    metric_seed(seed, g->name), resamples);
	if (dmetric == metric_accuracy) {
		size_t bwin = 0, gwin = 0;

		/* discordant pairs: only one of the two is right */
		for (size_t i = 0; i < n; i++) {
			int ga = lround(a[i]) == lround(gold[i]);
			int gb = lround(b[i]) == lround(gold[i]);

			gwin += ga && !gb;
			bwin += gb && !ga;
		}
		g->boot.p = metric_mcnemar(bwin, gwin);
		g->test = "mcnemar";
	} else
		g->test = "bootstrap";
	free(a);
}

/* ---- output ---- */

static void
num(double x, const char *fmt)
{
	if (isnan(x))
		fputs("\tNA", stdout);
	else
		printf(fmt, x);
}

static void
print_table(const struct glue_task *t, const struct group *base)
{
	const char *shown[4];
	size_t nm = 0;
	int have = 0;

	/* the task's metrics, and the one of the deltas when it is another */
	while (nm < 3 && t->metrics[nm] != NULL) {
		shown[nm] = t->metrics[nm];
		have |= metric_byname(shown[nm]) == dmetric;
		nm++;
	}
	if (!have)
		shown[nm++] = metric_name(dmetric);
	printf("group\tn");
	for (size_t k = 0; k < nm; k++)
		printf("\t%s", shown[k]);
	printf("\tmetric\tdelta\tci_lo\tci_hi\tp\ttest\tpaired"
	    "\tresamples\tseed\n");
	for (size_t i = 0; i < ngroups; i++) {
		const struct group *g = &groups[i];

		printf("%s\t%zu", g->name, g->n);
		for (size_t k = 0; k < nm; k++)
			num(metric_byname(shown[k])(g->pred, g->gold, g->n),
			    "\t%.6f");
		printf("\t%s", metric_name(dmetric));
		if (g->compared) {
			num(g->boot.d, "\t%.6f");
			num(g->boot.lo, "\t%.6f");
			num(g->boot.hi, "\t%.6f");
			num(g->boot.p, "\t%.4g");
			printf("\t%s\t%zu", g->test, g->paired);
		} else if (g == base)
			printf("\t0.000000\tNA\tNA\tNA\treference\t%zu", g->n);
		else
			printf("\tNA\tNA\tNA\tNA\tnone\tNA");
		printf("\t%zu\t%llu\n", resamples, (unsigned long long)seed);
	}
}

/* A small black dot in each cell of the box whose flag is set. */
static void
dots(struct plot *p, const struct plot_box *b, const float *sig, int rows,
    int cols)
{
	cairo_t *cr = plot_cairo(p);
	double cw = b->w / cols, ch = b->h / rows;

	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++) {
			if (!(sig[(size_t)i * cols + j] > 0))
				continue;
			cairo_arc(cr, b->x + (j + 0.5) * cw, b->y + (i + 0.5) * ch,
			    (cw < ch ? cw : ch) * 0.12, 0, 2 * M_PI);
			cairo_set_source_rgb(cr, 0, 0, 0);
			cairo_fill(cr);
		}
}

/*
 * The grid and the column side by side on one scale, blue below the base
 * group, red above; a dot marks a cell whose p is below 0.05.
 */
static void
draw(const char *path, const float *grid, const float *col, const float *sig,
    int L, int H, double amax, double basev)
{
	struct plot_heat hg, hc;
	struct plot_box g, c;
	struct plot *p;
	char **rlab, **clab, err[512], title[160], bar[64];
	double cell = 26, gw, w, hgt, cs, grey[3] = { 0.5, 0.5, 0.5 };

	rlab = xreallocarray(NULL, L + H, sizeof(*rlab));
	clab = rlab + L;
	for (int i = 0; i < L + H; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "%d", i < L ? i + 1 : i - L + 1);
		rlab[i] = xstrdup(buf);
	}
	snprintf(title, sizeof(title), "%s: disabling heads and layers",
	    task == &notask ? "score" : task->name);
	snprintf(bar, sizeof(bar), "%s - %s", metric_name(dmetric), basegrp);
	memset(&hg, 0, sizeof(hg));
	hg.v = grid;
	hg.rows = L;
	hg.cols = H;
	hg.rlab = rlab;
	hg.clab = clab;
	hg.title = title;
	hg.scale = PLOT_DIV;
	hg.vmax = amax > 0 ? amax : 1;
	hg.nobar = 1;
	hg.xlab = "head";
	hg.ylab = "layer";
	hg.title = " ";		/* room for the title, drawn below */
	hc = hg;
	hc.v = col;
	hc.cols = 1;

	gw = 70 + H * cell;
	w = gw + 2 * cell + 150;
	if (w < 8.0 * strlen(title) + 20)
		w = 8.0 * strlen(title) + 20;
	if (w < 400)
		w = 400;
	hgt = 90 + L * cell + 60;
	if ((p = plot_open(path, w, hgt, err, sizeof(err))) == NULL)
		errx(1, "%s", err);
	plot_text(p, 10, 20, 14, PLOT_LEFT, title);
	plot_panel(p, (struct plot_box){ 0, 0, gw, hgt }, &hg, &g);
	dots(p, &g, sig, L, H);

	/* the layer column: cells as the grid's, half a cell to its right */
	cs = g.w / H;
	c = (struct plot_box){ g.x + g.w + cs / 2, g.y, cs, g.h };
	plot_cells(p, c, &hc);
	plot_line(p, c.x, c.y, c.x + c.w, c.y, 0.6, grey);
	plot_line(p, c.x, c.y + c.h, c.x + c.w, c.y + c.h, 0.6, grey);
	plot_line(p, c.x, c.y, c.x, c.y + c.h, 0.6, grey);
	plot_line(p, c.x + c.w, c.y, c.x + c.w, c.y + c.h, 0.6, grey);
	dots(p, &c, sig + (size_t)L * H, L, 1);
	plot_vtext(p, c.x + cs / 2 + 4, c.y + c.h + 3, 11, PLOT_RIGHT,
	    "all");
	plot_colorbar(p, (struct plot_box){ c.x + c.w + 14, g.y, 14,
	    g.h < 100 ? 100 : g.h }, PLOT_DIV, hg.vmax, bar);
	snprintf(title, sizeof(title), "%s %s = %.4f;  dot: p < 0.05 (%s)",
	    basegrp, metric_name(dmetric), basev,
	    dmetric == metric_accuracy ? "McNemar" : "paired bootstrap");
	plot_text(p, 10, g.y + g.h + 62 < hgt - 8 ? g.y + g.h + 62 : hgt - 8,
	    11, PLOT_LEFT, title);
	if (plot_close(p, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	for (int i = 0; i < L + H; i++)
		free(rlab[i]);
	free(rlab);
}

static void
heatmap(const char *path)
{
	int L = 0, H = 0, l, h;
	float *grid, *col, *sig, *scol;
	double amax = 0;
	size_t n, named = 0;

	for (size_t i = 0; i < ngroups; i++)
		if (headname(groups[i].name, &l, &h)) {
			L = l > L ? l : L;
			H = h > H ? h : H;
			named++;
		}
	if (L == 0)
		errx(1, "%s: no groups named like L3H7 or L3 to draw", path);
	if (L > 1000 || H > 1000)
		errx(1, "%s: %d layers x %d heads is too many to draw", path,
		    L, H);
	if (!astat_tablefits(L, H, named))
		errx(1, "%s: a grid of %d layers x %d heads for %zu groups is "
		    "out of all proportion (layers and heads are numbered "
		    "from 1)", path, L, H, named);
	if (H == 0)
		H = 1;		/* layers only: an empty grid beside them */
	n = (size_t)L * (H + 1);
	grid = xreallocarray(NULL, 2 * n, sizeof(*grid));
	col = grid + (size_t)L * H;
	sig = grid + n;
	scol = sig + (size_t)L * H;
	for (size_t i = 0; i < n; i++)
		grid[i] = NAN, sig[i] = 0;
	for (size_t i = 0; i < ngroups; i++) {
		const struct group *g = &groups[i];
		double d = g->compared ? g->boot.d : NAN;
		int s = g->compared && g->boot.p < 0.05;

		if (!headname(g->name, &l, &h))
			continue;
		if (h > 0) {
			grid[(size_t)(l - 1) * H + h - 1] = d;
			sig[(size_t)(l - 1) * H + h - 1] = s;
		} else {
			col[l - 1] = d;
			scol[l - 1] = s;
		}
		if (!isnan(d) && fabs(d) > amax)
			amax = fabs(d);
	}
	draw(path, grid, col, sig, L, H, amax,
	    strcmp(groups[0].name, basegrp) == 0 ?
	    dmetric(groups[0].pred, groups[0].gold, groups[0].n) : NAN);
	free(grid);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "base", required_argument, NULL, 'B' },
		{ "by", required_argument, NULL, 'b' },
		{ "heatmap", required_argument, NULL, 'p' },
		{ "metric", required_argument, NULL, 'M' },
		{ "resamples", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "task", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct rec_reader *rr;
	msgpack_object rec;
	const char *heatpath = NULL, *mname = NULL;
	struct group *base = NULL;
	long v;
	int ch;

	while ((ch = getopt_long(argc, argv, "t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			basegrp = optarg;
			break;
		case 'b':
			if (*optarg == '\0')
				errx(2, "--by: empty key");
			bykey = optarg;
			break;
		case 'M':
			if (metric_byname(optarg) == NULL)
				errx(2, "--metric: '%s' is not one of acc, f1, "
				    "mcc, pearson, spearman", optarg);
			mname = optarg;
			break;
		case 'p':
			heatpath = optarg;
			break;
		case 'r':
			if (parse_long(optarg, 0, 100000000, &v) == -1)
				errx(2, "--resamples: '%s' is not a number in "
				    "0..100000000", optarg);
			resamples = v;
			break;
		case 's': {
			char *end;

			seed = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *optarg == '-' || *end != '\0')
				errx(2, "--seed: '%s' is not a non-negative "
				    "integer", optarg);
			break;
		}
		case 't':
			if ((task = glue_task(optarg)) == NULL)
				errx(2, "-t: unknown task '%s' (%s)", optarg,
				    glue_names());
			task_opt = 1;
			break;
		default:
			fputs(USAGE, stderr);
			exit(2);
		}
	}
	outinit();
	argc -= optind;
	argv += optind;
	if (heatpath != NULL) {
		const char *dot = strrchr(heatpath, '.');

		if (dot == NULL || (strcasecmp(dot, ".png") != 0 &&
		    strcasecmp(dot, ".svg") != 0))
			errx(2, "--heatmap: '%s' must end in .png or .svg",
			    heatpath);
	}

	rr = rec_open(argc, argv);
	while (rec_next(rr, &rec))
		record_add(&rec);
	rec_close(rr);
	if (task == NULL)
		task = &notask;
	if (ngroups == 0)
		errx(1, "%s: no records", argc ? argv[0] : "<stdin>");

	dmetric = metric_byname(mname ? mname : task->metrics[0]);
	if (REGRESSION(task) && (dmetric == metric_accuracy ||
	    dmetric == metric_f1 || dmetric == metric_matthews))
		errx(2, "--metric: %s is for classification, %s is a "
		    "regression task", mname, task->name);
	if (!REGRESSION(task) && (dmetric == metric_pearson ||
	    dmetric == metric_spearman))
		errx(2, "--metric: %s is for regression, %s is a "
		    "classification task", mname, task->name);

	canonical_order();
	if (strcmp(groups[0].name, basegrp) == 0)
		base = &groups[0];
	if (base == NULL && ngroups > 1)
		errx(1, "no group '%s' to compare the other %zu groups of "
		    "'%s' with (--base names another)", basegrp, ngroups,
		    bykey);
	if (base != NULL)
		for (size_t i = 1; i < ngroups; i++)
			compare(&groups[i], base);
	print_table(task, base);
	if (heatpath != NULL)
		heatmap(heatpath);
	closeout(stdout, "stdout");
	for (size_t i = 0; i < ngroups; i++) {
		for (size_t j = 0; j < groups[i].n; j++)
			free(groups[i].id[j]);
		strtab_release(&groups[i].ids);
		free(groups[i].id);
		free(groups[i].pred);
		free(groups[i].gold);
		free(groups[i].name);
	}
	free(groups);
	strtab_release(&groupnames);
	free(taskname);
	return 0;
}
