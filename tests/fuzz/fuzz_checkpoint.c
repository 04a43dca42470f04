/* libFuzzer target: checkpoint files (relucl__checkpoint_parse) against a small net whose
 * spec is parsed without a device; its parameter count is fixed by the spec. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

#define SPEC "4-3-relu-2"
#define PARAMS (4 * 3 + 3 + 3 * 2 + 2)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static struct relucl_context ctx;
    static relucl_net net;
    if (!net.ctx) {
        net.ctx = &ctx;
        if (relucl__net_parse(&net, "fuzz", SPEC) != RELUCL_OK)
            abort();
        net.param_count = PARAMS;
    }
    relucl_optimizer opt;
    unsigned long long steps = 0;
    size_t at = 0;
    if (relucl__checkpoint_parse(&net, "fuzz", "input", data, size, &opt, &steps, &at) ==
        RELUCL_OK) {
        /* Accepted: the floats must be exactly where the format puts them. */
        if (at + 3 * PARAMS * sizeof(float) + 8 != size)
            abort();
    }
    return 0;
}
