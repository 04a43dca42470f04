/* Tensor descriptors and the host <-> device copies. */
#include "internal.h"

#include <string.h>

relucl_status relucl_tensor_wrap(cl_mem buffer, size_t offset, int ndim, const size_t *dims,
                                 relucl_tensor *out) {
    if (!out || (!dims && ndim > 0) || ndim < 1 || ndim > RELUCL_MAX_DIMS)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_tensor t = {buffer, offset, ndim, {1, 1, 1, 1}};
    memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    *out = t;
    return RELUCL_OK;
}

size_t relucl_tensor_count(const relucl_tensor *t) {
    if (!t || t->ndim < 1 || t->ndim > RELUCL_MAX_DIMS)
        return 0;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

relucl_status relucl_tensor_create(relucl_context *ctx, int ndim, const size_t *dims,
                                   relucl_tensor *out) {
    static const char fn[] = "relucl_tensor_create";
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (!out)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "out is NULL");
    if (!dims)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "dims is NULL");
    if (ndim < 1 || ndim > RELUCL_MAX_DIMS)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "ndim is %d, not 1..%d", ndim,
                           RELUCL_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] != 0 && n > SIZE_MAX / sizeof(float) / dims[i])
            return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "dims: element count overflows");
        n *= dims[i];
    }
    /* OpenCL has no empty buffers; an empty tensor still gets one element of storage. */
    size_t bytes = (n ? n : 1) * sizeof(float);
    cl_int err = CL_SUCCESS;
    cl_mem buffer = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return relucl_fail_cl(ctx, fn, "clCreateBuffer", err);
    relucl_tensor t = {buffer, 0, ndim, {1, 1, 1, 1}};
    memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    *out = t;
    return RELUCL_OK;
}

void relucl_tensor_release(relucl_tensor *t) {
    if (!t)
        return;
    if (t->buffer)
        clReleaseMemObject(t->buffer);
    memset(t, 0, sizeof *t);
}

/* Checks shared by read and write. */
static relucl_status check_copy(relucl_context *ctx, const char *fn, const relucl_tensor *t,
                                const void *host, const char *host_name, size_t *count) {
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    status = relucl_check_tensor(ctx, fn, "t", t, count);
    if (status == RELUCL_OK && !host && *count > 0)
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", host_name);
    return status;
}

relucl_status relucl_tensor_write(relucl_context *ctx, const relucl_tensor *t, const float *src) {
    static const char fn[] = "relucl_tensor_write";
    size_t n = 0;
    relucl_status status = check_copy(ctx, fn, t, src, "src", &n);
    if (status != RELUCL_OK || n == 0)
        return status;
    cl_int err = clEnqueueWriteBuffer(ctx->queue, t->buffer, CL_TRUE, t->offset * sizeof(float),
                                      n * sizeof(float), src, 0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl_fail_cl(ctx, fn, "clEnqueueWriteBuffer", err);
}

relucl_status relucl_tensor_read(relucl_context *ctx, const relucl_tensor *t, float *dst) {
    static const char fn[] = "relucl_tensor_read";
    size_t n = 0;
    relucl_status status = check_copy(ctx, fn, t, dst, "dst", &n);
    if (status != RELUCL_OK)
        return status;
    cl_int err = n == 0 ? clFinish(ctx->queue)
                        : clEnqueueReadBuffer(ctx->queue, t->buffer, CL_TRUE,
                                              t->offset * sizeof(float), n * sizeof(float), dst,
                                              0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl_fail_cl(ctx, fn, "clEnqueueReadBuffer", err);
}

relucl_status relucl_tensor_fill(relucl_context *ctx, const relucl_tensor *t, float value) {
    static const char fn[] = "relucl_tensor_fill";
    size_t n = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "t", t, &n);
    if (status != RELUCL_OK || n == 0)
        return status;
    cl_int err = clEnqueueFillBuffer(ctx->queue, t->buffer, &value, sizeof value,
                                     t->offset * sizeof(float), n * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl_fail_cl(ctx, fn, "clEnqueueFillBuffer", err);
}

relucl_status relucl_tensor_reshape(const relucl_tensor *t, int ndim, const size_t *dims,
                                    relucl_tensor *out) {
    relucl_tensor view;
    if (!t || relucl_tensor_wrap(t->buffer, t->offset, ndim, dims, &view) != RELUCL_OK)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    if (t->ndim < 1 || t->ndim > RELUCL_MAX_DIMS ||
        relucl_tensor_count(&view) != relucl_tensor_count(t))
        return RELUCL_ERROR_SHAPE;
    *out = view;
    return RELUCL_OK;
}
