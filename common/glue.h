/*
 * glue.h -- the GLUE tasks, in one table for every filter that takes -t:
 * their names, how their TSV files are laid out (the header rows GLUE
 * writes, the columns of the sentences and the label, by name), their
 * labels and their metrics.  Files are read as GLUE's processors read
 * them, and a header that is another task's is an error that names it.
 */
#ifndef GLUE_H
#define GLUE_H

#include <stddef.h>

/*
 * One layout of a task's files, as GLUE writes it: cols names its columns
 * (TAB-separated, as in the header row); a, b and label name the columns
 * that hold the sentences and the label (b NULL: one sentence; label NULL:
 * a test file, without labels).  header is 0 where GLUE's files have no
 * header row (CoLA's train and dev files); cols then names the columns
 * after GLUE's description.
 */
struct glue_layout {
	const char	*what;		/* "train and dev", "test", ... */
	const char	*cols;
	int		 header;
	const char	*a, *b, *label;
};

#define GLUE_MAXLAYOUT	4

/*
 * A task.  nlabels is 1 for regression (STS-B: the label is a number),
 * else the number of classes; labels[] are their names in the order of
 * their numbers (NULL: the labels are written as the numbers, "0", "1").
 * lastlabel: the label is read from a row's last column, as GLUE's
 * processors read it (line[-1]), else from its own column.  metrics[] are
 * the names score shows, the first is the task's own.  layout[] ends at the
 * first with cols NULL; the first layout is the train and dev files'.
 */
struct glue_task {
	const char		*name;		/* as GLUE writes it, "SST-2" */
	const char		*alias[3];	/* "SST2"; NULL-terminated */
	int			 nlabels;
	const char		*labels[4];
	int			 lastlabel;
	const char		*metrics[3];
	struct glue_layout	 layout[GLUE_MAXLAYOUT];
};

/*
 * The task whose name or an alias is name, compared whole and in any case
 * ("sst-2", "SST2"; never a prefix), or NULL.
 */
const struct glue_task *glue_task(const char *name);
const struct glue_task *glue_taskn(const char *name, size_t len);

/* Every task's name, ", "-separated, for messages: "CoLA, SST-2, ...". */
const char	*glue_names(void);

/*
 * How one file is read: its task, the layout its first line chose, and
 * the 0-based columns of the sentences and the label (-1: none).
 */
struct glue_file {
	const struct glue_task	*t;
	const struct glue_layout *l;
	int			 ncols, a, b, label;
};

/*
 * Start reading a file of task t from its first line, line[0..len) (no
 * newline, no byte order mark).  noheader says the file has no header row
 * (--no-header; CoLA's train and dev files never have one).  Returns 1 when
 * the line is a header of t (to be skipped), 0 when it is the first data
 * row, and -1 with a message in err when it is the header of another task
 * ("header is MRPC's (Quality, ...), not RTE's (...): use -t MRPC"), when
 * t's files have a header and the line is none of t's, or when noheader is
 * set and the line is a GLUE header.
 */
int	glue_open(struct glue_file *f, const struct glue_task *t,
	    const char *line, size_t len, int noheader, char *err,
	    size_t errlen);

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
 * and take the row of file f.  Returns 0, or -1 with a message in err:
 * "2 columns, RTE needs 4", "label 'x' is not one of entailment,
 * not_entailment".
 */
int	glue_row(const struct glue_file *f, char *line, size_t len,
	    struct glue_row *r, char *err, size_t errlen);

#endif
