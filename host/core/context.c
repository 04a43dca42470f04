/* Device choice and the context's life cycle. */
#include "core/core.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

static const char *const install_hint =
    "install an OpenCL driver and its loader, e.g. on Debian: apt-get install "
    "ocl-icd-libopencl1 pocl-opencl-icd (CPU), or your GPU vendor's OpenCL ICD";

typedef struct candidate {
    cl_platform_id platform;
    cl_device_id device;
    int platform_index, device_index;
    cl_device_type type;
    char name[256]; /* "platform name / device name" */
} candidate;

/* Lower is better: a GPU, then an accelerator, then anything else, CPU devices last. */
static int type_rank(cl_device_type type) {
    if (type & CL_DEVICE_TYPE_GPU)
        return 0;
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return 1;
    if (type & CL_DEVICE_TYPE_CPU)
        return 3;
    return 2;
}

static int contains_ignoring_case(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static int equals_ignoring_case(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* Lists every device of every platform; returns how many, or -1 with no platform at all. */
static int list_devices(candidate *out, int max) {
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint platform_count = 0;
    if (clGetPlatformIDs(MAX_PLATFORMS, platforms, &platform_count) != CL_SUCCESS ||
        platform_count == 0)
        return -1;
    if (platform_count > MAX_PLATFORMS)
        platform_count = MAX_PLATFORMS;
    int count = 0;
    for (cl_uint p = 0; p < platform_count; p++) {
        cl_device_id devices[MAX_DEVICES];
        cl_uint device_count = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devices, &device_count) !=
            CL_SUCCESS)
            continue;
        if (device_count > MAX_DEVICES)
            device_count = MAX_DEVICES;
        char platform_name[112] = "";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof platform_name - 1, platform_name,
                          NULL);
        for (cl_uint d = 0; d < device_count && count < max; d++) {
            candidate *c = &out[count++];
            char device_name[128] = "";
            clGetDeviceInfo(devices[d], CL_DEVICE_NAME, sizeof device_name - 1, device_name, NULL);
            c->platform = platforms[p];
            c->device = devices[d];
            c->platform_index = (int)p;
            c->device_index = (int)d;
            c->type = 0;
            clGetDeviceInfo(devices[d], CL_DEVICE_TYPE, sizeof c->type, &c->type, NULL);
            snprintf(c->name, sizeof c->name, "%s / %s", platform_name, device_name);
        }
    }
    return count;
}

static int matches(const candidate *c, const char *spec) {
    int p, d;
    char tail;
    if (sscanf(spec, "%d:%d%c", &p, &d, &tail) == 2)
        return c->platform_index == p && c->device_index == d;
    if (equals_ignoring_case(spec, "gpu"))
        return (c->type & CL_DEVICE_TYPE_GPU) != 0;
    if (equals_ignoring_case(spec, "cpu"))
        return (c->type & CL_DEVICE_TYPE_CPU) != 0;
    if (equals_ignoring_case(spec, "accelerator"))
        return (c->type & CL_DEVICE_TYPE_ACCELERATOR) != 0;
    return contains_ignoring_case(c->name, spec);
}

/* Picks the best-ranked device that matches spec (every device when spec is empty). */
static relucl_status choose_device(const char *spec, candidate *chosen, char *why,
                                   size_t why_size) {
    candidate all[MAX_DEVICES];
    int count = list_devices(all, MAX_DEVICES);
    if (count < 0) {
        snprintf(why, why_size, "no OpenCL platform found: %s", install_hint);
        return RELUCL_ERROR_NO_DEVICE;
    }
    int best = -1;
    for (int i = 0; i < count; i++) {
        if (spec[0] && !matches(&all[i], spec))
            continue;
        if (best < 0 || type_rank(all[i].type) < type_rank(all[best].type))
            best = i;
    }
    if (best < 0) {
        int used = snprintf(why, why_size, "no OpenCL device matches \"%s\"; present:", spec);
        for (int i = 0; i < count && used >= 0 && (size_t)used < why_size; i++)
            used += snprintf(why + used, why_size - (size_t)used, " [%d:%d %s]",
                             all[i].platform_index, all[i].device_index, all[i].name);
        if (count == 0 && used >= 0 && (size_t)used < why_size)
            snprintf(why + used, why_size - (size_t)used, " none; %s", install_hint);
        return RELUCL_ERROR_NO_DEVICE;
    }
    *chosen = all[best];
    return RELUCL_OK;
}

static relucl_context *context_alloc(void) { return calloc(1, sizeof(relucl_context)); }

static cl_device_type device_type(const relucl_context *ctx) {
    cl_device_type type = 0;
    clGetDeviceInfo(ctx->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    return type;
}

/* 1 for the kernel forms written for CPUs: a CPU device, or RELUCL_KERNELS=cpu (=gpu for the
 * others), which lets a simulator such as Oclgrind check the CPU forms too. */
static int cpu_kernels(const relucl_context *ctx) {
    const char *choice = getenv("RELUCL_KERNELS");
    if (choice && !strcmp(choice, "cpu"))
        return 1;
    if (choice && !strcmp(choice, "gpu"))
        return 0;
    return (device_type(ctx) & CL_DEVICE_TYPE_CPU) != 0;
}

/* A CPU and nothing else: its compiler has __builtin_prefetch (the GEMM's CPU form uses it,
 * RELUCL_PREFETCH), which Oclgrind, a simulator that calls itself every kind at once, lacks. */
static int only_cpu(const relucl_context *ctx) {
    cl_device_type type = device_type(ctx);
    cl_device_type others = CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR;
    return (type & CL_DEVICE_TYPE_CPU) && !(type & others);
}

/* 16 where the device's native float vector has 16 lanes (AVX-512), else 8 (AVX2): the GEMM's
 * block of 8 rows by 32 columns is 16 of AVX-512's 32 registers, but would be 32 AVX2 ones
 * (of 16), so 8 lanes take 6 rows by 16 columns. RELUCL_GEMM_LANES=8|16 picks either (the
 * tests run both). */
static unsigned gemm_lanes(const relucl_context *ctx) {
    const char *choice = getenv("RELUCL_GEMM_LANES");
    if (choice && (!strcmp(choice, "8") || !strcmp(choice, "16")))
        return (unsigned)atoi(choice);
    cl_uint native = 0;
    clGetDeviceInfo(ctx->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof native, &native,
                    NULL);
    return native >= 16 ? 16 : 8;
}

/* Fills in what every context needs to know about its device. */
static void describe_device(relucl_context *ctx) {
    clGetDeviceInfo(ctx->device, CL_DEVICE_NAME, sizeof ctx->device_name - 1, ctx->device_name,
                    NULL);
    ctx->max_work_group = 64;
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof ctx->max_work_group,
                    &ctx->max_work_group, NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ctx->max_alloc,
                    &ctx->max_alloc, NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof ctx->local_mem,
                    &ctx->local_mem, NULL);
    ctx->wide = cpu_kernels(ctx);
    ctx->gemm_lanes = gemm_lanes(ctx);
    snprintf(ctx->build_options, sizeof ctx->build_options,
             "%s -DRELUCL_GEMM_LANES=%u -DRELUCL_CPU_KERNELS=%d -DRELUCL_PREFETCH=%d",
             RELUCL__BUILD_OPTIONS, ctx->gemm_lanes, ctx->wide, ctx->wide && only_cpu(ctx));
}

static void copy_message(char *message, size_t size, const char *text) {
    if (message && size > 0)
        snprintf(message, size, "%s", text);
}

/* The OpenCL loader and PoCL set themselves up on a process's first platform query, and that
 * is not safe from several threads at once (seen: threads finding no device, and a crash), so
 * choosing a device and making its context take this lock. It guards no relucl state. */
static pthread_mutex_t opencl_setup = PTHREAD_MUTEX_INITIALIZER;

static relucl_status create_locked(const char *spec, relucl_context **out, char *message,
                                   size_t message_size);

relucl_status relucl_context_create_ex(const char *device, relucl_context **out, char *message,
                                       size_t message_size) {
    if (!out) {
        copy_message(message, message_size, "relucl_context_create: out is NULL");
        return RELUCL_ERROR_INVALID_ARGUMENT;
    }
    const char *spec = device && device[0] ? device : getenv("RELUCL_DEVICE");
    pthread_mutex_lock(&opencl_setup);
    relucl_status status = create_locked(spec ? spec : "", out, message, message_size);
    pthread_mutex_unlock(&opencl_setup);
    return status;
}

static relucl_status create_locked(const char *spec, relucl_context **out, char *message,
                                   size_t message_size) {
    static const char fn[] = "relucl_context_create";
    char why[RELUCL_ERROR_SIZE];
    candidate chosen;
    relucl_status status = choose_device(spec, &chosen, why, sizeof why);
    if (status != RELUCL_OK) {
        char full[RELUCL_ERROR_SIZE + 64];
        snprintf(full, sizeof full, "%s: %s", fn, why);
        copy_message(message, message_size, full);
        return status;
    }
    relucl_context *ctx = context_alloc();
    if (!ctx) {
        copy_message(message, message_size, "relucl_context_create: out of host memory");
        return RELUCL_ERROR_OUT_OF_MEMORY;
    }
    ctx->platform = chosen.platform;
    ctx->device = chosen.device;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)chosen.platform,
                                     0};
    cl_int err = CL_SUCCESS;
    ctx->cl = clCreateContext(props, 1, &chosen.device, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        ctx->queue = /* profiling on: relucl_context_profile_start needs it; PoCL's cost is nil */
            clCreateCommandQueue(ctx->cl, chosen.device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        status =
            relucl__fail_cl(ctx, fn, ctx->cl ? "clCreateCommandQueue" : "clCreateContext", err);
        copy_message(message, message_size, ctx->error);
        relucl_context_destroy(ctx);
        return status;
    }
    describe_device(ctx);
    *out = ctx;
    return RELUCL_OK;
}

relucl_status relucl_context_create(const char *device, relucl_context **out) {
    return relucl_context_create_ex(device, out, NULL, 0);
}

relucl_status relucl_context_create_from_queue(cl_command_queue queue, relucl_context **out) {
    return relucl_context_create_from_queue_ex(queue, out, NULL, 0);
}

/* Writes "relucl_context_create_from_queue: <reason>" to message and returns status. */
static relucl_status refuse_queue(relucl_status status, char *message, size_t size,
                                  const char *reason, cl_int code) {
    char text[256];
    snprintf(text, sizeof text, "relucl_context_create_from_queue: %s%s%s%s", reason,
             code ? " (" : "", code ? relucl__cl_error_name(code) : "", code ? ")" : "");
    copy_message(message, size, text);
    return status;
}

relucl_status relucl_context_create_from_queue_ex(cl_command_queue queue, relucl_context **out,
                                                  char *message, size_t message_size) {
    if (!out)
        return refuse_queue(RELUCL_ERROR_INVALID_ARGUMENT, message, message_size, "out is NULL", 0);
    if (!queue)
        return refuse_queue(RELUCL_ERROR_INVALID_ARGUMENT, message, message_size, "queue is NULL",
                            0);
    cl_command_queue_properties props = 0;
    relucl_context probe = {0};
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof probe.cl, &probe.cl, NULL);
    if (err == CL_SUCCESS)
        err =
            clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof probe.device, &probe.device, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(probe.device, CL_DEVICE_PLATFORM, sizeof probe.platform,
                              &probe.platform, NULL);
    if (err != CL_SUCCESS)
        return refuse_queue(RELUCL_ERROR_INVALID_ARGUMENT, message, message_size,
                            "queue: not a valid command queue", err);
    relucl_context *ctx = context_alloc();
    if (!ctx)
        return refuse_queue(RELUCL_ERROR_OUT_OF_MEMORY, message, message_size, "out of host memory",
                            0);
    ctx->platform = probe.platform;
    ctx->device = probe.device;
    ctx->cl = probe.cl;
    clRetainContext(ctx->cl);
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) {
        /* relucl's commands depend on each other in the order it enqueues them, so they get an
         * in-order queue of their own beside the caller's; events order the two. */
        ctx->queue =
            clCreateCommandQueue(ctx->cl, ctx->device, props & CL_QUEUE_PROFILING_ENABLE, &err);
        ctx->own_queue = 1;
        if (err != CL_SUCCESS) {
            relucl_context_destroy(ctx);
            return refuse_queue(RELUCL_ERROR_OPENCL, message, message_size,
                                "clCreateCommandQueue (relucl's in-order queue beside an "
                                "out-of-order one)",
                                err);
        }
    } else {
        ctx->queue = queue;
        clRetainCommandQueue(ctx->queue);
    }
    describe_device(ctx);
    *out = ctx;
    return RELUCL_OK;
}

void relucl_context_destroy(relucl_context *ctx) {
    if (!ctx)
        return;
    if (ctx->queue)
        clFinish(ctx->queue);
    relucl__profile_release(ctx);
    relucl__program_release_all(ctx);
    if (ctx->workspace)
        clReleaseMemObject(ctx->workspace);
    if (ctx->filter_scratch)
        clReleaseMemObject(ctx->filter_scratch);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->cl)
        clReleaseContext(ctx->cl);
    free(ctx);
}

relucl_status relucl_context_finish(relucl_context *ctx) {
    relucl_status status = relucl__check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    cl_int err = clFinish(ctx->queue);
    return err == CL_SUCCESS ? RELUCL_OK
                             : relucl__fail_cl(ctx, "relucl_context_finish", "clFinish", err);
}

const char *relucl_context_device_name(const relucl_context *ctx) {
    return ctx ? ctx->device_name : "";
}
cl_command_queue relucl_context_queue(const relucl_context *ctx) { return ctx ? ctx->queue : NULL; }
cl_device_id relucl_context_device(const relucl_context *ctx) { return ctx ? ctx->device : NULL; }
cl_context relucl_context_cl_context(const relucl_context *ctx) { return ctx ? ctx->cl : NULL; }
