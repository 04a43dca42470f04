/* Tuning files, line by line: comments, blank lines, "NAME VALUE" words (tuning_file.h). */
#include "blas/tuning_file.h"

#include <string.h>

/* Splits a line into at most two words; 0 if there are more. */
static int split_line(char *line, char **first, char **second) {
    char *words[2] = {NULL, NULL};
    int n = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == 2)
            return 0;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
    }
    *first = words[0];
    *second = words[1];
    return 1;
}

int relucl__tuning_read(FILE *f, relucl__tuning_line_fn fn, void *state, char *why, size_t size,
                        int *lines) {
    char line[256], reason[224];
    int number = 0, ok = 1;
    while (ok && fgets(line, sizeof line, f)) {
        number++;
        char *name, *value;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(why, size, "line %d is too long", number);
            ok = 0;
        } else if (line[strspn(line, " \t\r\n")] == '#') {
            continue;
        } else if (!split_line(line, &name, &value)) {
            snprintf(why, size, "line %d: expected \"NAME VALUE\"", number);
            ok = 0;
        } else if (name && !value) {
            snprintf(why, size, "line %d: %s has no value", number, name);
            ok = 0;
        } else if (name && !fn(state, name, value, reason, sizeof reason)) {
            snprintf(why, size, "line %d: %s", number, reason);
            ok = 0;
        }
    }
    if (ok && ferror(f)) {
        snprintf(why, size, "read error");
        ok = 0;
    }
    *lines = number;
    return ok;
}
