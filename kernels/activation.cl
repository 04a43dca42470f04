/* Activation functions, forward and backward, and PReLU with its slope gradient.
 *
 * Element-wise kernels take each tensor as (buffer, element offset) and do W elements per
 * work-item with vloadW/vstoreW, which need only float alignment, so any offset works; the
 * n % W tail elements get one work-item each after the vector items. Results are compared bit
 * for bit across devices, so multiply-adds must not be fused. */
#pragma OPENCL FP_CONTRACT OFF

/* The formulas (RELU_F, RELU_G, ...) come from kernels/activation_math.cl, built in front of
 * this file. */

/* Each element-wise kernel exists twice: W = 4 elements per work-item (GPUs: neighbouring
 * work-items read neighbouring 16-byte pieces) and, named with _wide, W = 16 for CPU devices,
 * where a work-item is one AVX-512 register's worth (ELU's expm1 polynomial ran a quarter as
 * fast in float4 on PoCL). Same formulas, same bits. */
#define FORWARD_KERNEL_W(name, F, W)                                                           \
    kernel void name(global const float *x, ulong xo, global float *y, ulong yo, ulong n,      \
                     float a) {                                                                \
        size_t i = get_global_id(0), nw = n / W;                                               \
        x += xo;                                                                               \
        y += yo;                                                                               \
        if (i < nw) {                                                                          \
            float##W v = vload##W(i, x);                                                       \
            store##W(F(float##W, v, a), i, y);                                                 \
        } else {                                                                               \
            size_t j = W * nw + (i - nw);                                                      \
            if (j < n)                                                                         \
                y[j] = F(float, x[j], a);                                                      \
        }                                                                                      \
    }

#define BACKWARD_KERNEL_W(name, G, W)                                                          \
    kernel void name(global const float *s, ulong so, global const float *dy, ulong dyo,       \
                     global float *dx, ulong dxo, ulong n, float a) {                          \
        size_t i = get_global_id(0), nw = n / W;                                               \
        s += so;                                                                               \
        dy += dyo;                                                                             \
        dx += dxo;                                                                             \
        if (i < nw) {                                                                          \
            float##W v = vload##W(i, s), g = vload##W(i, dy);                                  \
            store##W(G(float##W, v, g, a), i, dx);                                             \
        } else {                                                                               \
            size_t j = W * nw + (i - nw);                                                      \
            if (j < n)                                                                         \
                dx[j] = G(float, s[j], dy[j], a);                                              \
        }                                                                                      \
    }

#define FORWARD_KERNEL(name, F) FORWARD_KERNEL_W(name, F, 4) FORWARD_KERNEL_W(name##_wide, F, 16)
#define BACKWARD_KERNEL(name, G)                                                               \
    BACKWARD_KERNEL_W(name, G, 4) BACKWARD_KERNEL_W(name##_wide, G, 16)

FORWARD_KERNEL(relu_forward, RELU_F)
FORWARD_KERNEL(leaky_relu_forward, LEAKY_F)
FORWARD_KERNEL(elu_forward, ELU_F)
/* ELU with alpha 1, most networks' (PyTorch's default): 1 * e is e bit for bit, so these skip
 * a multiply, one of the eleven on the multiply-add pipes that bound ELU on CPUs (a test of
 * alpha inside one kernel became a multiply by a selected 1 or alpha). */
#define ELU1_F(T, x, a) ELU_F(T, x, 1.0f)
#define ELU1_GX(T, s, g, a) ELU_GX(T, s, g, 1.0f)
FORWARD_KERNEL(elu1_forward, ELU1_F)
FORWARD_KERNEL(clipped_relu_forward, CLIPPED_F)
FORWARD_KERNEL(identity_forward, IDENTITY_F)

BACKWARD_KERNEL(relu_backward, RELU_G)
BACKWARD_KERNEL(leaky_relu_backward, LEAKY_G)
BACKWARD_KERNEL(elu_backward_x, ELU_GX)
BACKWARD_KERNEL(elu1_backward_x, ELU1_GX)
BACKWARD_KERNEL(elu_backward_y, ELU_GY)
BACKWARD_KERNEL(clipped_relu_backward, CLIPPED_G)
BACKWARD_KERNEL(identity_backward, IDENTITY_G)

/* PReLU over a (rows, channels * inner) view: work-item (col, row), with col = c * inner + j
 * running along memory, so no 64-bit division per element is needed. A shared slope is
 * inner == width: every column has channel 0, and the last row may be short. */
kernel void prelu_forward(global const float *x, ulong xo, global const float *w, ulong wo,
                          global float *y, ulong yo, uint width, uint rows, uint inner,
                          ulong n) {
    uint col = get_global_id(0), row = get_global_id(1);
    size_t i = (size_t)row * width + col;
    if (col >= width || row >= rows || i >= n)
        return;
    float v = x[xo + i], slope = w[wo + (inner == 1 ? col : col / inner)];
    y[yo + i] = v > 0.0f ? v : slope * v;
}

/* The same gradient for layouts with a short inner extent (dense (N, C) tensors, small
 * images): work-item (col, g) walks column col = c * inner + j down rows g * rows_per_group
 * onwards, so neighbouring work-items read neighbouring floats. Each writes one partial sum;
 * prelu_slope_sum_columns adds a channel's partials in a fixed order. */
kernel void prelu_backward_columns(global const float *x, ulong xo, global const float *w,
                                   ulong wo, global const float *dy, ulong dyo,
                                   global float *dx, ulong dxo, global float *partial,
                                   ulong rows, ulong rows_per_group, ulong inner,
                                   ulong channels) {
    size_t col = get_global_id(0), g = get_global_id(1), width = inner * channels;
    if (col >= width)
        return;
    float slope = w[wo + col / inner], sum = 0.0f;
    size_t end = min((size_t)rows, (g + 1) * (size_t)rows_per_group);
    for (size_t row = g * rows_per_group; row < end; row++) {
        size_t i = row * width + col;
        float v = x[xo + i], d = dy[dyo + i];
        dx[dxo + i] = v > 0.0f ? d : slope * d;
        sum += v > 0.0f ? 0.0f : v * d;
    }
    partial[g * width + col] = sum;
}

/* prelu_forward and prelu_backward_columns for (rows, channels) tensors whose channels are a
 * multiple of 16, on CPU devices: 16 channels are one float16, so the sign test is a vector
 * compare and select (the scalar kernels ran PReLU at a fifth to a half of the device's
 * copy). Same formulas, same sums in the same order. */
kernel void prelu_forward_wide(global const float *x, ulong xo, global const float *w, ulong wo,
                               global float *y, ulong yo, ulong rows, ulong width) {
    size_t c = get_global_id(0) * 16, row = get_global_id(1);
    if (c >= width || row >= rows)
        return;
    size_t i = row * width + c;
    float16 v = vload16(0, x + xo + i), slope = vload16(0, w + wo + c);
    store16(select(slope * v, v, v > 0.0f), 0, y + yo + i);
}

/* 16 channels from c of the row at element i: dx, and the slope-gradient term added to sum. */
#define PRELU_BACKWARD_16(i, c, sum)                                                             \
    do {                                                                                         \
        float16 v = vload16(0, x + (i)), d = vload16(0, dy + (i));                               \
        int16 positive = v > 0.0f;                                                               \
        store16(select(vload16(0, w + (c)) * d, d, positive), 0, dx + (i));                     \
        sum += select(v * d, (float16)(0.0f), positive);                                         \
    } while (0)

/* Work-item g takes rows g * rows_per_group onwards, 64 channels at a time (the last block
 * may have 16, 32 or 48), so x, dy and dx stream through memory in order and the partial sums
 * stay in registers (walking one 16-channel column down the rows ran at half the device's copy
 * once the tensors left the cache). Each channel's sum takes the rows in order, as
 * prelu_backward_columns does. */
kernel void prelu_backward_columns_wide(global const float *x, ulong xo, global const float *w,
                                        ulong wo, global const float *dy, ulong dyo,
                                        global float *dx, ulong dxo, global float *partial,
                                        ulong rows, ulong rows_per_group, ulong width) {
    size_t g = get_global_id(0), begin = g * rows_per_group;
    if (begin >= rows) /* past the last group */
        return;
    size_t count = min((size_t)rows - begin, (size_t)rows_per_group);
    x += xo + begin * width;
    dy += dyo + begin * width;
    dx += dxo + begin * width;
    w += wo;
    partial += g * width;
    for (size_t c = 0; c < width; c += 64) {
        size_t block = min((size_t)width - c, (size_t)64);
        float16 s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
        for (size_t r = 0; r < count; r++) {
            size_t i = r * width + c;
            PRELU_BACKWARD_16(i, c, s0);
            if (block > 16)
                PRELU_BACKWARD_16(i + 16, c + 16, s1);
            if (block > 32)
                PRELU_BACKWARD_16(i + 32, c + 32, s2);
            if (block > 48)
                PRELU_BACKWARD_16(i + 48, c + 48, s3);
        }
        store16(s0, 0, partial + c);
        if (block > 16)
            store16(s1, 0, partial + c + 16);
        if (block > 32)
            store16(s2, 0, partial + c + 32);
        if (block > 48)
            store16(s3, 0, partial + c + 48);
    }
}

/* dw[c] = the partials of channel c summed over groups, then over its columns. */
kernel void prelu_slope_sum_columns(global const float *partial, ulong groups, ulong inner,
                                    ulong channels, global float *dw, ulong dwo) {
    size_t c = get_global_id(0);
    if (c >= channels)
        return;
    float sum = 0.0f;
    for (size_t g = 0; g < groups; g++)
        for (size_t j = 0; j < inner; j++)
            sum += partial[g * inner * channels + c * inner + j];
    dw[dwo + c] = sum;
}

/* prelu_slope_sum_columns for the wide kernel's partials (inner 1): 16 channels a work-item,
 * the same sums in the same order. */
kernel void prelu_slope_sum_columns_wide(global const float *partial, ulong groups, ulong width,
                                         global float *dw, ulong dwo) {
    size_t c = get_global_id(0) * 16;
    if (c >= width)
        return;
    float16 sum = 0.0f;
    for (size_t g = 0; g < groups; g++)
        sum += vload16(0, partial + g * width + c);
    store16(sum, 0, dw + dwo + c);
}

/* Input gradient and per-group partial slope gradients in one pass. Work-group (g, c) walks
 * channel c's elements with a stride of the whole row of groups, so the order of every sum
 * depends only on the shape, never on the device or the run. The host picks the number of
 * groups so each work-item's own run stays short, which keeps the float sums accurate. */
kernel __attribute__((reqd_work_group_size(RELUCL_PRELU_GROUP, 1, 1))) void
prelu_backward(global const float *x, ulong xo, global const float *w, ulong wo,
               global const float *dy, ulong dyo, global float *dx, ulong dxo,
               global float *partial, ulong per_channel, ulong inner, ulong channels) {
    local float sums[RELUCL_PRELU_GROUP];
    size_t lid = get_local_id(0), groups = get_num_groups(0), g = get_group_id(0);
    size_t c = get_global_id(1);
    float slope = w[wo + c], sum = 0.0f;
    for (size_t k = g * RELUCL_PRELU_GROUP + lid; k < per_channel; k += groups * RELUCL_PRELU_GROUP) {
        size_t i = (k / inner) * channels * inner + c * inner + k % inner;
        float v = x[xo + i], d = dy[dyo + i];
        dx[dxo + i] = v > 0.0f ? d : slope * d;
        sum += v > 0.0f ? 0.0f : v * d;
    }
    sums[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t stride = RELUCL_PRELU_GROUP / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            sums[lid] += sums[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        partial[c * groups + g] = sums[0];
}

/* dw[c] = the sum of channel c's partials, in group order. */
kernel void prelu_slope_sum(global const float *partial, ulong groups, global float *dw, ulong dwo,
                            ulong channels) {
    size_t c = get_global_id(0);
    if (c >= channels)
        return;
    float sum = 0.0f;
    for (size_t g = 0; g < groups; g++)
        sum += partial[c * groups + g];
    dw[dwo + c] = sum;
}
