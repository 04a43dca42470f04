/* Helpers shared by the tools: the clock and number options (tool.h). */
#include "tool.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double tool_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int tool_parse_whole(const char *tool, const char *name, const char *text, unsigned long long lo,
                     unsigned long long hi, unsigned long long *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!isdigit((unsigned char)text[0]) || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "%s: --%s: '%s' is not a whole number from %llu to %llu\n", tool, name,
                text, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int tool_parse_real(const char *tool, const char *name, const char *text, double lo, double hi,
                    double *out) {
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "%s: --%s: '%s' is not a number from %g to %g\n", tool, name, text, lo,
                hi);
        return 0;
    }
    *out = v;
    return 1;
}
