/* relucl-bench-allreduce: what summing a gradient buffer across ranks costs, by size: the
 * MPI_Allreduce itself and relucl-train's staging through host memory (reading the buffer
 * from the device and writing the sum back). Run under mpirun; rank 0 prints the median of
 * 21 rounds per size. Usage: mpirun -np 2 relucl-bench-allreduce [device] */
#include <relucl.h>

#include "tool.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 21

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t) {
    qsort(t, ROUNDS, sizeof *t, by_value);
    return t[ROUNDS / 2];
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    relucl_context *ctx = NULL;
    if (relucl_context_create(argc > 1 ? argv[1] : NULL, &ctx) != RELUCL_OK) {
        fprintf(stderr, "rank %d: no device\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0)
        printf("%d ranks, device %s\n%12s %10s %12s %12s %12s\n", size,
               relucl_context_device_name(ctx), "floats", "MB", "allreduce ms", "staging ms",
               "GB/s (ring)");
    for (size_t n = 1024; n <= ((size_t)1 << 24); n *= 4) {
        float *host = calloc(n, sizeof *host);
        relucl_tensor t;
        if (!host || relucl_tensor_create(ctx, 1, &n, &t) != RELUCL_OK ||
            relucl_tensor_fill(ctx, &t, 1.0f) != RELUCL_OK)
            MPI_Abort(MPI_COMM_WORLD, 1);
        double reduce[ROUNDS], stage[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = tool_seconds();
            MPI_Allreduce(MPI_IN_PLACE, host, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double t1 = tool_seconds();
            if (relucl_tensor_read(ctx, &t, host) != RELUCL_OK ||
                relucl_tensor_write(ctx, &t, host) != RELUCL_OK)
                MPI_Abort(MPI_COMM_WORLD, 1);
            double t2 = tool_seconds();
            reduce[r] = t1 - t0;
            stage[r] = t2 - t1;
        }
        /* A ring allreduce moves 2 (N - 1) / N of the buffer through each rank. */
        double ms = median(reduce) * 1e3, bytes = (double)n * sizeof(float);
        double ring = 2.0 * (size - 1) / size * bytes / (median(reduce) * 1e9);
        if (rank == 0)
            printf("%12zu %10.3f %12.3f %12.3f %12.2f\n", n, bytes / 1e6, ms, median(stage) * 1e3,
                   ring);
        relucl_tensor_release(&t);
        free(host);
    }
    relucl_context_destroy(ctx);
    MPI_Finalize();
    return 0;
}
