// See gemm_int8.h.
#include "gemm_int8.h"

#include <cpuid.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <limits>

namespace eq::intk::detail {

namespace {
std::atomic<int64_t> g_min_parallel_work{int64_t{1} << 19};
}  // namespace

int64_t min_parallel_work() { return g_min_parallel_work.load(std::memory_order_relaxed); }
void set_min_parallel_work(int64_t macs) { g_min_parallel_work.store(macs, std::memory_order_relaxed); }

int effective_threads(int threads, int64_t work) {
  const int nt = threads > 0 ? threads : omp_get_max_threads();
  const int64_t min_work = std::max<int64_t>(min_parallel_work(), 1);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(nt, work / min_work)));
}

Requant make_requant(const OutputRequant& o, int channels) {
  Requant r;
  r.output_offset = o.output_offset;
  r.act_min = o.act_min;
  r.act_max = o.act_max;
  r.vec_clamp = o.act_min >= -128 && o.act_max <= 127 && o.act_min <= o.act_max;
  r.single_rounding = o.single_rounding;
  r.rows.resize(static_cast<size_t>(std::max(channels, 0)));
  for (int c = 0; c < channels; ++c) {
    const QuantizedMultiplier& m = o.at(c);
    RowQ& q = r.rows[static_cast<size_t>(c)];
    q.multiplier = m.multiplier;
    q.shift = m.shift;
    q.left = m.shift > 0 ? m.shift : 0;
    q.right = m.shift > 0 ? 0 : -m.shift;
    // Outside this domain the scalar helpers decide (they assert on shifts the reference
    // rejects). Single rounding (FC) needs shift in [-31, 30]; double rounding excludes the one
    // SRDHM overflow.
    q.vec = o.single_rounding ? m.shift >= -31 && m.shift <= 30
                              : m.multiplier != std::numeric_limits<int32_t>::min() && q.left <= 31 && q.right <= 31;
    if (q.vec) {
      q.mask = static_cast<int32_t>((int64_t{1} << q.right) - 1);
      q.half = q.mask >> 1;
    }
  }
  return r;
}

namespace {

// The micro kernel body, one per ISA and operand format: DOT(acc, a, b) adds to each int32 lane of
// acc the products of the lane's A word (broadcast) and B word: two int16 pairs, or (quads) four
// signed A bytes with four unsigned B bytes.
#define EQ_MICRO_KERNEL_BODY(DOT)                                                                 \
  const char* a8 = static_cast<const char*>(a);                                                   \
  __m256i acc[R][2];                                                                              \
  _Pragma("GCC unroll 6") for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] =                     \
      _mm256_setzero_si256();                                                                     \
  for (int k = 0; k < kw; ++k) {                                                                  \
    const int32_t* bk = b + koff[k];                                                              \
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bk));                  \
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bk + 8));              \
    _Pragma("GCC unroll 6") for (int r = 0; r < R; ++r) {                                         \
      const __m256i av = _mm256_set1_epi32(load_i32(a8 + r * lda + 4 * k));                      \
      acc[r][0] = DOT(acc[r][0], av, b0);                                                         \
      acc[r][1] = DOT(acc[r][1], av, b1);                                                         \
    }                                                                                             \
  }                                                                                               \
  _Pragma("GCC unroll 6") for (int r = 0; r < R; ++r) {                                           \
    _mm256_store_si256(reinterpret_cast<__m256i*>(c + r * kNR), acc[r][0]);                       \
    _mm256_store_si256(reinterpret_cast<__m256i*>(c + r * kNR + 8), acc[r][1]);                   \
  }

#define EQ_KERNEL_ARGS \
  const void *a, int64_t lda, const int32_t *b, const int64_t *koff, int kw, int32_t *c

// Pairs, AVX2: vpmaddwd (exact int16 pair products summed to int32) + vpaddd.
#define EQ_DOT_AVX2(acc, a, b) _mm256_add_epi32(acc, _mm256_madd_epi16(a, b))
// Pairs, VNNI: vpdpwssd is the same arithmetic fused (the non-saturating form; vpdpwssds would
// saturate).
#define EQ_DOT_AVXVNNI(acc, a, b) _mm256_dpwssd_avx_epi32(acc, a, b)
#define EQ_DOT_AVX512VNNI(acc, a, b) _mm256_dpwssd_epi32(acc, a, b)
// Quads, VNNI: vpdpbusd, unsigned B bytes times signed A bytes, four products (each within int16)
// added to the int32 lane with wraparound (the non-saturating form; vpdpbusds would saturate).
#define EQ_DOTQ_AVXVNNI(acc, a, b) _mm256_dpbusd_avx_epi32(acc, b, a)
#define EQ_DOTQ_AVX512VNNI(acc, a, b) _mm256_dpbusd_epi32(acc, b, a)

template <int R>
void kernel_avx2(EQ_KERNEL_ARGS) {
  EQ_MICRO_KERNEL_BODY(EQ_DOT_AVX2)
}
template <int R>
__attribute__((target("avx2,avxvnni"))) void kernel_avxvnni(EQ_KERNEL_ARGS) {
  EQ_MICRO_KERNEL_BODY(EQ_DOT_AVXVNNI)
}
template <int R>
__attribute__((target("avx2,avx512vl,avx512vnni"))) void kernel_avx512vnni(EQ_KERNEL_ARGS) {
  EQ_MICRO_KERNEL_BODY(EQ_DOT_AVX512VNNI)
}
template <int R>
__attribute__((target("avx2,avxvnni"))) void kernelq_avxvnni(EQ_KERNEL_ARGS) {
  EQ_MICRO_KERNEL_BODY(EQ_DOTQ_AVXVNNI)
}
template <int R>
__attribute__((target("avx2,avx512vl,avx512vnni"))) void kernelq_avx512vnni(EQ_KERNEL_ARGS) {
  EQ_MICRO_KERNEL_BODY(EQ_DOTQ_AVX512VNNI)
}

using KernelFn = void (*)(EQ_KERNEL_ARGS);

#define EQ_KERNEL_TABLE(NAME)                                                                     \
  constexpr KernelFn NAME##_table[kMR + 1] = {nullptr,    NAME<1>, NAME<2>, NAME<3>,              \
                                              NAME<4>,    NAME<5>, NAME<6>};
EQ_KERNEL_TABLE(kernel_avx2)
EQ_KERNEL_TABLE(kernel_avxvnni)
EQ_KERNEL_TABLE(kernel_avx512vnni)
EQ_KERNEL_TABLE(kernelq_avxvnni)
EQ_KERNEL_TABLE(kernelq_avx512vnni)

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

// CPUID (not __builtin_cpu_supports, which clang 14 does not know "avxvnni" for), with the OS's
// register-state support from XCR0: YMM for AVX-VNNI, YMM + opmask + ZMM for the EVEX encodings.
struct CpuVnni {
  bool avx_vnni = false, avx512_vnni = false;
};

CpuVnni detect_vnni() {
  CpuVnni r;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return r;  // OSXSAVE
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm = (xcr0_lo & 0x6) == 0x6, zmm = (xcr0_lo & 0xE6) == 0xE6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return r;
  const unsigned max_subleaf = a;
  r.avx512_vnni = zmm && (b & (1u << 16)) && (b & (1u << 31)) && (c & (1u << 11));  // F, VL, VNNI
  if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) r.avx_vnni = ymm && (a & (1u << 4));
  return r;
}

bool cpu_has(GemmIsa isa) {
  static const CpuVnni vnni = detect_vnni();
  switch (isa) {
    case GemmIsa::avx2: return true;
    case GemmIsa::avx_vnni: return vnni.avx_vnni;
    case GemmIsa::avx512_vnni: return vnni.avx512_vnni;
  }
  return false;
}

GemmIsa best_isa() {
  if (cpu_has(GemmIsa::avx_vnni)) return GemmIsa::avx_vnni;
  if (cpu_has(GemmIsa::avx512_vnni)) return GemmIsa::avx512_vnni;
  return GemmIsa::avx2;
}

std::atomic<int> g_isa{-1};

const KernelFn* kernel_table(Operands ops) {
  const bool quads = ops == Operands::quads;
  switch (gemm_isa()) {
    case GemmIsa::avx_vnni: return quads ? kernelq_avxvnni_table : kernel_avxvnni_table;
    case GemmIsa::avx512_vnni: return quads ? kernelq_avx512vnni_table : kernel_avx512vnni_table;
    default: return quads ? nullptr : kernel_avx2_table;
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

bool quads_available() { return gemm_isa() != GemmIsa::avx2; }

void micro_kernel(Operands ops, int rows, const void* a, int64_t lda, const int32_t* b,
                  const int64_t* koff, int kw, int32_t* c) {
  const KernelFn* table = kernel_table(ops);
  assert(table);
  table[std::clamp(rows, 1, kMR)](a, lda, b, koff, kw, c);
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

void flip_sign(const int8_t* x, int n, uint8_t* dst) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  int i = 0;
  for (; i + 32 <= n; i += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), flip));
  for (; i < n; ++i) dst[i] = static_cast<uint8_t>(x[i] ^ static_cast<int8_t>(-128));
}

void interleave4_rows(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                      int64_t n, int32_t* dst) {
  for (int64_t j = 0; j < n; j += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + j));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + j));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r2 + j));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r3 + j));
    const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);  // columns 0-7 | 8-15
    const __m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
    __m128i* o = reinterpret_cast<__m128i*>(dst + j);
    _mm_storeu_si128(o, _mm_unpacklo_epi16(ab_lo, cd_lo));      // columns 0-3
    _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab_lo, cd_lo));  // 4-7
    _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab_hi, cd_hi));  // 8-11
    _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab_hi, cd_hi));  // 12-15
  }
}

void row_sums(const int8_t* src, int64_t rows, int k, int32_t* sums) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * k;
    __m256i acc = _mm256_setzero_si256();
    int i = 0;
    for (; i + 16 <= k; i += 16)
      acc = _mm256_add_epi32(
          acc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))),
                                 ones));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
    int32_t total = _mm_cvtsi128_si32(h);
    for (; i < k; ++i) total += s[i];
    sums[r] = total;
  }
}

}  // namespace eq::intk::detail
