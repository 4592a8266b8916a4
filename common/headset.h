/*
 * headset.h -- the one parser for sets of attention heads, used by every
 * filter that takes one.  Layers and heads are numbered from 1.
 *
 * A spec is a comma-separated list of items:
 *	all		every head
 *	L3H7, 3:7	layer 3, head 7
 *	L3, 3:*		every head of layer 3
 *	*:7		head 7 of every layer
 *	L1-3H2, 1-3:2-4	ranges (inclusive), on either side
 */
#ifndef HEADSET_H
#define HEADSET_H

#include <stddef.h>

struct headset {
	int		 L, H;
	unsigned char	*on;	/* (L, H): on[(l - 1) * H + h - 1] */
};

/*
 * Parse spec for a model of L layers of H heads into hs (allocated here).
 * Returns 0, or -1 with a message in err ("'4:1': layer 4 is outside 1..3").
 */
int	headset_parse(struct headset *hs, const char *spec, int L, int H,
	    char *err, size_t errlen);
/* Only the syntax, for checking options before the model is known. */
int	headset_syntax(const char *spec, char *err, size_t errlen);
void	headset_release(struct headset *hs);

int	headset_has(const struct headset *hs, int layer, int head);
size_t	headset_count(const struct headset *hs);
/* "L3H7" / "L3" / "L1H2+L2H1" into buf; returns buf. */
char	*headset_name(const struct headset *hs, char *buf, size_t len);

#endif
