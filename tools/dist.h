/* The processes relucl-train runs on: one, or the ranks of an MPI job (dist_mpi.c, built when
 * CMake finds MPI; dist_single.c otherwise). MPI is used only when the program was started by
 * mpirun (or mpiexec): run on its own it is one process, exactly as without MPI. */
#ifndef RELUCL_DIST_H
#define RELUCL_DIST_H

#include <stddef.h>

typedef struct dist {
    int rank, size;             /* this process and how many there are */
    int local_rank, local_size; /* among the ranks on this machine (its cores, its GPUs) */
} dist;

/* Joins the job when there is one. Returns 0, or prints why and returns -1. */
int dist_init(int *argc, char ***argv, dist *d);
void dist_finish(void);
/* Sums n values across all ranks, in place (nothing to do on one). 0 on success. */
int dist_sum_floats(float *v, size_t n);
int dist_sum_doubles(double *v, size_t n);
/* Rank 0's bytes to every rank. 0 on success. */
int dist_broadcast(void *data, size_t bytes);
/* Ends every rank of the job (the caller has printed why). Does not return. */
void dist_abort(int status);

#endif /* RELUCL_DIST_H */
