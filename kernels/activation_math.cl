/* The activation formulas, shared by every program that applies an activation (activation.cl,
 * dense.cl): the host builds this file in front of them, so each formula exists once and
 * every kernel gives the same bits. */
#pragma OPENCL FP_CONTRACT OFF

/* Each formula is written once for a type T (float or float4). Comparisons are written so
 * that NaN takes the branch that keeps it: NaN <= 0 is false. */
#define RELU_F(T, x, a) ((x) <= (T)0.0f ? (T)0.0f : (x))
#define LEAKY_F(T, x, a) ((x) > (T)0.0f ? (x) : (T)(a) * (x))
#define ELU_F(T, x, a) ((x) > (T)0.0f ? (x) : (T)(a) * expm1(x))
#define IDENTITY_F(T, x, a) (x)
#define CLIPPED_F(T, x, a) ((x) <= (T)0.0f ? (T)0.0f : ((x) >= (T)(a) ? (T)(a) : (x)))

/* Gradients: s is x (or, where noted, y, which gives the same answer), g is dy. */
#define RELU_G(T, s, g, a) ((s) <= (T)0.0f ? (T)0.0f : (g))
#define LEAKY_G(T, s, g, a) ((s) > (T)0.0f ? (g) : (T)(a) * (g))
/* a * exp(x) first: it is at most a, so a huge dy does not overflow early. */
#define ELU_GX(T, s, g, a) ((s) <= (T)0.0f ? (g) * ((T)(a) * exp(s)) : (g))
#define ELU_GY(T, s, g, a) ((s) > (T)0.0f ? (g) : (g) * ((s) + (T)(a)))
#define IDENTITY_G(T, s, g, a) ((void)(s), (g))
#define CLIPPED_G(T, s, g, a) (((s) <= (T)0.0f || (s) >= (T)(a)) ? (T)0.0f : (g))
