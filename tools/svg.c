/* svg: a tiny line-chart writer (see svg.h). Layout first (axes, margins, legend place), in
 * pixels of a fixed 720 x 450 canvas, then one pass that writes the elements. */
#include "svg.h"

#include "io/atomic_file.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 720.0
#define HEIGHT 450.0
#define CHAR_W 7.0 /* a rough width of one character at font-size 12, for layout */
#define LEGEND_ROW 18.0

typedef struct series {
    char *name;
    double *x, *y;
    size_t n;
} series;

struct svg_chart {
    char *title, *x_label, *y_label;
    series *s;
    size_t count, cap;
};

typedef struct box {
    double x, y, w, h;
} box;

typedef struct axis {
    double lo, hi, step;
    size_t ticks;
    int decimals; /* for "%.*f"; -1: use "%.4g" (very large or very small values) */
} axis;

typedef struct layout {
    box plot, legend;
    axis ax, ay;
} layout;

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/* ---- The chart --------------------------------------------------------------------------- */

static char *dup_text(const char *s) {
    size_t len = strlen(s ? s : "") + 1;
    char *d = malloc(len);
    if (d)
        memcpy(d, s ? s : "", len);
    return d;
}

svg_chart *svg_chart_new(const char *title, const char *x_label, const char *y_label) {
    svg_chart *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->title = dup_text(title);
    c->x_label = dup_text(x_label);
    c->y_label = dup_text(y_label);
    if (!c->title || !c->x_label || !c->y_label) {
        svg_chart_free(c);
        errno = ENOMEM;
        return NULL;
    }
    return c;
}

int svg_chart_add_series(svg_chart *chart, const char *name, const double *x, const double *y,
                         size_t n) {
    if (!chart || (n > 0 && (!x || !y))) {
        errno = EINVAL;
        return -1;
    }
    if (chart->count == chart->cap) {
        size_t cap = chart->cap ? 2 * chart->cap : 8;
        series *s = realloc(chart->s, cap * sizeof *s);
        if (!s)
            return errno = ENOMEM, -1;
        chart->s = s;
        chart->cap = cap;
    }
    series s = {dup_text(name), NULL, NULL, n};
    if (n > 0 && n <= SIZE_MAX / sizeof(double)) {
        s.x = malloc(n * sizeof(double));
        s.y = malloc(n * sizeof(double));
    }
    if (!s.name || (n > 0 && (!s.x || !s.y))) {
        free(s.name);
        free(s.x);
        free(s.y);
        return errno = ENOMEM, -1;
    }
    if (n > 0) {
        memcpy(s.x, x, n * sizeof(double));
        memcpy(s.y, y, n * sizeof(double));
    }
    chart->s[chart->count++] = s;
    return 0;
}

void svg_chart_free(svg_chart *chart) {
    if (!chart)
        return;
    for (size_t i = 0; i < chart->count; i++) {
        free(chart->s[i].name);
        free(chart->s[i].x);
        free(chart->s[i].y);
    }
    free(chart->s);
    free(chart->title);
    free(chart->x_label);
    free(chart->y_label);
    free(chart);
}

/* ---- Axes -------------------------------------------------------------------------------- */

/* Beyond 1e300 the spans below would overflow: such points count as missing. */
static int usable(const series *s, size_t i) {
    return isfinite(s->x[i]) && isfinite(s->y[i]) && fabs(s->x[i]) <= 1e300 &&
           fabs(s->y[i]) <= 1e300;
}

/* The smallest of 1, 2, 5 times a power of ten that is >= raw (> 0). */
static double nice_step(double raw) {
    double mag = pow(10.0, floor(log10(raw)));
    double norm = raw / mag;
    return (norm <= 1.0 + 1e-9 ? 1.0 : norm <= 2.0 + 1e-9 ? 2.0 : norm <= 5.0 + 1e-9 ? 5.0 : 10.0) *
           mag;
}

/* Ticks at whole multiples of step covering [lo, hi]. */
static void axis_snap(axis *a, double lo, double hi, double step) {
    a->step = step;
    a->lo = floor(lo / step + 1e-9) * step;
    a->hi = ceil(hi / step - 1e-9) * step;
    a->ticks = (size_t)llround((a->hi - a->lo) / step) + 1;
    double big = fmax(fabs(a->lo), fabs(a->hi));
    if (step < 1e-4 || big >= 1e7)
        a->decimals = -1;
    else
        a->decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
}

/* The range of the usable x (or y) values of every series, padded by pad of its span on each
 * side, on about target ticks. */
static void axis_fit(axis *a, const svg_chart *c, int y, double pad, double target) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < c->count; k++)
        for (size_t i = 0; i < c->s[k].n; i++)
            if (usable(&c->s[k], i)) {
                double v = y ? c->s[k].y[i] : c->s[k].x[i];
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
    if (lo > hi) { /* nothing to show */
        lo = 0.0;
        hi = 1.0;
    } else if (hi - lo <= fmax(fabs(lo), fabs(hi)) * 1e-12) { /* constant */
        double d = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
        lo -= d;
        hi += d;
    } else {
        double p = (hi - lo) * pad;
        lo -= p;
        hi += p;
    }
    axis_snap(a, lo, hi, nice_step((hi - lo) / target));
}

static double tick_value(const axis *a, size_t i) {
    double v = a->lo + (double)i * a->step;
    return fabs(v) < a->step * 1e-6 ? 0.0 : v; /* no "-0.0" */
}

static int tick_label(const axis *a, size_t i, char *buf, size_t size) {
    double v = tick_value(a, i);
    return a->decimals < 0 ? snprintf(buf, size, "%.4g", v)
                           : snprintf(buf, size, "%.*f", a->decimals, v);
}

static double widest_label(const axis *a) {
    double w = 0.0;
    char buf[64];
    for (size_t i = 0; i < a->ticks; i++)
        w = fmax(w, tick_label(a, i, buf, sizeof buf) * CHAR_W);
    return w;
}

/* Coarser steps until neighbouring labels (need pixels each) no longer touch. */
static void axis_thin(axis *a, double length, int horizontal) {
    for (int tries = 0; tries < 8 && a->ticks > 2; tries++) {
        double need = horizontal ? widest_label(a) + 10.0 : 20.0;
        if (length / (double)(a->ticks - 1) >= need)
            return;
        axis_snap(a, a->lo, a->hi, nice_step(a->step * 1.5));
    }
}

/* ---- Layout ------------------------------------------------------------------------------ */

static double px(const layout *l, double x) {
    return l->plot.x + (x - l->ax.lo) / (l->ax.hi - l->ax.lo) * l->plot.w;
}

static double py(const layout *l, double y) {
    return l->plot.y + l->plot.h - (y - l->ay.lo) / (l->ay.hi - l->ay.lo) * l->plot.h;
}

/* Liang-Barsky: does the segment (x0,y0)-(x1,y1) meet the box? */
static int segment_hits(double x0, double y0, double x1, double y1, box r) {
    double t0 = 0.0, t1 = 1.0;
    double p[4] = {-(x1 - x0), x1 - x0, -(y1 - y0), y1 - y0};
    double q[4] = {x0 - r.x, r.x + r.w - x0, y0 - r.y, r.y + r.h - y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0)
                return 0;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0.0 && t > t0)
            t0 = t;
        if (p[i] > 0.0 && t < t1)
            t1 = t;
        if (t0 > t1)
            return 0;
    }
    return 1;
}

/* How many line pieces and dots of the data the box would cover. */
static size_t covered(const svg_chart *c, const layout *l, box r) {
    size_t hits = 0;
    for (size_t k = 0; k < c->count; k++) {
        const series *s = &c->s[k];
        for (size_t i = 0; i < s->n; i++) {
            if (!usable(s, i))
                continue;
            double x0 = px(l, s->x[i]), y0 = py(l, s->y[i]);
            int next = i + 1 < s->n && usable(s, i + 1);
            double x1 = next ? px(l, s->x[i + 1]) : x0, y1 = next ? py(l, s->y[i + 1]) : y0;
            hits += (size_t)segment_hits(x0, y0, x1, y1, r);
        }
    }
    return hits;
}

static size_t longest_name(const svg_chart *c) {
    size_t m = 0;
    for (size_t k = 0; k < c->count; k++)
        m = strlen(c->s[k].name) > m ? strlen(c->s[k].name) : m;
    return m;
}

/* The legend at the first place inside the plot where it covers no data: a corner, else the
 * first free place on a grid, row by row from the top. 0 when there is none. */
static int legend_inside(const svg_chart *c, layout *l, double lw, double lh) {
    const box *p = &l->plot;
    double x0 = p->x + 10.0, x1 = p->x + p->w - 10.0 - lw;
    double y0 = p->y + 10.0, y1 = p->y + p->h - 10.0 - lh;
    if (x1 < x0 || y1 < y0)
        return 0;
    enum { COLS = 12, ROWS = 8 };
    double corners[4][2] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
    for (int i = 0; i < 4 + (COLS + 1) * (ROWS + 1); i++) {
        int g = i - 4;
        double x = i < 4 ? corners[i][0] : x0 + (x1 - x0) * (g % (COLS + 1)) / COLS;
        double y = i < 4 ? corners[i][1] : y0 + (y1 - y0) * (g / (COLS + 1)) / ROWS;
        if (covered(c, l, (box){x - 4.0, y - 4.0, lw + 8.0, lh + 8.0}) == 0) {
            l->legend = (box){x, y, lw, lh};
            return 1;
        }
    }
    return 0;
}

/* Margins from the labels; the legend inside the plot where it fits, else right of it. */
static void lay_out(const svg_chart *c, layout *l) {
    double top = c->title[0] ? 46.0 : 18.0, bottom = c->x_label[0] ? 56.0 : 34.0;
    axis_fit(&l->ax, c, 0, 0.0, 8.0);
    char last[64]; /* the last x label is centred on the frame's right edge */
    int last_len = tick_label(&l->ax, l->ax.ticks - 1, last, sizeof last);
    double right = fmax(28.0, last_len * CHAR_W * 0.6 + 14.0);
    axis_fit(&l->ay, c, 1, 0.05, 6.0);
    l->plot.y = top;
    l->plot.h = HEIGHT - top - bottom;
    axis_thin(&l->ay, l->plot.h, 0);
    l->plot.x = (c->y_label[0] ? 34.0 : 10.0) + widest_label(&l->ay) + 10.0;
    l->plot.w = WIDTH - l->plot.x - right;
    axis_thin(&l->ax, l->plot.w, 1);
    if (c->count == 0)
        return;

    double lw = 44.0 + (double)longest_name(c) * CHAR_W, lh = 10.0 + LEGEND_ROW * (double)c->count;
    if (legend_inside(c, l, lw, lh))
        return;
    /* Every place inside covers data: narrow the plot and put the legend beside it. */
    l->plot.w = WIDTH - l->plot.x - right - lw - 12.0;
    axis_fit(&l->ax, c, 0, 0.0, 8.0);
    axis_thin(&l->ax, l->plot.w, 1);
    l->legend = (box){l->plot.x + l->plot.w + 20.0, l->plot.y, lw, lh};
}

/* ---- Writing ----------------------------------------------------------------------------- */

/* Pixel coordinates with two decimals, independent of the C locale's decimal point. */
static void fmt_num(char *buf, size_t size, double v) {
    long long c = llround(v * 100.0);
    long long a = c < 0 ? -c : c;
    if (a % 100)
        snprintf(buf, size, "%s%lld.%02lld", c < 0 ? "-" : "", a / 100, a % 100);
    else
        snprintf(buf, size, "%s%lld", c < 0 ? "-" : "", a / 100);
}

static void put_num(FILE *f, double v) {
    char buf[32];
    fmt_num(buf, sizeof buf, v);
    fputs(buf, f);
}

static void put_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: /* control characters are not allowed in XML 1.0 */
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
        }
    }
}

static void put_line(FILE *f, double x0, double y0, double x1, double y1, const char *style) {
    fputs("<line x1=\"", f);
    put_num(f, x0);
    fputs("\" y1=\"", f);
    put_num(f, y0);
    fputs("\" x2=\"", f);
    put_num(f, x1);
    fputs("\" y2=\"", f);
    put_num(f, y1);
    fprintf(f, "\" %s/>\n", style);
}

/* Text at (x, y) with extra attributes. */
static void put_label(FILE *f, double x, double y, const char *attrs, const char *text) {
    fputs("<text x=\"", f);
    put_num(f, x);
    fputs("\" y=\"", f);
    put_num(f, y);
    fprintf(f, "\" %s>", attrs);
    put_text(f, text);
    fputs("</text>\n", f);
}

static void write_axes(FILE *f, const svg_chart *c, const layout *l) {
    const box *p = &l->plot;
    char buf[64];
    fputs("<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n", f);
    for (size_t i = 0; i < l->ax.ticks; i++)
        put_line(f, px(l, tick_value(&l->ax, i)), p->y, px(l, tick_value(&l->ax, i)), p->y + p->h,
                 "");
    for (size_t i = 0; i < l->ay.ticks; i++)
        put_line(f, p->x, py(l, tick_value(&l->ay, i)), p->x + p->w, py(l, tick_value(&l->ay, i)),
                 "");
    fputs("</g>\n<g stroke=\"#9a9a9a\" stroke-width=\"1\">\n", f); /* the zero lines */
    if (l->ax.lo < 0.0 && l->ax.hi > 0.0)
        put_line(f, px(l, 0.0), p->y, px(l, 0.0), p->y + p->h, "");
    if (l->ay.lo < 0.0 && l->ay.hi > 0.0)
        put_line(f, p->x, py(l, 0.0), p->x + p->w, py(l, 0.0), "");
    fputs("</g>\n<g stroke=\"#444\" stroke-width=\"1\">\n", f); /* tick marks */
    for (size_t i = 0; i < l->ax.ticks; i++)
        put_line(f, px(l, tick_value(&l->ax, i)), p->y + p->h, px(l, tick_value(&l->ax, i)),
                 p->y + p->h + 5.0, "");
    for (size_t i = 0; i < l->ay.ticks; i++)
        put_line(f, p->x - 5.0, py(l, tick_value(&l->ay, i)), p->x, py(l, tick_value(&l->ay, i)),
                 "");
    fputs("</g>\n<g font-size=\"12\" fill=\"#222\">\n", f);
    for (size_t i = 0; i < l->ax.ticks; i++) {
        tick_label(&l->ax, i, buf, sizeof buf);
        put_label(f, px(l, tick_value(&l->ax, i)), p->y + p->h + 19.0, "text-anchor=\"middle\"",
                  buf);
    }
    for (size_t i = 0; i < l->ay.ticks; i++) {
        tick_label(&l->ay, i, buf, sizeof buf);
        put_label(f, p->x - 8.0, py(l, tick_value(&l->ay, i)) + 4.0, "text-anchor=\"end\"", buf);
    }
    fputs("</g>\n<g font-size=\"13\" fill=\"#222\" text-anchor=\"middle\">\n", f);
    if (c->x_label[0])
        put_label(f, p->x + p->w / 2.0, HEIGHT - 12.0, "", c->x_label);
    if (c->y_label[0]) {
        char rotate[64];
        snprintf(rotate, sizeof rotate, "transform=\"rotate(-90 18 %d)\"",
                 (int)(p->y + p->h / 2.0));
        put_label(f, 18.0, (double)(int)(p->y + p->h / 2.0), rotate, c->y_label);
    }
    fputs("</g>\n", f);
}

/* Where series overlap (as activations do for x > 0) earlier ones are drawn wider underneath,
 * so every colour stays visible. */
static double stroke_width(const svg_chart *c, size_t k) {
    double step = c->count > 1 ? fmin(1.0, 4.0 / (double)(c->count - 1)) : 0.0;
    return 2.0 + step * (double)(c->count - 1 - k);
}

static void write_series(FILE *f, const svg_chart *c, const layout *l, size_t k) {
    const series *s = &c->s[k];
    const char *colour = palette[k % (sizeof palette / sizeof palette[0])];
    fprintf(f, "<g stroke=\"%s\" fill=\"none\" stroke-width=\"", colour);
    put_num(f, stroke_width(c, k));
    fputs("\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n", f);
    for (size_t i = 0; i < s->n;) {
        size_t end = i;
        while (end < s->n && usable(s, end))
            end++;
        if (end - i == 1) { /* a lone point: a dot */
            fprintf(f, "<circle fill=\"%s\" stroke=\"none\" r=\"3\" cx=\"", colour);
            put_num(f, px(l, s->x[i]));
            fputs("\" cy=\"", f);
            put_num(f, py(l, s->y[i]));
            fputs("\"/>\n", f);
        } else if (end - i > 1) {
            fputs("<polyline points=\"", f);
            for (size_t j = i; j < end; j++) {
                put_num(f, px(l, s->x[j]));
                fputc(',', f);
                put_num(f, py(l, s->y[j]));
                fputc((j - i) % 10 == 9 ? '\n' : ' ', f);
            }
            fputs("\"/>\n", f);
        }
        i = end == i ? i + 1 : end;
    }
    fputs("</g>\n", f);
}

static void write_legend(FILE *f, const svg_chart *c, const layout *l) {
    const box *b = &l->legend;
    fputs("<g font-size=\"12\" fill=\"#222\">\n<rect x=\"", f);
    put_num(f, b->x);
    fputs("\" y=\"", f);
    put_num(f, b->y);
    fputs("\" width=\"", f);
    put_num(f, b->w);
    fputs("\" height=\"", f);
    put_num(f, b->h);
    fputs("\" rx=\"3\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbb\"/>\n", f);
    for (size_t k = 0; k < c->count; k++) {
        double y = b->y + 5.0 + LEGEND_ROW * ((double)k + 0.5);
        char width[32], style[80];
        fmt_num(width, sizeof width, stroke_width(c, k));
        snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"%s\"",
                 palette[k % (sizeof palette / sizeof palette[0])], width);
        put_line(f, b->x + 8.0, y, b->x + 34.0, y, style);
        put_label(f, b->x + 40.0, y + 4.0, "", c->s[k].name);
    }
    fputs("</g>\n", f);
}

static void write_svg(FILE *f, const svg_chart *c) {
    layout l = {0};
    lay_out(c, &l);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
               "height=\"%d\" viewBox=\"0 0 %d %d\"\n"
               "     font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n<title>",
            (int)WIDTH, (int)HEIGHT, (int)WIDTH, (int)HEIGHT);
    put_text(f, c->title);
    fputs("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", f);
    if (c->title[0])
        put_label(f, WIDTH / 2.0, 28.0,
                  "font-size=\"16\" font-weight=\"bold\" fill=\"#222\" text-anchor=\"middle\"",
                  c->title);
    write_axes(f, c, &l);
    /* Lines stay inside the frame even when rounding puts a point a hair outside. */
    fputs("<defs><clipPath id=\"plot-area\"><rect x=\"", f);
    put_num(f, l.plot.x);
    fputs("\" y=\"", f);
    put_num(f, l.plot.y);
    fputs("\" width=\"", f);
    put_num(f, l.plot.w);
    fputs("\" height=\"", f);
    put_num(f, l.plot.h);
    fputs("\"/></clipPath></defs>\n<g clip-path=\"url(#plot-area)\">\n", f);
    for (size_t k = 0; k < c->count; k++)
        write_series(f, c, &l, k);
    fputs("</g>\n<rect x=\"", f);
    put_num(f, l.plot.x);
    fputs("\" y=\"", f);
    put_num(f, l.plot.y);
    fputs("\" width=\"", f);
    put_num(f, l.plot.w);
    fputs("\" height=\"", f);
    put_num(f, l.plot.h);
    fputs("\" fill=\"none\" stroke=\"#444\"/>\n", f);
    if (c->count > 0)
        write_legend(f, c, &l);
    fputs("</svg>\n", f);
}

int svg_chart_write(const svg_chart *chart, const char *path) {
    if (!chart || !path) {
        errno = EINVAL;
        return -1;
    }
    relucl__atomic_file file;
    int e = relucl__atomic_open(&file, path);
    if (!e) {
        write_svg(file.stream, chart);
        e = relucl__atomic_commit(&file);
    }
    errno = e;
    return e ? -1 : 0;
}
