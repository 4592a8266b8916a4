/*
 * ablate -- run a classifier on each token record with no head disabled
 * and then with each requested set of heads disabled, and write one record
 * per (example, set) with the logits, for score(1).
 *
 * The layers below a set's first disabled layer compute what the
 * baseline's do, so the baseline run keeps each layer's input and every
 * set starts from the input of its first disabled layer.
 */
#include <ctype.h>
#include <err.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bert.h"
#include "headset.h"
#include "model.h"
#include "rec.h"
#include "util.h"

#define USAGE	"usage: ablate -m model [-v] [--heads spec] [--layers spec] " \
		"[--mode uniform|zero]\n" \
		"              [--no-reuse] [--sets file] [file ...]\n"

static void
usage(void)
{
	fputs(USAGE, stderr);
	exit(2);
}

/* ---- head sets ---- */

struct set {
	char		*name;		/* "L3H7", "L3", or the file's name */
	struct headset	 hs;
	int		 first;		/* first layer with a disabled head */
};

static struct set	*sets;
static size_t		 nsets;

static void
set_add(char *name, struct headset *hs)
{
	struct set *s;
	int l, h;

	for (size_t i = 0; i < nsets; i++)
		if (strcmp(sets[i].name, name) == 0)
			errx(2, "head set '%s' is named twice", name);
	sets = xreallocarray(sets, nsets + 1, sizeof(*sets));
	s = &sets[nsets++];
	s->name = name;
	s->hs = *hs;
	s->first = 0;
	for (l = 1; l <= hs->L && s->first == 0; l++)
		for (h = 1; h <= hs->H; h++)
			if (headset_has(hs, l, h)) {
				s->first = l;
				break;
			}
}

/* One head, or a whole layer (h 0), as a set of its own. */
static void
set_one(int L, int H, int l, int h)
{
	struct headset hs;
	char name[32], err[128];

	if (h > 0)
		snprintf(name, sizeof(name), "%d:%d", l, h);
	else
		snprintf(name, sizeof(name), "%d:*", l);
	if (headset_parse(&hs, name, L, H, err, sizeof(err)) == -1)
		errx(2, "%s", err);
	if (h > 0)
		snprintf(name, sizeof(name), "L%dH%d", l, h);
	else
		snprintf(name, sizeof(name), "L%d", l);
	set_add(xstrdup(name), &hs);
}

/*
 * A layer spec: comma-separated "all", "3", "L3", "1-3" or "L1-3".
 * Marks on[l - 1] for each layer; -1 with a message in err.
 */
static int
layers_parse(const char *spec, int L, unsigned char *on, char *err,
    size_t errlen)
{
	char *s = xstrdup(spec), *item, *save = NULL;
	int rc = 0;

	if (*spec == '\0') {
		snprintf(err, errlen, "empty layer spec");
		free(s);
		return -1;
	}
	for (item = strtok_r(s, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		char *p = item, *end;
		long a, b;

		if (strcmp(item, "all") == 0) {
			for (int l = 0; l < L; l++)
				on[l] = 1;
			continue;
		}
		if (*p == 'L' || *p == 'l')
			p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		a = b = strtol(p, &end, 10);
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				goto bad;
			b = strtol(end + 1, &end, 10);
		}
		if (*end != '\0' || a > b)
			goto bad;
		if (L > 0 && (a < 1 || b > L)) {
			snprintf(err, errlen, "'%s': layer %ld is outside 1..%d",
			    item, a < 1 ? a : b, L);
			rc = -1;
			break;
		}
		for (long l = a; L > 0 && l <= b; l++)
			on[l - 1] = 1;
		continue;
bad:
		snprintf(err, errlen, "'%s' is not a layer, a range of layers "
		    "or all", item);
		rc = -1;
		break;
	}
	free(s);
	return rc;
}

/* NAME<TAB>SPEC lines; # comments and blank lines are skipped. */
static void
sets_file(const char *path, int L, int H)
{
	FILE *fp;
	char *line = NULL, *tab, *spec, msg[256];
	size_t cap = 0, lineno = 0;
	ssize_t len;
	struct headset hs;

	if ((fp = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if ((tab = strchr(line, '\t')) == NULL || tab == line)
			errx(1, "%s:%zu: expected a name, a tab and a head "
			    "spec", path, lineno);
		*tab = '\0';
		for (spec = tab + 1; *spec == ' ' || *spec == '\t'; spec++)
			;
		if (headset_parse(&hs, spec, L, H, msg, sizeof(msg)) == -1)
			errx(1, "%s:%zu: %s", path, lineno, msg);
		if (headset_count(&hs) == 0)
			errx(1, "%s:%zu: set '%s' has no heads", path, lineno,
			    line);
		for (size_t i = 0; i < nsets; i++)
			if (strcmp(sets[i].name, line) == 0)
				errx(1, "%s:%zu: set '%s' is already defined",
				    path, lineno, line);
		set_add(xstrdup(line), &hs);
	}
	if (ferror(fp))
		err(1, "%s", path);
	free(line);
	fclose(fp);
}

/* ---- output ---- */

static const char *const passkeys[] = { "id", "label", "task" };

static void
put(struct rec_writer *w, const msgpack_object *rec, const char *name,
    const float *logits, int nl)
{
	const msgpack_object *o[3];
	size_t n = 3;
	int best = 0;

	for (int i = 0; i < nl; i++)
		if (!isfinite(logits[i]))
			rec_die("ablation '%s': logit %d is not finite (the "
			    "model's weights or inputs overflow)", name, i + 1);
	for (int i = 0; i < 3; i++)
		if ((o[i] = rec_get(rec, passkeys[i])) != NULL)
			n++;
	rec_map(w, n);
	for (int i = 0; i < 3; i++)
		if (o[i] != NULL)
			rec_put_obj(w, passkeys[i], o[i]);
	rec_put_floats(w, "logits", logits, nl);
	if (nl == 1)
		rec_put_num(w, "pred", logits[0]);
	else {
		for (int i = 1; i < nl; i++)
			if (logits[i] > logits[best])
				best = i;
		rec_put_int(w, "pred", best);
	}
	rec_put_str(w, "ablation", name);
	rec_end(w);	/* a reader gone is noticed here */
}

/* Records in the files, for the time left; 0 when unknown (stdin). */
static size_t
count_records(int argc, char *argv[])
{
	struct rec_reader *rr;
	msgpack_object rec;
	struct stat st;
	size_t n = 0;

	if (argc == 0)
		return 0;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "-") == 0 || stat(argv[i], &st) == -1 ||
		    !S_ISREG(st.st_mode))
			return 0;
	rr = rec_open(argc, argv);
	while (rec_read(rr, &rec) == 1)
		n++;
	rec_close(rr);
	return n;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "heads", required_argument, NULL, 'H' },
		{ "layers", required_argument, NULL, 'Y' },
		{ "mode", required_argument, NULL, 'o' },
		{ "no-reuse", no_argument, NULL, 'R' },
		{ "sets", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mdir = NULL, *heads = NULL, *layers = NULL, *setsf = NULL;
	int ch, mode = BERT_UNIFORM, reuse = 1, verbose = 0, L, H, nl;
	struct bert m;
	struct wp_vocab vocab;	/* the records' tokens are checked with it */
	struct bert_run run;
	struct rec_reader *rr;
	struct rec_writer *w;
	struct progress pg;
	msgpack_object rec;
	char err[512];
	float *logits;

	while ((ch = getopt_long(argc, argv, "m:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			/* checked against the model once it is loaded */
			heads = optarg;
			break;
		case 'm':
			mdir = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "uniform") == 0)
				mode = BERT_UNIFORM;
			else if (strcmp(optarg, "zero") == 0)
				mode = BERT_ZERO;
			else
				errx(2, "--mode: '%s' is not uniform or zero",
				    optarg);
			break;
		case 'R':
			reuse = 0;
			break;
		case 'S':
			setsf = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'Y': {
			unsigned char dummy[1];

			if (layers_parse(optarg, 0, dummy, err,
			    sizeof(err)) == -1)
				errx(2, "--layers: %s", err);
			layers = optarg;
			break;
		}
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (mdir == NULL)
		usage();

	if (model_load(&m, mdir, err, sizeof(err)) == -1 ||
	    model_vocab(&vocab, mdir, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	if (m.cfg.nlabels == 0)
		errx(1, "%s: the model has no classifier", mdir);
	L = m.cfg.L;
	H = m.cfg.H;
	nl = m.cfg.nlabels;

	/* the sets, in the order of the options */
	if (heads != NULL) {
		struct headset hs;

		if (headset_parse(&hs, heads, L, H, err, sizeof(err)) == -1)
			errx(2, "--heads: %s", err);
		for (int l = 1; l <= L; l++)
			for (int h = 1; h <= H; h++)
				if (headset_has(&hs, l, h))
					set_one(L, H, l, h);
		headset_release(&hs);
	}
	if (layers != NULL) {
		unsigned char *on = xcalloc(L, 1);

		if (layers_parse(layers, L, on, err, sizeof(err)) == -1)
			errx(2, "--layers: %s", err);
		for (int l = 1; l <= L; l++)
			if (on[l - 1])
				set_one(L, H, l, 0);
		free(on);
	}
	if (setsf != NULL)
		sets_file(setsf, L, H);

	progress_init(&pg, "runs (records x sets)", verbose || isatty(2) ?
	    count_records(argc, argv) * (nsets + 1) : 0, verbose);
	logits = xreallocarray(NULL, nl, sizeof(*logits));
	bert_run_init(&run, &m);
	run.cls_only = 1;
	rr = rec_open(argc, argv);
	w = rec_wopen(0);
	while (rec_next(rr, &rec)) {
		int *ids = NULL, *seg = NULL;
		size_t T, Ts = 0;

		T = rec_ints(&rec, "ids", &ids);
		if (rec_get(&rec, "seg") != NULL &&
		    (Ts = rec_ints(&rec, "seg", &seg)) != T)
			rec_die("'seg' has %zu values, 'ids' %zu", Ts, T);
		if (bert_run_input(&run, ids, seg, T, err, sizeof(err)) == -1 ||
		    model_tokens(&vocab, &rec, ids, T, mdir, err,
		    sizeof(err)) == -1)
			rec_die("%s", err);

		/* the baseline, keeping every layer's input */
		bert_run_layers(&run, 1, NULL, mode, reuse);
		bert_run_head(&run, logits);
		put(w, &rec, "base", logits, nl);
		progress_add(&pg, 1);

		for (size_t i = 0; i < nsets; i++) {
			bert_run_layers(&run, reuse ? sets[i].first : 1,
			    &sets[i].hs, mode, 0);
			bert_run_head(&run, logits);
			put(w, &rec, sets[i].name, logits, nl);
			progress_add(&pg, 1);
		}
		free(ids);
		free(seg);
	}
	progress_done(&pg);
	rec_close(rr);
	rec_wclose(w);
	bert_run_release(&run);
	for (size_t i = 0; i < nsets; i++) {
		headset_release(&sets[i].hs);
		free(sets[i].name);
	}
	free(sets);
	free(logits);
	model_release(&m);
	wp_release(&vocab);
	return 0;
}
