/* Losses and metrics: softmax cross-entropy and mean squared error.
 *
 * Each call is one work-group, so that the batch sum needs no second launch. The sum is split
 * over RELUCL_LOSS_LANES logical lanes whatever the group's real size (the host picks a power
 * of two up to that many that the device allows; each work-item serves lanes lid, lid + size,
 * ...). Lane l takes rows (or elements) l, l + lanes, ..., summing BLOCK of them at a time
 * before adding the block into its total, which keeps long float sums accurate; the lanes are
 * then combined by a tree in local memory. Every sum's order depends on the shape alone:
 * results are the same run to run and on every device up to exp/log rounding. */
#pragma OPENCL FP_CONTRACT OFF

#define BLOCK 32


/* The class index held by a float label, or -1 unless it is an integer in [0, classes). The
 * first test is false for NaN; the conversion is reached only for values below classes. */
long label_class(float label, ulong classes) {
    if (!(label >= 0.0f && label == floor(label) && label < (float)classes))
        return -1;
    ulong c = (ulong)label;
    return c < classes ? (long)c : -1;
}

/* Softmax cross-entropy of one row of `classes` logits; adds 1 to *hit when the arg-max is the
 * label, and writes the row's gradient when dx is given (grad != 0).
 * The arg-max is the first maximum, with NaN above every number (as torch.argmax): a row holding
 * NaN has a NaN maximum, so its loss and gradient are NaN, and it counts as correct only if its
 * first NaN is at the label. +-Inf logits make the row NaN as well (inf - inf), as in PyTorch.
 * An invalid label makes the loss and the whole gradient row NaN. */
float cross_entropy_row(global const float *x, ulong classes, float label, float batch,
                        global float *dx, int grad, uint *hit) {
    float m = x[0];
    ulong arg = 0;
    for (ulong j = 1; j < classes; j++) {
        float v = x[j];
        if (v > m || (isnan(v) && !isnan(m))) {
            m = v;
            arg = j;
        }
    }
    float s = 0.0f;
    for (ulong j = 0; j < classes; j++)
        s += exp(x[j] - m);
    long c = label_class(label, classes);
    if (c >= 0 && (ulong)c == arg)
        *hit += 1;
    if (grad) {
        for (ulong j = 0; j < classes; j++) {
            float p = exp(x[j] - m) / s;
            dx[j] = c < 0 ? NAN : (p - ((ulong)c == j ? 1.0f : 0.0f)) / batch;
        }
    }
    /* log-sum-exp - x[c], both taken relative to the maximum */
    return c < 0 ? NAN : log(s) - (x[c] - m);
}

/* One level of the tree: lanes [0, stride) take in lanes [stride, 2 stride). hits may be 0. */
void reduce_level(local float *sums, local uint *hits, size_t stride, size_t lid,
                  size_t items) {
    for (size_t l = lid; l < stride; l += items) {
        sums[l] += sums[l + stride];
        if (hits)
            hits[l] += hits[l + stride];
    }
}

/* Writes total / count into out[0] (0 for count 0), or adds it there when accumulating. */
void store_mean(global float *out, float total, ulong count, int flags) {
    float mean = count ? total / (float)count : 0.0f;
    out[0] = (flags & RELUCL_LOSS_ACCUMULATE) ? out[0] + mean : mean;
}

/* Rows of x (batch x classes) against labels; dx, loss and correct are written where flags say
 * (the host passes some other buffer for the ones left out). */
kernel void softmax_cross_entropy(global const float *x, ulong xo, global const float *labels,
                                  ulong lo, global float *dx, ulong dxo, global float *loss,
                                  ulong losso, global float *correct, ulong co, ulong batch,
                                  ulong classes, int flags) {
    local float sums[RELUCL_LOSS_LANES];
    local uint hits[RELUCL_LOSS_LANES];
    size_t lid = get_local_id(0), items = get_local_size(0);
    float nb = (float)batch;
    int grad = flags & RELUCL_LOSS_HAS_GRAD;
    for (size_t lane = lid; lane < RELUCL_LOSS_LANES; lane += items) {
        float total = 0.0f;
        uint hit = 0;
        for (ulong base = lane; base < batch; base += (ulong)RELUCL_LOSS_LANES * BLOCK) {
            float part = 0.0f;
            for (ulong r = base, k = 0; r < batch && k < BLOCK; r += RELUCL_LOSS_LANES, k++)
                part += cross_entropy_row(x + xo + r * classes, classes, labels[lo + r], nb,
                                          dx + dxo + r * classes, grad, &hit);
            total += part;
        }
        sums[lane] = total;
        hits[lane] = hit;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t stride = RELUCL_LOSS_LANES / 2; stride > 0; stride /= 2) {
        reduce_level(sums, hits, stride, lid, items);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        if (flags & RELUCL_LOSS_HAS_LOSS)
            store_mean(loss + losso, sums[0], batch, flags);
        if (flags & RELUCL_LOSS_HAS_CORRECT)
            correct[co] = (flags & RELUCL_LOSS_ACCUMULATE) ? correct[co] + (float)hits[0] : (float)hits[0];
    }
}

/* loss = mean((p - t)^2) over n elements; dp = 2 (p - t) / n where flags say. */
kernel void mse(global const float *p, ulong po, global const float *t, ulong to,
                global float *dp, ulong dpo, global float *loss, ulong losso, ulong n,
                int flags) {
    local float sums[RELUCL_LOSS_LANES];
    size_t lid = get_local_id(0), items = get_local_size(0);
    float nf = (float)n;
    for (size_t lane = lid; lane < RELUCL_LOSS_LANES; lane += items) {
        float total = 0.0f;
        for (ulong base = lane; base < n; base += (ulong)RELUCL_LOSS_LANES * BLOCK) {
            float part = 0.0f;
            for (ulong i = base, k = 0; i < n && k < BLOCK; i += RELUCL_LOSS_LANES, k++) {
                float d = p[po + i] - t[to + i];
                part += d * d;
                if (flags & RELUCL_LOSS_HAS_GRAD)
                    dp[dpo + i] = (d + d) / nf;
            }
            total += part;
        }
        sums[lane] = total;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t stride = RELUCL_LOSS_LANES / 2; stride > 0; stride /= 2) {
        reduce_level(sums, 0, stride, lid, items);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0 && (flags & RELUCL_LOSS_HAS_LOSS))
        store_mean(loss + losso, sums[0], n, flags);
}
