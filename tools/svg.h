/*
 * svg: a tiny line-chart writer for the tools. No dependencies beyond the C library and
 * relucl's atomic file writer (host/io/atomic_file.h).
 *
 * A chart holds a title, two axis labels and any number of series (x, y points joined by a
 * line). svg_chart_write turns it into a standalone SVG 1.1 file: axes with "nice" ticks
 * (steps of 1, 2 or 5 times a power of ten) and grid lines, a legend placed where it covers no
 * data (or beside the plot when every corner is taken), one polyline per series.
 *
 * - A NaN or infinite point (or one beyond +-1e300) is left out of the axis ranges and breaks
 *   its line: the next finite point starts a new segment. A point with no finite neighbour is
 *   drawn as a dot, so a single point still shows.
 * - Constant data and charts with no finite point at all get a sensible range around them.
 * - Text (title, labels, series names) is XML-escaped; it may be any UTF-8.
 * - Coordinates are written locale-independently.
 * Threads: no global state; a chart must be used by one thread at a time.
 */
#ifndef RELUCL_SAMPLES_SVG_H
#define RELUCL_SAMPLES_SVG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct svg_chart svg_chart;

/* A new empty chart; each string may be NULL for none and is copied. NULL (errno ENOMEM) if
 * memory runs out. Free it with svg_chart_free. */
svg_chart *svg_chart_new(const char *title, const char *x_label, const char *y_label);

/* Appends a series: n points (x[i], y[i]), copied. name may be NULL (shown as ""); x and y may
 * be NULL when n is 0 (an empty series still gets its legend entry). Colours follow the order
 * of the calls. Returns 0, or -1 with errno EINVAL (NULL chart, NULL arrays with n > 0) or
 * ENOMEM; the chart is then unchanged. */
int svg_chart_add_series(svg_chart *chart, const char *name, const double *x, const double *y,
                         size_t n);

/* Writes the chart to path atomically (a temporary file beside it, fsynced, renamed over it),
 * so readers never see half a file. Returns 0, or -1 with errno set (EINVAL for a NULL
 * argument, else from the failing step); path is then left as it was. */
int svg_chart_write(const svg_chart *chart, const char *path);

/* Frees the chart and its copies. NULL does nothing. */
void svg_chart_free(svg_chart *chart);

#ifdef __cplusplus
}
#endif
#endif /* RELUCL_SAMPLES_SVG_H */
