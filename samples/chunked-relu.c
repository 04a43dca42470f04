/* ReLU over an array larger than one device allocation, in chunks, and the same work split
 * across devices.
 * 1. One device: each chunk is copied into a device buffer, rectified in place there and
 *    copied back. The chunk is the device's largest allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE),
 *    capped so that everything fits in memory; --chunk N sets it to N floats instead, for a
 *    quick run. The array holds 2.5 chunks, so the last chunk is a partial one.
 * 2. Several devices: the device is split into sub-devices of one compute unit each
 *    (clCreateSubDevices, PoCL CPUs support it), or else given two queues of its own; each gets
 *    an OpenCL context and queue, wrapped by relucl_context_create_from_queue, and its own
 *    thread, and rectifies its share of the array in chunks.
 * Both results must equal ReLU computed on the host, and each other bit for bit.
 * Usage: chunked-relu [device] [--chunk N] */
#include "sample.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PARTS 8

/* One worker's share: data[0, n) rectified in place, chunk floats at a time. */
typedef struct part {
    relucl_context *ctx;
    float *data;
    size_t n, chunk;
    int ok;
} part;

static void *relu_in_chunks(void *arg) {
    part *p = arg;
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    relucl_tensor buffer;
    p->ok = check(p->ctx, relucl_tensor_create(p->ctx, 1, &p->chunk, &buffer));
    for (size_t first = 0; first < p->n && p->ok; first += p->chunk) {
        size_t len = p->n - first < p->chunk ? p->n - first : p->chunk;
        relucl_tensor view; /* the first len elements of the buffer */
        p->ok = check(p->ctx, relucl_tensor_wrap(buffer.buffer, 0, 1, &len, &view)) &&
                check(p->ctx, relucl_tensor_write(p->ctx, &view, p->data + first)) &&
                check(p->ctx, relucl_activation_forward(p->ctx, relu, &view, &view)) &&
                check(p->ctx, relucl_tensor_read(p->ctx, &view, p->data + first));
    }
    relucl_tensor_release(&buffer);
    return NULL;
}

/* relucl contexts for the parts of device: one per sub-device, or two queues on it. */
static int open_parts(cl_device_id device, relucl_context **ctxs, cl_device_id *subs,
                      cl_uint *count) {
    const cl_device_partition_property equally[] = {CL_DEVICE_PARTITION_EQUALLY, 1, 0};
    cl_uint n = 0;
    cl_int err = clCreateSubDevices(device, equally, MAX_PARTS, subs, &n);
    if (err == CL_SUCCESS && n > 1) {
        *count = n;
        printf("split: %u sub-devices of 1 compute unit each (clCreateSubDevices)\n", n);
    } else {
        for (cl_uint i = 0; err == CL_SUCCESS && i < n; i++)
            clReleaseDevice(subs[i]);
        subs[0] = subs[1] = NULL;
        *count = 2;
        printf("split: no sub-devices here; two queues on the one device\n");
    }
    int ok = 1;
    for (cl_uint i = 0; i < *count && ok; i++) {
        cl_device_id d = subs[i] ? subs[i] : device;
        cl_context cl = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
        cl_command_queue queue = err == CL_SUCCESS ? clCreateCommandQueue(cl, d, 0, &err) : NULL;
        ok = err == CL_SUCCESS &&
             relucl_context_create_from_queue(queue, &ctxs[i]) == RELUCL_OK;
        if (!ok)
            fprintf(stderr, "part %u: no context (OpenCL status %d)\n", i, err);
        if (queue) /* the relucl context keeps its own references */
            clReleaseCommandQueue(queue);
        if (cl)
            clReleaseContext(cl);
    }
    return ok;
}

int main(int argc, char **argv) {
    const char *device = NULL;
    size_t chunk = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
            chunk = (size_t)strtoull(argv[++i], NULL, 10);
        else
            device = argv[i];
    relucl_context *ctx = sample_open(device);
    if (!ctx)
        return 1;

    /* The chunk: the device's allocation limit, capped so that the two host arrays and three
     * device chunks (in all 8 chunks' worth) take at most a quarter of the free memory. */
    cl_ulong max_alloc = 0;
    clGetDeviceInfo(relucl_context_device(ctx), CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc,
                    &max_alloc, NULL);
    size_t free_bytes = (size_t)sysconf(_SC_AVPHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
    printf("CL_DEVICE_MAX_MEM_ALLOC_SIZE: %llu MiB, free host memory %zu MiB\n",
           (unsigned long long)(max_alloc >> 20), free_bytes >> 20);
    if (chunk == 0) {
        chunk = (size_t)(max_alloc / sizeof(float));
        if (chunk > free_bytes / 32 / sizeof(float)) {
            chunk = free_bytes / 32 / sizeof(float);
            printf("chunk capped at 1/32 of the free host memory\n");
        }
    }
    size_t n = chunk * 5 / 2;
    printf("array: %zu floats (%zu MiB) in chunks of %zu floats (%zu MiB)\n", n,
           n * sizeof(float) >> 20, chunk, chunk * sizeof(float) >> 20);

    float *input = malloc(n * sizeof(float)), *single = malloc(n * sizeof(float));
    int ok = input && single && n > 0;
    unsigned int state = 1;
    for (size_t i = 0; ok && i < n; i++) { /* values in [-1, 1) from a small LCG */
        state = state * 1664525u + 1013904223u;
        input[i] = (float)(state >> 8) * 0x1.0p-23f - 1.0f;
    }

    /* 1. One device, chunk by chunk. */
    part whole = {ctx, single, n, chunk, 0};
    if (ok) {
        memcpy(single, input, n * sizeof(float));
        relu_in_chunks(&whole);
        ok = whole.ok;
    }
    size_t wrong = 0;
    for (size_t i = 0; ok && i < n; i++)
        wrong += single[i] != (input[i] > 0.0f ? input[i] : 0.0f);
    if (ok)
        printf("one device, %zu chunks: %zu of %zu elements differ from the host's relu\n",
               (n + chunk - 1) / chunk, wrong, n);
    ok = ok && wrong == 0;

    /* 2. The same over several devices or queues, a thread each, in place on input. */
    relucl_context *ctxs[MAX_PARTS] = {NULL};
    cl_device_id subs[MAX_PARTS] = {NULL};
    cl_uint count = 0;
    ok = ok && open_parts(relucl_context_device(ctx), ctxs, subs, &count);
    part parts[MAX_PARTS];
    pthread_t threads[MAX_PARTS];
    for (cl_uint i = 0; ok && i < count; i++) {
        size_t first = n * i / count, last = n * (i + 1) / count;
        parts[i] = (part){ctxs[i], input + first, last - first, chunk, 0};
        printf("part %u: %s, elements [%zu, %zu)\n", i, relucl_context_device_name(ctxs[i]),
               first, last);
        ok = pthread_create(&threads[i], NULL, relu_in_chunks, &parts[i]) == 0;
        if (!ok)
            count = i; /* join only those started */
    }
    for (cl_uint i = 0; i < count; i++) {
        pthread_join(threads[i], NULL);
        ok = ok && parts[i].ok;
    }
    if (ok) {
        ok = memcmp(input, single, n * sizeof(float)) == 0;
        printf("%u parts vs one device: bit for bit %s: %s\n", count, ok ? "equal" : "DIFFERENT",
               ok ? "PASS" : "FAIL");
    }

    for (cl_uint i = 0; i < MAX_PARTS; i++) {
        relucl_context_destroy(ctxs[i]);
        if (subs[i])
            clReleaseDevice(subs[i]);
    }
    free(input);
    free(single);
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
