// Fast int8 fully connected, bit-identical to FullyConnectedReference (TFLite
// reference_integer_ops::FullyConnected arithmetic), and the Conv2DParams geometry helpers.
//
// Small batches (< kGemmMinBatch rows): one pass over the weights, each output a dot product of an
// int8 weight row (sign-extended on the fly) with the int16 input row (input + offset) on
// _mm256_madd_epi16. Larger batches: the madd GEMM of gemm_int8.h with the widened weights as A
// (one row per output feature) and 16 input rows per packed B panel; tiles are requantized per
// output feature and stored transposed into [batch, out_features].
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "conv_reference.h"
#include "edgequant/int_kernels.h"
#include "gemm_int8.h"
#include "runtime/threading.h"

namespace eq::intk {

int Conv2DParams::out_h() const {
  return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
}
int Conv2DParams::out_w() const {
  return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
}

using namespace detail;

namespace {

constexpr int kGemmMinBatch = 8;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

template <class F>
void run_tasks(int threads, long n, F&& body) {
  if (threads <= 1 || n <= 1) {
    body(0L, n);
    return;
  }
  ScopedThreads scoped(threads);
  parallel_for(n, 1, body);
}

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// acc[r] = sum_k w[r][k] * x[k] for R weight rows (stride k) against one int16 input row.
template <int R>
void dot_rows(const int8_t* w, int k, const int16_t* x, int32_t* acc) {
  __m256i a[R];
  for (int r = 0; r < R; ++r) a[r] = _mm256_setzero_si256();
  const int k16 = k / 16 * 16;
  for (int i = 0; i < k16; i += 16) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    for (int r = 0; r < R; ++r) {
      const __m256i wv = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + static_cast<int64_t>(r) * k + i)));
      a[r] = _mm256_add_epi32(a[r], _mm256_madd_epi16(wv, xv));
    }
  }
  for (int r = 0; r < R; ++r) {
    int32_t s = hsum(a[r]);
    const int8_t* wr = w + static_cast<int64_t>(r) * k;
    for (int i = k16; i < k; ++i) s += static_cast<int32_t>(wr[i]) * x[i];
    acc[r] = s;
  }
}

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
    int32_t acc[kRows];
    for (long blk = blk_begin; blk < blk_end; ++blk) {
      const int o0 = static_cast<int>(blk * kRows);
      const int rows = std::min(kRows, M - o0);
      const int8_t* w = weights + static_cast<int64_t>(o0) * K;
      for (int b = 0; b < p.batch; ++b) {
        const int16_t* x = x16.data() + b * ldx;
        if (rows == kRows) {
          dot_rows<kRows>(w, K, x, acc);
        } else {
          for (int r = 0; r < rows; ++r) dot_rows<1>(w + static_cast<int64_t>(r) * K, K, x, acc + r);
        }
        int8_t* out = output + static_cast<int64_t>(b) * M + o0;
        for (int r = 0; r < rows; ++r) {
          const int o = o0 + r;
          out[r] = finish_scalar(rq, rq.rows[o], acc[r] + (bias ? bias[o] : 0));
        }
      }
    }
  });
}

void fc_gemm(const FullyConnectedParams& p, const Requant& rq, int nt, const int8_t* input,
             const int8_t* weights, const int32_t* bias, int8_t* output) {
  const int K = p.in_features, M = p.out_features;
  const int kp = (K + 1) / 2;
  const int64_t lda = 2 * static_cast<int64_t>(kp);
  std::vector<int16_t> a16(static_cast<size_t>(M * lda));
  widen_rows(weights, M, K, lda, a16.data());
  const int64_t npanels = ceil_div(p.batch, kNR);
  int64_t mchunks = 1;
  if (npanels < 2 * nt) mchunks = std::min(ceil_div(M, kMR), ceil_div(2 * nt, npanels));
  const int64_t mchunk = round_up(ceil_div(M, mchunks), kMR);
  mchunks = ceil_div(M, mchunk);
  const int64_t tasks = npanels * mchunks;

  run_tasks(nt, static_cast<long>(tasks), [&](long t_begin, long t_end) {
    std::vector<int32_t> panel(static_cast<size_t>(kp * kNR));
    std::vector<int16_t> row(static_cast<size_t>(lda + 16));
    int64_t packed = -1;
    for (long t = t_begin; t < t_end; ++t) {
      const int64_t q = t / mchunks, mc = t % mchunks;
      const int b0 = static_cast<int>(q * kNR);
      const int ncol = std::min(kNR, p.batch - b0);
      if (packed != q) {
        for (int j = 0; j < kNR; ++j) {
          if (j < ncol) {
            widen_offset(input + static_cast<int64_t>(b0 + j) * K, K, p.input_offset, row.data());
            if (K < lda) row[K] = 0;
            for (int kpi = 0; kpi < kp; ++kpi) panel[kpi * kNR + j] = load_i32(row.data() + 2 * kpi);
          } else {
            for (int kpi = 0; kpi < kp; ++kpi) panel[kpi * kNR + j] = 0;
          }
        }
        packed = q;
      }
      const int m_begin = static_cast<int>(mc * mchunk);
      const int m_end = static_cast<int>(std::min<int64_t>(M, m_begin + mchunk));
      gemm_tiles(a16.data(), lda, m_begin, m_end, panel.data(), kNR, 1, kp,
                 [&](int m0, int rows, int, const int32_t* c) {
                   alignas(16) int8_t t8[kNR];
                   for (int i = 0; i < rows; ++i) {
                     const int o = m0 + i;
                     requant_row16(rq, rq.rows[o], bias ? bias[o] : 0, c + i * kNR, kNR, t8);
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
  const Requant rq = make_requant(p.out, p.out_features);
  const int nt = p.threads > 0 ? p.threads : omp_get_max_threads();
  if (p.batch < kGemmMinBatch)
    fc_small_batch(p, rq, nt, input, weights, bias, output);
  else
    fc_gemm(p, rq, nt, input, weights, bias, output);
}

}  // namespace eq::intk
