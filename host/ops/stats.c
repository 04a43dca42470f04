/* Diagnostics: a tensor's summary statistics and dead-unit tracking. */
#include "ops/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATS_GROUP 64    /* must match kernels/stats.cl */
#define STATS_WORDS 11    /* words of one group's partial record, as kernels/stats.cl writes */
#define STATS_ITEM_RUN 32 /* elements each work-item reads before the tree, at most groups */
#define STATS_MAX_GROUPS 1024
#define DEAD_SCAN_UP_TO 4096 /* units with more elements than this get a work-group each */

/* The partial record: |v| sums and squared sums by tier (small, medium, big), then counts of
 * zeros, NaNs and infinities, then the order keys of the least and greatest non-NaN value. */
enum { ABS0 = 0, SQ0 = 3, ZEROS = 6, NANS, INFS, MIN_KEY, MAX_KEY };

/* Tier k's values were scaled by 2^tier_shift[k] on the device. */
static const int tier_shift[3] = {100, 0, -90};

/* The group count depends on n alone, so the order of every float sum does too. Each group
 * counts in 32-bit words, which bounds the elements one group may see. */
static size_t stats_groups(size_t n) {
    size_t groups =
        (n + RELUCL_STATS_GROUP * STATS_ITEM_RUN - 1) / (RELUCL_STATS_GROUP * STATS_ITEM_RUN);
    if (groups < 1)
        groups = 1;
    return groups > STATS_MAX_GROUPS ? STATS_MAX_GROUPS : groups;
}

static float float_of(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Inverse of the kernel's order_key. */
static double value_of_key(uint32_t key) {
    return (double)float_of((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

/* Adds the groups' records in group order, in double. */
static void combine(const uint32_t *partial, size_t groups, size_t n, relucl_stats *out) {
    double abs_sum = 0.0, sq_sum = 0.0;
    uint32_t min_key = UINT32_MAX, max_key = 0;
    memset(out, 0, sizeof *out);
    out->count = n;
    for (size_t g = 0; g < groups; g++) {
        const uint32_t *r = partial + g * RELUCL_STATS_WORDS;
        for (int t = 0; t < 3; t++) {
            abs_sum += ldexp((double)float_of(r[ABS0 + t]), -tier_shift[t]);
            sq_sum += ldexp((double)float_of(r[SQ0 + t]), -2 * tier_shift[t]);
        }
        out->zeros += r[ZEROS];
        out->nan += r[NANS];
        out->inf += r[INFS];
        min_key = r[MIN_KEY] < min_key ? r[MIN_KEY] : min_key;
        max_key = r[MAX_KEY] > max_key ? r[MAX_KEY] : max_key;
    }
    size_t finite = n - out->nan - out->inf;
    out->l2 = sqrt(sq_sum);
    out->mean_abs = finite ? abs_sum / (double)finite : 0.0;
    /* UINT32_MAX and 0 are NaN keys, never stored: they mean "no non-NaN element". */
    out->min = min_key == UINT32_MAX ? INFINITY : value_of_key(min_key);
    out->max = max_key == 0 ? -INFINITY : value_of_key(max_key);
}

relucl_status relucl_tensor_stats(relucl_context *ctx, const relucl_tensor *t, relucl_stats *out) {
    static const char fn[] = "relucl_tensor_stats";
    size_t n = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "t", t, &n));
    if (!out)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "out is NULL");
    size_t groups = stats_groups(n);
    if (n / groups >= UINT32_MAX)
        return relucl__fail(ctx, RELUCL_ERROR_UNSUPPORTED, fn, "t is too large to count");
    if (n == 0) {
        combine(NULL, 0, 0, out);
        return relucl_context_finish(ctx); /* the same wait as for any other tensor */
    }

    size_t words = groups * RELUCL_STATS_WORDS;
    uint32_t *records = malloc(words * sizeof *records);
    if (!records)
        return relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn, "no host memory for %zu bytes",
                            words * sizeof *records);
    cl_mem partial; /* 32-bit words: one float buffer of the same count holds them */
    relucl_status status =
        relucl__buffer_create(ctx, fn, "clCreateBuffer (partial records)", words, &partial);
    if (status == RELUCL_OK)
        status =
            RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_STATS, "stats_partial",
                           relucl__range_1d(ctx, groups * RELUCL_STATS_GROUP, RELUCL_STATS_GROUP),
                           RELUCL__TENSOR(t), RELUCL__ULONG(n), RELUCL__MEM(partial));
    if (status == RELUCL_OK) {
        cl_int err = clEnqueueReadBuffer(ctx->queue, partial, CL_TRUE, 0, words * sizeof *records,
                                         records, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = relucl__fail_cl(ctx, fn, "clEnqueueReadBuffer (partial records)", err);
    }
    if (partial)
        clReleaseMemObject(partial);
    if (status == RELUCL_OK)
        combine(records, groups, n, out);
    free(records);
    return status;
}

/* y as (outer, units, inner): units = dims[1] and one row for a 1-D y. */
static void unit_layout(const relucl_tensor *y, size_t n, size_t *outer, size_t *units,
                        size_t *inner) {
    *outer = 1;
    *units = n;
    *inner = 1;
    if (y->ndim < 2)
        return;
    *outer = y->dims[0];
    *units = y->dims[1];
    for (int d = 2; d < y->ndim; d++)
        *inner *= y->dims[d];
}

relucl_status relucl_dead_units_update(relucl_context *ctx, const relucl_tensor *y,
                                       const relucl_tensor *alive) {
    static const char fn[] = "relucl_dead_units_update";
    size_t n = 0, na = 0, outer = 0, units = 0, inner = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "y", y, &n));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "alive", alive, &na));
    unit_layout(y, n, &outer, &units, &inner);
    if (na != units)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "alive has %zu elements, y has %zu units (%s)", na, units,
                            y->ndim < 2 ? "its elements" : "dims[1]");
    RELUCL__TRY(relucl__check_overlap(ctx, fn, "alive", alive, "y", y, 0));
    if (n == 0)
        return RELUCL_OK;
    /* Units with many elements get a work-group each, the others a work-item. */
    int grouped = outer * inner > DEAD_SCAN_UP_TO;
    relucl__range range = grouped
                              ? relucl__range_2d(RELUCL_STATS_GROUP, units, RELUCL_STATS_GROUP, 1)
                              : relucl__range_1d(ctx, units, 0);
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_STATS,
                          grouped ? "dead_units_group" : "dead_units_scan", range,
                          RELUCL__TENSOR(y), RELUCL__ULONG(outer), RELUCL__ULONG(units),
                          RELUCL__ULONG(inner), RELUCL__TENSOR(alive));
}
