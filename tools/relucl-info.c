/*
 * relucl-info: what can relucl run on here?
 *
 * Lists every OpenCL platform and device, marks with '*' the device relucl picks (its default
 * choice, or the one --device SPEC names), then checks that device with a ReLU forward pass
 * compared bit for bit with the host. Exit status 0 when the self-test passes, 1 otherwise.
 */
#include <relucl.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELFTEST_COUNT 4099 /* not a multiple of any vector width: the tail is tested too */
#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

static void usage(FILE *f)
{
    fprintf(f, "usage: relucl-info [--device SPEC] [--help]\n"
               "  --device SPEC  device to mark and test: gpu, cpu, accelerator, P:D (indices\n"
               "                 as listed below) or part of a platform/device name.\n"
               "                 Default: $RELUCL_DEVICE, else relucl's own choice.\n");
}

/* ---- Listing ----------------------------------------------------------------------------- */

static void platform_string(cl_platform_id p, cl_platform_info what, char *buf, size_t size)
{
    if (clGetPlatformInfo(p, what, size, buf, NULL) != CL_SUCCESS)
        snprintf(buf, size, "?");
}

static void device_string(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    if (clGetDeviceInfo(d, what, size, buf, NULL) != CL_SUCCESS)
        snprintf(buf, size, "?");
}

static cl_ulong device_ulong(cl_device_id d, cl_device_info what)
{
    cl_ulong v = 0;
    clGetDeviceInfo(d, what, sizeof v, &v, NULL);
    return v;
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "ACCELERATOR";
    if (t & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (t & CL_DEVICE_TYPE_CUSTOM)
        return "CUSTOM";
    return "OTHER";
}

/* "15.6 GiB", "512 MiB": compact sizes for the listing. */
static void format_bytes(cl_ulong bytes, char *buf, size_t size)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    if ((double)bytes >= gib)
        snprintf(buf, size, "%.1f GiB", (double)bytes / gib);
    else
        snprintf(buf, size, "%.0f MiB", (double)bytes / (1024.0 * 1024.0));
}

static void print_device(cl_device_id d, cl_uint p, cl_uint i, int chosen)
{
    char name[256], driver[128], clc[128], global[32], alloc[32];
    cl_device_type type = 0;
    cl_uint units = 0;

    device_string(d, CL_DEVICE_NAME, name, sizeof name);
    device_string(d, CL_DRIVER_VERSION, driver, sizeof driver);
    device_string(d, CL_DEVICE_OPENCL_C_VERSION, clc, sizeof clc);
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    format_bytes(device_ulong(d, CL_DEVICE_GLOBAL_MEM_SIZE), global, sizeof global);
    format_bytes(device_ulong(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE), alloc, sizeof alloc);

    printf("%c %u:%u  %s\n", chosen ? '*' : ' ', p, i, name);
    printf("        %s, %u compute units, global memory %s, max alloc %s\n", type_name(type), units,
           global, alloc);
    printf("        driver %s, %s\n", driver, clc);
}

/* Prints every platform and device; returns the number of devices (0 when none). */
static unsigned list_devices(cl_device_id chosen)
{
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint np = 0;
    unsigned total = 0;

    if (clGetPlatformIDs(MAX_PLATFORMS, platforms, &np) != CL_SUCCESS || np == 0)
        return 0;
    if (np > MAX_PLATFORMS)
        np = MAX_PLATFORMS;
    for (cl_uint p = 0; p < np; p++) {
        char name[256], version[256];
        cl_device_id devices[MAX_DEVICES];
        cl_uint nd = 0;

        platform_string(platforms[p], CL_PLATFORM_NAME, name, sizeof name);
        platform_string(platforms[p], CL_PLATFORM_VERSION, version, sizeof version);
        printf("platform %u: %s (%s)\n", p, name, version);
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devices, &nd) !=
                CL_SUCCESS ||
            nd == 0) {
            printf("  (no devices)\n");
            continue;
        }
        if (nd > MAX_DEVICES)
            nd = MAX_DEVICES;
        for (cl_uint i = 0; i < nd; i++)
            print_device(devices[i], p, i, devices[i] == chosen);
        total += nd;
    }
    return total;
}

/* ---- Self-test --------------------------------------------------------------------------- */

static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static int is_nan_bits(uint32_t u)
{
    return (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu);
}

/* Special values first (NaNs of both signs, infinities, signed zeros, denormals, extremes),
 * then ordinary numbers around zero, with every eighth value an arbitrary bit pattern. */
static void fill_inputs(float *x, size_t n)
{
    static const uint32_t special[] = {
        0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff812345u, /* quiet/signalling NaNs, both signs */
        0x7f800000u, 0xff800000u,                           /* +Inf, -Inf */
        0x00000000u, 0x80000000u,                           /* +0.0, -0.0 */
        0x00000001u, 0x80000001u, 0x007fffffu, 0x807fffffu, /* denormals */
        0x00800000u, 0x80800000u, 0x7f7fffffu, 0xff7fffffu, /* FLT_MIN, FLT_MAX, both signs */
        0x3f800000u, 0xbf800000u,                           /* 1, -1 */
    };
    const size_t ns = sizeof special / sizeof special[0];
    uint32_t state = 0x2545f491u;

    for (size_t i = 0; i < n; i++) {
        uint32_t r = xorshift32(&state);
        if (i < ns)
            x[i] = from_bits(special[i]);
        else if (i % 8 == 7)
            x[i] = from_bits(r);
        else /* uniform in about [-8, 8) */
            x[i] = (float)(int32_t)r * (8.0f / 2147483648.0f);
    }
}

static int check(relucl_context *ctx, relucl_status s, const char *what)
{
    if (s == RELUCL_OK)
        return 0;
    fflush(stdout); /* keep the report and the error in order */
    fprintf(stderr, "relucl-info: %s: %s: %s\n", what, relucl_status_name(s),
            relucl_context_error(ctx));
    return 1;
}

/* Counts the values where the device differs from the host; prints the first few. */
static size_t compare(const float *x, const float *y, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float want = x[i] <= 0.0f ? 0.0f : x[i];
        uint32_t w = to_bits(want), g = to_bits(y[i]);
        if (w == g || (is_nan_bits(w) && is_nan_bits(g)))
            continue;
        if (bad++ < 5)
            fprintf(stderr,
                    "  [%zu] relu(%a = 0x%08" PRIx32 ") = %a (0x%08" PRIx32
                    "), host says %a (0x%08" PRIx32 ")\n",
                    i, (double)x[i], to_bits(x[i]), (double)y[i], g, (double)want, w);
    }
    return bad;
}

static int self_test(relucl_context *ctx)
{
    const size_t n = SELFTEST_COUNT;
    const relucl_activation relu = {RELUCL_RELU, 0.0f};
    relucl_tensor x = {0}, y = {0};
    float *hx = malloc(n * sizeof *hx), *hy = malloc(n * sizeof *hy);
    int failed = 1;

    if (!hx || !hy) {
        fprintf(stderr, "relucl-info: out of host memory\n");
        goto done;
    }
    fill_inputs(hx, n);
    if (check(ctx, relucl_tensor_create(ctx, 1, &n, &x), "relucl_tensor_create") ||
        check(ctx, relucl_tensor_create(ctx, 1, &n, &y), "relucl_tensor_create") ||
        check(ctx, relucl_tensor_write(ctx, &x, hx), "relucl_tensor_write") ||
        check(ctx, relucl_activation_forward(ctx, relu, &x, &y), "relucl_activation_forward") ||
        check(ctx, relucl_tensor_read(ctx, &y, hy), "relucl_tensor_read")) {
        printf("self-test: relu forward on %s: error (see above): FAIL\n",
               relucl_context_device_name(ctx));
        goto done;
    }

    size_t bad = compare(hx, hy, n);
    if (bad == 0)
        printf("self-test: relu forward on %s: %zu values match the host: PASS\n",
               relucl_context_device_name(ctx), n);
    else
        printf("self-test: relu forward on %s: %zu of %zu values differ from the host: FAIL\n",
               relucl_context_device_name(ctx), bad, n);
    failed = bad != 0;
done:
    relucl_tensor_release(&x);
    relucl_tensor_release(&y);
    free(hx);
    free(hy);
    return failed;
}

/* ---- Main -------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *spec = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            spec = argv[++i];
        } else if (!strncmp(argv[i], "--device=", 9)) {
            spec = argv[i] + 9;
        } else {
            fprintf(stderr, "relucl-info: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 1;
        }
    }

    char message[1024] = "";
    relucl_context *ctx = NULL;
    relucl_status s = relucl_context_create_ex(spec, &ctx, message, sizeof message);

    printf("relucl %s\n", relucl_version());
    if (list_devices(s == RELUCL_OK ? relucl_context_device(ctx) : NULL) == 0) {
        /* No platform: the library's message says which packages provide one. */
        fprintf(stderr, "relucl-info: %s\n", s == RELUCL_OK ? "no OpenCL device" : message);
        relucl_context_destroy(ctx);
        return 1;
    }
    if (s != RELUCL_OK) {
        fprintf(stderr, "relucl-info: no device to test: %s: %s\n", relucl_status_name(s), message);
        return 1;
    }
    const char *env = getenv("RELUCL_DEVICE");
    if (spec && *spec)
        printf("* = the device --device %s names\n\n", spec);
    else if (env && *env)
        printf("* = the device RELUCL_DEVICE=%s names\n\n", env);
    else
        printf("* = relucl's default choice (GPU, then accelerator, then CPU)\n\n");
    int failed = self_test(ctx);
    relucl_context_destroy(ctx);
    return failed;
}
