/* Optimizer steps with PyTorch's semantics (torch.optim.SGD, Adam, AdamW), one kernel launch
 * per parameter tensor.
 *
 * Each tensor is (buffer, element offset). A work-item updates W elements with vloadW /
 * vstoreW (float alignment suffices, so any offset works); the n % W tail elements get one
 * work-item each after the vector items. The options arrive as flags so that, as in PyTorch, a
 * zero weight decay or momentum is skipped rather than multiplied in (0 * Inf would be NaN). */
#pragma OPENCL FP_CONTRACT OFF

/* flags: RELUCL_OPTIM_* (kernels/constants.h) */

/* SGD on values of type T (float or float4). */
#define SGD_BODY(T, p, g, v)                                                                   \
    do {                                                                                       \
        if (flags & RELUCL_OPTIM_WEIGHT_DECAY)                                                 \
            g = g + wd * p;                                                                    \
        if (flags & RELUCL_OPTIM_MOMENTUM) {                                                   \
            v = momentum * v + g;                                                              \
            g = (flags & RELUCL_OPTIM_NESTEROV) ? g + momentum * v : v;                        \
        }                                                                                      \
        p = p - lr * g;                                                                        \
    } while (0)

/* velocity is ignored (and may be any buffer) without RELUCL_OPTIM_MOMENTUM. Each kernel
 * exists for W = 4 elements a work-item and, named with _wide, W = 16 for CPU devices (one
 * AVX-512 register; float4 ran the MLP's 235K parameters at half the copy's speed). */
#define SGD_KERNEL_W(name, W)                                                                  \
    kernel void name(global float *param, ulong po, global const float *grad, ulong go,        \
                     global float *velocity, ulong vo, ulong n, float lr, float momentum,      \
                     float wd, int flags) {                                                    \
        size_t i = get_global_id(0), nw = n / W;                                               \
        param += po;                                                                           \
        grad += go;                                                                            \
        velocity += vo;                                                                        \
        if (i < nw) {                                                                          \
            float##W p = vload##W(i, param), g = vload##W(i, grad), v = (float##W)(0.0f);      \
            if (flags & RELUCL_OPTIM_MOMENTUM)                                                 \
                v = vload##W(i, velocity);                                                     \
            SGD_BODY(float##W, p, g, v);                                                       \
            store##W(p, i, param);                                                             \
            if (flags & RELUCL_OPTIM_MOMENTUM)                                                 \
                store##W(v, i, velocity);                                                      \
        } else {                                                                               \
            size_t j = W * nw + (i - nw);                                                      \
            if (j >= n)                                                                        \
                return;                                                                        \
            float p = param[j], g = grad[j], v = 0.0f;                                         \
            if (flags & RELUCL_OPTIM_MOMENTUM)                                                 \
                v = velocity[j];                                                               \
            SGD_BODY(float, p, g, v);                                                          \
            param[j] = p;                                                                      \
            if (flags & RELUCL_OPTIM_MOMENTUM)                                                 \
                velocity[j] = v;                                                               \
        }                                                                                      \
    }

SGD_KERNEL_W(sgd_step, 4)
SGD_KERNEL_W(sgd_step_wide, 16)

/* Adam as PyTorch writes it: step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t)
 * come from the host (computed in double); decay is 1 - lr * wd for AdamW.
 *   p = p - step_size * (m / (sqrt(v) / bc2_sqrt + eps)) */
#define ADAM_BODY(T, p, g, m, v)                                                               \
    do {                                                                                       \
        if (flags & RELUCL_OPTIM_DECOUPLED)                                                    \
            p = p * decay;                                                                     \
        else if (flags & RELUCL_OPTIM_WEIGHT_DECAY)                                            \
            g = g + wd * p;                                                                    \
        m = beta1 * m + (1.0f - beta1) * g;                                                    \
        v = beta2 * v + (1.0f - beta2) * (g * g);                                              \
        T denom = sqrt(v) / bc2_sqrt + eps;                                                    \
        p = p - step_size * (m / denom);                                                       \
    } while (0)

#define ADAM_KERNEL_W(name, W)                                                                 \
    kernel void name(global float *param, ulong po, global const float *grad, ulong go,        \
                     global float *mom1, ulong mo, global float *mom2, ulong vo, ulong n,      \
                     float step_size, float bc2_sqrt, float beta1, float beta2, float eps,     \
                     float wd, float decay, int flags) {                                       \
        size_t i = get_global_id(0), nw = n / W;                                               \
        param += po;                                                                           \
        grad += go;                                                                            \
        mom1 += mo;                                                                            \
        mom2 += vo;                                                                            \
        if (i < nw) {                                                                          \
            float##W p = vload##W(i, param), g = vload##W(i, grad), m = vload##W(i, mom1),     \
                     v = vload##W(i, mom2);                                                    \
            ADAM_BODY(float##W, p, g, m, v);                                                   \
            store##W(p, i, param);                                                             \
            store##W(m, i, mom1);                                                              \
            store##W(v, i, mom2);                                                              \
        } else {                                                                               \
            size_t j = W * nw + (i - nw);                                                      \
            if (j >= n)                                                                        \
                return;                                                                        \
            float p = param[j], g = grad[j], m = mom1[j], v = mom2[j];                         \
            ADAM_BODY(float, p, g, m, v);                                                      \
            param[j] = p;                                                                      \
            mom1[j] = m;                                                                       \
            mom2[j] = v;                                                                       \
        }                                                                                      \
    }

ADAM_KERNEL_W(adam_step, 4)
ADAM_KERNEL_W(adam_step_wide, 16)
