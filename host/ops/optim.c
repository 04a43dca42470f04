/* Optimizer steps: SGD (momentum, Nesterov, weight decay) and Adam / AdamW, one kernel each. */
#include "ops/ops.h"

#include <math.h>

/* A finite float in [0, 1) (momentum, betas). */
static relucl_status check_unit(relucl_context *ctx, const char *fn, const char *name, float v) {
    RELUCL__TRY(relucl__check_param(ctx, fn, name, v, 0));
    if (!(v >= 0.0f && v < 1.0f))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is %g, not in [0, 1)", name,
                            (double)v);
    return RELUCL_OK;
}

/* A finite float >= 0 (learning rate, weight decay). */
static relucl_status check_nonnegative(relucl_context *ctx, const char *fn, const char *name,
                                       float v) {
    RELUCL__TRY(relucl__check_param(ctx, fn, name, v, 0));
    if (!(v >= 0.0f))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is %g, must be >= 0", name,
                            (double)v);
    return RELUCL_OK;
}

/* The step's tensors: list[0] is param; every one is checked, has param's element count and
 * overlaps no other. NULL entries (an unused velocity) are skipped. *count gets param's. */
static relucl_status check_state(relucl_context *ctx, const char *fn,
                                 const relucl_tensor *const *list, const char *const *names,
                                 int count, size_t *n) {
    for (int i = 0; i < count; i++) {
        size_t ni = 0;
        if (!list[i])
            continue;
        RELUCL__TRY(relucl__check_tensor(ctx, fn, names[i], list[i], i == 0 ? n : &ni));
        if (i > 0)
            RELUCL__TRY(relucl__check_same_count(ctx, fn, names[i], ni, names[0], *n));
        RELUCL__TRY(relucl__check_apart(ctx, fn, names[i], list[i], i, names, list));
    }
    return RELUCL_OK;
}

static relucl_status check_sgd(relucl_context *ctx, const char *fn, const relucl_sgd *opt,
                               const relucl_tensor *velocity) {
    if (!opt)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "opt is NULL");
    RELUCL__TRY(check_nonnegative(ctx, fn, "opt.lr", opt->lr));
    RELUCL__TRY(check_unit(ctx, fn, "opt.momentum", opt->momentum));
    RELUCL__TRY(check_nonnegative(ctx, fn, "opt.weight_decay", opt->weight_decay));
    if (opt->nesterov && opt->momentum == 0.0f)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "opt.nesterov needs opt.momentum > 0");
    if (opt->momentum != 0.0f && !velocity)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "velocity is NULL but opt.momentum is %g", (double)opt->momentum);
    return RELUCL_OK;
}

relucl_status relucl_sgd_step(relucl_context *ctx, const relucl_sgd *opt,
                              const relucl_tensor *param, const relucl_tensor *grad,
                              const relucl_tensor *velocity) {
    static const char fn[] = "relucl_sgd_step";
    size_t n = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_sgd(ctx, fn, opt, velocity));
    /* Without momentum PyTorch keeps no buffer: velocity is neither checked nor touched. */
    const relucl_tensor *list[] = {param, grad, opt && opt->momentum != 0.0f ? velocity : NULL};
    const char *const names[] = {"param", "grad", "velocity"};
    if (!param)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "param is NULL");
    if (!grad)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "grad is NULL");
    RELUCL__TRY(check_state(ctx, fn, list, names, 3, &n));
    if (n == 0)
        return RELUCL_OK;

    int flags = (opt->weight_decay != 0.0f ? RELUCL_OPTIM_WEIGHT_DECAY : 0) |
                (opt->momentum != 0.0f ? RELUCL_OPTIM_MOMENTUM : 0) |
                (opt->nesterov ? RELUCL_OPTIM_NESTEROV : 0);
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_OPTIM, ctx->wide ? "sgd_step_wide" : "sgd_step",
                          relucl__range_elements(ctx, n), RELUCL__TENSOR(param),
                          RELUCL__TENSOR(grad), RELUCL__TENSOR_OR(list[2], param->buffer),
                          RELUCL__ULONG(n), RELUCL__FLOAT(opt->lr), RELUCL__FLOAT(opt->momentum),
                          RELUCL__FLOAT(opt->weight_decay), RELUCL__INT(flags));
}

static relucl_status check_adam(relucl_context *ctx, const char *fn, const relucl_adam *opt,
                                long step) {
    if (!opt)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "opt is NULL");
    RELUCL__TRY(check_nonnegative(ctx, fn, "opt.lr", opt->lr));
    RELUCL__TRY(check_unit(ctx, fn, "opt.beta1", opt->beta1));
    RELUCL__TRY(check_unit(ctx, fn, "opt.beta2", opt->beta2));
    RELUCL__TRY(relucl__check_param(ctx, fn, "opt.eps", opt->eps, 1));
    RELUCL__TRY(check_nonnegative(ctx, fn, "opt.weight_decay", opt->weight_decay));
    if (step < 1)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "step is %ld, must be >= 1",
                            step);
    return RELUCL_OK;
}

relucl_status relucl_adam_step(relucl_context *ctx, const relucl_adam *opt, long step,
                               const relucl_tensor *param, const relucl_tensor *grad,
                               const relucl_tensor *m, const relucl_tensor *v) {
    static const char fn[] = "relucl_adam_step";
    size_t n = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(check_adam(ctx, fn, opt, step));
    const relucl_tensor *list[] = {param, grad, m, v};
    const char *const names[] = {"param", "grad", "m", "v"};
    for (int i = 0; i < 4; i++)
        if (!list[i])
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "%s is NULL", names[i]);
    RELUCL__TRY(check_state(ctx, fn, list, names, 4, &n));
    if (n == 0)
        return RELUCL_OK;

    /* PyTorch's bias corrections, in double: step_size = lr / (1 - beta1^t) and
     * sqrt(1 - beta2^t); and AdamW's factor 1 - lr * wd. */
    double t = (double)step;
    float step_size = (float)((double)opt->lr / (1.0 - pow((double)opt->beta1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow((double)opt->beta2, t));
    float decay = (float)(1.0 - (double)opt->lr * (double)opt->weight_decay);
    int flags = opt->weight_decay == 0.0f ? 0
                : opt->decoupled          ? RELUCL_OPTIM_DECOUPLED
                                          : RELUCL_OPTIM_WEIGHT_DECAY;
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_OPTIM, ctx->wide ? "adam_step_wide" : "adam_step",
                          relucl__range_elements(ctx, n), RELUCL__TENSOR(param),
                          RELUCL__TENSOR(grad), RELUCL__TENSOR(m), RELUCL__TENSOR(v),
                          RELUCL__ULONG(n), RELUCL__FLOAT(step_size), RELUCL__FLOAT(bc2_sqrt),
                          RELUCL__FLOAT(opt->beta1), RELUCL__FLOAT(opt->beta2),
                          RELUCL__FLOAT(opt->eps), RELUCL__FLOAT(opt->weight_decay),
                          RELUCL__FLOAT(decay), RELUCL__INT(flags));
}
