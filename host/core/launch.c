/* The single path from an op to the device: kernel lookup, arguments, index space, enqueue.
 * Nothing else in relucl calls clEnqueueNDRangeKernel, so whatever must hold for every
 * launch (ordering, events, profiling) is added here once. */
#include "core/core.h"

static size_t round_up(size_t n, size_t multiple) {
    return (n + multiple - 1) / multiple * multiple;
}

static size_t default_group(const relucl_context *ctx) {
    return ctx->max_work_group < 256 ? ctx->max_work_group : 256;
}

relucl__range relucl__range_1d(const relucl_context *ctx, size_t items, size_t local) {
    relucl__range r = {1, {items, 1, 1}, {local ? local : default_group(ctx), 1, 1}};
    return r;
}

relucl__range relucl__range_vector(const relucl_context *ctx, size_t n) {
    return relucl__range_1d(ctx, n / RELUCL_VECTOR_WIDTH + n % RELUCL_VECTOR_WIDTH, 0);
}

relucl__range relucl__range_2d(size_t global0, size_t global1, size_t local0, size_t local1) {
    relucl__range r = {2, {global0, global1, 1}, {local0, local1, 1}};
    return r;
}

/* A power of two >= n, but at most cap (a power of two). */
static size_t group_extent(size_t n, size_t cap) {
    size_t e = 1;
    while (e < n && e < cap)
        e <<= 1;
    return e;
}

relucl__range relucl__range_shaped(const relucl_context *ctx, cl_uint dims, const size_t *global) {
    relucl__range r = {dims, {1, 1, 1}, {1, 1, 1}};
    size_t cap = default_group(ctx);
    for (cl_uint i = 0; i < dims; i++)
        r.global[i] = global[i];
    r.local[0] = group_extent(global[0], cap < 64 ? cap : 64);
    if (dims > 1)
        r.local[1] = group_extent(global[1], cap / r.local[0]);
    return r;
}

relucl_status relucl__launch(relucl_context *ctx, const char *fn, relucl__program_id program,
                             const char *name, relucl__range range, const relucl__arg *args,
                             size_t count) {
    size_t global[3];
    for (cl_uint i = 0; i < range.dims; i++) {
        if (range.global[i] == 0)
            return RELUCL_OK;
        global[i] = round_up(range.global[i], range.local[i]);
    }
    cl_kernel kernel;
    RELUCL__TRY(relucl__kernel_get(ctx, fn, program, name, &kernel));
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS)
            return relucl__fail_cl(ctx, fn, "clSetKernelArg", err);
    }
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, range.dims, NULL, global, range.local,
                                        0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl__fail_cl(ctx, fn, "clEnqueueNDRangeKernel", err);
}
