/*
 * util.c -- allocation that cannot fail, number parsing, progress, output
 * that ends with its reader.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
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

static void
progress_print(struct progress *p, int final)
{
	double t = now(), el = t - p->start, rate = el > 0 ? p->done / el : 0;

	fprintf(stderr, "%s%s: %zu", p->tty ? "\r" : "",
	    program_invocation_short_name, p->done);
	if (p->total)
		fprintf(stderr, "/%zu", p->total);
	fprintf(stderr, " %s, %.1f/s", p->what, rate);
	if (final) {
		fprintf(stderr, ", %.2f s\n", el);
	} else if (p->total && rate > 0 && p->done <= p->total) {
		long left = (long)((p->total - p->done) / rate + 0.5);
		fprintf(stderr, ", %ld:%02ld left%s", left / 60, left % 60,
		    p->tty ? "\033[K" : "\n");
	} else {
		fprintf(stderr, "%s", p->tty ? "\033[K" : "\n");
	}
	p->last = t;
}

void
progress_add(struct progress *p, size_t n)
{
	p->done += n;
	if (p->on && now() - p->last >= (p->tty ? 0.5 : 5.0))
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
