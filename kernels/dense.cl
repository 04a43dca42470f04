/* The element-wise halves of a dense layer: bias plus activation after the forward GEMM, and
 * the activation gradient with the bias and PReLU-slope reductions before the backward GEMMs.
 * The formulas come from kernels/activation_math.cl, built in front of this file, so a dense
 * layer's activation gives the same bits as relucl_activation_forward. */
#pragma OPENCL FP_CONTRACT OFF

float activate(int kind, float v, float a, float slope) {
    return kind == RELUCL_KIND_PRELU ? (v > 0.0f ? v : slope * v) : activate_float(v, kind, a);
}

/* s is the pre-activation z when from_z, else the output y (see semantics of each formula);
 * gradient_float and gradient_float16 (16 columns at once, lane by lane the same formulas). */
#define GRADIENT_FN(T)                                                                         \
    T gradient_##T(int kind, int from_z, T s, T g, float a, T slope) {                         \
        switch (kind) {                                                                        \
        case RELUCL_KIND_RELU: return RELU_G(T, s, g, a);                                      \
        case RELUCL_KIND_LEAKY: return LEAKY_G(T, s, g, a);                                    \
        case RELUCL_KIND_ELU: return from_z ? ELU_GX(T, s, g, a) : ELU_GY(T, s, g, a);         \
        case RELUCL_KIND_CLIPPED: return CLIPPED_G(T, s, g, a);                                \
        case RELUCL_KIND_PRELU: return select(slope * g, g, s > (T)0.0f);                      \
        default: return g;                                                                     \
        }                                                                                      \
    }
GRADIENT_FN(float)
GRADIENT_FN(float16)

/* y = act(z + b) over a (rows, cols) matrix; z keeps the pre-activation when keep_z. */
kernel void dense_bias_act(global float *z, ulong zo, global const float *b, ulong bo,
                           int has_bias, global const float *slope, ulong so, int shared_slope,
                           global float *y, ulong yo, ulong rows, ulong cols, int kind, float a,
                           int keep_z) {
    size_t c = get_global_id(0), row = get_global_id(1), i = row * cols + c;
    if (c >= cols || row >= rows)
        return;
    float v = z[zo + i];
    if (has_bias)
        v += b[bo + c];
    float w = kind == RELUCL_KIND_PRELU ? slope[so + (shared_slope ? 0 : c)] : 0.0f;
    if (keep_z)
        z[zo + i] = v;
    y[yo + i] = activate(kind, v, a, w);
}

/* One work-item per column walks the rows in order: dz = dy * act' (dz may be dy), and the
 * column's bias gradient and PReLU slope gradient are summed on the way, so the sums are the
 * same on every run. With a shared slope the column sums go to dslope's scratch and are added
 * up by dense_sum. */
kernel void dense_backward_columns(global const float *s, ulong so, int from_z,
                                   global const float *dy, ulong dyo, global float *dz, ulong dzo,
                                   global const float *slope, ulong slo,
                                   int shared_slope, global float *db, ulong dbo,
                                   global float *dslope, ulong dso, ulong rows, ulong cols,
                                   int kind, float a, int accumulate) {
    size_t c = get_global_id(0);
    if (c >= cols)
        return;
    float w = kind == RELUCL_KIND_PRELU ? slope[slo + (shared_slope ? 0 : c)] : 0.0f;
    float bias_sum = 0.0f, slope_sum = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        size_t i = r * cols + c;
        float v = s[so + i], g = dy[dyo + i];
        float d = gradient_float(kind, from_z, v, g, a, w);
        dz[dzo + i] = d; /* dz may be dy: element i is read above before it is written */
        bias_sum += d;
        slope_sum += v > 0.0f ? 0.0f : v * g;
    }
    if (db)
        db[dbo + c] = accumulate ? db[dbo + c] + bias_sum : bias_sum;
    if (dslope && kind == RELUCL_KIND_PRELU) {
        if (shared_slope)
            dslope[dso + c] = slope_sum; /* scratch: one partial per column */
        else
            dslope[dso + c] = accumulate ? dslope[dso + c] + slope_sum : slope_sum;
    }
}

/* dense_backward_columns for CPU devices where cols is a multiple of 16: a work-item takes 16
 * columns as one float16 (one per column ran the MLP's 128 x 256 at 37 us, a third of the
 * copy's speed), the same sums in the same order. */
kernel void dense_backward_columns_wide(global const float *s, ulong so, int from_z,
                                        global const float *dy, ulong dyo, global float *dz,
                                        ulong dzo, global const float *slope, ulong slo,
                                        int shared_slope, global float *db, ulong dbo,
                                        global float *dslope, ulong dso, ulong rows, ulong cols,
                                        int kind, float a, int accumulate) {
    size_t c = get_global_id(0) * 16;
    if (c >= cols)
        return;
    float16 w = 0.0f;
    if (kind == RELUCL_KIND_PRELU)
        w = shared_slope ? (float16)(slope[slo]) : vload16(0, slope + slo + c);
    float16 bias_sum = 0.0f, slope_sum = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        size_t i = r * cols + c;
        float16 v = vload16(0, s + so + i), g = vload16(0, dy + dyo + i);
        float16 d = gradient_float16(kind, from_z, v, g, a, w);
        store16(d, 0, dz + dzo + i); /* dz may be dy: read above before it is written */
        bias_sum += d;
        slope_sum += select(v * g, (float16)(0.0f), v > 0.0f);
    }
    if (db)
        store16(accumulate ? vload16(0, db + dbo + c) + bias_sum : bias_sum, 0, db + dbo + c);
    if (dslope && kind == RELUCL_KIND_PRELU) {
        if (!shared_slope && accumulate)
            slope_sum = vload16(0, dslope + dso + c) + slope_sum;
        store16(slope_sum, 0, dslope + dso + c); /* shared: one partial per column */
    }
}

/* out = sum of part[0..n), in order (plus out's old value when accumulating). */
kernel void dense_sum(global const float *part, ulong n, global float *out, ulong oo,
                      int accumulate) {
    if (get_global_id(0) != 0)
        return;
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++)
        sum += part[i];
    out[oo] = accumulate ? out[oo] + sum : sum;
}
