/*
 * attend-dump -- split the attention of each example into one record per
 * (example, layer, head) with its map; or write the maps to files for
 * other tools and for people: TSV, .npy, and PNG/SVG heat maps (one head,
 * or the sheet of every head of an example).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attnstat.h"
#include "headset.h"
#include "plot.h"
#include "rec.h"
#include "tensor.h"
#include "util.h"

enum { O_TSV, O_NPY, O_PNG, O_SVG, NOUT };

static const char *ext[NOUT] = { "tsv", "npy", "png", "svg" };

/*
 * The keys not copied into the per-head records: those this filter writes,
 * the stack it splits and the record's other stacks (rec_mapkeys).
 */
static const char *dropkeys[16] = { "layer", "head", "map" };

static struct {
	char		*outdir[NOUT];	/* --tsv --npy --png --svg */
	const char	*spec, *key;	/* -H, -k */
	int		 sheet, records, files, gz, verbose;
} opt = { .spec = "all", .key = "attn" };

/* ---- file names ---- */

/* id as a file name: anything but [A-Za-z0-9._-] becomes '_'. */
static char *
fileid(const msgpack_object *o, size_t nrec)
{
	const msgpack_object *v = rec_get(o, "id");
	char buf[64], *s;

	if (v == NULL || v->type != MSGPACK_OBJECT_STR ||
	    v->via.str.size == 0) {
		snprintf(buf, sizeof(buf), "rec%zu", nrec);
		return xstrdup(buf);
	}
	s = xstrndup(v->via.str.ptr, v->via.str.size > 200 ? 200 :
	    v->via.str.size);
	for (char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			*p = '_';
	if (s[0] == '.')
		s[0] = '_';
	return s;
}

/*
 * The file names taken in this run: each sanitised id, where it was first
 * used and how many records have asked for it.  A chained hash table that
 * doubles.
 */
struct taken {
	char		*base, *where, *id;
	size_t		 n;
	struct taken	*next;
};
static struct taken	**taken;
static size_t		  ntaken, nbucket;

/*
 * The name of the files of a record whose id is name and sanitises to base
 * (xmalloc'd): base itself the first time, base+2, base+3, ... after, with
 * a warning, so that no map overwrites another.  '+' is never in a
 * sanitised id, so these cannot meet a name taken the first way.
 */
static char *
uniqueid(char *base, const char *name)
{
	struct taken *e, **b;
	char *s;

	if (nbucket == 0 || ntaken >= nbucket) {
		size_t nb = nbucket ? 2 * nbucket : 256;
		struct taken **t = xcalloc(nb, sizeof(*t));

		for (size_t i = 0; i < nbucket; i++)
			while ((e = taken[i]) != NULL) {
				taken[i] = e->next;
				e->next = t[fnv1a_str(e->base) & (nb - 1)];
				t[fnv1a_str(e->base) & (nb - 1)] = e;
			}
		free(taken);
		taken = t;
		nbucket = nb;
	}
	b = &taken[fnv1a_str(base) & (nbucket - 1)];
	for (e = *b; e != NULL; e = e->next)
		if (strcmp(e->base, base) == 0)
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->base = xstrdup(base);
		e->where = xstrdup(rec_where());
		e->id = xstrdup(name);
		e->n = 1;
		e->next = *b;
		*b = e;
		ntaken++;
		return base;
	}
	s = xasprintf("%s+%zu", base, ++e->n);
	warnx("%s: id '%s' is written as '%s': '%s' holds the maps of id "
	    "'%s' (%s)", rec_where(), name, s, base, e->id, e->where);
	free(base);
	return s;
}

static void
taken_free(void)
{
	struct taken *e;

	for (size_t i = 0; i < nbucket; i++)
		while ((e = taken[i]) != NULL) {
			taken[i] = e->next;
			free(e->base);
			free(e->where);
			free(e->id);
			free(e);
		}
	free(taken);
}

static char *
path(int kind, const char *id, int l, int h)
{
	if (l > 0)
		return xasprintf("%s/%s_L%dH%d.%s", opt.outdir[kind], id, l, h,
		    ext[kind]);
	return xasprintf("%s/%s.%s", opt.outdir[kind], id, ext[kind]);
}

static struct astat_check chk;	/* of every map written */

/* ---- writers ---- */

/* A labelled matrix when there are tokens: "token" and the keys, then a
 * row per query, its token first; bare numbers otherwise. */
static void
write_tsv(const char *p, const float *m, size_t T, char **tok)
{
	FILE *fp;

	if ((fp = fopen(p, "w")) == NULL)
		err(1, "%s", p);
	if (tok != NULL) {
		fprintf(fp, "token");
		for (size_t j = 0; j < T; j++)
			fprintf(fp, "\t%s", tok[j]);
		fputc('\n', fp);
	}
	for (size_t i = 0; i < T; i++) {
		if (tok != NULL)
			fprintf(fp, "%s\t", tok[i]);
		for (size_t j = 0; j < T; j++)
			fprintf(fp, j ? "\t%.6g" : "%.6g", m[i * T + j]);
		fputc('\n', fp);
	}
	closeout(fp, p);
}

/*
 * numpy format 1.0: magic, version, a little-endian header length, a
 * Python dict literal padded with spaces to a multiple of 64 bytes and
 * ended by a newline, then the data, '<f4', C order.
 */
static void
write_npy(const char *p, const float *m, size_t T)
{
	char hdr[128];
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0 };
	FILE *fp;
	int n;

	n = snprintf(hdr, sizeof(hdr), "{'descr': '<f4', 'fortran_order': "
	    "False, 'shape': (%zu, %zu), }", T, T);
	while ((10 + n + 1) % 64 != 0)
		hdr[n++] = ' ';
	hdr[n++] = '\n';
	pre[8] = n & 0xff;
	pre[9] = n >> 8;
	if ((fp = fopen(p, "wb")) == NULL)
		err(1, "%s", p);
	fwrite(pre, 1, 10, fp);
	fwrite(hdr, 1, n, fp);
	for (size_t i = 0; i < T * T; i++) {	/* little-endian */
		uint32_t u;
		unsigned char b[4];

		memcpy(&u, &m[i], 4);
		b[0] = u, b[1] = u >> 8, b[2] = u >> 16, b[3] = u >> 24;
		fwrite(b, 1, 4, fp);
	}
	closeout(fp, p);
}

static void
write_image(const char *p, const float *m, size_t T, char **tok,
    const char *title)
{
	struct plot_heat h = { 0 };
	char err[512];

	h.v = m;
	h.rows = h.cols = T;
	h.rlab = tok;
	h.clab = tok;
	h.title = title;
	h.ylab = "query";
	h.xlab = "key";
	h.barlab = "attention";
	if (plot_heatmap(p, &h, 0, 0, NULL, err, sizeof(err)) == -1)
		errx(1, "%s", err);
}

/* ---- one record ---- */

/* The panels of --sheet: the heads of one record, in order. */
struct sheet {
	float		*all;		/* (n, T, T) */
	struct plot_heat *panel;	/* (n) */
	char		**title;	/* (n) */
	int		 n;
};

static void
sheet_init(struct sheet *sh, size_t heads, size_t T)
{
	sh->all = xmalloc(heads * T * T * sizeof(float));
	sh->panel = xcalloc(heads, sizeof(*sh->panel));
	sh->title = xcalloc(heads, sizeof(*sh->title));
	sh->n = 0;
}

static void
sheet_add(struct sheet *sh, const float *m, size_t T, size_t l, size_t h)
{
	float *d = sh->all + (size_t)sh->n * T * T;

	memcpy(d, m, T * T * sizeof(float));
	sh->panel[sh->n].v = d;
	sh->panel[sh->n].rows = sh->panel[sh->n].cols = T;
	sh->title[sh->n] = xasprintf("L%zuH%zu", l, h);
	sh->panel[sh->n].title = sh->title[sh->n];
	sh->n++;
}

/* The sheet of record id to each image directory, H panels a row. */
static void
sheet_write(const struct sheet *sh, const char *id, const char *name,
    size_t H)
{
	char *p, e[512];

	if (sh->n == 0)
		return;
	for (int k = O_PNG; k <= O_SVG; k++) {
		if (opt.outdir[k] == NULL)
			continue;
		p = path(k, id, 0, 0);
		if (plot_sheet(p, sh->panel, sh->n, sh->n < (int)H ? sh->n :
		    (int)H, 0, name, e, sizeof(e)) == -1)
			errx(1, "%s", e);
		free(p);
	}
}

static void
sheet_free(struct sheet *sh)
{
	for (int i = 0; i < sh->n; i++)
		free(sh->title[i]);
	free(sh->title);
	free(sh->panel);
	free(sh->all);
}

/* Head (l, h), map m (T, T), to the files of each directory asked for. */
static void
head_files(const char *id, const char *name, size_t l, size_t h,
    const float *m, size_t T, char **tok)
{
	char *p, title[256];

	if (opt.outdir[O_TSV] != NULL) {
		p = path(O_TSV, id, l, h);
		write_tsv(p, m, T, tok);
		free(p);
	}
	if (opt.outdir[O_NPY] != NULL) {
		p = path(O_NPY, id, l, h);
		write_npy(p, m, T);
		free(p);
	}
	for (int k = O_PNG; k <= O_SVG && !opt.sheet; k++) {
		if (opt.outdir[k] == NULL)
			continue;
		p = path(k, id, l, h);
		snprintf(title, sizeof(title), "%s  L%zuH%zu", name, l, h);
		write_image(p, m, T, tok, title);
		free(p);
	}
}

/*
 * The file name of record o, number nrec, in *id and the name its
 * titles show in *name (both xmalloc'd): its id, or "recN".
 */
static void
names(const msgpack_object *o, size_t nrec, char **id, char **name)
{
	const msgpack_object *v = rec_get(o, "id");

	*id = fileid(o, nrec);
	if (v != NULL && v->type == MSGPACK_OBJECT_STR && v->via.str.size > 0)
		*name = xstrndup(v->via.str.ptr, v->via.str.size > 200 ? 200 :
		    v->via.str.size);
	else
		*name = xstrdup(*id);
	*id = uniqueid(*id, *name);
}

/*
 * The maps of record o, number nrec: the heads of hs (parsed anew when
 * the record's shape differs from the last one's), each checked, as
 * records to w (unless NULL) and files.
 */
static void
dump(struct rec_writer *w, const msgpack_object *o, size_t nrec,
    struct headset *hs)
{
	struct tensor t;
	struct sheet sh = { 0 };
	char **tok = NULL, *id = NULL, *name = NULL, msg[256];
	size_t T, L, H, ds, ntok = 0;
	float *m;

	rec_maps(o, opt.key, &t);
	L = t.shape[0];
	H = t.shape[1];
	T = t.shape[2];
	if (hs->on == NULL || hs->L != (int)L || hs->H != (int)H) {
		headset_release(hs);
		if (headset_parse(hs, opt.spec, L, H, msg, sizeof(msg)) == -1)
			rec_die("-H: %s", msg);
	}
	if (rec_get(o, "tokens") != NULL &&
	    (ntok = rec_strs(o, "tokens", &tok)) != T)
		rec_die("'tokens' has %zu entries, '%s' is %zu x %zu", ntok,
		    opt.key, T, T);
	ds = tensor_dtsize(t.dtype);
	if (opt.files)
		names(o, nrec, &id, &name);
	m = xmalloc(T * T * sizeof(float));
	if (opt.sheet)
		sheet_init(&sh, headset_count(hs), T);
	for (size_t l = 1; l <= L; l++)
		for (size_t h = 1; h <= H; h++) {
			const char *src = (const char *)t.data +
			    ((l - 1) * H + h - 1) * T * T * ds;

			if (!headset_has(hs, l, h))
				continue;
			tensor_to_f32(m, src, t.dtype, T * T);
			if (astat_check(&chk, m, T, msg, sizeof(msg)) == -1)
				rec_die("L%zuH%zu: %s", l, h, msg);
			if (w != NULL) {
				size_t shape[2] = { T, T };

				rec_map_begin(w);
				rec_copy_except(w, o, dropkeys);
				rec_put_int(w, "layer", l);
				rec_put_int(w, "head", h);
				rec_put_raw(w, "map", t.dtype, shape, 2, src);
				rec_map_end(w);
			}
			if (opt.files)
				head_files(id, name, l, h, m, T, tok);
			if (opt.sheet)
				sheet_add(&sh, m, T, l, h);
		}
	if (opt.sheet) {
		sheet_write(&sh, id, name, H);
		sheet_free(&sh);
	}
	free(m);
	free(id);
	free(name);
	if (tok != NULL)
		rec_strs_free(tok, ntok);
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr, "usage: attend-dump [-rsvz] [-H heads] [-k key] "
	    "[--npy dir] [--png dir]\n"
	    "                   [--svg dir] [--tsv dir] [file ...]\n");
	exit(2);
}

/* The options into opt; returns optind. */
static int
options(int argc, char *argv[])
{
	static const struct option lopt[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "npy", required_argument, NULL, 'N' },
		{ "png", required_argument, NULL, 'P' },
		{ "records", no_argument, NULL, 'r' },
		{ "sheet", no_argument, NULL, 's' },
		{ "svg", required_argument, NULL, 'S' },
		{ "tsv", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	struct headset hs;
	char msg[256];
	int ch, n;

	while ((ch = getopt_long(argc, argv, "H:N:P:S:T:k:rsvz", lopt, NULL))
	    != -1) {
		switch (ch) {
		case 'H':
			opt.spec = optarg;
			/*
			 * The syntax only: parsed for a model of any size
			 * (headset_syntax() rejects 'L3' and '3:*').
			 */
			if (headset_parse(&hs, opt.spec, 1000, 1000, msg,
			    sizeof(msg)) == -1) {
				warnx("-H: %s", msg);
				usage();
			}
			headset_release(&hs);
			break;
		case 'k':
			opt.key = optarg;
			break;
		case 'N':
			opt.outdir[O_NPY] = optarg;
			break;
		case 'P':
			opt.outdir[O_PNG] = optarg;
			break;
		case 'S':
			opt.outdir[O_SVG] = optarg;
			break;
		case 'T':
			opt.outdir[O_TSV] = optarg;
			break;
		case 'r':
			opt.records = 1;
			break;
		case 's':
			opt.sheet = 1;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'z':
			opt.gz = 1;
			break;
		default:
			usage();
		}
	}
	for (int k = 0; k < NOUT; k++)
		opt.files |= opt.outdir[k] != NULL;
	if (opt.sheet && opt.outdir[O_PNG] == NULL &&
	    opt.outdir[O_SVG] == NULL) {
		warnx("--sheet needs --png or --svg");
		usage();
	}
	if (!opt.files)
		opt.records = 1;
	n = 3;
	for (int i = 0; rec_mapkeys[i] != NULL; i++)
		dropkeys[n++] = rec_mapkeys[i];
	dropkeys[n++] = opt.key;	/* twice is no harm */
	return optind;
}

int
main(int argc, char *argv[])
{
	struct headset hs = { 0 };
	struct rec_reader *rr;
	struct rec_writer *w = NULL;
	struct progress pr;
	msgpack_object o;
	int n;

	n = options(argc, argv);
	argc -= n;
	argv += n;
	outinit();
	for (int k = 0; k < NOUT; k++)
		if (opt.outdir[k] != NULL && mkdirp(opt.outdir[k]) == -1)
			err(1, "%s", opt.outdir[k]);
	rr = rec_open(argc, argv);
	if (opt.records)
		w = rec_wopen(opt.gz);
	progress_init(&pr, "records", 0, opt.verbose);
	while (rec_next(rr, &o)) {
		dump(w, &o, rec_count(rr), &hs);
		progress_add(&pr, 1);
	}
	progress_done(&pr);
	astat_check_report(&chk);
	if (w != NULL)
		rec_wclose(w);
	rec_close(rr);
	headset_release(&hs);
	taken_free();
	return 0;
}
