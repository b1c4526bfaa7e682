// Building blocks of the fast integer conv / fully connected kernels (AVX2; AVX-VNNI or
// AVX512-VNNI micro kernels where the CPU has them): an exact int16 x int16 -> int32 GEMM on
// _mm256_madd_epi16 (or vpdpwssd), a depthwise row kernel, a vectorised bit-exact TFLite
// requantization epilogue, and the threading policy. Internal to src/runtime/kernels/int.
//
// GEMM shape: C[M][N] = A[M][K] * B[K][N], both operands as 32-bit words that hold a group of
// consecutive k ("Operands"):
//   pairs: two int16 per word. A: the weights widened from int8; B: the activations plus
//     input_offset, 0 at padding taps. vpmaddwd (AVX2) or vpdpwssd (VNNI) per lane: exact
//     (|a| <= 128, |b| <= 2^15 - 1, two products < 2^31), unlike vpmaddubsw, which saturates.
//   quads (VNNI only): four bytes per word. A: the int8 weights as they are; B: the activations
//     plus 128 as uint8, padding taps 128 - input_offset; vpdpbusd (u8 x s8, each product within
//     int16, non-saturating). sum w*(x + 128) + (input_offset - 128) * sum w (the caller adds it to
//     the bias) is sum w*(x + input_offset) over the in-bounds taps: padding taps contribute
//     w*(128 - off) + w*(off - 128) = 0. Needs 128 - input_offset in [0, 255].
//   A: row-major, row stride lda bytes, kw words per row (K zero-padded to a whole word).
//   B: word row k starts koff[k] words from the panel's origin and holds one word per column.
//      Columns are consumed kNR at a time (a "panel"); columns past N in the last panel may hold
//      anything, their outputs are not stored. koff is k * ldb for a packed matrix, or per-tap
//      offsets into a prepared input plane (direct conv).
// Every form is exact integer arithmetic modulo 2^32 like the reference's int32 sums, so the result
// is independent of the format, the blocking and the thread count.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "edgequant/int_kernels.h"
#include "runtime/threading.h"

namespace eq::intk::detail {

constexpr int kMR = 6;   // rows (output channels) per micro tile
constexpr int kNR = 16;  // columns (pixels, batch rows) per micro tile

// |input + input_offset| must fit int16 for the int16 operands (and a pair of products int32).
inline bool offset_fits_int16(int32_t input_offset) {
  return input_offset >= -32767 + 128 && input_offset <= 32767 - 127;
}

// The quads format pads with 128 - input_offset, which must be a byte.
inline bool quads_offset_ok(int32_t input_offset) {
  return input_offset >= -127 && input_offset <= 128;
}

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// --------------------------------------------------------------------------- threads ---------

// Threads for a call: the caller's count (<= 0: OpenMP's current setting), but no more than one per
// min_parallel_work() multiply-accumulates, so that small layers do not pay for a parallel region
// (a few microseconds, far more on a loaded machine) they cannot amortise.
int64_t min_parallel_work();
void set_min_parallel_work(int64_t macs);  // tests: 0 splits every call
int effective_threads(int threads, int64_t work);

// Runs body(begin, end) over [0, n) tasks on `threads` threads (eq::parallel_for; serially for one
// thread). Which thread runs which task never changes a result: every output is an exact integer
// sum computed by one task.
template <class F>
void run_tasks(int threads, long n, F&& body) {
  if (threads <= 1 || n <= 1) {
    body(0L, n);
    return;
  }
  ScopedThreads scoped(threads);
  parallel_for(n, 1, body);
}

// ------------------------------------------------------------------ requantization ----------

// One output channel's MultiplyByQuantizedMultiplier, split for the vector path.
struct RowQ {
  int32_t multiplier = 0;
  int shift = 0;
  int32_t left = 0, right = 0;   // shift counts
  int32_t mask = 0, half = 0;    // RoundingDivideByPOT: (1 << right) - 1 and mask >> 1
  bool vec = false;              // false: use the scalar helper (domain edges, see make_requant)
};

struct Requant {
  std::vector<RowQ> rows;  // one per output channel
  int32_t output_offset = 0, act_min = -128, act_max = 127;
  bool vec_clamp = true;  // [act_min, act_max] within int8: packs saturation is then exact
  bool single_rounding = false;  // FullyConnected: TFLite's FC rounds once (mbqm8_single)
};

Requant make_requant(const OutputRequant& o, int channels);

// The reference's epilogue, scalar: MBQM, + output_offset, clamp, cast.
inline int8_t finish_scalar(const Requant& r, const RowQ& q, int32_t acc) {
  acc = r.single_rounding ? MultiplyByQuantizedMultiplierSingleRounding(acc, q.multiplier, q.shift)
                          : MultiplyByQuantizedMultiplier(acc, q.multiplier, q.shift);
  acc += r.output_offset;
  acc = std::clamp(acc, r.act_min, r.act_max);
  return static_cast<int8_t>(acc);
}

// MultiplyByQuantizedMultiplier on 8 lanes with one multiplier, bit-exact:
//   x << left (wrapping); SRDHM(x, m) = floor((int64(x) * m + 2^30) / 2^31), which equals
//   gemmlowp's "nudge then truncate toward zero" for both signs (nudge 1 - 2^30 for negative
//   products: trunc((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31)); the one overflow,
//   m == x == INT32_MIN, is excluded by RowQ::vec. Then RoundingDivideByPOT as gemmlowp writes it.
inline __m256i mbqm8(__m256i x, const RowQ& q) {
  if (q.left != 0) x = _mm256_sll_epi32(x, _mm_cvtsi32_si128(q.left));
  const __m256i m = _mm256_set1_epi32(q.multiplier);
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  __m256i even = _mm256_mul_epi32(x, m);
  __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), m);
  even = _mm256_srli_epi64(_mm256_add_epi64(even, nudge), 31);  // bits 31..62 -> low half
  odd = _mm256_slli_epi64(_mm256_add_epi64(odd, nudge), 1);     // bits 31..62 -> high half
  const __m256i h = _mm256_blend_epi32(even, odd, 0xAA);
  const __m256i zero = _mm256_setzero_si256();
  const __m256i rem = _mm256_and_si256(h, _mm256_set1_epi32(q.mask));
  // threshold = half + (h < 0); cmpgt yields -1 for true.
  const __m256i thr = _mm256_sub_epi32(_mm256_set1_epi32(q.half), _mm256_cmpgt_epi32(zero, h));
  const __m256i sh = _mm256_sra_epi32(h, _mm_cvtsi32_si128(q.right));
  return _mm256_sub_epi32(sh, _mm256_cmpgt_epi32(rem, thr));
}

// MultiplyByQuantizedMultiplierSingleRounding on 8 lanes, bit-exact: the int64 products
// x * m (|.| < 2^62) plus 2^(ts-1), shifted right arithmetically by ts = 31 - shift (1..62). AVX2
// has no 64-bit arithmetic shift: flip the sign bit (+2^63), shift logically, subtract 2^(63-ts).
// The low 32 bits of each lane are the result (the scalar helper's int32 cast).
inline __m256i mbqm8_single(__m256i x, const RowQ& q) {
  const int ts = 31 - q.shift;
  const __m256i m = _mm256_set1_epi32(q.multiplier);
  const __m256i add = _mm256_set1_epi64x(static_cast<int64_t>((uint64_t{1} << 63) + (uint64_t{1} << (ts - 1))));
  const __m256i sub = _mm256_set1_epi64x(int64_t{1} << (63 - ts));
  const __m128i count = _mm_cvtsi32_si128(ts);
  auto shift = [&](__m256i p) { return _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(p, add), count), sub); };
  const __m256i even = shift(_mm256_mul_epi32(x, m));
  const __m256i odd = shift(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m));
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

inline __m256i finish8(const Requant& r, const RowQ& q, __m256i acc) {
  const __m256i scaled = r.single_rounding ? mbqm8_single(acc, q) : mbqm8(acc, q);
  __m256i v = _mm256_add_epi32(scaled, _mm256_set1_epi32(r.output_offset));
  v = _mm256_max_epi32(v, _mm256_set1_epi32(r.act_min));
  return _mm256_min_epi32(v, _mm256_set1_epi32(r.act_max));
}

// 16 int32 already in [-128, 127] -> 16 int8 in order.
inline __m128i pack16(__m256i a, __m256i b) {
  const __m256i s16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
  return _mm_packs_epi16(_mm256_castsi256_si128(s16), _mm256_extracti128_si256(s16, 1));
}

// 8 int32 already in [-128, 127] -> 8 int8 in the low half.
inline __m128i pack8(__m256i a) {
  const __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  return _mm_packs_epi16(s16, s16);
}

// Stores the first min(n, 16) bytes of v. The partial case stores straight from the register in
// 8/4/2/1-byte pieces (going through a stack copy costs a store-forwarding stall per piece).
inline void store_bytes(int8_t* dst, __m128i v, int n) {
  if (n >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
    return;
  }
  if (n & 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), v);
    v = _mm_srli_si128(v, 8);
    dst += 8;
  }
  if (n & 4) {
    const int32_t w = _mm_cvtsi128_si32(v);
    std::memcpy(dst, &w, 4);
    v = _mm_srli_si128(v, 4);
    dst += 4;
  }
  const int32_t rest = _mm_cvtsi128_si32(v);
  if (n & 2) {
    const int16_t h = static_cast<int16_t>(rest);
    std::memcpy(dst, &h, 2);
    dst += 2;
    if (n & 1) *dst = static_cast<int8_t>(rest >> 16);
  } else if (n & 1) {
    *dst = static_cast<int8_t>(rest);
  }
}

// Requantizes acc[0..n) (n <= 16; 16 words readable) + bias of channel q into dst[0..n).
inline void requant_row16(const Requant& r, const RowQ& q, int32_t bias, const int32_t* acc,
                          int n, int8_t* dst) {
  if (!q.vec || !r.vec_clamp) {
    for (int j = 0; j < n; ++j) dst[j] = finish_scalar(r, q, acc[j] + bias);
    return;
  }
  const __m256i b = _mm256_set1_epi32(bias);
  const __m256i v0 = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), b);
  const __m256i v1 =
      _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + 8)), b);
  store_bytes(dst, pack16(finish8(r, q, v0), finish8(r, q, v1)), n);
}

// --------------------------------------------------------------------------- GEMM ------------

enum class Operands { pairs, quads };

// Which instructions the micro kernel uses: AVX2 vpmaddwd + vpaddd everywhere; where the CPU has
// them, the fused VNNI vpdpwssd (same exact arithmetic), in its VEX (AVX-VNNI) or EVEX
// (AVX512-VNNI + VL, 256-bit) encoding. Chosen once from CPUID (best available); tests switch it to
// cover every path the machine can run.
enum class GemmIsa { avx2, avx_vnni, avx512_vnni };
GemmIsa gemm_isa();
bool set_gemm_isa(GemmIsa isa);  // false (and no change) when the CPU lacks it
const char* gemm_isa_name(GemmIsa isa);

// Whether the quads format can run (a VNNI instruction set is selected).
bool quads_available();

// rows (1..kMR) rows of A starting at a (stride lda bytes) times kNR columns of B starting at b
// (word row k at b + koff[k]) over kw words; writes c[rows][kNR] (row stride kNR).
void micro_kernel(Operands ops, int rows, const void* a, int64_t lda, const int32_t* b,
                  const int64_t* koff, int kw, int32_t* c);

// Depthwise conv row (same ISA choice): acc[j] = bias + sum over i < np of the madd of the pair
// words q[off[i] + j] with the weight pair word wp[i], for j < round_up(n, 16) (q readable that
// far past every off[i]).
void depthwise_row(const int32_t* q, const int64_t* off, const int32_t* wp, int np, int32_t bias,
                   int n, int32_t* acc);

// For rows [m_begin, m_end) of A and panels [0, npanels) of B, computes each micro tile and calls
// epi(m0, rows, panel, const int32_t* c) with c[rows][kNR]. Panel-major: one panel of B (kw * 64
// bytes) stays in L1 while the rows of A stream past it.
template <class Epi>
void gemm_tiles(Operands ops, const void* a, int64_t lda, int m_begin, int m_end, const int32_t* b,
                const int64_t* koff, int npanels, int kw, Epi&& epi) {
  alignas(32) int32_t c[kMR * kNR];
  const char* a8 = static_cast<const char*>(a);
  for (int q = 0; q < npanels; ++q) {
    const int32_t* bq = b + static_cast<int64_t>(q) * kNR;
    for (int m0 = m_begin; m0 < m_end; m0 += kMR) {
      const int rows = std::min(kMR, m_end - m0);
      micro_kernel(ops, rows, a8 + m0 * lda, lda, bq, koff, kw, c);
      epi(m0, rows, q, static_cast<const int32_t*>(c));
    }
  }
}

// ------------------------------------------------------------------------- packing -----------

// int8 rows [rows][k] (row stride k) -> int16 [rows][lda], columns k..lda zero.
void widen_rows(const int8_t* src, int64_t rows, int k, int64_t lda, int16_t* dst);

// dst[j] = (r0[j], r1[j]) as (low, high) int16 halves for j < round_up(n, 16) (r0, r1 readable
// that far).
void interleave_rows(const int16_t* r0, const int16_t* r1, int64_t n, int32_t* dst);

// x (int8, n values) + offset -> int16.
void widen_offset(const int8_t* x, int n, int32_t offset, int16_t* dst);

// x (int8, n values) + 128 -> uint8 (the sign bit flipped).
void flip_sign(const int8_t* x, int n, uint8_t* dst);

// dst[j] = (r0[j], r1[j], r2[j], r3[j]) as bytes 0..3 for j < round_up(n, 16) (rows readable that
// far).
void interleave4_rows(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                      int64_t n, int32_t* dst);

// sum of each int8 row [rows][k] (row stride k).
void row_sums(const int8_t* src, int64_t rows, int k, int32_t* sums);

}  // namespace eq::intk::detail
