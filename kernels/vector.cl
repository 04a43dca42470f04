/* store4, store8, store16 (value, offset, p): vstore4, vstore8, vstore16 (p[W * offset] on,
 * p need only be float-aligned), so that kernels can write store##W.
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
