/* relucl-bench internals: device-side timing (timing.c) and the report (report.c). */
#ifndef RELUCL_BENCH_H
#define RELUCL_BENCH_H

#include <relucl.h>

#include <stdio.h>

/* ---- Timing ------------------------------------------------------------------------------ */

/* Enqueues one call of the operation being measured; returns 0 on success. */
typedef int (*bench_enqueue_fn)(void *arg);

typedef struct bench_timer {
    cl_command_queue queue; /* in-order, created with CL_QUEUE_PROFILING_ENABLE */
    double target_s;        /* a batch lasts at least this long (calibrated) */
    int batches;            /* best of this many */
    int host_clock;         /* set when the markers carry no profiling times */
} bench_timer;

typedef struct bench_timing {
    unsigned reps;     /* calls per batch */
    double per_call_s; /* best batch / reps */
} bench_timing;

/* Warms up, picks a batch size that lasts target_s, then times timer->batches batches and
 * keeps the fastest. Returns 0, or -1 when fn failed (fn reports why) or OpenCL failed. */
int bench_measure(bench_timer *timer, bench_enqueue_fn fn, void *arg, bench_timing *out);

/* ---- Report ------------------------------------------------------------------------------ */

typedef struct bench_row {
    const char *op;        /* "relu", ... */
    const char *direction; /* "forward" or "backward" */
    size_t elements;
    double bytes; /* bytes read + written per call */
    bench_timing timing;
    bench_timing copy; /* clEnqueueCopyBuffer of the same element count */
} bench_row;

double bench_gbps(double bytes, double seconds);
void bench_print_header(FILE *f);
void bench_print_row(FILE *f, const bench_row *row);

typedef struct bench_report {
    const char *command; /* the command line, for the record */
    const char *date;    /* ISO 8601, UTC */
    const char *device, *platform, *driver;
    cl_ulong global_mem, max_alloc;
    const bench_timer *timer;
    const bench_row *rows;
    size_t nrows;
} bench_report;

/* Writes path.tmp, then renames it to path: a crash never leaves half a file. 0 or -1. */
int bench_write_json(const char *path, const bench_report *report);

#endif /* RELUCL_BENCH_H */
