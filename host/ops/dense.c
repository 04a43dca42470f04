/* Dense layers: a CLBlast GEMM plus one fused element-wise kernel each way. */
#include "ops/ops.h"

/* Shapes shared by forward and backward: x (batch, in), w (in, out) or (out, in). */
typedef struct dense_shape {
    size_t batch, in, out, slopes;
    size_t w_rows, w_cols; /* w's own dims, as its layout has them */
    relucl_transpose w_op; /* w as the GEMM x w must read it */
} dense_shape;

static relucl_status check_matrix(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t, size_t rows, size_t cols) {
    size_t n;
    relucl_status status = relucl__check_tensor(ctx, fn, name, t, &n);
    if (status != RELUCL_OK)
        return status;
    if (t->ndim != 2 || t->dims[0] != rows || t->dims[1] != cols)
        return relucl__fail(
            ctx, RELUCL_ERROR_SHAPE, fn, "%s must be %zu x %zu (2-D), it is %s%zu x %zu", name,
            rows, cols, t->ndim != 2 ? "not 2-D: " : "", t->dims[0], t->ndim > 1 ? t->dims[1] : 1);
    return RELUCL_OK;
}

static relucl_status check_vector(relucl_context *ctx, const char *fn, const char *name,
                                  const relucl_tensor *t, size_t count) {
    size_t n;
    relucl_status status = relucl__check_tensor(ctx, fn, name, t, &n);
    return status != RELUCL_OK ? status
                               : relucl__check_same_count(ctx, fn, name, n, "the layer", count);
}

static relucl_status check_layer(relucl_context *ctx, const char *fn, const relucl_dense *layer,
                                 const relucl_tensor *x, dense_shape *s) {
    size_t n;
    RELUCL__TRY(relucl__check_context(ctx));
    if (!layer)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "layer is NULL");
    RELUCL__TRY(relucl__check_activation(ctx, fn, layer->act, 1));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "layer->w", layer->w, &n));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "x", x, &n));
    if (layer->layout != RELUCL_WEIGHTS_IN_OUT && layer->layout != RELUCL_WEIGHTS_OUT_IN)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "layer->layout is %d, not a relucl_weight_layout", (int)layer->layout);
    int out_in = layer->layout == RELUCL_WEIGHTS_OUT_IN;
    if (layer->w->ndim != 2)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn, "layer->w has ndim %d, must be 2 %s",
                            layer->w->ndim, out_in ? "(out, in)" : "(in, out)");
    s->w_rows = layer->w->dims[0];
    s->w_cols = layer->w->dims[1];
    s->in = out_in ? s->w_cols : s->w_rows;
    s->out = out_in ? s->w_rows : s->w_cols;
    s->w_op = out_in ? RELUCL_TRANS : RELUCL_NO_TRANS;
    s->batch = x->ndim == 2 ? x->dims[0] : 0;
    RELUCL__TRY(check_matrix(ctx, fn, "x", x, s->batch, s->in));
    if (layer->b)
        RELUCL__TRY(check_vector(ctx, fn, "layer->b", layer->b, s->out));
    s->slopes = 0;
    if (layer->act.kind == RELUCL_PRELU) {
        if (!layer->slope)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "layer->slope is NULL but act.kind is RELUCL_PRELU");
        RELUCL__TRY(relucl__check_tensor(ctx, fn, "layer->slope", layer->slope, &s->slopes));
        if (s->slopes != 1 && s->slopes != s->out)
            return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
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
    const char *const names[4] = {"x", "layer->w", "layer->b", "layer->slope"};
    return relucl__check_apart(ctx, fn, name, t, 4, names, inputs);
}

relucl_status relucl_dense_forward(relucl_context *ctx, const relucl_dense *layer,
                                   const relucl_tensor *x, const relucl_tensor *z,
                                   const relucl_tensor *y) {
    static const char fn[] = "relucl_dense_forward";
    dense_shape s = {0};
    RELUCL__TRY(check_layer(ctx, fn, layer, x, &s));
    RELUCL__TRY(check_matrix(ctx, fn, "y", y, s.batch, s.out));
    if (z)
        RELUCL__TRY(check_matrix(ctx, fn, "z", z, s.batch, s.out));
    RELUCL__TRY(check_output(ctx, fn, "y", y, layer, x));
    if (z) {
        RELUCL__TRY(check_output(ctx, fn, "z", z, layer, x));
        RELUCL__TRY(relucl__check_overlap(ctx, fn, "y", y, "z", z, 1));
    }
    if (s.batch == 0 || s.out == 0)
        return RELUCL_OK;

    const relucl_tensor *pre = z ? z : y;
    int keep_z = z != NULL && !(z->buffer == y->buffer && z->offset == y->offset);
    if (!keep_z && layer->act.kind != RELUCL_PRELU && s.w_op == RELUCL_NO_TRANS && s.in > 0 &&
        relucl__gemm_own_wanted(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS)) {
        /* One pass: the own GEMM adds the bias and applies the activation as it stores y. */
        relucl__epilogue ep = {layer->b, RELUCL__BIAS_PER_COLUMN, layer->act};
        return relucl__gemm_own(ctx, fn, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, x, layer->w, 0.0f,
                                y, s.batch, s.out, s.in, 1, 0, 0, &ep);
    }
    RELUCL__TRY(relucl__gemm(ctx, fn, 2, RELUCL_NO_TRANS, s.w_op, 1.0f, x, layer->w, 0.0f, pre));
    const size_t global[2] = {s.out, s.batch};
    return RELUCL__LAUNCH(
        ctx, fn, RELUCL_PROGRAM_DENSE, "dense_bias_act", relucl__range_shaped(ctx, 2, global),
        RELUCL__TENSOR(pre), RELUCL__TENSOR_OR(layer->b, NULL), RELUCL__INT(layer->b != NULL),
        RELUCL__TENSOR_OR(s.slopes ? layer->slope : NULL, NULL), RELUCL__INT(s.slopes == 1),
        RELUCL__TENSOR(y), RELUCL__ULONG(s.batch), RELUCL__ULONG(s.out),
        RELUCL__INT(layer->act.kind), RELUCL__FLOAT(layer->act.alpha), RELUCL__INT(keep_z));
}

static relucl_status check_grads(relucl_context *ctx, const char *fn, const relucl_dense *layer,
                                 const relucl_dense_grads *grads, const dense_shape *s) {
    if (!grads)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "grads is NULL");
    if (grads->dw)
        RELUCL__TRY(check_matrix(ctx, fn, "grads->dw", grads->dw, s->w_rows, s->w_cols));
    if (grads->dz)
        RELUCL__TRY(check_matrix(ctx, fn, "grads->dz", grads->dz, s->batch, s->out));
    if (grads->db)
        RELUCL__TRY(check_vector(ctx, fn, "grads->db", grads->db, s->out));
    if (grads->dslope && layer->act.kind == RELUCL_PRELU)
        RELUCL__TRY(check_vector(ctx, fn, "grads->dslope", grads->dslope, s->slopes));
    return RELUCL_OK;
}

/* dz = dy * act'(.) (dz may be dy), with db and dslope summed per column. A slope shared by every
 * column gets its per-column sums in scratch first, then one sum of those. */
static relucl_status backward_columns(relucl_context *ctx, const char *fn,
                                      const relucl_dense *layer, const relucl_tensor *source,
                                      int from_z, const relucl_tensor *dy, const relucl_tensor *dz,
                                      const relucl_dense_grads *grads, const dense_shape *s) {
    int want_slope = grads->dslope && layer->act.kind == RELUCL_PRELU, shared = s->slopes == 1;
    relucl_tensor scratch = {NULL, 0, 1, {s->out, 1, 1, 1}};
    if (want_slope && shared) {
        cl_kernel unused; /* both kernels exist before anything is enqueued */
        RELUCL__TRY(relucl__kernel_get(ctx, fn, RELUCL_PROGRAM_DENSE, "dense_sum", &unused));
        RELUCL__TRY(relucl__buffer_create(ctx, fn, "clCreateBuffer (slope partial sums)", s->out,
                                          &scratch.buffer));
    }
    const relucl_tensor *slope_sums = scratch.buffer ? &scratch : want_slope ? grads->dslope : NULL;
    int wide = ctx->wide && s->out % 16 == 0; /* 16 columns a work-item on CPU devices */
    const char *kernel = wide ? "dense_backward_columns_wide" : "dense_backward_columns";
    relucl_status status = RELUCL__LAUNCH(
        ctx, fn, RELUCL_PROGRAM_DENSE, kernel,
        wide ? relucl__range_1d(ctx, s->out / 16, 1) : relucl__range_1d(ctx, s->out, 64),
        RELUCL__TENSOR(source), RELUCL__INT(from_z), RELUCL__TENSOR(dy), RELUCL__TENSOR(dz),
        RELUCL__TENSOR_OR(s->slopes ? layer->slope : NULL, NULL), RELUCL__INT(shared),
        RELUCL__TENSOR_OR(grads->db, NULL), RELUCL__TENSOR_OR(slope_sums, NULL),
        RELUCL__ULONG(s->batch), RELUCL__ULONG(s->out), RELUCL__INT(layer->act.kind),
        RELUCL__FLOAT(layer->act.alpha), RELUCL__INT(grads->accumulate != 0));
    if (status == RELUCL_OK && scratch.buffer)
        status =
            RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_DENSE, "dense_sum", relucl__range_1d(ctx, 1, 1),
                           RELUCL__MEM(scratch.buffer), RELUCL__ULONG(s->out),
                           RELUCL__TENSOR(grads->dslope), RELUCL__INT(grads->accumulate != 0));
    if (scratch.buffer)
        clReleaseMemObject(scratch.buffer); /* freed once the kernels are done with it */
    return status;
}

relucl_status relucl_dense_backward(relucl_context *ctx, const relucl_dense *layer,
                                    const relucl_tensor *x, const relucl_tensor *z,
                                    const relucl_tensor *y, const relucl_tensor *dy,
                                    const relucl_tensor *dx, const relucl_dense_grads *grads) {
    static const char fn[] = "relucl_dense_backward";
    dense_shape s = {0};
    RELUCL__TRY(check_layer(ctx, fn, layer, x, &s));
    int needs_z = layer->act.kind == RELUCL_PRELU ||
                  (layer->act.kind == RELUCL_LEAKY_RELU && !(layer->act.alpha > 0.0f));
    if (!z && (needs_z || !y))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            needs_z ? "z is NULL: this activation's gradient needs z"
                                    : "z and y are both NULL; give at least one");
    const relucl_tensor *source = z ? z : y;
    RELUCL__TRY(check_matrix(ctx, fn, z ? "z" : "y", source, s.batch, s.out));
    RELUCL__TRY(check_matrix(ctx, fn, "dy", dy, s.batch, s.out));
    if (dx)
        RELUCL__TRY(check_matrix(ctx, fn, "dx", dx, s.batch, s.in));
    RELUCL__TRY(check_grads(ctx, fn, layer, grads, &s));
    /* Everything written must be apart from everything else used; dz may be dy. */
    const relucl_tensor *dz = grads->dz ? grads->dz : dy;
    int dz_is_dy = dz->buffer == dy->buffer && dz->offset == dy->offset;
    const relucl_tensor *all[10] = {x,  source, layer->w,  layer->b,  layer->slope,
                                    dy, dx,     grads->dw, grads->db, dz_is_dy ? NULL : dz};
    const char *names[10] = {"x",  z ? "z" : "y", "layer->w",  "layer->b",  "layer->slope",
                             "dy", "dx",          "grads->dw", "grads->db", "grads->dz"};
    const int written[10] = {0, 0, 0, 0, 0, dz_is_dy, 1, 1, 1, 1};
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++)
            if (written[i] && i != j && all[i] && all[j])
                RELUCL__TRY(relucl__check_overlap(ctx, fn, names[i], all[i], names[j], all[j], 0));
    if (s.out == 0)
        return RELUCL_OK;
    if (s.batch == 0) { /* no rows: the gradients are zero */
        const relucl_tensor *grad[3] = {grads->dw, grads->db,
                                        layer->act.kind == RELUCL_PRELU ? grads->dslope : NULL};
        for (int i = 0; i < 3; i++)
            if (grad[i] && !grads->accumulate)
                RELUCL__TRY(relucl_tensor_fill(ctx, grad[i], 0.0f));
        return RELUCL_OK;
    }

    RELUCL__TRY(backward_columns(ctx, fn, layer, source, z != NULL, dy, dz, grads, &s));
    int out_in = layer->layout == RELUCL_WEIGHTS_OUT_IN;
    float beta = grads->accumulate ? 1.0f : 0.0f;
    if (grads->dw)
        RELUCL__TRY(out_in ? relucl__gemm(ctx, fn, 2, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, dz, x,
                                          beta, grads->dw)
                           : relucl__gemm(ctx, fn, 2, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, x, dz,
                                          beta, grads->dw));
    if (dx)
        RELUCL__TRY(relucl__gemm(ctx, fn, 2, RELUCL_NO_TRANS,
                                 out_in ? RELUCL_NO_TRANS : RELUCL_TRANS, 1.0f, dz, layer->w, 0.0f,
                                 dx));
    return RELUCL_OK;
}
