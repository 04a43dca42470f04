/* A ReLU recurrent network, h_t = relu(x_t Wxh + h_(t-1) Whh + b) with h_0 = 0, over a sequence
 * of T = 8 steps (batch 4, 5 inputs, 16 hidden units), forward and backpropagation through
 * time on the device from GEMMs and the activation kernels. The loss is sum(h_T v) for a fixed
 * random vector v. dWxh and dWhh are checked, every entry, against central finite differences
 * of the loss computed by running the device forward again with one weight moved; entries
 * whose step moves some pre-activation across 0 (a ReLU kink) are skipped and counted.
 * Usage: relu-rnn [device] */
#include "sample.h"

#include <math.h>
#include <stdio.h>

#define T 8
#define BATCH 4
#define IN 5
#define HID 16
#define STEP 1e-2f /* finite-difference step: float32 losses need a large one */

typedef struct rnn {
    relucl_tensor x;    /* (T, BATCH, IN) */
    relucl_tensor h, z; /* h (T + 1, BATCH, HID), h[0] = 0; z (T, BATCH, HID) */
    relucl_tensor wxh, whh, b, ones;
    relucl_tensor dh, dz, dwxh, dwhh, db; /* (BATCH, HID) scratch and gradients */
} rnn;

/* Step t of a sequence tensor as a (BATCH, cols) matrix: a view, no copy. */
static relucl_tensor at(const relucl_tensor *seq, size_t t) {
    size_t cols = seq->dims[2], dims[2] = {BATCH, cols};
    relucl_tensor view;
    relucl_tensor_wrap(seq->buffer, seq->offset + t * BATCH * cols, 2, dims, &view);
    return view;
}

/* z_t = x_t Wxh + b (a dense layer with no activation), z_t += h_(t-1) Whh, h_t = relu(z_t). */
static int forward(relucl_context *ctx, rnn *r) {
    relucl_activation relu = {RELUCL_RELU, 0.0f}, none = {RELUCL_IDENTITY, 0.0f};
    relucl_dense input = {none, &r->wxh, &r->b, NULL, RELUCL_WEIGHTS_IN_OUT};
    relucl_tensor h0 = at(&r->h, 0);
    int ok = check(ctx, relucl_tensor_fill(ctx, &h0, 0.0f));
    for (size_t t = 1; t <= T && ok; t++) {
        relucl_tensor x = at(&r->x, t - 1), z = at(&r->z, t - 1), h = at(&r->h, t),
                      h_prev = at(&r->h, t - 1);
        ok = check(ctx, relucl_dense_forward(ctx, &input, &x, NULL, &z)) &&
             check(ctx, relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &h_prev, &r->whh,
                                    1.0f, &z)) &&
             check(ctx, relucl_activation_forward(ctx, relu, &z, &h));
    }
    return ok;
}

/* Back from dh = dL/dh_T (already in r->dh) to t = 1, summing the weight gradients. */
static int backward(relucl_context *ctx, rnn *r) {
    relucl_activation relu = {RELUCL_RELU, 0.0f};
    int ok = 1;
    for (size_t t = T; t >= 1 && ok; t--) {
        float beta = t == T ? 0.0f : 1.0f; /* the last step overwrites, the others add */
        relucl_tensor x = at(&r->x, t - 1), z = at(&r->z, t - 1), h_prev = at(&r->h, t - 1);
        ok = check(ctx, relucl_activation_backward(ctx, relu, &z, NULL, &r->dh, &r->dz)) &&
             check(ctx, relucl_gemm(ctx, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, &x, &r->dz, beta,
                                    &r->dwxh)) &&
             check(ctx, relucl_gemm(ctx, RELUCL_TRANS, RELUCL_NO_TRANS, 1.0f, &h_prev, &r->dz, beta,
                                    &r->dwhh)) &&
             check(ctx, relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 1.0f, &r->ones, &r->dz,
                                    beta, &r->db)) && /* column sums of dz */
             check(ctx, relucl_gemm(ctx, RELUCL_NO_TRANS, RELUCL_TRANS, 1.0f, &r->dz, &r->whh, 0.0f,
                                    &r->dh));
    }
    return ok;
}

/* loss = sum over the batch of h_T . v, from the device's h_T, in float64. */
static double loss(relucl_context *ctx, rnn *r, const float *v, int *ok) {
    float h[BATCH * HID];
    relucl_tensor last = at(&r->h, T);
    double sum = 0.0;
    *ok = *ok && check(ctx, relucl_tensor_read(ctx, &last, h));
    for (int i = 0; i < BATCH * HID; i++)
        sum += (double)h[i] * v[i % HID];
    return sum;
}

/* Whether every pre-activation is on the same side of 0 as in the unperturbed run: a finite
 * difference across a ReLU kink measures a slope the loss does not have at the point. */
static int same_kinks(relucl_context *ctx, rnn *r, const float *z_base, int *ok) {
    static float z[T * BATCH * HID];
    *ok = *ok && check(ctx, relucl_tensor_read(ctx, &r->z, z));
    for (int i = 0; *ok && i < T * BATCH * HID; i++)
        if ((z[i] > 0.0f) != (z_base[i] > 0.0f))
            return 0;
    return 1;
}

/* Central differences for every entry of w (host copy w_host), against the analytic grad.
 * Returns the largest |grad - fd| / max(|grad|, |fd|, 0.1) over the entries whose steps cross
 * no kink, and counts the others in *skipped. */
static double gradient_check(relucl_context *ctx, rnn *r, const relucl_tensor *w, float *w_host,
                             const float *grad, size_t n, const float *v, const float *z_base,
                             size_t *skipped, int *ok) {
    double worst = 0.0;
    for (size_t i = 0; i < n && *ok; i++) {
        float saved = w_host[i];
        w_host[i] = saved + STEP;
        *ok = check(ctx, relucl_tensor_write(ctx, w, w_host)) && forward(ctx, r);
        double up = loss(ctx, r, v, ok);
        int smooth = same_kinks(ctx, r, z_base, ok);
        w_host[i] = saved - STEP;
        *ok = *ok && check(ctx, relucl_tensor_write(ctx, w, w_host)) && forward(ctx, r);
        double down = loss(ctx, r, v, ok);
        smooth = same_kinks(ctx, r, z_base, ok) && smooth;
        w_host[i] = saved;
        double fd = (up - down) / (2.0 * STEP);
        double scale = fmax(fmax(fabs(grad[i]), fabs(fd)), 0.1);
        if (smooth)
            worst = fmax(worst, fabs(grad[i] - fd) / scale);
        else
            (*skipped)++;
    }
    *ok = *ok && check(ctx, relucl_tensor_write(ctx, w, w_host));
    return worst;
}

int main(int argc, char **argv) {
    relucl_context *ctx = sample_open(argc > 1 ? argv[1] : NULL);
    if (!ctx)
        return 1;
    printf("relu rnn: T %d, batch %d, input %d, hidden %d\n", T, BATCH, IN, HID);

    rnn r = {0}; /* every tensor released at the end, made or not */
    size_t x_dims[3] = {T, BATCH, IN}, h_dims[3] = {T + 1, BATCH, HID}, z_dims[3] = {T, BATCH, HID},
           wxh_dims[2] = {IN, HID}, whh_dims[2] = {HID, HID}, b_dims[2] = {1, HID},
           ones_dims[2] = {1, BATCH}, step_dims[2] = {BATCH, HID};
    int ok = check(ctx, relucl_tensor_create(ctx, 3, x_dims, &r.x)) &&
             check(ctx, relucl_tensor_create(ctx, 3, h_dims, &r.h)) &&
             check(ctx, relucl_tensor_create(ctx, 3, z_dims, &r.z)) &&
             check(ctx, relucl_tensor_create(ctx, 2, wxh_dims, &r.wxh)) &&
             check(ctx, relucl_tensor_create(ctx, 2, whh_dims, &r.whh)) &&
             check(ctx, relucl_tensor_create(ctx, 1, &b_dims[1], &r.b)) &&
             check(ctx, relucl_tensor_create(ctx, 2, ones_dims, &r.ones)) &&
             check(ctx, relucl_tensor_create(ctx, 2, step_dims, &r.dh)) &&
             check(ctx, relucl_tensor_create(ctx, 2, step_dims, &r.dz)) &&
             check(ctx, relucl_tensor_create(ctx, 2, wxh_dims, &r.dwxh)) &&
             check(ctx, relucl_tensor_create(ctx, 2, whh_dims, &r.dwhh)) &&
             check(ctx, relucl_tensor_create(ctx, 2, b_dims, &r.db));

    /* Inputs N(0, 1); Wxh He normal; Whh N(0, 1/HID), whose spectral radius is about 1, so h
     * neither dies nor explodes over the sequence; a small positive bias. */
    relucl_init x_init = {RELUCL_INIT_NORMAL, 1.0f, 0, 0, 11, 0};
    relucl_init wxh_init = {RELUCL_INIT_HE_NORMAL, 0.0f, IN, HID, 11, 1};
    relucl_init whh_init = {RELUCL_INIT_NORMAL, 0.25f, 0, 0, 11, 2};
    relucl_init v_init = {RELUCL_INIT_NORMAL, 1.0f, 0, 0, 11, 3};
    float v[HID], dh_last[BATCH * HID], wxh[IN * HID], whh[HID * HID];
    float dwxh[IN * HID], dwhh[HID * HID], db[HID];
    static float z_base[T * BATCH * HID];
    relucl_tensor v_tensor = r.db; /* scratch for v until backward writes db */
    ok = ok && check(ctx, relucl_init_tensor(ctx, &x_init, &r.x)) &&
         check(ctx, relucl_init_tensor(ctx, &wxh_init, &r.wxh)) &&
         check(ctx, relucl_init_tensor(ctx, &whh_init, &r.whh)) &&
         check(ctx, relucl_init_tensor(ctx, &v_init, &v_tensor)) &&
         check(ctx, relucl_tensor_read(ctx, &v_tensor, v)) &&
         check(ctx, relucl_tensor_fill(ctx, &r.b, 0.1f)) &&
         check(ctx, relucl_tensor_fill(ctx, &r.ones, 1.0f)) &&
         check(ctx, relucl_tensor_read(ctx, &r.wxh, wxh)) &&
         check(ctx, relucl_tensor_read(ctx, &r.whh, whh));

    /* Forward, then dL/dh_T = v on every row, then BPTT. */
    for (int i = 0; i < BATCH * HID; i++)
        dh_last[i] = v[i % HID];
    ok = ok && forward(ctx, &r);
    double l = loss(ctx, &r, v, &ok);
    ok = ok && check(ctx, relucl_tensor_write(ctx, &r.dh, dh_last)) && backward(ctx, &r) &&
         check(ctx, relucl_tensor_read(ctx, &r.dwxh, dwxh)) &&
         check(ctx, relucl_tensor_read(ctx, &r.dwhh, dwhh)) &&
         check(ctx, relucl_tensor_read(ctx, &r.db, db)) &&
         check(ctx, relucl_tensor_read(ctx, &r.z, z_base));
    if (ok) {
        float h[(T + 1) * BATCH * HID];
        ok = check(ctx, relucl_tensor_read(ctx, &r.h, h));
        printf("mean h_t over batch and units:");
        for (int t = 1; ok && t <= T; t++) {
            double sum = 0.0;
            for (int i = 0; i < BATCH * HID; i++)
                sum += h[t * BATCH * HID + i];
            printf(" %.3f", sum / (BATCH * HID));
        }
        printf("\nloss sum(h_T v) = %.6f\n", l);
        double n_xh = 0.0, n_hh = 0.0, n_b = 0.0;
        for (int i = 0; i < IN * HID; i++)
            n_xh += (double)dwxh[i] * dwxh[i];
        for (int i = 0; i < HID * HID; i++)
            n_hh += (double)dwhh[i] * dwhh[i];
        for (int i = 0; i < HID; i++)
            n_b += (double)db[i] * db[i];
        printf("BPTT: |dWxh| = %.4f, |dWhh| = %.4f, |db| = %.4f\n", sqrt(n_xh), sqrt(n_hh),
               sqrt(n_b));
    }

    size_t skipped = 0;
    double err_xh = gradient_check(ctx, &r, &r.wxh, wxh, dwxh, IN * HID, v, z_base, &skipped, &ok);
    double err_hh = gradient_check(ctx, &r, &r.whh, whh, dwhh, HID * HID, v, z_base, &skipped, &ok);
    if (ok) {
        double worst = fmax(err_xh, err_hh);
        printf("finite differences (step %.0e) on %d weights, %zu skipped for crossing a kink\n",
               (double)STEP, IN * HID + HID * HID, skipped);
        printf("dWxh max error %.1e, dWhh max error %.1e\n", err_xh, err_hh);
        ok = worst < 2e-2 && skipped < (IN * HID + HID * HID) / 4;
        printf("gradient check: max relative error %.1e < 2e-2: %s\n", worst, ok ? "PASS" : "FAIL");
    }

    relucl_tensor *all[] = {&r.x,    &r.h,  &r.z,  &r.wxh,  &r.whh,  &r.b,
                            &r.ones, &r.dh, &r.dz, &r.dwxh, &r.dwhh, &r.db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        relucl_tensor_release(all[i]);
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
