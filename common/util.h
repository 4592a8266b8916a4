/*
 * util.h -- allocation that cannot fail, and progress reports on stderr.
 *
 * Out of memory is the one error that library code does not return: the
 * x*() functions report it with err(3) and exit 1.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdio.h>

void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *p, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);

/*
 * fopen(path, "r") of a regular file only: a FIFO or a device is never
 * opened for reading (so that it cannot block), a directory never read.
 * Returns NULL with *why "not a regular file" (errno 0) or strerror(errno).
 */
FILE	*fopen_reg(const char *path, const char **why);

/*
 * Parse a whole decimal number into *v; return 0, or -1 when s is empty,
 * has trailing junk or is outside [lo, hi].
 */
int	parse_long(const char *s, long lo, long hi, long *v);
int	parse_double(const char *s, double *v);

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double	now(void);

/*
 * Progress of long work, on stderr when it is a terminal or when asked (-v):
 * "encode: 120/408 records, 35.2/s, 0:08 left".  total 0 means unknown.
 * Reports at most twice a second; progress_done() prints the final line.
 */
struct progress {
	const char	*what;		/* "records", "steps" */
	size_t		 total, done;
	double		 start, last;
	int		 on, tty;
};

void	progress_init(struct progress *p, const char *what, size_t total,
	    int verbose);
void	progress_add(struct progress *p, size_t n);
void	progress_done(struct progress *p);

/*
 * Output that ends when its reader does.  outinit() ignores SIGPIPE, so
 * that a write to a pipe whose reader has gone fails with EPIPE instead of
 * killing the program (status 141 under `set -o pipefail`); every filter
 * calls it first.
 *
 * outgone(fd): 1 when fd is a pipe or socket whose reader has gone (one
 * poll(2) of zero timeout).
 *
 * outcheck(fp, name), between records or lines of text: exits 0 quietly
 * when fp's reader has gone (a failed write with EPIPE, or, polled at most
 * every OUTCHECK_SECONDS, a pipe with no reader), 1 naming the output on
 * any other write error (a full disk), and returns otherwise.
 *
 * closeout(fp, name) at the end: flushes fp, and closes it unless it is
 * stdout, with the same verdicts.  name is "stdout" or the file's path.
 */
#define OUTCHECK_SECONDS	0.05

void	outinit(void);
int	outgone(int fd);
void	outcheck(FILE *fp, const char *name);
void	closeout(FILE *fp, const char *name);

#endif
