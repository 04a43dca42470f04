/* libFuzzer target: network specs (relucl__net_parse and the normal form). The context is a
 * zeroed struct: parsing checks shapes only and never touches OpenCL. */
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static struct relucl_context ctx;
    static relucl_net net;
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    memset(&net, 0, sizeof net);
    net.ctx = &ctx;
    if (relucl__net_parse(&net, "fuzz", spec) == RELUCL_OK) {
        /* The normal form must parse again to itself. */
        char again[RELUCL_NET_SPEC_SIZE];
        memcpy(again, net.spec, sizeof again);
        if (relucl__net_parse(&net, "fuzz", again) != RELUCL_OK || strcmp(again, net.spec) != 0)
            abort();
    }
    free(spec);
    return 0;
}
