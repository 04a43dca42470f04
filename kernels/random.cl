/* Philox4x32-10 and what is built on it: initialisers and dropout.
 *
 * Element mapping, shared with host/ops/random.c and written down there too: element i of a
 * tensor uses Philox block b = i / 4, lane i % 4, with
 *     counter = {low32(b), high32(b), low32(stream), high32(stream)},
 *     key     = {low32(seed), high32(seed)}.
 * Uniforms take lane i's word; normals take Box-Muller pairs of words (0, 1) and (2, 3), the
 * even lane the cosine branch, the odd lane the sine branch. So each Philox call gives four
 * elements whichever the kind, and element i never depends on the tensor's size or offset.
 *
 * Uniform words become floats with exact arithmetic only (a 24-bit integer scaled by a power
 * of two), so uniform results are bitwise the same on every device and on the host; the
 * normals go through log, sqrt and sinpi/cospi and may differ by a few ulp between devices.
 * Multiply-adds must not be fused. */
#pragma OPENCL FP_CONTRACT OFF

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* 2^-24: the spacing of 24-bit uniforms in [0, 1). */
#define UNIFORM_STEP 5.9604644775390625e-8f

/* One Philox round (Salmon et al. 2011): two 32x32->64 multiplies, the high halves mixed with
 * the other words and the key. */
static uint4 philox_round(uint4 c, uint2 k) {
    uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
    uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
    return (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
}

static uint4 philox4x32_10(uint4 c, uint2 k) {
    c = philox_round(c, k);
    for (int r = 1; r < 10; r++) {
        k += (uint2)(PHILOX_W0, PHILOX_W1);
        c = philox_round(c, k);
    }
    return c;
}

/* The four words of block b for (seed, stream). */
static uint4 block_words(ulong b, ulong seed, ulong stream) {
    uint4 c = (uint4)((uint)b, (uint)(b >> 32), (uint)stream, (uint)(stream >> 32));
    return philox4x32_10(c, (uint2)((uint)seed, (uint)(seed >> 32)));
}

/* [0, 1) from the top 24 bits of each word: exact. */
static float4 uniform01(uint4 w) { return convert_float4(w >> 8) * UNIFORM_STEP; }

/* Two standard normals from two words; u1 is in (0, 1], so log never sees 0. */
static float2 box_muller(uint w1, uint w2) {
    float u1 = (float)((w1 >> 8) + 1u) * UNIFORM_STEP;
    float t = (float)(w2 >> 8) * (2.0f * UNIFORM_STEP); /* angle / pi, in [0, 2) */
    float r = sqrt(-2.0f * log(u1));
    return (float2)(r * cospi(t), r * sinpi(t));
}

/* Stores lanes of v for elements 4b.. of t that are below n. */
static void store_block(global float *t, ulong b, ulong n, float4 v) {
    ulong i = 4 * b;
    if (i + 4 <= n) {
        vstore4(v, b, t);
        return;
    }
    float lanes[4] = {v.x, v.y, v.z, v.w};
    for (ulong k = 0; i + k < n; k++)
        t[i + k] = lanes[k];
}

/* t[i] = (2u - 1) * bound: U(-bound, bound), one work-item per Philox block. */
kernel void init_uniform(global float *t, ulong to, ulong n, float bound, ulong seed,
                         ulong stream) {
    ulong b = get_global_id(0);
    if (4 * b >= n)
        return;
    float4 u = uniform01(block_words(b, seed, stream));
    store_block(t + to, b, n, (u * 2.0f - 1.0f) * bound);
}

/* t[i] = std * z, z standard normal. */
kernel void init_normal(global float *t, ulong to, ulong n, float std_dev, ulong seed,
                        ulong stream) {
    ulong b = get_global_id(0);
    if (4 * b >= n)
        return;
    uint4 w = block_words(b, seed, stream);
    float4 z = (float4)(box_muller(w.x, w.y), box_muller(w.z, w.w));
    store_block(t + to, b, n, z * std_dev);
}

/* mask[i] = u >= p ? scale : 0 and y[i] = x[i] * mask[i]; y may be x. */
kernel void dropout_forward(global const float *x, ulong xo, global float *mask, ulong mo,
                            global float *y, ulong yo, ulong n, float p, float scale, ulong seed,
                            ulong stream) {
    ulong b = get_global_id(0);
    if (4 * b >= n)
        return;
    float4 u = uniform01(block_words(b, seed, stream));
    float4 m = select((float4)0.0f, (float4)scale, u >= p);
    float4 v;
    x += xo;
    if (4 * b + 4 <= n) {
        v = vload4(b, x);
    } else {
        float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (ulong k = 0; 4 * b + k < n; k++)
            lanes[k] = x[4 * b + k];
        v = (float4)(lanes[0], lanes[1], lanes[2], lanes[3]);
    }
    store_block(mask + mo, b, n, m);
    store_block(y + yo, b, n, v * m);
}

/* dx[i] = dy[i] * mask[i]; dx may be dy. One element per work-item: no Philox here. */
kernel void dropout_backward(global const float *mask, ulong mo, global const float *dy, ulong dyo,
                             global float *dx, ulong dxo, ulong n) {
    ulong i = get_global_id(0);
    if (i < n)
        dx[dxo + i] = dy[dyo + i] * mask[mo + i];
}

/* Raw Philox words for tests: case k reads counter[4] and key[2] from io[6k..6k+6) and
 * writes four words to out[4k..4k+4). */
kernel void philox_words(global const uint *io, global uint *out, ulong cases) {
    ulong k = get_global_id(0);
    if (k >= cases)
        return;
    global const uint *in = io + 6 * k;
    uint4 w = philox4x32_10((uint4)(in[0], in[1], in[2], in[3]), (uint2)(in[4], in[5]));
    vstore4(w, k, out);
}
