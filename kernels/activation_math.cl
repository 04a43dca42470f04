/* The activation formulas, shared by every program that applies an activation (activation.cl,
 * dense.cl): the host builds this file in front of them, so each formula exists once and
 * every kernel gives the same bits. */
#pragma OPENCL FP_CONTRACT OFF

/* x = kf ln2 + r, |r| <= ln2 / 2 (a hair more where the fma rounds a half up), for expm1_neg
 * and exp_neg: kf = rint(x / ln2) by the 1.5 * 2^23 shifter (exact while |x / ln2| < 2^22,
 * here at most 151; PoCL's rint is some 25 instructions of bit fixing per vector), ln2 in two
 * parts so that r is exact. The shifted sum holds kf as an integer in its low bits, which
 * gives 2^k without a conversion (SHIFTED_K). Declares shifted, kf and r. */
#define LN2_REDUCE(T, xc, shifted, kf, r)                                                        \
    T shifted = fma((xc), (T)(1.44269504088896341f), (T)(12582912.0f));                          \
    T kf = shifted - (T)(12582912.0f);                                                           \
    T r = fma(-kf, (T)(0.693145751953125f), (xc));                                               \
    r = fma(-kf, (T)(1.42860682030941723e-6f), r)
#define SHIFTED_K(IT, shifted) (as_##IT(shifted) - 0x4B400000) /* the bits of 12582912.0f */

/* For x <= 0: x, or `limit` where x is below it. The bit patterns of +0.0 and the negative
 * floats, as unsigned integers, grow with the magnitude, so this is an integer min, which
 * leaves the floating-point multiply pipes (which bound ELU on CPUs) free. Other x (x > 0,
 * NaN) give a number the caller discards. */
#define CLAMP_NEG(T, IT, x, limit) as_##T(min(as_u##IT(x), as_u##IT((T)(limit))))

/* expm1(x) for x <= 0, within 1 ulp (ELU needs no more: for x > 0 it takes x), as plain
 * vector arithmetic: PoCL's expm1 ran ELU forward at 4 GB/s, a tenth of the device's copy.
 * x = k ln2 + r (LN2_REDUCE), expm1(r) = r + r^2 q(r), q of degree 4 with float coefficients
 * fitted for the least largest relative error over |r| <= ln2 / 2 (1.4e-8, a tenth of an ulp;
 * the Taylor series needs degree 8 for that, two more multiply-adds), and expm1(x) =
 * 2^k expm1(r) + (2^k - 1) in one fma, 2^k - 1 exact for k >= -24: 0.93 ulp at worst against
 * float64 over every 97th float of [-110, 0]. Below -18 the result rounds to -1 and x is held
 * there. Zeros give +0.0, and other x (x > 0, NaN) a number the caller discards: ELU takes x
 * itself for all of them. */
#define EXPM1_NEG_FN(T, IT)                                                                      \
    inline T expm1_neg_##T(T x) {                                                                \
        T xc = CLAMP_NEG(T, IT, x, -18.0f);                                                      \
        LN2_REDUCE(T, xc, shifted, kf, r);                                                       \
        T q = (T)(0x1.6b99ecp-10f);                                                              \
        q = fma(q, r, (T)(0x1.12253ep-7f));                                                      \
        q = fma(q, r, (T)(0x1.5556f4p-5f));                                                      \
        q = fma(q, r, (T)(0x1.5554b4p-3f));                                                      \
        q = fma(q, r, (T)(0x1.fffffep-2f));                                                      \
        T p = fma(q, r * r, r);                                                                  \
        T two_k = as_##T((SHIFTED_K(IT, shifted) + 127) << 23);                                  \
        return fma(two_k, p, two_k - (T)(1.0f));                                                 \
    }
EXPM1_NEG_FN(float, int)
EXPM1_NEG_FN(float4, int4)
EXPM1_NEG_FN(float8, int8)
EXPM1_NEG_FN(float16, int16)

/* exp(x) for x <= 0 the same way (ELU's gradient; PoCL's exp ran it at half the device's
 * copy): exp(r) by a polynomial of degree 6, fitted as q was (3.1e-9; the Taylor series needs
 * degree 7), times 2^k in two halves so that 2^k itself never leaves the normal range: the one
 * rounding is the last multiply, which is where a result below 2^-126 becomes subnormal; 0.88
 * ulp at worst. x is held at -104, below which exp rounds to 0; -0.0 gives 1. Other x (x > 0,
 * NaN) give a number the caller discards. */
#define EXP_NEG_FN(T, IT)                                                                        \
    inline T exp_neg_##T(T x) {                                                                  \
        T xc = CLAMP_NEG(T, IT, x, -104.0f);                                                     \
        LN2_REDUCE(T, xc, shifted, kf, r);                                                       \
        T p = (T)(0x1.6a5056p-10f);                                                              \
        p = fma(p, r, (T)(0x1.123974p-7f));                                                      \
        p = fma(p, r, (T)(0x1.5558acp-5f));                                                      \
        p = fma(p, r, (T)(0x1.555492p-3f));                                                      \
        p = fma(p, r, (T)(0x1.fffffcp-2f));                                                      \
        p = fma(p, r, (T)(1.0f));                                                                \
        p = fma(p, r, (T)(1.0f));                                                                \
        IT k = SHIFTED_K(IT, shifted), k1 = k >> 1;                                              \
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
/* ELU: for +-0, x itself is a * expm1(x) (a > 0), so expm1_neg never needs a zero's sign. */
#define ELU_F(T, x, a) ((x) < (T)0.0f ? (T)(a) * expm1_neg_##T(x) : (x))
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
