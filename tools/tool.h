/* Small helpers the command-line tools (and relucl-bench) share: a monotonic clock and
 * checked number options. */
#ifndef RELUCL_TOOL_H
#define RELUCL_TOOL_H

/* Seconds on the monotonic clock, for intervals. */
double tool_seconds(void);

/* Parses option --name's value `text` as a whole decimal number in [lo, hi] into *out.
 * Returns 1, or 0 after printing "tool: --name: ..." to stderr. */
int tool_parse_whole(const char *tool, const char *name, const char *text, unsigned long long lo,
                     unsigned long long hi, unsigned long long *out);
/* The same for a finite real number in [lo, hi]. */
int tool_parse_real(const char *tool, const char *name, const char *text, double lo, double hi,
                    double *out);

#endif /* RELUCL_TOOL_H */
