/*
 * train-diagnostics: what relucl-train --diagnostics measures inside the network, per layer
 * and per epoch, on the device: activation sparsity, dead units, gradient flow (norm and mean
 * |grad| of each layer's weights) and weight norms, with warnings for dying layers and
 * non-finite values. Also the SVG charts of a run.
 */
#ifndef RELUCL_TRAIN_DIAGNOSTICS_H
#define RELUCL_TRAIN_DIAGNOSTICS_H

#include <relucl.h>

#include <stdio.h>

#define DIAG_MAX_LAYERS 32

/* One layer's figures for one epoch; NaN where they do not apply (no weights, no activation). */
typedef struct diag_row {
    double sparsity;      /* fraction of zero outputs, averaged over the sampled batches */
    double dead;          /* fraction of units (channels) zero for every training sample */
    double grad_norm;     /* L2 norm of the weight gradient of the epoch's last step */
    double grad_mean_abs; /* its mean |grad| */
    double weight_norm;   /* L2 norm of the weights at the end of the epoch */
} diag_row;

typedef struct diagnostics {
    relucl_context *ctx;
    relucl_net *net;
    int layers;
    double threshold;                      /* dead fraction that triggers a warning */
    relucl_tensor alive[DIAG_MAX_LAYERS];  /* per unit: 1 once it has fired this epoch */
    double sparsity_sum[DIAG_MAX_LAYERS];
    size_t samples;                        /* batches whose sparsity was sampled */
    double seconds;                        /* host time spent here, for the overhead figure */
} diagnostics;

/* 0 on success; prints the library's message on failure. */
int diag_init(diagnostics *d, relucl_context *ctx, relucl_net *net, double threshold);
/* After every training step: dead-unit counters (device only); every sample_every steps also
 * the sparsity of each activation (a read-back). */
int diag_after_step(diagnostics *d, size_t step, size_t sample_every);
/* At the end of an epoch: fills rows[0..layers), prints warnings for the epoch (1-based) to
 * warn, and resets the per-epoch counters. */
int diag_end_epoch(diagnostics *d, size_t epoch, diag_row *rows, FILE *warn);
void diag_free(diagnostics *d);

/* The per-layer CSV header columns (",l1_dense_relu_sparsity,...") and one row's values. */
void diag_csv_header(const diagnostics *d, FILE *f);
void diag_csv_row(const diagnostics *d, const diag_row *rows, FILE *f);

/* Charts of a run: per-epoch loss and accuracy, and with diagnostics the per-layer figures.
 * Files are prefix + "-loss.svg", "-accuracy.svg", "-sparsity.svg", "-dead.svg",
 * "-gradient.svg". rows_per_epoch[e] points at epoch e's DIAG rows (NULL without). */
typedef struct chart_epoch {
    int known;
    double train_loss, train_acc, test_loss, test_acc;
    const diag_row *diag;
} chart_epoch;
int diag_write_charts(const char *prefix, const chart_epoch *epochs, size_t count,
                      const diagnostics *d);

#endif /* RELUCL_TRAIN_DIAGNOSTICS_H */
