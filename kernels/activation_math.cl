/* The activation formulas, shared by every program that applies an activation (activation.cl,
 * dense.cl): the host builds this file in front of them, so each formula exists once and
 * every kernel gives the same bits. */
#pragma OPENCL FP_CONTRACT OFF

/* x = kf ln2 + r, |r| <= ln2 / 2, for expm1_neg and exp_neg: kf = rint(x / ln2) by the
 * 1.5 * 2^23 shifter (exact while |x / ln2| < 2^22, here at most 151; PoCL's rint is some 25
 * instructions of bit fixing per vector), ln2 in two parts so that r is exact. Declares kf
 * and r. */
#define LN2_REDUCE(T, xc, kf, r)                                                                 \
    T kf = ((xc) * (T)(1.44269504088896341f) + (T)(12582912.0f)) - (T)(12582912.0f);            \
    T r = fma(-kf, (T)(0.693145751953125f), (xc));                                               \
    r = fma(-kf, (T)(1.42860682030941723e-6f), r)

/* expm1(x) for x <= 0, within 1 ulp (ELU needs no more: for x > 0 it takes x), as plain
 * vector arithmetic: PoCL's expm1 ran ELU forward at 4 GB/s, a tenth of the device's copy.
 * x = k ln2 + r (LN2_REDUCE), expm1(r) by its Taylor series to r^8 / 8! (the rest is below
 * 1e-9 relative), and expm1(x) = 2^k expm1(r) + (2^k - 1) in one fma, 2^k - 1 exact for
 * k >= -24. Below -18 the result rounds to -1 and x is held there; NaN passes through (the
 * comparisons are false for it) and -0.0 gives -0.0. */
#define EXPM1_NEG_FN(T, IT)                                                                      \
    inline T expm1_neg_##T(T x) {                                                                \
        T xc = x < (T)(-18.0f) ? (T)(-18.0f) : x;                                                \
        LN2_REDUCE(T, xc, kf, r);                                                                \
        T p = (T)(1.0f / 40320.0f);                                                              \
        p = fma(p, r, (T)(1.0f / 5040.0f));                                                      \
        p = fma(p, r, (T)(1.0f / 720.0f));                                                       \
        p = fma(p, r, (T)(1.0f / 120.0f));                                                       \
        p = fma(p, r, (T)(1.0f / 24.0f));                                                        \
        p = fma(p, r, (T)(1.0f / 6.0f));                                                         \
        p = fma(p, r, (T)(0.5f));                                                                \
        p = fma(p * r, r, r);                                                                    \
        T two_k = as_##T((convert_##IT(kf) + 127) << 23);                                        \
        T e = fma(two_k, p, two_k - (T)(1.0f));                                                  \
        return x == (T)(0.0f) ? x : e;                                                           \
    }
EXPM1_NEG_FN(float, int)
EXPM1_NEG_FN(float4, int4)
EXPM1_NEG_FN(float8, int8)
EXPM1_NEG_FN(float16, int16)

/* exp(x) for x <= 0 the same way (ELU's gradient; PoCL's exp ran it at half the device's
 * copy): exp(r) by its Taylor series to r^7 / 7! (the rest is below 1e-8 relative), times
 * 2^k in two halves so that 2^k itself never leaves the normal range: the one rounding is
 * the last multiply, which is where a result below 2^-126 becomes subnormal. x is held at
 * -104, below which exp rounds to 0; NaN passes through and -0.0 gives 1. */
#define EXP_NEG_FN(T, IT)                                                                        \
    inline T exp_neg_##T(T x) {                                                                  \
        T xc = x < (T)(-104.0f) ? (T)(-104.0f) : x;                                              \
        LN2_REDUCE(T, xc, kf, r);                                                                \
        T p = (T)(1.0f / 5040.0f);                                                               \
        p = fma(p, r, (T)(1.0f / 720.0f));                                                       \
        p = fma(p, r, (T)(1.0f / 120.0f));                                                       \
        p = fma(p, r, (T)(1.0f / 24.0f));                                                        \
        p = fma(p, r, (T)(1.0f / 6.0f));                                                         \
        p = fma(p, r, (T)(0.5f));                                                                \
        p = fma(p, r, (T)(1.0f));                                                                \
        p = fma(p, r, (T)(1.0f));                                                                \
        IT k = convert_##IT(kf), k1 = k >> 1;                                                    \
        T s1 = as_##T((k1 + 127) << 23), s2 = as_##T((k - k1 + 127) << 23);                      \
        return (p * s1) * s2;                                                                    \
    }
EXP_NEG_FN(float, int)
EXP_NEG_FN(float4, int4)
EXP_NEG_FN(float8, int8)
EXP_NEG_FN(float16, int16)

/* Each formula is written once for a type T (float or float4). Comparisons are written so
 * that NaN takes the branch that keeps it: NaN <= 0 is false. */
#define RELU_F(T, x, a) ((x) <= (T)0.0f ? (T)0.0f : (x))
#define LEAKY_F(T, x, a) ((x) > (T)0.0f ? (x) : (T)(a) * (x))
#define ELU_F(T, x, a) ((x) > (T)0.0f ? (x) : (T)(a) * expm1_neg_##T(x))
#define IDENTITY_F(T, x, a) (x)
#define CLIPPED_F(T, x, a) ((x) <= (T)0.0f ? (T)0.0f : ((x) >= (T)(a) ? (T)(a) : (x)))

/* act(v) for an activation kind (RELUCL_KIND_*, not PReLU) in type T: the formulas above
 * for kernels that take the kind as an argument (conv.cl, dense.cl, gemm.cl's epilogue). */
#define ACTIVATE_FN(T)                                                                           \
    T activate_##T(T v, int kind, float a) {                                                    \
        switch (kind) {                                                                         \
        case RELUCL_KIND_RELU: return RELU_F(T, v, a);                                          \
        case RELUCL_KIND_LEAKY: return LEAKY_F(T, v, a);                                        \
        case RELUCL_KIND_ELU: return ELU_F(T, v, a);                                            \
        case RELUCL_KIND_CLIPPED: return CLIPPED_F(T, v, a);                                    \
        default: return v;                                                                      \
        }                                                                                       \
    }
ACTIVATE_FN(float)
ACTIVATE_FN(float4)
ACTIVATE_FN(float8)
ACTIVATE_FN(float16)

/* Gradients: s is x (or, where noted, y, which gives the same answer), g is dy. */
#define RELU_G(T, s, g, a) ((s) <= (T)0.0f ? (T)0.0f : (g))
#define LEAKY_G(T, s, g, a) ((s) > (T)0.0f ? (g) : (T)(a) * (g))
/* a * exp(x) first: it is at most a, so a huge dy does not overflow early. */
#define ELU_GX(T, s, g, a) ((s) <= (T)0.0f ? (g) * ((T)(a) * exp_neg_##T(s)) : (g))
#define ELU_GY(T, s, g, a) ((s) > (T)0.0f ? (g) : (g) * ((s) + (T)(a)))
#define IDENTITY_G(T, s, g, a) ((void)(s), (g))
#define CLIPPED_G(T, s, g, a) (((s) <= (T)0.0f || (s) >= (T)(a)) ? (T)0.0f : (g))
