/*
 * glue.c -- the GLUE task table; task files' headers checked, rows parsed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "glue.h"
#include "util.h"

#define MAXCOLS	64	/* the last takes the rest of a longer row */

/*
 * The headers are GLUE's own (download_glue_data.py's files; MRPC's train
 * and dev files start with a byte order mark, which the caller drops).
 * CoLA's train and dev files have no header: their columns are named after
 * GLUE's description (source, label, the author's notation, sentence).
 */
#define NLI3	{ "contradiction", "entailment", "neutral", NULL }
#define NLI2	{ "entailment", "not_entailment", NULL }
#define MNLI_COLS \
	"index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\t" \
	"sentence2_binary_parse\tsentence1_parse\tsentence2_parse\t" \
	"sentence1\tsentence2"
#define STSB_COLS \
	"index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t" \
	"sentence1\tsentence2"

static const struct glue_task tasks[] = {
	{ "CoLA", { NULL }, 2, { NULL }, 0, { "mcc", "acc" }, {
	    { "train and dev", "source\tlabel\tnotation\tsentence", 0,
		"sentence", NULL, "label" },
	    { "test", "index\tsentence", 1, "sentence", NULL, NULL } } },
	{ "SST-2", { "SST2", NULL }, 2, { NULL }, 0, { "acc" }, {
	    { "train and dev", "sentence\tlabel", 1, "sentence", NULL,
		"label" },
	    { "test", "index\tsentence", 1, "sentence", NULL, NULL } } },
	{ "MRPC", { NULL }, 2, { NULL }, 0, { "f1", "acc" }, {
	    { "train and dev", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
		1, "#1 String", "#2 String", "Quality" },
	    { "test", "index\t#1 ID\t#2 ID\t#1 String\t#2 String", 1,
		"#1 String", "#2 String", NULL } } },
	{ "STS-B", { "STSB", NULL }, 1, { NULL }, 1,
	    { "pearson", "spearman" }, {
	    { "train and dev", STSB_COLS "\tscore", 1, "sentence1",
		"sentence2", "score" },
	    { "test", STSB_COLS, 1, "sentence1", "sentence2", NULL } } },
	{ "QQP", { NULL }, 2, { NULL }, 0, { "f1", "acc" }, {
	    { "train and dev", "id\tqid1\tqid2\tquestion1\tquestion2\t"
		"is_duplicate", 1, "question1", "question2", "is_duplicate" },
	    { "test", "id\tquestion1\tquestion2", 1, "question1",
		"question2", NULL } } },
	{ "MNLI", { "MNLI-m", "MNLI-mm", NULL }, 3, NLI3, 1, { "acc" }, {
	    { "dev", MNLI_COLS "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\t"
		"gold_label", 1, "sentence1", "sentence2", "gold_label" },
	    { "train", MNLI_COLS "\tlabel1\tgold_label", 1, "sentence1",
		"sentence2", "gold_label" },
	    { "test", MNLI_COLS, 1, "sentence1", "sentence2", NULL } } },
	{ "QNLI", { NULL }, 2, NLI2, 1, { "acc" }, {
	    { "train and dev", "index\tquestion\tsentence\tlabel", 1,
		"question", "sentence", "label" },
	    { "test", "index\tquestion\tsentence", 1, "question", "sentence",
		NULL } } },
	{ "RTE", { NULL }, 2, NLI2, 1, { "acc" }, {
	    { "train and dev", "index\tsentence1\tsentence2\tlabel", 1,
		"sentence1", "sentence2", "label" },
	    { "test", "index\tsentence1\tsentence2", 1, "sentence1",
		"sentence2", NULL } } },
	{ "WNLI", { NULL }, 2, { NULL }, 1, { "acc" }, {
	    { "train and dev", "index\tsentence1\tsentence2\tlabel", 1,
		"sentence1", "sentence2", "label" },
	    { "test", "index\tsentence1\tsentence2", 1, "sentence1",
		"sentence2", NULL } } },
	/* the diagnostic set: AX.tsv, and diagnostic-full.tsv's labels */
	{ "AX", { NULL }, 3, NLI3, 1, { "mcc", "acc" }, {
	    { "diagnostic", "Lexical Semantics\tPredicate-Argument Structure\t"
		"Logic\tKnowledge\tDomain\tPremise\tHypothesis\tLabel", 1,
		"Premise", "Hypothesis", "Label" },
	    { "test", "index\tsentence1\tsentence2", 1, "sentence1",
		"sentence2", NULL } } },
};

#define NTASKS	(sizeof(tasks) / sizeof(tasks[0]))

const struct glue_task *
glue_taskn(const char *name, size_t len)
{
	for (size_t i = 0; i < NTASKS; i++) {
		const struct glue_task *t = &tasks[i];

		if (strlen(t->name) == len &&
		    strncasecmp(t->name, name, len) == 0)
			return t;
		for (int k = 0; t->alias[k] != NULL; k++)
			if (strlen(t->alias[k]) == len &&
			    strncasecmp(t->alias[k], name, len) == 0)
				return t;
	}
	return NULL;
}

const struct glue_task *
glue_task(const char *name)
{
	return glue_taskn(name, strlen(name));
}

const char *
glue_names(void)
{
	static char buf[256];

	if (buf[0] == '\0')
		for (size_t i = 0; i < NTASKS; i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%s%s", i ? ", " : "", tasks[i].name);
	return buf;
}

/* ---- headers ---- */

/* Does line[0..len) name the columns of cols, all and in order? */
static int
same(const char *line, size_t len, const char *cols)
{
	return strlen(cols) == len && memcmp(line, cols, len) == 0;
}

/* The index of column name in cols, -1 for none; how many in *n. */
static int
colindex(const char *cols, const char *name, int *n)
{
	size_t k = name ? strlen(name) : 0;
	int i = 0, at = -1;

	for (const char *s = cols;; i++) {
		const char *e = strchr(s, '\t');
		size_t l = e ? (size_t)(e - s) : strlen(s);

		if (name != NULL && l == k && memcmp(s, name, k) == 0)
			at = i;
		if (e == NULL)
			break;
		s = e + 1;
	}
	*n = i + 1;
	return at;
}

/* Append s to buf (of len), tabs written as ", ". */
static void
cat(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	for (; *s && n + 3 < len; s++)
		if (*s == '\t') {
			buf[n++] = ',';
			buf[n++] = ' ';
		} else
			buf[n++] = *s;
	buf[n] = '\0';
}

/* "train and dev: a, b, c; test: a, b" -- the headers of t's files. */
static void
headers(char *buf, size_t len, const struct glue_task *t)
{
	int k = 0;

	buf[0] = '\0';
	for (const struct glue_layout *l = t->layout; l->cols; l++) {
		if (k++ > 0)
			cat(buf, len, "; ");
		cat(buf, len, l->what);
		cat(buf, len, l->header ? ": " : ": no header");
		if (l->header)
			cat(buf, len, l->cols);
	}
}

static void
use(struct glue_file *f, const struct glue_task *t,
    const struct glue_layout *l)
{
	f->t = t;
	f->l = l;
	f->a = colindex(l->cols, l->a, &f->ncols);
	f->b = colindex(l->cols, l->b, &f->ncols);
	f->label = colindex(l->cols, l->label, &f->ncols);
	if (t->lastlabel && f->label >= 0)
		f->label = -2;		/* the last, whatever the count */
}

/* Does line[0..len) look like a row of CoLA's train or dev files? */
static int
colarow(const char *line, size_t len)
{
	const char *t1 = memchr(line, '\t', len), *t2, *t3;

	if (t1 == NULL || (t2 = memchr(t1 + 1, '\t', line + len - t1 - 1))
	    == NULL || t2 - t1 != 2 || (t1[1] != '0' && t1[1] != '1'))
		return 0;
	t3 = memchr(t2 + 1, '\t', line + len - t2 - 1);
	return t3 != NULL && memchr(t3 + 1, '\t', line + len - t3 - 1) ==
	    NULL;
}

int
glue_open(struct glue_file *f, const struct glue_task *t, const char *line,
    size_t len, int noheader, char *err, size_t errlen)
{
	const struct glue_layout *own = NULL, *other = NULL;
	char whose[256] = "", exp[1024], got[1024] = "";
	const struct glue_task *theirs[NTASKS];
	int nother = 0, n;

	/* the tasks whose headers the line is */
	for (size_t i = 0; i < NTASKS; i++)
		for (const struct glue_layout *l = tasks[i].layout; l->cols;
		    l++) {
			if (!l->header || !same(line, len, l->cols))
				continue;
			if (&tasks[i] == t) {
				own = l;
				continue;
			}
			if (other == NULL)
				other = l;
			if (nother == 0 || theirs[nother - 1] != &tasks[i])
				theirs[nother++] = &tasks[i];
		}
	for (int i = 0; i < nother; i++)
		snprintf(whose + strlen(whose), sizeof(whose) - strlen(whose),
		    "%s%s's", i == 0 ? "" : i == nother - 1 ? " or " : ", ",
		    theirs[i]->name);
	headers(exp, sizeof(exp), t);
	if (noheader) {
		if (own != NULL || other != NULL) {
			cat(got, sizeof(got), (own ? own : other)->cols);
			snprintf(err, errlen, "line 1 is a header (%s), but "
			    "--no-header says the file has none", got);
			return -1;
		}
		/* the labelled layout with as many columns as the row */
		use(f, t, t->layout);
		n = 1;
		for (size_t i = 0; i < len; i++)
			n += line[i] == '\t';
		for (const struct glue_layout *l = t->layout; l->cols; l++) {
			int m;

			colindex(l->cols, NULL, &m);
			if (l->label != NULL && m == n) {
				use(f, t, l);
				break;
			}
		}
		return 0;
	}
	if (own != NULL) {
		use(f, t, own);
		return 1;
	}
	if (other != NULL) {
		cat(got, sizeof(got), other->cols);
		snprintf(err, errlen, "header is %s (%s), not %s's (%s): use -t "
		    "%s", whose, got, t->name, exp, theirs[0]->name);
		return -1;
	}
	if (!t->layout[0].header) {
		use(f, t, t->layout);	/* CoLA: GLUE's has no header */
		return 0;
	}
	snprintf(err, errlen, "line 1 is not a header of %s (%s); %s", t->name,
	    exp, t != glue_task("CoLA") && colarow(line, len) ?
	    "it looks like a row of CoLA, whose files have none: use -t CoLA" :
	    "a file without one needs --no-header");
	return -1;
}

/* ---- rows ---- */

/* Split s[0..len) at tabs into f[], their lengths in n[]; how many. */
static int
fields(char *s, size_t len, char **f, size_t *n, int max)
{
	char *end = s + len, *p;
	int k = 0;

	f[k] = s;
	while (k < max - 1 && (p = memchr(s, '\t', end - s)) != NULL) {
		*p = '\0';
		n[k++] = p - s;
		f[k] = s = p + 1;
	}
	n[k++] = end - s;
	return k;
}

int
glue_row(const struct glue_file *gf, char *line, size_t len,
    struct glue_row *r, char *err, size_t errlen)
{
	const struct glue_task *t = gf->t;
	char *f[MAXCOLS];
	size_t fl[MAXCOLS];
	int n = fields(line, len, f, fl, MAXCOLS), lc;
	const char *label;

	memset(r, 0, sizeof(*r));
	if (n < gf->ncols) {
		snprintf(err, errlen, "%d columns, %s needs %d", n, t->name,
		    gf->ncols);
		return -1;
	}
	r->a = f[gf->a];
	r->alen = fl[gf->a];
	if (gf->b >= 0) {
		r->b = f[gf->b];
		r->blen = fl[gf->b];
	}
	if (gf->label == -1)
		return 0;		/* a test file */
	lc = gf->label == -2 ? n - 1 : gf->label;
	label = f[lc];
	if (t->nlabels == 1) {			/* STS-B: a number */
		if (strlen(label) != fl[lc] ||
		    parse_double(label, &r->flabel) == -1) {
			snprintf(err, errlen, "label '%s' is not a number",
			    label);
			return -1;
		}
		r->haslabel = 2;
		return 0;
	}
	r->haslabel = 1;
	if (t->labels[0] != NULL) {
		int k;
		for (k = 0; t->labels[k]; k++)
			if (strlen(t->labels[k]) == fl[lc] &&
			    strcmp(label, t->labels[k]) == 0)
				break;
		if (t->labels[k] == NULL) {
			snprintf(err, errlen, "label '%s' is not one of "
			    "%s, %s%s%s", label, t->labels[0], t->labels[1],
			    t->labels[2] ? ", " : "",
			    t->labels[2] ? t->labels[2] : "");
			return -1;
		}
		r->ilabel = k;
		return 0;
	}
	if (fl[lc] != 1 || (label[0] != '0' && label[0] != '1')) {
		snprintf(err, errlen, "label '%s' is not 0 or 1", label);
		return -1;
	}
	r->ilabel = label[0] - '0';
	return 0;
}
