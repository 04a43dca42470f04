/* relucl inside another program's OpenCL: the program owns the context and two queues, runs its
 * own kernel to produce each batch on its queue, hands relucl the other queue, and orders the
 * two with events only (no clFinish between steps):
 *   app queue:    produce x(step) -----------------------> read y(step)
 *                            \ event                      / event
 *   relucl queue:             wait -> dense + ReLU -> record
 * Each step's y is checked against float64 on the host. The first step's producer is held
 * back by a user event, to show relucl's work waiting for it.
 * Usage: embedding [steps] */
#include "sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCH 16
#define IN 31
#define OUT 7

/* The application's own kernel: a batch that differs from step to step. */
static const char *producer_source = "kernel void produce(global float *x, float step) {\n"
                                     "    size_t i = get_global_id(0);\n"
                                     "    x[i] = 2.0f * sin(0.37f * (float)i + step);\n"
                                     "}\n";

static float produced_value(size_t i, int step) {
    return 2.0f * sinf(0.37f * (float)i + (float)step);
}

typedef struct app {
    cl_context cl;
    cl_command_queue queue, relucl_queue;
    cl_program program;
    cl_kernel produce;
} app;

/* The application's OpenCL, made without relucl: the first device of the first platform. */
static int app_open(app *a) {
    cl_platform_id platform;
    cl_device_id device;
    cl_int err = clGetPlatformIDs(1, &platform, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL);
    if (err == CL_SUCCESS)
        a->cl = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        a->queue = clCreateCommandQueue(a->cl, device, 0, &err);
    if (err == CL_SUCCESS)
        a->relucl_queue = clCreateCommandQueue(a->cl, device, 0, &err);
    if (err == CL_SUCCESS)
        a->program = clCreateProgramWithSource(a->cl, 1, &producer_source, NULL, &err);
    if (err == CL_SUCCESS)
        err = clBuildProgram(a->program, 1, &device, "", NULL, NULL);
    if (err == CL_SUCCESS)
        a->produce = clCreateKernel(a->program, "produce", &err);
    if (err != CL_SUCCESS)
        fprintf(stderr, "the application's OpenCL setup failed: %d\n", err);
    return err == CL_SUCCESS;
}

static void app_close(app *a) {
    if (a->produce)
        clReleaseKernel(a->produce);
    if (a->program)
        clReleaseProgram(a->program);
    if (a->relucl_queue)
        clReleaseCommandQueue(a->relucl_queue);
    if (a->queue)
        clReleaseCommandQueue(a->queue);
    if (a->cl)
        clReleaseContext(a->cl);
}

/* Largest relative error of y against relu(x w^T + b) in float64, x as produced at step. */
static double step_error(const float *y, const float *w, const float *b, int step) {
    double worst = 0.0;
    for (size_t r = 0; r < BATCH; r++)
        for (size_t j = 0; j < OUT; j++) {
            double z = b[j];
            for (size_t k = 0; k < IN; k++)
                z += (double)produced_value(r * IN + k, step) * w[j * IN + k];
            double want = z > 0.0 ? z : 0.0, err = fabs(y[r * OUT + j] - want) / (1.0 + fabs(want));
            worst = err > worst ? err : worst;
        }
    return worst;
}

static int is_complete(cl_event e) {
    cl_int state = CL_COMPLETE;
    clGetEventInfo(e, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL);
    return state == CL_COMPLETE;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 3;
    app a = {0};
    relucl_context *ctx = NULL;
    cl_mem x = NULL, w = NULL, b = NULL, y = NULL;
    int ok = app_open(&a);
    char why[512];
    if (ok && relucl_context_create_from_queue_ex(a.relucl_queue, &ctx, why, sizeof why)) {
        fprintf(stderr, "%s\n", why);
        ok = 0;
    }
    if (ok)
        printf("device: %s\n", relucl_context_device_name(ctx));

    /* Weights in torch.nn.Linear's (out, in) layout, written once by the application. */
    float hw[OUT * IN], hb[OUT], hy[BATCH * OUT];
    for (size_t i = 0; i < OUT * IN; i++)
        hw[i] = 0.3f * sinf(1.3f * (float)i);
    for (size_t j = 0; j < OUT; j++)
        hb[j] = 0.1f * (float)j - 0.3f;
    cl_int err = CL_SUCCESS;
    if (ok) {
        x = clCreateBuffer(a.cl, CL_MEM_READ_WRITE, sizeof(float) * BATCH * IN, NULL, &err);
        w = clCreateBuffer(a.cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof hw, hw, &err);
        b = clCreateBuffer(a.cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof hb, hb, &err);
        y = clCreateBuffer(a.cl, CL_MEM_READ_WRITE, sizeof hy, NULL, &err);
        ok = x && w && b && y;
    }
    relucl_tensor tx, tw, tb, ty;
    relucl_tensor_wrap(x, 0, 2, (const size_t[]){BATCH, IN}, &tx);
    relucl_tensor_wrap(w, 0, 2, (const size_t[]){OUT, IN}, &tw);
    relucl_tensor_wrap(b, 0, 1, (const size_t[]){OUT}, &tb);
    relucl_tensor_wrap(y, 0, 2, (const size_t[]){BATCH, OUT}, &ty);
    relucl_dense layer = {{RELUCL_RELU, 0.0f}, &tw, &tb, NULL, RELUCL_WEIGHTS_OUT_IN};

    double worst = 0.0;
    int held = 0;
    for (int step = 0; ok && step < steps; step++) {
        /* Step 0's producer waits for a user event the application opens later. */
        cl_event gate = step == 0 ? clCreateUserEvent(a.cl, &err) : NULL;
        cl_event produced = NULL, done = NULL, read = NULL;
        float s = (float)step;
        size_t items = BATCH * IN;
        clSetKernelArg(a.produce, 0, sizeof x, &x);
        clSetKernelArg(a.produce, 1, sizeof s, &s);
        err = clEnqueueNDRangeKernel(a.queue, a.produce, 1, NULL, &items, NULL, gate ? 1 : 0,
                                     gate ? &gate : NULL, &produced);
        clFlush(a.queue);
        ok = err == CL_SUCCESS && check(ctx, relucl_context_wait_events(ctx, 1, &produced)) &&
             check(ctx, relucl_dense_forward(ctx, &layer, &tx, NULL, &ty)) &&
             check(ctx, relucl_context_record_event(ctx, &done));
        if (ok && gate) {
            clFlush(a.relucl_queue);
            nanosleep(&(struct timespec){0, 50000000L}, NULL);
            held = !is_complete(done); /* relucl is still waiting for the producer */
            clSetUserEventStatus(gate, CL_COMPLETE);
        }
        if (ok) /* the consumer: a read on the application's queue, after relucl's event */
            ok = clEnqueueReadBuffer(a.queue, y, CL_FALSE, 0, sizeof hy, hy, 1, &done, &read) ==
                     CL_SUCCESS &&
                 clWaitForEvents(1, &read) == CL_SUCCESS;
        if (ok) {
            double e = step_error(hy, hw, hb, step);
            worst = e > worst ? e : worst;
            printf("step %d: y[0][0..2] = %.5f %.5f %.5f, max relative error %.2e\n", step, hy[0],
                   hy[1], hy[2], e);
        }
        if (gate)
            clReleaseEvent(gate);
        if (produced)
            clReleaseEvent(produced);
        if (done)
            clReleaseEvent(done);
        if (read)
            clReleaseEvent(read);
    }
    if (ok)
        printf("while the producer was held, relucl's work waited: %s\n", held ? "yes" : "NO");
    ok = ok && held && worst < 1e-4; /* OpenCL's sin may differ from the host's by ulps */
    printf("%d steps ordered by events, y against float64 (max relative error %.2e < 1e-4): %s\n",
           steps, worst, ok ? "PASS" : "FAIL");
    relucl_context_destroy(ctx);
    cl_mem buffers[4] = {x, w, b, y};
    for (int i = 0; i < 4; i++)
        if (buffers[i])
            clReleaseMemObject(buffers[i]);
    app_close(&a);
    return ok ? 0 : 1;
}
