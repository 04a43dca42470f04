/* Tensor statistics and dead-unit tracking.
 *
 * Every classification reads the float's bits, so a device that flushes denormals to zero
 * still counts a denormal as non-zero and finite, and NaN never slips through a comparison.
 * Results are compared bit for bit run to run, so multiply-adds must not be fused. */
#pragma OPENCL FP_CONTRACT OFF


#define ABS_BITS 0x7fffffffu
#define INF_BITS 0x7f800000u

/* Sums of |v| and v^2 would overflow a float at +-FLT_MAX and underflow at denormals, so each
 * finite element is scaled by a power of two into one of three tiers (rebuilt from its bits,
 * which is exact): small (|v| < 2^-63) times 2^100, medium as is, big (|v| >= 2^40) times
 * 2^-90. Every scaled square is then a normal float and no tier's sum overflows; the host
 * undoes the scales in double. */
#define TIER_SMALL_BELOW 64u /* biased exponent of 2^-63 */
#define TIER_BIG_FROM 167u   /* biased exponent of 2^40 */

/* An order-preserving key: unsigned comparison of keys is float comparison (-0 < +0). */
inline uint order_key(uint b) {
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

typedef struct stats_acc {
    float abs_sum[3], sq_sum[3]; /* by tier: small, medium, big */
    uint zeros, nans, infs, min_key, max_key;
} stats_acc;

inline void acc_add(stats_acc *a, uint b) {
    uint mag = b & ABS_BITS, e = mag >> 23, m = mag & 0x7fffffu;
    if (mag > INF_BITS) {
        a->nans++;
        return;
    }
    a->min_key = min(a->min_key, order_key(b));
    a->max_key = max(a->max_key, order_key(b));
    if (mag == INF_BITS) {
        a->infs++;
        return;
    }
    a->zeros += mag == 0u;
    float t;
    int tier;
    if (e >= TIER_BIG_FROM) {
        t = as_float(((e - 90u) << 23) | m);
        tier = 2;
    } else if (e >= TIER_SMALL_BELOW) {
        t = as_float(mag);
        tier = 1;
    } else {
        /* A denormal is m * 2^-149, so scaled by 2^100 it is m * 2^-49. */
        t = e ? as_float(((e + 100u) << 23) | m) : (float)m * 0x1p-49f;
        tier = 0;
    }
    a->abs_sum[tier] += t;
    a->sq_sum[tier] += t * t;
}

/* One partial record per work-group. Work-item k of the whole range reads elements k,
 * k + groups * RELUCL_STATS_GROUP, ..., so every sum's order depends only on n and the group count,
 * which the host picks from n alone. The tree below always adds the same pairs. */
kernel __attribute__((reqd_work_group_size(RELUCL_STATS_GROUP, 1, 1))) void
stats_partial(global const float *x, ulong xo, ulong n, global uint *partial) {
    local float sums[6][RELUCL_STATS_GROUP];
    local uint counts[5][RELUCL_STATS_GROUP];
    size_t lid = get_local_id(0), g = get_group_id(0), stride = get_global_size(0);
    stats_acc a = {{0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f}, 0u, 0u, 0u, 0xffffffffu, 0u};
    global const uint *bits = (global const uint *)(x + xo);
    for (size_t i = get_global_id(0); i < n; i += stride)
        acc_add(&a, bits[i]);
    for (int t = 0; t < 3; t++) {
        sums[t][lid] = a.abs_sum[t];
        sums[3 + t][lid] = a.sq_sum[t];
    }
    counts[0][lid] = a.zeros;
    counts[1][lid] = a.nans;
    counts[2][lid] = a.infs;
    counts[3][lid] = a.min_key;
    counts[4][lid] = a.max_key;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t s = RELUCL_STATS_GROUP / 2; s > 0; s /= 2) {
        if (lid < s) {
            for (int k = 0; k < 6; k++)
                sums[k][lid] += sums[k][lid + s];
            for (int k = 0; k < 3; k++)
                counts[k][lid] += counts[k][lid + s];
            counts[3][lid] = min(counts[3][lid], counts[3][lid + s]);
            counts[4][lid] = max(counts[4][lid], counts[4][lid + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid < 6)
        partial[g * RELUCL_STATS_WORDS + lid] = as_uint(sums[lid][0]);
    else if (lid < RELUCL_STATS_WORDS)
        partial[g * RELUCL_STATS_WORDS + lid] = counts[lid - 6][0];
}

/* Dead units. y is (outer, units, inner); unit u owns elements (o * units + u) * inner + j.
 * A unit whose alive entry is already 1 has nothing left to learn, so it is skipped. A zero of
 * either sign is the only "dead" value: NaN and denormals count as output. */
inline int is_output(global const uint *bits, size_t i) {
    return (bits[i] & ABS_BITS) != 0u;
}

/* One work-item per unit, for units with few elements: it stops at the first output. */
kernel void dead_units_scan(global const float *y, ulong yo, ulong outer, ulong units,
                            ulong inner, global float *alive, ulong ao) {
    size_t u = get_global_id(0);
    if (u >= units || alive[ao + u] == 1.0f)
        return;
    global const uint *bits = (global const uint *)(y + yo);
    for (size_t o = 0; o < outer; o++) {
        size_t base = (o * units + u) * inner;
        for (size_t j = 0; j < inner; j++)
            if (is_output(bits, base + j)) {
                alive[ao + u] = 1.0f;
                return;
            }
    }
}

/* One work-group per unit, for units with many elements: work-item lid reads positions lid,
 * lid + RELUCL_STATS_GROUP, ... of the unit's outer * inner elements, then the group ORs its
 * findings. */
kernel __attribute__((reqd_work_group_size(RELUCL_STATS_GROUP, 1, 1))) void
dead_units_group(global const float *y, ulong yo, ulong outer, ulong units, ulong inner,
                 global float *alive, ulong ao) {
    local int found[RELUCL_STATS_GROUP];
    size_t lid = get_local_id(0), u = get_group_id(1);
    /* Every work-item reads the same entry, so the whole group returns or none of it does. */
    if (alive[ao + u] == 1.0f)
        return;
    global const uint *bits = (global const uint *)(y + yo);
    int any = 0;
    if (inner >= RELUCL_STATS_GROUP) {
        for (size_t o = 0; o < outer && !any; o++) {
            size_t base = (o * units + u) * inner;
            for (size_t j = lid; j < inner && !any; j += RELUCL_STATS_GROUP)
                any = is_output(bits, base + j);
        }
    } else {
        size_t total = outer * inner;
        for (size_t k = lid; k < total && !any; k += RELUCL_STATS_GROUP)
            any = is_output(bits, (k / inner * units + u) * inner + k % inner);
    }
    found[lid] = any;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t s = RELUCL_STATS_GROUP / 2; s > 0; s /= 2) {
        if (lid < s)
            found[lid] |= found[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0 && found[0])
        alive[ao + u] = 1.0f;
}
