/*
 * plotcheck -- draw known figures with common/plot.c for the tests:
 * a 3 x 4 heat map (PNG and SVG) whose cell box and expected cell colours
 * are printed, a sheet and stacked bars; and the errors plot returns.
 *
 *	usage: plotcheck dir
 * prints "size W H", "box X Y W H", then "cell I J R G B" lines (R G B
 * -1 for a blank cell), then "error: ..." lines for the failures.
 */
#include <err.h>
#include <math.h>
#include <stdio.h>

#include "plot.h"

int
main(int argc, char *argv[])
{
	static const float v[12] = {
		0.0f, 0.25f, 0.5f, 1.0f,
		0.75f, NAN, 0.1f, 0.9f,
		1.0f, 0.0f, 0.3f, 0.6f
	};
	static char *rl[] = { "[CLS]", "hello", "[SEP]" };
	static char *cl[] = { "[CLS]", "hello", "[SEP]", "x" };
	static char *sl[] = { "a", "b", "c" };
	static const float bars[6] = { 0.5f, 0.25f, 0.25f, 0.1f, 0.1f, 0.8f };
	struct plot_heat h = { 0 }, panels[4];
	struct plot_bars b = { 0 };
	struct plot_box box;
	struct plot *p;
	char path[1024], e[512];

	if (argc != 2)
		errx(2, "usage: plotcheck dir");
	h.v = v;
	h.rows = 3;
	h.cols = 4;
	h.rlab = rl;
	h.clab = cl;
	h.title = "known map";
	h.vmax = 1;
	snprintf(path, sizeof(path), "%s/heat.png", argv[1]);
	if (plot_heatmap(path, &h, 400, 300, &box, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	printf("size 400 300\nbox %g %g %g %g\n", box.x, box.y, box.w, box.h);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++) {
			double c[3];

			if (isnan(v[i * 4 + j])) {
				printf("cell %d %d -1 -1 -1\n", i, j);
				continue;
			}
			plot_color(PLOT_SEQ, 1, v[i * 4 + j], c);
			printf("cell %d %d %d %d %d\n", i, j, (int)(c[0] * 255 +
			    0.5), (int)(c[1] * 255 + 0.5), (int)(c[2] * 255 +
			    0.5));
		}
	snprintf(path, sizeof(path), "%s/heat.svg", argv[1]);
	h.numbers = 1;
	h.scale = PLOT_DIV;
	if (plot_heatmap(path, &h, 0, 0, NULL, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	for (int k = 0; k < 4; k++) {
		panels[k] = h;
		panels[k].title = k % 2 ? "L1H2" : "L1H1";
	}
	snprintf(path, sizeof(path), "%s/sheet.png", argv[1]);
	if (plot_sheet(path, panels, 4, 2, 0, "sheet", e, sizeof(e)) == -1)
		errx(1, "%s", e);
	b.v = bars;
	b.nbars = 2;
	b.nseries = 3;
	b.slab = sl;
	b.title = "bars";
	b.percent = 1;
	snprintf(path, sizeof(path), "%s/bars.svg", argv[1]);
	if (plot_bars(path, &b, 0, 0, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	/* the canvas, and the errors */
	snprintf(path, sizeof(path), "%s/canvas.png", argv[1]);
	if ((p = plot_open(path, 300, 200, e, sizeof(e))) == NULL)
		errx(1, "%s", e);
	plot_panel(p, (struct plot_box){ 10, 10, 280, 180 }, &h, NULL);
	plot_text(p, 150, 195, 10, PLOT_CENTER, "caption");
	if (plot_close(p, e, sizeof(e)) == -1)
		errx(1, "%s", e);
	if (plot_heatmap("/nonexistent/dir/x.png", &h, 0, 0, NULL, e,
	    sizeof(e)) == -1)
		printf("error: %s\n", e);
	if (plot_heatmap("x.jpg", &h, 0, 0, NULL, e, sizeof(e)) == -1)
		printf("error: %s\n", e);
	if (plot_open("x.png", 0, 10, e, sizeof(e)) == NULL)
		printf("error: %s\n", e);
	return 0;
}
