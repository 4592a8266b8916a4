/*
 * glue.c -- GLUE task files: the tasks' columns and labels, rows parsed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "glue.h"
#include "util.h"

#define MAXCOLS	64	/* the last takes the rest of a longer row */

static const struct glue_task tasks[] = {
	{ "CoLA", 3, -1, 1, 0, NULL, { NULL }, 1, -1 },
	{ "SST-2", 0, -1, 1, 1, "label", { NULL }, 1, -1 },
	{ "MRPC", 3, 4, 0, 1, "Quality", { NULL }, 3, 4 },
	{ "STS-B", 7, 8, -2, 1, "score", { NULL }, 7, 8 },
	{ "QQP", 3, 4, 5, 1, "is_duplicate", { NULL }, 1, 2 },
	{ "MNLI", 8, 9, -1, 1, "gold_label",
	    { "contradiction", "entailment", "neutral", NULL }, 8, 9 },
	{ "QNLI", 1, 2, -1, 1, "label",
	    { "entailment", "not_entailment", NULL }, 1, 2 },
	{ "RTE", 1, 2, -1, 1, "label",
	    { "entailment", "not_entailment", NULL }, 1, 2 },
	{ "WNLI", 1, 2, -1, 1, "label", { NULL }, 1, 2 },
};

const struct glue_task *
glue_task(const char *name)
{
	const struct glue_task *t = NULL;

	for (size_t i = 0; i < sizeof(tasks) / sizeof(*tasks); i++)
		if (strcasecmp(name, tasks[i].name) == 0)
			t = &tasks[i];
	if (strcasecmp(name, "SST2") == 0)
		t = &tasks[1];
	if (strcasecmp(name, "STSB") == 0)
		t = &tasks[3];
	if (strncasecmp(name, "MNLI", 4) == 0)
		t = &tasks[5];
	return t;
}

int
glue_header(const struct glue_task *t, const char *line, size_t len,
    int *test)
{
	static const char cola[] = "index\tsentence";

	if (t->header) {
		/* a test file lacks the label column */
		*test = t->labelcol != NULL && memmem(line, len, t->labelcol,
		    strlen(t->labelcol)) == NULL;
		return 1;
	}
	if (len >= sizeof(cola) - 1 &&
	    memcmp(line, cola, sizeof(cola) - 1) == 0) {
		*test = 1;		/* CoLA's test file */
		return 1;
	}
	return 0;
}

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
glue_row(const struct glue_task *t, char *line, size_t len, int test,
    struct glue_row *r, char *err, size_t errlen)
{
	char *f[MAXCOLS];
	size_t fl[MAXCOLS];
	int n = fields(line, len, f, fl, MAXCOLS), a = test ? t->ta : t->a,
	    b = test ? t->tb : t->b, need, lc;
	const char *label;

	memset(r, 0, sizeof(*r));
	need = (a > b ? a : b) + 1;
	if (!test && t->label >= 0 && t->label + 1 > need)
		need = t->label + 1;
	if (!test && t->label < 0)
		need++;		/* the label is a column after them */
	if (n < need) {
		snprintf(err, errlen, "%d columns, %s needs %d", n, t->name,
		    need);
		return -1;
	}
	r->a = f[a];
	r->alen = fl[a];
	if (b >= 0) {
		r->b = f[b];
		r->blen = fl[b];
	}
	if (test)
		return 0;
	lc = t->label >= 0 ? t->label : n - 1;
	label = f[lc];
	if (t->label == -2) {			/* STS-B: a float */
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
	if (t->names[0] != NULL) {
		int k;
		for (k = 0; t->names[k]; k++)
			if (strlen(t->names[k]) == fl[lc] &&
			    strcmp(label, t->names[k]) == 0)
				break;
		if (t->names[k] == NULL) {
			snprintf(err, errlen, "label '%s' is not one of "
			    "%s, %s%s%s", label, t->names[0], t->names[1],
			    t->names[2] ? ", " : "",
			    t->names[2] ? t->names[2] : "");
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
