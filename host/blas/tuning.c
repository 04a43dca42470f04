/* GEMM tuning: CLBlast's kernel parameters chosen per device and handed to CLBlast
 * (CLBlastOverrideParameters) before a context's first GEMM.
 *
 * For each kernel the first of these that exists is used: the user's file in the cache
 * directory (relucl_gemm_tuning_path; relucl-tune writes it), then the built-in table below,
 * then CLBlast's own database. The user file is text:
 *
 *     # comments and blank lines are ignored
 *     kernel Xgemm
 *     GEMMK 0
 *     KREG 1
 *     ...          one "NAME VALUE" line for every parameter of the kernel, in any order
 *     kernel XgemmDirect
 *     ...
 *     kernel GemmRoutine
 *     XGEMM_MIN_INDIRECT_SIZE 72
 *
 * Kernels: Xgemm, XgemmDirect and GemmRoutine (which of the two a GEMM uses), each at most
 * once; parameter names are CLBlast's (its src/database/kernels/).
 * A file that breaks any rule (an unknown kernel or parameter, a parameter missing or given
 * twice, a value that is not a decimal number up to 4096, a combination the kernel cannot be
 * built with or this device cannot run, a line over 255 characters) is ignored as a whole and
 * ctx->tuning_note says why: a tuning file never makes a GEMM fail.
 *
 * $RELUCL_GEMM_TUNING=off applies nothing, leaving CLBlast's own parameters (or those an
 * embedding program set itself). */
#include "blas/blas.h"
#include "blas/tuning_file.h"
#include "io/checksum.h"

#include <clblast_c.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 16
#define MAX_VALUE 4096
#define PATH_SIZE 1024

typedef struct device_limits {
    size_t work_group;  /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    cl_ulong local_mem; /* CL_DEVICE_LOCAL_MEM_SIZE, bytes */
} device_limits;

/* Writes a reason (truncated to size) into why; returns 0 so checks can return it. */
static int bad(char *why, size_t size, const char *format, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int bad(char *why, size_t size, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(why, size, format, args);
    va_end(args);
    return 0;
}

#define NEED(cond, ...)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return bad(why, size, __VA_ARGS__);                                                    \
    } while (0)

static int multiple(size_t a, size_t b) { return b != 0 && a % b == 0; }
static int flag(size_t v) { return v <= 1; }
static int vector_width(size_t v) { return v == 1 || v == 2 || v == 4 || v == 8 || v == 16; }

/* ---- The kernels relucl knows: CLBlast's parameter names and what the kernels need -------- */

/* Xgemm, in CLBlast's database order. */
enum { GEMMK, KREG, KWG, KWI, MDIMA, MDIMC, MWG, NDIMB, NDIMC, NWG, SA, SB, STRM, STRN, VWM, VWN };

/* The requirements CLBlast's tuner states for its Xgemm configurations (src/tuning/kernels/
 * xgemm.hpp, "required for ..."), the kernel's own #if values, and this device's limits. */
static int check_xgemm(const size_t *v, const device_limits *lim, char *why, size_t size) {
    NEED(flag(v[GEMMK]) && flag(v[SA]) && flag(v[SB]) && flag(v[STRM]) && flag(v[STRN]),
         "GEMMK, SA, SB, STRM and STRN must be 0 or 1");
    NEED(vector_width(v[VWM]) && vector_width(v[VWN]), "VWM and VWN must be 1, 2, 4, 8 or 16");
    NEED(v[KREG] && v[KWG] && v[KWI] && v[MDIMA] && v[MDIMC] && v[MWG] && v[NDIMB] && v[NDIMC] &&
             v[NWG],
         "KREG, KWG, KWI, MDIMA, MDIMC, MWG, NDIMB, NDIMC and NWG must be at least 1");
    NEED(multiple(v[KWG], v[KWI]), "KWG (%zu) is not a multiple of KWI (%zu)", v[KWG], v[KWI]);
    NEED(multiple(v[MWG], v[MDIMC] * v[VWM]), "MWG (%zu) is not a multiple of MDIMC * VWM", v[MWG]);
    NEED(multiple(v[NWG], v[NDIMC] * v[VWN]), "NWG (%zu) is not a multiple of NDIMC * VWN", v[NWG]);
    NEED(multiple(v[MWG], v[MDIMA] * v[VWM]), "MWG (%zu) is not a multiple of MDIMA * VWM", v[MWG]);
    NEED(multiple(v[NWG], v[NDIMB] * v[VWN]), "NWG (%zu) is not a multiple of NDIMB * VWN", v[NWG]);
    size_t threads = v[MDIMC] * v[NDIMC];
    if (v[GEMMK] == 0) {
        NEED(multiple(threads, v[MDIMA]) && multiple(v[KWG], threads / v[MDIMA]),
             "KWG (%zu) is not a multiple of MDIMC * NDIMC / MDIMA", v[KWG]);
        NEED(multiple(threads, v[NDIMB]) && multiple(v[KWG], threads / v[NDIMB]),
             "KWG (%zu) is not a multiple of MDIMC * NDIMC / NDIMB", v[KWG]);
    } else {
        NEED(multiple(v[KREG], v[VWN]), "KREG (%zu) is not a multiple of VWN (%zu)", v[KREG],
             v[VWN]);
        /* Seen with CLBlast 1.5.3 on PoCL: through the GEMM routine, GEMMK 1 sets with NWG
         * other than MWG give wrong results or write outside their buffers (NWG > MWG; CLBlast's
         * own set for a Core i5-4590S among them), although its tuner passes them. */
        NEED(v[NWG] == v[MWG], "GEMMK 1 needs NWG (%zu) equal to MWG (%zu)", v[NWG], v[MWG]);
    }
    NEED(threads <= lim->work_group, "MDIMC * NDIMC (%zu) exceeds the device's work-group size",
         threads);
    cl_ulong local = sizeof(float) * (cl_ulong)(v[SA] * v[KWG] * v[MWG] + v[SB] * v[KWG] * v[NWG]);
    NEED(local <= lim->local_mem, "the tiles need %llu bytes of local memory, the device has %llu",
         (unsigned long long)local, (unsigned long long)lim->local_mem);
    return 1;
}

/* XgemmDirect, in CLBlast's database order. */
enum { KWID, MDIMAD, MDIMCD, NDIMBD, NDIMCD, PADA, PADB, VWMD, VWND, WGD };

static int check_direct(const size_t *v, const device_limits *lim, char *why, size_t size) {
    NEED(flag(v[PADA]) && flag(v[PADB]), "PADA and PADB must be 0 or 1");
    NEED(vector_width(v[VWMD]) && vector_width(v[VWND]), "VWMD and VWND must be 1, 2, 4, 8 or 16");
    NEED(v[KWID] && v[MDIMAD] && v[MDIMCD] && v[NDIMBD] && v[NDIMCD] && v[WGD],
         "KWID, MDIMAD, MDIMCD, NDIMBD, NDIMCD and WGD must be at least 1");
    NEED(multiple(v[WGD], v[KWID]), "WGD (%zu) is not a multiple of KWID (%zu)", v[WGD], v[KWID]);
    NEED(multiple(v[WGD], v[MDIMCD] * v[VWMD]), "WGD (%zu) is not a multiple of MDIMCD * VWMD",
         v[WGD]);
    NEED(multiple(v[WGD], v[NDIMCD] * v[VWND]), "WGD (%zu) is not a multiple of NDIMCD * VWND",
         v[WGD]);
    NEED(multiple(v[WGD], v[MDIMAD] * v[VWMD]), "WGD (%zu) is not a multiple of MDIMAD * VWMD",
         v[WGD]);
    NEED(multiple(v[WGD], v[NDIMBD] * v[VWND]), "WGD (%zu) is not a multiple of NDIMBD * VWND",
         v[WGD]);
    size_t threads = v[MDIMCD] * v[NDIMCD];
    NEED(multiple(threads, v[MDIMAD]) && multiple(v[WGD], threads / v[MDIMAD]),
         "WGD (%zu) is not a multiple of MDIMCD * NDIMCD / MDIMAD", v[WGD]);
    NEED(multiple(threads, v[NDIMBD]) && multiple(v[WGD], threads / v[NDIMBD]),
         "WGD (%zu) is not a multiple of MDIMCD * NDIMCD / NDIMBD", v[WGD]);
    NEED(threads <= lim->work_group, "MDIMCD * NDIMCD (%zu) exceeds the device's work-group size",
         threads);
    cl_ulong local =
        sizeof(float) * (cl_ulong)(v[WGD] * (v[WGD] + v[PADA]) + v[WGD] * (v[WGD] + v[PADB]));
    NEED(local <= lim->local_mem, "the tiles need %llu bytes of local memory, the device has %llu",
         (unsigned long long)local, (unsigned long long)lim->local_mem);
    return 1;
}
#undef NEED

/* GemmRoutine's one parameter: GEMMs with m * n * k below its cube use XgemmDirect, larger
 * ones Xgemm (with copies into padded buffers where needed). Any value works. */
static int check_routine(const size_t *v, const device_limits *lim, char *why, size_t size) {
    (void)v, (void)lim, (void)why, (void)size;
    return 1;
}

typedef struct kernel_info {
    const char *name;
    size_t count;
    const char *params[MAX_PARAMS];
    int (*check)(const size_t *values, const device_limits *lim, char *why, size_t size);
} kernel_info;

enum { XGEMM, XGEMM_DIRECT, GEMM_ROUTINE, KERNEL_COUNT };
static const kernel_info kernels[KERNEL_COUNT] = {
    {"Xgemm",
     16,
     {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB",
      "STRM", "STRN", "VWM", "VWN"},
     check_xgemm},
    {"XgemmDirect",
     10,
     {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD", "PADA", "PADB", "VWMD", "VWND", "WGD"},
     check_direct},
    {"GemmRoutine", 1, {"XGEMM_MIN_INDIRECT_SIZE"}, check_routine},
};

static int kernel_index(const char *name) {
    for (int i = 0; i < KERNEL_COUNT; i++)
        if (strcmp(kernels[i].name, name) == 0)
            return i;
    return -1;
}

static int param_index(const kernel_info *k, const char *name) {
    for (size_t i = 0; i < k->count; i++)
        if (strcmp(k->params[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- Built-in sets --------------------------------------------------------------------- */

/* Both substrings must occur in the platform and device names. Values in the kernel's order
 * above.
 *
 * PoCL's CPU device, LLVM target skylake-avx512 (PoCL names the device "pthread-skylake-
 * avx512-<cpu>"; PoCL 4 says "cpu-" instead of "pthread-"). Tuned on one machine only: an AMD
 * EPYC with 2 cores visible, PoCL 3.1 with LLVM 15, CLBlast 1.5.3, a shared and noisy host.
 * Candidates came from CLBlast's own tuners (clblast_tuner_xgemm -fraction 200 at 512^3 and
 * 1024^3; clblast_tuner_xgemm_direct at 256^3 and 128x256x784), the best few re-timed through
 * relucl_gemm at 512^3, 1024^3 and the MLP's shapes. Tuned Xgemm beat every XgemmDirect set
 * from about 80^3 up, MLP shapes included, so GemmRoutine sends GEMMs of 72^3 and more to it
 * (CLBlast's own threshold for this device is 896^3). No XgemmDirect set: below 72^3 the
 * tuner's best sets were no faster than CLBlast's own within this host's noise, and their
 * 64-wide tiles cost PoCL 30-65 s of compilation per transpose case on first use (CLBlast's
 * own: 11 s). bench/README.md ("GEMM tuning") has the commands and figures. Other AVX-512
 * CPUs differ in cores and caches: there these sets are a starting point, not a
 * measurement; relucl-tune finds the device's own. */
typedef struct builtin_set {
    const char *platform, *device;
    int kernel;
    size_t values[MAX_PARAMS];
} builtin_set;

static const builtin_set builtin[] = {
    {"Portable Computing Language",
     "skylake-avx512",
     XGEMM,
     /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
     {0, 1, 16, 2, 16, 8, 128, 32, 16, 128, 0, 0, 1, 1, 8, 4}},
    {"Portable Computing Language", "skylake-avx512", GEMM_ROUTINE, {72}},
};

static void platform_name(relucl_context *ctx, char *name, size_t size) {
    name[0] = '\0';
    clGetPlatformInfo(ctx->platform, CL_PLATFORM_NAME, size - 1, name, NULL);
    name[size - 1] = '\0';
}

static const size_t *builtin_values(relucl_context *ctx, int kernel) {
    char platform[256];
    platform_name(ctx, platform, sizeof platform);
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (builtin[i].kernel == kernel && strstr(platform, builtin[i].platform) &&
            strstr(ctx->device_name, builtin[i].device))
            return builtin[i].values;
    return NULL;
}

/* ---- The user's file ------------------------------------------------------------------- */

typedef struct tuning_set {
    int present;
    size_t values[MAX_PARAMS];
} tuning_set;

static device_limits limits_of(relucl_context *ctx) {
    device_limits lim = {ctx->max_work_group, 0};
    clGetDeviceInfo(ctx->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lim.local_mem, &lim.local_mem,
                    NULL);
    return lim;
}

/* A key for this platform, device and driver: a new driver may want new parameters. */
static uint64_t device_key(relucl_context *ctx) {
    char text[512];
    platform_name(ctx, text, sizeof text);
    uint64_t key = relucl__fnv1a(RELUCL__FNV_OFFSET, text, strlen(text) + 1);
    static const cl_device_info fields[] = {CL_DEVICE_NAME, CL_DRIVER_VERSION};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        text[0] = '\0';
        clGetDeviceInfo(ctx->device, fields[i], sizeof text - 1, text, NULL);
        text[sizeof text - 1] = '\0';
        key = relucl__fnv1a(key, text, strlen(text) + 1); /* the NUL separates the fields */
    }
    return key;
}

/* "<cache dir>/clblast-<key>.txt" in the program cache's folder (relucl__cache_dir); 0 when
 * there is none. */
static int user_path(relucl_context *ctx, char *path, size_t size) {
    char dir[PATH_SIZE - 64];
    if (!relucl__cache_dir(dir, sizeof dir))
        return 0;
    int n =
        snprintf(path, size, "%s/clblast-%016llx.txt", dir, (unsigned long long)device_key(ctx));
    return n > 0 && (size_t)n < size;
}

static int parse_value(const char *text, size_t *out) {
    size_t v = 0;
    if (!text || !*text)
        return 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > MAX_VALUE)
            return 0;
        v = v * 10 + (size_t)(*p - '0');
    }
    if (v > MAX_VALUE)
        return 0;
    *out = v;
    return 1;
}

/* Checks a complete set: every parameter given, then the kernel's own rules. */
static int check_set(int kernel, const unsigned *seen, const size_t *values,
                     const device_limits *lim, char *why, size_t size) {
    const kernel_info *k = &kernels[kernel];
    for (size_t i = 0; i < k->count; i++)
        if (!seen[i])
            return bad(why, size, "kernel %s: %s is missing", k->name, k->params[i]);
    char detail[192];
    if (!k->check(values, lim, detail, sizeof detail))
        return bad(why, size, "kernel %s: %s", k->name, detail);
    return 1;
}

/* What the reader's callback needs while it fills sets[] from the file's lines. */
typedef struct file_state {
    const device_limits *lim;
    tuning_set *sets;
    unsigned seen[MAX_PARAMS];
    int current; /* the kernel being read, -1 before the first "kernel" line */
} file_state;

static int read_line(void *arg, const char *name, const char *value, char *why, size_t size) {
    file_state *st = arg;
    if (strcmp(name, "kernel") == 0) {
        if (st->current >= 0 &&
            !check_set(st->current, st->seen, st->sets[st->current].values, st->lim, why, size))
            return 0;
        st->current = kernel_index(value);
        if (st->current < 0)
            return bad(why, size, "unknown kernel \"%s\"", value);
        if (st->sets[st->current].present)
            return bad(why, size, "kernel %s appears twice", value);
        st->sets[st->current].present = 1;
        memset(st->seen, 0, sizeof st->seen);
        return 1;
    }
    if (st->current < 0)
        return bad(why, size, "\"%s\" before any \"kernel\" line", name);
    const kernel_info *k = &kernels[st->current];
    int p = param_index(k, name);
    if (p < 0)
        return bad(why, size, "%s is not a parameter of %s", name, k->name);
    if (st->seen[p]++)
        return bad(why, size, "%s is given twice", name);
    if (!parse_value(value, &st->sets[st->current].values[p]))
        return bad(why, size, "%s: \"%s\" is not a number from 0 to %d", name, value, MAX_VALUE);
    return 1;
}

/* Parses the file into sets[]; on a broken rule writes "line N: reason" into why and
 * returns 0. */
static int parse_file(FILE *f, const device_limits *lim, tuning_set *sets, char *why, size_t size) {
    file_state st = {lim, sets, {0}, -1};
    char reason[224];
    int lines = 0;
    if (!relucl__tuning_read(f, read_line, &st, why, size, &lines))
        return 0;
    if (st.current < 0)
        return bad(why, size, "no \"kernel\" line");
    if (!check_set(st.current, st.seen, sets[st.current].values, lim, reason, sizeof reason))
        return bad(why, size, "line %d: %s", lines, reason);
    return 1;
}

int relucl__tuning_check(FILE *f, size_t work_group, unsigned long long local_mem, char *why,
                        size_t size) {
    device_limits lim = {work_group, local_mem};
    tuning_set sets[KERNEL_COUNT];
    memset(sets, 0, sizeof sets);
    return parse_file(f, &lim, sets, why, size);
}

/* Loads the user's sets if the file exists; a broken file leaves sets[] empty and says why in
 * the context's note. */
static void load_user(relucl_context *ctx, const char *fn, const device_limits *lim,
                      tuning_set *sets) {
    char path[PATH_SIZE], why[256];
    if (!user_path(ctx, path, sizeof path))
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    int ok = parse_file(f, lim, sets, why, sizeof why);
    fclose(f);
    if (ok)
        return;
    memset(sets, 0, KERNEL_COUNT * sizeof *sets);
    ctx->tuning_rejected++;
    bad(ctx->tuning_note, sizeof ctx->tuning_note, "%s: ignored the tuning file %s: %s", fn, path,
        why);
}

static CLBlastStatusCode override(relucl_context *ctx, const char *kernel, size_t count,
                                  const char *const *names, const size_t *values) {
    const char *name_list[64]; /* more than any CLBlast kernel has */
    if (count > sizeof name_list / sizeof *name_list)
        return CLBlastInvalidOverrideKernel;
    for (size_t i = 0; i < count; i++)
        name_list[i] = names[i];
    relucl__clblast_lock(1);
    CLBlastStatusCode code = CLBlastOverrideParameters(ctx->device, kernel, CLBlastPrecisionSingle,
                                                       count, name_list, values);
    relucl__clblast_unlock();
    return code;
}

relucl_status relucl__tuning_apply(relucl_context *ctx, const char *fn) {
    if (ctx->tuning_applied)
        return RELUCL_OK;
    ctx->tuning_applied = 1;
    const char *env = getenv("RELUCL_GEMM_TUNING");
    if (env && strcmp(env, "off") == 0)
        return RELUCL_OK;
    device_limits lim = limits_of(ctx);
    tuning_set user[KERNEL_COUNT];
    memset(user, 0, sizeof user);
    load_user(ctx, fn, &lim, user);
    char why[192];
    for (int k = 0; k < KERNEL_COUNT; k++) {
        const kernel_info *info = &kernels[k];
        if (user[k].present) {
            CLBlastStatusCode code =
                override(ctx, info->name, info->count, info->params, user[k].values);
            if (code == CLBlastSuccess) {
                ctx->tuning_user++;
                continue;
            }
            /* CLBlast itself refused (another CLBlast version?): fall back, and say so. */
            ctx->tuning_rejected++;
            bad(ctx->tuning_note, sizeof ctx->tuning_note,
                "%s: CLBlast rejected the tuning file's %s set (%d)", fn, info->name, (int)code);
        }
        const size_t *values = builtin_values(ctx, k);
        if (values && info->check(values, &lim, why, sizeof why) &&
            override(ctx, info->name, info->count, info->params, values) == CLBlastSuccess)
            ctx->tuning_builtin++;
    }
    return RELUCL_OK;
}

/* ---- Public functions ------------------------------------------------------------------ */

relucl_status relucl_gemm_tuning_path(relucl_context *ctx, char *path, size_t size) {
    static const char fn[] = "relucl_gemm_tuning_path";
    relucl_status status = relucl__check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (!path)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "path is NULL");
    char full[PATH_SIZE];
    if (!user_path(ctx, full, sizeof full))
        return relucl__fail(ctx, RELUCL_ERROR_IO, fn,
                            "no cache directory ($RELUCL_CACHE_DIR is empty, or neither "
                            "$XDG_CACHE_HOME nor $HOME is set, or the path is too long)");
    if (strlen(full) >= size)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "size: %zu bytes cannot hold the %zu-byte path and its NUL", size,
                            strlen(full));
    memcpy(path, full, strlen(full) + 1);
    return RELUCL_OK;
}

/* Orders a set for a kernel relucl knows and checks it like a file's. */
static relucl_status check_known(relucl_context *ctx, const char *fn, int kernel, size_t count,
                                 const char **names, const size_t *values, size_t *ordered) {
    const kernel_info *k = &kernels[kernel];
    unsigned seen[MAX_PARAMS] = {0};
    for (size_t i = 0; i < count; i++) {
        int p = param_index(k, names[i]);
        if (p < 0)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "names[%zu]: %s is not a parameter of %s", i, names[i], k->name);
        if (seen[p]++)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "names[%zu]: %s is given twice", i, names[i]);
        if (values[i] > MAX_VALUE)
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                                "values[%zu]: %s is %zu, more than %d", i, names[i], values[i],
                                MAX_VALUE);
        ordered[p] = values[i];
    }
    for (size_t i = 0; i < k->count; i++)
        if (!seen[i])
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "names: %s is missing",
                                k->params[i]);
    device_limits lim = limits_of(ctx);
    char why[192];
    if (!k->check(ordered, &lim, why, sizeof why))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "values: %s", why);
    return RELUCL_OK;
}

relucl_status relucl_gemm_set_tuning(relucl_context *ctx, const char *kernel, size_t count,
                                     const char **names, const size_t *values) {
    static const char fn[] = "relucl_gemm_set_tuning";
    relucl_status status = relucl__check_context(ctx);
    if (status != RELUCL_OK)
        return status;
    if (!kernel)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "kernel is NULL");
    if (count > 0 && !names)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "names is NULL");
    if (count > 0 && !values)
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "values is NULL");
    for (size_t i = 0; i < count; i++)
        if (!names[i])
            return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn, "names[%zu] is NULL", i);
    int known = kernel_index(kernel);
    size_t ordered[MAX_PARAMS];
    if (known >= 0 &&
        (status = check_known(ctx, fn, known, count, names, values, ordered)) != RELUCL_OK)
        return status;
    /* relucl's own sets go first, so that this context's first GEMM does not replace this
     * one with them. */
    if ((status = relucl__tuning_apply(ctx, fn)) != RELUCL_OK)
        return status;
    CLBlastStatusCode code =
        known >= 0 ? override(ctx, kernel, kernels[known].count, kernels[known].params, ordered)
                   : override(ctx, kernel, count, names, values);
    return relucl__blas_status(ctx, fn, code);
}
