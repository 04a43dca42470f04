/*
 * relucl-bench: how close do relucl's activations come to the memory bandwidth of the device?
 *
 * Every activation, forward and backward, is timed at sizes 1K, 4K, ... 256M elements with
 * OpenCL event profiling, next to the device's own clEnqueueCopyBuffer of the same size. An
 * element-wise op moves as many bytes as a copy of its inputs and outputs, so the ratio of
 * the two bandwidths says how much of the device's memory speed the op reaches.
 *
 * The queue is the bench's own (relucl's queues don't profile) and reaches relucl through
 * relucl_context_create_from_queue, the embedding path.
 */
#include "bench.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_ELEMENTS ((size_t)1 << 10)
#define MAX_ELEMENTS ((size_t)1 << 28)   /* 256M */
#define QUICK_ELEMENTS ((size_t)1 << 22) /* 4M */
#define BUFFERS 3   /* x, dy, and one output (y, dx, or the copy's destination) */
#define CHANNELS 64 /* PReLU runs on shape (N, 64) with one slope per channel */
#define MAX_SIZES 16

typedef struct op_desc {
    const char *name;
    int prelu; /* PReLU has its own calls and a learnable slope */
    relucl_activation act;
} op_desc;

/* clang-format off */
static const op_desc ops[] = {
    {"relu", 0, {RELUCL_RELU, 0.0f}},
    {"leaky_relu", 0, {RELUCL_LEAKY_RELU, 0.01f}},
    {"elu", 0, {RELUCL_ELU, 1.0f}},
    {"clipped_relu", 0, {RELUCL_CLIPPED_RELU, 6.0f}},
    {"prelu", 1, {RELUCL_RELU, 0.0f}},
};
/* clang-format on */
#define NOPS (sizeof ops / sizeof ops[0])

typedef struct options {
    const char *device, *json;
    size_t max_elements;
    int selected[NOPS];
} options;

/* Everything one timed call needs, at one size. */
typedef struct workload {
    relucl_context *ctx;
    cl_command_queue queue;
    size_t n;
    relucl_tensor x, dy, out;    /* shape (n) */
    relucl_tensor x2, dy2, out2; /* the same buffers as (n / 64, 64), for PReLU */
    relucl_tensor slope, dslope; /* (64) */
    const op_desc *op;
    int backward;
    relucl_status status; /* of the call that failed, and its name */
    const char *failed;
} workload;

/* ---- Options ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: relucl-bench [options]           activation bandwidth (this mode)\n"
            "       relucl-bench gemm|train|conv|sync [options]   (see relucl-bench MODE --help)\n"
            "  --device SPEC       gpu, cpu, accelerator, P:D or part of a name (as relucl-info)\n"
            "  --op NAME[,NAME]    only these: relu, leaky_relu, elu, clipped_relu, prelu\n"
            "  --max-elements N    largest size (K, M, G suffixes: powers of 1024); the default,\n"
            "                      256M, is further capped by the device's memory\n"
            "  --quick             sizes up to 4M only (a CI smoke run)\n"
            "  --json FILE         also write the figures to FILE as JSON\n"
            "  --help\n");
}

/* "67108864", "64M", "4k": a positive element count. */
static int parse_count(const char *s, size_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (*end || v == 0 || v > (SIZE_MAX >> shift))
        return -1;
    *out = (size_t)v << shift;
    return 0;
}

static int select_ops(const char *list, int *selected)
{
    memset(selected, 0, NOPS * sizeof *selected);
    while (*list) {
        size_t len = strcspn(list, ",");
        size_t i = 0;
        while (i < NOPS && (strlen(ops[i].name) != len || strncmp(ops[i].name, list, len)))
            i++;
        if (i == NOPS) {
            fprintf(stderr, "relucl-bench: unknown op '%.*s'\n", (int)len, list);
            return -1;
        }
        selected[i] = 1;
        list += len + (list[len] == ',');
    }
    return 0;
}

/* 0: run; 1: exit 0 (help); -1: exit 1. */
static int parse_options(int argc, char **argv, options *o)
{
    const char *v;
    o->max_elements = MAX_ELEMENTS;
    for (size_t k = 0; k < NOPS; k++)
        o->selected[k] = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(argv[i], "--quick")) {
            o->max_elements = o->max_elements < QUICK_ELEMENTS ? o->max_elements : QUICK_ELEMENTS;
        } else if ((v = bench_option_value(argc, argv, &i, "--device"))) {
            o->device = v;
        } else if ((v = bench_option_value(argc, argv, &i, "--json"))) {
            o->json = v;
        } else if ((v = bench_option_value(argc, argv, &i, "--op"))) {
            if (select_ops(v, o->selected))
                return -1;
        } else if ((v = bench_option_value(argc, argv, &i, "--max-elements"))) {
            size_t n = 0;
            if (parse_count(v, &n) || n < MIN_ELEMENTS) {
                fprintf(stderr, "relucl-bench: --max-elements: '%s' is not a count >= %zu\n", v,
                        MIN_ELEMENTS);
                return -1;
            }
            o->max_elements = n < o->max_elements ? n : o->max_elements;
        } else {
            fprintf(stderr, "relucl-bench: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

/* ---- Device ------------------------------------------------------------------------------ */

static int check(relucl_context *ctx, relucl_status s, const char *what)
{
    if (s == RELUCL_ERROR_OUT_OF_MEMORY)
        return -2; /* the caller decides: a size too large is a cap, not a failure */
    if (s == RELUCL_OK)
        return 0;
    fflush(stdout); /* keep the report and the error in order */
    fprintf(stderr, "relucl-bench: %s: %s: %s\n", what, relucl_status_name(s),
            relucl_context_error(ctx));
    return -1;
}

/* The largest size to run: the option, then BUFFERS buffers within a quarter of the device's
 * memory, each within its largest allocation. */
static size_t size_cap(size_t max_elements, cl_ulong global_mem, cl_ulong max_alloc)
{
    cl_ulong by_total = global_mem / 4 / (BUFFERS * sizeof(float));
    cl_ulong by_alloc = max_alloc / sizeof(float);
    cl_ulong cap = by_total < by_alloc ? by_total : by_alloc;
    return cap < (cl_ulong)max_elements ? (size_t)cap : max_elements;
}

/* ---- Workload ---------------------------------------------------------------------------- */

/* Uniform in [-4, 4): half the inputs take each branch. xorshift64 keeps 256M values cheap. */
static void fill_random(float *h, size_t n, uint64_t *state)
{
    uint64_t s = *state;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        h[i] = (float)(int32_t)(uint32_t)(s >> 32) * (4.0f / 2147483648.0f);
    }
    *state = s;
}

static void release_tensors(workload *w)
{
    relucl_tensor_release(&w->x);
    relucl_tensor_release(&w->dy);
    relucl_tensor_release(&w->out);
}

/* Allocates the tensors for n elements and fills x and dy with random values. Returns 0, -1,
 * or -2 when the device is out of memory (the sizes stop there). */
static int setup_size(workload *w, size_t n, uint64_t *rng)
{
    const size_t dims2[2] = {n / CHANNELS, CHANNELS};
    relucl_context *ctx = w->ctx;
    relucl_tensor *const tensors[3] = {&w->x, &w->dy, &w->out};
    relucl_tensor *const views[3] = {&w->x2, &w->dy2, &w->out2};
    float *host = malloc(n * sizeof *host);
    int rc = 0;

    w->n = n;
    if (!host) {
        fprintf(stderr, "relucl-bench: no host memory for %zu floats\n", n);
        return -1;
    }
    for (int i = 0; !rc && i < 3; i++)
        rc = check(ctx, relucl_tensor_create(ctx, 1, &n, tensors[i]), "relucl_tensor_create");
    for (int i = 0; !rc && i < 2; i++) { /* x and dy */
        fill_random(host, n, rng);
        rc = check(ctx, relucl_tensor_write(ctx, tensors[i], host), "relucl_tensor_write");
    }
    free(host);
    /* PReLU sees the same buffers as (n / 64, 64). */
    for (int i = 0; !rc && i < 3; i++)
        rc = check(ctx, relucl_tensor_wrap(tensors[i]->buffer, 0, 2, dims2, views[i]),
                   "relucl_tensor_wrap");
    if (rc)
        release_tensors(w);
    return rc;
}

static int enqueue_op(void *arg)
{
    workload *w = arg;
    relucl_status s;
    if (w->op->prelu && w->backward) {
        w->failed = "relucl_prelu_backward";
        s = relucl_prelu_backward(w->ctx, &w->x2, &w->slope, &w->dy2, &w->out2, &w->dslope);
    } else if (w->op->prelu) {
        w->failed = "relucl_prelu_forward";
        s = relucl_prelu_forward(w->ctx, &w->x2, &w->slope, &w->out2);
    } else if (w->backward) {
        w->failed = "relucl_activation_backward";
        s = relucl_activation_backward(w->ctx, w->op->act, &w->x, NULL, &w->dy, &w->out);
    } else {
        w->failed = "relucl_activation_forward";
        s = relucl_activation_forward(w->ctx, w->op->act, &w->x, &w->out);
    }
    w->status = s;
    return s == RELUCL_OK ? 0 : -1;
}

static int enqueue_copy(void *arg)
{
    workload *w = arg;
    cl_int err = clEnqueueCopyBuffer(w->queue, w->x.buffer, w->out.buffer, 0, 0,
                                     w->n * sizeof(float), 0, NULL, NULL);
    if (err != CL_SUCCESS)
        fprintf(stderr, "relucl-bench: clEnqueueCopyBuffer failed: %d\n", (int)err);
    return err == CL_SUCCESS ? 0 : -1;
}

/* Times the copy and every selected op at the current size; appends a row for each op. The
 * copy is timed before and after the ops and the faster kept, so one burst of load on a
 * shared machine does not skew every ratio of the size. */
static int run_size(workload *w, bench_timer *timer, const options *o, bench_row *rows,
                    size_t *nrows)
{
    bench_timing copy, again;
    size_t first = *nrows;
    if (bench_measure(timer, enqueue_copy, w, &copy))
        return -1;
    for (size_t k = 0; k < NOPS; k++) {
        if (!o->selected[k])
            continue;
        for (int backward = 0; backward < 2; backward++) {
            bench_row *r = &rows[*nrows];
            w->op = &ops[k];
            w->backward = backward;
            if (bench_measure(timer, enqueue_op, w, &r->timing)) {
                if (w->status != RELUCL_OK)
                    check(w->ctx, w->status, w->failed);
                return -1;
            }
            r->op = ops[k].name;
            r->direction = backward ? "backward" : "forward";
            r->elements = w->n;
            /* forward: read x, write y; backward: read x and dy, write dx */
            r->bytes = (backward ? 3.0 : 2.0) * (double)w->n * (double)sizeof(float);
            (*nrows)++;
        }
    }
    if (bench_measure(timer, enqueue_copy, w, &again))
        return -1;
    if (again.per_call_s < copy.per_call_s)
        copy = again;
    for (size_t i = first; i < *nrows; i++) {
        rows[i].copy = copy;
        bench_print_row(stdout, &rows[i]);
    }
    return 0;
}

/* PReLU's slope (one per channel) and its gradient, kept for the whole run. */
static int setup_slope(workload *w)
{
    const size_t c = CHANNELS;
    float h[CHANNELS];
    for (size_t i = 0; i < c; i++)
        h[i] = 0.25f + 0.01f * (float)i;
    return check(w->ctx, relucl_tensor_create(w->ctx, 1, &c, &w->slope), "relucl_tensor_create") ||
           check(w->ctx, relucl_tensor_create(w->ctx, 1, &c, &w->dslope), "relucl_tensor_create") ||
           check(w->ctx, relucl_tensor_write(w->ctx, &w->slope, h), "relucl_tensor_write");
}

/* ---- Main -------------------------------------------------------------------------------- */

/* The activation sweep: the default mode. */
static int activation_main(int argc, char **argv)
{
    options opt = {0};
    int parsed = parse_options(argc, argv, &opt);
    if (parsed)
        return parsed > 0 ? 0 : 1;

    bench_env env;
    if (bench_env_open(&env, opt.device, argc, argv))
        return 1;
    workload w = {0};
    w.ctx = env.ctx;
    w.queue = env.queue;
    size_t max_n = size_cap(opt.max_elements, env.global_mem, env.max_alloc);

    printf("relucl-bench %s on %s (%s, driver %s), %s\n", relucl_version(),
           relucl_context_device_name(w.ctx), env.platform, env.driver, env.date);
    printf("sizes %zu to %zu elements (--max-elements %zu; %d buffers within 1/4 of %.2f GiB "
           "global memory, each within %.2f GiB max alloc)\n",
           MIN_ELEMENTS, max_n, opt.max_elements, BUFFERS, (double)env.global_mem / (1u << 30),
           (double)env.max_alloc / (1u << 30));
    printf("time per call: best of 3 batches of >= 20 ms, OpenCL marker profiling\n\n");
    bench_print_header(stdout);

    bench_timer timer = env.timer;
    bench_row rows[NOPS * 2 * MAX_SIZES];
    size_t nrows = 0;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    int failed = setup_slope(&w);
    for (size_t n = MIN_ELEMENTS; !failed && n <= max_n; n *= 4) {
        int rc = setup_size(&w, n, &rng);
        if (rc == -2) {
            printf("note: stopping before %zu elements: %s\n", n, relucl_context_error(w.ctx));
            break;
        }
        failed = rc || run_size(&w, &timer, &opt, rows, &nrows);
        release_tensors(&w);
    }
    if (timer.host_clock)
        printf("note: timed with the host clock (the device gave markers no times)\n");

    bench_report report = {.command = env.command,
                           .date = env.date,
                           .device = relucl_context_device_name(w.ctx),
                           .platform = env.platform,
                           .driver = env.driver,
                           .global_mem = env.global_mem,
                           .max_alloc = env.max_alloc,
                           .timer = &timer,
                           .rows = rows,
                           .nrows = nrows};
    if (opt.json && bench_write_json(opt.json, &report))
        failed = 1;
    relucl_tensor_release(&w.slope);
    relucl_tensor_release(&w.dslope);
    bench_env_close(&env);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "gemm"))
        return bench_gemm_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "train"))
        return bench_train_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "conv"))
        return bench_conv_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "sync"))
        return bench_sync_main(argc, argv);
    return activation_main(argc, argv);
}
