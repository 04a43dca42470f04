/* libFuzzer target: program cache entries (relucl__cache_entry_read). The key is the one a
 * well-formed seed carries; other keys must simply be refused. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    size_t binary_size = 0;
    unsigned char *binary = relucl__cache_entry_read(f, 0x0123456789abcdefull, &binary_size);
    fclose(f);
    if (binary && binary_size + 40 != size) /* header (40 bytes) and binary: nothing else */
        abort();
    free(binary);
    return 0;
}
