/* Pooling: max and average over 2-D windows, and global average pooling, forward and backward.
 *
 * Tensors are NCHW planes taken as (buffer, element offset). Sizes come as ulong2 pairs,
 * .x the height and .y the width. Output (p, q) covers the padded rows p * stride ..
 * p * stride + ksize - 1, that is the input rows from p * stride - pad; the host guarantees
 * pad <= ksize / 2 and ksize <= size + 2 * pad, so every window holds at least one real
 * element. Backward passes gather: each dx element loops over the windows that contain it
 * in row-major order, so no atomics are needed and the sums have a fixed order. */
#pragma OPENCL FP_CONTRACT OFF

/* The input rows [lo, hi) of output row o, padding left out. */
ulong2 window_rows(ulong o, ulong ksize, ulong stride, ulong pad, ulong size) {
    ulong start = o * stride; /* in padded coordinates */
    ulong lo = start - min(start, pad); /* start - pad, or 0 */
    return (ulong2)(lo, min(start + ksize - pad, size));
}

/* The output rows [lo, hi) whose windows contain input row i; empty when stride > ksize
 * leaves i in a gap. */
ulong2 covering_rows(ulong i, ulong ksize, ulong stride, ulong pad, ulong outs) {
    ulong at = i + pad;
    ulong lo = at < ksize ? 0 : (at - ksize) / stride + 1;
    return (ulong2)(lo, min(at / stride + 1, outs));
}

/* y = the window maximum, argmax = its position h * W + w in the input plane. PyTorch's rule:
 * a value replaces the running maximum when it is greater or NaN, so the first of equal
 * maxima wins and NaN propagates. The running maximum starts at -inf on the first real
 * element, so padding never wins, even over a window of -inf. */
kernel void pool_max_forward(global const float *x, ulong xo, global float *y, ulong yo,
                             global float *argmax, ulong ao, ulong n, ulong2 in_size,
                             ulong2 out_size, ulong2 ksize, ulong2 stride, ulong2 pad) {
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    ulong out_plane = out_size.x * out_size.y, o = i % out_plane;
    ulong2 rows = window_rows(o / out_size.y, ksize.x, stride.x, pad.x, in_size.x);
    ulong2 cols = window_rows(o % out_size.y, ksize.y, stride.y, pad.y, in_size.y);
    global const float *in = x + xo + (i / out_plane) * in_size.x * in_size.y;
    ulong best = rows.x * in_size.y + cols.x;
    float best_value = -INFINITY;
    for (ulong h = rows.x; h < rows.y; h++) {
        for (ulong w = cols.x; w < cols.y; w++) {
            float v = in[h * in_size.y + w];
            if (v > best_value || isnan(v)) {
                best_value = v;
                best = h * in_size.y + w;
            }
        }
    }
    y[yo + i] = best_value;
    argmax[ao + i] = (float)best;
}

/* y = the window sum (row-major order) over ksize.x * ksize.y, padding counted as zeros. */
/* argmax is unused: it is there so that both kinds take the same arguments. */
kernel void pool_avg_forward(global const float *x, ulong xo, global float *y, ulong yo,
                             global float *argmax, ulong ao, ulong n, ulong2 in_size, ulong2 out_size, ulong2 ksize,
                             ulong2 stride, ulong2 pad) {
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    ulong out_plane = out_size.x * out_size.y, o = i % out_plane;
    ulong2 rows = window_rows(o / out_size.y, ksize.x, stride.x, pad.x, in_size.x);
    ulong2 cols = window_rows(o % out_size.y, ksize.y, stride.y, pad.y, in_size.y);
    global const float *in = x + xo + (i / out_plane) * in_size.x * in_size.y;
    float sum = 0.0f;
    for (ulong h = rows.x; h < rows.y; h++)
        for (ulong w = cols.x; w < cols.y; w++)
            sum += in[h * in_size.y + w];
    y[yo + i] = sum / (float)(ksize.x * ksize.y);
}

/* dx[e] = the sum of dy over the windows whose argmax is e. An argmax that names no element
 * of its window matches nothing, so a corrupt argmax cannot send a write out of bounds. */
kernel void pool_max_backward(global const float *dy, ulong dyo, global const float *argmax,
                              ulong ao, global float *dx, ulong dxo, ulong n, ulong2 in_size,
                              ulong2 out_size, ulong2 ksize, ulong2 stride, ulong2 pad) {
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    ulong in_plane = in_size.x * in_size.y, e = i % in_plane;
    ulong2 rows = covering_rows(e / in_size.y, ksize.x, stride.x, pad.x, out_size.x);
    ulong2 cols = covering_rows(e % in_size.y, ksize.y, stride.y, pad.y, out_size.y);
    ulong base = (i / in_plane) * out_size.x * out_size.y;
    float position = (float)e, sum = 0.0f;
    for (ulong p = rows.x; p < rows.y; p++) {
        for (ulong q = cols.x; q < cols.y; q++) {
            ulong o = base + p * out_size.y + q;
            if (argmax[ao + o] == position)
                sum += dy[dyo + o];
        }
    }
    dx[dxo + i] = sum;
}

/* dx[e] = the sum over the windows containing e of dy / (ksize.x * ksize.y). */
kernel void pool_avg_backward(global const float *dy, ulong dyo, global const float *argmax,
                              ulong ao, global float *dx, ulong dxo, ulong n, ulong2 in_size, ulong2 out_size, ulong2 ksize,
                              ulong2 stride, ulong2 pad) {
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    ulong in_plane = in_size.x * in_size.y, e = i % in_plane;
    ulong2 rows = covering_rows(e / in_size.y, ksize.x, stride.x, pad.x, out_size.x);
    ulong2 cols = covering_rows(e % in_size.y, ksize.y, stride.y, pad.y, out_size.y);
    global const float *g = dy + dyo + (i / in_plane) * out_size.x * out_size.y;
    float count = (float)(ksize.x * ksize.y), sum = 0.0f;
    for (ulong p = rows.x; p < rows.y; p++)
        for (ulong q = cols.x; q < cols.y; q++)
            sum += g[p * out_size.y + q] / count;
    dx[dxo + i] = sum;
}


/* Global average pooling of small planes (size <= RELUCL_GAP_GROUP): one work-item per plane, summing
 * in order. */
kernel void global_avg_pool_forward(global const float *x, ulong xo, global float *y, ulong yo,
                                    ulong planes, ulong size) {
    size_t i = get_global_id(0);
    if (i >= planes)
        return;
    global const float *in = x + xo + i * size;
    float sum = 0.0f;
    for (ulong k = 0; k < size; k++)
        sum += in[k];
    y[yo + i] = sum / (float)size;
}

/* Larger planes: one work-group per plane. Work-item l sums elements l, l + RELUCL_GAP_GROUP, ...,
 * then a tree over the group adds the partial sums; the order depends on the size alone. */
kernel __attribute__((reqd_work_group_size(RELUCL_GAP_GROUP, 1, 1))) void
global_avg_pool_forward_group(global const float *x, ulong xo, global float *y, ulong yo,
                              ulong size) {
    local float sums[RELUCL_GAP_GROUP];
    size_t lid = get_local_id(0), plane = get_group_id(0);
    global const float *in = x + xo + plane * size;
    float sum = 0.0f;
    for (ulong k = lid; k < size; k += RELUCL_GAP_GROUP)
        sum += in[k];
    sums[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t stride = RELUCL_GAP_GROUP / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            sums[lid] += sums[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        y[yo + plane] = sums[0] / (float)size;
}

/* dx = dy of its plane / size. */
kernel void global_avg_pool_backward(global const float *dy, ulong dyo, global float *dx,
                                     ulong dxo, ulong n, ulong size) {
    size_t i = get_global_id(0);
    if (i < n)
        dx[dxo + i] = dy[dyo + i / size] / (float)size;
}
