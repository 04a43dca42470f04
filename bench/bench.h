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
    int single;        /* one call, no warm-up (bench_measure_capped on a slow call) */
} bench_timing;

/* Warms up, picks a batch size that lasts target_s, then times timer->batches batches and
 * keeps the fastest. Returns 0, or -1 when fn failed (fn reports why) or OpenCL failed. */
int bench_measure(bench_timer *timer, bench_enqueue_fn fn, void *arg, bench_timing *out);
/* For operations that may be very slow: times one call first; when it takes slow_s or more,
 * that single call is the figure (reps 1, no warm-up: build the kernels beforehand on a small
 * shape), otherwise as bench_measure. */
int bench_measure_capped(bench_timer *timer, bench_enqueue_fn fn, void *arg, double slow_s,
                         bench_timing *out);

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

/* ---- Shared by the subcommands (common.c) ------------------------------------------------ */

/* The device, our profiling queue (relucl's context runs on it) and what the report records. */
typedef struct bench_env {
    relucl_context *ctx;
    cl_command_queue queue; /* our reference */
    bench_timer timer;      /* 20 ms batches, best of 3 */
    char platform[256], driver[256], date[32];
    cl_ulong global_mem, max_alloc;
    char *command; /* argv joined by spaces */
} bench_env;

/* Opens the device `device` names (as relucl-info) through relucl, creates a profiling queue
 * on it and wraps it with relucl_context_create_from_queue. 0, or -1 after printing why. */
int bench_env_open(bench_env *env, const char *device, int argc, char **argv);
void bench_env_close(bench_env *env);
/* "relucl-bench VERSION on DEVICE (PLATFORM, driver D), DATE" and the load average. */
void bench_env_print(const bench_env *env, FILE *f);

/* 0 for RELUCL_OK, else prints "relucl-bench: what: STATUS: message" and returns -1. */
int bench_check(relucl_context *ctx, relucl_status s, const char *what);
/* Fills a tensor with uniform values in [lo, hi) from the state (xorshift64). */
int bench_fill_uniform(relucl_context *ctx, const relucl_tensor *t, float lo, float hi,
                       unsigned long long *state);

/* Options every subcommand takes: --device, --json, --quick, --help. */
typedef struct bench_options {
    const char *device, *json;
    const char *only; /* --only TEXT: only the shapes whose names contain TEXT (gemm) */
    int quick;
    double max_call_s; /* --max-call-s: skip a measurement whose call would take longer */
} bench_options;
/* Parses argv[first..]; 0: run, 1: help printed (exit 0), -1: bad option (exit 1). */
int bench_parse_options(int argc, char **argv, int first, const char *usage, bench_options *o);
/* The value of option `name` at argv[*i] ("--name V" or "--name=V"), or NULL if not it. */
const char *bench_option_value(int argc, char **argv, int *i, const char *name);

/* JSON helpers: a string with escapes; the common header fields ("{" and the fields up to
 * "results"); the file written to path.tmp and renamed (0 or -1). */
void bench_json_string(FILE *f, const char *s);
void bench_json_header(FILE *f, const bench_env *env, const char *mode);
int bench_json_write(const char *path, int (*body)(FILE *f, const void *arg), const void *arg);

/* Subcommands: each returns the process exit status. */
int bench_gemm_main(int argc, char **argv);
int bench_train_main(int argc, char **argv);
int bench_conv_main(int argc, char **argv);
int bench_sync_main(int argc, char **argv);

#endif /* RELUCL_BENCH_H */
