/* 2-D convolution, NCHW input and KCRS filters: the direct (NAIVE) kernels, which are the
 * reference, and the im2col / col2im / bias-and-activation kernels around the CLBlast GEMMs of
 * the GEMM path (host/ops/conv_gemm.c). kernels/activation_math.cl is built in front of this
 * file, so a fused activation gives the same bits as relucl_activation_forward.
 *
 * Every kernel runs over a 1-, 2- or 3-D range whose fastest dimension walks the innermost
 * array axis, so neighbouring work-items touch neighbouring floats and the coordinates taken
 * from the slower dimensions are shared by a row of work-items. The host rounds the first two
 * dimensions up to whole work-groups (relucl__range_shaped, host/core/launch.c); the kernels
 * skip the tail, after decoding the slowest coordinate: unconditional, that work can be
 * hoisted out of the loop over a group's work-items that a CPU implementation such as PoCL
 * runs.
 * Coordinates are computed in long: a padded coordinate may be negative. Padding contributes
 * nothing to a sum (it is skipped, not multiplied by zero). */
#pragma OPENCL FP_CONTRACT OFF

/* The geometry as host/ops/conv_geometry.c packs it into an int16 (relucl__conv_pack): every
 * value is checked there to be at most INT_MAX. */
#define GC ((long)g.s0)  /* input channels */
#define GH ((long)g.s1)  /* input height */
#define GW ((long)g.s2)  /* input width */
#define GK ((long)g.s3)  /* output channels */
#define GR ((long)g.s4)  /* filter height */
#define GS ((long)g.s5)  /* filter width */
#define GP ((long)g.s6)  /* output height */
#define GQ ((long)g.s7)  /* output width */
#define GCG ((long)g.s8) /* input channels per group */
#define GKG ((long)g.s9) /* output channels per group */
#define SH ((long)g.sa)  /* stride */
#define SW ((long)g.sb)
#define PH ((long)g.sc)  /* padding */
#define PW ((long)g.sd)
#define DH ((long)g.se)  /* dilation */
#define DW ((long)g.sf)

/* y[n, k, p, q] = act(b[k] + sum over c, r, s (in that order) of x * w); range (Q, P, N * K). */
kernel void conv_forward_naive(global const float *x, ulong xo, global const float *w, ulong wo,
                               global const float *b, ulong bo, int has_bias, global float *y,
                               ulong yo, int16 g, int kind, float a) {
    long q = get_global_id(0), p = get_global_id(1), nk = get_global_id(2);
    long k = nk % GK, n = nk / GK;
    if (q >= GQ || p >= GP)
        return;
    long h0 = p * SH - PH, w0 = q * SW - PW;
    global const float *xn = x + xo + (n * GC + (k / GKG) * GCG) * GH * GW;
    global const float *wk = w + wo + k * GCG * GR * GS;
    float sum = 0.0f;
    for (long c = 0; c < GCG; c++)
        for (long r = 0; r < GR; r++) {
            long h = h0 + r * DH;
            if (h < 0 || h >= GH)
                continue;
            for (long s = 0; s < GS; s++) {
                long ws = w0 + s * DW;
                if (ws >= 0 && ws < GW)
                    sum += xn[(c * GH + h) * GW + ws] * wk[(c * GR + r) * GS + s];
            }
        }
    if (has_bias)
        sum += b[bo + k];
    y[yo + (nk * GP + p) * GQ + q] = activate_float(sum, kind, a);
}

/* The output row p that filter row r reads at input row h, or -1 when there is none. */
long source_index(long h, long pad, long r, long dil, long stride, long limit) {
    long t = h + pad - r * dil;
    if (t < 0 || t % stride != 0)
        return -1;
    t /= stride;
    return t < limit ? t : -1;
}

/* dx[n, c, h, w] = sum over r, s, then the group's k (in that order) of dy * w: a gather, one
 * work-item per dx element; range (W, H, N * C). */
kernel void conv_backward_data_naive(global const float *dy, ulong dyo, global const float *w,
                                     ulong wo, global float *dx, ulong dxo, int16 g) {
    long wx = get_global_id(0), h = get_global_id(1), nc = get_global_id(2);
    long c = nc % GC, n = nc / GC, group = c / GCG, cl = c - group * GCG;
    if (wx >= GW || h >= GH)
        return;
    global const float *dyn = dy + dyo + (n * GK + group * GKG) * GP * GQ;
    global const float *wc = w + wo + (group * GKG * GCG + cl) * GR * GS;
    float sum = 0.0f;
    for (long r = 0; r < GR; r++) {
        long p = source_index(h, PH, r, DH, SH, GP);
        if (p < 0)
            continue;
        for (long s = 0; s < GS; s++) {
            long q = source_index(wx, PW, s, DW, SW, GQ);
            if (q < 0)
                continue;
            for (long k = 0; k < GKG; k++)
                sum += dyn[(k * GP + p) * GQ + q] * wc[(k * GCG * GR + r) * GS + s];
        }
    }
    dx[dxo + (nc * GH + h) * GW + wx] = sum;
}

/* dw[k, c, r, s] (= old + sum when accumulating) with the sum over n, p, q (in that order) of
 * dy * x; range (S, R, K * C / groups). */
kernel void conv_backward_filter_naive(global const float *x, ulong xo, global const float *dy,
                                       ulong dyo, global float *dw, ulong dwo, ulong batch,
                                       int accumulate, int16 g) {
    long s = get_global_id(0), r = get_global_id(1), kc = get_global_id(2);
    long k = kc / GCG, c = (k / GKG) * GCG + kc % GCG;
    if (s >= GS || r >= GR)
        return;
    float sum = 0.0f;
    for (long n = 0; n < (long)batch; n++) {
        global const float *xn = x + xo + (n * GC + c) * GH * GW;
        global const float *dyn = dy + dyo + (n * GK + k) * GP * GQ;
        for (long p = 0; p < GP; p++) {
            long h = p * SH - PH + r * DH;
            if (h < 0 || h >= GH)
                continue;
            for (long q = 0; q < GQ; q++) {
                long ws = q * SW - PW + s * DW;
                if (ws >= 0 && ws < GW)
                    sum += dyn[p * GQ + q] * xn[h * GW + ws];
            }
        }
    }
    global float *out = dw + dwo + (kc * GR + r) * GS + s;
    *out = accumulate ? *out + sum : sum;
}

/* db[k] (= old + sum when accumulating) with the sum of dy over n and p * Q + q; range (K).
 * Both algorithms use it. The order is fixed by the shape alone: 16 lanes, lane l taking the
 * elements l, l + 16, ... of each plane below its last multiple of 16, lane 0 the rest of the
 * plane in order, images one after the other; then the lanes pairwise. One running sum was a
 * chain of 100k dependent adds for a first layer's channel. */
kernel void conv_backward_bias(global const float *dy, ulong dyo, global float *db, ulong dbo,
                               ulong batch, int accumulate, int16 g) {
    long k = get_global_id(0), plane = GP * GQ, full = plane / 16 * 16;
    if (k >= GK)
        return;
    float16 acc = (float16)(0.0f);
    for (long n = 0; n < (long)batch; n++) {
        global const float *dyn = dy + dyo + (n * GK + k) * plane;
        for (long i = 0; i < full; i += 16)
            acc += vload16(0, dyn + i);
        for (long i = full; i < plane; i++)
            acc.s0 += dyn[i];
    }
    float8 s8 = acc.lo + acc.hi;
    float4 s4 = s8.lo + s8.hi;
    float2 s2 = s4.lo + s4.hi;
    float sum = s2.x + s2.y;
    db[dbo + k] = accumulate ? db[dbo + k] + sum : sum;
}

/* im2col: the tap (c, r, s) of image n at output (p, q), i.e. x[n, c, h, w] at the tap's input
 * position or 0 in the padding, goes to col[co + row * row_step + n * image_step + p * Q + q]
 * with row = (c * R + r) * S + s. For the forward and data GEMMs row_step is images * P * Q and
 * image_step P * Q: one (C R S, images * P * Q) matrix, the images side by side; the filter
 * gradient takes each image's (C R S, P * Q) matrix on its own (row_step P * Q, image_step
 * C R S P Q). Range (Q, P, images * C * R * S). */
kernel void conv_im2col(global const float *x, ulong xo, global float *col, ulong co,
                        ulong row_step, ulong image_step, int16 g) {
    long q = get_global_id(0), p = get_global_id(1), row = get_global_id(2);
    /* Decoded in this order PoCL hoists all of it out of its loop over q; other orders
     * measured 6 to 10 times slower there, with the divisions repeated per work-item. */
    long s = row % GS, t = row / GS;
    long r = t % GR, nc = t / GR; /* nc = n * C + c */
    long n = nc / GC, c = nc % GC;
    if (q >= GQ || p >= GP)
        return;
    long h = p * SH - PH + r * DH, ws = q * SW - PW + s * DW;
    float v = 0.0f;
    if (h >= 0 && h < GH && ws >= 0 && ws < GW)
        v = x[xo + (nc * GH + h) * GW + ws];
    col[co + ((c * GR + r) * GS + s) * (long)row_step + n * (long)image_step + p * GQ + q] = v;
}

/* dst[0, n) = src[0, n) and dst[0, n) = 0, in float16 pieces (the last one ending at n,
 * over floats the one before wrote already) and single floats below 16. */
static void copy_run(global float *dst, global const float *src, long n) {
    if (n < 16) {
        for (long i = 0; i < n; i++)
            dst[i] = src[i];
        return;
    }
    for (long i = 0; i < n; i += 16) {
        long at = min(i, n - 16);
        store16(vload16(0, src + at), 0, dst + at);
    }
}

static void zero_run(global float *dst, long n) {
    if (n < 16) {
        for (long i = 0; i < n; i++)
            dst[i] = 0.0f;
        return;
    }
    for (long i = 0; i < n; i += 16)
        store16((float16)(0.0f), 0, dst + min(i, n - 16));
}

/* conv_im2col for CPU devices, the same layout. im2col_plane writes a tap's whole (P, Q) plane, row by row: zeros, a run of x's row (contiguous at
 * stride 1), zeros. A work-item per float cost PoCL about a nanosecond each (4 GB/s); one per
 * row, decoding its tap with 64-bit divisions, still twice this. A work-item takes the S taps
 * of one filter row r of one channel (range (1, 1, images * C * R)); one per tap spent much of
 * its time decoding the tap and the run's bounds (divisions) for its P Q floats: the CNN's
 * conv2 im2col took 170-190 us a chunk of 14 images where it had taken 205-215 (medians of 8
 * runs on PoCL, AVX2), conv1's 37 against 40-49. */
static void im2col_plane(global const float *plane, global float *dst, long r, long s,
                         int16 g) {
    long off = s * DW - PW; /* input column of q: q * SW + off */
    /* q in [lo, hi) reads inside x's row: 0 <= q * SW + off < W */
    long lo = 0, hi = 0;
    if (SW == 1) { /* without the divisions, a good part of a tap's time at 14 x 14 */
        lo = max(-off, 0L);
        hi = max(GW - off, 0L);
    } else {
        lo = off < 0 ? (-off + SW - 1) / SW : 0;
        hi = off < GW ? (GW - off + SW - 1) / SW : 0;
    }
    lo = min(lo, GQ);
    hi = max(lo, min(hi, GQ));
    if (SH == 1 && SW == 1 && GW == GQ) {
        /* Stride 1 and the output as wide as the input ("same" padding: both of the CNN
         * preset's layers). Output (p, q) reads x's plane at p Q + q + shift, so the rows that
         * read x are one shifted copy of it, in float16 pieces; the columns outside [lo, hi)
         * are zeroed after it, and the padding rows. Row by row, with the pieces cut at each
         * row's ends, the CNN step's im2col took 3.4-6.7 ms on PoCL, this way 2.8-3.4. */
        long dr = r * DH - PH, shift = dr * GW + off;
        long p_lo = clamp(-dr, 0L, GP), p_hi = clamp(GH - dr, p_lo, GP);
        zero_run(dst, p_lo * GQ);
        zero_run(dst + p_hi * GQ, (GP - p_hi) * GQ);
        /* the part of those rows whose source lies inside the plane; the rest is columns
         * outside [lo, hi), zeroed below */
        long a = max(p_lo * GQ, -shift), b = min(p_hi * GQ, GH * GW - shift);
        if (b > a)
            copy_run(dst + a, plane + a + shift, b - a);
        for (long p = p_lo; p < p_hi; p++) {
            for (long q = 0; q < lo; q++)
                dst[p * GQ + q] = 0.0f;
            for (long q = hi; q < GQ; q++)
                dst[p * GQ + q] = 0.0f;
        }
        return;
    }
    for (long p = 0; p < GP; p++, dst += GQ) {
        long h = p * SH - PH + r * DH;
        if (h < 0 || h >= GH) { /* a padding row */
            for (long q = 0; q < GQ; q++)
                dst[q] = 0.0f;
            continue;
        }
        global const float *src = plane + h * GW + off;
        for (long q = 0; q < lo; q++)
            dst[q] = 0.0f;
        if (SW == 1 && hi - lo >= 8) { /* float8 pieces, the last one ending at hi */
            for (long q = lo; q < hi; q += 8) {
                long at = min(q, hi - 8);
                vstore8(vload8(0, src + at), 0, dst + at);
            }
        } else if (SW == 1)
            for (long q = lo; q < hi; q++)
                dst[q] = src[q];
        else
            for (long q = lo; q < hi; q++)
                dst[q] = src[q * SW];
        for (long q = hi; q < GQ; q++)
            dst[q] = 0.0f;
    }
}

kernel void conv_im2col_planes(global const float *x, ulong xo, global float *col, ulong co,
                               ulong row_step, ulong image_step, int16 g) {
    long t = get_global_id(2), r = t % GR, nc = t / GR, n = nc / GC, c = nc % GC;
    global const float *plane = x + xo + nc * GH * GW;
    global float *dst = col + co + (c * GR + r) * GS * (long)row_step + n * (long)image_step;
    for (long s = 0; s < GS; s++)
        im2col_plane(plane, dst + s * (long)row_step, r, s, g);
}

/* The adjoint of conv_im2col, with the same layout: dx[n, c, h, w] = sum over r, s (in that
 * order) of the col entries that came from (h, w). A gather, so no two work-items write the
 * same float. Range (W, H, images * C). */
kernel void conv_col2im(global const float *col, ulong co, ulong row_step, ulong image_step,
                        global float *dx, ulong dxo, int16 g) {
    long wx = get_global_id(0), h = get_global_id(1), nc = get_global_id(2);
    long n = nc / GC, c = nc % GC;
    if (wx >= GW || h >= GH)
        return;
    global const float *colc = col + co + n * (long)image_step + c * GR * GS * (long)row_step;
    float sum = 0.0f;
    if (SH == 1 && SW == 1) {
        /* Stride 1, the common case: source_index without its division and remainder, the
         * same taps in the same order. PoCL then runs a row of work-items as SIMD lanes. */
        /* Coordinates in int (every extent fits one, see GC), so the lanes' arithmetic is
         * 32-bit; the row of col is the same for every work-item. conv1's col2im: 2x. */
        int hi = (int)h, wi = (int)wx;
        for (int r = 0; r < g.s4; r++) {
            int p = hi + g.sc - r * g.se;
            for (int s = 0; s < g.s5; s++) {
                int q = wi + g.sd - s * g.sf;
                global const float *row = colc + (r * GS + s) * (long)row_step;
                if (p >= 0 && p < g.s6 && q >= 0 && q < g.s7)
                    sum += row[(long)p * g.s7 + q];
            }
        }
        dx[dxo + (nc * GH + h) * GW + wx] = sum;
        return;
    }
    for (long r = 0; r < GR; r++) {
        long p = source_index(h, PH, r, DH, SH, GP);
        if (p < 0)
            continue;
        for (long s = 0; s < GS; s++) {
            long q = source_index(wx, PW, s, DW, SW, GQ);
            if (q >= 0)
                sum += colc[(r * GS + s) * (long)row_step + p * GQ + q];
        }
    }
    dx[dxo + (nc * GH + h) * GW + wx] = sum;
}

/* conv_col2im for stride 1 on CPU devices: a work-item per plane of dx, each element summing
 * the same taps in the same order as conv_col2im. Columns [lo, hi), where every tap of 8
 * neighbouring columns lies inside col's row, take 8 at a time in a float8, one vector load a
 * tap (a row's last step overlaps the one before rather than run past hi: the same sums
 * again); the few columns at the edges (padding) one at a time. Range (1, 1, images * C). */
kernel void conv_col2im_planes(global const float *col, ulong co, ulong row_step,
                               ulong image_step, global float *dx, ulong dxo, int16 g) {
    long nc = get_global_id(2);
    long n = nc / GC, c = nc % GC;
    global const float *colc = col + co + n * (long)image_step + c * GR * GS * (long)row_step;
    global float *out = dx + dxo + nc * GH * GW;
    int width = g.s2, nq = g.s7, pad = g.sd, dil = g.sf;
    int lo = max(0, (g.s5 - 1) * dil - pad), hi = min(width, nq - pad);
    if (hi - lo < 8)
        lo = hi = 0; /* no vector steps */
    for (int h = 0; h < g.s1; h++, out += width) {
        for (int next = lo; next < hi; next += 8) {
            int w0 = min(next, hi - 8);
            float8 sum = (float8)(0.0f);
            for (int r = 0; r < g.s4; r++) {
                int p = h + g.sc - r * g.se;
                if (p < 0 || p >= g.s6)
                    continue;
                global const float *row = colc + r * GS * (long)row_step + (long)p * nq + w0 + pad;
                for (int s = 0; s < g.s5; s++)
                    sum += vload8(0, row + s * (long)row_step - s * dil);
            }
            vstore8(sum, 0, out + w0);
        }
        for (int w = lo == 0 ? hi : 0; w < width; w = w + 1 == lo ? hi : w + 1) {
            float sum = 0.0f;
            for (int r = 0; r < g.s4; r++) {
                int p = h + g.sc - r * g.se;
                if (p < 0 || p >= g.s6)
                    continue;
                for (int s = 0; s < g.s5; s++) {
                    int q = w + pad - s * dil;
                    if (q >= 0 && q < nq)
                        sum += colc[(r * GS + s) * (long)row_step + (long)p * nq + q];
                }
            }
            out[w] = sum;
        }
    }
}

/* For the filter gradient on CPU devices: the images' dy (images, K, P * Q) as one
 * (images * P * Q, K) matrix, dy_t[n P Q + i][k] = dy[n][k][i]. A work-item moves 4
 * positions by 16 filters as four 4 x 4 tiles: float4 loads along dy's rows, a transpose in
 * registers, float4 stores along dy_t's (a work-item per position, gathering its K floats a
 * float at a time, took 1.2-1.9 ms of a CNN step on PoCL, this 0.56-0.73); tiles at the
 * edges go a float at a time. Range (ceil(P Q / 4), ceil(K / 16), images). */
kernel void conv_transpose_dy(global const float *dy, ulong dyo, global float *out, ulong oo,
                              int16 g) {
    long i0 = get_global_id(0) * 4, k0 = get_global_id(1) * 16, n = get_global_id(2);
    long plane = GP * GQ;
    if (i0 >= plane || k0 >= GK)
        return;
    global const float *src = dy + dyo + (n * GK + k0) * plane + i0;
    global float *dst = out + oo + (n * plane + i0) * GK + k0;
    if (i0 + 4 <= plane && k0 + 16 <= GK) {
#pragma unroll
        for (int q = 0; q < 16; q += 4) {
            global const float *s = src + q * plane;
            store4_transposed(vload4(0, s), vload4(0, s + plane), vload4(0, s + 2 * plane),
                              vload4(0, s + 3 * plane), dst + q, GK);
        }
        return;
    }
    long positions = min(4L, plane - i0), filters = min(16L, GK - k0);
    for (long t = 0; t < positions; t++)
        for (long k = 0; k < filters; k++)
            dst[t * GK + k] = src[k * plane + t];
}

/* dw (K, C R S) = dw_t^T, plus dw's old value when accumulating: the filter gradient that
 * conv_gemm.c's CPU path sums as dw_t (C R S, K). Range (C R S, K). */
kernel void conv_dw_from_transposed(global const float *dw_t, global float *dw, ulong dwo,
                                    ulong taps, int accumulate, int16 g) {
    long t = get_global_id(0), k = get_global_id(1);
    if (t >= (long)taps || k >= GK)
        return;
    float v = dw_t[t * GK + k];
    global float *d = dw + dwo + k * (long)taps + t;
    *d = accumulate ? *d + v : v;
}

/* After the forward GEMM: y[n, k] = act(z[k][n] + b[k]) for the chunk's images, z being the
 * GEMM's (K, images * P * Q) result. Range (P * Q, images * K). */
kernel void conv_bias_act(global const float *z, ulong zo, global const float *b, ulong bo,
                          int has_bias, global float *y, ulong yo, ulong images, int16 g,
                          int kind, float a) {
    long i = get_global_id(0), nk = get_global_id(1), plane = GP * GQ;
    long n = nk / GK, k = nk % GK;
    if (i >= plane || nk >= (long)images * GK)
        return;
    float v = z[zo + (k * (long)images + n) * plane + i];
    if (has_bias)
        v += b[bo + k];
    y[yo + nk * plane + i] = activate_float(v, kind, a);
}

/* Before the data GEMM: the chunk's dy (images, K, P * Q) as one (K, images * P * Q) matrix.
 * Range (P * Q, images * K). */
kernel void conv_gather_dy(global const float *dy, ulong dyo, global float *out, ulong oo,
                           ulong images, int16 g) {
    long i = get_global_id(0), nk = get_global_id(1), plane = GP * GQ;
    long n = nk / GK, k = nk % GK;
    if (i >= plane || nk >= (long)images * GK)
        return;
    out[oo + (k * (long)images + n) * plane + i] = dy[dyo + nk * plane + i];
}
