/*
 * Device-side timing of a batch of calls. relucl's operations return no events, so a batch is
 * framed by two markers on the (in-order, profiling) queue: the batch took from the end of
 * the first marker to the end of the second. That is what the device spent, launch gaps
 * included, without the host's own wait.
 */
#include "bench.h"

#include "tool.h"

#include <time.h>

#define MAX_REPS 1000000u

static int cl_check(cl_int err, const char *what)
{
    if (err == CL_SUCCESS)
        return 0;
    fprintf(stderr, "relucl-bench: %s failed: OpenCL error %d\n", what, (int)err);
    return -1;
}

/* The device time between the ends of markers a and b, or -1 when there is none. */
static double marker_span(cl_event a, cl_event b)
{
    cl_ulong end_a = 0, end_b = 0;
    if (clGetEventProfilingInfo(a, CL_PROFILING_COMMAND_END, sizeof end_a, &end_a, NULL) !=
            CL_SUCCESS ||
        clGetEventProfilingInfo(b, CL_PROFILING_COMMAND_END, sizeof end_b, &end_b, NULL) !=
            CL_SUCCESS ||
        end_a == 0 || end_b <= end_a)
        return -1.0;
    return (double)(end_b - end_a) * 1e-9;
}

static int run_batch(bench_timer *t, bench_enqueue_fn fn, void *arg, unsigned reps, double *seconds)
{
    cl_event a = NULL, b = NULL;
    int rc = -1;

    /* Start from an idle queue, so the batch is not charged for earlier work. */
    if (cl_check(clFinish(t->queue), "clFinish"))
        return -1;
    double h0 = tool_seconds();
    if (cl_check(clEnqueueMarkerWithWaitList(t->queue, 0, NULL, &a), "clEnqueueMarker"))
        goto done;
    for (unsigned r = 0; r < reps; r++)
        if (fn(arg))
            goto done;
    if (cl_check(clEnqueueMarkerWithWaitList(t->queue, 0, NULL, &b), "clEnqueueMarker") ||
        cl_check(clWaitForEvents(1, &b), "clWaitForEvents"))
        goto done;
    double host = tool_seconds() - h0;

    double dev = t->host_clock ? -1.0 : marker_span(a, b);
    if (dev < 0.0 && !t->host_clock) {
        fprintf(stderr, "relucl-bench: markers carry no profiling times; "
                        "timing with the host clock instead\n");
        t->host_clock = 1;
    }
    *seconds = t->host_clock ? host : dev;
    rc = 0;
done:
    if (a)
        clReleaseEvent(a);
    if (b)
        clReleaseEvent(b);
    if (rc)
        clFinish(t->queue); /* leave nothing half-enqueued behind */
    return rc;
}

/* Grows the batch until it lasts target_s (or MAX_REPS calls). */
static int calibrate(bench_timer *t, bench_enqueue_fn fn, void *arg, unsigned *reps)
{
    unsigned r = 1;
    for (;;) {
        double s = 0.0;
        if (run_batch(t, fn, arg, r, &s))
            return -1;
        if (s >= t->target_s || r >= MAX_REPS)
            break;
        /* Aim a little past the target; grow at least 2x, at most 100x per step. */
        double scale = s > 0.0 ? 1.25 * t->target_s / s : 100.0;
        scale = scale < 2.0 ? 2.0 : scale > 100.0 ? 100.0 : scale;
        double next = (double)r * scale;
        r = next >= (double)MAX_REPS ? MAX_REPS : (unsigned)next;
    }
    *reps = r;
    return 0;
}

/* Calibrates, then keeps the fastest of timer->batches batches. */
static int timed_batches(bench_timer *timer, bench_enqueue_fn fn, void *arg, bench_timing *out)
{
    double best = -1.0;
    unsigned reps = 1;
    if (calibrate(timer, fn, arg, &reps))
        return -1;
    for (int i = 0; i < timer->batches; i++) {
        double s = 0.0;
        if (run_batch(timer, fn, arg, reps, &s))
            return -1;
        if (best < 0.0 || s < best)
            best = s;
    }
    out->reps = reps;
    out->per_call_s = best / (double)reps;
    out->single = 0;
    return 0;
}

int bench_measure(bench_timer *timer, bench_enqueue_fn fn, void *arg, bench_timing *out)
{
    double warm = 0.0;
    /* The first call may build kernels or touch fresh pages: never time it. */
    if (run_batch(timer, fn, arg, 1, &warm))
        return -1;
    return timed_batches(timer, fn, arg, out);
}

int bench_measure_capped(bench_timer *timer, bench_enqueue_fn fn, void *arg, double slow_s,
                         bench_timing *out)
{
    double first = 0.0;
    if (run_batch(timer, fn, arg, 1, &first))
        return -1;
    if (first >= slow_s) {
        out->reps = 1;
        out->per_call_s = first;
        out->single = 1;
        return 0;
    }
    return timed_batches(timer, fn, arg, out);
}
