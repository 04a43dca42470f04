/* relucl-bench sync: what it costs to hand a small op's result to another queue.
 *
 * A ReLU of 4096 floats, in place, N times in a row, timed on the host clock (the cost is in
 * the host calls and the waits, which device profiling does not see), per op:
 *   async        enqueue only, one finish at the end (the floor);
 *   record_event relucl_context_record_event after each op, the event released;
 *   handoff      the same, and a second queue waits on the event (a barrier on it), as a
 *                consumer on another queue would;
 *   finish       relucl_context_finish after each op (clFinish), the only choice before
 *                events.
 * Best of 7 batches; the ratios to async are what to compare across machines. */
#include "bench.h"

#include "tool.h"

#include <string.h>

#define ELEMENTS 4096
#define BATCHES 7

enum sync_mode { MODE_ASYNC, MODE_RECORD, MODE_HANDOFF, MODE_FINISH, NMODES };
static const char *const mode_names[NMODES] = {"async", "record_event", "handoff", "finish"};

static const char usage[] =
    "usage: relucl-bench sync [--device SPEC] [--quick] [--json FILE]\n"
    "  per-op cost of relucl_context_record_event and of clFinish after a 4096-float ReLU\n";

typedef struct sync_work {
    relucl_context *ctx;
    cl_command_queue other; /* the consumer's queue */
    relucl_tensor t;
} sync_work;

/* Seconds per op for `ops` ops in `mode`, or a negative value on failure. */
static double run_batch(sync_work *w, enum sync_mode mode, int ops)
{
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    double start = tool_seconds();
    for (int i = 0; i < ops; i++) {
        if (bench_check(w->ctx, relucl_activation_forward(w->ctx, relu, &w->t, &w->t), "relu"))
            return -1.0;
        if (mode == MODE_RECORD || mode == MODE_HANDOFF) {
            cl_event e = NULL;
            if (bench_check(w->ctx, relucl_context_record_event(w->ctx, &e), "record_event"))
                return -1.0;
            if (mode == MODE_HANDOFF &&
                clEnqueueBarrierWithWaitList(w->other, 1, &e, NULL) != CL_SUCCESS)
                return -1.0;
            clReleaseEvent(e);
        } else if (mode == MODE_FINISH &&
                   bench_check(w->ctx, relucl_context_finish(w->ctx), "finish")) {
            return -1.0;
        }
    }
    if (bench_check(w->ctx, relucl_context_finish(w->ctx), "finish") || clFinish(w->other))
        return -1.0;
    return (tool_seconds() - start) / ops;
}

typedef struct sync_result {
    const bench_env *env;
    double per_op[NMODES];
    int ops;
} sync_result;

static int write_json(FILE *f, const void *arg)
{
    const sync_result *r = arg;
    bench_json_header(f, r->env, "sync");
    fprintf(f, "  \"elements\": %d,\n  \"ops_per_batch\": %d,\n  \"results\": [\n", ELEMENTS,
            r->ops);
    for (int m = 0; m < NMODES; m++)
        fprintf(f, "    {\"mode\": \"%s\", \"us_per_op\": %.3f, \"vs_async\": %.3f}%s\n",
                mode_names[m], r->per_op[m] * 1e6, r->per_op[m] / r->per_op[MODE_ASYNC],
                m + 1 < NMODES ? "," : "");
    fprintf(f, "  ]\n}\n");
    return 0;
}

int bench_sync_main(int argc, char **argv)
{
    bench_options o = {0};
    int parsed = bench_parse_options(argc, argv, 2, usage, &o);
    if (parsed)
        return parsed > 0 ? 0 : 1;
    bench_env env;
    if (bench_env_open(&env, o.device, argc, argv))
        return 1;
    bench_env_print(&env, stdout);
    sync_work w = {.ctx = env.ctx};
    cl_int err = CL_SUCCESS;
    w.other = clCreateCommandQueue(relucl_context_cl_context(env.ctx),
                                   relucl_context_device(env.ctx), 0, &err);
    int failed = err != CL_SUCCESS ||
                 bench_check(env.ctx, relucl_tensor_create(env.ctx, 1, (size_t[]){ELEMENTS}, &w.t),
                             "relucl_tensor_create") ||
                 bench_check(env.ctx, relucl_tensor_fill(env.ctx, &w.t, 1.0f), "fill");
    sync_result r = {&env, {0}, o.quick ? 200 : 2000};
    if (!failed)
        failed = run_batch(&w, MODE_ASYNC, 20) < 0; /* builds the kernel */
    for (int b = 0; !failed && b < BATCHES; b++)
        for (int m = 0; !failed && m < NMODES; m++) { /* interleaved: the same noise for all */
            double s = run_batch(&w, (enum sync_mode)m, r.ops);
            failed = s < 0;
            if (!failed && (b == 0 || s < r.per_op[m]))
                r.per_op[m] = s;
        }
    if (!failed) {
        printf("ReLU of %d floats in place, %d ops per batch, best of %d, host clock\n\n",
               ELEMENTS, r.ops, BATCHES);
        printf("%-14s %10s %10s\n", "after each op", "us/op", "vs async");
        for (int m = 0; m < NMODES; m++)
            printf("%-14s %10.2f %10.2f\n", mode_names[m], r.per_op[m] * 1e6,
                   r.per_op[m] / r.per_op[MODE_ASYNC]);
        printf("\nrecord_event costs %.2fx what clFinish does per op\n",
               r.per_op[MODE_RECORD] / r.per_op[MODE_FINISH]);
    }
    if (!failed && o.json && bench_json_write(o.json, write_json, &r))
        failed = 1;
    relucl_tensor_release(&w.t);
    if (w.other)
        clReleaseCommandQueue(w.other);
    bench_env_close(&env);
    return failed ? 1 : 0;
}
