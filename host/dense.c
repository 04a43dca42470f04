/* Dense layers: a CLBlast GEMM plus one fused element-wise kernel each way. */
#include "internal.h"

/* Shapes shared by forward and backward: x (batch, in), w (in, out). */
typedef struct dense_shape {
    size_t batch, in, out, slopes;
} dense_shape;

static relucl_status check_matrix(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t, size_t rows, size_t cols) {
    size_t n;
    relucl_status status = relucl_check_tensor(ctx, fn, name, t, &n);
    if (status != RELUCL_OK)
        return status;
    if (t->ndim != 2 || t->dims[0] != rows || t->dims[1] != cols)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "%s must be %zu x %zu (2-D), it is %s%zu x %zu",
                           name, rows, cols, t->ndim != 2 ? "not 2-D: " : "", t->dims[0],
                           t->ndim > 1 ? t->dims[1] : 1);
    return RELUCL_OK;
}

static relucl_status check_vector(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t, size_t count) {
    size_t n;
    relucl_status status = relucl_check_tensor(ctx, fn, name, t, &n);
    return status != RELUCL_OK ? status : relucl_check_same_count(ctx, fn, name, n, "the layer", count);
}

static relucl_status check_layer(relucl_context *ctx, const char *fn, const relucl_dense *layer,
                                 const relucl_tensor *x, dense_shape *s) {
    size_t n;
    relucl_status status = relucl_check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (!layer)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "layer is NULL");
    if ((status = relucl_check_activation(ctx, fn, layer->act, 1)) != RELUCL_OK ||
        (status = relucl_check_tensor(ctx, fn, "layer->w", layer->w, &n)) != RELUCL_OK ||
        (status = relucl_check_tensor(ctx, fn, "x", x, &n)) != RELUCL_OK)
        return status;
    if (layer->w->ndim != 2)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn, "layer->w has ndim %d, must be 2 (in, out)",
                           layer->w->ndim);
    s->in = layer->w->dims[0];
    s->out = layer->w->dims[1];
    s->batch = x->ndim == 2 ? x->dims[0] : 0;
    if ((status = check_matrix(ctx, fn, "x", x, s->batch, s->in)) != RELUCL_OK)
        return status;
    if (layer->b && (status = check_vector(ctx, fn, "layer->b", layer->b, s->out)) != RELUCL_OK)
        return status;
    s->slopes = 0;
    if (layer->act.kind == RELUCL_PRELU) {
        if (!layer->slope)
            return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                               "layer->slope is NULL but act.kind is RELUCL_PRELU");
        if ((status = relucl_check_tensor(ctx, fn, "layer->slope", layer->slope, &s->slopes)) !=
            RELUCL_OK)
            return status;
        if (s->slopes != 1 && s->slopes != s->out)
            return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                               "layer->slope has %zu elements, must be 1 or %zu", s->slopes,
                               s->out);
    }
    return RELUCL_OK;
}

/* An output must not overlap any of the layer's inputs. */
static relucl_status check_output(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t, const relucl_dense *layer,
                                  const relucl_tensor *x) {
    const relucl_tensor *inputs[4] = {x, layer->w, layer->b, layer->slope};
    const char *names[4] = {"x", "layer->w", "layer->b", "layer->slope"};
    relucl_status status = RELUCL_OK;
    for (int i = 0; i < 4 && status == RELUCL_OK; i++)
        status = relucl_check_overlap(ctx, fn, name, t, names[i], inputs[i], 0);
    return status;
}

relucl_status relucl_dense_forward(relucl_context *ctx, const relucl_dense *layer,
                                   const relucl_tensor *x, const relucl_tensor *z,
                                   const relucl_tensor *y) {
    static const char fn[] = "relucl_dense_forward";
    dense_shape s = {0, 0, 0, 0};
    relucl_status status = check_layer(ctx, fn, layer, x, &s);
    if (status == RELUCL_OK)
        status = check_matrix(ctx, fn, "y", y, s.batch, s.out);
    if (status == RELUCL_OK && z)
        status = check_matrix(ctx, fn, "z", z, s.batch, s.out);
    if (status == RELUCL_OK)
        status = check_output(ctx, fn, "y", y, layer, x);
    if (status == RELUCL_OK && z)
        status = check_output(ctx, fn, "z", z, layer, x);
    if (status == RELUCL_OK && z)
        status = relucl_check_overlap(ctx, fn, "y", y, "z", z, 1);
    if (status != RELUCL_OK || s.batch == 0 || s.out == 0)
        return status;

    const relucl_tensor *pre = z ? z : y;
    status = relucl_gemm_in(ctx, fn, 2, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, x, layer->w, 0.0f,
                            pre);
    cl_kernel kernel;
    if (status == RELUCL_OK)
        status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_DENSE, "dense_bias_act", &kernel);
    if (status != RELUCL_OK)
        return status;
    cl_mem b = layer->b ? layer->b->buffer : NULL, sl = s.slopes ? layer->slope->buffer : NULL;
    cl_ulong zo = pre->offset, bo = layer->b ? layer->b->offset : 0,
             so = s.slopes ? layer->slope->offset : 0, yo = y->offset, n = s.batch * s.out,
             cols = s.out;
    cl_int has_bias = layer->b != NULL, shared = s.slopes == 1, kind = (cl_int)layer->act.kind,
           keep_z = z != NULL && !(z->buffer == y->buffer && z->offset == y->offset);
    relucl_arg args[] = {RELUCL_ARG(pre->buffer), RELUCL_ARG(zo),     RELUCL_ARG(b),
                         RELUCL_ARG(bo),          RELUCL_ARG(has_bias), RELUCL_ARG(sl),
                         RELUCL_ARG(so),          RELUCL_ARG(shared), RELUCL_ARG(y->buffer),
                         RELUCL_ARG(yo),          RELUCL_ARG(n),      RELUCL_ARG(cols),
                         RELUCL_ARG(kind),        RELUCL_ARG(layer->act.alpha),
                         RELUCL_ARG(keep_z)};
    status = relucl_set_args(ctx, fn, kernel, args, 15);
    return status != RELUCL_OK ? status : relucl_launch_1d(ctx, fn, kernel, s.batch * s.out, 0);
}

static relucl_status check_grads(relucl_context *ctx, const char *fn, const relucl_dense *layer,
                                 const relucl_dense_grads *grads, const dense_shape *s) {
    relucl_status status = RELUCL_OK;
    if (!grads)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "grads is NULL");
    if (grads->dw)
        status = check_matrix(ctx, fn, "grads->dw", grads->dw, s->in, s->out);
    if (status == RELUCL_OK && grads->db)
        status = check_vector(ctx, fn, "grads->db", grads->db, s->out);
    if (status == RELUCL_OK && grads->dslope && layer->act.kind == RELUCL_PRELU)
        status = check_vector(ctx, fn, "grads->dslope", grads->dslope, s->slopes);
    return status;
}

/* dz = dy * act'(.) in place, with db and dslope summed per column. */
static relucl_status backward_columns(relucl_context *ctx, const char *fn,
                                      const relucl_dense *layer, const relucl_tensor *source,
                                      int from_z, const relucl_tensor *dy,
                                      const relucl_dense_grads *grads, const dense_shape *s) {
    cl_kernel kernel, sum_kernel = NULL;
    relucl_status status =
        relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_DENSE, "dense_backward_columns", &kernel);
    int want_slope = grads->dslope && layer->act.kind == RELUCL_PRELU, shared = s->slopes == 1;
    if (status == RELUCL_OK && want_slope && shared)
        status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_DENSE, "dense_sum", &sum_kernel);
    if (status != RELUCL_OK)
        return status;
    cl_mem scratch = NULL, dslope = want_slope ? grads->dslope->buffer : NULL;
    cl_ulong dso = want_slope ? grads->dslope->offset : 0;
    if (want_slope && shared) {
        cl_int err = CL_SUCCESS;
        scratch = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, s->out * sizeof(float), NULL, &err);
        if (err != CL_SUCCESS)
            return relucl_fail_cl(ctx, fn, "clCreateBuffer (slope partial sums)", err);
        dslope = scratch;
        dso = 0;
    }
    cl_mem sl = s->slopes ? layer->slope->buffer : NULL, db = grads->db ? grads->db->buffer : NULL;
    cl_ulong so = source->offset, dyo = dy->offset, slo = s->slopes ? layer->slope->offset : 0,
             dbo = grads->db ? grads->db->offset : 0, rows = s->batch, cols = s->out;
    cl_int kind = (cl_int)layer->act.kind, accumulate = grads->accumulate != 0, fz = from_z,
           sh = shared;
    relucl_arg args[] = {RELUCL_ARG(source->buffer), RELUCL_ARG(so),   RELUCL_ARG(fz),
                         RELUCL_ARG(dy->buffer),     RELUCL_ARG(dyo),  RELUCL_ARG(sl),
                         RELUCL_ARG(slo),            RELUCL_ARG(sh),   RELUCL_ARG(db),
                         RELUCL_ARG(dbo),            RELUCL_ARG(dslope), RELUCL_ARG(dso),
                         RELUCL_ARG(rows),           RELUCL_ARG(cols), RELUCL_ARG(kind),
                         RELUCL_ARG(layer->act.alpha), RELUCL_ARG(accumulate)};
    status = relucl_set_args(ctx, fn, kernel, args, 17);
    if (status == RELUCL_OK)
        status = relucl_launch_1d(ctx, fn, kernel, s->out, 64);
    if (status == RELUCL_OK && scratch) {
        cl_ulong outo = grads->dslope->offset;
        relucl_arg sum_args[] = {RELUCL_ARG(scratch), RELUCL_ARG(cols),
                                 RELUCL_ARG(grads->dslope->buffer), RELUCL_ARG(outo),
                                 RELUCL_ARG(accumulate)};
        status = relucl_set_args(ctx, fn, sum_kernel, sum_args, 5);
        if (status == RELUCL_OK)
            status = relucl_launch_1d(ctx, fn, sum_kernel, 1, 1);
    }
    if (scratch)
        clReleaseMemObject(scratch); /* freed once the kernels are done with it */
    return status;
}

relucl_status relucl_dense_backward(relucl_context *ctx, const relucl_dense *layer,
                                    const relucl_tensor *x, const relucl_tensor *z,
                                    const relucl_tensor *y, const relucl_tensor *dy,
                                    const relucl_tensor *dx, const relucl_dense_grads *grads) {
    static const char fn[] = "relucl_dense_backward";
    dense_shape s = {0, 0, 0, 0};
    relucl_status status = check_layer(ctx, fn, layer, x, &s);
    if (status != RELUCL_OK)
        return status;
    int needs_z = layer->act.kind == RELUCL_PRELU ||
                  (layer->act.kind == RELUCL_LEAKY_RELU && !(layer->act.alpha > 0.0f));
    if (!z && (needs_z || !y))
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                           needs_z ? "z is NULL: this activation's gradient needs z"
                                   : "z and y are both NULL; give at least one");
    const relucl_tensor *source = z ? z : y;
    if ((status = check_matrix(ctx, fn, z ? "z" : "y", source, s.batch, s.out)) != RELUCL_OK ||
        (status = check_matrix(ctx, fn, "dy", dy, s.batch, s.out)) != RELUCL_OK ||
        (dx && (status = check_matrix(ctx, fn, "dx", dx, s.batch, s.in)) != RELUCL_OK) ||
        (status = check_grads(ctx, fn, layer, grads, &s)) != RELUCL_OK)
        return status;
    /* Everything written must be apart from everything else used. */
    const relucl_tensor *written[4] = {dy, dx, grads->dw, grads->db};
    const char *written_names[4] = {"dy", "dx", "grads->dw", "grads->db"};
    const relucl_tensor *used[8] = {x, source, layer->w, layer->b, layer->slope, dy, dx, grads->dw};
    const char *used_names[8] = {"x", z ? "z" : "y", "layer->w", "layer->b", "layer->slope",
                                 "dy", "dx", "grads->dw"};
    for (int i = 0; i < 4 && status == RELUCL_OK; i++)
        for (int j = 0; j < 8 && status == RELUCL_OK; j++)
            if (written[i] && used[j] && written[i] != used[j])
                status = relucl_check_overlap(ctx, fn, written_names[i], written[i],
                                              used_names[j], used[j], 0);
    if (status != RELUCL_OK || s.out == 0)
        return status;
    if (s.batch == 0) { /* no rows: the gradients are zero */
        const relucl_tensor *grad[3] = {grads->dw, grads->db,
                                        layer->act.kind == RELUCL_PRELU ? grads->dslope : NULL};
        for (int i = 0; i < 3 && status == RELUCL_OK; i++)
            if (grad[i] && !grads->accumulate)
                status = relucl_tensor_fill(ctx, grad[i], 0.0f);
        return status;
    }

    status = backward_columns(ctx, fn, layer, source, z != NULL, dy, grads, &s);
    if (status == RELUCL_OK && grads->dw)
        status = relucl_gemm_in(ctx, fn, 2, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, x, dy,
                                grads->accumulate ? 1.0f : 0.0f, grads->dw);
    if (status == RELUCL_OK && dx)
        status = relucl_gemm_in(ctx, fn, 2, RELUCL_NO_TRANS, RELUCL_TRANS, 1.0f, dy, layer->w,
                                0.0f, dx);
    return status;
}

relucl_status relucl_scale(relucl_context *ctx, const char *fn, const relucl_tensor *t,
                           float factor) {
    cl_kernel kernel;
    relucl_status status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_DENSE, "scale", &kernel);
    if (status != RELUCL_OK)
        return status;
    cl_ulong to = t->offset, n = relucl_tensor_count(t);
    relucl_arg args[] = {RELUCL_ARG(t->buffer), RELUCL_ARG(to), RELUCL_ARG(n), RELUCL_ARG(factor)};
    status = relucl_set_args(ctx, fn, kernel, args, 4);
    return status != RELUCL_OK ? status : relucl_launch_1d(ctx, fn, kernel, (size_t)n, 0);
}
