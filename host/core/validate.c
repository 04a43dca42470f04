/* Argument checks. Every public op runs these before it enqueues anything, so a call that
 * fails leaves every buffer as it was. */
#include "core/core.h"

#include <math.h>
#include <stdint.h>

relucl_status relucl__check_context(relucl_context *ctx) {
    if (!ctx)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    ctx->error[0] = '\0';
    return RELUCL_OK;
}

size_t relucl__dims_count(int ndim, const size_t *dims) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] != 0 && n > SIZE_MAX / sizeof(float) / dims[i])
            return SIZE_MAX;
        n *= dims[i];
    }
    return n;
}

relucl_status relucl__check_tensor(relucl_context *ctx, const char *fn, const char *name,
                                   const relucl_tensor *t, size_t *count) {
    if (!t)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", name);
    if (!t->buffer)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s has no buffer", name);
    if (t->ndim < 1 || t->ndim > RELUCL_MAX_DIMS)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has ndim %d, not 1..%d", name, t->ndim,
                            RELUCL_MAX_DIMS);
    size_t n = relucl__dims_count(t->ndim, t->dims);
    if (n == SIZE_MAX)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s: element count overflows", name);
    if (t->offset > SIZE_MAX / sizeof(float) - n)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s: offset %zu overflows", name,
                            t->offset);
    size_t bytes = 0;
    cl_context owner = NULL;
    cl_int err = clGetMemObjectInfo(t->buffer, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(t->buffer, CL_MEM_CONTEXT, sizeof owner, &owner, NULL);
    if (err != CL_SUCCESS)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "%s: buffer is not a valid cl_mem (%s)", name,
                            relucl__cl_error_name(err));
    /* A buffer of another OpenCL context would be used on this context's queue. */
    if (owner != ctx->cl)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "%s: the buffer belongs to another OpenCL context", name);
    size_t capacity = bytes / sizeof(float);
    if (n > 0 && t->offset + n > capacity)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "%s needs elements [%zu, %zu) but its buffer holds %zu", name,
                            t->offset, t->offset + n, capacity);
    *count = n;
    return RELUCL_OK;
}

relucl_status relucl__check_same_count(relucl_context *ctx, const char *fn, const char *a_name,
                                       size_t a_count, const char *b_name, size_t b_count) {
    if (a_count != b_count)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s has %zu elements, %s has %zu", a_name,
                            a_count, b_name, b_count);
    return RELUCL_OK;
}

relucl_status relucl__check_overlap(relucl_context *ctx, const char *fn, const char *out_name,
                                    const relucl_tensor *out, const char *in_name,
                                    const relucl_tensor *in, int allow_same) {
    if (!out || !in || out->buffer != in->buffer)
        return RELUCL_OK;
    size_t out_n = relucl__dims_count(out->ndim, out->dims),
           in_n = relucl__dims_count(in->ndim, in->dims);
    if (out_n == 0 || in_n == 0)
        return RELUCL_OK;
    if (allow_same && out->offset == in->offset && out_n == in_n)
        return RELUCL_OK;
    int disjoint = out->offset + out_n <= in->offset || in->offset + in_n <= out->offset;
    if (disjoint)
        return RELUCL_OK;
    return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s overlaps %s%s", out_name,
                        in_name, allow_same ? " without being the same view" : "");
}

relucl_status relucl__check_apart(relucl_context *ctx, const char *fn, const char *out_name,
                                  const relucl_tensor *out, int count, const char *const *names,
                                  const relucl_tensor *const *list) {
    for (int i = 0; i < count; i++)
        RELUCL__TRY(relucl__check_overlap(ctx, fn, out_name, out, names[i], list[i], 0));
    return RELUCL_OK;
}

relucl_status relucl__check_param(relucl_context *ctx, const char *fn, const char *name, float v,
                                  int positive) {
    if (!isfinite(v))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is %g, not finite", name,
                            (double)v);
    if (positive && !(v > 0.0f))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is %g, must be > 0", name,
                            (double)v);
    return RELUCL_OK;
}
