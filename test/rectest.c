/*
 * rectest -- drive the record layer (common/rec.c, tensor.c, headset.c)
 * from test/rec.bats and test/headset.bats.  Not installed.
 *
 *	rectest conv f16|bf16 x ...	f32 -> dtype -> f32, as hex and %.9g
 *	rectest get KIND KEY [file ...]	a typed getter on every record
 *	rectest add [-z] [file ...]	copy all keys but 'drop' and 'n',
 *					then add 'n', the record count;
 *					die halfway on a key 'die'
 *	rectest put DTYPE		one record written with every rec_put_*
 *	rectest heads L H SPEC		count and name of a head set
 *	rectest syntax SPEC		headset_syntax() only
 */
#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headset.h"
#include "rec.h"
#include "tensor.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: rectest conv f16|bf16 x ...\n"
	    "       rectest get str|int|num|ints|floats|strs|tensor key "
	    "[file ...]\n"
	    "       rectest add [-z] [file ...]\n"
	    "       rectest put f32|f16|bf16\n"
	    "       rectest heads L H spec\n"
	    "       rectest syntax spec\n");
	exit(2);
}

static void
conv(int argc, char *argv[])
{
	int bf = strcmp(argv[0], "bf16") == 0;
	uint16_t h;
	float f, g;

	if (!bf && strcmp(argv[0], "f16") != 0)
		usage();
	for (int i = 1; i < argc; i++) {
		f = strtof(argv[i], NULL);
		h = bf ? f32_to_bf16(f) : f32_to_f16(f);
		g = bf ? bf16_to_f32(h) : f16_to_f32(h);
		printf("%s %04x %.9g\n", argv[i], h, g);
	}
}

static void
get(int argc, char *argv[])
{
	const char *kind = argv[0], *key = argv[1];
	struct rec_reader *rr = rec_open(argc - 2, argv + 2);
	msgpack_object o;
	struct tensor t;
	size_t n;
	char **sv, *s;
	float *fv;
	int *iv;

	/* each getter runs before its line starts: a failure prints nothing */
	while (rec_next(rr, &o)) {
		if (strcmp(kind, "str") == 0) {
			s = rec_str(&o, key);
			printf("%zu: %s", rec_count(rr), s);
			free(s);
		} else if (strcmp(kind, "int") == 0) {
			long long v = rec_int(&o, key);
			printf("%zu: %lld", rec_count(rr), v);
		} else if (strcmp(kind, "num") == 0) {
			double v = rec_num(&o, key);
			printf("%zu: %.17g", rec_count(rr), v);
		} else if (strcmp(kind, "ints") == 0) {
			n = rec_ints(&o, key, &iv);
			printf("%zu:", rec_count(rr));
			for (size_t i = 0; i < n; i++)
				printf(" %d", iv[i]);
			free(iv);
		} else if (strcmp(kind, "floats") == 0) {
			n = rec_floats(&o, key, &fv);
			printf("%zu:", rec_count(rr));
			for (size_t i = 0; i < n; i++)
				printf(" %.9g", fv[i]);
			free(fv);
		} else if (strcmp(kind, "strs") == 0) {
			n = rec_strs(&o, key, &sv);
			printf("%zu:", rec_count(rr));
			for (size_t i = 0; i < n; i++)
				printf(" %s", sv[i]);
			rec_strs_free(sv, n);
		} else if (strcmp(kind, "tensor") == 0) {
			rec_tensor(&o, key, &t);
			printf("%zu: %s [", rec_count(rr),
			    tensor_dtypename(t.dtype));
			for (int i = 0; i < t.ndim; i++)
				printf("%s%zu", i ? " " : "", t.shape[i]);
			printf("]");
			for (size_t i = 0; i < t.n; i++)
				printf(" %.9g", tensor_get(&t, i));
		} else {
			usage();
		}
		printf("\n");
	}
	rec_close(rr);
	if (fflush(stdout) == EOF)
		err(1, "stdout");
}

static void
add(int argc, char *argv[])
{
	static const char *const drop[] = { "drop", "n", NULL };
	struct rec_writer *w;
	struct rec_reader *rr;
	msgpack_object o;
	int gz = 0;

	if (argc > 0 && strcmp(argv[0], "-z") == 0) {
		gz = 1;
		argc--;
		argv++;
	}
	w = rec_wopen(gz);
	rr = rec_open(argc, argv);
	while (rec_next(rr, &o)) {
		rec_map_begin(w);
		rec_copy_except(w, &o, drop);
		if (rec_get(&o, "die") != NULL)	/* half a record written */
			rec_die("told to die");
		rec_put_int(w, "n", (long long)rec_count(rr));
		rec_map_end(w);
	}
	rec_close(rr);
	rec_wclose(w);
}

static void
put(const char *dtname)
{
	static const float data[6] = { 0, 1, -2.5f, 0.5f, 3.140625f, -0.125f };
	static const size_t shape[2] = { 2, 3 };
	static const int iv[3] = { -1, 0, 2147483647 };
	static const float fv[2] = { 0.25f, -3 };
	char *sv[2] = { "a", "\xc3\xa9" };
	struct rec_writer *w;
	int dtype;

	if ((dtype = tensor_dtype(dtname)) == -1)
		usage();
	w = rec_wopen(0);
	rec_map_begin(w);
	rec_put_str(w, "s", "x");
	rec_put_int(w, "i", -9000000000LL);
	rec_put_num(w, "d", 0.1);
	rec_put_ints(w, "iv", iv, 3);
	rec_put_floats(w, "fv", fv, 2);
	rec_put_strs(w, "sv", sv, 2);
	rec_put_tensor(w, "t", dtype, shape, 2, data);
	rec_map_end(w);
	rec_wclose(w);
}

static void
heads(int argc, char *argv[])
{
	struct headset hs;
	char msg[256], name[1024];
	long L, H;

	if (argc != 3 || parse_long(argv[0], 1, 1000, &L) == -1 ||
	    parse_long(argv[1], 1, 1000, &H) == -1)
		usage();
	if (headset_parse(&hs, argv[2], L, H, msg, sizeof(msg)) == -1)
		errx(2, "%s", msg);
	printf("%zu %s\n", headset_count(&hs),
	    headset_name(&hs, name, sizeof(name)));
	headset_release(&hs);
}

int
main(int argc, char *argv[])
{
	char msg[256];

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "conv") == 0 && argc >= 3)
		conv(argc - 2, argv + 2);
	else if (strcmp(argv[1], "get") == 0 && argc >= 4)
		get(argc - 2, argv + 2);
	else if (strcmp(argv[1], "add") == 0)
		add(argc - 2, argv + 2);
	else if (strcmp(argv[1], "put") == 0 && argc == 3)
		put(argv[2]);
	else if (strcmp(argv[1], "heads") == 0)
		heads(argc - 2, argv + 2);
	else if (strcmp(argv[1], "syntax") == 0 && argc == 3) {
		if (headset_syntax(argv[2], msg, sizeof(msg)) == -1)
			errx(2, "%s", msg);
	} else
		usage();
	return 0;
}
