/* Status names, OpenCL error names, and the context's last-error message. */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>

const char *relucl_status_name(relucl_status status) {
    switch (status) {
    case RELUCL_OK: return "RELUCL_OK";
    case RELUCL_ERROR_INVALID_ARGUMENT: return "RELUCL_ERROR_INVALID_ARGUMENT";
    case RELUCL_ERROR_SHAPE: return "RELUCL_ERROR_SHAPE";
    case RELUCL_ERROR_OUT_OF_MEMORY: return "RELUCL_ERROR_OUT_OF_MEMORY";
    case RELUCL_ERROR_NO_DEVICE: return "RELUCL_ERROR_NO_DEVICE";
    case RELUCL_ERROR_BUILD: return "RELUCL_ERROR_BUILD";
    case RELUCL_ERROR_OPENCL: return "RELUCL_ERROR_OPENCL";
    case RELUCL_ERROR_BLAS: return "RELUCL_ERROR_BLAS";
    case RELUCL_ERROR_IO: return "RELUCL_ERROR_IO";
    case RELUCL_ERROR_FORMAT: return "RELUCL_ERROR_FORMAT";
    case RELUCL_ERROR_UNSUPPORTED: return "RELUCL_ERROR_UNSUPPORTED";
    }
    return "RELUCL_STATUS_UNKNOWN";
}

#define RELUCL__STRING(x) #x
#define RELUCL__VERSION_TEXT(major, minor, patch)                                                  \
    RELUCL__STRING(major) "." RELUCL__STRING(minor) "." RELUCL__STRING(patch)

const char *relucl_version(void) {
    return RELUCL__VERSION_TEXT(RELUCL_VERSION_MAJOR, RELUCL_VERSION_MINOR, RELUCL_VERSION_PATCH);
}

const char *relucl_context_error(const relucl_context *ctx) { return ctx ? ctx->error : ""; }

relucl_status relucl__fail(relucl_context *ctx, relucl_status status, const char *fn,
                           const char *format, ...) {
    if (!ctx)
        return status;
    int used = snprintf(ctx->error, sizeof ctx->error, "%s: ", fn);
    if (used < 0 || (size_t)used >= sizeof ctx->error)
        return status;
    va_list args;
    va_start(args, format);
    vsnprintf(ctx->error + used, sizeof ctx->error - (size_t)used, format, args);
    va_end(args);
    return status;
}

const char *relucl__cl_error_name(cl_int code) {
    switch (code) {
#define NAME(c)                                                                                    \
    case c: return #c
        NAME(CL_SUCCESS);
        NAME(CL_DEVICE_NOT_FOUND);
        NAME(CL_DEVICE_NOT_AVAILABLE);
        NAME(CL_COMPILER_NOT_AVAILABLE);
        NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE);
        NAME(CL_OUT_OF_RESOURCES);
        NAME(CL_OUT_OF_HOST_MEMORY);
        NAME(CL_PROFILING_INFO_NOT_AVAILABLE);
        NAME(CL_MEM_COPY_OVERLAP);
        NAME(CL_BUILD_PROGRAM_FAILURE);
        NAME(CL_MAP_FAILURE);
        NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        NAME(CL_COMPILE_PROGRAM_FAILURE);
        NAME(CL_LINK_PROGRAM_FAILURE);
        NAME(CL_INVALID_VALUE);
        NAME(CL_INVALID_DEVICE_TYPE);
        NAME(CL_INVALID_PLATFORM);
        NAME(CL_INVALID_DEVICE);
        NAME(CL_INVALID_CONTEXT);
        NAME(CL_INVALID_QUEUE_PROPERTIES);
        NAME(CL_INVALID_COMMAND_QUEUE);
        NAME(CL_INVALID_HOST_PTR);
        NAME(CL_INVALID_MEM_OBJECT);
        NAME(CL_INVALID_BINARY);
        NAME(CL_INVALID_BUILD_OPTIONS);
        NAME(CL_INVALID_PROGRAM);
        NAME(CL_INVALID_PROGRAM_EXECUTABLE);
        NAME(CL_INVALID_KERNEL_NAME);
        NAME(CL_INVALID_KERNEL_DEFINITION);
        NAME(CL_INVALID_KERNEL);
        NAME(CL_INVALID_ARG_INDEX);
        NAME(CL_INVALID_ARG_VALUE);
        NAME(CL_INVALID_ARG_SIZE);
        NAME(CL_INVALID_KERNEL_ARGS);
        NAME(CL_INVALID_WORK_DIMENSION);
        NAME(CL_INVALID_WORK_GROUP_SIZE);
        NAME(CL_INVALID_WORK_ITEM_SIZE);
        NAME(CL_INVALID_GLOBAL_OFFSET);
        NAME(CL_INVALID_EVENT_WAIT_LIST);
        NAME(CL_INVALID_EVENT);
        NAME(CL_INVALID_OPERATION);
        NAME(CL_INVALID_BUFFER_SIZE);
        NAME(CL_INVALID_GLOBAL_WORK_SIZE);
        NAME(CL_INVALID_PROPERTY);
#undef NAME
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "CL_UNKNOWN_ERROR";
    }
}

relucl_status relucl__fail_cl(relucl_context *ctx, const char *fn, const char *what, cl_int code) {
    relucl_status status = RELUCL_ERROR_OPENCL;
    if (code == CL_OUT_OF_HOST_MEMORY || code == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
        code == CL_OUT_OF_RESOURCES || code == CL_INVALID_BUFFER_SIZE)
        status = RELUCL_ERROR_OUT_OF_MEMORY;
    return relucl__fail(ctx, status, fn, "%s: %s (%d)", what, relucl__cl_error_name(code), code);
}
