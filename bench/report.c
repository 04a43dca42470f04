/* The benchmark's table on stdout and its JSON file. */
#include "bench.h"

#include "io/atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

double bench_gbps(double bytes, double seconds)
{
    return seconds > 0.0 ? bytes / seconds * 1e-9 : 0.0;
}

static double row_gbps(const bench_row *r)
{
    return bench_gbps(r->bytes, r->timing.per_call_s);
}

/* A copy reads and writes every element once: 2 floats per element. */
static double row_copy_gbps(const bench_row *r)
{
    return bench_gbps(2.0 * (double)r->elements * (double)sizeof(float), r->copy.per_call_s);
}

static double row_ratio(const bench_row *r)
{
    double copy = row_copy_gbps(r);
    return copy > 0.0 ? row_gbps(r) / copy : 0.0;
}

void bench_print_header(FILE *f)
{
    fprintf(f, "%-13s %-9s %10s %12s %9s %9s %6s\n", "op", "direction", "elements", "us/call",
            "GB/s", "copy GB/s", "ratio");
}

void bench_print_row(FILE *f, const bench_row *r)
{
    fprintf(f, "%-13s %-9s %10zu %12.2f %9.2f %9.2f %6.2f\n", r->op, r->direction, r->elements,
            r->timing.per_call_s * 1e6, row_gbps(r), row_copy_gbps(r), row_ratio(r));
    fflush(f);
}

/* ---- JSON -------------------------------------------------------------------------------- */

void bench_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_field(FILE *f, const char *key, const char *value)
{
    fprintf(f, "  \"%s\": ", key);
    bench_json_string(f, value);
    fputs(",\n", f);
}

void bench_json_header(FILE *f, const bench_env *env, const char *mode)
{
    fputs("{\n", f);
    json_field(f, "tool", "relucl-bench");
    json_field(f, "mode", mode);
    json_field(f, "relucl_version", relucl_version());
    json_field(f, "command", env->command ? env->command : "");
    json_field(f, "date", env->date);
    json_field(f, "device", relucl_context_device_name(env->ctx));
    json_field(f, "platform", env->platform);
    json_field(f, "driver", env->driver);
    json_field(f, "clock", env->timer.host_clock ? "host" : "opencl-markers");
    fprintf(f, "  \"batch_target_ms\": %.1f,\n  \"batches\": %d,\n",
            env->timer.target_s * 1e3, env->timer.batches);
}

static void json_row(FILE *f, const bench_row *r, int last)
{
    fputs("    {\"op\": ", f);
    bench_json_string(f, r->op);
    fputs(", \"direction\": ", f);
    bench_json_string(f, r->direction);
    fprintf(f,
            ", \"elements\": %zu, \"bytes\": %.0f, \"reps\": %u, \"time_us\": %.4f, "
            "\"gbps\": %.3f, \"copy_reps\": %u, \"copy_time_us\": %.4f, \"copy_gbps\": %.3f, "
            "\"ratio\": %.4f}%s\n",
            r->elements, r->bytes, r->timing.reps, r->timing.per_call_s * 1e6, row_gbps(r),
            r->copy.reps, r->copy.per_call_s * 1e6, row_copy_gbps(r), row_ratio(r),
            last ? "" : ",");
}

static int write_all(FILE *f, const bench_report *rep)
{
    fputs("{\n", f);
    json_field(f, "tool", "relucl-bench");
    json_field(f, "relucl_version", relucl_version());
    json_field(f, "command", rep->command);
    json_field(f, "date", rep->date);
    json_field(f, "device", rep->device);
    json_field(f, "platform", rep->platform);
    json_field(f, "driver", rep->driver);
    fprintf(f, "  \"global_mem_bytes\": %llu,\n  \"max_alloc_bytes\": %llu,\n",
            (unsigned long long)rep->global_mem, (unsigned long long)rep->max_alloc);
    json_field(f, "clock", rep->timer->host_clock ? "host" : "opencl-markers");
    fprintf(f, "  \"batch_target_ms\": %.1f,\n  \"batches\": %d,\n", rep->timer->target_s * 1e3,
            rep->timer->batches);
    fputs("  \"results\": [\n", f);
    for (size_t i = 0; i < rep->nrows; i++)
        json_row(f, &rep->rows[i], i + 1 == rep->nrows);
    fputs("  ]\n}\n", f);
    return ferror(f) ? -1 : 0;
}

static int write_report(FILE *f, const void *arg)
{
    return write_all(f, arg);
}

int bench_write_json(const char *path, const bench_report *report)
{
    return bench_json_write(path, write_report, report);
}

int bench_json_write(const char *path, int (*body)(FILE *f, const void *arg), const void *arg)
{
    relucl__atomic_file file;
    int e = relucl__atomic_open(&file, path);
    if (!e) {
        if (body(file.stream, arg)) {
            relucl__atomic_abort(&file);
            e = EIO;
        } else {
            e = relucl__atomic_commit(&file);
        }
    }
    if (e)
        fprintf(stderr, "relucl-bench: could not write %s: %s\n", path, strerror(e));
    return e ? -1 : 0;
}
