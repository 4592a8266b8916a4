/* blas.c -- choose OpenBLAS kernels that fit the CPU (see blas.h). */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "blas.h"

char	*openblas_get_corename(void);

#define REEXEC	"HEADCOUNT_BLAS_REEXEC"

static const char *why = "chosen by OpenBLAS";

/* How new a kernel family is: 1 SSE, 2 AVX, 3 AVX2/FMA, 4 AVX-512. */
static int
rank(const char *core)
{
	static const char *const avx512[] = { "SkylakeX", "Cooperlake",
	    "SapphireRapids", NULL };
	static const char *const avx2[] = { "Haswell", "Zen", "Skylake",
	    NULL };
	static const char *const avx[] = { "Sandybridge", "Bulldozer",
	    "Piledriver", "Steamroller", "Excavator", NULL };

	for (int i = 0; avx512[i]; i++)
		if (strcasecmp(core, avx512[i]) == 0)
			return 4;
	for (int i = 0; avx2[i]; i++)
		if (strcasecmp(core, avx2[i]) == 0)
			return 3;
	for (int i = 0; avx[i]; i++)
		if (strcasecmp(core, avx[i]) == 0)
			return 2;
	return 1;
}

static int
cpurank(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512dq"))
		return 4;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return 3;
	if (__builtin_cpu_supports("avx"))
		return 2;
	return 1;
}

void
blas_init(char *argv[])
{
	static const char *const name[] = { NULL, NULL, "Sandybridge",
	    "Haswell", "SkylakeX" };
	const char *core = getenv("HEADCOUNT_CORENAME");
	int want;

	if (getenv("OPENBLAS_CORETYPE") != NULL) {
		why = getenv(REEXEC) ? "chosen by headcount for this CPU" :
		    "set by OPENBLAS_CORETYPE";
		unsetenv(REEXEC);
		return;
	}
	if (core == NULL)
		core = openblas_get_corename();
	want = cpurank();
	if (core == NULL || want <= rank(core))
		return;
	setenv("OPENBLAS_CORETYPE", name[want], 1);
	setenv(REEXEC, "1", 1);
	execv("/proc/self/exe", argv);
	/* could not: carry on with the slow kernels */
	unsetenv("OPENBLAS_CORETYPE");
	unsetenv(REEXEC);
	warn("cannot run again with OPENBLAS_CORETYPE=%s", name[want]);
}

const char *
blas_kernel(void)
{
	const char *c = openblas_get_corename();

	return c ? c : "unknown";
}

const char *
blas_why(void)
{
	return why;
}
