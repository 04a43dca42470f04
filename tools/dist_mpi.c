/* The ranks of an MPI job (dist.h): collectives on MPI_COMM_WORLD, in chunks that fit MPI's
 * int counts. Errors end the whole job through MPI_Abort, so no rank waits for a dead one. */
#include "dist.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define CHUNK ((size_t)1 << 30) /* elements per MPI call: well inside an int */

static int in_job;

/* mpirun and mpiexec tell their processes so through the environment. */
static int started_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int dist_init(int *argc, char ***argv, dist *d) {
    *d = (dist){0, 1, 0, 1};
    if (!started_by_mpirun())
        return 0;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "relucl-train: MPI_Init failed\n");
        return -1;
    }
    in_job = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &d->local_rank);
    MPI_Comm_size(local, &d->local_size);
    MPI_Comm_free(&local);
    return 0;
}

void dist_finish(void) {
    if (in_job)
        MPI_Finalize();
}

static int sum(void *v, size_t n, size_t size, MPI_Datatype type) {
    for (size_t at = 0; in_job && at < n; at += CHUNK) {
        size_t count = n - at < CHUNK ? n - at : CHUNK;
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)v + at * size, (int)count, type, MPI_SUM,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

int dist_sum_floats(float *v, size_t n) { return sum(v, n, sizeof *v, MPI_FLOAT); }
int dist_sum_doubles(double *v, size_t n) { return sum(v, n, sizeof *v, MPI_DOUBLE); }

int dist_broadcast(void *data, size_t bytes) {
    for (size_t at = 0; in_job && at < bytes; at += CHUNK)
        if (MPI_Bcast((char *)data + at, (int)(bytes - at < CHUNK ? bytes - at : CHUNK), MPI_BYTE,
                      0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    return 0;
}

void dist_abort(int status) {
    fflush(stdout);
    fflush(stderr);
    if (in_job)
        MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}
