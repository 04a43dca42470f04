/* libFuzzer target: GEMM tuning files, as the library reads and checks them. */
#include "blas/blas.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    char why[256];
    relucl__tuning_check(f, 1024, 64 * 1024, why, sizeof why); /* a typical device's limits */
    fclose(f);
    return 0;
}
