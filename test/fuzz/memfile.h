/*
 * memfile.h -- for the fuzz targets: bytes as a file that a loader opens
 * by name.  Each call rewrites one memfd per slot (a static int the caller
 * keeps, -1 at first) and returns its /proc/self/fd path, or NULL.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <unistd.h>

static const char *
memfile(int *fd, const char *name, const void *data, size_t size)
{
	static char path[64];

	if (*fd == -1 && (*fd = memfd_create(name, 0)) == -1)
		return NULL;
	if (ftruncate(*fd, 0) == -1 || pwrite(*fd, data, size, 0) !=
	    (ssize_t)size)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *fd);
	return path;
}
