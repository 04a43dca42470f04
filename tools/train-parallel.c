/* relucl-train's data-parallel steps: see train-parallel.h. */
#include "train-parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ok(parallel *p, relucl_status s, const char *what) {
    if (s != RELUCL_OK)
        fprintf(stderr, "relucl-train: rank %d: %s: %s: %s\n", p->d.rank, what,
                relucl_status_name(s), relucl_context_error(p->ctx));
    return s == RELUCL_OK;
}

int parallel_init(parallel *p, const dist *d, relucl_context *ctx, relucl_net *net) {
    memset(p, 0, sizeof *p);
    p->d = *d;
    p->ctx = ctx;
    p->net = net;
    p->fault_rank = -1;
    const char *fault = getenv("RELUCL_TRAIN_FAULT");
    if (fault && sscanf(fault, "%d:%llu", &p->fault_rank, &p->fault_step) != 2)
        p->fault_rank = -1;
    if (!ok(p, relucl_net_buffer(net, RELUCL_NET_GRADIENTS, &p->grads), "gradients") ||
        !ok(p, relucl_net_buffer(net, RELUCL_NET_PARAMETERS, &p->params), "parameters") ||
        !ok(p, relucl_net_buffer(net, RELUCL_NET_OPTIMIZER_STATE, &p->state), "state"))
        return -1;
    p->host = malloc((relucl_tensor_count(&p->state) + 1) * sizeof *p->host);
    if (!p->host) {
        fprintf(stderr, "relucl-train: rank %d: out of host memory\n", d->rank);
        return -1;
    }
    return 0;
}

void parallel_free(parallel *p) { free(p->host); }

void parallel_slice(const parallel *p, size_t rows, size_t *lo, size_t *hi) {
    size_t r = (size_t)p->d.rank, n = (size_t)p->d.size;
    *lo = rows * r / n;
    *hi = rows * (r + 1) / n;
}

int parallel_step(parallel *p, size_t local, size_t rows) {
    size_t n = relucl_tensor_count(&p->grads);
    if (p->d.rank == p->fault_rank && relucl_net_steps(p->net) + 1 == p->fault_step) {
        fprintf(stderr, "relucl-train: rank %d: injected fault at step %llu\n", p->d.rank,
                p->fault_step);
        return 0;
    }
    if (local == 0) {
        memset(p->host, 0, n * sizeof *p->host);
    } else {
        if (!ok(p, relucl_tensor_read(p->ctx, &p->grads, p->host), "reading gradients"))
            return 0;
        /* The mean over the global batch is the sum of the slices' means, each weighted by
         * its share of the rows. */
        float share = (float)((double)local / (double)rows);
        for (size_t i = 0; i < n; i++)
            p->host[i] *= share;
    }
    if (dist_sum_floats(p->host, n) != 0) {
        fprintf(stderr, "relucl-train: rank %d: summing gradients failed\n", p->d.rank);
        return 0;
    }
    return ok(p, relucl_tensor_write(p->ctx, &p->grads, p->host), "writing gradients") &&
           ok(p, relucl_net_apply_gradients(p->net), "relucl_net_apply_gradients");
}

static int share(parallel *p, const relucl_tensor *t, const char *what) {
    if (p->d.rank == 0 && !ok(p, relucl_tensor_read(p->ctx, t, p->host), what))
        return 0;
    if (dist_broadcast(p->host, relucl_tensor_count(t) * sizeof *p->host) != 0)
        return 0;
    return p->d.rank == 0 || ok(p, relucl_tensor_write(p->ctx, t, p->host), what);
}

int parallel_share_net(parallel *p) {
    unsigned long long steps = relucl_net_steps(p->net);
    return share(p, &p->params, "parameters") && share(p, &p->state, "optimizer state") &&
           dist_broadcast(&steps, sizeof steps) == 0 &&
           ok(p, relucl_net_set_steps(p->net, steps), "relucl_net_set_steps");
}
