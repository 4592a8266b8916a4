/*
 * fuzzreplay -- run a libFuzzer target of test/fuzz/ on the files named,
 * without libFuzzer: linked with a target, it calls the target's
 * LLVMFuzzerTestOneInput on each file's bytes, so that make check (and
 * make check SAN=1) replays every committed corpus, and an input that once
 * crashed stays a regression test.  A target stops the program (abort,
 * sanitizer report) on a finding; otherwise the exit status is 0.  Not
 * installed.
 *
 * usage: fuzzreplay file ...
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes of path in a buffer of exactly their size (so that ASan sees a
 * read past the end), or NULL with errno set. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	uint8_t *buf = NULL, *p;
	size_t n = 0, cap = 0, k;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			if ((p = realloc(buf, cap)) == NULL)
				goto fail;
			buf = p;
		}
		n += k = fread(buf + n, 1, cap - n, fp);
	} while (k > 0);
	if (ferror(fp))
		goto fail;
	fclose(fp);
	if ((p = malloc(n ? n : 1)) == NULL)
		goto fail;
	memcpy(p, buf, n);
	free(buf);
	*len = n;
	return p;
fail:
	k = errno;
	fclose(fp);
	free(buf);
	errno = (int)k;
	return NULL;
}

int
main(int argc, char *argv[])
{
	uint8_t *in;
	size_t n;

	for (int i = 1; i < argc; i++) {
		if ((in = slurp(argv[i], &n)) == NULL) {
			fprintf(stderr, "fuzzreplay: %s: %s\n", argv[i],
			    strerror(errno));
			return 1;
		}
		LLVMFuzzerTestOneInput(in, n);
		free(in);
	}
	printf("%d inputs\n", argc - 1);
	return 0;
}
