/*
 * relucl-tune: finds CLBlast GEMM parameters for this device and stores them where relucl
 * looks for them (relucl_gemm_tuning_path), so every later program using relucl on the device
 * gets them.
 *
 * It times relucl_gemm at one size with random parameter sets drawn from the space CLBlast's
 * own tuner explores, for the Xgemm kernel (large GEMMs) or XgemmDirect (small ones; the GEMM
 * is sent to the kernel being tuned whatever its size), and
 * keeps the fastest set whose result agrees with the result under CLBlast's own parameters.
 * Figures: CLBlast's own parameters, the set relucl uses now (an earlier file or relucl's
 * built-in set), and the best found; the file is only written when the best is at least 3%
 * faster than what relucl uses now. Sets for other kernels already in the file are kept.
 * --measure times GEMMs (default: the MLP's shapes and 1024^3) with CLBlast's parameters and
 * with relucl's, without searching.
 * Every set tried is compiled afresh: on PoCL that is seconds per set, a minute for some.
 * Exit status: 0 done, 1 failure (device, file), 2 bad options.
 */
#include <relucl.h>

#include "blas/tuning_file.h"
#include "io/atomic_file.h"
#include "tool.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 16
#define MAX_SECTIONS 8
#define MAX_SHAPES 32
#define ALWAYS_INDIRECT 0 /* XGEMM_MIN_INDIRECT_SIZE values that force one GEMM kernel */
#define ALWAYS_DIRECT 4096
#define MARGIN 1.03 /* a new set must be 3% faster: less is within a busy host's noise */

typedef struct options {
    const char *device, *kernel, *shapes;
    unsigned long long size, trials, seed;
    double seconds;
    int measure, dry_run;
} options;

static void usage(FILE *f) {
    fprintf(f, "usage: relucl-tune [options]\n"
               "  --kernel NAME   Xgemm or XgemmDirect (Xgemm). CLBlast runs GEMMs from\n"
               "                  XGEMM_MIN_INDIRECT_SIZE^3 up on Xgemm (896^3 by its default,\n"
               "                  72^3 with relucl's set for PoCL), smaller ones on XgemmDirect\n"
               "  --size N        time m = n = k = N GEMMs (512 for Xgemm, 256 for XgemmDirect)\n"
               "  --trials N      parameter sets to try (100)\n"
               "  --seconds S     stop searching after S seconds (300)\n"
               "  --seed N        seed of the random search (1)\n"
               "  --device SPEC   gpu, cpu, accelerator, P:D or part of a name (relucl-info)\n"
               "  --dry-run       search, but write nothing\n"
               "  --measure       no search: time GEMMs with CLBlast's and with relucl's\n"
               "                  parameters\n"
               "  --shapes LIST   for --measure: MxNxK[:nn|nt|tn|tt],... or mlp (the MLP\n"
               "                  784-256-128-10's GEMMs at batch 128) (mlp,1024x1024x1024)\n");
}

/* ---- Timing and data ------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct shape {
    size_t m, n, k;
    relucl_transpose ta, tb;
} shape;

/* One GEMM's operands on one context, filled with the same values every time. */
typedef struct problem {
    shape s;
    relucl_tensor a, b, c;
} problem;

static void fill(float *x, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(splitmix(&seed) >> 40) / (float)(1u << 23) - 1.0f; /* [-1, 1) */
}

static relucl_status problem_create(relucl_context *ctx, shape s, problem *p) {
    size_t da[2] = {s.ta ? s.k : s.m, s.ta ? s.m : s.k},
           db[2] = {s.tb ? s.n : s.k, s.tb ? s.k : s.n};
    size_t dc[2] = {s.m, s.n}, na = s.m * s.k, nb = s.k * s.n;
    float *host = malloc((na > nb ? na : nb) * sizeof *host);
    relucl_status status = host ? RELUCL_OK : RELUCL_ERROR_OUT_OF_MEMORY;
    *p = (problem){s, {0}, {0}, {0}};
    if (status == RELUCL_OK)
        status = relucl_tensor_create(ctx, 2, da, &p->a);
    if (status == RELUCL_OK)
        status = relucl_tensor_create(ctx, 2, db, &p->b);
    if (status == RELUCL_OK)
        status = relucl_tensor_create(ctx, 2, dc, &p->c);
    if (status == RELUCL_OK) {
        fill(host, na, 1);
        status = relucl_tensor_write(ctx, &p->a, host);
    }
    if (status == RELUCL_OK) {
        fill(host, nb, 2);
        status = relucl_tensor_write(ctx, &p->b, host);
    }
    free(host);
    return status;
}

static void problem_release(problem *p) {
    relucl_tensor_release(&p->a);
    relucl_tensor_release(&p->b);
    relucl_tensor_release(&p->c);
}

static relucl_status gemm(relucl_context *ctx, problem *p) {
    return relucl_gemm(ctx, p->s.ta, p->s.tb, 1.0f, &p->a, &p->b, 0.0f, &p->c);
}

/* Seconds per GEMM: one untimed call (it compiles), then the best of 3 batches of >= 50 ms.
 * A set already 3 times slower than `give_up` on its first timed call is not timed further. */
static relucl_status time_gemm(relucl_context *ctx, problem *p, double give_up, double *out) {
    relucl_status status = gemm(ctx, p);
    if (status == RELUCL_OK)
        status = relucl_context_finish(ctx);
    double start = tool_seconds();
    if (status == RELUCL_OK && (status = gemm(ctx, p)) == RELUCL_OK)
        status = relucl_context_finish(ctx);
    double best = tool_seconds() - start;
    if (status != RELUCL_OK || (give_up > 0 && best > 3 * give_up)) {
        *out = best;
        return status;
    }
    size_t reps = best > 0.05 ? 1 : (size_t)(0.05 / (best > 1e-6 ? best : 1e-6)) + 1;
    for (int batch = 0; batch < 3 && status == RELUCL_OK; batch++) {
        start = tool_seconds();
        for (size_t r = 0; r < reps && status == RELUCL_OK; r++)
            status = gemm(ctx, p);
        if (status == RELUCL_OK)
            status = relucl_context_finish(ctx);
        double t = (tool_seconds() - start) / (double)reps;
        best = t < best ? t : best;
    }
    *out = best;
    return status;
}

static double gflops(shape s, double seconds) {
    return 2.0 * (double)s.m * (double)s.n * (double)s.k / seconds * 1e-9;
}

/* The result agrees with the reference one: inputs are in [-1, 1), so k terms of rounding
 * error stay far below 1e-5 * k, while a wrong set gives errors of order 1. */
static int agrees(relucl_context *ctx, problem *p, const float *want, float *got) {
    if (relucl_tensor_read(ctx, &p->c, got) != RELUCL_OK)
        return 0;
    for (size_t i = 0; i < p->s.m * p->s.n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-5f * (float)p->s.k))
            return 0;
    return 1;
}

/* ---- Parameter sets -------------------------------------------------------------------- */

typedef struct param_set {
    char kernel[64];
    size_t count;
    char names[MAX_NAMES][64];
    size_t values[MAX_NAMES];
} param_set;

static void set_add(param_set *set, const char *name, size_t value) {
    snprintf(set->names[set->count], sizeof set->names[0], "%s", name);
    set->values[set->count++] = value;
}

static relucl_status apply(relucl_context *ctx, const param_set *set) {
    const char *names[MAX_NAMES];
    for (size_t i = 0; i < set->count; i++)
        names[i] = set->names[i];
    return relucl_gemm_set_tuning(ctx, set->kernel, set->count, names, set->values);
}

static relucl_status force_kernel(relucl_context *ctx, const char *kernel) {
    const char *name = "XGEMM_MIN_INDIRECT_SIZE";
    size_t value = strcmp(kernel, "Xgemm") == 0 ? ALWAYS_INDIRECT : ALWAYS_DIRECT;
    return relucl_gemm_set_tuning(ctx, "GemmRoutine", 1, &name, &value);
}

/* A random set from the space CLBlast's tuners sample (src/tuning/kernels/xgemm.hpp,
 * xgemm_direct.hpp, variations 2 and 12); relucl_gemm_set_tuning turns down combinations the
 * kernel cannot take. */
typedef struct choices {
    const char *name;
    size_t count, values[5];
} choices;

static const choices direct_space[] = {
    {"KWID", 3, {2, 8, 16}},      {"MDIMAD", 3, {8, 16, 32}},   {"MDIMCD", 3, {8, 16, 32}},
    {"NDIMBD", 3, {8, 16, 32}},   {"NDIMCD", 3, {8, 16, 32}},   {"PADA", 2, {0, 1}},
    {"PADB", 2, {0, 1}},          {"VWMD", 4, {1, 2, 4, 8}},    {"VWND", 4, {1, 2, 4, 8}},
    {"WGD", 4, {8, 16, 32, 64}}};
/* GEMMK 0: tiles staged through local memory (SA, SB) or not. */
static const choices xgemm0_space[] = {
    {"GEMMK", 1, {0}},           {"KREG", 1, {1}},           {"KWG", 2, {16, 32}},
    {"KWI", 1, {2}},             {"MDIMA", 3, {8, 16, 32}},  {"MDIMC", 3, {8, 16, 32}},
    {"MWG", 4, {16, 32, 64, 128}}, {"NDIMB", 3, {8, 16, 32}}, {"NDIMC", 3, {8, 16, 32}},
    {"NWG", 4, {16, 32, 64, 128}}, {"SA", 2, {0, 1}},        {"SB", 2, {0, 1}},
    {"STRM", 2, {0, 1}},         {"STRN", 2, {0, 1}},        {"VWM", 4, {1, 2, 4, 8}},
    {"VWN", 4, {1, 2, 4, 8}}};
/* GEMMK 1: 2-D register tiling, no local memory; MDIMA = MDIMC, NDIMB = NDIMC, NWG = MWG. */
static const choices xgemm1_space[] = {
    {"GEMMK", 1, {1}},           {"KREG", 5, {1, 2, 4, 8, 16}}, {"KWG", 1, {1}},
    {"KWI", 1, {1}},             {"MDIMA", 1, {0}},          {"MDIMC", 5, {2, 4, 8, 16, 32}},
    {"MWG", 5, {8, 16, 32, 64, 128}}, {"NDIMB", 1, {0}},     {"NDIMC", 5, {2, 4, 8, 16, 32}},
    {"NWG", 5, {8, 16, 32, 64, 128}}, {"SA", 1, {0}},        {"SB", 1, {0}},
    {"STRM", 1, {0}},            {"STRN", 1, {0}},           {"VWM", 4, {1, 2, 4, 8}},
    {"VWN", 4, {1, 2, 4, 8}}};

static void random_set(uint64_t *rng, const char *kernel, param_set *set) {
    int direct = strcmp(kernel, "XgemmDirect") == 0, gemmk = (int)(splitmix(rng) & 1);
    const choices *space = direct ? direct_space : gemmk ? xgemm1_space : xgemm0_space;
    size_t count = direct ? sizeof direct_space / sizeof *direct_space
                          : sizeof xgemm0_space / sizeof *xgemm0_space;
    memset(set, 0, sizeof *set);
    snprintf(set->kernel, sizeof set->kernel, "%s", kernel);
    for (size_t i = 0; i < count; i++)
        set_add(set, space[i].name, space[i].values[splitmix(rng) % space[i].count]);
    if (!direct && gemmk) {
        set->values[4] = set->values[5]; /* MDIMA = MDIMC */
        set->values[7] = set->values[8]; /* NDIMB = NDIMC */
        set->values[9] = set->values[6]; /* NWG = MWG: relucl turns down others (host/blas/tuning.c) */
    }
}

static void print_set(FILE *f, const param_set *set) {
    for (size_t i = 0; i < set->count; i++)
        fprintf(f, "%s%s=%zu", i ? " " : "", set->names[i], set->values[i]);
}

/* ---- The file: other kernels' sets are kept ------------------------------------------- */

/* The sets of an existing file, gathered by the library's own reader (host/blas/tuning_file.c);
 * kernels and names are kept as they are, the library checks them when it loads the file. */
typedef struct file_sets {
    param_set *sets;
    size_t count;
} file_sets;

static int add_line(void *arg, const char *name, const char *value, char *why, size_t size) {
    file_sets *fs = arg;
    if (strcmp(name, "kernel") == 0) {
        if (fs->count == MAX_SECTIONS)
            return snprintf(why, size, "more than %d kernels", MAX_SECTIONS), 0;
        memset(&fs->sets[fs->count], 0, sizeof fs->sets[0]);
        snprintf(fs->sets[fs->count++].kernel, sizeof fs->sets[0].kernel, "%s", value);
        return 1;
    }
    char *end = NULL;
    unsigned long long v = strtoull(value, &end, 10);
    if (fs->count == 0 || fs->sets[fs->count - 1].count == MAX_NAMES ||
        !isdigit((unsigned char)value[0]) || *end)
        return snprintf(why, size, "cannot keep %s %s", name, value), 0;
    set_add(&fs->sets[fs->count - 1], name, (size_t)v);
    return 1;
}

/* Reads the sets in an existing file. Returns 0 if it cannot be read as sets of
 * "NAME VALUE" lines (it is then replaced as a whole). */
static int read_sets(const char *path, param_set *sets, size_t *count) {
    FILE *f = fopen(path, "r");
    *count = 0;
    if (!f)
        return errno == ENOENT;
    file_sets fs = {sets, 0};
    char why[256];
    int lines = 0, ok = relucl__tuning_read(f, add_line, &fs, why, sizeof why, &lines);
    fclose(f);
    *count = ok ? fs.count : 0;
    return ok;
}

/* Writes the sets atomically (a temporary file beside path, renamed over it). */
static int write_sets(const char *path, const param_set *sets, size_t count, const char *note) {
    relucl__atomic_file file;
    if (relucl__make_parent_dirs(path) != 0 || relucl__atomic_open(&file, path) != 0)
        return 0;
    FILE *f = file.stream;
    fprintf(f, "# relucl GEMM tuning (CLBlast parameters); format in relucl's host/blas/tuning.c\n"
               "# %s\n",
            note);
    for (size_t s = 0; s < count; s++) {
        fprintf(f, "kernel %s\n", sets[s].kernel);
        for (size_t i = 0; i < sets[s].count; i++)
            fprintf(f, "%s %zu\n", sets[s].names[i], sets[s].values[i]);
    }
    return relucl__atomic_commit(&file) == 0;
}

/* ---- Options --------------------------------------------------------------------------- */

static int parse_whole(const char *name, const char *text, unsigned long long lo,
                       unsigned long long hi, unsigned long long *out) {
    return tool_parse_whole("relucl-tune", name, text, lo, hi, out);
}

/* Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, options *o) {
    *o = (options){NULL, "Xgemm", "mlp,1024x1024x1024", 0, 100, 1, 300.0, 0, 0};
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(name, "--help") || !strcmp(name, "-h"))
            return usage(stdout), 0;
        if (!strcmp(name, "--measure")) {
            o->measure = 1;
            continue;
        }
        if (!strcmp(name, "--dry-run")) {
            o->dry_run = 1;
            continue;
        }
        if (!value || strncmp(name, "--", 2) != 0) {
            fprintf(stderr, "relucl-tune: '%s' %s (see --help)\n", name,
                    strncmp(name, "--", 2) ? "is not an option" : "needs a value");
            return 2;
        }
        i++;
        unsigned long long seconds = 0;
        int ok = 1;
        if (!strcmp(name, "--device"))
            o->device = value;
        else if (!strcmp(name, "--kernel"))
            o->kernel = value;
        else if (!strcmp(name, "--shapes"))
            o->shapes = value;
        else if (!strcmp(name, "--size"))
            ok = parse_whole("size", value, 1, 8192, &o->size);
        else if (!strcmp(name, "--trials"))
            ok = parse_whole("trials", value, 1, 1000000, &o->trials);
        else if (!strcmp(name, "--seed"))
            ok = parse_whole("seed", value, 0, ~0ull, &o->seed);
        else if (!strcmp(name, "--seconds")) {
            ok = parse_whole("seconds", value, 1, 1000000, &seconds);
            o->seconds = (double)seconds;
        } else {
            fprintf(stderr, "relucl-tune: unknown option '%s' (see --help)\n", name);
            return 2;
        }
        if (!ok)
            return 2;
    }
    if (strcmp(o->kernel, "Xgemm") != 0 && strcmp(o->kernel, "XgemmDirect") != 0) {
        fprintf(stderr, "relucl-tune: --kernel: '%s' is neither Xgemm nor XgemmDirect\n",
                o->kernel);
        return 2;
    }
    if (o->size == 0)
        o->size = strcmp(o->kernel, "Xgemm") == 0 ? 512 : 256;
    return -1;
}

/* "MxNxK[:nn|nt|tn|tt]" and "mlp", comma-separated. Returns the count, 0 on a bad list. */
static size_t parse_shapes(const char *list, shape *out, size_t max) {
    /* The MLP 784-256-128-10 at batch 128: per layer forward x w (nn), dW = x^T dz (tn) and,
     * past the first layer, dx = dz w^T (nt); m x n x k. */
    static const shape mlp[] = {{128, 256, 784, 0, 0}, {784, 256, 128, 1, 0},
                                {128, 128, 256, 0, 0}, {256, 128, 128, 1, 0},
                                {128, 256, 128, 0, 1}, {128, 10, 128, 0, 0},
                                {128, 10, 128, 1, 0},  {128, 128, 10, 0, 1}};
    size_t count = 0;
    const char *p = list;
    while (*p) {
        if (!strncmp(p, "mlp", 3) && (p[3] == ',' || !p[3])) {
            for (size_t i = 0; i < sizeof mlp / sizeof *mlp && count < max; i++)
                out[count++] = mlp[i];
            p += 3;
        } else {
            unsigned long m, n, k;
            char t[3] = "nn";
            int used = 0;
            if (sscanf(p, "%lux%lux%lu%n", &m, &n, &k, &used) != 3 || !m || !n || !k ||
                m > 8192 || n > 8192 || k > 8192 || count == max)
                return 0;
            p += used;
            if (*p == ':') {
                if (!strchr("nt", p[1]) || !p[1] || !strchr("nt", p[2]) || !p[2])
                    return 0;
                t[0] = p[1], t[1] = p[2];
                p += 3;
            }
            out[count++] = (shape){m, n, k, t[0] == 't', t[1] == 't'};
        }
        if (*p == ',')
            p++;
        else if (*p)
            return 0;
    }
    return count;
}

/* ---- The two runs ---------------------------------------------------------------------- */

static int fail(relucl_context *ctx, const char *what, relucl_status status) {
    fprintf(stderr, "relucl-tune: %s: %s: %s\n", what, relucl_status_name(status),
            ctx ? relucl_context_error(ctx) : "");
    return 1;
}

/* A context that leaves CLBlast's own parameters (relucl's sets are not applied), or one that
 * applies relucl's (the user's file, else the built-in set). */
static relucl_status open_context(const char *device, int with_relucl_sets,
                                  relucl_context **ctx) {
    char message[512];
    if (with_relucl_sets)
        unsetenv("RELUCL_GEMM_TUNING");
    else
        setenv("RELUCL_GEMM_TUNING", "off", 1);
    relucl_status status = relucl_context_create_ex(device, ctx, message, sizeof message);
    if (status != RELUCL_OK)
        fprintf(stderr, "relucl-tune: %s\n", message);
    return status;
}

static void shape_name(shape s, char *out, size_t size) {
    snprintf(out, size, "%zux%zux%zu:%c%c", s.m, s.n, s.k, s.ta ? 't' : 'n', s.tb ? 't' : 'n');
}

/* Times each shape under CLBlast's parameters, then under relucl's, in this one process. */
static int measure(const options *o) {
    shape shapes[MAX_SHAPES];
    size_t count = parse_shapes(o->shapes, shapes, MAX_SHAPES);
    if (!count) {
        fprintf(stderr, "relucl-tune: --shapes: cannot read '%s'\n", o->shapes);
        return 2;
    }
    double seconds[2][MAX_SHAPES];
    for (int with = 0; with < 2; with++) {
        relucl_context *ctx = NULL;
        if (open_context(o->device, with, &ctx) != RELUCL_OK)
            return 1;
        if (!with)
            printf("relucl-tune on %s: GFLOP/s, best of 3 batches of >= 50 ms\n",
                   relucl_context_device_name(ctx));
        for (size_t i = 0; i < count; i++) {
            problem p;
            relucl_status status = problem_create(ctx, shapes[i], &p);
            if (status == RELUCL_OK)
                status = time_gemm(ctx, &p, 0, &seconds[with][i]);
            problem_release(&p);
            if (status != RELUCL_OK) {
                fail(ctx, "timing", status);
                relucl_context_destroy(ctx);
                return 1;
            }
        }
        relucl_context_destroy(ctx);
    }
    double total[2] = {0, 0};
    printf("%-20s %10s %10s %7s\n", "m x n x k:op", "CLBlast", "relucl", "ratio");
    for (size_t i = 0; i < count; i++) {
        char name[64];
        shape_name(shapes[i], name, sizeof name);
        printf("%-20s %10.2f %10.2f %7.2f\n", name, gflops(shapes[i], seconds[0][i]),
               gflops(shapes[i], seconds[1][i]), seconds[0][i] / seconds[1][i]);
        total[0] += seconds[0][i], total[1] += seconds[1][i];
    }
    printf("%-20s %9.3fms %9.3fms %7.2f\n", "sum of times", 1e3 * total[0], 1e3 * total[1],
           total[0] / total[1]);
    return 0;
}

/* Step 1: CLBlast's own parameters give the reference result and the first figure. */
static int reference_run(const options *o, shape s, float *want, double *t) {
    relucl_context *ctx = NULL;
    if (open_context(o->device, 0, &ctx) != RELUCL_OK)
        return 1;
    problem p = {s, {0}, {0}, {0}};
    relucl_status status = force_kernel(ctx, o->kernel);
    if (status == RELUCL_OK && (status = problem_create(ctx, s, &p)) == RELUCL_OK &&
        (status = time_gemm(ctx, &p, 0, t)) == RELUCL_OK)
        status = relucl_tensor_read(ctx, &p.c, want);
    problem_release(&p);
    int rc = status == RELUCL_OK ? 0 : fail(ctx, "with CLBlast's parameters", status);
    if (rc == 0) {
        printf("relucl-tune on %s: %s at %zu^3\n", relucl_context_device_name(ctx), o->kernel,
               s.m);
        printf("  CLBlast's own parameters   %8.2f GFLOP/s\n", gflops(s, *t));
    }
    relucl_context_destroy(ctx);
    return rc;
}

typedef struct tally {
    unsigned long long tried, refused, failed, wrong;
} tally;

/* Step 3: random sets until --trials or --seconds; *t_best stays 0 if none beat `to_beat`. */
static void search(relucl_context *ctx, const options *o, problem *p, const float *want,
                   float *got, double to_beat, param_set *best, double *t_best, tally *n) {
    uint64_t rng = o->seed;
    param_set candidate;
    double start = tool_seconds();
    while (n->tried < o->trials && tool_seconds() - start < o->seconds) {
        random_set(&rng, o->kernel, &candidate);
        if (apply(ctx, &candidate) != RELUCL_OK) {
            n->refused++; /* a combination the kernel cannot take: not a trial */
            continue;
        }
        n->tried++;
        double t = 0, bar = *t_best > 0 ? *t_best : to_beat;
        if (time_gemm(ctx, p, bar, &t) != RELUCL_OK) {
            n->failed++;
            continue;
        }
        if (t >= bar)
            continue;
        if (!agrees(ctx, p, want, got)) {
            n->wrong++;
            continue;
        }
        *best = candidate, *t_best = t;
        printf("  trial %4llu: %8.2f GFLOP/s  ", n->tried, gflops(p->s, t));
        print_set(stdout, best);
        printf("\n");
        fflush(stdout);
    }
    printf("  %llu sets timed in %.0f s (%llu more turned down by relucl, %llu failed in "
           "CLBlast, %llu gave a wrong result)\n",
           n->tried, tool_seconds() - start, n->refused, n->failed, n->wrong);
}

/* Step 4: the winner joins the other kernels' sets already in the file (those relucl still
 * accepts) in a new file, renamed over the old one. */
static int store(relucl_context *ctx, const options *o, const param_set *best, const char *note) {
    char path[4096];
    param_set sets[MAX_SECTIONS + 1];
    size_t count = 0, kept = 0;
    relucl_status status = relucl_gemm_tuning_path(ctx, path, sizeof path);
    if (status != RELUCL_OK)
        return fail(ctx, "relucl_gemm_tuning_path", status);
    if (!read_sets(path, sets, &count)) {
        printf("  %s is not a readable tuning file: replacing it\n", path);
        count = 0;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(sets[i].kernel, o->kernel) == 0)
            continue;
        if (apply(ctx, &sets[i]) != RELUCL_OK) {
            printf("  dropping the file's %s set: %s\n", sets[i].kernel,
                   relucl_context_error(ctx));
            continue;
        }
        sets[kept++] = sets[i];
    }
    sets[kept++] = *best;
    if (o->dry_run) {
        printf("  --dry-run: %s not written\n", path);
        return 0;
    }
    if (!write_sets(path, sets, kept, note)) {
        fprintf(stderr, "relucl-tune: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("  written to %s\n", path);
    return 0;
}

/* The whole search; returns the exit status. */
static int tune(const options *o) {
    shape s = {o->size, o->size, o->size, RELUCL_NO_TRANS, RELUCL_NO_TRANS};
    float *want = malloc(s.m * s.n * sizeof *want), *got = malloc(s.m * s.n * sizeof *got);
    double t_clblast = 0, t_relucl = 0, t_best = 0;
    if (!want || !got || reference_run(o, s, want, &t_clblast) != 0)
        return free(want), free(got), 1;
    /* Step 2: relucl's sets, applied by this context's first GEMM. */
    relucl_context *ctx = NULL;
    if (open_context(o->device, 1, &ctx) != RELUCL_OK)
        return free(want), free(got), 1;
    problem p;
    relucl_status status = problem_create(ctx, s, &p);
    if (status == RELUCL_OK && (status = gemm(ctx, &p)) == RELUCL_OK &&
        (status = force_kernel(ctx, o->kernel)) == RELUCL_OK)
        status = time_gemm(ctx, &p, 0, &t_relucl);
    int rc = status == RELUCL_OK ? 0 : fail(ctx, "with relucl's parameters", status);
    param_set best;
    memset(&best, 0, sizeof best);
    if (rc == 0) {
        printf("  relucl's parameters now    %8.2f GFLOP/s%s\n", gflops(s, t_relucl),
               agrees(ctx, &p, want, got) ? "" : " (the result differs!)");
        tally n = {0, 0, 0, 0};
        search(ctx, o, &p, want, got, t_relucl, &best, &t_best, &n);
    }
    if (rc == 0 && (t_best == 0 || t_best * MARGIN > t_relucl))
        printf("  nothing beat relucl's parameters now by %.0f%%: nothing written\n",
               100 * (MARGIN - 1));
    else if (rc == 0) {
        char note[256];
        printf("  best: %.2f GFLOP/s, %.2fx CLBlast's own, %.2fx relucl's now\n",
               gflops(s, t_best), t_clblast / t_best, t_relucl / t_best);
        snprintf(note, sizeof note, "%s: %.2f GFLOP/s at %llu^3 (CLBlast's own: %.2f)", o->kernel,
                 gflops(s, t_best), o->size, gflops(s, t_clblast));
        rc = store(ctx, o, &best, note);
    }
    problem_release(&p);
    relucl_context_destroy(ctx);
    free(want), free(got);
    return rc;
}

int main(int argc, char **argv) {
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    return o.measure ? measure(&o) : tune(&o);
}
