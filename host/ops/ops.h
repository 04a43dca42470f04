/* What the ops share among themselves. Library-private. Ops depend on blas and core. */
#ifndef RELUCL_OPS_H
#define RELUCL_OPS_H

#include "blas/blas.h"

/* activation.c: the kind is known and alpha suits it (finite; > 0 for ELU and clipped ReLU).
 * RELUCL_PRELU passes only where the caller supplies a slope (allow_prelu). */
relucl_status relucl__check_activation(relucl_context *ctx, const char *fn, relucl_activation act,
                                       int allow_prelu);

#endif /* RELUCL_OPS_H */
