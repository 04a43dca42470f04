/*
 * relucl-bench gemm: GFLOP/s of relucl_gemm next to a direct CLBlastSgemm with the same
 * arguments on the same queue.
 *
 * relucl hands CLBlast tuned parameters (CLBlastOverrideParameters) before a context's first
 * GEMM, and CLBlast keeps parameters per device for the whole process, so a direct call made
 * after that runs relucl's parameters too. Hence three passes, in this order:
 *   1. "clblast-default": direct CLBlastSgemm on every shape before relucl has made any GEMM,
 *      with CLBlast's own parameters for the device;
 *   2. "relucl": relucl_gemm (its first call applies the tuning), and right after it, shape by
 *      shape,
 *   3. "clblast-same": direct CLBlastSgemm again, now with the parameters relucl applied.
 * relucl / clblast-same is relucl's own overhead (validation, argument plumbing) on identical
 * kernels; relucl / clblast-default is that plus the effect of relucl's tuning.
 */
#include "bench.h"

#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_CALL_S 5.0

typedef struct gemm_shape {
    const char *name;
    size_t m, n, k;
    int ta, tb; /* transposes of a and b */
} gemm_shape;

/* The MLP 784-256-128-10 at batch 128: x (128, in), W (in, out), z = x W (row-major).
 * dW = x^T dz reads x transposed; dx = dz W^T reads W transposed. fc1's dx is never computed
 * in training (its input is the data) but is listed for completeness.
 * The CNN preset's convolution GEMMs at batch 128 (host/ops/conv_gemm.c): conv1 (1 -> 32
 * channels, 28x28, 3x3) in one chunk of 128 images, N = 128 * 784; conv2 (32 -> 64, 14x14)
 * in chunks of 121 images under the GPUs' 32 MiB chunk target, N = 121 * 196; the filter
 * gradient sums along the chunk's positions (NT), the data gradient reads the filters
 * transposed. CPU devices (relucl's own GEMM) take chunks of 4 MiB and batch the forward and
 * data GEMMs image by image, so there these shapes are the case where an operand streams
 * from memory; they run conv2's filter gradient transposed, per panel of 9 images:
 * dw^T = col (288, 9 * 196) x dy^T (9 * 196, 64), listed as well, and the "4MiB" rows are
 * the forward and data GEMMs of one of their chunks taken whole (32 images of conv1, 15 of
 * conv2). */
/* clang-format off */
static const gemm_shape shapes[] = {
    {"square 128", 128, 128, 128, 0, 0},
    {"square 256", 256, 256, 256, 0, 0},
    {"square 512", 512, 512, 512, 0, 0},
    {"square 1024", 1024, 1024, 1024, 0, 0},
    {"square 2048", 2048, 2048, 2048, 0, 0},
    {"square 4096", 4096, 4096, 4096, 0, 0},
    {"fc1 fwd z=xW", 128, 256, 784, 0, 0},
    {"fc2 fwd z=xW", 128, 128, 256, 0, 0},
    {"fc3 fwd z=xW", 128, 10, 128, 0, 0},
    {"fc1 dW=x^T dz", 784, 256, 128, 1, 0},
    {"fc2 dW=x^T dz", 256, 128, 128, 1, 0},
    {"fc3 dW=x^T dz", 128, 10, 128, 1, 0},
    {"fc1 dx=dz W^T", 128, 784, 256, 0, 1},
    {"fc2 dx=dz W^T", 128, 256, 128, 0, 1},
    {"fc3 dx=dz W^T", 128, 128, 10, 0, 1},
    {"conv1 fwd", 32, 100352, 9, 0, 0},
    {"conv1 dW", 32, 9, 100352, 0, 1},
    {"conv2 fwd", 64, 23716, 288, 0, 0},
    {"conv2 dx", 288, 23716, 64, 1, 0},
    {"conv2 dW", 64, 288, 23716, 0, 1},
    {"conv2 dW^T panel", 288, 64, 1764, 0, 0},
    {"conv1 fwd 4MiB", 32, 25088, 9, 0, 0},
    {"conv2 fwd 4MiB", 64, 2940, 288, 0, 0},
    {"conv2 dx 4MiB", 288, 2940, 64, 1, 0},
};
/* clang-format on */
#define NSHAPES (sizeof shapes / sizeof shapes[0])
#define QUICK_MAX 1024

typedef struct gemm_result {
    int skipped;
    double est_s;                    /* the estimate that skipped it */
    bench_timing first, relucl, same; /* clblast-default, relucl, clblast-same */
} gemm_result;

typedef struct gemm_work {
    relucl_context *ctx;
    cl_command_queue queue;
    const gemm_shape *s;
    relucl_tensor a, b, c;
    int direct;
} gemm_work;

static const char usage[] =
    "usage: relucl-bench gemm [options]\n"
    "  --device SPEC     gpu, cpu, accelerator, P:D or part of a name (as relucl-info)\n"
    "  --quick           square sizes up to 1024 only\n"
    "  --only TEXT       only the shapes whose names contain TEXT (e.g. conv2, dx)\n"
    "  --max-call-s S    skip a size whose call is estimated to take longer (default 5)\n"
    "  --json FILE       also write the figures to FILE as JSON\n";

static double flops(const gemm_shape *s)
{
    return 2.0 * (double)s->m * (double)s->n * (double)s->k;
}

static double gflops(const gemm_shape *s, const bench_timing *t)
{
    return t->per_call_s > 0.0 ? flops(s) / t->per_call_s * 1e-9 : 0.0;
}

static int enqueue_gemm(void *arg)
{
    gemm_work *w = arg;
    const gemm_shape *s = w->s;
    if (!w->direct) {
        relucl_status st = relucl_gemm(w->ctx, s->ta ? RELUCL_TRANS : RELUCL_NO_TRANS,
                                       s->tb ? RELUCL_TRANS : RELUCL_NO_TRANS, 1.0f, &w->a, &w->b,
                                       0.0f, &w->c);
        return bench_check(w->ctx, st, "relucl_gemm");
    }
    /* Exactly what relucl passes: row-major, leading dimensions = stored row lengths. */
    CLBlastStatusCode code = CLBlastSgemm(
        CLBlastLayoutRowMajor, s->ta ? CLBlastTransposeYes : CLBlastTransposeNo,
        s->tb ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n, s->k, 1.0f, w->a.buffer,
        0, w->a.dims[1], w->b.buffer, 0, w->b.dims[1], 0.0f, w->c.buffer, 0, w->c.dims[1],
        &w->queue, NULL);
    if (code != CLBlastSuccess)
        fprintf(stderr, "relucl-bench: CLBlastSgemm failed: %d\n", (int)code);
    return code == CLBlastSuccess ? 0 : -1;
}

static void release(gemm_work *w)
{
    relucl_tensor_release(&w->a);
    relucl_tensor_release(&w->b);
    relucl_tensor_release(&w->c);
}

/* a is (m, k) or (k, m) as stored, b (k, n) or (n, k), c (m, n); a and b random. */
static int setup(gemm_work *w, const gemm_shape *s, unsigned long long *rng)
{
    size_t da[2] = {s->ta ? s->k : s->m, s->ta ? s->m : s->k};
    size_t db[2] = {s->tb ? s->n : s->k, s->tb ? s->k : s->n};
    size_t dc[2] = {s->m, s->n};
    w->s = s;
    if (bench_check(w->ctx, relucl_tensor_create(w->ctx, 2, da, &w->a), "relucl_tensor_create") ||
        bench_check(w->ctx, relucl_tensor_create(w->ctx, 2, db, &w->b), "relucl_tensor_create") ||
        bench_check(w->ctx, relucl_tensor_create(w->ctx, 2, dc, &w->c), "relucl_tensor_create") ||
        bench_fill_uniform(w->ctx, &w->a, -1.0f, 1.0f, rng) ||
        bench_fill_uniform(w->ctx, &w->b, -1.0f, 1.0f, rng)) {
        release(w);
        return -1;
    }
    return 0;
}

static int measure(gemm_work *w, bench_timer *t, int direct, bench_timing *out)
{
    w->direct = direct;
    return bench_measure(t, enqueue_gemm, w, out);
}

/* Pass 1: direct CLBlast with its own parameters; decides which sizes are too slow. */
static int pass_default(gemm_work *w, bench_env *env, const bench_options *o, gemm_result *r)
{
    unsigned long long rng = 0x2545f4914f6cdd1du;
    double best_rate = 0.0; /* FLOP/s, the fastest square so far: the estimate's basis */
    for (size_t i = 0; i < NSHAPES; i++) {
        const gemm_shape *s = &shapes[i];
        if ((o->quick && s->m > QUICK_MAX) || (o->only && !strstr(s->name, o->only))) {
            r[i].skipped = 1;
            continue;
        }
        r[i].est_s = best_rate > 0.0 ? flops(s) / best_rate : 0.0;
        if (r[i].est_s > o->max_call_s) {
            r[i].skipped = 1;
            continue;
        }
        if (setup(w, s, &rng))
            return -1;
        int rc = measure(w, &env->timer, 1, &r[i].first);
        release(w);
        if (rc)
            return -1;
        double rate = flops(s) / r[i].first.per_call_s;
        best_rate = rate > best_rate ? rate : best_rate;
        printf("  clblast-default  %-14s %9.2f GFLOP/s\n", s->name, gflops(s, &r[i].first));
        fflush(stdout);
    }
    return 0;
}

static void keep_faster(bench_timing *best, const bench_timing *t)
{
    if (t->per_call_s < best->per_call_s)
        *best = *t;
}

/* Passes 2 and 3, shape by shape, so both see the same load: relucl, CLBlast, and where a
 * call is short (under 0.5 s), CLBlast and relucl once more, keeping each one's faster. */
static int pass_relucl(gemm_work *w, bench_env *env, gemm_result *r)
{
    unsigned long long rng = 0x2545f4914f6cdd1du;
    for (size_t i = 0; i < NSHAPES; i++) {
        bench_timing again;
        if (r[i].skipped)
            continue;
        if (setup(w, &shapes[i], &rng))
            return -1;
        int rc = measure(w, &env->timer, 0, &r[i].relucl) ||
                 measure(w, &env->timer, 1, &r[i].same);
        if (!rc && r[i].relucl.per_call_s < 0.5) {
            rc = measure(w, &env->timer, 1, &again);
            if (!rc)
                keep_faster(&r[i].same, &again);
            rc = rc || measure(w, &env->timer, 0, &again);
            if (!rc)
                keep_faster(&r[i].relucl, &again);
        }
        release(w);
        if (rc)
            return -1;
    }
    return 0;
}

static void print_table(const gemm_result *r)
{
    printf("\n%-14s %5s %5s %5s %3s %11s %11s %11s %11s %12s %10s\n", "shape", "m", "n", "k",
           "op", "relucl us", "clblast-def", "relucl", "clblast-same", "rel/same", "rel/def");
    printf("%-14s %5s %5s %5s %3s %11s %11s %11s %11s %12s %10s\n", "", "", "", "", "", "",
           "GFLOP/s", "GFLOP/s", "GFLOP/s", "", "");
    for (size_t i = 0; i < NSHAPES; i++) {
        const gemm_shape *s = &shapes[i];
        char op[3] = {s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', 0};
        if (r[i].skipped) {
            if (r[i].est_s > 0.0)
                printf("%-14s %5zu %5zu %5zu %3s skipped: about %.1f s per call estimated\n",
                       s->name, s->m, s->n, s->k, op, r[i].est_s);
            continue;
        }
        double rel = gflops(s, &r[i].relucl), def = gflops(s, &r[i].first);
        double same = gflops(s, &r[i].same);
        printf("%-14s %5zu %5zu %5zu %3s %11.1f %11.2f %11.2f %11.2f %12.3f %10.3f\n", s->name,
               s->m, s->n, s->k, op, r[i].relucl.per_call_s * 1e6, def, rel, same,
               same > 0.0 ? rel / same : 0.0, def > 0.0 ? rel / def : 0.0);
    }
}

typedef struct gemm_json {
    const bench_env *env;
    const gemm_result *r;
} gemm_json;

static int write_json(FILE *f, const void *arg)
{
    const gemm_json *j = arg;
    bench_json_header(f, j->env, "gemm");
    fputs("  \"results\": [\n", f);
    int first = 1;
    for (size_t i = 0; i < NSHAPES; i++) {
        const gemm_shape *s = &shapes[i];
        const gemm_result *r = &j->r[i];
        if (r->skipped)
            continue;
        fprintf(f, "%s    {\"shape\": ", first ? "" : ",\n");
        bench_json_string(f, s->name);
        fprintf(f,
                ", \"m\": %zu, \"n\": %zu, \"k\": %zu, \"trans_a\": %d, \"trans_b\": %d, "
                "\"relucl_us\": %.3f, \"relucl_gflops\": %.3f, \"clblast_default_us\": %.3f, "
                "\"clblast_default_gflops\": %.3f, \"clblast_same_us\": %.3f, "
                "\"clblast_same_gflops\": %.3f}",
                s->m, s->n, s->k, s->ta, s->tb, r->relucl.per_call_s * 1e6,
                gflops(s, &r->relucl), r->first.per_call_s * 1e6, gflops(s, &r->first),
                r->same.per_call_s * 1e6, gflops(s, &r->same));
        first = 0;
    }
    fputs("\n  ]\n}\n", f);
    return 0;
}

int bench_gemm_main(int argc, char **argv)
{
    bench_options o = {.max_call_s = DEFAULT_MAX_CALL_S};
    int parsed = bench_parse_options(argc, argv, 2, usage, &o);
    if (parsed)
        return parsed > 0 ? 0 : 1;
    bench_env env;
    if (bench_env_open(&env, o.device, argc, argv))
        return 1;
    bench_env_print(&env, stdout);
    char path[1024] = "?";
    const char *tuning = getenv("RELUCL_GEMM_TUNING");
    relucl_gemm_tuning_path(env.ctx, path, sizeof path);
    FILE *tf = fopen(path, "r");
    printf("relucl tuning: $RELUCL_GEMM_TUNING=%s; user file %s (%s); else relucl's built-in "
           "set for the device if any\n",
           tuning ? tuning : "(unset)", path, tf ? "present" : "absent");
    if (tf)
        fclose(tf);
    printf("alpha 1, beta 0, row-major; time per call: best of 3 batches of >= 20 ms, OpenCL "
           "markers\npass 1: direct CLBlastSgemm before any relucl GEMM (CLBlast's own "
           "parameters)\n");

    gemm_result r[NSHAPES];
    memset(r, 0, sizeof r);
    gemm_work w = {.ctx = env.ctx, .queue = env.queue};
    int failed = pass_default(&w, &env, &o, r);
    if (!failed) {
        printf("pass 2+3: relucl_gemm and direct CLBlastSgemm with the parameters relucl "
               "applied, shape by shape,\n  in the order relucl, CLBlast, CLBlast, relucl "
               "(the second round only below 0.5 s per call), faster of each kept\n");
        failed = pass_relucl(&w, &env, r);
    }
    if (!failed)
        print_table(r);
    printf("rel/same: relucl / direct CLBlast with the same parameters (relucl's overhead); "
           "rel/def: relucl / CLBlast's own parameters, measured first\n");
    gemm_json j = {&env, r};
    if (!failed && o.json && bench_json_write(o.json, write_json, &j))
        failed = 1;
    bench_env_close(&env);
    return failed ? 1 : 0;
}
