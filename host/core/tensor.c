/* Tensor descriptors, their buffers, and the host <-> device copies. */
#include "core/core.h"

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

relucl_status relucl__buffer_create(relucl_context *ctx, const char *fn, const char *what,
                                    size_t count, cl_mem *out) {
    /* OpenCL has no empty buffers; an empty tensor still gets one element of storage. */
    if (ctx->max_alloc && count > ctx->max_alloc / sizeof(float))
        return relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn,
                            "%s: %zu floats (%zu bytes) are more than the device's largest "
                            "buffer, %llu bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)",
                            what, count, count * sizeof(float), (unsigned long long)ctx->max_alloc);
    cl_int err = CL_SUCCESS;
    *out =
        clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, (count ? count : 1) * sizeof(float), NULL, &err);
    return err == CL_SUCCESS ? RELUCL_OK : relucl__fail_cl(ctx, fn, what, err);
}

relucl_status relucl__scratch_reserve(relucl_context *ctx, const char *fn, const char *what,
                                      cl_mem *buffer, size_t *size, size_t bytes) {
    if (bytes == 0 || (*buffer && *size >= bytes))
        return RELUCL_OK;
    if (*buffer)
        clReleaseMemObject(*buffer); /* freed once queued work is done with it */
    *buffer = NULL;
    *size = 0;
    cl_int err = CL_SUCCESS;
    cl_mem grown = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return relucl__fail_cl(ctx, fn, what, err);
    *buffer = grown;
    *size = bytes;
    return RELUCL_OK;
}

relucl_status relucl_tensor_create(relucl_context *ctx, int ndim, const size_t *dims,
                                   relucl_tensor *out) {
    static const char fn[] = "relucl_tensor_create";
    RELUCL__TRY(relucl__check_context(ctx));
    if (!out)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "out is NULL");
    if (!dims)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "dims is NULL");
    if (ndim < 1 || ndim > RELUCL_MAX_DIMS)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "ndim is %d, not 1..%d", ndim,
                            RELUCL_MAX_DIMS);
    size_t n = relucl__dims_count(ndim, dims);
    if (n == SIZE_MAX)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "dims: element count overflows");
    cl_mem buffer;
    RELUCL__TRY(relucl__buffer_create(ctx, fn, "dims", n, &buffer));
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
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "t", t, count));
    if (!host && *count > 0)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", host_name);
    return RELUCL_OK;
}

relucl_status relucl_tensor_write(relucl_context *ctx, const relucl_tensor *t, const float *src) {
    static const char fn[] = "relucl_tensor_write";
    size_t n = 0;
    RELUCL__TRY(check_copy(ctx, fn, t, src, "src", &n));
    if (n == 0)
        return RELUCL_OK;
    cl_int err = clEnqueueWriteBuffer(ctx->queue, t->buffer, CL_TRUE, t->offset * sizeof(float),
                                      n * sizeof(float), src, 0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl__fail_cl(ctx, fn, "clEnqueueWriteBuffer", err);
}

relucl_status relucl_tensor_read(relucl_context *ctx, const relucl_tensor *t, float *dst) {
    static const char fn[] = "relucl_tensor_read";
    size_t n = 0;
    RELUCL__TRY(check_copy(ctx, fn, t, dst, "dst", &n));
    cl_int err =
        n == 0 ? clFinish(ctx->queue)
               : clEnqueueReadBuffer(ctx->queue, t->buffer, CL_TRUE, t->offset * sizeof(float),
                                     n * sizeof(float), dst, 0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl__fail_cl(ctx, fn, "clEnqueueReadBuffer", err);
}

relucl_status relucl_tensor_fill(relucl_context *ctx, const relucl_tensor *t, float value) {
    static const char fn[] = "relucl_tensor_fill";
    size_t n = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "t", t, &n));
    if (n == 0)
        return RELUCL_OK;
    cl_int err = clEnqueueFillBuffer(ctx->queue, t->buffer, &value, sizeof value,
                                     t->offset * sizeof(float), n * sizeof(float), 0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl__fail_cl(ctx, fn, "clEnqueueFillBuffer", err);
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

/* ---- Host memory -------------------------------------------------------------------------- */

relucl_status relucl_tensor_wrap_host(relucl_context *ctx, void *data, int ndim, const size_t *dims,
                                      relucl_tensor *out) {
    static const char fn[] = "relucl_tensor_wrap_host";
    RELUCL__TRY(relucl__check_context(ctx));
    if (!out)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "out is NULL");
    if (!dims)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "dims is NULL");
    if (ndim < 1 || ndim > RELUCL_MAX_DIMS)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "ndim is %d, not 1..%d", ndim,
                            RELUCL_MAX_DIMS);
    size_t n = relucl__dims_count(ndim, dims);
    if (n == SIZE_MAX)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "dims: element count overflows");
    if (!data && n > 0)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "data is NULL");
    if ((uintptr_t)data % sizeof(float) != 0)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "data (%p) is not aligned to a float's %zu bytes", data, sizeof(float));
    if (ctx->max_alloc && n > ctx->max_alloc / sizeof(float))
        return relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn,
                            "dims: %zu floats are more than the device's largest buffer, %llu "
                            "bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE)",
                            n, (unsigned long long)ctx->max_alloc);
    cl_mem buffer;
    if (n == 0) { /* OpenCL has no empty buffers, and there is no memory to share */
        RELUCL__TRY(relucl__buffer_create(ctx, fn, "clCreateBuffer (empty tensor)", 0, &buffer));
    } else {
        cl_int err = CL_SUCCESS;
        buffer = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, n * sizeof(float),
                                data, &err);
        if (err != CL_SUCCESS)
            return relucl__fail_cl(ctx, fn, "clCreateBuffer (CL_MEM_USE_HOST_PTR)", err);
    }
    relucl_tensor t = {buffer, 0, ndim, {1, 1, 1, 1}};
    memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    *out = t;
    return RELUCL_OK;
}

relucl_status relucl_tensor_map_host(relucl_context *ctx, const relucl_tensor *t, float **host) {
    static const char fn[] = "relucl_tensor_map_host";
    size_t n = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "t", t, &n));
    if (!host)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "host is NULL");
    if (n == 0) { /* nothing to map; the wait still holds */
        cl_int err = clFinish(ctx->queue);
        if (err != CL_SUCCESS)
            return relucl__fail_cl(ctx, fn, "clFinish", err);
        *host = NULL;
        return RELUCL_OK;
    }
    cl_int err = CL_SUCCESS;
    void *p = clEnqueueMapBuffer(ctx->queue, t->buffer, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE,
                                 t->offset * sizeof(float), n * sizeof(float), 0, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return relucl__fail_cl(ctx, fn, "clEnqueueMapBuffer", err);
    *host = p;
    return RELUCL_OK;
}

relucl_status relucl_tensor_unmap_host(relucl_context *ctx, const relucl_tensor *t, float *host) {
    static const char fn[] = "relucl_tensor_unmap_host";
    size_t n = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "t", t, &n));
    if (!host)
        return n == 0 ? RELUCL_OK
                      : relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "host is NULL");
    cl_int err = clEnqueueUnmapMemObject(ctx->queue, t->buffer, host, 0, NULL, NULL);
    return err == CL_SUCCESS ? RELUCL_OK : relucl__fail_cl(ctx, fn, "clEnqueueUnmapMemObject", err);
}
