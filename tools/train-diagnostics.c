/* relucl-train's diagnostics: see train-diagnostics.h. */
#include "train-diagnostics.h"

#include "svg.h"
#include "tool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ok(diagnostics *d, relucl_status s, const char *what) {
    if (s != RELUCL_OK)
        fprintf(stderr, "relucl-train: diagnostics: %s: %s: %s\n", what, relucl_status_name(s),
                relucl_context_error(d->ctx));
    return s == RELUCL_OK;
}

/* Layers whose output follows an activation: the ones that can have dead units. */
static int rectified(const relucl_net_layer_info *info) {
    return info->act.kind != RELUCL_IDENTITY;
}

int diag_init(diagnostics *d, relucl_context *ctx, relucl_net *net, double threshold) {
    memset(d, 0, sizeof *d);
    d->ctx = ctx;
    d->net = net;
    d->threshold = threshold;
    d->layers = relucl_net_layer_count(net);
    if (d->layers > DIAG_MAX_LAYERS)
        d->layers = DIAG_MAX_LAYERS;
    for (int i = 0; i < d->layers; i++) {
        relucl_net_layer_info info;
        if (!ok(d, relucl_net_layer(net, i, &info), "relucl_net_layer"))
            return -1;
        if (!rectified(&info))
            continue;
        size_t units[1] = {info.y.dims[1]};
        if (!ok(d, relucl_tensor_create(ctx, 1, units, &d->alive[i]), "alive") ||
            !ok(d, relucl_tensor_fill(ctx, &d->alive[i], 0.0f), "alive"))
            return -1;
    }
    return 0;
}

void diag_free(diagnostics *d) {
    for (int i = 0; i < d->layers; i++)
        relucl_tensor_release(&d->alive[i]);
}

int diag_after_step(diagnostics *d, size_t step, size_t sample_every) {
    double start = tool_seconds();
    int sample = sample_every && step % sample_every == 0;
    for (int i = 0; i < d->layers; i++) {
        relucl_net_layer_info info;
        if (!d->alive[i].buffer)
            continue;
        if (!ok(d, relucl_net_layer(d->net, i, &info), "relucl_net_layer") ||
            !ok(d, relucl_dead_units_update(d->ctx, &info.y, &d->alive[i]), "dead units"))
            return -1;
        relucl_stats s;
        if (sample) {
            if (!ok(d, relucl_tensor_stats(d->ctx, &info.y, &s), "sparsity"))
                return -1;
            d->sparsity_sum[i] += s.count ? (double)s.zeros / (double)s.count : 0.0;
        }
    }
    d->samples += (size_t)sample;
    d->seconds += tool_seconds() - start;
    return 0;
}

static void warn_nonfinite(FILE *warn, size_t epoch, int layer, const char *what,
                           const relucl_stats *s) {
    if (s->nan || s->inf)
        fprintf(warn, "relucl-train: warning: epoch %zu, layer %d: %s has %zu NaN and %zu "
                      "infinite values\n",
                epoch, layer + 1, what, s->nan, s->inf);
}

int diag_end_epoch(diagnostics *d, size_t epoch, diag_row *rows, FILE *warn) {
    double start = tool_seconds();
    for (int i = 0; i < d->layers; i++) {
        relucl_net_layer_info info;
        relucl_stats s;
        diag_row r = {NAN, NAN, NAN, NAN, NAN};
        if (!ok(d, relucl_net_layer(d->net, i, &info), "relucl_net_layer"))
            return -1;
        if (info.w.buffer) {
            if (!ok(d, relucl_tensor_stats(d->ctx, &info.dw, &s), "gradient"))
                return -1;
            r.grad_norm = s.l2;
            r.grad_mean_abs = s.mean_abs;
            warn_nonfinite(warn, epoch, i, "the weight gradient", &s);
            if (!ok(d, relucl_tensor_stats(d->ctx, &info.w, &s), "weights"))
                return -1;
            r.weight_norm = s.l2;
            warn_nonfinite(warn, epoch, i, "the weights", &s);
        }
        if (d->alive[i].buffer) {
            if (!ok(d, relucl_tensor_stats(d->ctx, &d->alive[i], &s), "dead units") ||
                !ok(d, relucl_tensor_fill(d->ctx, &d->alive[i], 0.0f), "dead units"))
                return -1;
            r.dead = s.count ? (double)s.zeros / (double)s.count : 0.0;
            r.sparsity = d->samples ? d->sparsity_sum[i] / (double)d->samples : NAN;
            if (!ok(d, relucl_tensor_stats(d->ctx, &info.y, &s), "activations"))
                return -1;
            warn_nonfinite(warn, epoch, i, "the activations", &s);
            if (r.dead > d->threshold)
                fprintf(warn, "relucl-train: warning: epoch %zu, layer %d (%s): %.0f%% of its "
                              "units are dead (zero for every training sample this epoch)\n",
                        epoch, i + 1, info.kind, 100.0 * r.dead);
        }
        d->sparsity_sum[i] = 0.0;
        rows[i] = r;
    }
    d->samples = 0;
    d->seconds += tool_seconds() - start;
    return 0;
}

void diag_csv_header(const diagnostics *d, FILE *f) {
    static const char *const columns[] = {"sparsity", "dead_fraction", "grad_norm",
                                          "grad_mean_abs", "weight_norm"};
    for (int i = 0; i < d->layers; i++) {
        relucl_net_layer_info info;
        if (relucl_net_layer(d->net, i, &info) != RELUCL_OK)
            continue;
        for (int c = 0; c < 5; c++)
            fprintf(f, ",l%d_%s_%s", i + 1, info.kind, columns[c]);
    }
}

void diag_csv_row(const diagnostics *d, const diag_row *rows, FILE *f) {
    for (int i = 0; i < d->layers; i++)
        fprintf(f, ",%.6g,%.6g,%.6g,%.6g,%.6g", rows[i].sparsity, rows[i].dead,
                rows[i].grad_norm, rows[i].grad_mean_abs, rows[i].weight_norm);
}

/* One chart with a series per entry of getters; returns 0 or -1. */
typedef double (*epoch_value)(const chart_epoch *e, int layer);

static int write_chart(const char *prefix, const char *suffix, const char *title,
                       const char *y_label, const chart_epoch *epochs, size_t count,
                       const char *const *names, const epoch_value *values, const int *layers,
                       int series) {
    char path[4096];
    snprintf(path, sizeof path, "%s-%s.svg", prefix, suffix);
    svg_chart *chart = svg_chart_new(title, "epoch", y_label);
    double *x = malloc((count + 1) * sizeof *x), *y = malloc((count + 1) * sizeof *y);
    int status = chart && x && y ? 0 : -1;
    for (int s = 0; s < series && status == 0; s++) {
        size_t n = 0;
        for (size_t e = 0; e < count; e++) {
            if (!epochs[e].known)
                continue;
            x[n] = (double)(e + 1);
            y[n++] = values[s](&epochs[e], layers[s]);
        }
        status = svg_chart_add_series(chart, names[s], x, y, n);
    }
    if (status == 0)
        status = svg_chart_write(chart, path);
    svg_chart_free(chart);
    free(x);
    free(y);
    return status;
}

static double train_loss(const chart_epoch *e, int l) { return (void)l, e->train_loss; }
static double test_loss(const chart_epoch *e, int l) { return (void)l, e->test_loss; }
static double train_acc(const chart_epoch *e, int l) { return (void)l, e->train_acc; }
static double test_acc(const chart_epoch *e, int l) { return (void)l, e->test_acc; }
static double sparsity(const chart_epoch *e, int l) { return e->diag ? e->diag[l].sparsity : NAN; }
static double dead(const chart_epoch *e, int l) { return e->diag ? e->diag[l].dead : NAN; }
static double grad(const chart_epoch *e, int l) { return e->diag ? e->diag[l].grad_mean_abs : NAN; }

/* The per-layer charts: one series per layer that has the figure. */
static int layer_chart(const char *prefix, const char *suffix, const char *title,
                       const char *y_label, const chart_epoch *epochs, size_t count,
                       const diagnostics *d, epoch_value value, int needs_activation) {
    char names[DIAG_MAX_LAYERS][48];
    const char *name_ptrs[DIAG_MAX_LAYERS];
    epoch_value values[DIAG_MAX_LAYERS];
    int layers[DIAG_MAX_LAYERS], series = 0;
    for (int i = 0; i < d->layers; i++) {
        relucl_net_layer_info info;
        if (relucl_net_layer(d->net, i, &info) != RELUCL_OK ||
            (needs_activation ? !d->alive[i].buffer : !info.w.buffer))
            continue;
        snprintf(names[series], sizeof names[series], "layer %d (%s)", i + 1, info.kind);
        name_ptrs[series] = names[series];
        values[series] = value;
        layers[series++] = i;
    }
    return write_chart(prefix, suffix, title, y_label, epochs, count, name_ptrs, values, layers,
                       series);
}

int diag_write_charts(const char *prefix, const chart_epoch *epochs, size_t count,
                      const diagnostics *d) {
    const char *const loss_names[2] = {"train", "test"}, *const acc_names[2] = {"train", "test"};
    const epoch_value losses[2] = {train_loss, test_loss}, accs[2] = {train_acc, test_acc};
    const int none[2] = {0, 0};
    int status = write_chart(prefix, "loss", "Cross-entropy loss per epoch", "mean loss", epochs,
                             count, loss_names, losses, none, 2);
    if (status == 0)
        status = write_chart(prefix, "accuracy", "Accuracy per epoch", "accuracy", epochs, count,
                             acc_names, accs, none, 2);
    if (status == 0 && d) {
        status = layer_chart(prefix, "sparsity", "Activation sparsity per layer",
                             "fraction of zero outputs", epochs, count, d, sparsity, 1);
        if (status == 0)
            status = layer_chart(prefix, "dead", "Dead units per layer",
                                 "fraction dead for the whole epoch", epochs, count, d, dead, 1);
        if (status == 0)
            status = layer_chart(prefix, "gradient", "Gradient flow: mean |dW| per layer",
                                 "mean |gradient| (last step)", epochs, count, d, grad, 0);
    }
    return status;
}
