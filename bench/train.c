/*
 * relucl-bench train: the time of one relucl_net_train_step on a resident batch, for the MLP
 * and the CNN presets, with the epoch it projects to, and one real epoch of the MLP over
 * 60000 device-resident samples, batches gathered by relucl_gather_rows in shuffled order.
 * The data are random (uniform pixels, random labels): only the time is of interest.
 */
#include "bench.h"

#include "tool.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 128
#define SAMPLES 60000
#define STEPS_PER_EPOCH ((SAMPLES + BATCH - 1) / BATCH) /* 469, the last one of 96 rows */
#define INPUTS 784
#define CLASSES 10

static const char usage[] =
    "usage: relucl-bench train [options]\n"
    "  --device SPEC     gpu, cpu, accelerator, P:D or part of a name (as relucl-info)\n"
    "  --quick           per-step figures only: no real epoch\n"
    "  --json FILE       also write the figures to FILE as JSON\n";

typedef struct train_work {
    relucl_context *ctx;
    relucl_net *net;
    relucl_tensor x, labels;             /* the resident batch */
    relucl_tensor data, data_labels, idx; /* the epoch's samples and shuffled order */
} train_work;

#define PROFILE_STEPS 8
#define PROFILE_MAX 80

typedef struct train_result {
    const char *spec;
    bench_timing step;
    relucl_profile_entry profile[PROFILE_MAX]; /* PROFILE_STEPS steps, the longest first */
    size_t profile_count;
    bench_timing diagnostics; /* relucl-train --diagnostics' device work per step */
    double epoch_device_s, epoch_wall_s; /* 0: not run */
} train_result;

static int enqueue_step(void *arg)
{
    train_work *w = arg;
    return bench_check(w->ctx, relucl_net_train_step(w->net, &w->x, &w->labels),
                       "relucl_net_train_step");
}

static int write_labels(relucl_context *ctx, const relucl_tensor *t, unsigned long long *state)
{
    size_t n = relucl_tensor_count(t);
    float *h = malloc(n * sizeof *h);
    if (!h)
        return -1;
    unsigned long long s = *state;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        h[i] = (float)((s >> 33) % CLASSES);
    }
    *state = s;
    int rc = bench_check(ctx, relucl_tensor_write(ctx, t, h), "relucl_tensor_write");
    free(h);
    return rc;
}

static int make_net(train_work *w, const char *spec)
{
    relucl_optimizer opt;
    memset(&opt, 0, sizeof opt);
    opt.kind = RELUCL_OPTIMIZER_SGD;
    opt.sgd.lr = 0.01f;
    opt.sgd.momentum = 0.9f;
    return bench_check(w->ctx, relucl_net_create(w->ctx, spec, BATCH, 42, &w->net),
                       "relucl_net_create") ||
           bench_check(w->ctx, relucl_net_set_optimizer(w->net, &opt),
                       "relucl_net_set_optimizer");
}

/* What relucl-train --diagnostics adds to each step: the dead-unit update of every rectified
 * layer, and every 32nd step (when relucl-train syncs anyway) the sparsity statistics. */
typedef struct diag_work {
    train_work *w;
    relucl_tensor alive[8];
    int layers;
    unsigned calls;
} diag_work;

static int enqueue_diagnostics(void *arg)
{
    diag_work *d = arg;
    int sample = d->calls++ % 32 == 0;
    for (int i = 0; i < d->layers; i++) {
        relucl_net_layer_info info;
        relucl_stats s;
        if (!d->alive[i].buffer)
            continue;
        if (bench_check(d->w->ctx, relucl_net_layer(d->w->net, i, &info), "relucl_net_layer") ||
            bench_check(d->w->ctx, relucl_dead_units_update(d->w->ctx, &info.y, &d->alive[i]),
                        "relucl_dead_units_update") ||
            (sample && bench_check(d->w->ctx, relucl_tensor_stats(d->w->ctx, &info.y, &s),
                                   "relucl_tensor_stats")))
            return 1;
    }
    return 0;
}

static int time_diagnostics(train_work *w, bench_env *env, train_result *r)
{
    diag_work d = {.w = w};
    d.layers = relucl_net_layer_count(w->net);
    if (d.layers > 8)
        d.layers = 8;
    int rc = 0;
    for (int i = 0; i < d.layers && !rc; i++) {
        relucl_net_layer_info info;
        rc = bench_check(w->ctx, relucl_net_layer(w->net, i, &info), "relucl_net_layer");
        if (rc || info.act.kind == RELUCL_IDENTITY)
            continue;
        size_t units = info.y.dims[1];
        rc = bench_check(w->ctx, relucl_tensor_create(w->ctx, 1, &units, &d.alive[i]), "alive") ||
             bench_check(w->ctx, relucl_tensor_fill(w->ctx, &d.alive[i], 0.0f), "alive");
    }
    if (!rc)
        rc = bench_measure(&env->timer, enqueue_diagnostics, &d, &r->diagnostics);
    for (int i = 0; i < d.layers; i++)
        relucl_tensor_release(&d.alive[i]);
    return rc;
}

/* Where a step's device time goes: PROFILE_STEPS steps under relucl's per-kernel profile. */
static int profile_steps(train_work *w, train_result *r)
{
    int rc = bench_check(w->ctx, relucl_context_finish(w->ctx), "relucl_context_finish") ||
             bench_check(w->ctx, relucl_context_profile_start(w->ctx),
                         "relucl_context_profile_start");
    for (int i = 0; !rc && i < PROFILE_STEPS; i++)
        rc = enqueue_step(w);
    size_t count = 0;
    rc = bench_check(w->ctx, relucl_context_profile_stop(w->ctx, r->profile, PROFILE_MAX, &count),
                     "relucl_context_profile_stop") ||
         rc;
    r->profile_count = count < PROFILE_MAX ? count : PROFILE_MAX;
    return rc;
}

/* One step's time (best of 3 calibrated batches) for spec, and its profile. */
static int time_step(train_work *w, bench_env *env, train_result *r)
{
    int rc = make_net(w, r->spec) || bench_measure(&env->timer, enqueue_step, w, &r->step) ||
             profile_steps(w, r) || time_diagnostics(w, env, r);
    double loss = 0.0, acc = 0.0;
    if (!rc)
        rc = bench_check(w->ctx, relucl_net_take_metrics(w->net, &loss, &acc),
                         "relucl_net_take_metrics");
    relucl_net_destroy(w->net);
    w->net = NULL;
    return rc;
}

/* The batch of rows starting at `first` of the shuffled order, then a step on it. */
static int gather_and_step(train_work *w, size_t first)
{
    size_t rows = SAMPLES - first < BATCH ? SAMPLES - first : BATCH;
    size_t dx[2] = {rows, INPUTS};
    relucl_tensor x, l;
    relucl_tensor_wrap(w->x.buffer, 0, 2, dx, &x);
    relucl_tensor_wrap(w->labels.buffer, 0, 1, &rows, &l);
    return bench_check(w->ctx,
                       relucl_gather_rows(w->ctx, &w->data, &w->idx, first, &x, &w->data_labels,
                                          &l),
                       "relucl_gather_rows") ||
           bench_check(w->ctx, relucl_net_train_step(w->net, &x, &l), "relucl_net_train_step");
}

static int enqueue_epoch(void *arg)
{
    train_work *w = arg;
    for (size_t first = 0; first < SAMPLES; first += BATCH)
        if (gather_and_step(w, first))
            return -1;
    return 0;
}

/* One real MLP epoch: device time between markers and host wall time to the last result. */
static int time_epoch(train_work *w, bench_env *env, train_result *r, unsigned long long *rng)
{
    size_t dd[2] = {SAMPLES, INPUTS}, n = SAMPLES;
    size_t *perm = malloc(SAMPLES * sizeof *perm);
    float *fidx = malloc(SAMPLES * sizeof *fidx);
    int rc = !perm || !fidx || relucl_shuffle(7, 0, SAMPLES, perm) != RELUCL_OK;
    for (size_t i = 0; !rc && i < SAMPLES; i++)
        fidx[i] = (float)perm[i];
    rc = rc ||
         bench_check(w->ctx, relucl_tensor_create(w->ctx, 2, dd, &w->data), "tensor_create") ||
         bench_check(w->ctx, relucl_tensor_create(w->ctx, 1, &n, &w->data_labels),
                     "tensor_create") ||
         bench_check(w->ctx, relucl_tensor_create(w->ctx, 1, &n, &w->idx), "tensor_create") ||
         bench_fill_uniform(w->ctx, &w->data, 0.0f, 1.0f, rng) ||
         write_labels(w->ctx, &w->data_labels, rng) ||
         bench_check(w->ctx, relucl_tensor_write(w->ctx, &w->idx, fidx), "relucl_tensor_write");
    free(perm);
    free(fidx);
    rc = rc || make_net(w, "mlp") || gather_and_step(w, 0) || /* build every kernel first */
         gather_and_step(w, SAMPLES - SAMPLES % BATCH) ||
         bench_check(w->ctx, relucl_context_finish(w->ctx), "relucl_context_finish");
    if (!rc) {
        bench_timing t;
        double t0 = tool_seconds();
        /* slow_s 0: exactly one epoch, timed by markers; then the wall time to its end. */
        rc = bench_measure_capped(&env->timer, enqueue_epoch, w, 0.0, &t) ||
             bench_check(w->ctx, relucl_context_finish(w->ctx), "relucl_context_finish");
        r->epoch_wall_s = tool_seconds() - t0;
        r->epoch_device_s = t.per_call_s;
    }
    double loss = 0.0, acc = 0.0;
    if (!rc)
        rc = bench_check(w->ctx, relucl_net_take_metrics(w->net, &loss, &acc),
                         "relucl_net_take_metrics");
    relucl_net_destroy(w->net);
    w->net = NULL;
    relucl_tensor_release(&w->data);
    relucl_tensor_release(&w->data_labels);
    relucl_tensor_release(&w->idx);
    return rc;
}

static void print_result(const train_result *r)
{
    double s = r->step.per_call_s;
    printf("%-5s step %9.3f ms  %8.1f steps/s  %9.0f samples/s  projected epoch (%d steps) "
           "%7.3f s\n",
           r->spec, s * 1e3, 1.0 / s, BATCH / s, STEPS_PER_EPOCH, s * STEPS_PER_EPOCH);
    printf("%-5s diagnostics per step %9.3f ms  = %.2f%% of a step\n", r->spec,
           r->diagnostics.per_call_s * 1e3, 100.0 * r->diagnostics.per_call_s / s);
    double kernels = 0.0;
    for (size_t i = 0; i < r->profile_count; i++)
        kernels += r->profile[i].seconds / PROFILE_STEPS;
    printf("%-5s profile of %d steps: kernels %.3f ms per step (%.0f%% of the step; the rest is "
           "launch gaps and copies)\n",
           r->spec, PROFILE_STEPS, kernels * 1e3, 100.0 * kernels / s);
    for (size_t i = 0; i < r->profile_count; i++) {
        const relucl_profile_entry *e = &r->profile[i];
        printf("%-5s   %-32s %6.1f calls/step %9.3f ms/step %5.1f%%\n", r->spec, e->name,
               (double)e->calls / PROFILE_STEPS, e->seconds / PROFILE_STEPS * 1e3,
               100.0 * e->seconds / PROFILE_STEPS / s);
    }
    if (r->epoch_device_s > 0.0)
        printf("%-5s real epoch (%d samples, gather + step): %.3f s device (markers), %.3f s "
               "wall; %.1f steps/s, %.0f samples/s\n",
               r->spec, SAMPLES, r->epoch_device_s, r->epoch_wall_s,
               STEPS_PER_EPOCH / r->epoch_wall_s, SAMPLES / r->epoch_wall_s);
    fflush(stdout);
}

typedef struct train_json {
    const bench_env *env;
    const train_result *r;
    size_t n;
} train_json;

static int write_json(FILE *f, const void *arg)
{
    const train_json *j = arg;
    bench_json_header(f, j->env, "train");
    fprintf(f, "  \"batch\": %d,\n  \"optimizer\": \"sgd lr 0.01 momentum 0.9\",\n"
               "  \"results\": [\n", BATCH);
    for (size_t i = 0; i < j->n; i++) {
        const train_result *r = &j->r[i];
        fputs("    {\"spec\": ", f);
        bench_json_string(f, r->spec);
        fprintf(f,
                ", \"step_ms\": %.4f, \"step_reps\": %u, \"samples_per_s\": %.1f, "
                "\"projected_epoch_s\": %.4f, \"epoch_device_s\": %.4f, \"epoch_wall_s\": "
                "%.4f, \"diagnostics_ms_per_step\": %.4f, \"profile\": [",
                r->step.per_call_s * 1e3, r->step.reps, BATCH / r->step.per_call_s,
                r->step.per_call_s * STEPS_PER_EPOCH, r->epoch_device_s, r->epoch_wall_s,
                r->diagnostics.per_call_s * 1e3);
        for (size_t k = 0; k < r->profile_count; k++) {
            fputs(k ? ", {\"kernel\": " : "{\"kernel\": ", f);
            bench_json_string(f, r->profile[k].name);
            fprintf(f, ", \"calls_per_step\": %.2f, \"ms_per_step\": %.4f}",
                    (double)r->profile[k].calls / PROFILE_STEPS,
                    r->profile[k].seconds / PROFILE_STEPS * 1e3);
        }
        fprintf(f, "]}%s\n", i + 1 == j->n ? "" : ",");
    }
    fputs("  ]\n}\n", f);
    return 0;
}

int bench_train_main(int argc, char **argv)
{
    bench_options o = {.max_call_s = 0.0};
    int parsed = bench_parse_options(argc, argv, 2, usage, &o);
    if (parsed)
        return parsed > 0 ? 0 : 1;
    bench_env env;
    if (bench_env_open(&env, o.device, argc, argv))
        return 1;
    bench_env_print(&env, stdout);
    printf("batch %d (resident, random), SGD lr 0.01 momentum 0.9; step: best of 3 batches of "
           ">= 20 ms, OpenCL markers\n",
           BATCH);

    train_work w = {.ctx = env.ctx};
    train_result r[2] = {{.spec = "mlp"}, {.spec = "cnn"}};
    size_t dx[2] = {BATCH, INPUTS}, dl = BATCH;
    unsigned long long rng = 0x853c49e6748fea9bu;
    int failed =
        bench_check(env.ctx, relucl_tensor_create(env.ctx, 2, dx, &w.x), "tensor_create") ||
        bench_check(env.ctx, relucl_tensor_create(env.ctx, 1, &dl, &w.labels), "tensor_create") ||
        bench_fill_uniform(env.ctx, &w.x, 0.0f, 1.0f, &rng) ||
        write_labels(env.ctx, &w.labels, &rng);
    for (size_t i = 0; !failed && i < 2; i++) {
        failed = time_step(&w, &env, &r[i]);
        if (!failed && i == 0 && !o.quick)
            failed = time_epoch(&w, &env, &r[i], &rng);
        if (!failed)
            print_result(&r[i]);
    }
    printf("reference (MLP 784-256-128-10, batch 128, PyTorch eager): 0.66 s per epoch on this "
           "2-core CPU; 0.59-0.93 s per epoch on an H100\n");
    train_json j = {&env, r, 2};
    if (!failed && o.json && bench_json_write(o.json, write_json, &j))
        failed = 1;
    relucl_tensor_release(&w.x);
    relucl_tensor_release(&w.labels);
    bench_env_close(&env);
    return failed ? 1 : 0;
}
