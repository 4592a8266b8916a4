/*
 * glue.h -- the GLUE tasks' TSV files, read as GLUE's processors read
 * them: which columns hold the sentences and the label, the header row,
 * the label names, and test files, which have no label column.
 */
#ifndef GLUE_H
#define GLUE_H

#include <stddef.h>

/*
 * a, b: the 0-based columns of the sentences (b -1: none); label: the
 * label's column (-1 the last, -2 the last and a float, for STS-B);
 * header: train and dev files have a header row, which names the label
 * labelcol; names: the label names in the order of their numbers (none:
 * 0 or 1); ta, tb: the sentence columns of test files.
 */
struct glue_task {
	const char	*name;		/* as GLUE writes it, "SST-2" */
	int		 a, b, label;
	int		 header;
	const char	*labelcol;
	const char	*names[4];
	int		 ta, tb;
};

/*
 * The task named name (any case; "SST2", "STSB" and "MNLI-mm" too), or
 * NULL.
 */
const struct glue_task *glue_task(const char *name);

/*
 * The first line of a file, line[0..len) (no newline, no byte order mark):
 * 1 if it is a header, with *test set when it is a test file's, else 0 (a
 * data row).
 */
int	glue_header(const struct glue_task *t, const char *line, size_t len,
	    int *test);

/* A data row.  The sentences are NUL-terminated within the line. */
struct glue_row {
	char	*a, *b;		/* b NULL for single sentences */
	size_t	 alen, blen;
	int	 haslabel;	/* 0 none (a test file), 1 int, 2 float */
	long	 ilabel;
	double	 flabel;
};

/*
 * Split line[0..len) (no newline; line[len] is NUL) in place at its tabs
 * and take the row of task t (of a test file when test is set).  Returns
 * 0, or -1 with a message in err: "2 columns, RTE needs 4", "label 'x' is
 * not one of entailment, not_entailment".
 */
int	glue_row(const struct glue_task *t, char *line, size_t len,
	    int test, struct glue_row *r, char *err, size_t errlen);

#endif
