/* headset.c -- parse head-set specs: all, 3:7, 3:*, *:7, L3H7, L3, ranges. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headset.h"
#include "util.h"

/*
 * One side of an item: "*", "N" or "N-M" into [*lo, *hi]; max is the
 * largest valid number (0 while only the syntax is checked).  Returns the
 * characters used, or 0 on junk.
 */
static size_t
side(const char *s, int max, int *lo, int *hi)
{
	const char *p = s;
	long a, b;
	char *end;

	if (*p == '*') {
		*lo = 1;
		*hi = max;
		return 1;
	}
	if (!isdigit((unsigned char)*p))
		return 0;
	a = strtol(p, &end, 10);
	p = end;
	b = a;
	if (*p == '-') {
		if (!isdigit((unsigned char)p[1]))
			return 0;
		b = strtol(p + 1, &end, 10);
		p = end;
	}
	if (a > 100000 || b > 100000)
		a = b = 100000;
	*lo = (int)a;
	*hi = (int)b;
	return p - s;
}

/* Parse one item (NUL-terminated) and set its heads when hs is not NULL. */
static int
item(struct headset *hs, const char *it, int L, int H, char *err,
    size_t errlen)
{
	int l0, l1, h0, h1, whole = 0, syn = L <= 0;
	const char *p = it;
	size_t n;

	if (syn)		/* syntax only: any number is in range */
		L = H = 1 << 20;
	h0 = 1;
	h1 = H;

	if (strcmp(it, "all") == 0) {
		l0 = 1;
		l1 = L;
		goto set;
	}
	if (*p == 'L' || *p == 'l') {
		if ((n = side(++p, L, &l0, &l1)) == 0 || p[0] == '*')
			goto junk;
		p += n;
		if (*p == '\0') {
			whole = 1;
		} else if (*p == 'H' || *p == 'h') {
			if ((n = side(++p, H, &h0, &h1)) == 0 || p[0] == '*')
				goto junk;
			p += n;
		}
	} else {
		if ((n = side(p, L, &l0, &l1)) == 0)
			goto junk;
		p += n;
		if (*p != ':')
			goto junk;
		if ((n = side(++p, H, &h0, &h1)) == 0)
			goto junk;
		p += n;
	}
	if (*p != '\0')
		goto junk;
	(void)whole;
	if (l0 > l1 || h0 > h1)
		return errf(err, errlen, "'%s': a range runs backwards", it);
	if (syn)
		return 0;
	if (l0 < 1 || l1 > L)
		return errf(err, errlen, "'%s': layer %d is outside 1..%d", it,
		    l0 < 1 ? l0 : l1, L);
	if (h0 < 1 || h1 > H)
		return errf(err, errlen, "'%s': head %d is outside 1..%d", it,
		    h0 < 1 ? h0 : h1, H);
set:
	if (hs != NULL && !syn)
		for (int l = l0; l <= l1; l++)
			for (int h = h0; h <= h1; h++)
				hs->on[(l - 1) * H + h - 1] = 1;
	return 0;
junk:
	return errf(err, errlen, "'%s': not a head set (all, 3:7, 3:*, "
	    "*:7, L3H7, L3, 1-3:2)", it);
}

static int
parse(struct headset *hs, const char *spec, int L, int H, char *err,
    size_t errlen)
{
	char *s, *it, *save = NULL;
	int r = 0;

	if (*spec == '\0')
		return errf(err, errlen, "empty head set");
	s = xstrdup(spec);
	for (it = strtok_r(s, ",", &save); it != NULL && r == 0;
	    it = strtok_r(NULL, ",", &save))
		r = item(hs, it, L, H, err, errlen);
	if (r == 0 && (spec[strlen(spec) - 1] == ',' || spec[0] == ',' ||
	    strstr(spec, ",,") != NULL))
		r = errf(err, errlen, "'%s': empty item in head set", spec);
	free(s);
	return r;
}

int
headset_parse(struct headset *hs, const char *spec, int L, int H, char *err,
    size_t errlen)
{
	hs->L = L;
	hs->H = H;
	hs->on = xcalloc((size_t)L * H, 1);
	if (parse(hs, spec, L, H, err, errlen) == -1) {
		headset_release(hs);
		return -1;
	}
	return 0;
}

int
headset_syntax(const char *spec, char *err, size_t errlen)
{
	return parse(NULL, spec, 0, 0, err, errlen);
}

void
headset_release(struct headset *hs)
{
	free(hs->on);
	hs->on = NULL;
}

int
headset_has(const struct headset *hs, int layer, int head)
{
	if (layer < 1 || layer > hs->L || head < 1 || head > hs->H)
		return 0;
	return hs->on[(layer - 1) * hs->H + head - 1];
}

size_t
headset_count(const struct headset *hs)
{
	size_t n = 0;

	for (int i = 0; i < hs->L * hs->H; i++)
		n += hs->on[i] != 0;
	return n;
}

char *
headset_name(const struct headset *hs, char *buf, size_t len)
{
	size_t used = 0;
	int l, h, full;

	buf[0] = '\0';
	for (l = 1; l <= hs->L; l++) {
		full = 1;
		for (h = 1; h <= hs->H; h++)
			full &= headset_has(hs, l, h);
		if (full) {
			used += snprintf(buf + used,
			    used < len ? len - used : 0, "%sL%d",
			    used ? "+" : "", l);
			continue;
		}
		for (h = 1; h <= hs->H; h++)
			if (headset_has(hs, l, h))
				used += snprintf(buf + used,
				    used < len ? len - used : 0, "%sL%dH%d",
				    used ? "+" : "", l, h);
	}
	if (used == 0)
		snprintf(buf, len, "none");
	return buf;
}
