/* Per-kernel device times (relucl_context_profile_start / _stop). While a profile runs, the
 * launch path and the CLBlast calls ask for an event per command; the events are kept with
 * the kernel's name and folded into per-name totals at stop, or whenever the list is full. */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 4096 /* events kept before they are folded into the totals */

typedef struct pending {
    const char *name;
    cl_event event;
} pending;

struct relucl__profile {
    pending pending[PENDING_MAX];
    size_t pending_count;
    cl_ulong last_end; /* END of the latest folded command */
    relucl_profile_entry *totals;
    size_t total_count, total_capacity;
};

static relucl_profile_entry *total_for(relucl__profile *p, const char *name) {
    for (size_t i = 0; i < p->total_count; i++)
        if (p->totals[i].name == name || strcmp(p->totals[i].name, name) == 0)
            return &p->totals[i];
    if (p->total_count == p->total_capacity) {
        size_t cap = p->total_capacity ? 2 * p->total_capacity : 32;
        relucl_profile_entry *t = realloc(p->totals, cap * sizeof *t);
        if (!t)
            return NULL;
        p->totals = t;
        p->total_capacity = cap;
    }
    relucl_profile_entry *e = &p->totals[p->total_count++];
    e->name = name;
    e->calls = 0;
    e->seconds = 0.0;
    return e;
}

/* Waits for the pending events and adds their times to the totals. */
static relucl_status fold(relucl_context *ctx, const char *fn) {
    relucl__profile *p = ctx->profile;
    relucl_status status = RELUCL_OK;
    if (p->pending_count) {
        cl_event events[PENDING_MAX];
        for (size_t i = 0; i < p->pending_count; i++)
            events[i] = p->pending[i].event;
        cl_int err = clWaitForEvents((cl_uint)p->pending_count, events);
        if (err != CL_SUCCESS)
            status = relucl__fail_cl(ctx, fn, "clWaitForEvents", err);
    }
    for (size_t i = 0; i < p->pending_count; i++) {
        cl_ulong start = 0, end = 0;
        cl_event ev = p->pending[i].event;
        cl_int err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof start, &start,
                                             NULL);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
        clReleaseEvent(ev);
        if (status != RELUCL_OK)
            continue;
        relucl_profile_entry *e = total_for(p, p->pending[i].name);
        if (err != CL_SUCCESS)
            status = relucl__fail_cl(ctx, fn, "clGetEventProfilingInfo", err);
        else if (!e)
            status = relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn, "out of host memory");
        else {
            /* The queue is in order, so a command runs only once the one before it has ended;
             * PoCL stamps START when a command is handed to its scheduler, which can be long
             * before that. Counting from the previous END keeps a deep queue's waiting out. */
            if (start < p->last_end)
                start = p->last_end;
            if (end > p->last_end)
                p->last_end = end;
            e->calls++;
            e->seconds += end > start ? (double)(end - start) * 1e-9 : 0.0;
        }
    }
    p->pending_count = 0;
    return status;
}

cl_event *relucl__profile_event(relucl_context *ctx, const char *name) {
    relucl__profile *p = ctx->profile;
    if (!p)
        return NULL;
    /* A fold that fails here loses those times only; stop reports nothing worse. */
    if (p->pending_count == PENDING_MAX && fold(ctx, "relucl profile") != RELUCL_OK)
        return NULL;
    p->pending[p->pending_count].name = name;
    p->pending[p->pending_count].event = NULL;
    return &p->pending[p->pending_count].event;
}

void relucl__profile_enqueued(relucl_context *ctx, cl_event *slot) {
    /* The command was enqueued and its event is in the slot just handed out. */
    if (ctx->profile && slot && *slot)
        ctx->profile->pending_count++;
}

relucl_status relucl_context_profile_start(relucl_context *ctx) {
    static const char fn[] = "relucl_context_profile_start";
    RELUCL__TRY(relucl__check_context(ctx));
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(ctx->queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return relucl__fail_cl(ctx, fn, "clGetCommandQueueInfo", err);
    if (!(props & CL_QUEUE_PROFILING_ENABLE))
        return relucl__fail(ctx, RELUCL_ERROR_UNSUPPORTED, fn,
                            "ctx: its queue was created without CL_QUEUE_PROFILING_ENABLE");
    if (ctx->profile)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "ctx: a profile is already running");
    ctx->profile = calloc(1, sizeof *ctx->profile);
    return ctx->profile ? RELUCL_OK
                        : relucl__fail(ctx, RELUCL_ERROR_OUT_OF_MEMORY, fn, "out of host memory");
}

static int by_time_descending(const void *a, const void *b) {
    double x = ((const relucl_profile_entry *)a)->seconds;
    double y = ((const relucl_profile_entry *)b)->seconds;
    return (x < y) - (x > y);
}

relucl_status relucl_context_profile_stop(relucl_context *ctx, relucl_profile_entry *entries,
                                          size_t capacity, size_t *count) {
    static const char fn[] = "relucl_context_profile_stop";
    RELUCL__TRY(relucl__check_context(ctx));
    if (!count)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "count is NULL");
    if (!entries && capacity)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "entries is NULL, capacity is %zu", capacity);
    if (!ctx->profile)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "ctx: no profile is running");
    relucl_status status = fold(ctx, fn);
    relucl__profile *p = ctx->profile;
    if (status == RELUCL_OK) {
        if (p->total_count) /* totals is NULL while nothing ran */
            qsort(p->totals, p->total_count, sizeof *p->totals, by_time_descending);
        size_t n = capacity < p->total_count ? capacity : p->total_count;
        if (n)
            memcpy(entries, p->totals, n * sizeof *entries);
        *count = p->total_count;
    }
    relucl__profile_release(ctx);
    return status;
}

void relucl__profile_release(relucl_context *ctx) {
    relucl__profile *p = ctx->profile;
    if (!p)
        return;
    for (size_t i = 0; i < p->pending_count; i++)
        clReleaseEvent(p->pending[i].event);
    free(p->totals);
    free(p);
    ctx->profile = NULL;
}
