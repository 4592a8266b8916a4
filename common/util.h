/*
 * util.h -- the small helpers every filter needs once: allocation that
 * cannot fail, messages into a caller's buffer, paths, number parsing,
 * hashing and random numbers, argmax, progress reports on stderr, and
 * output that ends with its reader.
 *
 * Out of memory is the one error that library code does not return: the
 * x*() functions report it with err(3) and exit 1.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *p, size_t nmemb, size_t size);
void	*hugealloc(size_t n);
void	*xscratch(void *p, size_t nmemb, size_t size);
void	*xcalloc_huge(size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* A string made like printf's, xmalloc'd. */
char	*xasprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Library functions report an error as a message in a buffer of the
 * caller's, err[0..errlen), and return -1; errf() writes the message
 * (nothing when err is NULL or errlen 0) and returns -1, so that a
 * failure is one line: return errf(err, errlen, "'%s': ...", name).
 */
int	errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* dir/name, xmalloc'd. */
char	*pathjoin(const char *dir, const char *name);
/*
 * mkdir -p: dir and the directories above it that are missing, mode 0777
 * less the umask.  Returns 0 when dir is a directory at the end, or -1
 * with errno set (ENOTDIR when dir exists but is something else).
 */
int	mkdirp(const char *dir);

/*
 * fopen(path, "r") of a regular file only: a FIFO or a device is never
 * opened for reading (so that it cannot block), a directory never read.
 * Returns NULL with *why "not a regular file" (errno 0) or strerror(errno).
 */
FILE	*fopen_reg(const char *path, const char **why);

/*
 * The whole regular file at path (fopen_reg: a FIFO or a directory is
 * refused, never waited on), xmalloc'd and NUL-terminated, its length in
 * *len when len is not NULL; or NULL with "path: why" in err.
 */
char	*slurp(const char *path, size_t *len, char *err, size_t errlen);

/*
 * Parse a whole decimal number into *v; return 0, or -1 when s is empty,
 * has trailing junk or is outside [lo, hi].
 */
int	parse_long(const char *s, long lo, long hi, long *v);
int	parse_double(const char *s, double *v);

/*
 * An option's value: s, the argument of option name ("--lr", "-B"), as a
 * number in [lo, hi]; else a warning that names the option and the range,
 * and usage(), which does not return.
 */
double	opt_double(const char *name, const char *s, double lo, double hi,
	    void (*usage)(void));
long	opt_long(const char *name, const char *s, long lo, long hi,
	    void (*usage)(void));

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double	now(void);

/*
 * Hashing and pseudo-random numbers: FNV-1a of n bytes at p, continued from
 * h (FNV1A_BASIS to start; a hash can be carried on a byte at a time), and
 * of a string; splitmix64, whose state is any 64-bit number (a seed) and
 * which returns the next number, and its finaliser alone, a good 64-bit
 * mix of z.
 */
#define FNV1A_BASIS	0xcbf29ce484222325ULL
#define FNV1A_PRIME	1099511628211ULL
#define FNV1A_STEP(h, c)	(((h) ^ (unsigned char)(c)) * FNV1A_PRIME)

static inline uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = FNV1A_STEP(h, s[i]);
	return h;
}

/* FNV-1a of n bytes, its high half folded into the low: for hash tables */
static inline uint64_t
fnv1a_fold(const void *p, size_t n)
{
	uint64_t h = fnv1a(FNV1A_BASIS, p, n);

	return h ^ (h >> 32);
}

uint64_t	fnv1a_str(const char *s);
uint64_t	splitmix64(uint64_t *state);

static inline uint64_t
splitmix64_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The index of the largest of v[0..n-1], the first of equals; 0 when n is 0. */
size_t	argmax(const float *v, size_t n);

/*
 * 1 when y is a class of a classifier of nlabels classes: a whole number
 * in 0..nlabels-1, or any whole number from 0 when nlabels is 0 (unknown).
 */
int	isclass(double y, int nlabels);

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
 * Progress in other words than progress_add()'s (finetune's steps, epoch
 * and loss): progress_due() is 1 when a line is due (p is on, and half a
 * second has passed since the last on a terminal, five seconds
 * otherwise); progress_say() prints one, "NAME: " and the text, over the
 * last line on a terminal; progress_left() writes the time that the rest
 * of p->total takes at the rate so far ("2:05", "1:02:05") into buf.
 */
int	progress_due(const struct progress *p);
void	progress_say(struct progress *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
char	*progress_left(const struct progress *p, char *buf, size_t len);

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
