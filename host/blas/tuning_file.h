/* The text form of GEMM tuning files (format in tuning.c), read line by line. Plain C with no
 * OpenCL, so relucl-tune reads its files with the same code as the library. */
#ifndef RELUCL_BLAS_TUNING_FILE_H
#define RELUCL_BLAS_TUNING_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Called for each "NAME VALUE" line in order; returns 0 to stop, after writing why. */
typedef int (*relucl__tuning_line_fn)(void *state, const char *name, const char *value, char *why,
                                      size_t size);

/* Reads f: blank lines and '#' comments are skipped, every other line must be two words and at
 * most 255 characters. Returns 1, or 0 with "line N: reason" in why (N is 1-based). *lines gets
 * the number of lines read either way. */
int relucl__tuning_read(FILE *f, relucl__tuning_line_fn fn, void *state, char *why, size_t size,
                        int *lines);

#endif /* RELUCL_BLAS_TUNING_FILE_H */
