/* Batches on the device: rows gathered by index, so a shuffled epoch never leaves the device. */
#include "ops/ops.h"

relucl_status relucl_gather_rows(relucl_context *ctx, const relucl_tensor *src,
                                 const relucl_tensor *index, size_t first, const relucl_tensor *dst,
                                 const relucl_tensor *src_labels, const relucl_tensor *dst_labels) {
    static const char fn[] = "relucl_gather_rows";
    size_t ns = 0, ni = 0, nd = 0, nsl = 0, ndl = 0;
    RELUCL__TRY(relucl__check_context(ctx));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "src", src, &ns));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "index", index, &ni));
    RELUCL__TRY(relucl__check_tensor(ctx, fn, "dst", dst, &nd));
    size_t src_rows = src->dims[0], rows = dst->dims[0];
    if (src_rows > ((size_t)1 << 24))
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "src has %zu rows; row numbers are floats, exact only up to 2^24",
                            src_rows);
    size_t cols = src_rows ? ns / src_rows : 0, dst_cols = rows ? nd / rows : cols;
    if (src->ndim != dst->ndim || cols != dst_cols)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "dst rows have %zu elements, src rows have %zu", dst_cols, cols);
    if (first > ni || rows > ni - first)
        return relucl__fail(ctx, RELUCL_ERROR_SHAPE, fn,
                            "index has %zu entries, rows [%zu, %zu) are asked for", ni, first,
                            first + rows);
    if ((src_labels == NULL) != (dst_labels == NULL))
        return relucl__fail(ctx, RELUCL_ERROR_INVALID_ARGUMENT, fn,
                            "%s is NULL: give both labels tensors or neither",
                            src_labels ? "dst_labels" : "src_labels");
    if (src_labels) {
        RELUCL__TRY(relucl__check_tensor(ctx, fn, "src_labels", src_labels, &nsl));
        RELUCL__TRY(relucl__check_tensor(ctx, fn, "dst_labels", dst_labels, &ndl));
        RELUCL__TRY(relucl__check_same_count(ctx, fn, "src_labels", nsl, "src rows", src_rows));
        RELUCL__TRY(relucl__check_same_count(ctx, fn, "dst_labels", ndl, "dst rows", rows));
    }
    const relucl_tensor *inputs[4] = {src, index, src_labels, dst};
    const char *const names[4] = {"src", "index", "src_labels", "dst"};
    RELUCL__TRY(relucl__check_apart(ctx, fn, "dst", dst, 3, names, inputs));
    RELUCL__TRY(relucl__check_apart(ctx, fn, "dst_labels", dst_labels, 4, names, inputs));
    if (rows == 0 || cols == 0)
        return RELUCL_OK;
    relucl_tensor index_rows = *index;
    index_rows.offset += first;
    return RELUCL__LAUNCH(ctx, fn, RELUCL_PROGRAM_DATA, "gather_rows",
                          relucl__range_2d(cols, rows, cols >= 64 ? 64 : 1, 1), RELUCL__TENSOR(src),
                          RELUCL__ULONG(src_rows), RELUCL__ULONG(cols), RELUCL__TENSOR(&index_rows),
                          RELUCL__TENSOR(dst), RELUCL__ULONG(rows), RELUCL__INT(src_labels != NULL),
                          RELUCL__TENSOR_OR(src_labels, NULL), RELUCL__TENSOR_OR(dst_labels, NULL));
}
