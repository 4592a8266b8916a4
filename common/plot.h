/*
 * plot.h -- figures for people: heat maps of attention and of per-head
 * scores, sheets of many small heat maps, stacked bars.  Drawn with cairo;
 * the file's suffix chooses the format: ".png" (raster, zlib) or ".svg"
 * (vector, valid XML; large maps are embedded as one image).
 *
 * Two levels:
 *  - whole figures in one call: plot_heatmap(), plot_sheet(), plot_bars();
 *  - a canvas to compose figures of one's own: plot_open(), then
 *    plot_panel(), plot_cells(), plot_colorbar(), plot_text(), plot_rect(),
 *    plot_line() (or cairo itself through plot_cairo()), then plot_close().
 *
 * Coordinates are in pixels (PNG) or points (SVG), origin top left, y down.
 * Text is DejaVu Sans.  Errors (a file that cannot be written, an unknown
 * suffix, a canvas too large) are returned as -1 or NULL with a message
 * naming the file in err; nothing exits.  A file that failed is removed.
 *
 * Example, one head with its tokens on both axes:
 *
 *	struct plot_heat h = { .v = map, .rows = T, .cols = T,
 *	    .rlab = tokens, .clab = tokens, .title = "L3H7" };
 *	if (plot_heatmap("L3H7.png", &h, 0, 0, err, sizeof(err)) == -1)
 *		errx(1, "%s", err);
 */
#ifndef PLOT_H
#define PLOT_H

#include <stddef.h>

#include <cairo.h>

/* Colour scales. */
enum {
	PLOT_SEQ,	/* sequential, 0 .. vmax (viridis: purple .. yellow) */
	PLOT_DIV	/* diverging, -vmax .. +vmax (blue .. white .. red) */
};

/* Text alignment for plot_text(): which point of the text is at x. */
enum { PLOT_LEFT, PLOT_CENTER, PLOT_RIGHT };

/*
 * One heat map.  A zeroed struct plus v, rows and cols is a valid one:
 * sequential scale, vmax from the data, colour bar on, no numbers.
 */
struct plot_heat {
	const float	*v;		/* (rows, cols) row-major; NaN: blank */
	int		 rows, cols;
	char *const	*rlab;		/* rows labels (left), or NULL */
	char *const	*clab;		/* cols labels (below), or NULL */
	const char	*title;		/* above the map, or NULL */
	int		 scale;		/* PLOT_SEQ or PLOT_DIV */
	double		 vmax;		/* <= 0: max v (SEQ), max |v| (DIV) */
	int		 numbers;	/* print each value in its cell */
	const char	*fmt;		/* for numbers, "%.2f" when NULL */
	int		 nobar;		/* no colour bar */
	const char	*barlab;	/* colour bar caption, or NULL */
	const char	*xlab, *ylab;	/* axis captions, or NULL */
};

/* A rectangle on a canvas. */
struct plot_box {
	double	x, y, w, h;
};

/*
 * The colour of value v on a scale with limit vmax (> 0), as r, g, b in
 * 0..1.  Values outside the scale take the colour of its end.  This is
 * exactly the colour a cell gets (in PNG, each channel rounded to 8 bits:
 * (int)(c * 255 + 0.5)).
 */
void	plot_color(int scale, double vmax, double v, double rgb[3]);

/* Series colour i of a qualitative palette (10 colours, then repeats). */
void	plot_qual(int i, double rgb[3]);

/* The vmax a heat map will use: h->vmax, or the one from its data. */
double	plot_vmax(const struct plot_heat *h);

/* ---- whole figures ---- */

/*
 * One heat map in a file of w x h (0, 0: a size from the map, cells of
 * about 8 to 28 pixels, bigger maps with smaller cells, labels legible).
 * When cells is not NULL it gets the box of the cell grid: cell (i, j) is
 * at x + j * w / cols, y + i * h / rows.
 */
int	plot_heatmap(const char *path, const struct plot_heat *h, double w,
	    double hgt, struct plot_box *cells, char *err, size_t errlen);

/*
 * A sheet of n small heat maps (the overview of every head of one
 * example), ncols to a row, each titled by its own title ("L1H1"), square
 * panels of side px (0: 110), with one colour bar and one title for the
 * sheet.  Labels of the panels are not drawn.  The panels share one scale:
 * scale and vmax of panel 0, vmax <= 0 meaning the largest of all panels.
 */
int	plot_sheet(const char *path, const struct plot_heat *panel, int n,
	    int ncols, double px, const char *title, char *err,
	    size_t errlen);

/* Labels "1" to "n" (layers, heads), xmalloc'd; and their release. */
char	**plot_numlabels(int n);
void	plot_freelabels(char **v, int n);

/*
 * Stacked bars: bar i (one per layer, per task, ...) stacks v[i * nseries
 * + j] for series j (one per pattern) in plot_qual(j), with a legend.
 */
struct plot_bars {
	const float	*v;		/* (nbars, nseries) */
	int		 nbars, nseries;
	char *const	*blab;		/* bar labels, below; or NULL (1, 2..) */
	char *const	*slab;		/* series names, for the legend */
	const char	*title, *xlab, *ylab;
	double		 ymax;		/* <= 0: the largest stack */
	int		 percent;	/* y ticks as percent (shares) */
	const float	*line;		/* (nbars) a value a bar on the same */
	const char	*linelab;	/* axis, joined by a line; or NULL */
};

int	plot_bars(const char *path, const struct plot_bars *b, double w,
	    double hgt, char *err, size_t errlen);

/* ---- canvas ---- */

struct plot;

/*
 * A blank white canvas of w x h for path (".png" or ".svg").  NULL with a
 * message in err when the file cannot be created or the size is not
 * within 1 .. 32767.
 */
struct plot	*plot_open(const char *path, double w, double hgt, char *err,
		    size_t errlen);
/*
 * Write the file and free p.  Returns 0, or -1 with a message in err (the
 * file is removed then).  p is freed in both cases.
 */
int		 plot_close(struct plot *p, char *err, size_t errlen);

/*
 * A heat map with its title, labels and colour bar fitted into box b.
 * The cells are square.  When cells is not NULL it gets their box.
 */
void	plot_panel(struct plot *p, struct plot_box b, const struct plot_heat *h,
	    struct plot_box *cells);
/* Only the cells of h, stretched over box b (no labels, no bar). */
void	plot_cells(struct plot *p, struct plot_box b, const struct plot_heat *h);
/* A vertical colour bar in box b, ticks and caption to its right. */
void	plot_colorbar(struct plot *p, struct plot_box b, int scale,
	    double vmax, const char *label);
/* Text of the given size, anchored at x (by align) and at baseline y. */
void	plot_text(struct plot *p, double x, double y, double size, int align,
	    const char *s);
/* The same, turned 90 degrees to read upward. */
void	plot_vtext(struct plot *p, double x, double y, double size, int align,
	    const char *s);
/* Width of s at the given size. */
double	plot_textw(struct plot *p, double size, const char *s);
void	plot_rect(struct plot *p, struct plot_box b, const double rgb[3]);
void	plot_line(struct plot *p, double x0, double y0, double x1, double y1,
	    double width, const double rgb[3]);
/* The cairo context, to draw anything else. */
cairo_t	*plot_cairo(struct plot *p);

#endif
