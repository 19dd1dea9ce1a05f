/* mantissa's fused format kernels: one pass over memory per call (see native.py).
 *
 * Each function is the element-wise twin of an eager path in mantissa.formats, written
 * with the same float32 operations in the same order, so results agree bit for bit:
 *   mt_quantize_f32 / mt_encode_f32 : fast.quantize_rne / fast.encode_rne (ExMy floats)
 *   mt_quantize_int                : IntFormat.quantize (nearest-even, saturate)
 *   mt_decode_*                    : Format.decode (a value table looked up)
 *   mt_quantize_mx / mt_decode_mx  : MXFormat.quantize, encode, decode (shared E8M0 scale per block)
 * Built with -O3 -ffp-contract=off (no fused multiply-adds, no fast-math), OpenMP threads.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MT_IEEE 0
#define MT_FN 1
#define MT_FNUZ 2
#define MT_NONE 3
#define MT_PAR_MIN 65536
/* the loop variant of a float format: special * 4 + saturate * 2 + scaling (see MT_LOOP) */
#define MT_POLICY(p) ((p)->special * 4 + ((p)->saturate != 0) * 2 + ((p)->needs_scaling != 0))

typedef struct {
  int32_t lo_field, shift, big_field, needs_scaling; /* fast._params */
  float top;                                         /* largest finite value */
  int32_t special, saturate;                         /* special values (ieee: the only inf), overflow */
  int32_t man_bits, bits, int_bias, emin, exp_bits;  /* for codes */
} mt_float;

static inline uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float float_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* rintf (nearest-even) without a libm call, so loops vectorize on plain SSE2: below 2^23 adding
   and subtracting 2^23 leaves the rounded magnitude; from 2^23 on every float is an integer. */
static inline float rint_ne(float x) {
  float a = fabsf(x);
  float r = (a + 0x1p23f) - 0x1p23f;
  return a < 0x1p23f ? copysignf(r, x) : x;
}

/* fast.quantize_rne and fast._finish for one element, branch-free so loops vectorize. special,
   saturate and scaling are compile-time constants at every call (see MT_SWITCH): each policy
   gets its own loop. Only the ieee formats have an infinity. */
static inline __attribute__((always_inline)) float q_one(float x, const mt_float *p, const int special,
                                                          const int saturate, const int scaling) {
  uint32_t xb = bits_of(x), ab = xb & 0x7FFFFFFFu;
  float a = float_of(ab);
  int32_t field = (int32_t)(ab >> 23);
  int big = field > p->big_field;
  if (scaling) { a = a * (big ? 0x1p-64f : 1.0f); field = field - (big ? 64 : 0); }  /* exact */
  int32_t f = field < p->lo_field ? p->lo_field : (field > p->big_field ? p->big_field : field);
  float c = float_of((uint32_t)(f + p->shift) << 23);
  float q = (a + c) - c;
  if (scaling) q = q * (big ? 0x1p64f : 1.0f);
  if (special == MT_NONE) {
    q = q > p->top ? p->top : q;
  } else if (saturate) {
    int keep_inf = (special == MT_IEEE) & (ab == 0x7F800000u);
    q = ((q > p->top) & !keep_inf) ? p->top : q;
  } else {
    q = q > p->top ? (special == MT_IEEE ? INFINITY : NAN) : q;
  }
  uint32_t qb = (bits_of(q) & 0x7FFFFFFFu) | (xb & 0x80000000u);  /* copysign */
  q = float_of(qb);
  if (special == MT_FNUZ) q = q + 0.0f;
  if (special == MT_NONE) {
    int nan = (qb & 0x7FFFFFFFu) > 0x7F800000u;
    q = nan ? float_of((xb & 0x80000000u) ^ 0x80000000u) : q;
  }
  return q;
}

/* fast.encode_rne for one quantized element; m, the shift, and the constants come in as scalars
   (loop invariants the vectorizer can broadcast) */
typedef struct {
  int32_t shift, normal_off, normal_min, exp_all, nan_mag, sign_shift;
  uint32_t c_bits;
  float c;
} mt_code;

static inline mt_code code_consts(const mt_float *p) {
  mt_code k;
  int32_t m = p->man_bits;
  k.shift = 23 - m;
  k.normal_off = (127 - p->int_bias) << m;
  k.normal_min = (p->emin + 127) << 23;
  k.exp_all = ((1 << p->exp_bits) - 1) << m;
  k.nan_mag = p->special == MT_IEEE ? (k.exp_all | (1 << (m > 0 ? m - 1 : 0)))
            : p->special == MT_FN ? (1 << (p->bits - 1)) - 1 : 0;
  k.sign_shift = p->bits - 1;
  k.c_bits = (uint32_t)(p->emin - m + 23 + 127) << 23;
  k.c = float_of(k.c_bits);
  return k;
}

static inline __attribute__((always_inline)) int32_t code_one(float q, const mt_code *restrict k,
                                                              const int special) {
  uint32_t qb = bits_of(q);
  int32_t mag = (int32_t)(qb & 0x7FFFFFFFu);
  int32_t normal = (mag >> k->shift) - k->normal_off;
  int32_t sub = (int32_t)(bits_of(float_of((uint32_t)mag) + k->c) - k->c_bits);
  int32_t code = mag >= k->normal_min ? normal : sub;
  int32_t sign = (int32_t)(qb >> 31);
  if (special != MT_NONE) {
    int nan = mag > 0x7F800000;
    code = nan ? k->nan_mag : (mag == 0x7F800000 ? k->exp_all : code);
    if (special == MT_FNUZ) sign = sign | nan;
  }
  return code | (sign << k->sign_shift);
}

/* One OpenMP loop per (special, saturate, scaling): BODY sees q_one(x[i]) as Q, the policy as
   SPECIAL and the code constants as K; each loop counts NaN inputs. P and K are copied into each
   thread's locals: through the shared pointers every uint8/int32 store might alias them, and the
   loop would not vectorize. */
#define MT_LOOP(SP, SAT, SC, BODY)                                                               \
  case SP * 4 + SAT * 2 + SC: {                                                                  \
    _Pragma("omp parallel num_threads(threads) reduction(+ : nans) if (n >= MT_PAR_MIN)")        \
    {                                                                                            \
      const mt_float P = *p;                                                                     \
      const mt_code K = k;                                                                       \
      const int SPECIAL = SP; (void)SPECIAL; (void)K;                                            \
      _Pragma("omp for schedule(static)")                                                        \
      for (int64_t i = 0; i < n; i++) {                                                          \
        nans += (bits_of(x[i]) & 0x7FFFFFFFu) > 0x7F800000u;                                     \
        const float Q = q_one(x[i], &P, SP, SAT, SC);                                            \
        BODY;                                                                                    \
      }                                                                                          \
    }                                                                                            \
  } break;
#define MT_SP(SP, BODY) MT_LOOP(SP, 0, 0, BODY) MT_LOOP(SP, 0, 1, BODY) MT_LOOP(SP, 1, 0, BODY) \
  MT_LOOP(SP, 1, 1, BODY)
#define MT_SWITCH(BODY)                                                                          \
  int64_t nans = 0;                                                                              \
  const mt_code k = code_consts(p);                                                              \
  switch (MT_POLICY(p)) {                                                                      \
    MT_SP(MT_IEEE, BODY) MT_SP(MT_FN, BODY) MT_SP(MT_FNUZ, BODY) MT_SP(MT_NONE, BODY)             \
    default: return -1;                                                                          \
  }                                                                                              \
  return nans;

/* The three float kernels return the number of NaN inputs (a format without NaN may have to
   raise), or -1 for a policy they do not know. */
int64_t mt_quantize_f32(const float *restrict x, float *restrict out, int64_t n, const mt_float *restrict p, int threads) {
  MT_SWITCH(out[i] = Q)
}

int64_t mt_encode_f32_u8(const float *restrict x, uint8_t *restrict out, int64_t n, const mt_float *restrict p, int threads) {
  MT_SWITCH(out[i] = (uint8_t)code_one(Q, &K, SPECIAL))
}

int64_t mt_encode_f32_i32(const float *restrict x, int32_t *restrict out, int64_t n, const mt_float *restrict p, int threads) {
  MT_SWITCH(out[i] = code_one(Q, &K, SPECIAL))
}

/* MX elements: a float element format p of any policy, one element */
static float q_any(float x, const mt_float *p) {
  switch (MT_POLICY(p)) {
#define MT_ANY(SP) case SP * 4: return q_one(x, p, SP, 0, 0); case SP * 4 + 1: return q_one(x, p, SP, 0, 1); \
    case SP * 4 + 2: return q_one(x, p, SP, 1, 0); case SP * 4 + 3: return q_one(x, p, SP, 1, 1);
    MT_ANY(MT_IEEE) MT_ANY(MT_FN) MT_ANY(MT_FNUZ) MT_ANY(MT_NONE)
#undef MT_ANY
  }
  return NAN;
}

/* IntFormat.quantize on float32: nearest-even, saturate.
   Returns the number of NaN inputs (the caller raises). */
int64_t mt_quantize_int(const float *x, float *out, int64_t n, float qmin, float qmax, int threads) {
  int64_t nans = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : nans) if (n >= MT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float r = rint_ne(x[i]);
    nans += isnan(r);
    out[i] = r < qmin ? qmin : (r > qmax ? qmax : r);
  }
  return nans;
}

/* two's-complement codes of IntFormat.quantize; returns the number of NaN inputs */
int64_t mt_encode_int(const float *x, uint8_t *out8, int32_t *out32, int64_t n, float qmin, float qmax,
                      int32_t mask, int threads) {
  int64_t nans = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : nans) if (n >= MT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float r = rint_ne(x[i]);
    nans += isnan(r);
    r = r < qmin ? qmin : (r > qmax ? qmax : r);
    int32_t c = (isnan(r) ? 0 : (int32_t)r) & mask;
    if (out8) out8[i] = (uint8_t)c; else out32[i] = c;
  }
  return nans;
}

/* Format.decode: out[i] = table[code[i]]; returns the number of codes outside the table */
#define MT_DECODE(NAME, CT)                                                                      \
  int64_t NAME(const CT *codes, const float *table, int64_t size, float *out, int64_t n,           \
               int threads) {                                                                    \
    int64_t bad = 0;                                                                             \
    _Pragma("omp parallel for num_threads(threads) schedule(static) reduction(+ : bad) if (n >= MT_PAR_MIN)") \
    for (int64_t i = 0; i < n; i++) {                                                            \
      int64_t c = (int64_t)codes[i];                                                             \
      int ok = c >= 0 && c < size;                                                               \
      bad += !ok;                                                                                \
      out[i] = ok ? table[c] : 0.0f;                                                             \
    }                                                                                            \
    return bad;                                                                                  \
  }
MT_DECODE(mt_decode_u8, uint8_t)
MT_DECODE(mt_decode_i16, int16_t)
MT_DECODE(mt_decode_i32, int32_t)
MT_DECODE(mt_decode_i64, int64_t)

/* MXFormat.quantize / encode on float32 rows of whole blocks: per block the E8M0 exponent
   e = clamp(floor(log2 amax) - emax_elem - log2(elem_scale), -127, 127) (-127 when amax is 0),
   elements x * 2^-e / elem_scale rounded by the saturating element format (a float format p,
   or integers in [qmin, qmax] when p is NULL). With codes NULL, out receives the values scaled
   back in double (one rounding to float32, as the eager path's float64 product); otherwise codes
   receives the element codes (two's complement & int_mask for integers) and out is unused.
   exps receives e per block. Returns the number of blocks holding a NaN or an infinity; those
   are left unwritten and the caller takes the eager path, which defines their result. */
int64_t mt_quantize_mx(const float *x, float *out, uint8_t *codes, int32_t *exps, int64_t nblocks,
                       int64_t block, const mt_float *p, float qmin, float qmax, int32_t int_mask,
                       int32_t emax_elem, int32_t log2_scale, int threads) {
  int64_t bad = 0;
  mt_code k;
  if (p) k = code_consts(p);
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : bad) if (nblocks * block >= MT_PAR_MIN)
  for (int64_t b = 0; b < nblocks; b++) {
    const float *xb = x + b * block;
    float amax = 0.0f;
    int finite = 1;
    for (int64_t j = 0; j < block; j++) {
      float a = fabsf(xb[j]);
      finite &= isfinite(a) != 0;
      amax = a > amax ? a : amax;
    }
    if (!finite) { bad++; continue; }
    int32_t e = -127;
    if (amax > 0.0f) {
      int ex;
      frexp((double)amax, &ex);
      e = ex - 1 - emax_elem - log2_scale;
      e = e < -127 ? -127 : (e > 127 ? 127 : e);
    }
    exps[b] = e;
    double down = ldexp(1.0, -e - log2_scale), up = ldexp(1.0, e + log2_scale);
    for (int64_t j = 0; j < block; j++) {
      float s = (float)((double)xb[j] * down);
      float v;
      if (p) {
        v = q_any(s, p);
      } else {
        float r = rint_ne(s);
        v = r < qmin ? qmin : (r > qmax ? qmax : r);
      }
      if (codes)
        codes[b * block + j] = (uint8_t)(p ? code_one(v, &k, p->special) : ((int32_t)v & int_mask));
      else
        out[b * block + j] = (float)((double)v * up);
    }
  }
  return bad;
}

/* MXFormat.decode: out = table[code] * 2^(scale - 127 + log2_scale) per block, in double then one
   rounding to float32 (as the eager path's float64 product). Returns the number of codes outside
   the table. */
int64_t mt_decode_mx(const uint8_t *codes, const uint8_t *scales, const float *table, int64_t size,
                     float *out, int64_t nblocks, int64_t block, int32_t log2_scale, int threads) {
  int64_t bad = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : bad) if (nblocks * block >= MT_PAR_MIN)
  for (int64_t b = 0; b < nblocks; b++) {
    double up = ldexp(1.0, (int)scales[b] - 127 + log2_scale);
    for (int64_t j = 0; j < block; j++) {
      int64_t c = codes[b * block + j];
      int ok = c < size;
      bad += !ok;
      out[b * block + j] = ok ? (float)((double)table[c] * up) : 0.0f;
    }
  }
  return bad;
}
