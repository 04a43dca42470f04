/* relucl-plot: the activations relucl offers and their derivatives, computed on the device
 * over x in [-4, 8] and drawn as two SVG line charts, activations.svg and derivatives.svg.
 * A few sample values are printed as a table, so the output can be checked. */
#include <relucl.h>

#include "svg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define N 481      /* x = -4, -3.975, ..., 8: steps of 1/40, so the samples below are exact */
#define X0 (-4.0)
#define STEPS 40.0 /* points per unit of x */
#define FUNCS 5

typedef struct function {
    const char *id, *label;  /* the table's row name, the legend's */
    relucl_activation act;   /* for RELUCL_PRELU, alpha is the one slope shared by all x */
} function;

static const function functions[FUNCS] = {
    {"relu", "ReLU", {RELUCL_RELU, 0.0f}},
    {"leaky_relu", "Leaky ReLU (alpha 0.1)", {RELUCL_LEAKY_RELU, 0.1f}},
    {"prelu", "PReLU (slope 0.25)", {RELUCL_PRELU, 0.25f}},
    {"elu", "ELU (alpha 1)", {RELUCL_ELU, 1.0f}},
    {"relu6", "ReLU6 (clipped at 6)", {RELUCL_CLIPPED_RELU, 6.0f}},
};

static const double samples[] = {-2.0, -0.5, 0.0, 0.5, 7.0};
#define SAMPLES (sizeof samples / sizeof samples[0])

typedef struct tensors {
    relucl_tensor x, y, dy, dx, slope, dslope;
} tensors;

static int check(relucl_context *ctx, relucl_status status) {
    if (status != RELUCL_OK)
        fprintf(stderr, "relucl-plot: %s: %s\n", relucl_status_name(status),
                relucl_context_error(ctx));
    return status == RELUCL_OK;
}

static void usage(FILE *f) {
    fprintf(f, "usage: relucl-plot [--device SPEC] [--out DIR]\n"
               "  --device SPEC  gpu, cpu, accelerator, P:D or part of a name (relucl-info)\n"
               "  --out DIR      where activations.svg and derivatives.svg go (.)\n");
}

/* Returns -1 to go on, else the exit status. Takes "--name VALUE" and "--name=VALUE". */
static int parse_options(int argc, char **argv, const char **device, const char **out) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
            return usage(stdout), 0;
        const char **target = !strncmp(arg, "--device", len) && len == 8 ? device
                              : !strncmp(arg, "--out", len) && len == 5  ? out
                                                                        : NULL;
        if (!target) {
            fprintf(stderr, "relucl-plot: unexpected argument '%s' (see --help)\n", arg);
            return 2;
        }
        *target = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!*target || !**target) {
            fprintf(stderr, "relucl-plot: %.*s needs a value\n", (int)len, arg);
            return 2;
        }
    }
    return -1;
}

/* f(x) and f'(x) (the backward pass with dy = 1) for every x, read back into f and df. */
static int evaluate(relucl_context *ctx, const tensors *t, const function *fn, float *f,
                    float *df) {
    int ok = check(ctx, relucl_tensor_fill(ctx, &t->dy, 1.0f));
    if (fn->act.kind == RELUCL_PRELU) {
        ok = ok && check(ctx, relucl_tensor_fill(ctx, &t->slope, fn->act.alpha)) &&
             check(ctx, relucl_prelu_forward(ctx, &t->x, &t->slope, &t->y)) &&
             check(ctx, relucl_prelu_backward(ctx, &t->x, &t->slope, &t->dy, &t->dx, &t->dslope));
    } else {
        ok = ok && check(ctx, relucl_activation_forward(ctx, fn->act, &t->x, &t->y)) &&
             check(ctx, relucl_activation_backward(ctx, fn->act, &t->x, NULL, &t->dy, &t->dx));
    }
    return ok && check(ctx, relucl_tensor_read(ctx, &t->y, f)) &&
           check(ctx, relucl_tensor_read(ctx, &t->dx, df));
}

static void print_table(float v[FUNCS][N], float dv[FUNCS][N]) {
    printf("%-16s", "x");
    for (size_t j = 0; j < SAMPLES; j++)
        printf(" %6.2f", samples[j]);
    printf("\n");
    for (int k = 0; k < FUNCS; k++)
        for (int d = 0; d < 2; d++) {
            char row[32];
            snprintf(row, sizeof row, "%s%s(x)", functions[k].id, d ? "'" : "");
            printf("%-16s", row);
            for (size_t j = 0; j < SAMPLES; j++) {
                size_t i = (size_t)((samples[j] - X0) * STEPS + 0.5);
                printf(" %6.2f", (double)(d ? dv : v)[k][i]);
            }
            printf("\n");
        }
}

/* One chart of the five functions' values (or derivatives), written to dir/name. */
static int write_chart(const char *dir, const char *name, const char *title, const char *y_label,
                       const double *x, float v[FUNCS][N]) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "relucl-plot: %s: the path is too long\n", dir);
        return 0;
    }
    svg_chart *chart = svg_chart_new(title, "x", y_label);
    int ok = chart != NULL;
    for (int k = 0; ok && k < FUNCS; k++) {
        double y[N];
        for (size_t i = 0; i < N; i++)
            y[i] = v[k][i];
        ok = svg_chart_add_series(chart, functions[k].label, x, y, N) == 0;
    }
    ok = ok && svg_chart_write(chart, path) == 0;
    if (ok)
        printf("wrote %s\n", path);
    else
        fprintf(stderr, "relucl-plot: %s: %s\n", path, strerror(errno));
    svg_chart_free(chart);
    return ok;
}

int main(int argc, char **argv) {
    const char *device = NULL, *out = ".";
    int status = parse_options(argc, argv, &device, &out);
    if (status >= 0)
        return status;
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "relucl-plot: %s: %s\n", out, strerror(errno));
        return 1;
    }
    relucl_context *ctx = NULL;
    char message[1024];
    if (relucl_context_create_ex(device, &ctx, message, sizeof message) != RELUCL_OK) {
        fprintf(stderr, "relucl-plot: %s\n", message);
        return 1;
    }
    printf("device: %s\n", relucl_context_device_name(ctx));

    static float x_host[N], v[FUNCS][N], dv[FUNCS][N];
    static double x[N];
    for (size_t i = 0; i < N; i++) {
        x[i] = X0 + (double)i / STEPS;
        x_host[i] = (float)x[i];
    }
    size_t n[1] = {N}, one[1] = {1};
    tensors t = {0};
    int ok = check(ctx, relucl_tensor_create(ctx, 1, n, &t.x)) &&
             check(ctx, relucl_tensor_create(ctx, 1, n, &t.y)) &&
             check(ctx, relucl_tensor_create(ctx, 1, n, &t.dy)) &&
             check(ctx, relucl_tensor_create(ctx, 1, n, &t.dx)) &&
             check(ctx, relucl_tensor_create(ctx, 1, one, &t.slope)) &&
             check(ctx, relucl_tensor_create(ctx, 1, one, &t.dslope)) &&
             check(ctx, relucl_tensor_write(ctx, &t.x, x_host));
    for (int k = 0; ok && k < FUNCS; k++)
        ok = evaluate(ctx, &t, &functions[k], v[k], dv[k]);
    if (ok) {
        print_table(v, dv);
        ok = write_chart(out, "activations.svg", "ReLU-family activations f(x)", "f(x)", x, v) &&
             write_chart(out, "derivatives.svg",
                         "Their derivatives f'(x), from the backward pass with dy = 1", "f'(x)",
                         x, dv);
    }

    relucl_tensor *all[] = {&t.x, &t.y, &t.dy, &t.dx, &t.slope, &t.dslope};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        relucl_tensor_release(all[i]);
    relucl_context_destroy(ctx);
    return ok ? 0 : 1;
}
