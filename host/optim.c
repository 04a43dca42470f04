/* Optimizer steps: SGD (momentum, Nesterov, weight decay) and Adam / AdamW, one kernel each. */
#include "internal.h"

#include <math.h>

/* kernel flags; must match kernels/optim.cl */
enum { WEIGHT_DECAY = 1, MOMENTUM = 2, NESTEROV = 4, DECOUPLED = 8 };

/* A finite float in [0, 1) (momentum, betas). */
static relucl_status check_unit(relucl_context *ctx, const char *fn, const char *name, float v) {
    relucl_status status = relucl_check_param(ctx, fn, name, v, 0);
    if (status == RELUCL_OK && !(v >= 0.0f && v < 1.0f))
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is %g, not in [0, 1)",
                             name, (double)v);
    return status;
}

/* A finite float >= 0 (learning rate, weight decay). */
static relucl_status check_nonnegative(relucl_context *ctx, const char *fn, const char *name,
                                       float v) {
    relucl_status status = relucl_check_param(ctx, fn, name, v, 0);
    if (status == RELUCL_OK && !(v >= 0.0f))
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is %g, must be >= 0", name,
                             (double)v);
    return status;
}

/* The step's tensors: list[0] is param; every one is checked, has param's element count and
 * overlaps no other. NULL entries (an unused velocity) are skipped. *count gets param's. */
static relucl_status check_state(relucl_context *ctx, const char *fn,
                                 const relucl_tensor *const *list, const char *const *names,
                                 int count, size_t *n) {
    relucl_status status = RELUCL_OK;
    for (int i = 0; i < count && status == RELUCL_OK; i++) {
        size_t ni = 0;
        if (!list[i])
            continue;
        status = relucl_check_tensor(ctx, fn, names[i], list[i], i == 0 ? n : &ni);
        if (status == RELUCL_OK && i > 0)
            status = relucl_check_same_count(ctx, fn, names[i], ni, names[0], *n);
        for (int j = 0; j < i && status == RELUCL_OK; j++)
            status = relucl_check_overlap(ctx, fn, names[i], list[i], names[j], list[j], 0);
    }
    return status;
}

/* Work-items for n elements: one per four, plus one per tail element. */
static size_t vector_items(size_t n) { return n / 4 + n % 4; }

static relucl_status check_sgd(relucl_context *ctx, const char *fn, const relucl_sgd *opt,
                               const relucl_tensor *velocity) {
    if (!opt)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "opt is NULL");
    relucl_status status = check_nonnegative(ctx, fn, "opt.lr", opt->lr);
    if (status == RELUCL_OK)
        status = check_unit(ctx, fn, "opt.momentum", opt->momentum);
    if (status == RELUCL_OK)
        status = check_nonnegative(ctx, fn, "opt.weight_decay", opt->weight_decay);
    if (status == RELUCL_OK && opt->nesterov && opt->momentum == 0.0f)
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                             "opt.nesterov needs opt.momentum > 0");
    if (status == RELUCL_OK && opt->momentum != 0.0f && !velocity)
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                             "velocity is NULL but opt.momentum is %g", (double)opt->momentum);
    return status;
}

relucl_status relucl_sgd_step(relucl_context *ctx, const relucl_sgd *opt,
                              const relucl_tensor *param, const relucl_tensor *grad,
                              const relucl_tensor *velocity) {
    static const char fn[] = "relucl_sgd_step";
    size_t n = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = check_sgd(ctx, fn, opt, velocity);
    /* Without momentum PyTorch keeps no buffer: velocity is neither checked nor touched. */
    const relucl_tensor *list[] = {param, grad, opt && opt->momentum != 0.0f ? velocity : NULL};
    const char *const names[] = {"param", "grad", "velocity"};
    if (status == RELUCL_OK && !param)
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "param is NULL");
    if (status == RELUCL_OK && !grad)
        status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "grad is NULL");
    if (status == RELUCL_OK)
        status = check_state(ctx, fn, list, names, 3, &n);
    if (status != RELUCL_OK || n == 0)
        return status;

    cl_kernel kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_OPTIM, "sgd_step", &kernel);
    if (status != RELUCL_OK)
        return status;
    cl_int flags = (opt->weight_decay != 0.0f ? WEIGHT_DECAY : 0) |
                   (opt->momentum != 0.0f ? MOMENTUM : 0) | (opt->nesterov ? NESTEROV : 0);
    cl_mem vbuf = list[2] ? velocity->buffer : param->buffer;
    cl_ulong po = param->offset, go = grad->offset, vo = list[2] ? velocity->offset : 0, count = n;
    relucl_arg args[] = {RELUCL_ARG(param->buffer), RELUCL_ARG(po),
                         RELUCL_ARG(grad->buffer),  RELUCL_ARG(go),
                         RELUCL_ARG(vbuf),          RELUCL_ARG(vo),
                         RELUCL_ARG(count),         RELUCL_ARG(opt->lr),
                         RELUCL_ARG(opt->momentum), RELUCL_ARG(opt->weight_decay),
                         RELUCL_ARG(flags)};
    status = relucl_set_args(ctx, fn, kernel, args, 11);
    return status != RELUCL_OK ? status : relucl_launch_1d(ctx, fn, kernel, vector_items(n), 0);
}

static relucl_status check_adam(relucl_context *ctx, const char *fn, const relucl_adam *opt,
                                long step) {
    if (!opt)
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "opt is NULL");
    relucl_status status = check_nonnegative(ctx, fn, "opt.lr", opt->lr);
    if (status == RELUCL_OK)
        status = check_unit(ctx, fn, "opt.beta1", opt->beta1);
    if (status == RELUCL_OK)
        status = check_unit(ctx, fn, "opt.beta2", opt->beta2);
    if (status == RELUCL_OK)
        status = relucl_check_param(ctx, fn, "opt.eps", opt->eps, 1);
    if (status == RELUCL_OK)
        status = check_nonnegative(ctx, fn, "opt.weight_decay", opt->weight_decay);
    if (status == RELUCL_OK && step < 1)
        status =
            relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "step is %ld, must be >= 1", step);
    return status;
}

relucl_status relucl_adam_step(relucl_context *ctx, const relucl_adam *opt, long step,
                               const relucl_tensor *param, const relucl_tensor *grad,
                               const relucl_tensor *m, const relucl_tensor *v) {
    static const char fn[] = "relucl_adam_step";
    size_t n = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = check_adam(ctx, fn, opt, step);
    const relucl_tensor *list[] = {param, grad, m, v};
    const char *const names[] = {"param", "grad", "m", "v"};
    for (int i = 0; i < 4 && status == RELUCL_OK; i++)
        if (!list[i])
            status = relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", names[i]);
    if (status == RELUCL_OK)
        status = check_state(ctx, fn, list, names, 4, &n);
    if (status != RELUCL_OK || n == 0)
        return status;

    cl_kernel kernel;
    status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_OPTIM, "adam_step", &kernel);
    if (status != RELUCL_OK)
        return status;
    /* PyTorch's bias corrections, in double: step_size = lr / (1 - beta1^t) and
     * sqrt(1 - beta2^t); and AdamW's factor 1 - lr * wd. */
    double t = (double)step;
    float step_size = (float)((double)opt->lr / (1.0 - pow((double)opt->beta1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow((double)opt->beta2, t));
    float decay = (float)(1.0 - (double)opt->lr * (double)opt->weight_decay);
    cl_int flags = opt->weight_decay != 0.0f ? (opt->decoupled ? DECOUPLED : WEIGHT_DECAY) : 0;
    cl_ulong po = param->offset, go = grad->offset, mo = m->offset, vo = v->offset, count = n;
    relucl_arg args[] = {RELUCL_ARG(param->buffer),
                         RELUCL_ARG(po),
                         RELUCL_ARG(grad->buffer),
                         RELUCL_ARG(go),
                         RELUCL_ARG(m->buffer),
                         RELUCL_ARG(mo),
                         RELUCL_ARG(v->buffer),
                         RELUCL_ARG(vo),
                         RELUCL_ARG(count),
                         RELUCL_ARG(step_size),
                         RELUCL_ARG(bc2_sqrt),
                         RELUCL_ARG(opt->beta1),
                         RELUCL_ARG(opt->beta2),
                         RELUCL_ARG(opt->eps),
                         RELUCL_ARG(opt->weight_decay),
                         RELUCL_ARG(decay),
                         RELUCL_ARG(flags)};
    status = relucl_set_args(ctx, fn, kernel, args, 17);
    return status != RELUCL_OK ? status : relucl_launch_1d(ctx, fn, kernel, vector_items(n), 0);
}
