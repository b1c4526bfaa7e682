// Fast int8 fully connected, bit-identical to FullyConnectedReference (TFLite
// reference_integer_ops::FullyConnected arithmetic), and the Conv2DParams geometry helpers.
//
// Small batches (< gemm_min_batch rows): one pass over the weights, each output a dot product of an
// int8 weight row (sign-extended on the fly) with the int16 input row (input + offset) on
// _mm256_madd_epi16. Larger batches: the GEMM of gemm_int8.h (VNNI byte quads where the CPU has
// them and the offset allows, else int16 pairs) with the weights as A (one row per output feature)
// and 16 input rows per packed B panel; tiles are requantized per output feature and stored
// transposed into [batch, out_features].
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "conv_reference.h"
#include "edgequant/int_kernels.h"
#include "gemm_int8.h"

namespace eq::intk {

int Conv2DParams::out_h() const {
  return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
}
int Conv2DParams::out_w() const {
  return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
}

using namespace detail;

namespace {

// Batch from which the GEMM (16 input rows per panel) beats one pass of dot products over the
// weights: measured about 4 with the VNNI byte format, 12 with AVX2 pairs.
int gemm_min_batch(bool quads) { return quads ? 4 : 12; }

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// acc[r * B + b] = sum_k w[r][k] * x[b][k] for R weight rows (stride k) and B int16 input rows
// (stride ldx): each sign-extended weight vector serves all B rows.
template <int R, int B>
void dot_rows(const int8_t* w, int k, const int16_t* x, int64_t ldx, int32_t* acc) {
  __m256i a[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) a[r][b] = _mm256_setzero_si256();
  const int k16 = k / 16 * 16;
  for (int i = 0; i < k16; i += 16) {
    __m256i xv[B];
    for (int b = 0; b < B; ++b) xv[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + b * ldx + i));
    for (int r = 0; r < R; ++r) {
      const __m256i wv = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + static_cast<int64_t>(r) * k + i)));
      for (int b = 0; b < B; ++b) a[r][b] = _mm256_add_epi32(a[r][b], _mm256_madd_epi16(wv, xv[b]));
    }
  }
  for (int r = 0; r < R; ++r) {
    const int8_t* wr = w + static_cast<int64_t>(r) * k;
    for (int b = 0; b < B; ++b) {
      int32_t s = hsum(a[r][b]);
      for (int i = k16; i < k; ++i) s += static_cast<int32_t>(wr[i]) * x[b * ldx + i];
      acc[r * B + b] = s;
    }
  }
}

// Few input rows: one pass over the weights, 4 output features x 2 input rows at a time.
void fc_small_batch(const FullyConnectedParams& p, const Requant& rq, int nt, const int8_t* input,
                    const int8_t* weights, const int32_t* bias, int8_t* output) {
  const int K = p.in_features, M = p.out_features;
  const int64_t ldx = round_up(std::max(K, 1), 16);
  std::vector<int16_t> x16(static_cast<size_t>(p.batch * ldx), 0);
  for (int b = 0; b < p.batch; ++b)
    widen_offset(input + static_cast<int64_t>(b) * K, K, p.input_offset, x16.data() + b * ldx);
  constexpr int kRows = 4;
  const int64_t blocks = ceil_div(M, kRows);
  run_tasks(nt, static_cast<long>(blocks), [&](long blk_begin, long blk_end) {
    int32_t acc[kRows * 2];
    for (long blk = blk_begin; blk < blk_end; ++blk) {
      const int o0 = static_cast<int>(blk * kRows);
      const int rows = std::min(kRows, M - o0);
      const int8_t* w = weights + static_cast<int64_t>(o0) * K;
      for (int b = 0; b < p.batch; b += 2) {
        const int nb = std::min(2, p.batch - b);
        const int16_t* x = x16.data() + b * ldx;
        if (rows == kRows && nb == 2) {
          dot_rows<kRows, 2>(w, K, x, ldx, acc);
        } else if (rows == kRows) {
          dot_rows<kRows, 1>(w, K, x, ldx, acc);
        } else {
          for (int r = 0; r < rows; ++r) {
            if (nb == 2)
              dot_rows<1, 2>(w + static_cast<int64_t>(r) * K, K, x, ldx, acc + r * nb);
            else
              dot_rows<1, 1>(w + static_cast<int64_t>(r) * K, K, x, ldx, acc + r * nb);
          }
        }
        for (int j = 0; j < nb; ++j) {
          int8_t* out = output + static_cast<int64_t>(b + j) * M + o0;
          for (int r = 0; r < rows; ++r) {
            const int o = o0 + r;
            out[r] = finish_scalar(rq, rq.rows[o], acc[r * nb + j] + (bias ? bias[o] : 0));
          }
        }
      }
    }
  });
}

// The GEMM: A = the weights (pairs: widened to int16; quads: the int8 rows themselves when
// in_features is a multiple of 4, else a zero-padded copy), B = 16 input rows per panel (pairs:
// input + offset as int16 pairs; quads: input + 128 as bytes, with (offset - 128) * sum(w) added
// to the bias, see gemm_int8.h).
template <Operands OPS>
void fc_gemm(const FullyConnectedParams& p, const Requant& rq, int nt, const int8_t* input,
             const int8_t* weights, const int32_t* bias, int8_t* output) {
  constexpr bool quads = OPS == Operands::quads;
  constexpr int G = quads ? 4 : 2;  // k per word
  const int K = p.in_features, M = p.out_features;
  const int kw = (K + G - 1) / G;
  const int64_t lda = 4 * static_cast<int64_t>(kw);  // bytes
  std::vector<int16_t> a16;
  std::vector<int8_t> a8;
  std::vector<int32_t> bias_eff(static_cast<size_t>(M));
  const void* a = weights;
  if constexpr (quads) {
    if (K % 4 != 0) {
      a8.assign(static_cast<size_t>(M * lda), 0);
      for (int o = 0; o < M; ++o) std::memcpy(a8.data() + o * lda, weights + static_cast<int64_t>(o) * K, static_cast<size_t>(K));
      a = a8.data();
    }
    std::vector<int32_t> wsum(static_cast<size_t>(M));
    row_sums(weights, M, K, wsum.data());
    for (int o = 0; o < M; ++o)
      bias_eff[o] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[o] : 0) +
                                         static_cast<uint32_t>(int64_t{p.input_offset - 128} * wsum[o]));
  } else {
    a16.resize(static_cast<size_t>(M) * 2 * kw);
    widen_rows(weights, M, K, 2 * kw, a16.data());
    a = a16.data();
    for (int o = 0; o < M; ++o) bias_eff[o] = bias ? bias[o] : 0;
  }
  const int64_t npanels = ceil_div(p.batch, kNR);
  int64_t mchunks = 1;
  if (npanels < 2 * nt) mchunks = std::min(ceil_div(M, kMR), ceil_div(2 * nt, npanels));
  const int64_t mchunk = round_up(ceil_div(M, mchunks), kMR);
  mchunks = ceil_div(M, mchunk);
  const int64_t tasks = npanels * mchunks;
  std::vector<int64_t> koff(static_cast<size_t>(kw));
  for (int k = 0; k < kw; ++k) koff[k] = static_cast<int64_t>(k) * kNR;

  run_tasks(nt, static_cast<long>(tasks), [&](long t_begin, long t_end) {
    std::vector<int32_t> panel(static_cast<size_t>(kw * kNR));
    // One input row in the format, zero past K (its weights are zero there anyway).
    std::vector<int16_t> row16(quads ? 0 : static_cast<size_t>(2 * kw + 16), 0);
    std::vector<uint8_t> row8(quads ? static_cast<size_t>(4 * kw + 32) : 0, 0);
    int64_t packed = -1;
    for (long t = t_begin; t < t_end; ++t) {
      const int64_t q = t / mchunks, mc = t % mchunks;
      const int b0 = static_cast<int>(q * kNR);
      const int ncol = std::min(kNR, p.batch - b0);
      if (packed != q) {
        for (int j = 0; j < kNR; ++j) {
          if (j < ncol) {
            const int8_t* x = input + static_cast<int64_t>(b0 + j) * K;
            const void* r;
            if constexpr (quads) {
              flip_sign(x, K, row8.data());
              r = row8.data();
            } else {
              widen_offset(x, K, p.input_offset, row16.data());
              r = row16.data();
            }
            for (int k = 0; k < kw; ++k) panel[k * kNR + j] = load_i32(static_cast<const char*>(r) + 4 * k);
          } else {
            for (int k = 0; k < kw; ++k) panel[k * kNR + j] = 0;
          }
        }
        packed = q;
      }
      const int m_begin = static_cast<int>(mc * mchunk);
      const int m_end = static_cast<int>(std::min<int64_t>(M, m_begin + mchunk));
      gemm_tiles(OPS, a, lda, m_begin, m_end, panel.data(), koff.data(), 1, kw,
                 [&](int m0, int rows, int, const int32_t* c) {
                   alignas(16) int8_t t8[kNR];
                   for (int i = 0; i < rows; ++i) {
                     const int o = m0 + i;
                     requant_row16(rq, rq.rows[o], bias_eff[o], c + i * kNR, kNR, t8);
                     int8_t* out = output + static_cast<int64_t>(b0) * M + o;
                     for (int j = 0; j < ncol; ++j) out[static_cast<int64_t>(j) * M] = t8[j];
                   }
                 });
    }
  });
}

}  // namespace

void FullyConnected(const FullyConnectedParams& p, const int8_t* input, const int8_t* weights,
                    const int32_t* bias, int8_t* output) {
  if (p.batch <= 0 || p.out_features <= 0) return;
  if (!offset_fits_int16(p.input_offset)) {
    FullyConnectedReference(p, input, weights, bias, output);
    return;
  }
  OutputRequant out = p.out;
  out.single_rounding = true;  // TFLite's FULLY_CONNECTED rounds once (int_kernels.h)
  const Requant rq = make_requant(out, p.out_features);
  const int nt = effective_threads(
      p.threads, static_cast<int64_t>(p.batch) * p.in_features * p.out_features);
  const bool quads = quads_available() && quads_offset_ok(p.input_offset);
  if (p.batch < gemm_min_batch(quads))
    fc_small_batch(p, rq, nt, input, weights, bias, output);
  else if (quads)
    fc_gemm<Operands::quads>(p, rq, nt, input, weights, bias, output);
  else
    fc_gemm<Operands::pairs>(p, rq, nt, input, weights, bias, output);
}

}  // namespace eq::intk
