/* A ReLU policy network, 4 -> 32 -> relu -> 2 -> softmax, learns to balance a pole on a cart
 * by REINFORCE. The cart-pole is the classic simulation (Barto, Sutton and Anderson 1983, as
 * in Gym's CartPole-v1): a push of 10 N left or right every 0.02 s, failure when the pole
 * leans past 12 degrees or the cart leaves [-2.4, 2.4], at most 500 steps.
 * Every step runs the network on the device for the current state; the episode's states and
 * hidden activations stay on the device, row by row, for backward at the episode's end. There
 * the host turns the probabilities and discounted returns into dlogits, and the device does
 * backward and an Adam step. Seeded: the same run on the same device every time.
 * Usage: policy-cartpole [device] [episodes]   (a number alone is the episode count) */
#include "sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 32
#define MAX_STEPS 500
#define GAMMA 0.99
#define LR 0.01f
#define BLOCKS 10 /* episodes are reported in this many blocks */

/* ---- The cart-pole ----------------------------------------------------------------------- */

typedef struct cartpole {
    double x, x_dot, theta, theta_dot;
} cartpole;

static unsigned long long rng = 2024; /* xorshift64: host randomness, seeded */
static double uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

/* One 0.02 s step of explicit Euler; returns 1 while the pole is still up. */
static int cartpole_step(cartpole *s, int push_right) {
    const double gravity = 9.8, cart = 1.0, pole = 0.1, half_length = 0.5, tau = 0.02;
    double force = push_right ? 10.0 : -10.0, total = cart + pole;
    double c = cos(s->theta), sn = sin(s->theta);
    double temp = (force + pole * half_length * s->theta_dot * s->theta_dot * sn) / total;
    double theta_acc =
        (gravity * sn - c * temp) / (half_length * (4.0 / 3.0 - pole * c * c / total));
    double x_acc = temp - pole * half_length * theta_acc * c / total;
    s->x += tau * s->x_dot;
    s->x_dot += tau * x_acc;
    s->theta += tau * s->theta_dot;
    s->theta_dot += tau * theta_acc;
    return fabs(s->x) <= 2.4 && fabs(s->theta) <= 12.0 * 3.14159265358979 / 180.0;
}

/* ---- The policy -------------------------------------------------------------------------- */

typedef struct policy {
    relucl_tensor w1, b1, w2, b2; /* 4 x 32 He normal, 32 x 2 Xavier, zero biases */
    relucl_tensor dw1, db1, dw2, db2;
    relucl_tensor m[4], v[4];        /* Adam's moments, one pair per parameter */
    relucl_tensor x, z1, h1, logits; /* one row per step of an episode */
    relucl_tensor dh1, dlogits;
} policy;

static relucl_tensor rows(const relucl_tensor *t, size_t first, size_t count) {
    size_t dims[2] = {count, t->dims[1]};
    relucl_tensor view;
    relucl_tensor_wrap(t->buffer, t->offset + first * t->dims[1], 2, dims, &view);
    return view;
}

static int policy_create(relucl_context *ctx, policy *p) {
    const int ndim[4] = {2, 1, 2, 1};
    size_t shape[4][2] = {{4, HIDDEN}, {HIDDEN}, {HIDDEN, 2}, {2}};
    size_t steps_x[2] = {MAX_STEPS, 4}, steps_h[2] = {MAX_STEPS, HIDDEN},
           steps_out[2] = {MAX_STEPS, 2};
    relucl_tensor *params[4] = {&p->w1, &p->b1, &p->w2, &p->b2};
    relucl_tensor *grads[4] = {&p->dw1, &p->db1, &p->dw2, &p->db2};
    int ok = 1;
    for (int i = 0; i < 4 && ok; i++)
        ok = check(ctx, relucl_tensor_create(ctx, ndim[i], shape[i], params[i])) &&
             check(ctx, relucl_tensor_create(ctx, ndim[i], shape[i], grads[i])) &&
             check(ctx, relucl_tensor_create(ctx, ndim[i], shape[i], &p->m[i])) &&
             check(ctx, relucl_tensor_create(ctx, ndim[i], shape[i], &p->v[i])) &&
             check(ctx, relucl_tensor_fill(ctx, &p->m[i], 0.0f)) &&
             check(ctx, relucl_tensor_fill(ctx, &p->v[i], 0.0f));
    relucl_init he = {RELUCL_INIT_HE_NORMAL, 0.0f, 4, HIDDEN, 5, 0};
    relucl_init xavier = {RELUCL_INIT_XAVIER_NORMAL, 0.0f, HIDDEN, 2, 5, 1};
    return ok && check(ctx, relucl_tensor_create(ctx, 2, steps_x, &p->x)) &&
           check(ctx, relucl_tensor_create(ctx, 2, steps_h, &p->z1)) &&
           check(ctx, relucl_tensor_create(ctx, 2, steps_h, &p->h1)) &&
           check(ctx, relucl_tensor_create(ctx, 2, steps_h, &p->dh1)) &&
           check(ctx, relucl_tensor_create(ctx, 2, steps_out, &p->logits)) &&
           check(ctx, relucl_tensor_create(ctx, 2, steps_out, &p->dlogits)) &&
           check(ctx, relucl_init_tensor(ctx, &he, &p->w1)) &&
           check(ctx, relucl_init_tensor(ctx, &xavier, &p->w2)) &&
           check(ctx, relucl_tensor_fill(ctx, &p->b1, 0.0f)) &&
           check(ctx, relucl_tensor_fill(ctx, &p->b2, 0.0f));
}

/* The probability of pushing right in state s, from row t of the episode's tensors. */
static int policy_act(relucl_context *ctx, policy *p, size_t t, const cartpole *s,
                      double *p_right) {
    relucl_dense hidden = {{RELUCL_RELU, 0.0f}, &p->w1, &p->b1, NULL, RELUCL_WEIGHTS_IN_OUT};
    relucl_dense out = {{RELUCL_IDENTITY, 0.0f}, &p->w2, &p->b2, NULL, RELUCL_WEIGHTS_IN_OUT};
    float state[4] = {(float)s->x, (float)s->x_dot, (float)s->theta, (float)s->theta_dot};
    float logit[2];
    relucl_tensor x = rows(&p->x, t, 1), z1 = rows(&p->z1, t, 1), h1 = rows(&p->h1, t, 1),
                  logits = rows(&p->logits, t, 1);
    int ok = check(ctx, relucl_tensor_write(ctx, &x, state)) &&
             check(ctx, relucl_dense_forward(ctx, &hidden, &x, &z1, &h1)) &&
             check(ctx, relucl_dense_forward(ctx, &out, &h1, NULL, &logits)) &&
             check(ctx, relucl_tensor_read(ctx, &logits, logit));
    *p_right = 1.0 / (1.0 + exp((double)logit[0] - (double)logit[1])); /* 2-way softmax */
    return ok;
}

/* REINFORCE on one episode of n steps: loss = -mean_t log pi(a_t | s_t) * A_t with A_t the
 * discounted return, normalised over the episode (the baseline), so
 * dlogits_t = (softmax_t - onehot(a_t)) * A_t / n. */
static int policy_learn(relucl_context *ctx, policy *p, size_t n, const double *p_right,
                        const int *action, long step) {
    static double ret[MAX_STEPS];
    static float dlogit[MAX_STEPS * 2];
    double g = 0.0, mean = 0.0, var = 0.0;
    for (size_t t = n; t-- > 0;) { /* a reward of 1 for every step the pole stayed up */
        g = 1.0 + GAMMA * g;
        ret[t] = g;
        mean += g / (double)n;
    }
    for (size_t t = 0; t < n; t++)
        var += (ret[t] - mean) * (ret[t] - mean);
    double sd = sqrt(var / (double)n) + 1e-8;
    for (size_t t = 0; t < n; t++) {
        double a = (ret[t] - mean) / sd / (double)n;
        dlogit[2 * t] = (float)((1.0 - p_right[t] - (action[t] == 0)) * a);
        dlogit[2 * t + 1] = (float)((p_right[t] - (action[t] == 1)) * a);
    }
    relucl_dense hidden = {{RELUCL_RELU, 0.0f}, &p->w1, &p->b1, NULL, RELUCL_WEIGHTS_IN_OUT};
    relucl_dense out = {{RELUCL_IDENTITY, 0.0f}, &p->w2, &p->b2, NULL, RELUCL_WEIGHTS_IN_OUT};
    relucl_dense_grads g1 = {&p->dw1, &p->db1, NULL, 0, NULL},
                       g2 = {&p->dw2, &p->db2, NULL, 0, NULL};
    relucl_tensor x = rows(&p->x, 0, n), z1 = rows(&p->z1, 0, n), h1 = rows(&p->h1, 0, n),
                  dh1 = rows(&p->dh1, 0, n), logits = rows(&p->logits, 0, n),
                  dl = rows(&p->dlogits, 0, n);
    relucl_adam adam = {LR, 0.9f, 0.999f, 1e-8f, 0.0f, 0};
    relucl_tensor *params[4] = {&p->w1, &p->b1, &p->w2, &p->b2};
    relucl_tensor *grads[4] = {&p->dw1, &p->db1, &p->dw2, &p->db2};
    int ok = check(ctx, relucl_tensor_write(ctx, &dl, dlogit)) &&
             check(ctx, relucl_dense_backward(ctx, &out, &h1, NULL, &logits, &dl, &dh1, &g2)) &&
             check(ctx, relucl_dense_backward(ctx, &hidden, &x, &z1, &h1, &dh1, NULL, &g1));
    for (int i = 0; i < 4 && ok; i++)
        ok =
            check(ctx, relucl_adam_step(ctx, &adam, step, params[i], grads[i], &p->m[i], &p->v[i]));
    return ok;
}

int main(int argc, char **argv) {
    const char *device = NULL;
    long episodes = 600;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] && strspn(argv[i], "0123456789") == strlen(argv[i]))
            episodes = strtol(argv[i], NULL, 10);
        else
            device = argv[i];
    if (episodes < BLOCKS) {
        fprintf(stderr, "usage: policy-cartpole [device] [episodes >= %d]\n", BLOCKS);
        return 2;
    }
    relucl_context *ctx = sample_open(device);
    if (!ctx)
        return 1;
    printf("policy 4-%d-relu-2-softmax, REINFORCE, Adam lr %g, gamma %g, %ld episodes\n", HIDDEN,
           (double)LR, GAMMA, episodes);

    policy p;
    memset(&p, 0, sizeof p);
    int ok = policy_create(ctx, &p);
    static double p_right[MAX_STEPS];
    static int action[MAX_STEPS];
    long block = episodes / BLOCKS, block_steps = 0;
    double first = 0.0, last = 0.0;
    for (long e = 0; e < BLOCKS * block && ok; e++) {
        cartpole s = {uniform() * 0.1 - 0.05, uniform() * 0.1 - 0.05, uniform() * 0.1 - 0.05,
                      uniform() * 0.1 - 0.05};
        size_t n = 0;
        int up = 1;
        while (up && n < MAX_STEPS && ok) {
            ok = policy_act(ctx, &p, n, &s, &p_right[n]);
            action[n] = uniform() < p_right[n];
            up = cartpole_step(&s, action[n]);
            n++;
        }
        ok = ok && policy_learn(ctx, &p, n, p_right, action, e + 1);
        block_steps += (long)n;
        if ((e + 1) % block == 0) {
            double average = (double)block_steps / (double)block;
            printf("episodes %4ld-%4ld: average length %6.1f steps\n", e + 2 - block, e + 1,
                   average);
            if (e + 1 == block)
                first = average;
            last = average;
            block_steps = 0;
        }
    }
    if (ok) {
        ok = last >= 2.0 * first && last >= 60.0;
        printf("learning: last block %.1f vs first %.1f steps (>= 2x and >= 60): %s\n", last, first,
               ok ? "PASS" : "FAIL");
    }

    relucl_tensor *all[] = {&p.w1,  &p.b1, &p.w2, &p.b2, &p.dw1,    &p.db1, &p.dw2,
                            &p.db2, &p.x,  &p.z1, &p.h1, &p.logits, &p.dh1, &p.dlogits};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        relucl_tensor_release(all[i]);
    for (int i = 0; i < 4; i++) {
        relucl_tensor_release(&p.m[i]);
        relucl_tensor_release(&p.v[i]);
    }
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
