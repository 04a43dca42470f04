/* Batches on the device: rows gathered by index, so a shuffled epoch never leaves the device. */
#include "internal.h"

relucl_status relucl_gather_rows(relucl_context *ctx, const relucl_tensor *src,
                                 const relucl_tensor *index, size_t first,
                                 const relucl_tensor *dst, const relucl_tensor *src_labels,
                                 const relucl_tensor *dst_labels) {
    static const char fn[] = "relucl_gather_rows";
    size_t ns = 0, ni = 0, nd = 0, nsl = 0, ndl = 0;
    relucl_status status = relucl_check_context(ctx);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "src", src, &ns);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "index", index, &ni);
    if (status == RELUCL_OK)
        status = relucl_check_tensor(ctx, fn, "dst", dst, &nd);
    if (status != RELUCL_OK)
        return status;
    size_t src_rows = src->dims[0], rows = dst->dims[0];
    size_t cols = src_rows ? ns / src_rows : 0, dst_cols = rows ? nd / rows : cols;
    if (src->ndim != dst->ndim || cols != dst_cols)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "dst rows have %zu elements, src rows have %zu", dst_cols, cols);
    if (first > ni || rows > ni - first)
        return relucl_fail(ctx, RELUCL_ERROR_SHAPE, fn,
                           "index has %zu entries, rows [%zu, %zu) are asked for", ni, first,
                           first + rows);
    if ((src_labels == NULL) != (dst_labels == NULL))
        return relucl_fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                           "%s is NULL: give both labels tensors or neither",
                           src_labels ? "dst_labels" : "src_labels");
    if (src_labels) {
        if ((status = relucl_check_tensor(ctx, fn, "src_labels", src_labels, &nsl)) != RELUCL_OK ||
            (status = relucl_check_tensor(ctx, fn, "dst_labels", dst_labels, &ndl)) != RELUCL_OK ||
            (status = relucl_check_same_count(ctx, fn, "src_labels", nsl, "src rows", src_rows)) !=
                RELUCL_OK ||
            (status = relucl_check_same_count(ctx, fn, "dst_labels", ndl, "dst rows", rows)) !=
                RELUCL_OK)
            return status;
    }
    const relucl_tensor *inputs[4] = {src, index, src_labels, dst};
    const char *names[4] = {"src", "index", "src_labels", "dst"};
    for (int i = 0; i < 3 && status == RELUCL_OK; i++)
        status = relucl_check_overlap(ctx, fn, "dst", dst, names[i], inputs[i], 0);
    for (int i = 0; i < 4 && status == RELUCL_OK && dst_labels; i++)
        status = relucl_check_overlap(ctx, fn, "dst_labels", dst_labels, names[i], inputs[i], 0);
    if (status != RELUCL_OK || rows == 0 || cols == 0)
        return status;

    cl_kernel kernel;
    if ((status = relucl_kernel_get(ctx, fn, RELUCL_PROGRAM_DATA, "gather_rows", &kernel)) !=
        RELUCL_OK)
        return status;
    cl_mem sl = src_labels ? src_labels->buffer : NULL, dl = dst_labels ? dst_labels->buffer : NULL;
    cl_ulong so = src->offset, sr = src_rows, c = cols, io = index->offset + first,
             dso = dst->offset, r = rows, lso = src_labels ? src_labels->offset : 0,
             ldo = dst_labels ? dst_labels->offset : 0;
    cl_int with_labels = src_labels != NULL;
    relucl_arg args[] = {RELUCL_ARG(src->buffer),   RELUCL_ARG(so),  RELUCL_ARG(sr),
                         RELUCL_ARG(c),             RELUCL_ARG(index->buffer), RELUCL_ARG(io),
                         RELUCL_ARG(dst->buffer),   RELUCL_ARG(dso), RELUCL_ARG(r),
                         RELUCL_ARG(with_labels),   RELUCL_ARG(sl),  RELUCL_ARG(lso),
                         RELUCL_ARG(dl),            RELUCL_ARG(ldo)};
    size_t global[2] = {cols, rows}, local[2] = {cols >= 64 ? 64 : 1, 1};
    status = relucl_set_args(ctx, fn, kernel, args, 14);
    return status != RELUCL_OK ? status : relucl_launch_2d(ctx, fn, kernel, global, local);
}
