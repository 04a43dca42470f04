/* Checkpoints of a sequential network.
 *
 * File format, version 1, every number little-endian:
 *   8 bytes  magic "RELUCLCK"
 *   u32      format version (1)
 *   u32      length L of the spec, then L bytes: the normalised spec (relucl_net_spec)
 *   u64      parameter count P
 *   u32      optimizer kind (0 SGD, 1 Adam)
 *   f32 x 3  SGD lr, momentum, weight decay; u32 SGD nesterov
 *   f32 x 5  Adam lr, beta1, beta2, eps, weight decay; u32 Adam decoupled (AdamW)
 *   u64      optimizer steps taken
 *   f32 x P  parameters, layer by layer: w (in x out, row-major), b (out), PReLU slope (out)
 *   f32 x 2P optimizer state: SGD velocity or Adam m, then Adam v (zeros for SGD)
 *   u64      FNV-1a 64 of every byte before it
 * Files are written atomically (io/atomic_file.c): readers see the old checkpoint or the new
 * one, never a mixture. */
#include "io/atomic_file.h"
#include "io/checksum.h"
#include "net/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAGIC "RELUCLCK"
#define VERSION 1u

typedef struct writer {
    unsigned char *data;
    size_t used;
} writer;

static void put(writer *w, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        w->data[w->used++] = (unsigned char)(v >> (8 * i));
}
static void put_f32(writer *w, float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    put(w, bits, 4);
}

typedef struct reader {
    const unsigned char *data;
    size_t size, at;
    int bad;
} reader;

static uint64_t get(reader *r, int bytes) {
    uint64_t v = 0;
    if (r->bad || r->size - r->at < (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->data[r->at++] << (8 * i);
    return v;
}
static float get_f32(reader *r) {
    uint32_t bits = (uint32_t)get(r, 4);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static size_t file_size_for(const relucl_net *net) {
    return 8 + 4 + 4 + strlen(net->spec) + 8 + 4 + 4 * 4 + 6 * 4 + 8 +
           3 * net->param_count * sizeof(float) + 8;
}

/* Serialises everything but the float arrays' contents, which the caller reads in place. */
static void put_header(writer *w, const relucl_net *net) {
    memcpy(w->data, MAGIC, 8);
    w->used = 8;
    put(w, VERSION, 4);
    size_t length = strlen(net->spec);
    put(w, length, 4);
    memcpy(w->data + w->used, net->spec, length);
    w->used += length;
    put(w, net->param_count, 8);
    const relucl_optimizer *o = &net->opt;
    put(w, (uint64_t)o->kind, 4);
    put_f32(w, o->sgd.lr), put_f32(w, o->sgd.momentum), put_f32(w, o->sgd.weight_decay);
    put(w, (uint64_t)(o->sgd.nesterov != 0), 4);
    put_f32(w, o->adam.lr), put_f32(w, o->adam.beta1), put_f32(w, o->adam.beta2);
    put_f32(w, o->adam.eps), put_f32(w, o->adam.weight_decay);
    put(w, (uint64_t)(o->adam.decoupled != 0), 4);
    put(w, net->steps, 8);
}

/* Floats from the device in file order (little-endian on the machines OpenCL runs on; the
 * byte swap below keeps the file portable anyway). */
static relucl_status read_floats(relucl_net *net, writer *w) {
    float *dst = (float *)(void *)(w->data + w->used);
    relucl_status status = relucl_tensor_read(net->ctx, &net->all_params, dst);
    if (status == RELUCL_OK)
        status = relucl_tensor_read(net->ctx, &net->all_state, dst + net->param_count);
    size_t count = 3 * net->param_count;
    unsigned char *bytes = w->data + w->used;
    for (size_t i = 0; i < count && status == RELUCL_OK; i++) {
        uint32_t bits;
        memcpy(&bits, bytes + 4 * i, 4);
        for (int b = 0; b < 4; b++)
            bytes[4 * i + (size_t)b] = (unsigned char)(bits >> (8 * b));
    }
    w->used += count * sizeof(float);
    return status;
}

relucl_status relucl_net_save(relucl_net *net, const char *path) {
    static const char fn[] = "relucl_net_save";
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_status status = relucl__check_context(net->ctx);
    if (status == RELUCL_OK && !path)
        status = relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "path is NULL");
    if (status != RELUCL_OK)
        return status;
    size_t size = file_size_for(net);
    writer w = {malloc(size), 0};
    if (!w.data)
        return relucl__fail(net->ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn, "out of host memory");
    put_header(&w, net);
    status = read_floats(net, &w);
    if (status == RELUCL_OK) {
        put(&w, relucl__fnv1a(RELUCL__FNV_OFFSET, w.data, w.used), 8);
        int e = relucl__atomic_write(path, w.data, w.used);
        if (e)
            status = relucl__fail(net->ctx, RELUCL_ERROR_IO, fn, "path: cannot write \"%s\": %s",
                                  path, strerror(e));
    }
    free(w.data);
    return status;
}

/* Reads the file, but only after cheap checks: a regular file, the magic, and no longer than
 * this net's checkpoints (so neither a folder nor a large foreign file is ever read whole). */
static relucl_status read_file(relucl_net *net, const char *fn, const char *path,
                               unsigned char **data, size_t *size) {
    relucl_context *ctx = net->ctx;
    FILE *f = fopen(path, "rb");
    if (!f)
        return relucl__fail(ctx, RELUCL_ERROR_IO, fn, "path: cannot open \"%s\": %s", path,
                            strerror(errno));
    struct stat st;
    char magic[8];
    size_t expected = file_size_for(net);
    relucl_status status = RELUCL_OK;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        status = relucl__fail(ctx, RELUCL_ERROR_IO, fn, "path: \"%s\" is not a regular file", path);
    else if (st.st_size < 16 || fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0)
        status =
            relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn, "\"%s\" is not a relucl checkpoint", path);
    else if ((unsigned long long)st.st_size > expected)
        status = relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn,
                              "\"%s\" holds another model or is damaged: %lld bytes, where "
                              "checkpoints of %s have %zu",
                              path, (long long)st.st_size, net->spec, expected);
    unsigned char *buffer = NULL;
    if (status == RELUCL_OK) {
        *size = (size_t)st.st_size;
        buffer = malloc(*size);
        if (!buffer || fseek(f, 0, SEEK_SET) != 0 || fread(buffer, 1, *size, f) != *size)
            status = relucl__fail(ctx, RELUCL_ERROR_IO, fn, "path: cannot read \"%s\"", path);
    }
    fclose(f);
    if (status != RELUCL_OK)
        free(buffer);
    else
        *data = buffer;
    return status;
}

relucl_status relucl__checkpoint_parse(relucl_net *net, const char *fn, const char *path,
                                       const unsigned char *data, size_t size,
                                       relucl_optimizer *opt, unsigned long long *steps,
                                       size_t *floats_at) {
    relucl_context *ctx = net->ctx;
    reader reading = {data, size, 0, 0}, *r = &reading;
    if (r->size < 8 + 8 || memcmp(r->data, MAGIC, 8) != 0)
        return relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn, "\"%s\" is not a relucl checkpoint",
                            path);
    uint64_t stored = 0;
    for (int i = 0; i < 8; i++)
        stored |= (uint64_t)r->data[r->size - 8 + (size_t)i] << (8 * i);
    if (!relucl__checksum_ok(relucl__fnv1a(RELUCL__FNV_OFFSET, r->data, r->size - 8), stored))
        return relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn,
                            "\"%s\": checksum mismatch: the file is corrupt or truncated", path);
    r->at = 8;
    uint64_t version = get(r, 4), length = get(r, 4);
    if (version != VERSION)
        return relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn,
                            "\"%s\": format version %llu, expected %u", path,
                            (unsigned long long)version, VERSION);
    size_t spec_length = strlen(net->spec);
    if (r->bad || length != spec_length || r->size - r->at < length ||
        memcmp(r->data + r->at, net->spec, spec_length) != 0)
        return relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn, "\"%s\" holds another model, not %s",
                            path, net->spec);
    r->at += spec_length;
    if (get(r, 8) != net->param_count)
        return relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn, "\"%s\": parameter count differs", path);
    opt->kind = (relucl_optimizer_kind)get(r, 4);
    opt->sgd.lr = get_f32(r), opt->sgd.momentum = get_f32(r), opt->sgd.weight_decay = get_f32(r);
    opt->sgd.nesterov = (int)get(r, 4);
    opt->adam.lr = get_f32(r), opt->adam.beta1 = get_f32(r), opt->adam.beta2 = get_f32(r);
    opt->adam.eps = get_f32(r), opt->adam.weight_decay = get_f32(r);
    opt->adam.decoupled = (int)get(r, 4);
    *steps = get(r, 8);
    if (r->bad || r->size - 8 - r->at != 3 * net->param_count * sizeof(float))
        return relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn, "\"%s\": wrong length", path);
    /* A file with a good checksum can still hold settings no optimizer accepts. */
    if (relucl__net_check_optimizer(ctx, fn, opt) != RELUCL_OK) {
        char why[256] = "";
        if (ctx)
            memcpy(why, ctx->error, sizeof why - 1); /* cut: it is only the detail */
        return relucl__fail(ctx, RELUCL_ERROR_FORMAT, fn, "\"%s\": bad optimizer settings (%s)",
                            path, why);
    }
    *floats_at = r->at;
    return RELUCL_OK;
}

relucl_status relucl_net_load(relucl_net *net, const char *path) {
    static const char fn[] = "relucl_net_load";
    if (!net)
        return RELUCL_ERROR_INVALID_ARGUMENT;
    relucl_status status = relucl__check_context(net->ctx);
    if (status == RELUCL_OK && !path)
        status = relucl__fail(net->ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "path is NULL");
    unsigned char *data = NULL;
    size_t size = 0;
    if (status == RELUCL_OK)
        status = read_file(net, fn, path, &data, &size);
    if (status != RELUCL_OK)
        return status;
    relucl_optimizer opt = net->opt;
    unsigned long long steps = 0;
    size_t at = 0;
    status = relucl__checkpoint_parse(net, fn, path, data, size, &opt, &steps, &at);
    reader r = {data, size, at, 0};
    if (status == RELUCL_OK) {
        /* Back to host floats, in place, then onto the device. */
        size_t count = 3 * net->param_count;
        float *floats = malloc((count ? count : 1) * sizeof *floats);
        for (size_t i = 0; floats && i < count; i++)
            floats[i] = get_f32(&r);
        status = !floats ? relucl__fail(net->ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn, "out of memory")
                         : relucl_tensor_write(net->ctx, &net->all_params, floats);
        if (status == RELUCL_OK)
            status = relucl_tensor_write(net->ctx, &net->all_state, floats + net->param_count);
        free(floats);
    }
    if (status == RELUCL_OK) {
        net->opt = opt;
        net->steps = steps;
    }
    free(data);
    return status;
}
