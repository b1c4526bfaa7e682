// Fast int8 Conv2D / DepthwiseConv2D (NCHW), bit-identical to the reference loops in
// conv_reference.cpp (TFLite reference_integer_ops semantics).
//
// Conv2D: per (image, group, block of output pixels) the block's im2col matrix is built as int16
// (input + input_offset, padding taps 0) directly in the packed-panel layout of gemm_int8.h, then
// multiplied by the int16-widened filter rows with the madd GEMM, and each 6x16 tile is requantized
// and stored into the NCHW output. Pointwise convs (1x1, stride 1, no padding) read the input rows
// directly. Groups == in_channels goes to the depthwise kernel.
// DepthwiseConv2D: per (image, input channel) the padded plane is copied once as int32 (input +
// offset, 0 in the padding), split into stride_w column phases so that 8 consecutive outputs read 8
// consecutive words for every tap; int32 multiply-accumulate (_mm256_mullo_epi32, exact wrapping
// like the reference's int32 arithmetic), then the same requantization.
// Both parallelise over independent output blocks; every output is computed by the same exact
// integer sum whatever the split, so results never depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "conv_reference.h"
#include "edgequant/int_kernels.h"
#include "gemm_int8.h"
#include "runtime/threading.h"

namespace eq::intk {

using namespace detail;

namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

// Runs body(begin, end) over [0, n) tasks on `threads` threads (serially for one).
template <class F>
void run_tasks(int threads, long n, F&& body) {
  if (threads <= 1 || n <= 1) {
    body(0L, n);
    return;
  }
  ScopedThreads scoped(threads);
  parallel_for(n, 1, body);
}

// The padded, offset, column-phase-split copy of one input plane that both conv paths read:
// padded (r, col) is input (r - pad_top, col - pad_left) + input_offset, 0 outside the input;
// row r is stored as stride_w phases of `len` values, phase ph holding columns t * stride_w + ph.
// With it, the taps of consecutive output columns (any stride, dilation) are consecutive values:
// output (oy, ox), tap (ky, kx) is phase (kx*dw) % sw, row oy*sh + ky*dh, index ox + (kx*dw) / sw.
struct PlaneLayout {
  int rows = 0, phases = 1, len = 0;
  // Per phase, the t range [t_lo, t_hi) that lies inside the input columns (the rest is padding).
  std::vector<int> t_lo, t_hi;
  int64_t row_stride() const { return static_cast<int64_t>(phases) * len; }
  int64_t size() const { return rows * row_stride(); }
};

// `min_len`: how many values each phase row needs.
PlaneLayout plane_layout(const Conv2DParams& p, int min_len) {
  PlaneLayout l;
  l.rows = (p.out_h() - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1;
  l.phases = p.stride_w;
  l.len = min_len;
  const int sw = p.stride_w;
  for (int ph = 0; ph < sw; ++ph) {
    // t such that ix = t * sw + x0 is in [0, in_w).
    const int x0 = ph - p.pad_left;
    const int lo = std::min<int>(l.len, x0 >= 0 ? 0 : static_cast<int>(ceil_div(-x0, sw)));
    l.t_lo.push_back(lo);
    l.t_hi.push_back(std::clamp(p.in_w - 1 - x0 < 0 ? 0 : (p.in_w - 1 - x0) / sw + 1, lo, l.len));
  }
  return l;
}

template <class T>
void fill_plane(const Conv2DParams& p, const PlaneLayout& l, const int8_t* in_c, T* dst) {
  const int sw = p.stride_w, L = l.len;
  const int32_t off = p.input_offset;
  for (int r = 0; r < l.rows; ++r) {
    const int iy = r - p.pad_top;
    T* row = dst + r * l.row_stride();
    if (iy < 0 || iy >= p.in_h) {
      std::fill(row, row + l.row_stride(), T{0});
      continue;
    }
    const int8_t* src = in_c + static_cast<int64_t>(iy) * p.in_w;
    for (int ph = 0; ph < sw; ++ph) {
      T* d = row + ph * L;
      const int t_lo = l.t_lo[ph], t_hi = l.t_hi[ph];
      std::fill(d, d + t_lo, T{0});
      // Input column of t_lo, then every sw-th.
      const int8_t* s = src + (t_lo * sw + ph - p.pad_left);
      const int n = t_hi - t_lo;
      T* dd = d + t_lo;
      if (sw == 1) {
        int t = 0;
        if constexpr (sizeof(T) == 2) {
          widen_offset(s, n, off, dd);
          t = n;
        } else {
          const __m256i vo = _mm256_set1_epi32(off);
          for (; t + 8 <= n; t += 8)
            _mm256_storeu_si256(
                reinterpret_cast<__m256i*>(dd + t),
                _mm256_add_epi32(
                    _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + t))), vo));
        }
        for (; t < n; ++t) dd[t] = static_cast<T>(s[t] + off);
      } else {
        for (int t = 0; t < n; ++t) dd[t] = static_cast<T>(s[t * sw] + off);
      }
      std::fill(d + t_hi, d + L, T{0});
    }
  }
}

// Filter rows for the GEMM: row oc, word (cp * khw + tap) = (w[oc][2cp][tap], w[oc][2cp+1][tap])
// (0 for the missing channel of an odd count), matching the im2col rows below.
void pack_filter(const int8_t* filter, int out_channels, int icg, int khw, int64_t lda,
                 int16_t* dst) {
  const int K = icg * khw;
  if (khw == 1) {  // channel pairs are already adjacent
    widen_rows(filter, out_channels, K, lda, dst);
    return;
  }
  const int cpairs = (icg + 1) / 2;
  std::vector<int16_t> row(static_cast<size_t>(2 * cpairs * khw + 16), 0);
  std::vector<int32_t> words(static_cast<size_t>(cpairs * khw + 16));
  for (int oc = 0; oc < out_channels; ++oc) {
    widen_rows(filter + static_cast<int64_t>(oc) * K, 1, K, K, row.data());  // row[K..] stays 0
    for (int cp = 0; cp < cpairs; ++cp)  // in increasing order: each overrun is rewritten next
      interleave_rows(row.data() + 2 * cp * khw, row.data() + (2 * cp + 1) * khw, khw,
                      words.data() + cp * khw);
    std::memcpy(dst + oc * lda, words.data(), static_cast<size_t>(lda) * sizeof(int16_t));
  }
}

// Row kp = (channel pair cp, tap ky, kx) of the im2col matrix for output pixels [p0, p0 + cnt)
// from the pair's prepared plane (words = two channels' values). Copies whole 8-word vectors: a
// segment may write up to 7 words past its end (rewritten by the next segment or the next row,
// or landing in padding columns, whose outputs are never stored) and read up to 7 past the plane
// row (the buffers have that slack).
void im2col_row(const Conv2DParams& p, const PlaneLayout& l, const int32_t* plane, int ky, int kx,
                int ow, int64_t p0, int cnt, int32_t* dst) {
  const int cx = kx * p.dilation_w;
  const int32_t* base = plane + static_cast<int64_t>(ky) * p.dilation_h * l.row_stride() +
                        (cx % p.stride_w) * l.len + cx / p.stride_w;
  const int64_t oy_stride = static_cast<int64_t>(p.stride_h) * l.row_stride();
  int oy = static_cast<int>(p0 / ow), ox = static_cast<int>(p0 % ow);
  for (int j = 0; j < cnt;) {
    const int run = std::min(ow - ox, cnt - j);
    const int32_t* src = base + oy * oy_stride + ox;
    for (int i = 0; i < run; i += 8)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j + i),
                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
    j += run;
    ++oy;
    ox = 0;
  }
}

void conv_gemm(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
               const int32_t* bias, int8_t* output) {
  const int oh = p.out_h(), ow = p.out_w();
  const int groups = std::max(p.groups, 1);
  const int icg = p.in_channels / groups, ocg = p.out_channels / groups;
  const int khw = p.kernel_h * p.kernel_w;
  // The reduction runs over (input channel pair, tap): k pair kp = cp * khw + tap pairs channels
  // 2cp and 2cp+1 at the same tap, so that the im2col rows are copies of prepared planes whose
  // words already hold both channels.
  const int cpairs = (icg + 1) / 2;
  const int kp = cpairs * khw;
  const int64_t lda = 2 * static_cast<int64_t>(kp);
  const int64_t P = static_cast<int64_t>(oh) * ow;
  const int64_t in_plane = static_cast<int64_t>(p.in_h) * p.in_w;
  const bool pointwise = khw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                         p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
  const int nt = thread_count(p.threads);

  std::vector<int16_t> a16(static_cast<size_t>(p.out_channels * lda));
  pack_filter(filter, p.out_channels, icg, khw, lda, a16.data());
  const Requant rq = make_requant(p.out, p.out_channels);

  // Pixel blocks: the im2col block (kp rows of nc words) about 96 KiB; enough blocks (then
  // enough output-channel chunks) for 2 tasks per thread.
  const int64_t base = static_cast<int64_t>(p.batch) * groups;
  int64_t nc = std::max<int64_t>(kNR, (96 * 1024 / (4 * kp)) / kNR * kNR);
  nc = std::min(nc, round_up(P, kNR));
  int64_t nblocks = ceil_div(P, nc);
  if (base * nblocks < 2 * nt) nblocks = std::min(ceil_div(P, kNR), ceil_div(2 * nt, base));
  nc = round_up(ceil_div(P, nblocks), kNR);
  nblocks = ceil_div(P, nc);
  int64_t mchunks = 1;
  if (base * nblocks < 2 * nt)
    mchunks = std::min(ceil_div(ocg, kMR), ceil_div(2 * nt, base * nblocks));
  const int64_t mchunk = round_up(ceil_div(ocg, mchunks), kMR);
  mchunks = ceil_div(ocg, mchunk);
  const int64_t tasks = base * nblocks * mchunks;
  // Row stride of the block: an odd number of 64-byte lines, so that the rows the micro kernel
  // walks down do not pile onto a few L1 sets.
  const int64_t ldb = (nc / kNR) % 2 == 1 ? nc : nc + kNR;

  const PlaneLayout pl = plane_layout(p, ow + ((p.kernel_w - 1) * p.dilation_w) / p.stride_w);
  const int64_t plane_words = pl.size();

  run_tasks(nt, static_cast<long>(tasks), [&](long t_begin, long t_end) {
    std::vector<int32_t> bbuf(static_cast<size_t>(kp * ldb + 8));
    // Slack of 16 values everywhere for the whole-vector copies.
    std::vector<int16_t> r0(static_cast<size_t>(pointwise ? nc + 16 : plane_words + 16), 0);
    std::vector<int16_t> r1(r0.size(), 0);
    std::vector<int32_t> planes(pointwise ? 0 : static_cast<size_t>(cpairs * plane_words + 16));
    int64_t packed = -1;    // (image, group, block) index held in bbuf
    int64_t prepared = -1;  // (image, group) index held in planes
    for (long t = t_begin; t < t_end; ++t) {
      const int64_t mc = t % mchunks, blk = t / mchunks;
      const int64_t nb = blk % nblocks, ng = blk / nblocks;
      const int g = static_cast<int>(ng % groups), n = static_cast<int>(ng / groups);
      const int64_t p0 = nb * nc;
      const int cnt = static_cast<int>(std::min(nc, P - p0));
      const int npan = static_cast<int>(ceil_div(cnt, kNR));
      const int8_t* in_g = input + (static_cast<int64_t>(n) * p.in_channels + g * icg) * in_plane;
      if (packed != blk) {
        if (pointwise) {
          for (int cp = 0; cp < cpairs; ++cp) {
            widen_offset(in_g + 2 * cp * in_plane + p0, cnt, p.input_offset, r0.data());
            if (2 * cp + 1 < icg)
              widen_offset(in_g + (2 * cp + 1) * in_plane + p0, cnt, p.input_offset, r1.data());
            else
              std::fill(r1.begin(), r1.end(), int16_t{0});
            interleave_rows(r0.data(), r1.data(), cnt, bbuf.data() + cp * ldb);
          }
        } else {
          if (prepared != ng) {
            for (int cp = 0; cp < cpairs; ++cp) {
              fill_plane(p, pl, in_g + 2 * cp * in_plane, r0.data());
              if (2 * cp + 1 < icg)
                fill_plane(p, pl, in_g + (2 * cp + 1) * in_plane, r1.data());
              else
                std::fill(r1.begin(), r1.end(), int16_t{0});
              interleave_rows(r0.data(), r1.data(), plane_words, planes.data() + cp * plane_words);
            }
            prepared = ng;
          }
          for (int cp = 0; cp < cpairs; ++cp)
            for (int tap = 0; tap < khw; ++tap)
              im2col_row(p, pl, planes.data() + cp * plane_words, tap / p.kernel_w,
                         tap % p.kernel_w, ow, p0, cnt, bbuf.data() + (cp * khw + tap) * ldb);
        }
        packed = blk;
      }
      const int m_begin = static_cast<int>(mc * mchunk);
      const int m_end = static_cast<int>(std::min<int64_t>(ocg, m_begin + mchunk));
      const int oc0 = g * ocg;
      int8_t* out_n = output + static_cast<int64_t>(n) * p.out_channels * P + p0;
      gemm_tiles(a16.data() + oc0 * lda, lda, m_begin, m_end, bbuf.data(), ldb, npan, kp,
                 [&](int m0, int rows, int q, const int32_t* c) {
                   const int ncol = std::min(kNR, cnt - q * kNR);
                   for (int i = 0; i < rows; ++i) {
                     const int oc = oc0 + m0 + i;
                     requant_row16(rq, rq.rows[oc], bias ? bias[oc] : 0, c + i * kNR, ncol,
                                   out_n + oc * P + q * kNR);
                   }
                 });
    }
  });
}

}  // namespace

void Conv2D(const Conv2DParams& p, const int8_t* input, const int8_t* filter, const int32_t* bias,
            int8_t* output) {
  if (p.batch <= 0 || p.out_channels <= 0 || p.out_h() <= 0 || p.out_w() <= 0) return;
  const int groups = std::max(p.groups, 1);
  if (p.in_channels == groups && p.in_channels > 1) {
    DepthwiseConv2D(p, input, filter, bias, output);
    return;
  }
  if (!offset_fits_int16(p.input_offset)) {
    Conv2DReference(p, input, filter, bias, output);
    return;
  }
  conv_gemm(p, input, filter, bias, output);
}

void DepthwiseConv2D(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                     const int32_t* bias, int8_t* output) {
  const int oh = p.out_h(), ow = p.out_w();
  if (p.batch <= 0 || p.out_channels <= 0 || oh <= 0 || ow <= 0) return;
  if (!offset_fits_int16(p.input_offset)) {
    DepthwiseConv2DReference(p, input, filter, bias, output);
    return;
  }
  const int C = p.in_channels;
  const int mult = p.out_channels / C;
  const int sw = p.stride_w, dw = p.dilation_w;
  const int kh = p.kernel_h, kw = p.kernel_w, khw = kh * kw;
  // Horizontal tap pairs (kx, kx + 1) of each kernel row, the last one of an odd width paired
  // with a zero weight: one madd per pair and 8 outputs (depthwise_row).
  const int kw2 = (kw + 1) / 2, npairs = kh * kw2;
  // Q: per channel, the pair plane Q[r][ph][t] = (X[r][ph][t], X[r][ph'][t + d]) where column
  // t*sw + ph + dw = (t + d)*sw + ph', i.e. a padded value and its right neighbour at distance dw,
  // from X, the int16 padded phase-split plane (fill_plane). Output (oy, ox), pair (ky, j) reads
  // Q row oy*sh + ky*dh, phase (2j*dw) % sw, index ox + (2j*dw) / sw: 8 outputs, 8 consecutive
  // words. Lengths: Q rows cover the 16-rounded output width; X rows the Q reads.
  const int lq = static_cast<int>(round_up(ow, 16)) + ((kw - 1) * dw) / sw;
  const PlaneLayout plx = plane_layout(p, lq + dw + 1);
  const PlaneLayout plq = plane_layout(p, lq);
  const int64_t P = static_cast<int64_t>(oh) * ow;
  const int64_t in_plane = static_cast<int64_t>(p.in_h) * p.in_w;
  const Requant rq = make_requant(p.out, p.out_channels);
  const int nt = thread_count(p.threads);

  std::vector<int64_t> pair_off(static_cast<size_t>(npairs));
  for (int ky = 0; ky < kh; ++ky)
    for (int j = 0; j < kw2; ++j) {
      const int cx = 2 * j * dw;
      pair_off[ky * kw2 + j] =
          static_cast<int64_t>(ky) * p.dilation_h * plq.row_stride() + (cx % sw) * lq + cx / sw;
    }
  // Weight pairs per output channel, as int32 words (low half tap kx, high half kx + 1).
  std::vector<int32_t> wpairs(static_cast<size_t>(p.out_channels) * npairs);
  for (int oc = 0; oc < p.out_channels; ++oc)
    for (int ky = 0; ky < kh; ++ky)
      for (int j = 0; j < kw2; ++j) {
        const int8_t* f = filter + static_cast<int64_t>(oc) * khw + ky * kw + 2 * j;
        const int16_t lo = f[0], hi = 2 * j + 1 < kw ? f[1] : 0;
        wpairs[oc * npairs + ky * kw2 + j] = static_cast<int32_t>(
            static_cast<uint32_t>(static_cast<uint16_t>(lo)) | (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
      }

  const int64_t tasks = static_cast<int64_t>(p.batch) * C;
  run_tasks(nt, static_cast<long>(tasks), [&](long t_begin, long t_end) {
    // Slack for interleave_rows' whole 16-value vectors.
    std::vector<int16_t> x(static_cast<size_t>(plx.size() + 32), 0);
    std::vector<int32_t> q(static_cast<size_t>(plq.size() + 16), 0);
    std::vector<int32_t> acc(static_cast<size_t>(round_up(ow, 16)));
    for (long t = t_begin; t < t_end; ++t) {
      const int n = static_cast<int>(t / C), c = static_cast<int>(t % C);
      fill_plane(p, plx, input + (static_cast<int64_t>(n) * C + c) * in_plane, x.data());
      for (int r = 0; r < plq.rows; ++r)
        for (int ph = 0; ph < sw; ++ph)  // increasing order: each overrun is rewritten next
          interleave_rows(x.data() + r * plx.row_stride() + ph * plx.len,
                          x.data() + r * plx.row_stride() + ((ph + dw) % sw) * plx.len + (ph + dw) / sw,
                          lq, q.data() + r * plq.row_stride() + ph * lq);
      for (int m = 0; m < mult; ++m) {
        const int oc = c * mult + m;
        const int32_t* wp = wpairs.data() + static_cast<int64_t>(oc) * npairs;
        const RowQ& rowq = rq.rows[oc];
        const int32_t b = bias ? bias[oc] : 0;
        int8_t* out_plane = output + (static_cast<int64_t>(n) * p.out_channels + oc) * P;
        for (int oy = 0; oy < oh; ++oy) {
          depthwise_row(q.data() + static_cast<int64_t>(oy) * p.stride_h * plq.row_stride(),
                        pair_off.data(), wp, npairs, b, ow, acc.data());
          int8_t* out_row = out_plane + static_cast<int64_t>(oy) * ow;
          for (int ox = 0; ox < ow; ox += 16)
            requant_row16(rq, rowq, 0, acc.data() + ox, std::min(16, ow - ox), out_row + ox);
        }
      }
    }
  });
}

}  // namespace eq::intk
