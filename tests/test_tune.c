/* GEMM tuning (host/blas/tuning.c): the built-in set, the user's file, broken files and
 * relucl_gemm_set_tuning. Every test context is made from the shared context's queue, so the
 * support buffers serve them all and each one applies its tuning afresh at its first GEMM. */
#include "support.h"

#include "core/core.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Built-in sets for PoCL on AVX-512: Xgemm and GemmRoutine. */
#define BUILTIN_SETS 2

static char g_dir[256];

/* RELUCL_CACHE_DIR points at a fresh directory before any context exists. */
static int setup(void **state) {
    snprintf(g_dir, sizeof g_dir, "/tmp/relucl-tune-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        print_error("mkdtemp failed\n");
        return -1;
    }
    setenv("RELUCL_CACHE_DIR", g_dir, 1);
    unsetenv("RELUCL_GEMM_TUNING");
    return support_setup(state);
}

static int teardown(void **state) {
    int rc = support_teardown(state);
    DIR *dir = opendir(g_dir);
    struct dirent *e;
    char path[512];
    while (dir && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
            unlink(path);
        }
    }
    if (dir)
        closedir(dir);
    rmdir(g_dir);
    return rc;
}

/* A new relucl context on the shared queue: tuning not yet applied. */
static relucl_context *fresh_context(void) {
    relucl_context *ctx = NULL;
    assert_int_equal(relucl_context_create_from_queue(relucl_context_queue(support_ctx()), &ctx),
                     RELUCL_OK);
    return ctx;
}

static int is_pocl_avx512(relucl_context *ctx) {
    char platform[256] = "";
    clGetPlatformInfo(ctx->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
    return strstr(platform, "Portable Computing Language") &&
           strstr(ctx->device_name, "skylake-avx512");
}

static void user_file_path(relucl_context *ctx, char *path, size_t size) {
    assert_int_equal(relucl_gemm_tuning_path(ctx, path, size), RELUCL_OK);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* ---- GEMM against a float64 reference, through each of CLBlast's two kernels ------------ */

static void check_one(relucl_context *ctx, relucl_transpose ta, relucl_transpose tb, size_t m,
                      size_t n, size_t k, const char *what) {
    size_t na = m * k, nb = k * n, nc = m * n;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *got = malloc(nc * sizeof *got);
    double *want = malloc(nc * sizeof *want), *scale = malloc(nc * sizeof *scale);
    assert_true(a && b && got && want && scale);
    support_fill_uniform(a, na, 11 + m, -1, 1);
    support_fill_uniform(b, nb, 12 + n, -1, 1);
    support_gemm_reference(ta, tb, m, n, k, 1.0, a, b, 0.0, NULL, want, scale);
    cl_mem ba = support_buffer_from(a, na), bb = support_buffer_from(b, nb),
           bc = support_buffer_poisoned(nc);
    size_t da[2] = {ta == RELUCL_TRANS ? k : m, ta == RELUCL_TRANS ? m : k};
    size_t db[2] = {tb == RELUCL_TRANS ? n : k, tb == RELUCL_TRANS ? k : n}, dc[2] = {m, n};
    relucl_tensor A = support_view(ba, 0, 2, da), B = support_view(bb, 0, 2, db),
                  C = support_view(bc, 0, 2, dc);
    relucl_status st = relucl_gemm(ctx, ta, tb, 1.0f, &A, &B, 0.0f, &C);
    if (st != RELUCL_OK)
        fail_msg("%s: %s: %s", what, relucl_status_name(st), relucl_context_error(ctx));
    support_buffer_read(bc, 0, got, nc);
    assert_true(support_close(got, want, nc, 1e-5 * sqrt((double)k + 1), 1e-30, scale, what));
    support_buffer_release(ba);
    support_buffer_release(bb);
    support_buffer_release(bc);
    free(a), free(b), free(got), free(want), free(scale);
}

/* Forces GEMMs onto Xgemm (threshold 0) or XgemmDirect (threshold 4096). */
static void force(relucl_context *ctx, size_t threshold) {
    const char *name = "XGEMM_MIN_INDIRECT_SIZE";
    assert_int_equal(relucl_gemm_set_tuning(ctx, "GemmRoutine", 1, &name, &threshold), RELUCL_OK);
}

/* The context's first GEMM applies its tuning; then shapes with odd sizes (padding, edge
 * tiles) and every transpose go through both kernels. */
static void check_gemms(relucl_context *ctx, const char *what) {
    char label[128];
    check_one(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 128, 64, 200, what); /* applies tuning */
    const size_t paths[2] = {0, 4096};
    const size_t shapes[][3] = {{33, 65, 47}, {130, 70, 257}, {64, 10, 128}};
    for (int p = 0; p < 2; p++) {
        force(ctx, paths[p]);
        for (int t = 0; t < 4; t++)
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
                snprintf(label, sizeof label, "%s, %s, %c%c %zux%zux%zu", what,
                         p ? "XgemmDirect" : "Xgemm", t & 1 ? 'T' : 'N', t & 2 ? 'T' : 'N',
                         shapes[s][0], shapes[s][1], shapes[s][2]);
                check_one(ctx, (relucl_transpose)(t & 1), (relucl_transpose)(t >> 1),
                          shapes[s][0], shapes[s][1], shapes[s][2], label);
            }
    }
}

/* ---- Tests ------------------------------------------------------------------------------ */

static void test_tuning_path_is_in_the_cache_dir_and_per_device(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    char path[512];
    user_file_path(ctx, path, sizeof path);
    size_t dir = strlen(g_dir);
    assert_memory_equal(path, g_dir, dir);
    assert_memory_equal(path + dir, "/clblast-", 9);
    for (size_t i = dir + 9; i < dir + 25; i++)
        assert_true(strchr("0123456789abcdef", path[i]) != NULL);
    assert_string_equal(path + dir + 25, ".txt");
    assert_int_equal(relucl_gemm_tuning_path(ctx, path, dir + 25), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("size"));
    assert_int_equal(relucl_gemm_tuning_path(ctx, NULL, 0), RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("path"));
    assert_int_equal(relucl_gemm_tuning_path(NULL, path, sizeof path),
                     RELUCL_ERROR_INVALID_ARGUMENT);
}

static void test_builtin_set_applies_on_pocl_and_gemm_stays_correct(void **state) {
    (void)state;
    relucl_context *ctx = fresh_context();
    char path[512];
    user_file_path(ctx, path, sizeof path);
    unlink(path);
    check_gemms(ctx, "built-in set");
    assert_int_equal(ctx->tuning_applied, 1);
    assert_int_equal(ctx->tuning_user, 0);
    assert_int_equal(ctx->tuning_rejected, 0);
    assert_string_equal(ctx->tuning_note, "");
    if (is_pocl_avx512(ctx))
        assert_int_equal(ctx->tuning_builtin, BUILTIN_SETS);
    else
        print_message("not PoCL on AVX-512: no built-in set, %u applied\n", ctx->tuning_builtin);
    relucl_context_destroy(ctx);
}

/* CLBlast 1.5.3's own parameters for PoCL's CPU device, not the built-in ones. */
static const char user_sets[] = "# a comment\n"
                                "kernel Xgemm\n"
                                "GEMMK 0\nKREG 1\nKWG 32\nKWI 2\nMDIMA 8\nMDIMC 8\nMWG 32\n"
                                "NDIMB 16\nNDIMC 16\nNWG 32\nSA 1\nSB 1\nSTRM 0\nSTRN 0\n"
                                "VWM 4\nVWN 2\n"
                                "\n"
                                "kernel XgemmDirect\n"
                                "  WGD 16\n\tKWID 2\nMDIMAD 8\nMDIMCD 8\nNDIMBD 8\nNDIMCD 8\n"
                                "PADA 1\nPADB 1\nVWMD 1\nVWND 1\n";

static void test_user_file_overrides_the_builtin_set(void **state) {
    (void)state;
    relucl_context *ctx = fresh_context();
    char path[512];
    user_file_path(ctx, path, sizeof path);
    write_file(path, user_sets);
    check_gemms(ctx, "user set");
    assert_int_equal(ctx->tuning_user, 2);
    assert_int_equal(ctx->tuning_rejected, 0);
    assert_string_equal(ctx->tuning_note, "");
    /* What the file leaves out (GemmRoutine) still gets the built-in set; Xgemm does not. */
    if (is_pocl_avx512(ctx))
        assert_int_equal(ctx->tuning_builtin, BUILTIN_SETS - 1);
    relucl_context_destroy(ctx);
    unlink(path);
}

static void test_malformed_user_file_is_ignored(void **state) {
    (void)state;
    static const struct {
        const char *text, *reason;
    } cases[] = {
        {"not a tuning file at all\n", "expected"},
        {"", "no \"kernel\" line"},
        {"MWG 64\n", "before any"},
        {"kernel Xgemm\nMWG 64\n", "missing"},
        {"kernel NoSuchKernel\n", "unknown kernel"},
        {"kernel GemmRoutine\nXGEMM_MIN_INDIRECT_SIZE 10\nXGEMM_MIN_INDIRECT_SIZE 10\n", "twice"},
        {"kernel GemmRoutine\nXGEMM_MIN_INDIRECT_SIZE -3\n", "not a number"},
        {"kernel GemmRoutine\nXGEMM_MIN_INDIRECT_SIZE 99999999\n", "not a number"},
        {"kernel GemmRoutine\nXGEMM_MIN_INDIRECT_SIZE\n", "no value"},
        {"kernel GemmRoutine\nMWG 3\n", "not a parameter"},
        {"kernel GemmRoutine\nXGEMM_MIN_INDIRECT_SIZE 1\nkernel GemmRoutine\n", "twice"},
        /* A combination Xgemm cannot be built with: MWG not a multiple of MDIMC * VWM. */
        {"kernel Xgemm\nGEMMK 0\nKREG 1\nKWG 32\nKWI 2\nMDIMA 8\nMDIMC 8\nMWG 48\nNDIMB 16\n"
         "NDIMC 16\nNWG 32\nSA 1\nSB 1\nSTRM 0\nSTRN 0\nVWM 4\nVWN 2\n",
         "MWG (48) is not a multiple"},
        /* GEMMK 1 with NWG != MWG: wrong results through CLBlast 1.5.3's routine on PoCL. */
        {"kernel Xgemm\nGEMMK 1\nKREG 16\nKWG 1\nKWI 1\nMDIMA 2\nMDIMC 2\nMWG 64\nNDIMB 2\n"
         "NDIMC 2\nNWG 128\nSA 0\nSB 0\nSTRM 0\nSTRN 0\nVWM 8\nVWN 2\n",
         "GEMMK 1 needs NWG"},
        /* More threads per group (and local memory) than devices have. */
        {"kernel XgemmDirect\nWGD 128\nKWID 2\nMDIMAD 128\nMDIMCD 128\nNDIMBD 64\nNDIMCD 64\n"
         "PADA 1\nPADB 1\nVWMD 1\nVWND 1\n",
         "kernel XgemmDirect"},
    };
    char path[512], long_line[600];
    memset(long_line, 'x', sizeof long_line - 2);
    long_line[sizeof long_line - 2] = '\n', long_line[sizeof long_line - 1] = '\0';
    for (size_t i = 0; i <= sizeof cases / sizeof *cases; i++) {
        const char *text = i < sizeof cases / sizeof *cases ? cases[i].text : long_line;
        const char *reason = i < sizeof cases / sizeof *cases ? cases[i].reason : "too long";
        relucl_context *ctx = fresh_context();
        user_file_path(ctx, path, sizeof path);
        write_file(path, text);
        char what[64];
        snprintf(what, sizeof what, "malformed file %zu", i);
        check_one(ctx, RELUCL_NO_TRANS, RELUCL_TRANS, 70, 90, 110, what);
        assert_int_equal(ctx->tuning_user, 0);
        assert_int_equal(ctx->tuning_rejected, 1);
        if (!strstr(ctx->tuning_note, reason) || !strstr(ctx->tuning_note, path))
            fail_msg("case %zu: note \"%s\" should name the file and \"%s\"", i,
                     ctx->tuning_note, reason);
        if (is_pocl_avx512(ctx))
            assert_int_equal(ctx->tuning_builtin, BUILTIN_SETS);
        relucl_context_destroy(ctx);
    }
    unlink(path);
}

static void test_tuning_off_applies_nothing(void **state) {
    (void)state;
    relucl_context *ctx = fresh_context();
    char path[512];
    user_file_path(ctx, path, sizeof path);
    write_file(path, "garbage\n");
    setenv("RELUCL_GEMM_TUNING", "off", 1);
    check_one(ctx, RELUCL_TRANS, RELUCL_NO_TRANS, 40, 50, 60, "tuning off");
    unsetenv("RELUCL_GEMM_TUNING");
    assert_int_equal(ctx->tuning_applied, 1);
    assert_int_equal(ctx->tuning_builtin + ctx->tuning_user + ctx->tuning_rejected, 0);
    relucl_context_destroy(ctx);
    unlink(path);
}

static void test_set_tuning_rejects_bad_sets(void **state) {
    (void)state;
    relucl_context *ctx = support_ctx();
    const char *names[] = {"PARAM"};
    const size_t values[] = {1};
    assert_int_equal(relucl_gemm_set_tuning(ctx, "NoSuchKernel", 1, names, values),
                     RELUCL_ERROR_BLAS);
    assert_true(support_error_mentions("relucl_gemm_set_tuning"));
    assert_true(support_error_mentions("CLBlast"));
    assert_int_equal(relucl_gemm_set_tuning(ctx, NULL, 1, names, values),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("kernel"));
    assert_int_equal(relucl_gemm_set_tuning(ctx, "Xgemm", 1, NULL, values),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("names"));
    assert_int_equal(relucl_gemm_set_tuning(ctx, "Xgemm", 1, names, NULL),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("values"));
    assert_int_equal(relucl_gemm_set_tuning(ctx, "Xgemm", 1, names, values),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("PARAM"));
    const char *direct[] = {"WGD", "KWID", "MDIMAD", "MDIMCD", "NDIMBD",
                            "NDIMCD", "PADA", "PADB", "VWMD", "VWND"};
    size_t ok[] = {16, 2, 8, 8, 8, 8, 1, 1, 1, 1}, broken[] = {16, 3, 8, 8, 8, 8, 1, 1, 1, 1};
    assert_int_equal(relucl_gemm_set_tuning(ctx, "XgemmDirect", 9, direct, ok),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("VWND")); /* the one left out */
    assert_int_equal(relucl_gemm_set_tuning(ctx, "XgemmDirect", 10, direct, broken),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    assert_true(support_error_mentions("KWID"));
    assert_int_equal(relucl_gemm_set_tuning(ctx, "XgemmDirect", 10, direct, ok), RELUCL_OK);
    assert_int_equal(relucl_gemm_set_tuning(NULL, "Xgemm", 1, names, values),
                     RELUCL_ERROR_INVALID_ARGUMENT);
    check_one(ctx, RELUCL_NO_TRANS, RELUCL_NO_TRANS, 31, 17, 45, "after set_tuning");
}

int main(void) {
    /* Tuning is CLBlast's: these GEMMs must go through it, also on CPU devices. */
    setenv("RELUCL_GEMM", "clblast", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tuning_path_is_in_the_cache_dir_and_per_device),
        cmocka_unit_test(test_builtin_set_applies_on_pocl_and_gemm_stays_correct),
        cmocka_unit_test(test_user_file_overrides_the_builtin_set),
        cmocka_unit_test(test_malformed_user_file_is_ignored),
        cmocka_unit_test(test_tuning_off_applies_nothing),
        cmocka_unit_test(test_set_tuning_rejects_bad_sets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
