/*
 * relucl-train: trains a ReLU network on Fashion-MNIST, on the device.
 *
 * Both data sets are uploaded once. Every batch is gathered on the device through a shuffled
 * index, so per batch the host only enqueues work; metrics are read back once per epoch.
 * With no options it runs the reference recipe: MLP 784-256-128-10 with ReLU, batch 128,
 * SGD with momentum 0.9, learning rate 0.05, 10 epochs. Under mpirun it trains data-parallel
 * on every rank (train-parallel.c); rank 0 alone prints and writes files.
 * Exit status: 0 done, 1 failure (no data set, a device or file error), 2 bad options.
 */
#include <relucl.h>

#include "io/atomic_file.h"
#include "tool.h"
#include "train-diagnostics.h"
#include "train-options.h"
#include "train-parallel.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATH 4096
#define SYNC_BATCHES 32 /* how far the host may run ahead of the device, in batches */

typedef struct split {
    relucl_tensor images, labels; /* (n, inputs) and (n) class indices, as floats */
    size_t n;
} split;

typedef struct record { /* one epoch: a line of output and a row of the CSV */
    int known;
    double train_loss, train_acc, test_loss, test_acc, seconds, rate;
    int has_diag;
    diag_row diag[DIAG_MAX_LAYERS]; /* with --diagnostics */
} record;

typedef struct trainer {
    relucl_context *ctx;
    relucl_net *net;
    relucl_idx idx[4]; /* train images, train labels, test images, test labels */
    split train, test;
    relucl_tensor order, identity; /* row numbers: shuffled training rows, 0..n-1 test rows */
    relucl_tensor x, y;            /* one gathered batch: (batch, inputs) and (batch) */
    size_t batch, *perm;
    float *order_host;
    diagnostics diag; /* with --diagnostics */
    int diag_on;
    dist d;       /* the ranks; one without mpirun */
    parallel par; /* with more than one rank */
} trainer;

/* ---- Set-up ------------------------------------------------------------------------------ */

static int check(relucl_context *ctx, relucl_status s, const char *what) {
    if (s == RELUCL_OK)
        return 1;
    fflush(stdout); /* keep the report and the error in order */
    if (isatty(2))
        fprintf(stderr, "\r%78s\r", ""); /* over a progress bar */
    fprintf(stderr, "relucl-train: %s: %s: %s\n", what, relucl_status_name(s),
            relucl_context_error(ctx));
    return 0;
}

static int load_idx(const char *dir, const char *file, relucl_idx *out) {
    char path[MAX_PATH], message[1024] = "";
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (access(path, F_OK) != 0) {
        fprintf(stderr,
                "relucl-train: %s: no such file; Fashion-MNIST comes with the Debian "
                "package dataset-fashion-mnist (or give its directory with --data)\n",
                path);
        return 0;
    }
    relucl_status s = relucl_idx_load(path, out, message, sizeof message);
    if (s != RELUCL_OK)
        fprintf(stderr, "relucl-train: %s: %s\n", relucl_status_name(s), message);
    return s == RELUCL_OK;
}

static int set_optimizer(trainer *t, const options *o) {
    relucl_optimizer opt = {RELUCL_OPTIMIZER_SGD,
                            {(float)o->lr, (float)o->momentum, (float)o->weight_decay, 0},
                            {(float)o->lr, 0.9f, 0.999f, 1e-8f, (float)o->weight_decay, 0}};
    if (strcmp(o->optimizer, "sgd")) {
        opt.kind = RELUCL_OPTIMIZER_ADAM;
        opt.adam.decoupled = !strcmp(o->optimizer, "adamw");
    }
    return check(t->ctx, relucl_net_set_optimizer(t->net, &opt), "relucl_net_set_optimizer");
}

/* Returns 0 when both sets are N >= 1 images and N labels, the images of as many pixels as the
 * model has inputs; else the exit status. */
static int check_shapes(const trainer *t, const options *o) {
    for (int i = 0; i < 4; i += 2) {
        const relucl_idx *images = &t->idx[i], *labels = &t->idx[i + 1];
        if (images->ndim != 3 || labels->ndim != 1 || labels->dims[0] != images->dims[0] ||
            images->dims[0] == 0) {
            fprintf(stderr, "relucl-train: %s: %s set: expected N >= 1 images and N labels\n",
                    o->data, i ? "test" : "training");
            return 1;
        }
    }
    size_t pixels = t->idx[0].dims[1] * t->idx[0].dims[2];
    if (pixels != relucl_net_inputs(t->net) || t->idx[2].dims[1] * t->idx[2].dims[2] != pixels) {
        fprintf(stderr, "relucl-train: --model: %s takes %zu inputs, the images have %zu pixels\n",
                relucl_net_spec(t->net), relucl_net_inputs(t->net), pixels);
        return 2;
    }
    return 0;
}

/* Converts one images/labels pair to floats and uploads it. */
static int upload_split(trainer *t, const relucl_idx *images, const relucl_idx *labels,
                        size_t limit, split *out) {
    size_t inputs = relucl_net_inputs(t->net), classes = relucl_net_outputs(t->net);
    size_t n = images->dims[0] < limit ? images->dims[0] : limit, dims[2] = {n, inputs};
    float *pixels = malloc(n * inputs * sizeof *pixels), *classes_of = malloc(n * sizeof(float));
    int ok = pixels && classes_of;
    for (size_t i = 0; ok && i < n * inputs; i++)
        pixels[i] = (float)images->data[i] / 255.0f;
    for (size_t i = 0; ok && i < n; i++) {
        if (labels->data[i] >= classes) {
            fprintf(stderr, "relucl-train: label %u, but the model has %zu classes\n",
                    (unsigned)labels->data[i], classes);
            ok = 0;
        }
        classes_of[i] = (float)labels->data[i];
    }
    if (!pixels || !classes_of)
        fprintf(stderr, "relucl-train: out of host memory\n");
    out->n = n;
    ok = ok && check(t->ctx, relucl_tensor_create(t->ctx, 2, dims, &out->images), "images") &&
         check(t->ctx, relucl_tensor_write(t->ctx, &out->images, pixels), "images") &&
         check(t->ctx, relucl_tensor_create(t->ctx, 1, dims, &out->labels), "labels") &&
         check(t->ctx, relucl_tensor_write(t->ctx, &out->labels, classes_of), "labels");
    free(pixels);
    free(classes_of);
    return ok;
}

/* The index tensors and the batch buffers. The test index (0..n-1) is written once. */
static int make_buffers(trainer *t) {
    size_t n = t->train.n, m = t->test.n, dims[2] = {t->batch, relucl_net_inputs(t->net)};
    t->perm = malloc(n * sizeof *t->perm);
    t->order_host = malloc((n > m ? n : m) * sizeof *t->order_host);
    if (!t->perm || !t->order_host) {
        fprintf(stderr, "relucl-train: out of host memory\n");
        return 0;
    }
    for (size_t i = 0; i < m; i++)
        t->order_host[i] = (float)i;
    return check(t->ctx, relucl_tensor_create(t->ctx, 1, &n, &t->order), "order") &&
           check(t->ctx, relucl_tensor_create(t->ctx, 1, &m, &t->identity), "identity") &&
           check(t->ctx, relucl_tensor_write(t->ctx, &t->identity, t->order_host), "identity") &&
           check(t->ctx, relucl_tensor_create(t->ctx, 2, dims, &t->x), "batch") &&
           check(t->ctx, relucl_tensor_create(t->ctx, 1, dims, &t->y), "batch");
}

/* Returns the exit status: 0 when the context, the net and the device data are ready. */
static int setup(trainer *t, const options *o) {
    char message[1024] = "";
    relucl_status s = relucl_context_create_ex(o->device, &t->ctx, message, sizeof message);
    if (s != RELUCL_OK) {
        fprintf(stderr, "relucl-train: %s: %s\n", relucl_status_name(s), message);
        return 1;
    }
    s = relucl_net_create(t->ctx, o->model, t->batch, o->seed, &t->net);
    if (!check(t->ctx, s, "--model"))
        return s == RELUCL_ERROR_INVALID_ARGUMENT ? 2 : 1;
    int status = check_shapes(t, o);
    if (status != 0)
        return status;
    if (!upload_split(t, &t->idx[0], &t->idx[1], (size_t)o->limit_train, &t->train) ||
        !upload_split(t, &t->idx[2], &t->idx[3], (size_t)o->limit_test, &t->test) ||
        !make_buffers(t))
        return 1;
    for (int i = 0; i < 4; i++)
        relucl_idx_free(&t->idx[i]);
    printf("model %s (%zu parameters), %s lr %g", relucl_net_spec(t->net),
           relucl_net_parameter_count(t->net), o->optimizer, o->lr);
    if (!strcmp(o->optimizer, "sgd"))
        printf(" momentum %g", o->momentum);
    printf(" weight decay %g, batch %zu\n%zu training and %zu test images on %s", o->weight_decay,
           t->batch, t->train.n, t->test.n, relucl_context_device_name(t->ctx));
    if (t->d.size > 1)
        printf(" on %d ranks (%zu rows of each batch per rank)", t->d.size,
               (t->batch + (size_t)t->d.size - 1) / (size_t)t->d.size);
    printf("\n");
    return t->d.size == 1 || parallel_init(&t->par, &t->d, t->ctx, t->net) == 0 ? 0 : 1;
}

/* ---- Training ---------------------------------------------------------------------------- */

typedef struct progress {
    size_t epoch, epochs;
    double start, shown, interval;
    int tty, quiet; /* quiet: not rank 0 */
} progress;

/* Every SYNC_BATCHES batches waits for the queue, so that the host stays near the device
 * and the rate counts finished samples; then redraws the progress line if it is due. */
static int show_progress(progress *p, relucl_context *ctx, size_t batches, size_t done, size_t n) {
    if (done == n || batches % SYNC_BATCHES)
        return 1;
    if (!check(ctx, relucl_context_finish(ctx), "relucl_context_finish"))
        return 0;
    if (p->quiet || tool_seconds() - p->shown < p->interval)
        return 1;
    p->shown = tool_seconds();
    double rate = (double)done / (p->shown - p->start);
    if (p->tty) {
        char bar[31];
        size_t filled = 30 * done / n;
        memset(bar, '#', filled);
        memset(bar + filled, '.', 30 - filled);
        bar[30] = '\0';
        fprintf(stderr, "\repoch %zu/%zu [%s] %3zu%%  %.0f samples/s ", p->epoch, p->epochs, bar,
                100 * done / n, rate);
    } else {
        fprintf(stderr, "epoch %zu/%zu  %zu%%  %.0f samples/s\n", p->epoch, p->epochs,
                100 * done / n, rate);
    }
    return 1;
}

/* Gathers `rows` rows first.. of s, in the order of index, into views of the batch buffers. */
static int gather(trainer *t, const split *s, const relucl_tensor *index, size_t first, size_t rows,
                  relucl_tensor *x, relucl_tensor *y) {
    *x = t->x;
    *y = t->y;
    x->dims[0] = y->dims[0] = rows;
    return check(t->ctx, relucl_gather_rows(t->ctx, &s->images, index, first, x, &s->labels, y),
                 "relucl_gather_rows");
}

static int train_epoch(trainer *t, const options *o, size_t epoch, record *r) {
    size_t n = t->train.n;
    progress p = {epoch + 1,      (size_t)o->epochs,      tool_seconds(),
                  tool_seconds(), isatty(2) ? 0.1 : 10.0, isatty(2),
                  t->d.rank != 0};
    relucl_tensor x, y;
    int ok = check(t->ctx, relucl_shuffle(o->seed, epoch, n, t->perm), "relucl_shuffle");
    for (size_t i = 0; ok && i < n; i++)
        t->order_host[i] = (float)t->perm[i];
    ok = ok && check(t->ctx, relucl_tensor_write(t->ctx, &t->order, t->order_host), "order");
    size_t mine = 0; /* rows this rank trained on */
    for (size_t first = 0; ok && first < n; first += t->batch) {
        size_t rows = n - first < t->batch ? n - first : t->batch;
        if (t->d.size == 1) {
            ok = gather(t, &t->train, &t->order, first, rows, &x, &y) &&
                 check(t->ctx, relucl_net_train_step(t->net, &x, &y), "relucl_net_train_step");
        } else { /* this rank's slice of the global batch, then the shared update */
            size_t lo, hi;
            parallel_slice(&t->par, rows, &lo, &hi);
            ok = (hi == lo || (gather(t, &t->train, &t->order, first + lo, hi - lo, &x, &y) &&
                               check(t->ctx, relucl_net_compute_gradients(t->net, &x, &y),
                                     "relucl_net_compute_gradients"))) &&
                 parallel_step(&t->par, hi - lo, rows);
            mine += hi - lo;
        }
        ok = ok &&
             (!t->diag_on || diag_after_step(&t->diag, first / t->batch, SYNC_BATCHES) == 0) &&
             show_progress(&p, t->ctx, first / t->batch + 1, first + rows, n);
    }
    ok = ok && check(t->ctx, relucl_net_take_metrics(t->net, &r->train_loss, &r->train_acc),
                     "relucl_net_take_metrics");
    if (ok && t->d.size > 1) { /* per-sample means over every rank's rows */
        double sums[3] = {r->train_loss * (double)mine, r->train_acc * (double)mine, (double)mine};
        ok = dist_sum_doubles(sums, 3) == 0;
        r->train_loss = sums[0] / sums[2], r->train_acc = sums[1] / sums[2];
    }
    r->seconds = tool_seconds() - p.start;
    r->rate = (double)n / r->seconds;
    if (p.tty && !p.quiet)
        fprintf(stderr, "\r%78s\r", "");
    return ok;
}

/* The test set batch by batch; with several ranks, batch i on rank i mod ranks and the totals
 * summed, which gives the one-rank figures up to the order of the sums. */
static int evaluate(trainer *t, double *loss, double *accuracy) {
    relucl_tensor x, y;
    int ok = 1;
    size_t batches = 0, rows = 0, i = 0;
    for (size_t first = 0; ok && first < t->test.n; first += t->batch, i++) {
        if (i % (size_t)t->d.size != (size_t)t->d.rank)
            continue;
        size_t count = t->test.n - first < t->batch ? t->test.n - first : t->batch;
        ok = gather(t, &t->test, &t->identity, first, count, &x, &y) &&
             check(t->ctx, relucl_net_evaluate(t->net, &x, &y), "relucl_net_evaluate");
        batches++, rows += count;
    }
    ok = ok &&
         check(t->ctx, relucl_net_take_metrics(t->net, loss, accuracy), "relucl_net_take_metrics");
    if (ok && t->d.size > 1) {
        double sums[4] = {*loss * (double)batches, (double)batches, *accuracy * (double)rows,
                          (double)rows};
        ok = dist_sum_doubles(sums, 4) == 0;
        *loss = sums[0] / sums[1], *accuracy = sums[2] / sums[3];
    }
    return ok;
}

/* ---- Metrics file ------------------------------------------------------------------------ */

/* Writes path.tmp and renames it over path: a reader never sees half a file. */
static int write_metrics(const char *path, const record *rows, size_t count, const diagnostics *d) {
    relucl__atomic_file file;
    int e = relucl__atomic_open(&file, path);
    if (!e) {
        FILE *f = file.stream;
        fprintf(f, "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,"
                   "samples_per_second");
        if (d)
            diag_csv_header(d, f);
        fputc('\n', f);
        for (size_t i = 0; i < count; i++) {
            if (!rows[i].known)
                continue;
            fprintf(f, "%zu,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f", i + 1, rows[i].train_loss,
                    rows[i].train_acc, rows[i].test_loss, rows[i].test_acc, rows[i].seconds,
                    rows[i].rate);
            if (d && rows[i].has_diag)
                diag_csv_row(d, rows[i].diag, f);
            fputc('\n', f);
        }
        e = relucl__atomic_commit(&file);
    }
    if (e)
        fprintf(stderr, "relucl-train: %s: %s\n", path, strerror(e));
    return !e;
}

/* On --resume: the rows of epochs 1..count already in the CSV, kept when it is rewritten. */
static void read_metrics(const char *path, record *rows, size_t count) {
    FILE *f = fopen(path, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long e = 0;
        record r = {.known = 1};
        if (sscanf(line, "%llu,%lf,%lf,%lf,%lf,%lf,%lf", &e, &r.train_loss, &r.train_acc,
                   &r.test_loss, &r.test_acc, &r.seconds, &r.rate) == 7 &&
            e >= 1 && e <= count)
            rows[e - 1] = r;
    }
    if (f)
        fclose(f);
}

/* The charts' file prefix: --charts, else the metrics path without its ".csv". */
static int write_charts(const trainer *t, const options *o, const record *rows, size_t count) {
    char prefix[MAX_PATH];
    const char *base = o->charts ? o->charts : o->metrics;
    size_t len = strlen(base);
    if (!o->charts && len > 4 && !strcmp(base + len - 4, ".csv"))
        len -= 4;
    snprintf(prefix, sizeof prefix, "%.*s", (int)len, base);
    chart_epoch *epochs = calloc(count + 1, sizeof *epochs);
    if (!epochs)
        return 0;
    for (size_t e = 0; e < count; e++)
        epochs[e] = (chart_epoch){rows[e].known,     rows[e].train_loss,
                                  rows[e].train_acc, rows[e].test_loss,
                                  rows[e].test_acc,  rows[e].has_diag ? rows[e].diag : NULL};
    int status = diag_write_charts(prefix, epochs, count, t->diag_on ? &t->diag : NULL);
    free(epochs);
    if (status != 0)
        fprintf(stderr, "relucl-train: charts %s-*.svg: %s\n", prefix, strerror(errno));
    return status == 0;
}

/* ---- Main -------------------------------------------------------------------------------- */

/* Loads a checkpoint, on rank 0 (which hands it to the others in share_net). */
static int resume(trainer *t, const options *o) {
    return !o->resume || t->d.rank != 0 ||
           check(t->ctx, relucl_net_load(t->net, o->resume), "relucl_net_load");
}

/* With several ranks, every rank starts from rank 0's net: the same parameters, optimizer
 * state and step count. *start becomes the number of epochs a resumed net has done. */
static int share_net(trainer *t, const options *o, record *rows, size_t *start) {
    size_t per_epoch = (t->train.n + t->batch - 1) / t->batch;
    *start = 0;
    if (t->d.size > 1 && !parallel_share_net(&t->par))
        return 0;
    if (!o->resume)
        return 1;
    unsigned long long steps = relucl_net_steps(t->net);
    if (steps % per_epoch) /* saved mid-epoch, or with another --batch or --limit-train */
        fprintf(stderr, "relucl-train: note: %llu steps are not whole epochs\n", steps);
    *start = (size_t)(steps / per_epoch);
    if (t->d.rank == 0)
        read_metrics(o->metrics, rows, *start < o->epochs ? *start : (size_t)o->epochs);
    printf("resumed from %s after epoch %zu (%llu steps)\n", o->resume, *start, steps);
    return 1;
}

/* Trains epochs start+1..epochs, each followed by a test pass, a line, a checkpoint and the
 * CSV; then prints the final test accuracy. */
static int train(trainer *t, const options *o, record *rows, size_t start) {
    record last = {0};
    for (size_t e = start; e < o->epochs; e++) {
        record *r = &rows[e];
        if (!train_epoch(t, o, e, r) || !evaluate(t, &r->test_loss, &r->test_acc))
            return 0;
        r->known = 1;
        if (t->diag_on && diag_end_epoch(&t->diag, e + 1, r->diag, stderr) != 0)
            return 0;
        r->has_diag = t->diag_on;
        last = *r;
        printf("epoch %zu/%zu  train loss %.4f acc %.4f  test loss %.4f acc %.4f  %.1f s  %.0f "
               "samples/s\n",
               e + 1, (size_t)o->epochs, r->train_loss, r->train_acc, r->test_loss, r->test_acc,
               r->seconds, r->rate);
        fflush(stdout);
        if (t->d.rank == 0 && /* the files are rank 0's alone */
            ((o->checkpoint &&
              !check(t->ctx, relucl_net_save(t->net, o->checkpoint), "relucl_net_save")) ||
             !write_metrics(o->metrics, rows, e + 1, t->diag_on ? &t->diag : NULL) ||
             !write_charts(t, o, rows, e + 1)))
            return 0;
    }
    if (!last.known && !evaluate(t, &last.test_loss, &last.test_acc)) /* nothing left to train */
        return 0;
    printf("final test accuracy %.4f (loss %.4f) on %s\n", last.test_acc, last.test_loss,
           relucl_context_device_name(t->ctx));
    return 1;
}

int main(int argc, char **argv) {
    static const char *files[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                   "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    dist d;
    if (dist_init(&argc, &argv, &d) != 0)
        return 1;
    if (d.rank > 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 alone reports */
        return 1;
    options o;
    int status = parse_options(argc, argv, &o);
    if (status >= 0) {
        dist_finish();
        return status;
    }
    /* Ranks on one machine share its cores instead of each starting a thread per core. */
    char threads[32];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(threads, sizeof threads, "%ld", cores / d.local_size > 1 ? cores / d.local_size : 1);
    if (d.local_size > 1)
        setenv("POCL_MAX_PTHREAD_COUNT", threads, 0);

    /* "--device P:local": device P:<rank on this machine>, one device per rank. */
    char device[64];
    const char *local = o.device ? strstr(o.device, ":local") : NULL;
    if (local && local[6] == '\0') {
        snprintf(device, sizeof device, "%.*s:%d", (int)(local - o.device), o.device, d.local_rank);
        o.device = device;
    }

    trainer t = {.batch = (size_t)o.batch, .d = d};
    record *rows = calloc((size_t)o.epochs + 1, sizeof *rows);
    size_t start = 0;
    status = rows ? 0 : 1;
    for (int i = 0; i < 4 && status == 0; i++)
        status = load_idx(o.data, files[i], &t.idx[i]) ? 0 : 1;
    if (status == 0)
        status = setup(&t, &o);
    if (status == 0 && o.diagnostics && d.rank == 0) { /* of rank 0's slices */
        t.diag_on = diag_init(&t.diag, t.ctx, t.net, o.dead_threshold) == 0;
        status = t.diag_on ? 0 : 1;
    }
    if (status == 0 && !(resume(&t, &o) && set_optimizer(&t, &o) &&
                         share_net(&t, &o, rows, &start) && train(&t, &o, rows, start)))
        status = 1;
    if (status != 0 && d.size > 1)
        dist_abort(status); /* every rank stops, none waits for this one */

    relucl_tensor *tensors[] = {&t.train.images, &t.train.labels, &t.test.images, &t.test.labels,
                                &t.order,        &t.identity,     &t.x,           &t.y};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        relucl_tensor_release(tensors[i]);
    for (int i = 0; i < 4; i++)
        relucl_idx_free(&t.idx[i]);
    if (t.diag_on)
        diag_free(&t.diag);
    relucl_net_destroy(t.net);
    relucl_context_destroy(t.ctx);
    free(t.perm);
    free(t.order_host);
    free(rows);
    if (d.size > 1)
        parallel_free(&t.par);
    dist_finish();
    return status;
}
