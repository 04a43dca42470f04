/*
 * relucl-bench conv: forward, backward-data and backward-filter time of 3x3 convolutions
 * (stride 1, pad 1) with the direct (naive) kernels and with im2col + CLBlast, and the GEMM
 * path's speed-up. The GEMM path gets best of 3 calibrated batches. The naive path can take
 * many seconds per call on a CPU: a call estimated (from the previous shape's rate) to take
 * longer than --max-call-s is skipped, and one that takes 1 s or more is timed once.
 */
#include "bench.h"

#include <string.h>

#define DEFAULT_MAX_CALL_S 30.0
#define SLOW_S 1.0 /* a call at least this long is timed once */
#define NOPS 3
#define NALGOS 2

typedef struct conv_shape {
    size_t n, c, k, h, w;
    double cudnn_fwd_ms; /* PyTorch (cuDNN) forward on an H100, from the issue */
} conv_shape;

static const conv_shape shapes[] = {
    {64, 1, 32, 28, 28, 0.028},
    {64, 32, 64, 14, 14, 0.045},
    {64, 64, 64, 56, 56, 0.388},
    {32, 128, 128, 28, 28, 0.158},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])
#define QUICK_SHAPES 2

static const char *const op_names[NOPS] = {"forward", "bwd-data", "bwd-filter"};
static const char *const algo_names[NALGOS] = {"naive", "gemm"};
static const relucl_conv_algo algos[NALGOS] = {RELUCL_CONV_NAIVE, RELUCL_CONV_GEMM};

typedef struct conv_cell {
    int skipped;
    double est_s;
    bench_timing t;
} conv_cell;

typedef struct conv_work {
    relucl_context *ctx;
    relucl_conv2d geom;
    relucl_tensor x, w, b, y, dy, dx, dw, db;
    relucl_conv_algo algo;
    int op;
} conv_work;

static const char usage[] =
    "usage: relucl-bench conv [options]\n"
    "  --device SPEC     gpu, cpu, accelerator, P:D or part of a name (as relucl-info)\n"
    "  --quick           the two small shapes only\n"
    "  --max-call-s S    skip a call estimated to take longer (default 30)\n"
    "  --json FILE       also write the figures to FILE as JSON\n";

/* The same count of multiply-adds for all three: N K C P Q R S (P = H, Q = W here). */
static double flops(const conv_shape *s)
{
    return 2.0 * (double)s->n * (double)s->k * (double)s->c * (double)s->h * (double)s->w * 9.0;
}

static int enqueue_conv(void *arg)
{
    conv_work *cw = arg;
    relucl_activation none = {RELUCL_IDENTITY, 0.0f};
    relucl_status s;
    if (cw->op == 0)
        s = relucl_conv2d_forward(cw->ctx, &cw->geom, cw->algo, none, &cw->x, &cw->w, &cw->b,
                                  &cw->y);
    else if (cw->op == 1)
        s = relucl_conv2d_backward_data(cw->ctx, &cw->geom, cw->algo, &cw->dy, &cw->w, &cw->dx);
    else
        s = relucl_conv2d_backward_filter(cw->ctx, &cw->geom, cw->algo, &cw->x, &cw->dy, &cw->dw,
                                          &cw->db, 0);
    return bench_check(cw->ctx, s, op_names[cw->op]);
}

static void release(conv_work *cw)
{
    relucl_tensor *const all[] = {&cw->x, &cw->w, &cw->b, &cw->y, &cw->dy, &cw->dx, &cw->dw,
                                  &cw->db};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        relucl_tensor_release(all[i]);
}

static int setup(conv_work *cw, const conv_shape *s, unsigned long long *rng)
{
    size_t dx[4] = {s->n, s->c, s->h, s->w}, dw[4] = {s->k, s->c, 3, 3};
    size_t dy[4] = {s->n, s->k, s->h, s->w}, db = s->k;
    relucl_context *ctx = cw->ctx;
    cw->geom = (relucl_conv2d){{1, 1}, {1, 1}, {1, 1}, 1};
    int rc = bench_check(ctx, relucl_tensor_create(ctx, 4, dx, &cw->x), "tensor_create") ||
             bench_check(ctx, relucl_tensor_create(ctx, 4, dx, &cw->dx), "tensor_create") ||
             bench_check(ctx, relucl_tensor_create(ctx, 4, dw, &cw->w), "tensor_create") ||
             bench_check(ctx, relucl_tensor_create(ctx, 4, dw, &cw->dw), "tensor_create") ||
             bench_check(ctx, relucl_tensor_create(ctx, 1, &db, &cw->b), "tensor_create") ||
             bench_check(ctx, relucl_tensor_create(ctx, 1, &db, &cw->db), "tensor_create") ||
             bench_check(ctx, relucl_tensor_create(ctx, 4, dy, &cw->y), "tensor_create") ||
             bench_check(ctx, relucl_tensor_create(ctx, 4, dy, &cw->dy), "tensor_create") ||
             bench_fill_uniform(ctx, &cw->x, -1.0f, 1.0f, rng) ||
             bench_fill_uniform(ctx, &cw->w, -0.1f, 0.1f, rng) ||
             bench_fill_uniform(ctx, &cw->b, -0.1f, 0.1f, rng) ||
             bench_fill_uniform(ctx, &cw->dy, -1.0f, 1.0f, rng);
    if (rc)
        release(cw);
    return rc;
}

/* Every op with both algorithms on one shape; rate[a][o] carries the last FLOP/s measured,
 * the basis of the next shape's estimate. */
static int run_shape(conv_work *cw, bench_env *env, const conv_shape *s, double max_call_s,
                     double rate[NALGOS][NOPS], conv_cell cells[NALGOS][NOPS])
{
    for (int a = 0; a < NALGOS; a++) {
        for (int op = 0; op < NOPS; op++) {
            conv_cell *cell = &cells[a][op];
            cell->est_s = rate[a][op] > 0.0 ? flops(s) / rate[a][op] : 0.0;
            if (cell->est_s > max_call_s) {
                cell->skipped = 1;
                continue;
            }
            cw->algo = algos[a];
            cw->op = op;
            int rc = algos[a] == RELUCL_CONV_NAIVE
                         ? bench_measure_capped(&env->timer, enqueue_conv, cw, SLOW_S, &cell->t)
                         : bench_measure(&env->timer, enqueue_conv, cw, &cell->t);
            if (rc)
                return -1;
            rate[a][op] = flops(s) / cell->t.per_call_s;
        }
    }
    return 0;
}

static void print_shape(const conv_shape *s, size_t ws, conv_cell cells[NALGOS][NOPS])
{
    printf("N%zu C%zu->%zu %zux%zu 3x3 pad 1 (%.3f GFLOP per op; GEMM workspace %.1f MiB "
           "before the cap; cuDNN H100 forward %.3f ms)\n",
           s->n, s->c, s->k, s->h, s->w, flops(s) * 1e-9, (double)ws / 1048576.0,
           s->cudnn_fwd_ms);
    for (int op = 0; op < NOPS; op++) {
        printf("  %-10s", op_names[op]);
        for (int a = 0; a < NALGOS; a++) {
            const conv_cell *c = &cells[a][op];
            if (c->skipped)
                printf("  %-5s skipped (about %.0f s estimated)       ", algo_names[a], c->est_s);
            else
                printf("  %-5s %10.3f ms %8.2f GFLOP/s%s", algo_names[a], c->t.per_call_s * 1e3,
                       flops(s) / c->t.per_call_s * 1e-9, c->t.single ? " (1 call)" : "         ");
        }
        const conv_cell *n = &cells[0][op], *g = &cells[1][op];
        if (!n->skipped && !g->skipped)
            printf("  gemm/naive speed-up %.1fx", n->t.per_call_s / g->t.per_call_s);
        putchar('\n');
    }
    fflush(stdout);
}

typedef struct conv_json {
    const bench_env *env;
    conv_cell (*cells)[NALGOS][NOPS];
    size_t nshapes;
} conv_json;

static int write_json(FILE *f, const void *arg)
{
    const conv_json *j = arg;
    bench_json_header(f, j->env, "conv");
    fputs("  \"results\": [\n", f);
    int first = 1;
    for (size_t i = 0; i < j->nshapes; i++) {
        const conv_shape *s = &shapes[i];
        for (int a = 0; a < NALGOS; a++)
            for (int op = 0; op < NOPS; op++) {
                const conv_cell *c = &j->cells[i][a][op];
                if (c->skipped)
                    continue;
                fprintf(f,
                        "%s    {\"n\": %zu, \"c\": %zu, \"k\": %zu, \"h\": %zu, \"w\": %zu, "
                        "\"op\": \"%s\", \"algo\": \"%s\", \"reps\": %u, \"single\": %d, "
                        "\"ms\": %.4f, \"gflops\": %.3f}",
                        first ? "" : ",\n", s->n, s->c, s->k, s->h, s->w, op_names[op],
                        algo_names[a], c->t.reps, c->t.single, c->t.per_call_s * 1e3,
                        flops(s) / c->t.per_call_s * 1e-9);
                first = 0;
            }
    }
    fputs("\n  ]\n}\n", f);
    return 0;
}

int bench_conv_main(int argc, char **argv)
{
    bench_options o = {.max_call_s = DEFAULT_MAX_CALL_S};
    int parsed = bench_parse_options(argc, argv, 2, usage, &o);
    if (parsed)
        return parsed > 0 ? 0 : 1;
    bench_env env;
    if (bench_env_open(&env, o.device, argc, argv))
        return 1;
    bench_env_print(&env, stdout);
    printf("identity activation, bias in forward and backward-filter; gemm: best of 3 batches "
           "of >= 20 ms; naive: the same, or one call when it takes >= %.0f s; OpenCL "
           "markers\n\n",
           SLOW_S);

    conv_work cw = {.ctx = env.ctx};
    conv_cell cells[NSHAPES][NALGOS][NOPS];
    double rate[NALGOS][NOPS];
    memset(cells, 0, sizeof cells);
    memset(rate, 0, sizeof rate);
    size_t nshapes = o.quick ? QUICK_SHAPES : NSHAPES;
    unsigned long long rng = 0xda3e39cb94b95bdbu;
    int failed = 0;
    for (size_t i = 0; !failed && i < nshapes; i++) {
        size_t ws = 0;
        failed = setup(&cw, &shapes[i], &rng);
        if (failed)
            break;
        failed = bench_check(env.ctx,
                             relucl_conv2d_workspace_size(env.ctx, &cw.geom, &cw.x, &cw.w, &ws),
                             "relucl_conv2d_workspace_size") ||
                 run_shape(&cw, &env, &shapes[i], o.max_call_s, rate, cells[i]);
        release(&cw);
        if (!failed)
            print_shape(&shapes[i], ws, cells[i]);
    }
    conv_json j = {&env, cells, nshapes};
    if (!failed && o.json && bench_json_write(o.json, write_json, &j))
        failed = 1;
    bench_env_close(&env);
    return failed ? 1 : 0;
}
