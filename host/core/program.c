/* Device programs: built once per context from the embedded sources (or taken from the disk
 * cache, program_cache.c), and their kernels, created once and reused. */
#include "core/core.h"

#include <string.h>

static relucl_status build_failure(relucl_context *ctx, const char *fn, const char *name,
                                   cl_program program, cl_int err) {
    char log[RELUCL_ERROR_SIZE - 256];
    log[0] = '\0';
    clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
    log[sizeof log - 1] = '\0';
    return relucl__fail(ctx, RELUCL_ERROR_BUILD, fn, "building kernels/%s.cl failed (%s): %s", name,
                        relucl__cl_error_name(err), log);
}

relucl_status relucl__program_build_source(relucl_context *ctx, const char *fn, const char *name,
                                           cl_uint parts, const char **text, const size_t *size,
                                           cl_program *out) {
    cl_int err = CL_SUCCESS;
    cl_program program = clCreateProgramWithSource(ctx->cl, parts, text, size, &err);
    if (err != CL_SUCCESS)
        return relucl__fail_cl(ctx, fn, "clCreateProgramWithSource", err);
    err = clBuildProgram(program, 1, &ctx->device, ctx->build_options, NULL, NULL);
    if (err != CL_SUCCESS) {
        relucl_status status = build_failure(ctx, fn, name, program, err);
        clReleaseProgram(program);
        return status;
    }
    *out = program;
    return RELUCL_OK;
}

static relucl_status build_embedded(relucl_context *ctx, const char *fn, relucl__program_id id,
                                    cl_program *out) {
    const relucl__program_source *src = &relucl__programs[id];
    const char *text[RELUCL__PROGRAM_MAX_PARTS];
    size_t size[RELUCL__PROGRAM_MAX_PARTS];
    for (unsigned i = 0; i < src->parts; i++) {
        text[i] = (const char *)src->text[i];
        size[i] = *src->size[i];
    }
    ctx->cache.misses++;
    RELUCL__TRY(relucl__program_build_source(ctx, fn, src->name, src->parts, text, size, out));
    relucl__program_cache_store(ctx, id, *out);
    return RELUCL_OK;
}

relucl_status relucl__program_get(relucl_context *ctx, const char *fn, relucl__program_id id,
                                  cl_program *out) {
    if (!ctx->programs[id]) {
        cl_program program = relucl__program_cache_load(ctx, id);
        if (!program)
            RELUCL__TRY(build_embedded(ctx, fn, id, &program));
        ctx->programs[id] = program;
    }
    *out = ctx->programs[id];
    return RELUCL_OK;
}

relucl_status relucl__kernel_get(relucl_context *ctx, const char *fn, relucl__program_id id,
                                 const char *name, cl_kernel *out) {
    for (int i = 0; i < ctx->kernel_count; i++) {
        if (strcmp(ctx->kernels[i].name, name) == 0) {
            *out = ctx->kernels[i].kernel;
            return RELUCL_OK;
        }
    }
    if (ctx->kernel_count == RELUCL_MAX_KERNELS)
        return relucl__fail(ctx, RELUCL_ERROR_UNSUPPORTED, fn, "more than %d kernels in use",
                            RELUCL_MAX_KERNELS);
    cl_program program;
    RELUCL__TRY(relucl__program_get(ctx, fn, id, &program));
    cl_int err = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS)
        return relucl__fail_cl(ctx, fn, name, err);
    ctx->kernels[ctx->kernel_count++] = (relucl__kernel_slot){name, kernel};
    *out = kernel;
    return RELUCL_OK;
}

void relucl__program_release_all(relucl_context *ctx) {
    for (int i = 0; i < ctx->kernel_count; i++)
        clReleaseKernel(ctx->kernels[i].kernel);
    ctx->kernel_count = 0;
    for (int i = 0; i < RELUCL_PROGRAM_COUNT; i++) {
        if (ctx->programs[i])
            clReleaseProgram(ctx->programs[i]);
        ctx->programs[i] = NULL;
    }
}
