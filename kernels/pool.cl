/* Pooling: max and average over 2-D windows, and global average pooling, forward and backward.
 *
 * Tensors are NCHW planes taken as (buffer, element offset). Sizes come as uint2 pairs, .x the
 * height and .y the width; the host keeps padded sizes below 2^31 and strides at most the
 * padded size. Output (p, q) covers the padded rows p * stride .. p * stride + ksize - 1, that
 * is the input rows from p * stride - pad; the host guarantees pad <= ksize / 2 and
 * ksize <= size + 2 * pad, so every window holds at least one real element. Backward passes
 * gather: each dx element loops over the windows that contain it in row-major order, so no
 * atomics are needed and the sums have a fixed order.
 *
 * The window kernels run on a 3-D range (column, row, plane), so no work-item divides to find
 * its place, and the window arithmetic is 32-bit: 64-bit divisions per element made pooling a
 * fifth of a CNN step on PoCL. */
#pragma OPENCL FP_CONTRACT OFF

/* The input rows [lo, hi) of output row o, padding left out. */
uint2 window_rows(uint o, uint ksize, uint stride, uint pad, uint size) {
    uint start = o * stride; /* in padded coordinates */
    uint lo = start - min(start, pad); /* start - pad, or 0 */
    return (uint2)(lo, min(start + ksize - pad, size));
}

/* The output rows [lo, hi) whose windows contain input row i; empty when stride > ksize
 * leaves i in a gap. */
uint2 covering_rows(uint i, uint ksize, uint stride, uint pad, uint outs) {
    uint at = i + pad;
    uint lo = at < ksize ? 0 : (at - ksize) / stride + 1;
    return (uint2)(lo, min(at / stride + 1, outs));
}

#define POOL_ARGS(a, b, c)                                                                     \
    global const float *a, ulong a##o, global const float *b, ulong b##o, global float *c,     \
        ulong c##o, ulong planes, uint2 in_size, uint2 out_size, uint2 ksize, uint2 stride,    \
        uint2 pad

/* This work-item's column, row and plane of a (planes, size.x, size.y) range; returns from
 * the kernel past its edges. */
#define POOL_PLACE(size)                                                                       \
    uint col = get_global_id(0), row = get_global_id(1);                                       \
    size_t plane = get_global_id(2);                                                           \
    if (col >= size.y || row >= size.x || plane >= planes)                                     \
        return;

/* The forward kernels write y and argmax, so they name their outputs themselves. */
#define POOL_FORWARD_ARGS                                                                      \
    global const float *x, ulong xo, global float *y, ulong yo, global float *argmax,          \
        ulong ao, ulong planes, uint2 in_size, uint2 out_size, uint2 ksize, uint2 stride,      \
        uint2 pad

/* y = the window maximum, argmax = its position h * W + w in the input plane. PyTorch's rule:
 * a value replaces the running maximum when it is greater or NaN, so the first of equal
 * maxima wins and NaN propagates. The running maximum starts at -inf on the first real
 * element, so padding never wins, even over a window of -inf. */
kernel void pool_max_forward(POOL_FORWARD_ARGS) {
    POOL_PLACE(out_size)
    uint2 rows = window_rows(row, ksize.x, stride.x, pad.x, in_size.x);
    uint2 cols = window_rows(col, ksize.y, stride.y, pad.y, in_size.y);
    global const float *in = x + xo + plane * ((size_t)in_size.x * in_size.y);
    uint best = rows.x * in_size.y + cols.x;
    float best_value = -INFINITY;
    for (uint h = rows.x; h < rows.y; h++) {
        for (uint w = cols.x; w < cols.y; w++) {
            float v = in[h * in_size.y + w];
            int take = (v > best_value) | isnan(v); /* |, not ||: no branch */
            best_value = take ? v : best_value;
            best = take ? h * in_size.y + w : best;
        }
    }
    size_t o = plane * ((size_t)out_size.x * out_size.y) + (size_t)row * out_size.y + col;
    y[yo + o] = best_value;
    argmax[ao + o] = (float)best;
}

/* y = the window sum (row-major order) over ksize.x * ksize.y, padding counted as zeros.
 * argmax is unused: it is there so that both kinds take the same arguments. */
kernel void pool_avg_forward(POOL_FORWARD_ARGS) {
    POOL_PLACE(out_size)
    uint2 rows = window_rows(row, ksize.x, stride.x, pad.x, in_size.x);
    uint2 cols = window_rows(col, ksize.y, stride.y, pad.y, in_size.y);
    global const float *in = x + xo + plane * ((size_t)in_size.x * in_size.y);
    float sum = 0.0f;
    for (uint h = rows.x; h < rows.y; h++)
        for (uint w = cols.x; w < cols.y; w++)
            sum += in[(size_t)h * in_size.y + w];
    size_t o = plane * ((size_t)out_size.x * out_size.y) + (size_t)row * out_size.y + col;
    y[yo + o] = sum / (float)((ulong)ksize.x * ksize.y);
}

/* dx[e] = the sum of dy over the windows whose argmax is e. An argmax that names no element
 * of its window matches nothing, so a corrupt argmax cannot send a write out of bounds. */
kernel void pool_max_backward(POOL_ARGS(dy, argmax, dx)) {
    POOL_PLACE(in_size)
    uint2 rows = covering_rows(row, ksize.x, stride.x, pad.x, out_size.x);
    uint2 cols = covering_rows(col, ksize.y, stride.y, pad.y, out_size.y);
    size_t base = plane * ((size_t)out_size.x * out_size.y);
    global const float *g = dy + dyo + base, *a = argmax + argmaxo + base;
    float position = (float)(row * in_size.y + col), sum = 0.0f;
    for (uint p = rows.x; p < rows.y; p++) {
        for (uint q = cols.x; q < cols.y; q++) {
            uint o = p * out_size.y + q;
            if (a[o] == position)
                sum += g[o];
        }
    }
    dx[dxo + plane * ((size_t)in_size.x * in_size.y) + (size_t)row * in_size.y + col] = sum;
}

/* dx[e] = the sum over the windows containing e of dy / (ksize.x * ksize.y). */
kernel void pool_avg_backward(POOL_ARGS(dy, argmax, dx)) {
    POOL_PLACE(in_size)
    uint2 rows = covering_rows(row, ksize.x, stride.x, pad.x, out_size.x);
    uint2 cols = covering_rows(col, ksize.y, stride.y, pad.y, out_size.y);
    global const float *g = dy + dyo + plane * ((size_t)out_size.x * out_size.y);
    float count = (float)((ulong)ksize.x * ksize.y), sum = 0.0f;
    for (uint p = rows.x; p < rows.y; p++)
        for (uint q = cols.x; q < cols.y; q++)
            sum += g[(size_t)p * out_size.y + q] / count;
    dx[dxo + plane * ((size_t)in_size.x * in_size.y) + (size_t)row * in_size.y + col] = sum;
}

/* Max pooling whose windows tile the plane (stride == ksize, no padding: maxpool2 and the
 * like). Every loop has the same trip count in every work-item, which lets PoCL run the
 * work-items of a group as SIMD lanes; the general kernels above, whose windows differ per
 * item, ran 10-30 times slower there. Same results as the general kernels, bit for bit. */
kernel void pool_max_forward_tiled(POOL_FORWARD_ARGS) {
    POOL_PLACE(out_size)
    global const float *in = x + xo + plane * ((size_t)in_size.x * in_size.y);
    uint top = row * ksize.x, left = col * ksize.y;
    uint best = top * in_size.y + left;
    float best_value = -INFINITY;
    for (uint i = 0; i < ksize.x; i++) {
        for (uint j = 0; j < ksize.y; j++) {
            uint at = (top + i) * in_size.y + left + j;
            float v = in[at];
            int take = (v > best_value) | isnan(v); /* |, not ||: no branch */
            best_value = take ? v : best_value;
            best = take ? at : best;
        }
    }
    size_t o = plane * ((size_t)out_size.x * out_size.y) + (size_t)row * out_size.y + col;
    y[yo + o] = best_value;
    argmax[ao + o] = (float)best;
}

/* The maximum of the 2x2 window whose top-left input is at `at` (rows w apart) and its
 * position: each row of the window is one float2 load, which PoCL turns into whole-vector
 * loads and shuffles instead of a gather per element; the comparisons of the tiled kernel,
 * in the same order. */
static float max_2x2(global const float *in, uint at, uint w, uint *where_best) {
    float2 top = vload2(0, in + at), bottom = vload2(0, in + at + w);
    float v[4] = {top.x, top.y, bottom.x, bottom.y};
    uint where[4] = {at, at + 1, at + w, at + w + 1};
    uint best = at;
    float best_value = -INFINITY;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int take = (v[i] > best_value) | isnan(v[i]); /* |, not ||: no branch */
        best_value = take ? v[i] : best_value;
        best = take ? where[i] : best;
    }
    *where_best = best;
    return best_value;
}

/* pool_max_forward_tiled for 2x2 windows, the usual case. */
kernel void pool_max_forward_2x2(POOL_FORWARD_ARGS) {
    POOL_PLACE(out_size)
    global const float *in = x + xo + plane * ((size_t)in_size.x * in_size.y);
    uint best;
    float best_value = max_2x2(in, 2 * row * in_size.y + 2 * col, in_size.y, &best);
    size_t o = plane * ((size_t)out_size.x * out_size.y) + (size_t)row * out_size.y + col;
    y[yo + o] = best_value;
    argmax[ao + o] = (float)best;
}

/* pool_max_forward_2x2 for CPU devices: a work-item per output row, 4 outputs per step from
 * two float8 loads (the window rows), the four candidates compared as float4s in the order of
 * the scalar kernels, so the results are the same bits. One work-item per output left
 * PoCL's per-item cost in charge: 7 ns each, 8.7 ms of the CNN step. Range (1, P, planes). */
kernel void pool_max_forward_2x2_rows(POOL_FORWARD_ARGS) {
    POOL_PLACE(((uint2)(out_size.x, 1)))
    global const float *in = x + xo + plane * ((size_t)in_size.x * in_size.y);
    size_t o = plane * ((size_t)out_size.x * out_size.y) + (size_t)row * out_size.y;
    global float *yr = y + yo + o, *ar = argmax + ao + o;
    uint w = in_size.y, top = 2 * row * w, c = 0;
    /* 4 windows a step, the last step ending at the row's end (it may redo windows of the
     * step before, with the same results) */
    for (; out_size.y >= 4 && c < out_size.y; c += 4) {
        c = min(c, out_size.y - 4);
        uint at = top + 2 * c;
        float8 t = vload8(0, in + at), b = vload8(0, in + at + w);
        uint4 base = (uint4)(at) + (uint4)(0, 2, 4, 6);
        float4 v[4] = {t.even, t.odd, b.even, b.odd};
        uint4 where[4] = {base, base + 1, base + w, base + w + 1};
        float4 best_value = (float4)(-INFINITY);
        uint4 best = base;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int4 take = (v[i] > best_value) | isnan(v[i]);
            best_value = select(best_value, v[i], take);
            best = select(best, where[i], take);
        }
        vstore4(best_value, 0, yr + c);
        vstore4(convert_float4(best), 0, ar + c);
    }
    for (; c < out_size.y; c++) {
        uint best;
        yr[c] = max_2x2(in, top + 2 * c, w, &best);
        ar[c] = (float)best;
    }
}

/* pool_max_backward_tiled for 2x2 windows on CPU devices: a work-item per pair of dx rows
 * (ceil(H / 2) of them), 4 windows per step: 8 floats of each row from one compare of their
 * positions with the argmax. Rows and columns no window covers get 0. Range (1, ceil(H / 2),
 * planes). */
kernel void pool_max_backward_2x2_rows(POOL_ARGS(dy, argmax, dx)) {
    POOL_PLACE(((uint2)((in_size.x + 1) / 2, 1)))
    uint w = in_size.y, top = 2 * row * w;
    global float *d0 = dx + dxo + plane * ((size_t)in_size.x * in_size.y) + top;
    if (row >= out_size.x) { /* the odd last row */
        for (uint j = 0; j < w; j++)
            d0[j] = 0.0f;
        return;
    }
    global float *d1 = d0 + w;
    size_t o = plane * ((size_t)out_size.x * out_size.y) + (size_t)row * out_size.y;
    global const float *g = dy + dyo + o, *a = argmax + argmaxo + o;
    uint c = 0;
    for (; out_size.y >= 4 && c < out_size.y; c += 4) { /* the last step as in the forward */
        c = min(c, out_size.y - 4);
        float4 gv = vload4(0, g + c), av = vload4(0, a + c);
        float8 g8 = (float8)(gv.s0, gv.s0, gv.s1, gv.s1, gv.s2, gv.s2, gv.s3, gv.s3);
        float8 a8 = (float8)(av.s0, av.s0, av.s1, av.s1, av.s2, av.s2, av.s3, av.s3);
        uint8 at = (uint8)(top + 2 * c) + (uint8)(0, 1, 2, 3, 4, 5, 6, 7);
        vstore8(select((float8)(0.0f), g8, convert_float8(at) == a8), 0, d0 + 2 * c);
        vstore8(select((float8)(0.0f), g8, convert_float8(at + w) == a8), 0, d1 + 2 * c);
    }
    for (; c < out_size.y; c++) {
        uint at = top + 2 * c;
        d0[2 * c] = (float)at == a[c] ? g[c] : 0.0f;
        d0[2 * c + 1] = (float)(at + 1) == a[c] ? g[c] : 0.0f;
        d1[2 * c] = (float)(at + w) == a[c] ? g[c] : 0.0f;
        d1[2 * c + 1] = (float)(at + w + 1) == a[c] ? g[c] : 0.0f;
    }
    for (uint j = 2 * out_size.y; j < w; j++) /* the odd last column */
        d0[j] = d1[j] = 0.0f;
}

/* One work-item per tile of the input, ceil(size / ksize) of them per axis: it writes its
 * tile's dx, dy where the window's argmax points and 0 elsewhere, and 0 over the rows and
 * columns past the last window. */
kernel void pool_max_backward_tiled(POOL_ARGS(dy, argmax, dx)) {
    uint2 tiles = (in_size + ksize - 1) / ksize;
    POOL_PLACE(tiles)
    size_t o = plane * ((size_t)out_size.x * out_size.y) + (size_t)row * out_size.y + col;
    int inside = row < out_size.x && col < out_size.y;
    float g = inside ? dy[dyo + o] : 0.0f;
    float a = inside ? argmax[argmaxo + o] : -1.0f;
    global float *out = dx + dxo + plane * ((size_t)in_size.x * in_size.y);
    uint top = row * ksize.x, left = col * ksize.y;
    for (uint i = 0; i < ksize.x; i++) {
        for (uint j = 0; j < ksize.y; j++) {
            uint h = top + i, w = left + j, at = h * in_size.y + w;
            if (h < in_size.x && w < in_size.y)
                out[at] = (float)at == a ? g : 0.0f;
        }
    }
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
