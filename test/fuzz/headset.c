/*
 * headset.c -- libFuzzer target: headset_syntax and headset_parse on
 * arbitrary strings, for a model shape picked by the first byte.  Checked:
 * what parses for a model also passes the syntax check, a set is never
 * empty, and its name, with '+' read as ',', parses back to the same set.
 * Seeds: the specs of test/headset.bats.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headset.h"

static const int shapes[][2] = {
	{ 12, 12 }, { 1, 1 }, { 2, 2 }, { 3, 4 }, { 24, 16 }, { 6, 1 },
	{ 1, 7 }, { 100, 3 },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct headset hs, back;
	char err[256], name[16384], small[8], *spec;
	int L, H, ok;

	if (size == 0)
		return 0;
	L = shapes[data[0] % (sizeof(shapes) / sizeof(shapes[0]))][0];
	H = shapes[data[0] % (sizeof(shapes) / sizeof(shapes[0]))][1];
	if ((spec = malloc(size)) == NULL)
		return 0;
	memcpy(spec, data + 1, size - 1);
	spec[size - 1] = '\0';

	ok = headset_syntax(spec, err, sizeof(err)) == 0;
	if (headset_parse(&hs, spec, L, H, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			__builtin_trap();	/* an error without a message */
		free(spec);
		return 0;
	}
	if (!ok || headset_count(&hs) == 0 ||
	    headset_count(&hs) > (size_t)L * H)
		__builtin_trap();
	(void)headset_has(&hs, 0, 1);
	(void)headset_has(&hs, L + 1, H + 1);
	(void)headset_name(&hs, small, sizeof(small));
	headset_name(&hs, name, sizeof(name));
	for (char *s = name; *s != '\0'; s++)
		if (*s == '+')
			*s = ',';
	if (headset_parse(&back, name, L, H, err, sizeof(err)) == -1 ||
	    memcmp(back.on, hs.on, (size_t)L * H) != 0)
		__builtin_trap();	/* the name is not the set */
	headset_release(&back);
	headset_release(&hs);
	free(spec);
	return 0;
}
