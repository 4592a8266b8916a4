/* plot.c -- heat maps, sheets and stacked bars with cairo (see plot.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cairo.h>
#include <cairo-svg.h>

#include "plot.h"
#include "util.h"

#define FONT	"DejaVu Sans"
#define MAXSIDE	32767
#define MAXLAB	16	/* characters of a label shown, then an ellipsis */

struct plot {
	char		*path;
	FILE		*fp;
	int		 svg;
	int		 werr;		/* errno of a failed write, or 0 */
	cairo_surface_t	*s;
	cairo_t		*cr;
};

/* ---- colours ---- */

/* viridis, at 17 evenly spaced points */
static const unsigned char viridis[17][3] = {
	{68, 1, 84}, {72, 26, 108}, {71, 47, 125}, {65, 68, 135},
	{59, 82, 139}, {51, 99, 141}, {44, 113, 142}, {38, 130, 142},
	{33, 145, 140}, {31, 158, 137}, {40, 174, 128}, {62, 188, 116},
	{94, 201, 98}, {132, 212, 75}, {173, 220, 48}, {216, 226, 25},
	{253, 231, 37}
};

/* blue - white - red, at 9 evenly spaced points from -1 to 1 */
static const unsigned char rdbu[9][3] = {
	{5, 48, 97}, {33, 102, 172}, {67, 147, 195}, {146, 197, 222},
	{247, 247, 247}, {244, 165, 130}, {214, 96, 77}, {178, 24, 43},
	{103, 0, 31}
};

static const unsigned char qual[10][3] = {
	{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
	{148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
	{188, 189, 34}, {23, 190, 207}
};

/* Linear interpolation in a table of n points over t in [0, 1]. */
static void
lerp(const unsigned char (*tab)[3], int n, double t, double rgb[3])
{
	double x;
	int i;

	if (!(t > 0))
		t = 0;
	if (t > 1)
		t = 1;
	x = t * (n - 1);
	i = (int)x;
	if (i >= n - 1)
		i = n - 2;
	x -= i;
	for (int c = 0; c < 3; c++)
		rgb[c] = ((1 - x) * tab[i][c] + x * tab[i + 1][c]) / 255.0;
}

void
plot_color(int scale, double vmax, double v, double rgb[3])
{
	if (!(vmax > 0))
		vmax = 1;
	if (scale == PLOT_DIV)
		lerp(rdbu, 9, (v / vmax + 1) / 2, rgb);
	else
		lerp(viridis, 17, v / vmax, rgb);
}

void
plot_qual(int i, double rgb[3])
{
	i = (i % 10 + 10) % 10;
	for (int c = 0; c < 3; c++)
		rgb[c] = qual[i][c] / 255.0;
}

double
plot_vmax(const struct plot_heat *h)
{
	double m = 0;
	size_t n = (size_t)h->rows * h->cols;

	if (h->vmax > 0)
		return h->vmax;
	for (size_t i = 0; i < n; i++) {
		double x = h->scale == PLOT_DIV ? fabs(h->v[i]) : h->v[i];
		if (x > m)	/* NaN is never > m */
			m = x;
	}
	return m > 0 ? m : 1;
}

/* ---- canvas ---- */

static cairo_status_t
writefn(void *arg, const unsigned char *data, unsigned int len)
{
	struct plot *p = arg;

	if (fwrite(data, 1, len, p->fp) != len) {
		if (p->werr == 0)
			p->werr = errno ? errno : EIO;
		return CAIRO_STATUS_WRITE_ERROR;
	}
	return CAIRO_STATUS_SUCCESS;
}

static int
suffix(const char *path, const char *suf)
{
	size_t n = strlen(path), m = strlen(suf);

	return n > m && strcasecmp(path + n - m, suf) == 0;
}

struct plot *
plot_open(const char *path, double w, double hgt, char *err, size_t errlen)
{
	struct plot *p;
	int svg;

	if (suffix(path, ".svg"))
		svg = 1;
	else if (suffix(path, ".png"))
		svg = 0;
	else {
		errf(err, errlen, "%s: unknown image type, expected .png or "
		    ".svg", path);
		return NULL;
	}
	w = ceil(w);
	hgt = ceil(hgt);
	if (!(w >= 1 && w <= MAXSIDE && hgt >= 1 && hgt <= MAXSIDE)) {
		errf(err, errlen, "%s: image of %.0f x %.0f is outside 1 .. "
		    "%d", path, w, hgt, MAXSIDE);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->svg = svg;
	if ((p->fp = fopen(path, "wb")) == NULL) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		free(p);
		return NULL;
	}
	p->path = xstrdup(path);
	if (svg)
		p->s = cairo_svg_surface_create_for_stream(writefn, p, w, hgt);
	else
		p->s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)w,
		    (int)hgt);
	if (cairo_surface_status(p->s) != CAIRO_STATUS_SUCCESS) {
		errf(err, errlen, "%s: %s", path,
		    cairo_status_to_string(cairo_surface_status(p->s)));
		cairo_surface_destroy(p->s);
		fclose(p->fp);
		unlink(path);
		free(p->path);
		free(p);
		return NULL;
	}
	p->cr = cairo_create(p->s);
	cairo_select_font_face(p->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
	    CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_source_rgb(p->cr, 1, 1, 1);
	cairo_paint(p->cr);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	return p;
}

int
plot_close(struct plot *p, char *err, size_t errlen)
{
	cairo_status_t st;
	int rc = 0;

	st = cairo_status(p->cr);
	cairo_destroy(p->cr);
	if (st == CAIRO_STATUS_SUCCESS && !p->svg)
		st = cairo_surface_write_to_png_stream(p->s, writefn, p);
	cairo_surface_finish(p->s);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(p->s);
	cairo_surface_destroy(p->s);
	if (fflush(p->fp) == EOF && p->werr == 0)
		p->werr = errno;
	if (fclose(p->fp) == EOF && p->werr == 0)
		p->werr = errno;
	if (p->werr) {
		errf(err, errlen, "%s: %s", p->path, strerror(p->werr));
		rc = -1;
	} else if (st != CAIRO_STATUS_SUCCESS) {
		errf(err, errlen, "%s: %s", p->path,
		    cairo_status_to_string(st));
		rc = -1;
	}
	if (rc == -1)
		unlink(p->path);
	free(p->path);
	free(p);
	return rc;
}

cairo_t *
plot_cairo(struct plot *p)
{
	return p->cr;
}

/* ---- text ---- */

/* s cut to MAXLAB characters (UTF-8) with an ellipsis, into buf. */
static const char *
shorten(const char *s, char *buf, size_t len)
{
	size_t i, nc = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && nc++ == MAXLAB)
			break;
	}
	if (s[i] == '\0' || i + 4 > len)
		return s;
	memcpy(buf, s, i);
	memcpy(buf + i, "\xe2\x80\xa6", 4);
	return buf;
}

double
plot_textw(struct plot *p, double size, const char *s)
{
	cairo_text_extents_t te;

	cairo_set_font_size(p->cr, size);
	cairo_text_extents(p->cr, s, &te);
	return te.x_advance;
}

static void
text(cairo_t *cr, double x, double y, double size, int align, double angle,
    const char *s)
{
	cairo_text_extents_t te;
	double dx = 0;

	cairo_set_font_size(cr, size);
	cairo_text_extents(cr, s, &te);
	if (align == PLOT_CENTER)
		dx = -te.x_advance / 2;
	else if (align == PLOT_RIGHT)
		dx = -te.x_advance;
	cairo_save(cr);
	cairo_translate(cr, x, y);
	cairo_rotate(cr, angle);
	cairo_move_to(cr, dx, 0);
	cairo_show_text(cr, s);
	cairo_restore(cr);
}

void
plot_text(struct plot *p, double x, double y, double size, int align,
    const char *s)
{
	text(p->cr, x, y, size, align, 0, s);
}

void
plot_vtext(struct plot *p, double x, double y, double size, int align,
    const char *s)
{
	text(p->cr, x, y, size, align, -M_PI / 2, s);
}

void
plot_rect(struct plot *p, struct plot_box b, const double rgb[3])
{
	cairo_save(p->cr);
	cairo_set_source_rgb(p->cr, rgb[0], rgb[1], rgb[2]);
	cairo_rectangle(p->cr, b.x, b.y, b.w, b.h);
	cairo_fill(p->cr);
	cairo_restore(p->cr);
}

void
plot_line(struct plot *p, double x0, double y0, double x1, double y1,
    double width, const double rgb[3])
{
	cairo_save(p->cr);
	cairo_set_source_rgb(p->cr, rgb[0], rgb[1], rgb[2]);
	cairo_set_line_width(p->cr, width);
	cairo_move_to(p->cr, x0, y0);
	cairo_line_to(p->cr, x1, y1);
	cairo_stroke(p->cr);
	cairo_restore(p->cr);
}

/* ---- heat maps ---- */

static uint32_t
pixel(int scale, double vmax, double v)
{
	double c[3];

	if (isnan(v))
		return 0;	/* transparent: the white below shows */
	plot_color(scale, vmax, v, c);
	return 0xFF000000u | (uint32_t)(c[0] * 255 + 0.5) << 16 |
	    (uint32_t)(c[1] * 255 + 0.5) << 8 | (uint32_t)(c[2] * 255 + 0.5);
}

/*
 * Paint an image of (rows, cols) pixels over box b, each pixel a cell,
 * without smoothing.  SVG gets one <rect> per cell up to 64 x 64 cells,
 * an embedded image beyond.
 */
static void
cells(struct plot *p, struct plot_box b, const float *v, int rows, int cols,
    int scale, double vmax)
{
	cairo_t *cr = p->cr;
	cairo_surface_t *img;
	cairo_pattern_t *pat;
	uint32_t *px;
	int stride;

	if (p->svg && (long)rows * cols <= 4096) {
		double cw = b.w / cols, ch = b.h / rows, c[3];

		cairo_save(cr);
		for (int i = 0; i < rows; i++)
			for (int j = 0; j < cols; j++) {
				double x = v[(size_t)i * cols + j];
				if (isnan(x))
					continue;
				plot_color(scale, vmax, x, c);
				cairo_set_source_rgb(cr, c[0], c[1], c[2]);
				/* a hair wider, so no seams show */
				cairo_rectangle(cr, b.x + j * cw, b.y + i * ch,
				    cw + (j + 1 < cols ? 0.25 : 0),
				    ch + (i + 1 < rows ? 0.25 : 0));
				cairo_fill(cr);
			}
		cairo_restore(cr);
		return;
	}
	img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, cols, rows);
	if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(img);
		return;
	}
	cairo_surface_flush(img);
	px = (uint32_t *)cairo_image_surface_get_data(img);
	stride = cairo_image_surface_get_stride(img) / 4;
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++)
			px[(size_t)i * stride + j] =
			    pixel(scale, vmax, v[(size_t)i * cols + j]);
	cairo_surface_mark_dirty(img);
	cairo_save(cr);
	cairo_rectangle(cr, b.x, b.y, b.w, b.h);
	cairo_clip(cr);
	cairo_translate(cr, b.x, b.y);
	cairo_scale(cr, b.w / cols, b.h / rows);
	cairo_set_source_surface(cr, img, 0, 0);
	pat = cairo_get_source(cr);
	cairo_pattern_set_filter(pat, CAIRO_FILTER_NEAREST);
	cairo_pattern_set_extend(pat, CAIRO_EXTEND_PAD);
	cairo_paint(cr);
	cairo_restore(cr);
	cairo_surface_destroy(img);
}

void
plot_cells(struct plot *p, struct plot_box b, const struct plot_heat *h)
{
	if (h->rows > 0 && h->cols > 0)
		cells(p, b, h->v, h->rows, h->cols, h->scale, plot_vmax(h));
}

static void
ticklab(char *buf, size_t len, double x)
{
	if (fabs(x) < 1e-12)
		x = 0;
	snprintf(buf, len, "%.3g", x);
}

/* 1, 2, 2.5 or 5 times a power of ten, the nearest not below x. */
static double
nicestep(double x)
{
	double e = pow(10, floor(log10(x))), f = x / e;

	return e * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
}

#define BARW	12	/* colour bar strip */
#define TICKFS	9

/* Width a colour bar with its ticks and caption takes. */
static double
barwidth(struct plot *p, int scale, double vmax, const char *label)
{
	char buf[32];
	double w = 0, t, lo, step;

	if (!(vmax > 0))
		vmax = 1;
	lo = scale == PLOT_DIV ? -vmax : 0;
	step = nicestep((vmax - lo) / 4);
	for (double v = ceil(lo / step - 1e-9) * step; v <= vmax * (1 + 1e-9);
	    v += step) {
		ticklab(buf, sizeof(buf), v);
		if ((t = plot_textw(p, TICKFS, buf)) > w)
			w = t;
	}
	return BARW + 5 + w + (label != NULL ? 4 + TICKFS * 1.3 : 0);
}

void
plot_colorbar(struct plot *p, struct plot_box b, int scale, double vmax,
    const char *label)
{
	cairo_t *cr = p->cr;
	const int n = 256;
	float grad[256];
	double lo = scale == PLOT_DIV ? -vmax : 0, tw = 0, step;
	char buf[32];

	if (!(vmax > 0))
		vmax = 1, lo = scale == PLOT_DIV ? -1 : 0;
	for (int i = 0; i < n; i++)	/* top is vmax */
		grad[i] = vmax - (vmax - lo) * i / (n - 1);
	cells(p, (struct plot_box){ b.x, b.y, BARW, b.h }, grad, n, 1, scale,
	    vmax);
	cairo_save(cr);
	cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
	cairo_set_line_width(cr, 0.8);
	cairo_rectangle(cr, b.x, b.y, BARW, b.h);
	cairo_stroke(cr);
	cairo_restore(cr);
	/* ticks at a round step, 3 to 6 of them over the range */
	step = nicestep((vmax - lo) / 4);
	for (double v = ceil(lo / step - 1e-9) * step; v <= vmax * (1 + 1e-9);
	    v += step) {
		double y = b.y + b.h - b.h * (v - lo) / (vmax - lo);
		double w;

		plot_line(p, b.x + BARW, y, b.x + BARW + 3, y, 0.8,
		    (double[3]){ 0, 0, 0 });
		ticklab(buf, sizeof(buf), v);
		plot_text(p, b.x + BARW + 5, y + TICKFS * 0.35, TICKFS,
		    PLOT_LEFT, buf);
		if ((w = plot_textw(p, TICKFS, buf)) > tw)
			tw = w;
	}
	if (label != NULL)
		plot_vtext(p, b.x + BARW + 5 + tw + 4 + TICKFS, b.y + b.h / 2,
		    TICKFS + 1, PLOT_CENTER, label);
}

/* Widest of n labels at size fs. */
static double
maxw(struct plot *p, char *const *lab, int n, double fs)
{
	double w = 0, t;

	char buf[128];

	for (int i = 0; lab != NULL && i < n; i++)
		if (lab[i] != NULL && (t = plot_textw(p, fs,
		    shorten(lab[i], buf, sizeof(buf)))) > w)
			w = t;
	return w;
}

/* Label size for cells of side cs; 0 when they are too small for text. */
static double
labfs(double cs)
{
	double fs = cs * 0.8;

	if (fs > 11)
		fs = 11;
	return fs < 4.5 ? 0 : fs;
}

#define TITLEFS	14
#define CAPFS	11

/* Space around the cells of h for labels at size fs: left, below, ... */
struct margins {
	double	left, top, right, bottom;
};

static struct margins
heatmargins(struct plot *p, const struct plot_heat *h, double fs)
{
	struct margins m = { 0, 0, 0, 0 };

	if (h->title != NULL)
		m.top = TITLEFS * 1.8;
	if (fs > 0) {
		m.left += h->rlab ? maxw(p, h->rlab, h->rows, fs) + 4 : 0;
		m.bottom += h->clab ? maxw(p, h->clab, h->cols, fs) + 4 : 0;
	}
	if (h->ylab != NULL)
		m.left += CAPFS * 1.6;
	if (h->xlab != NULL)
		m.bottom += CAPFS * 1.8;
	if (!h->nobar)
		m.right = 10 + barwidth(p, h->scale, plot_vmax(h), h->barlab);
	return m;
}

/* The largest square cell that fits h into box b. */
static double
fitcell(struct plot *p, const struct plot_heat *h, struct plot_box b)
{
	struct margins m = heatmargins(p, h, 11);
	double cs = 0;

	for (int k = 0; k < 4; k++) {
		double a = (b.w - m.left - m.right) / h->cols;
		double c = (b.h - m.top - m.bottom) / h->rows;

		cs = a < c ? a : c;
		if (cs < 0.5)
			cs = 0.5;
		m = heatmargins(p, h, labfs(cs));
	}
	if (cs >= 3 && !p->svg)
		cs = floor(cs);	/* whole pixels: cells of equal size */
	return cs;
}

void
plot_panel(struct plot *p, struct plot_box b, const struct plot_heat *h,
    struct plot_box *cellbox)
{
	struct margins m;
	struct plot_box g;
	double cs, fs, vmax, black[3] = { 0, 0, 0 };
	char buf[128];

	if (h->rows <= 0 || h->cols <= 0)
		return;
	cs = fitcell(p, h, b);
	fs = labfs(cs);
	m = heatmargins(p, h, fs);
	vmax = plot_vmax(h);
	g = (struct plot_box){ b.x + m.left, b.y + m.top, cs * h->cols,
	    cs * h->rows };
	if (cellbox != NULL)
		*cellbox = g;
	if (h->title != NULL)
		plot_text(p, g.x + g.w / 2, b.y + TITLEFS * 1.2, TITLEFS,
		    PLOT_CENTER, h->title);
	cells(p, g, h->v, h->rows, h->cols, h->scale, vmax);
	cairo_save(p->cr);
	cairo_set_source_rgb(p->cr, 0.5, 0.5, 0.5);
	cairo_set_line_width(p->cr, 0.6);
	cairo_rectangle(p->cr, g.x, g.y, g.w, g.h);
	cairo_stroke(p->cr);
	cairo_restore(p->cr);
	if (fs > 0 && h->rlab != NULL)
		for (int i = 0; i < h->rows; i++)
			if (h->rlab[i] != NULL)
				plot_text(p, g.x - 3, g.y + (i + 0.5) * cs +
				    fs * 0.35, fs, PLOT_RIGHT, shorten(h->rlab[i],
				    buf, sizeof(buf)));
	if (fs > 0 && h->clab != NULL)
		for (int j = 0; j < h->cols; j++)
			if (h->clab[j] != NULL)
				plot_vtext(p, g.x + (j + 0.5) * cs + fs * 0.35,
				    g.y + g.h + 3, fs, PLOT_RIGHT,
				    shorten(h->clab[j], buf, sizeof(buf)));
	if (h->ylab != NULL)
		plot_vtext(p, b.x + CAPFS, g.y + g.h / 2, CAPFS, PLOT_CENTER,
		    h->ylab);
	if (h->xlab != NULL)
		plot_text(p, g.x + g.w / 2, g.y + g.h + m.bottom - CAPFS * 0.5,
		    CAPFS, PLOT_CENTER, h->xlab);
	if (h->numbers) {
		const char *fmt = h->fmt != NULL ? h->fmt : "%.2f";
		double nfs = cs / 2.8 > 11 ? 11 : cs / 2.8;

		for (int i = 0; nfs >= 4.5 && i < h->rows; i++)
			for (int j = 0; j < h->cols; j++) {
				double x = h->v[(size_t)i * h->cols + j], c[3];

				if (isnan(x))
					continue;
				plot_color(h->scale, vmax, x, c);
				/* dark text on light cells */
				if (0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2] > 0.55)
					cairo_set_source_rgb(p->cr, 0, 0, 0);
				else
					cairo_set_source_rgb(p->cr, 1, 1, 1);
				snprintf(buf, sizeof(buf), fmt, x);
				text(p->cr, g.x + (j + 0.5) * cs,
				    g.y + (i + 0.5) * cs + nfs * 0.35, nfs,
				    PLOT_CENTER, 0, buf);
			}
		cairo_set_source_rgb(p->cr, black[0], black[1], black[2]);
	}
	if (!h->nobar) {
		double bh = g.h < 100 ? 100 : g.h;

		if (bh > b.y + b.h - g.y)
			bh = b.y + b.h - g.y;
		plot_colorbar(p, (struct plot_box){ g.x + g.w + 10, g.y, BARW,
		    bh }, h->scale, vmax, h->barlab);
	}
}

int
plot_heatmap(const char *path, const struct plot_heat *h, double w,
    double hgt, struct plot_box *cellbox, char *err, size_t errlen)
{
	struct plot *p;
	const double pad = 12;

	if (h->rows <= 0 || h->cols <= 0) {
		errf(err, errlen, "%s: empty heat map", path);
		return -1;
	}
	if (w <= 0 || hgt <= 0) {
		/* size from the map: measure the labels on a scratch canvas */
		struct plot s = { 0 };
		struct margins m;
		int n = h->rows > h->cols ? h->rows : h->cols;
		double cs = 900.0 / n;

		cs = cs > 28 ? 28 : cs < 8 ? 8 : floor(cs);
		s.s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
		s.cr = cairo_create(s.s);
		cairo_select_font_face(s.cr, FONT, CAIRO_FONT_SLANT_NORMAL,
		    CAIRO_FONT_WEIGHT_NORMAL);
		m = heatmargins(&s, h, labfs(cs));
		cairo_destroy(s.cr);
		cairo_surface_destroy(s.s);
		w = ceil(cs * h->cols + m.left + m.right + 2 * pad + 1);
		hgt = ceil(cs * h->rows + m.top + m.bottom + 2 * pad + 1);
		if (h->title != NULL) {
			/* room for a title wider than the map */
			double tw = strlen(h->title) * TITLEFS * 0.62 + 2 * pad;
			if (tw > w)
				w = ceil(tw);
		}
		if (w < 200 && !h->nobar)
			w = 200;
		if (hgt < 100 + m.top + 2 * pad && !h->nobar)
			hgt = ceil(100 + m.top + 2 * pad);
	}
	if ((p = plot_open(path, w, hgt, err, errlen)) == NULL)
		return -1;
	plot_panel(p, (struct plot_box){ pad, pad, w - 2 * pad, hgt - 2 * pad },
	    h, cellbox);
	return plot_close(p, err, errlen);
}

/* ---- sheets ---- */

int
plot_sheet(const char *path, const struct plot_heat *panel, int n,
    int ncols, double px, const char *title, char *err, size_t errlen)
{
	struct plot *p;
	const double pad = 14, gap = 8, tfs = 10;
	double vmax = 0, w, hgt, top, bw;
	int scale, nrows;

	if (n <= 0) {
		errf(err, errlen, "%s: no panels", path);
		return -1;
	}
	if (ncols <= 0 || ncols > n)
		ncols = n;
	if (px <= 0)
		px = 110;
	nrows = (n + ncols - 1) / ncols;
	scale = panel[0].scale;
	if (panel[0].vmax > 0)
		vmax = panel[0].vmax;
	else
		for (int i = 0; i < n; i++) {
			struct plot_heat h = panel[i];
			double m;

			h.scale = scale;
			h.vmax = 0;
			if ((m = plot_vmax(&h)) > vmax)
				vmax = m;
		}
	top = pad + (title != NULL ? 24 : 0);
	bw = 10 + BARW + 50;
	w = pad * 2 + ncols * px + (ncols - 1) * gap + bw;
	hgt = top + nrows * (px + tfs * 1.6) + (nrows - 1) * gap + pad;
	if ((p = plot_open(path, w, hgt, err, errlen)) == NULL)
		return -1;
	if (title != NULL)
		plot_text(p, pad, pad + 16, TITLEFS, PLOT_LEFT, title);
	for (int i = 0; i < n; i++) {
		const struct plot_heat *h = &panel[i];
		double x = pad + (i % ncols) * (px + gap);
		double y = top + (i / ncols) * (px + tfs * 1.6 + gap);
		double cw, ch, s;

		if (h->title != NULL)
			plot_text(p, x + px / 2, y + tfs, tfs, PLOT_CENTER,
			    h->title);
		y += tfs * 1.6;
		if (h->rows <= 0 || h->cols <= 0)
			continue;
		/* square cells, the map centred in its square */
		s = h->rows > h->cols ? h->rows : h->cols;
		cw = px * h->cols / s;
		ch = px * h->rows / s;
		x += (px - cw) / 2;
		cells(p, (struct plot_box){ x, y, cw, ch }, h->v, h->rows,
		    h->cols, scale, vmax);
		cairo_save(p->cr);
		cairo_set_source_rgb(p->cr, 0.6, 0.6, 0.6);
		cairo_set_line_width(p->cr, 0.5);
		cairo_rectangle(p->cr, x, y, cw, ch);
		cairo_stroke(p->cr);
		cairo_restore(p->cr);
	}
	plot_colorbar(p, (struct plot_box){ w - pad - bw + 10, top + tfs * 1.6,
	    BARW, hgt - top - pad - tfs * 1.6 }, scale, vmax, NULL);
	return plot_close(p, err, errlen);
}

/* ---- stacked bars ---- */

int
plot_bars(const char *path, const struct plot_bars *b, double w, double hgt,
    char *err, size_t errlen)
{
	struct plot *p;
	const double pad = 14, fs = 11;
	double ymax = b->ymax, lw, legw = 0, blw = 0, top, bottom, left, slot;
	double grey[3] = { 0.75, 0.75, 0.75 }, black[3] = { 0, 0, 0 };
	double plotw, ploth;
	char buf[32];
	int rot;

	if (b->nbars <= 0 || b->nseries <= 0) {
		errf(err, errlen, "%s: no bars", path);
		return -1;
	}
	if (ymax <= 0) {
		for (int i = 0; i < b->nbars; i++) {
			double s = 0;
			for (int j = 0; j < b->nseries; j++)
				if (b->v[(size_t)i * b->nseries + j] > 0)
					s += b->v[(size_t)i * b->nseries + j];
			if (s > ymax)
				ymax = s;
		}
		if (ymax <= 0)
			ymax = 1;
	}
	if (w <= 0)
		w = 160 + b->nbars * 46 + 170;
	if (w < 420)
		w = 420;
	if (hgt <= 0)
		hgt = 420;
	if ((p = plot_open(path, w, hgt, err, errlen)) == NULL)
		return -1;
	for (int j = 0; j < b->nseries; j++) {
		double t = plot_textw(p, fs, b->slab ? b->slab[j] : "");
		if (t > legw)
			legw = t;
	}
	if (b->line != NULL && b->linelab != NULL &&
	    plot_textw(p, fs, b->linelab) > legw)
		legw = plot_textw(p, fs, b->linelab);
	legw += 30;
	for (int i = 0; i < b->nbars; i++) {
		double t;

		if (b->blab != NULL)
			t = plot_textw(p, fs, b->blab[i]);
		else {
			snprintf(buf, sizeof(buf), "%d", i + 1);
			t = plot_textw(p, fs, buf);
		}
		if (t > blw)
			blw = t;
	}
	lw = plot_textw(p, fs, b->percent ? "100%" : "0.000") + 8;
	left = pad + (b->ylab ? fs * 1.8 : 0) + lw;
	top = pad + (b->title ? 26 : 0);
	plotw = w - left - legw - 2 * pad;
	slot = plotw / b->nbars;
	rot = blw > slot * 0.9;
	bottom = pad + (rot ? blw : fs) + 8 + (b->xlab ? fs * 2 : 0);
	ploth = hgt - top - bottom;
	if (plotw < 20 || ploth < 20) {
		plot_close(p, NULL, 0);
		unlink(path);
		errf(err, errlen, "%s: %.0f x %.0f is too small for the bars",
		    path, w, hgt);
		return -1;
	}
	if (b->title)
		plot_text(p, left + plotw / 2, pad + 16, TITLEFS, PLOT_CENTER,
		    b->title);
	/* y grid and ticks */
	for (int k = 0; k <= 4; k++) {
		double y = top + ploth - ploth * k / 4, v = ymax * k / 4;

		plot_line(p, left, y, left + plotw, y, 0.5, grey);
		if (b->percent)
			snprintf(buf, sizeof(buf), "%.0f%%", v * 100);
		else
			ticklab(buf, sizeof(buf), v);
		plot_text(p, left - 5, y + fs * 0.35, fs, PLOT_RIGHT, buf);
	}
	for (int i = 0; i < b->nbars; i++) {
		double x = left + slot * i + slot * 0.15, bw = slot * 0.7;
		double y = top + ploth, c[3];

		for (int j = 0; j < b->nseries; j++) {
			double v = b->v[(size_t)i * b->nseries + j], bh;

			if (!(v > 0))
				continue;
			bh = ploth * v / ymax;
			plot_qual(j, c);
			plot_rect(p, (struct plot_box){ x, y - bh, bw, bh }, c);
			y -= bh;
		}
		if (b->blab != NULL)
			snprintf(buf, sizeof(buf), "%s", b->blab[i]);
		else
			snprintf(buf, sizeof(buf), "%d", i + 1);
		if (rot)
			plot_vtext(p, x + bw / 2 + fs * 0.35, top + ploth + 5,
			    fs, PLOT_RIGHT, b->blab ? b->blab[i] : buf);
		else
			plot_text(p, x + bw / 2, top + ploth + 5 + fs, fs,
			    PLOT_CENTER, b->blab ? b->blab[i] : buf);
	}
	/* the line over the bars: a dot on each bar's middle, joined */
	for (int i = 0; b->line != NULL && i < b->nbars; i++) {
		double x = left + slot * (i + 0.5), v = b->line[i], y;

		if (!isfinite(v))
			continue;
		y = top + ploth - ploth * (v > ymax ? ymax : v < 0 ? 0 : v) /
		    ymax;
		plot_rect(p, (struct plot_box){ x - 3, y - 3, 6, 6 }, black);
		if (i + 1 < b->nbars && isfinite(b->line[i + 1])) {
			double v1 = b->line[i + 1];

			v1 = v1 > ymax ? ymax : v1 < 0 ? 0 : v1;
			plot_line(p, x, y, x + slot, top + ploth - ploth * v1 /
			    ymax, 1.5, black);
		}
	}
	plot_line(p, left, top + ploth, left + plotw, top + ploth, 1, black);
	plot_line(p, left, top, left, top + ploth, 1, black);
	if (b->ylab)
		plot_vtext(p, pad + fs, top + ploth / 2, fs, PLOT_CENTER,
		    b->ylab);
	if (b->xlab)
		plot_text(p, left + plotw / 2, hgt - pad, fs, PLOT_CENTER,
		    b->xlab);
	/* legend, top series first, as the bars stack */
	for (int j = b->nseries - 1, k = 0; j >= 0; j--, k++) {
		double x = left + plotw + 14, y = top + k * (fs * 1.9), c[3];

		plot_qual(j, c);
		plot_rect(p, (struct plot_box){ x, y, 12, 12 }, c);
		plot_text(p, x + 17, y + 10, fs, PLOT_LEFT,
		    b->slab ? b->slab[j] : "");
	}
	if (b->line != NULL) {
		double x = left + plotw + 14, y = top + b->nseries * (fs * 1.9);

		plot_line(p, x, y + 6, x + 12, y + 6, 1.5, black);
		plot_rect(p, (struct plot_box){ x + 3, y + 3, 6, 6 }, black);
		plot_text(p, x + 17, y + 10, fs, PLOT_LEFT,
		    b->linelab ? b->linelab : "");
	}
	return plot_close(p, err, errlen);
}

char **
plot_numlabels(int n)
{
	char **v = xmalloc((size_t)n * sizeof(*v));

	for (int i = 0; i < n; i++)
		v[i] = xasprintf("%d", i + 1);
	return v;
}

void
plot_freelabels(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Under LeakSanitizer (make SAN=1): fontconfig, which cairo loads fonts
 * through, keeps its caches until the process ends; not our leaks.
 */
const char	*__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}
