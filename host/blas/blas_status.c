/* CLBlast's status codes in relucl's terms. */
#include "blas/blas.h"

#include <clblast_c.h>

/* CLBlast's own name for the codes it adds to OpenCL's. */
static const char *clblast_name(CLBlastStatusCode code) {
    switch (code) {
    case CLBlastNotImplemented: return "CLBlastNotImplemented";
    case CLBlastInvalidDimension: return "CLBlastInvalidDimension";
    case CLBlastInvalidLeadDimA: return "CLBlastInvalidLeadDimA";
    case CLBlastInvalidLeadDimB: return "CLBlastInvalidLeadDimB";
    case CLBlastInvalidLeadDimC: return "CLBlastInvalidLeadDimC";
    case CLBlastInsufficientMemoryA: return "CLBlastInsufficientMemoryA";
    case CLBlastInsufficientMemoryB: return "CLBlastInsufficientMemoryB";
    case CLBlastInsufficientMemoryC: return "CLBlastInsufficientMemoryC";
    case CLBlastInsufficientMemoryTemp: return "CLBlastInsufficientMemoryTemp";
    case CLBlastInvalidBatchCount: return "CLBlastInvalidBatchCount";
    case CLBlastInvalidLocalMemUsage: return "CLBlastInvalidLocalMemUsage";
    case CLBlastDatabaseError: return "CLBlastDatabaseError";
    case CLBlastUnknownError: return "CLBlastUnknownError";
    case CLBlastUnexpectedError: return "CLBlastUnexpectedError";
    default: return (int)code > -1000 ? relucl__cl_error_name((cl_int)code) : "CLBlastError";
    }
}

relucl_status relucl__blas_status(relucl_context *ctx, const char *fn, int code) {
    if (code == CLBlastSuccess)
        return RELUCL_OK;
    return relucl__fail(ctx, RELUCL_ERROR_BLAS, fn, "CLBlast failed: %s (%d)",
                        clblast_name((CLBlastStatusCode)code), code);
}
