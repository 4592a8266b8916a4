/*
 * util.c -- allocation that cannot fail, messages, paths, number parsing,
 * hashing, progress, output that ends with its reader.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

extern char *program_invocation_short_name;

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		err(1, "malloc %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if ((p = calloc(nmemb ? nmemb : 1, size ? size : 1)) == NULL)
		err(1, "calloc %zu x %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		errx(1, "realloc: %zu x %zu bytes overflows", nmemb, size);
	if ((p = realloc(p, (nmemb * size) != 0 ? nmemb * size : 1)) == NULL)
		err(1, "realloc %zu bytes", nmemb * size);
	return p;
}

/*
 * n bytes, 64 aligned (NULL when memory runs out); past 2 MB, 2 MB
 * aligned and marked for transparent huge pages, so that first touching
 * them maps 2 MB a fault, not 4 KB, and a TLB entry covers 2 MB: a
 * batch's buffers, some 100 MB, took 80 ms of faults in a virtual
 * machine, and the products run faster on weights and activations in
 * huge pages.  Free with free().
 */
void *
hugealloc(size_t n)
{
	size_t huge = 2 << 20;
	void *p;

	if (n < huge)
		return posix_memalign(&p, 64, n ? n : 1) == 0 ? p : NULL;
	if (n > SIZE_MAX - huge)
		return NULL;
	n = (n + huge - 1) / huge * huge;
	if (posix_memalign(&p, huge, n) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, n, MADV_HUGEPAGE);	/* a hint: may be refused */
#endif
	return p;
}

/* A scratch buffer of nmemb x size bytes from hugealloc in place of p's. */
void *
xscratch(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		errx(1, "alloc: %zu x %zu bytes overflows", nmemb, size);
	free(p);
	if ((p = hugealloc(nmemb * size)) == NULL)
		err(1, "alloc %zu bytes", nmemb * size);
	return p;
}

/* As xcalloc, from hugealloc: for arrays as large as a model. */
void *
xcalloc_huge(size_t nmemb, size_t size)
{
	void *p = xscratch(NULL, nmemb, size);

	memset(p, 0, nmemb * size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	if (n > 0)	/* s may be NULL then (msgpack's empty string) */
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		err(1, "vsnprintf");
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

int
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- paths ---- */

char *
pathjoin(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* mkdir(2) that is content when path is a directory already. */
static int
mkdir1(const char *path)
{
	struct stat st;

	if (mkdir(path, 0777) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
mkdirp(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; *s != '\0' && rc == 0; s++)
		if (*s == '/' && s[-1] != '/') {
			*s = '\0';
			rc = mkdir1(p);
			*s = '/';
		}
	if (rc == 0)
		rc = mkdir1(p);
	free(p);
	return rc;
}

FILE *
fopen_reg(const char *path, const char **why)
{
	struct stat st;
	FILE *fp;
	int fd;

	/* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		*why = strerror(errno);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		errno = 0;
		close(fd);
		return NULL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
	    (fp = fdopen(fd, "r")) == NULL) {
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	return fp;
}

char *
slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	const char *why;
	FILE *fp = fopen_reg(path, &why);
	char *buf = NULL;
	size_t n = 0, cap = 0, k;

	if (fp == NULL) {
		errf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 1 << 17;
			buf = xreallocarray(buf, cap, 1);
		}
		n += k = fread(buf + n, 1, cap - n - 1, fp);
	} while (k > 0);
	if (ferror(fp)) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

int
parse_double(const char *s, double *v)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(x))
		return -1;
	*v = x;
	return 0;
}

double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double
opt_double(const char *name, const char *s, double lo, double hi,
    void (*usage)(void))
{
	double v;

	if (parse_double(s, &v) == -1 || v < lo || v > hi) {
		warnx("%s: '%s' is not a number in [%g, %g]", name, s, lo, hi);
		usage();
	}
	return v;
}

long
opt_long(const char *name, const char *s, long lo, long hi,
    void (*usage)(void))
{
	long v;

	if (parse_long(s, lo, hi, &v) == -1) {
		warnx("%s: '%s' is not an integer in [%ld, %ld]", name, s, lo,
		    hi);
		usage();
	}
	return v;
}

/* ---- hashing, random numbers, argmax ---- */

uint64_t
fnv1a_str(const char *s)
{
	return fnv1a(FNV1A_BASIS, s, strlen(s));
}

uint64_t
splitmix64(uint64_t *state)
{
	return splitmix64_mix(*state += 0x9e3779b97f4a7c15ULL);
}

size_t
argmax(const float *v, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

int
isclass(double y, int nlabels)
{
	return y == floor(y) && y >= 0 && (nlabels <= 0 || y < nlabels);
}

/* ---- progress ---- */

void
progress_init(struct progress *p, const char *what, size_t total, int verbose)
{
	memset(p, 0, sizeof(*p));
	p->what = what;
	p->total = total;
	p->tty = isatty(2);
	p->on = verbose || p->tty;
	p->start = p->last = now();
}

/* "2:05", or "1:02:05" from an hour on. */
static char *
hms(char *buf, size_t len, double sec)
{
	long x = (long)(sec + 0.5);

	if (x >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", x / 3600, x / 60 % 60,
		    x % 60);
	else
		snprintf(buf, len, "%ld:%02ld", x / 60, x % 60);
	return buf;
}

char *
progress_left(const struct progress *p, char *buf, size_t len)
{
	double el = now() - p->start;

	if (p->done == 0 || p->done > p->total)
		return hms(buf, len, 0);
	return hms(buf, len, el / p->done * (p->total - p->done));
}

int
progress_due(const struct progress *p)
{
	return p->on && now() - p->last >= (p->tty ? 0.5 : 5.0);
}

/* One line, over the last one on a terminal; final: it stays. */
static void
say(struct progress *p, int final, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s%s: ", p->tty ? "\r" : "",
	    program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputs(p->tty && !final ? "\033[K" : p->tty ? "\033[K\n" : "\n",
	    stderr);
	p->last = now();
}

void
progress_say(struct progress *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(p, 0, fmt, ap);
	va_end(ap);
}

static void
sayf(struct progress *p, int final, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(p, final, fmt, ap);
	va_end(ap);
}

static void
progress_print(struct progress *p, int final)
{
	double el = now() - p->start, rate = el > 0 ? p->done / el : 0;
	char tot[32] = "", left[48] = "", t[16];

	if (p->total)
		snprintf(tot, sizeof(tot), "/%zu", p->total);
	if (final)
		snprintf(left, sizeof(left), ", %.2f s", el);
	else if (p->total && rate > 0 && p->done <= p->total)
		snprintf(left, sizeof(left), ", %s left",
		    progress_left(p, t, sizeof(t)));
	sayf(p, final, "%zu%s %s, %.1f/s%s", p->done, tot, p->what, rate,
	    left);
}

void
progress_add(struct progress *p, size_t n)
{
	p->done += n;
	if (progress_due(p))
		progress_print(p, 0);
}

void
progress_done(struct progress *p)
{
	if (p->on)
		progress_print(p, 1);
}

/* ---- output that ends with its reader ---- */

void
outinit(void)
{
	signal(SIGPIPE, SIG_IGN);
}

int
outgone(int fd)
{
	struct pollfd pfd;

	/*
	 * Linux reports POLLERR on the write end of a pipe that has no
	 * reader left, POLLHUP on a socket whose peer has shut down; a
	 * regular file or a terminal has neither.
	 */
	pfd.fd = fd;
	pfd.events = 0;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}

/*
 * fp has failed to write, with errno e (0 when not known): a reader that
 * went away is no error (exit 0); anything else is one that names the
 * output (exit 1).
 */
static void
outfail(FILE *fp, const char *name, int e)
{
	if (e == EPIPE || outgone(fileno(fp)))
		exit(0);
	if (e == 0) {
		clearerr(fp);
		errno = 0;
		if (fflush(fp) == EOF)
			e = errno;
		if (e == EPIPE)
			exit(0);
	}
	if (e != 0) {
		errno = e;
		err(1, "%s", name);
	}
	errx(1, "%s: write error", name);
}

void
outcheck(FILE *fp, const char *name)
{
	static double last;
	double t;

	if (ferror(fp))
		outfail(fp, name, errno);	/* probably the write's */
	if ((t = now()) - last < OUTCHECK_SECONDS)
		return;
	last = t;
	if (outgone(fileno(fp)))
		exit(0);
}

void
closeout(FILE *fp, const char *name)
{
	errno = 0;
	if (fflush(fp) == EOF || ferror(fp))
		outfail(fp, name, errno);
	if (fp != stdout && fclose(fp) == EOF) {
		if (errno == EPIPE)
			exit(0);
		err(1, "%s", name);
	}
}
