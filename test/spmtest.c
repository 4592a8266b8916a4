/*
 * spmtest.c -- common/spm.c's segmentation, for test/spmcheck.py to hold
 * against libsentencepiece's.
 *
 *	usage: spmtest MODEL <lines
 *
 * Each input line is a text in hex (so that it may hold any byte); each
 * output line its pieces as "id:begin:end" (byte offsets in the text), or
 * "error" where the library fails too.  A bad model is exit 1.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spm.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
main(int argc, char *argv[])
{
	char msg[512], *line = NULL, *text = NULL;
	size_t cap = 0, tcap = 0;
	ssize_t n;
	struct spm *m;

	if (argc != 2) {
		fprintf(stderr, "usage: spmtest MODEL <lines\n");
		return 2;
	}
	if ((m = spm_load(argv[1], msg, sizeof(msg))) == NULL)
		errx(1, "%s", msg);
	while ((n = getline(&line, &cap, stdin)) != -1) {
		const struct spm_piece *p;
		size_t k = 0;
		long np;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if ((size_t)n / 2 + 1 > tcap) {
			tcap = n / 2 + 1;
			if ((text = realloc(text, tcap)) == NULL)
				err(1, NULL);
		}
		for (ssize_t i = 0; i + 1 < n; i += 2) {
			int a = hexval(line[i]), b = hexval(line[i + 1]);
			if (a < 0 || b < 0)
				errx(1, "not hex: %.*s", (int)n, line);
			text[k++] = a << 4 | b;
		}
		if ((np = spm_encode(m, 0, text, k, &p)) < 0) {
			puts("error");
			continue;
		}
		for (long i = 0; i < np; i++)
			printf("%s%d:%u:%u", i ? " " : "", p[i].id, p[i].beg,
			    p[i].end);
		putchar('\n');
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	spm_free(m);
	free(line);
	free(text);
	return 0;
}
