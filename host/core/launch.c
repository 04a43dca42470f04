/* The single path from an op to the device: kernel lookup, arguments, index space, enqueue;
 * and the two calls that order that path against other queues.
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

relucl__range relucl__range_elements(const relucl_context *ctx, size_t n) {
    size_t width = ctx->wide ? 16 : RELUCL_VECTOR_WIDTH;
    return relucl__range_1d(ctx, n / width + n % width, 0);
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
    cl_event *event = relucl__profile_event(ctx, name);
    cl_int err = clEnqueueNDRangeKernel(ctx->queue, kernel, range.dims, NULL, global, range.local,
                                        0, NULL, event);
    if (err != CL_SUCCESS)
        return relucl__fail_cl(ctx, fn, "clEnqueueNDRangeKernel", err);
    relucl__profile_enqueued(ctx, event);
    return RELUCL_OK;
}

/* Ordering against other queues. Every command relucl enqueues (kernels here, CLBlast's GEMMs,
 * buffer copies and fills) goes to ctx->queue, which is in order, so one barrier orders all
 * later work after the events and one marker completes after all earlier work. CLBlast takes
 * no wait list, so a per-launch list could not have covered its GEMMs; the barrier does. */

/* An event the barrier may wait on: valid, of this OpenCL context, not failed. */
static relucl_status check_event(relucl_context *ctx, const char *fn, cl_uint i, cl_event event) {
    if (!event)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "events[%u] is NULL", i);
    cl_context owner = NULL;
    cl_int err = clGetEventInfo(event, CL_EVENT_CONTEXT, sizeof owner, &owner, NULL);
    if (err != CL_SUCCESS)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "events[%u] is not a valid event (%s)", i, relucl__cl_error_name(err));
    if (owner != ctx->cl)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "events[%u] belongs to another OpenCL context", i);
    cl_int state = CL_COMPLETE;
    err = clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL);
    if (err == CL_SUCCESS && state < 0)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "events[%u] ended in error %s (%d)", i, relucl__cl_error_name(state),
                            state);
    return RELUCL_OK;
}

relucl_status relucl_context_wait_events(relucl_context *ctx, cl_uint count,
                                         const cl_event *events) {
    static const char fn[] = "relucl_context_wait_events";
    RELUCL__TRY(relucl__check_context(ctx));
    if (count == 0)
        return RELUCL_OK;
    if (!events)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "events is NULL, count is %u",
                            count);
    for (cl_uint i = 0; i < count; i++)
        RELUCL__TRY(check_event(ctx, fn, i, events[i]));
    cl_int err = clEnqueueBarrierWithWaitList(ctx->queue, count, events, NULL);
    return err == CL_SUCCESS ? RELUCL_OK
                             : relucl__fail_cl(ctx, fn, "clEnqueueBarrierWithWaitList", err);
}

relucl_status relucl_context_record_event(relucl_context *ctx, cl_event *event) {
    static const char fn[] = "relucl_context_record_event";
    RELUCL__TRY(relucl__check_context(ctx));
    if (!event)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "event is NULL");
    cl_event marker = NULL;
    cl_int err = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &marker);
    if (err != CL_SUCCESS)
        return relucl__fail_cl(ctx, fn, "clEnqueueMarkerWithWaitList", err);
    *event = marker;
    return RELUCL_OK;
}
