/* libFuzzer target: IDX files, plain or gzip-compressed (relucl_idx_load reads a path, so each
 * input goes through a file of this process's own). */
#include <relucl.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/relucl-fuzz-idx-%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    relucl_idx idx;
    char message[256];
    if (relucl_idx_load(path, &idx, message, sizeof message) == RELUCL_OK)
        relucl_idx_free(&idx);
    return 0;
}
