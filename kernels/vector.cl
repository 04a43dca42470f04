/* store4, store8, store16 (value, offset, p): vstore4, vstore8, vstore16 (p[W * offset] on,
 * p need only be float-aligned), so that kernels can write store##W; and store4_transposed,
 * below.
 *
 * PoCL writes a vstore16 in three pieces (4 + 4 + 8 floats, two of them through a shuffle),
 * which in ELU's forward pass took a tenth of the time. In the CPU forms (RELUCL_CPU_KERNELS,
 * set by the host with ctx->wide), a float16 type with float alignment gives one unaligned
 * 64-byte store instead; other devices' compilers keep vstore16. */
#define store4(v, offset, p) vstore4(v, offset, p)
#define store8(v, offset, p) vstore8(v, offset, p)
#if RELUCL_CPU_KERNELS
typedef float16 float16_float_aligned __attribute__((aligned(4)));
#define store16(v, offset, p) (*(global float16_float_aligned *)((p) + 16 * (size_t)(offset)) = (v))
#else
#define store16(v, offset, p) vstore16(v, offset, p)
#endif

/* Rows a, b, c, e of a 4 x 4 tile written transposed: d[0..3] = (a.x, b.x, c.x, e.x), the
 * next row ld floats on = (a.y, b.y, c.y, e.y), and so on (a transpose in registers, four
 * float4 stores: the CPU forms' tiled transposes). A macro, so d may be global or local. */
#define store4_transposed(a, b, c, e, d, ld)                                                      \
    do {                                                                                          \
        float4 a_ = (a), b_ = (b), c_ = (c), e_ = (e);                                            \
        vstore4((float4)(a_.x, b_.x, c_.x, e_.x), 0, (d));                                        \
        vstore4((float4)(a_.y, b_.y, c_.y, e_.y), 0, (d) + (ld));                                 \
        vstore4((float4)(a_.z, b_.z, c_.z, e_.z), 0, (d) + 2 * (ld));                             \
        vstore4((float4)(a_.w, b_.w, c_.w, e_.w), 0, (d) + 3 * (ld));                             \
    } while (0)
