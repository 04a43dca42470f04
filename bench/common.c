/* What every relucl-bench mode shares: the device and its profiling queue, options, fills. */
#include "bench.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int bench_check(relucl_context *ctx, relucl_status s, const char *what)
{
    if (s == RELUCL_OK)
        return 0;
    fflush(stdout); /* keep the report and the error in order */
    fprintf(stderr, "relucl-bench: %s: %s: %s\n", what, relucl_status_name(s),
            relucl_context_error(ctx));
    return -1;
}

/* Opens the device through relucl, then hands relucl a profiling queue of our own on it. */
static int open_queue(const char *spec, relucl_context **ctx, cl_command_queue *queue)
{
    char message[1024] = "";
    relucl_context *probe = NULL;
    relucl_status s = relucl_context_create_ex(spec, &probe, message, sizeof message);
    if (s != RELUCL_OK) {
        fprintf(stderr, "relucl-bench: %s: %s\n", relucl_status_name(s), message);
        return -1;
    }
    cl_int err = CL_SUCCESS;
    *queue = clCreateCommandQueue(relucl_context_cl_context(probe), relucl_context_device(probe),
                                  CL_QUEUE_PROFILING_ENABLE, &err);
    /* The queue holds the OpenCL context: the probe's work is done. */
    relucl_context_destroy(probe);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "relucl-bench: clCreateCommandQueue (profiling) failed: %d\n", (int)err);
        return -1;
    }
    s = relucl_context_create_from_queue(*queue, ctx);
    if (s != RELUCL_OK) {
        fprintf(stderr, "relucl-bench: relucl_context_create_from_queue: %s\n",
                relucl_status_name(s));
        clReleaseCommandQueue(*queue);
        return -1;
    }
    if (relucl_context_queue(*ctx) != *queue)
        fprintf(stderr, "relucl-bench: warning: relucl_context_queue is not the queue given\n");
    return 0;
}

static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = calloc(len, 1);
    for (int i = 0; s && i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int bench_env_open(bench_env *env, const char *device, int argc, char **argv)
{
    memset(env, 0, sizeof *env);
    if (open_queue(device, &env->ctx, &env->queue))
        return -1;
    env->timer = (bench_timer){env->queue, 0.020, 3, 0};
    cl_device_id d = relucl_context_device(env->ctx);
    cl_platform_id p = NULL;
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof env->global_mem, &env->global_mem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof env->max_alloc, &env->max_alloc, NULL);
    if (clGetDeviceInfo(d, CL_DRIVER_VERSION, sizeof env->driver, env->driver, NULL) != CL_SUCCESS)
        snprintf(env->driver, sizeof env->driver, "?");
    if (clGetDeviceInfo(d, CL_DEVICE_PLATFORM, sizeof p, &p, NULL) != CL_SUCCESS ||
        clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof env->platform, env->platform, NULL) !=
            CL_SUCCESS)
        snprintf(env->platform, sizeof env->platform, "?");
    time_t now = time(NULL);
    struct tm utc;
    strftime(env->date, sizeof env->date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &utc));
    env->command = join_args(argc, argv);
    return 0;
}

void bench_env_close(bench_env *env)
{
    relucl_context_destroy(env->ctx);
    if (env->queue)
        clReleaseCommandQueue(env->queue);
    free(env->command);
    memset(env, 0, sizeof *env);
}

void bench_env_print(const bench_env *env, FILE *f)
{
    double load = -1.0;
    FILE *l = fopen("/proc/loadavg", "r");
    if (l) {
        if (fscanf(l, "%lf", &load) != 1)
            load = -1.0;
        fclose(l);
    }
    fprintf(f, "relucl-bench %s on %s (%s, driver %s), %s", relucl_version(),
            relucl_context_device_name(env->ctx), env->platform, env->driver, env->date);
    if (load >= 0.0)
        fprintf(f, ", load average %.2f", load);
    fputc('\n', f);
}

int bench_fill_uniform(relucl_context *ctx, const relucl_tensor *t, float lo, float hi,
                       unsigned long long *state)
{
    size_t n = relucl_tensor_count(t);
    float *h = malloc((n ? n : 1) * sizeof *h);
    if (!h) {
        fprintf(stderr, "relucl-bench: no host memory for %zu floats\n", n);
        return -1;
    }
    uint64_t s = *state;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        h[i] = lo + (hi - lo) * (float)(s >> 40) * (1.0f / 16777216.0f);
    }
    *state = s;
    int rc = bench_check(ctx, relucl_tensor_write(ctx, t, h), "relucl_tensor_write");
    free(h);
    return rc;
}

const char *bench_option_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len))
        return NULL;
    if (argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (argv[*i][len] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int bench_parse_options(int argc, char **argv, int first, const char *usage, bench_options *o)
{
    const char *v;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 1;
        } else if (!strcmp(argv[i], "--quick")) {
            o->quick = 1;
        } else if ((v = bench_option_value(argc, argv, &i, "--device"))) {
            o->device = v;
        } else if ((v = bench_option_value(argc, argv, &i, "--json"))) {
            o->json = v;
        } else if ((v = bench_option_value(argc, argv, &i, "--only"))) {
            o->only = v;
        } else if ((v = bench_option_value(argc, argv, &i, "--max-call-s"))) {
            char *end = NULL;
            errno = 0;
            o->max_call_s = strtod(v, &end);
            if (errno || end == v || *end || !(o->max_call_s > 0.0)) {
                fprintf(stderr, "relucl-bench: --max-call-s: '%s' is not a positive number\n",
                        v);
                return -1;
            }
        } else {
            fprintf(stderr, "relucl-bench: unknown or incomplete option '%s'\n%s", argv[i],
                    usage);
            return -1;
        }
    }
    return 0;
}
