// See gemm_int8.h.
#include "gemm_int8.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>

namespace eq::intk::detail {

Requant make_requant(const OutputRequant& o, int channels) {
  Requant r;
  r.output_offset = o.output_offset;
  r.act_min = o.act_min;
  r.act_max = o.act_max;
  r.vec_clamp = o.act_min >= -128 && o.act_max <= 127 && o.act_min <= o.act_max;
  r.rows.resize(static_cast<size_t>(std::max(channels, 0)));
  for (int c = 0; c < channels; ++c) {
    const QuantizedMultiplier& m = o.at(c);
    RowQ& q = r.rows[static_cast<size_t>(c)];
    q.multiplier = m.multiplier;
    q.shift = m.shift;
    q.left = m.shift > 0 ? m.shift : 0;
    q.right = m.shift > 0 ? 0 : -m.shift;
    // Outside this domain the scalar helper decides (it asserts on shifts the reference rejects).
    q.vec = m.multiplier != std::numeric_limits<int32_t>::min() && q.left <= 31 && q.right <= 31;
    if (q.vec) {
      q.mask = static_cast<int32_t>((int64_t{1} << q.right) - 1);
      q.half = q.mask >> 1;
    }
  }
  return r;
}

namespace {

// The micro kernel body, one per ISA: DOT(acc, a, b) adds the pairwise products of a and b to acc.
#define EQ_MICRO_KERNEL_BODY(DOT)                                                                 \
  __m256i acc[R][2];                                                                              \
  _Pragma("GCC unroll 6") for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] =                     \
      _mm256_setzero_si256();                                                                     \
  for (int k = 0; k < kp; ++k) {                                                                  \
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + k * ldb));         \
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + k * ldb + 8));     \
    _Pragma("GCC unroll 6") for (int r = 0; r < R; ++r) {                                         \
      const __m256i av = _mm256_set1_epi32(load_i32(a + r * lda + 2 * k));                        \
      acc[r][0] = DOT(acc[r][0], av, b0);                                                         \
      acc[r][1] = DOT(acc[r][1], av, b1);                                                         \
    }                                                                                             \
  }                                                                                               \
  _Pragma("GCC unroll 6") for (int r = 0; r < R; ++r) {                                           \
    _mm256_store_si256(reinterpret_cast<__m256i*>(c + r * kNR), acc[r][0]);                       \
    _mm256_store_si256(reinterpret_cast<__m256i*>(c + r * kNR + 8), acc[r][1]);                   \
  }

// AVX2: vpmaddwd (exact int16 pair products summed to int32) + vpaddd.
#define EQ_DOT_AVX2(acc, a, b) _mm256_add_epi32(acc, _mm256_madd_epi16(a, b))
// VNNI: vpdpwssd is the same arithmetic fused (the non-saturating form; vpdpwssds would saturate).
#define EQ_DOT_AVXVNNI(acc, a, b) _mm256_dpwssd_avx_epi32(acc, a, b)
#define EQ_DOT_AVX512VNNI(acc, a, b) _mm256_dpwssd_epi32(acc, a, b)

template <int R>
void kernel_avx2(const int16_t* a, int64_t lda, const int32_t* b, int64_t ldb, int kp, int32_t* c) {
  EQ_MICRO_KERNEL_BODY(EQ_DOT_AVX2)
}

template <int R>
__attribute__((target("avx2,avxvnni"))) void kernel_avxvnni(const int16_t* a, int64_t lda,
                                                            const int32_t* b, int64_t ldb, int kp, int32_t* c) {
  EQ_MICRO_KERNEL_BODY(EQ_DOT_AVXVNNI)
}

template <int R>
__attribute__((target("avx2,avx512vl,avx512vnni"))) void kernel_avx512vnni(
    const int16_t* a, int64_t lda, const int32_t* b, int64_t ldb, int kp, int32_t* c) {
  EQ_MICRO_KERNEL_BODY(EQ_DOT_AVX512VNNI)
}

using KernelFn = void (*)(const int16_t*, int64_t, const int32_t*, int64_t, int, int32_t*);

#define EQ_KERNEL_TABLE(NAME)                                                                     \
  constexpr KernelFn NAME##_table[kMR + 1] = {nullptr,    NAME<1>, NAME<2>, NAME<3>,              \
                                              NAME<4>,    NAME<5>, NAME<6>};
EQ_KERNEL_TABLE(kernel_avx2)
EQ_KERNEL_TABLE(kernel_avxvnni)
EQ_KERNEL_TABLE(kernel_avx512vnni)

// Depthwise rows: acc[j] = bias + sum_i pairs(q + off[i])[j] . wp[i], 16 outputs at a time.
// NP > 0: the pair count fixed at compile time (unrolled); 0: runtime np.
#define EQ_DW_ROW_BODY(DOT)                                                                       \
  const int count = NP > 0 ? NP : np;                                                             \
  const __m256i vb = _mm256_set1_epi32(bias);                                                     \
  for (int j = 0; j < n; j += 16) {                                                               \
    __m256i a0 = vb, a1 = vb;                                                                     \
    _Pragma("GCC unroll 16") for (int i = 0; i < count; ++i) {                                    \
      const __m256i w = _mm256_set1_epi32(wp[i]);                                                 \
      const int32_t* s = q + off[i] + j;                                                          \
      a0 = DOT(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)), w);                   \
      a1 = DOT(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 8)), w);               \
    }                                                                                             \
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + j), a0);                                 \
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + j + 8), a1);                             \
  }

template <int NP>
void dw_avx2(const int32_t* q, const int64_t* off, const int32_t* wp, int np, int32_t bias, int n,
             int32_t* acc) {
  EQ_DW_ROW_BODY(EQ_DOT_AVX2)
}
template <int NP>
__attribute__((target("avx2,avxvnni"))) void dw_avxvnni(const int32_t* q, const int64_t* off,
                                                        const int32_t* wp, int np, int32_t bias,
                                                        int n, int32_t* acc) {
  EQ_DW_ROW_BODY(EQ_DOT_AVXVNNI)
}
template <int NP>
__attribute__((target("avx2,avx512vl,avx512vnni"))) void dw_avx512vnni(
    const int32_t* q, const int64_t* off, const int32_t* wp, int np, int32_t bias, int n,
    int32_t* acc) {
  EQ_DW_ROW_BODY(EQ_DOT_AVX512VNNI)
}

using DwFn = void (*)(const int32_t*, const int64_t*, const int32_t*, int, int32_t, int, int32_t*);

// Compile-time pair counts: 3x3 (3 rows x 2 pairs) and 5x5 (5 x 3).
#define EQ_DW_FNS(NAME) {NAME<0>, NAME<6>, NAME<15>}
constexpr DwFn dw_fns[3][3] = {EQ_DW_FNS(dw_avx2), EQ_DW_FNS(dw_avxvnni), EQ_DW_FNS(dw_avx512vnni)};

bool cpu_has(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::avx2: return true;
    case GemmIsa::avx_vnni: return __builtin_cpu_supports("avxvnni");
    case GemmIsa::avx512_vnni:
      return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
  }
  return false;
}

GemmIsa best_isa() {
  if (cpu_has(GemmIsa::avx_vnni)) return GemmIsa::avx_vnni;
  if (cpu_has(GemmIsa::avx512_vnni)) return GemmIsa::avx512_vnni;
  return GemmIsa::avx2;
}

std::atomic<int> g_isa{-1};

const KernelFn* kernel_table() {
  switch (gemm_isa()) {
    case GemmIsa::avx_vnni: return kernel_avxvnni_table;
    case GemmIsa::avx512_vnni: return kernel_avx512vnni_table;
    default: return kernel_avx2_table;
  }
}

}  // namespace

GemmIsa gemm_isa() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(best_isa());
    g_isa.store(v, std::memory_order_relaxed);
  }
  return static_cast<GemmIsa>(v);
}

bool set_gemm_isa(GemmIsa isa) {
  if (!cpu_has(isa)) return false;
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

const char* gemm_isa_name(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::avx2: return "avx2";
    case GemmIsa::avx_vnni: return "avx_vnni";
    case GemmIsa::avx512_vnni: return "avx512_vnni";
  }
  return "?";
}

void micro_kernel(int rows, const int16_t* a, int64_t lda, const int32_t* b, int64_t ldb, int kp,
                  int32_t* c) {
  kernel_table()[std::clamp(rows, 1, kMR)](a, lda, b, ldb, kp, c);
}

void depthwise_row(const int32_t* q, const int64_t* off, const int32_t* wp, int np, int32_t bias,
                   int n, int32_t* acc) {
  const int isa = static_cast<int>(gemm_isa());
  const int which = np == 6 ? 1 : np == 15 ? 2 : 0;
  dw_fns[isa][which](q, off, wp, np, bias, n, acc);
}

void widen_rows(const int8_t* src, int64_t rows, int k, int64_t lda, int16_t* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * k;
    int16_t* d = dst + r * lda;
    int i = 0;
    for (; i + 16 <= k; i += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i),
                          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
    for (; i < k; ++i) d[i] = s[i];
    for (int64_t j = k; j < lda; ++j) d[j] = 0;
  }
}

void interleave_rows(const int16_t* r0, const int16_t* r1, int64_t n, int32_t* dst) {
  for (int64_t j = 0; j < n; j += 16) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + j));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + j));
    const __m256i lo = _mm256_unpacklo_epi16(v0, v1);  // columns 0-3 | 8-11
    const __m256i hi = _mm256_unpackhi_epi16(v0, v1);  // columns 4-7 | 12-15
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
  }
}

void widen_offset(const int8_t* x, int n, int32_t offset, int16_t* dst) {
  const __m256i off = _mm256_set1_epi16(static_cast<int16_t>(offset));
  int i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(dst + i),
        _mm256_add_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))), off));
  if (i + 8 <= n) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm_add_epi16(_mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + i))),
                                   _mm256_castsi256_si128(off)));
    i += 8;
  }
  for (; i < n; ++i) dst[i] = static_cast<int16_t>(x[i] + offset);
}

}  // namespace eq::intk::detail
