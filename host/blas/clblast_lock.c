/* One lock around relucl's CLBlast calls. CLBlast keeps a single parameter database per
 * process, and CLBlastOverrideParameters changes it while routines being set up in other
 * threads copy from it (seen: a crash in CLBlast's Database constructor with contexts in four
 * threads). Routines share the lock; overrides take it alone. It guards no relucl state. */
#include "blas/blas.h"

#include <pthread.h>

static pthread_rwlock_t clblast_database = PTHREAD_RWLOCK_INITIALIZER;

void relucl__clblast_lock(int exclusive) {
    if (exclusive)
        pthread_rwlock_wrlock(&clblast_database);
    else
        pthread_rwlock_rdlock(&clblast_database);
}

void relucl__clblast_unlock(void) { pthread_rwlock_unlock(&clblast_database); }
