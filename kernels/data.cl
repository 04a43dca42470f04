/* Moving training data around on the device. */

/* dst row r = src row index[first + r]; the labels move alongside when with_labels. A row
 * number that is not a whole number in [0, src_rows) gives a row of NaN, which the loss turns
 * into a visible NaN rather than silently training on the wrong sample. */
kernel void gather_rows(global const float *src, ulong so, ulong src_rows, ulong cols,
                        global const float *index, ulong io, global float *dst, ulong dso,
                        ulong rows, int with_labels, global const float *src_labels, ulong lso,
                        global float *dst_labels, ulong ldo) {
    size_t c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows)
        return;
    float f = index[io + r];
    int valid = f >= 0.0f && f < (float)src_rows && f == floor(f);
    size_t from = valid ? (size_t)f : 0;
    dst[dso + r * cols + c] = valid ? src[so + from * cols + c] : NAN;
    if (with_labels && c == 0)
        dst_labels[ldo + r] = valid ? src_labels[lso + from] : NAN;
}
