/* The two chores every worked example shares: opening a context on the device it was asked
 * for, and reporting a failed call with relucl's own message. Header-only, so each example is
 * still one file to read, plus this one. */
#ifndef RELUCL_SAMPLE_H
#define RELUCL_SAMPLE_H

#include <relucl.h>

#include <stdio.h>

/* 1 when status is RELUCL_OK; otherwise prints the status and the context's message. */
static inline int check(relucl_context *ctx, relucl_status status) {
    if (status != RELUCL_OK)
        fprintf(stderr, "%s: %s\n", relucl_status_name(status), relucl_context_error(ctx));
    return status == RELUCL_OK;
}

/* A context on `device` (a spec as relucl-info lists them; NULL or "" for the best device),
 * with its name printed; NULL, after printing why, when there is none. The caller destroys it. */
static inline relucl_context *sample_open(const char *device) {
    relucl_context *ctx = NULL;
    char message[1024];
    if (relucl_context_create_ex(device, &ctx, message, sizeof message) != RELUCL_OK) {
        fprintf(stderr, "%s\n", message);
        return NULL;
    }
    printf("device: %s\n", relucl_context_device_name(ctx));
    return ctx;
}

#endif /* RELUCL_SAMPLE_H */
