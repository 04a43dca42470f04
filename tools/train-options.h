/* relucl-train's command line: the options, their defaults and the reference recipes. */
#ifndef RELUCL_TRAIN_OPTIONS_H
#define RELUCL_TRAIN_OPTIONS_H

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

typedef struct options {
    const char *model, *optimizer, *device, *data, *checkpoint, *resume, *metrics, *charts;
    int diagnostics;
    double dead_threshold;
    unsigned long long epochs, batch, seed, limit_train, limit_test;
    double lr, momentum, weight_decay; /* lr 0: the optimizer's default */
} options;

/* Fills o from argv. Returns -1 to go on, else the exit status (0 after --help, 2 for bad
 * options, with the reason printed). */
int parse_options(int argc, char **argv, options *o);

#endif /* RELUCL_TRAIN_OPTIONS_H */
