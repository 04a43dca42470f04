/* relucl-train's command line (train-options.h). */
#include "train-options.h"

#include "tool.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: relucl-train [options]\n"
               "  --model SPEC       layers such as 784-256-relu-128-relu-10, or a preset: mlp,\n"
               "                     mlp-leaky, mlp-elu, mlp-prelu, deep, cnn (mlp)\n"
               "  --epochs N         train until epoch N, resumed epochs included (10; cnn 5)\n"
               "  --batch N          batch size (128)\n"
               "  --optimizer NAME   sgd (with momentum), adam or adamw (sgd)\n"
               "  --lr X             learning rate (sgd 0.05, cnn 0.02; adam and adamw 0.001)\n"
               "  --momentum X       SGD momentum (0.9)\n"
               "  --diagnostics      record per-layer sparsity, dead units, gradient and weight\n"
               "                     norms into the CSV and charts; warn about dying layers\n"
               "  --dead-threshold X dead-unit fraction that triggers a warning (0.5)\n"
               "  --charts PREFIX    SVG charts PREFIX-loss.svg, ... (the metrics path less .csv)\n"
               "  --weight-decay X   weight decay (0)\n"
               "  --seed N           seed of the initial weights and the shuffling (1)\n"
               "  --device SPEC      gpu, cpu, accelerator, P:D or part of a name (relucl-info);\n"
               "                     under mpirun P:local is device P:<rank on this machine>\n"
               "  --data DIR         the Fashion-MNIST IDX files (" DEFAULT_DATA ")\n"
               "  --checkpoint PATH  save the net there after every epoch\n"
               "  --resume PATH      load a checkpoint, continue after its last epoch\n"
               "  --metrics PATH     CSV of every epoch (relucl-train-metrics.csv)\n"
               "  --limit-train N    use only the first N training images\n"
               "  --limit-test N     use only the first N test images\n");
}

/* ---- Options ----------------------------------------------------------------------------- */

static int parse_whole(const char *name, const char *text, unsigned long long lo,
                       unsigned long long hi, unsigned long long *out) {
    return tool_parse_whole("relucl-train", name, text, lo, hi, out);
}

static int parse_real(const char *name, const char *text, double lo, double hi, double *out) {
    return tool_parse_real("relucl-train", name, text, lo, hi, out);
}

static int set_option(options *o, const char *name, const char *v) {
    struct {
        const char *name, **value;
    } text[] = {{"model", &o->model},    {"optimizer", &o->optimizer},   {"device", &o->device},
                {"data", &o->data},      {"checkpoint", &o->checkpoint}, {"resume", &o->resume},
                {"metrics", &o->metrics}};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (!strcmp(name, text[i].name))
            return *text[i].value = v, 1;
    if (!strcmp(name, "epochs"))
        return parse_whole(name, v, 1, 1000000, &o->epochs);
    if (!strcmp(name, "batch"))
        return parse_whole(name, v, 1, 65536, &o->batch);
    if (!strcmp(name, "seed"))
        return parse_whole(name, v, 0, ~0ull, &o->seed);
    if (!strcmp(name, "limit-train"))
        return parse_whole(name, v, 1, 1u << 24, &o->limit_train);
    if (!strcmp(name, "limit-test"))
        return parse_whole(name, v, 1, 1u << 24, &o->limit_test);
    if (!strcmp(name, "diagnostics"))
        return o->diagnostics = strcmp(v, "off") != 0, 1;
    if (!strcmp(name, "dead-threshold"))
        return parse_real(name, v, 0.0, 1.0, &o->dead_threshold);
    if (!strcmp(name, "charts"))
        return o->charts = v, 1;
    if (!strcmp(name, "lr"))
        return parse_real(name, v, 1e-9, 10.0, &o->lr);
    if (!strcmp(name, "momentum"))
        return parse_real(name, v, 0.0, 0.999, &o->momentum);
    if (!strcmp(name, "weight-decay"))
        return parse_real(name, v, 0.0, 1.0, &o->weight_decay);
    fprintf(stderr, "relucl-train: unknown option '--%s' (see --help)\n", name);
    return 0;
}

/* Takes "--name VALUE" and "--name=VALUE". */
int parse_options(int argc, char **argv, options *o) {
    *o = (options){.model = "mlp",
                   .optimizer = "sgd",
                   .data = DEFAULT_DATA,
                   .metrics = "relucl-train-metrics.csv",
                   .epochs = 0, /* 0: the recipe's own (10 for MLPs, 5 for the CNN) */
                   .batch = 128,
                   .seed = 1,
                   .limit_train = 1u << 24,
                   .limit_test = 1u << 24,
                   .momentum = 0.9,
                   .dead_threshold = 0.5};
    for (int i = 1; i < argc; i++) {
        char name[32];
        const char *arg = argv[i], *eq = strchr(arg, '=');
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        }
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (strncmp(arg, "--", 2) || len - 2 >= sizeof name) {
            fprintf(stderr, "relucl-train: unexpected argument '%s' (see --help)\n", arg);
            return 2;
        }
        memcpy(name, arg + 2, len - 2);
        name[len - 2] = '\0';
        if (!strcmp(name, "diagnostics") && !eq) { /* a flag: no value */
            o->diagnostics = 1;
            continue;
        }
        const char *value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!value || (!eq && !strncmp(value, "--", 2))) {
            fprintf(stderr, "relucl-train: --%s needs a value\n", name);
            return 2;
        }
        if (!set_option(o, name, value))
            return 2;
    }
    if (strcmp(o->optimizer, "sgd") && strcmp(o->optimizer, "adam") &&
        strcmp(o->optimizer, "adamw")) {
        fprintf(stderr, "relucl-train: --optimizer: '%s' is not sgd, adam or adamw\n",
                o->optimizer);
        return 2;
    }
    /* The reference recipes: MLP lr 0.05 for 10 epochs, CNN lr 0.02 for 5. */
    int cnn = strcmp(o->model, "cnn") == 0;
    if (o->lr == 0.0)
        o->lr = strcmp(o->optimizer, "sgd") ? 0.001 : cnn ? 0.02 : 0.05;
    if (o->epochs == 0)
        o->epochs = cnn ? 5 : 10;
    return -1;
}
