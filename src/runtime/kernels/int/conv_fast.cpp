// Fast int8 Conv2D / DepthwiseConv2D (NCHW), bit-identical to the reference loops in
// conv_reference.cpp (TFLite reference_integer_ops semantics).
//
// Conv2D is a GEMM per (image, group): C[out channel][output pixel] = filter x im2col(input) on
// the exact micro kernels of gemm_int8.h, in the VNNI byte-quad format where the CPU has it and
// the input offset allows (else int16 pairs), each 6x16 tile requantized (AVX2, bit-exact) and
// stored into the NCHW output. The reduction is ordered (input channel group, tap), so that a B
// word holds 2 (pairs) or 4 (quads) channels' values at one position: each (image, group) first
// gets "prepared planes" (the input in the format's values, the padding's value in the padding,
// the channels of a group interleaved per 32-bit word, columns split by stride phase), and then
//   direct (stride_w 1, output width near a multiple of 16): the micro kernel reads B straight
//     out of the prepared planes, one output row at a time (no im2col);
//   im2col (the rest): blocks of output pixels get their im2col rows copied from the planes;
//   pointwise (1x1, stride 1, no padding): the input rows are interleaved into blocks directly.
// Groups == in_channels goes to the depthwise kernel.
// DepthwiseConv2D: per (image, input channel) a plane of horizontal tap pairs (a padded value and
// its right neighbour at distance dilation_w, per stride phase) so that one madd covers two taps
// of 8 consecutive outputs; the same requantization.
// Both parallelise over independent output blocks; every output is computed by the same exact
// integer sum whatever the split, so results never depend on the thread count.
#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "conv_reference.h"
#include "edgequant/int_kernels.h"
#include "gemm_int8.h"

namespace eq::intk {

using namespace detail;

namespace {

// Direct conv path when the output columns computed past the width (to the next multiple of 16)
// are at most 1/kDirectMaxWaste of them.
constexpr int kDirectMaxWaste = 8;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

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

// The two operand formats of gemm_int8.h as prepared-plane elements.
template <Operands OPS>
struct Fmt;
template <>
struct Fmt<Operands::pairs> {
  using T = int16_t;       // input + offset
  using W = int16_t;       // widened weight
  static constexpr int G = 2;  // channels per word
  static T pad(int32_t) { return 0; }
  static T one(int8_t x, int32_t off) { return static_cast<T>(x + off); }
  static void convert(const int8_t* x, int n, int32_t off, T* dst) { widen_offset(x, n, off, dst); }
};
template <>
struct Fmt<Operands::quads> {
  using T = uint8_t;  // input + 128; padding 128 - offset
  using W = int8_t;
  static constexpr int G = 4;
  static T pad(int32_t off) { return static_cast<T>(128 - off); }
  static T one(int8_t x, int32_t) { return static_cast<T>(x + 128); }
  static void convert(const int8_t* x, int n, int32_t, T* dst) { flip_sign(x, n, dst); }
};

// Stride 2: the padded row is converted contiguously into tmp (2 * len values + 32 of slack),
// then split into even and odd columns one vector at a time.
template <Operands OPS>
void fill_row_stride2(const Conv2DParams& p, const PlaneLayout& l, const int8_t* src,
                      typename Fmt<OPS>::T* tmp, typename Fmt<OPS>::T* row) {
  using F = Fmt<OPS>;
  using T = typename F::T;
  const int L = l.len, width = 2 * L;
  const T pad = F::pad(p.input_offset);
  // Padded column c is input column c - pad_left.
  const int c_lo = std::min(p.pad_left, width);
  const int c_hi = std::clamp(p.pad_left + p.in_w, c_lo, width);
  std::fill(tmp, tmp + c_lo, pad);
  if (c_hi > c_lo) F::convert(src + (c_lo - p.pad_left), c_hi - c_lo, p.input_offset, tmp + c_lo);
  std::fill(tmp + c_hi, tmp + width + 32, pad);
  // Per 128-bit lane: the even elements to the low 8 bytes, the odd ones to the high 8; then the
  // 64-bit quarters reordered to even | odd.
  const __m256i split = sizeof(T) == 2
                            ? _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15,
                                               0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15)
                            : _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,
                                               0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  constexpr int kPer = 16 / sizeof(T);  // outputs per phase and step
  T* even = row;
  T* odd = row + L;
  for (int c = 0; c < width; c += 2 * kPer) {
    const __m256i v = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(tmp + c)), split);
    const __m256i q = _mm256_permute4x64_epi64(v, 0xD8);  // evens | odds
    const int t = c / 2, n = std::min(kPer, L - t);
    if (n == kPer) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(even + t), _mm256_castsi256_si128(q));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(odd + t), _mm256_extracti128_si256(q, 1));
    } else {
      alignas(32) T buf[2 * kPer];
      _mm256_store_si256(reinterpret_cast<__m256i*>(buf), q);
      std::copy(buf, buf + n, even + t);
      std::copy(buf + kPer, buf + kPer + n, odd + t);
    }
  }
}

// One input plane in the prepared layout (see PlaneLayout), values and padding as format OPS.
// tmp: 2 * len + 32 values of scratch for stride 2.
template <Operands OPS>
void fill_plane(const Conv2DParams& p, const PlaneLayout& l, const int8_t* in_c,
                typename Fmt<OPS>::T* dst, typename Fmt<OPS>::T* tmp) {
  using F = Fmt<OPS>;
  using T = typename F::T;
  const int sw = p.stride_w, L = l.len;
  const int32_t off = p.input_offset;
  const T pad = F::pad(off);
  for (int r = 0; r < l.rows; ++r) {
    const int iy = r - p.pad_top;
    T* row = dst + r * l.row_stride();
    if (iy < 0 || iy >= p.in_h) {
      std::fill(row, row + l.row_stride(), pad);
      continue;
    }
    const int8_t* src = in_c + static_cast<int64_t>(iy) * p.in_w;
    if (sw == 2) {
      fill_row_stride2<OPS>(p, l, src, tmp, row);
      continue;
    }
    for (int ph = 0; ph < sw; ++ph) {
      T* d = row + ph * L;
      const int t_lo = l.t_lo[ph], t_hi = l.t_hi[ph];
      std::fill(d, d + t_lo, pad);
      std::fill(d + t_hi, d + L, pad);
      const int n = t_hi - t_lo;
      if (n <= 0) continue;
      // Input column of t_lo, then every sw-th.
      const int8_t* s = src + (t_lo * sw + ph - p.pad_left);
      T* dd = d + t_lo;
      if (sw == 1)
        F::convert(s, n, off, dd);
      else
        for (int t = 0; t < n; ++t) dd[t] = F::one(s[t * sw], off);
    }
  }
}

// Interleaves G rows of a format into words.
template <Operands OPS>
void interleave(typename Fmt<OPS>::T* const* rows, int64_t n, int32_t* dst) {
  if constexpr (OPS == Operands::pairs)
    interleave_rows(rows[0], rows[1], n, dst);
  else
    interleave4_rows(rows[0], rows[1], rows[2], rows[3], n, dst);
}

// Filter rows for the GEMM: row oc, word (cg * khw + tap) holds channels G*cg .. G*cg + G-1 of
// the tap (0 for channels past icg), matching the B rows. Quads also return sum(w) per row (for
// the bias correction).
template <Operands OPS>
void pack_filter(const int8_t* filter, int out_channels, int icg, int khw, int kw,
                 typename Fmt<OPS>::W* dst, int32_t* wsum) {
  constexpr int G = Fmt<OPS>::G;
  const int K = icg * khw;
  const int64_t lda = static_cast<int64_t>(G) * kw;  // elements
  if constexpr (OPS == Operands::pairs) {
    (void)wsum;
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
  } else {
    row_sums(filter, out_channels, K, wsum);
    const int cgroups = kw / khw;
    // One filter row with its channels zero-padded to cgroups * 4 (and 16 bytes of slack for the
    // whole-vector reads), and its words (slack for the whole-vector writes).
    std::vector<uint8_t> row(static_cast<size_t>(G * cgroups * khw + 16), 0);
    std::vector<int32_t> words(static_cast<size_t>(kw + 16));
    for (int oc = 0; oc < out_channels; ++oc) {
      const int8_t* src = filter + static_cast<int64_t>(oc) * K;
      int8_t* d = dst + oc * lda;
      if (khw == 1) {  // channel quads are already adjacent
        std::memcpy(d, src, static_cast<size_t>(K));
        std::fill(d + K, d + lda, int8_t{0});
        continue;
      }
      std::memcpy(row.data(), src, static_cast<size_t>(K));  // row[K..] stays 0
      const uint8_t* r = row.data();
      for (int cg = 0; cg < cgroups; ++cg)  // in increasing order: each overrun is rewritten next
        interleave4_rows(r + (G * cg) * khw, r + (G * cg + 1) * khw, r + (G * cg + 2) * khw,
                         r + (G * cg + 3) * khw, khw, words.data() + cg * khw);
      std::memcpy(d, words.data(), static_cast<size_t>(lda));
    }
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

// How the B operand of the GEMM is formed.
//   pointwise: 1x1, stride 1, no padding: B is the input itself; each block's channel pairs are
//     interleaved into a packed block.
//   direct: stride_w 1 and an output width close to a multiple of 16: no im2col at all; each
//     16-column panel is 16 consecutive outputs of one output row, and B row (cp, ky, kx) of it is
//     the prepared plane of channel pair cp at row oy*sh + ky*dh, column x0 + kx*dw (koff holds
//     those offsets). Output columns up to the next multiple of 16 are computed and dropped.
//   im2col: the rest; each block of output pixels gets its im2col rows copied from the prepared
//     planes into a packed block.
enum class ConvMode { pointwise, direct, im2col };

template <Operands OPS>
void conv_gemm(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
               const int32_t* bias, int8_t* output) {
  using F = Fmt<OPS>;
  using T = typename F::T;
  constexpr int G = F::G;
  const int oh = p.out_h(), ow = p.out_w();
  const int groups = std::max(p.groups, 1);
  const int icg = p.in_channels / groups, ocg = p.out_channels / groups;
  const int khw = p.kernel_h * p.kernel_w;
  // The reduction runs over (input channel group of G, tap): word k = cg * khw + tap holds
  // channels G*cg .. G*cg + G-1 at the same tap, so that B rows are (copies of) prepared planes
  // whose words already hold the G channels.
  const int cgroups = (icg + G - 1) / G;
  const int kw = cgroups * khw;
  const int64_t lda = 4 * static_cast<int64_t>(kw);  // bytes
  const int64_t P = static_cast<int64_t>(oh) * ow;
  const int64_t in_plane = static_cast<int64_t>(p.in_h) * p.in_w;
  const int nt = effective_threads(
      p.threads, static_cast<int64_t>(p.batch) * p.out_channels * P * icg * khw);
  const int64_t ow16 = round_up(ow, kNR);
  ConvMode mode = ConvMode::im2col;
  if (khw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 && p.pad_left == 0 &&
      p.pad_bottom == 0 && p.pad_right == 0)
    mode = ConvMode::pointwise;
  else if (p.stride_w == 1 && (ow16 - ow) * kDirectMaxWaste <= ow16)
    mode = ConvMode::direct;

  // (Left uninitialised: pack_filter writes every element.)
  const std::unique_ptr<typename F::W[]> a(new typename F::W[static_cast<size_t>(p.out_channels) * G * kw]);
  std::vector<int32_t> wsum(static_cast<size_t>(p.out_channels), 0);
  pack_filter<OPS>(filter, p.out_channels, icg, khw, kw, a.get(), wsum.data());
  // Bias per output channel, with the quads' correction (input_offset - 128) * sum(w), modulo 2^32
  // like the reference's int32 sums.
  std::vector<int32_t> bias_eff(static_cast<size_t>(p.out_channels));
  for (int oc = 0; oc < p.out_channels; ++oc) {
    const int64_t corr = OPS == Operands::quads ? int64_t{p.input_offset - 128} * wsum[oc] : 0;
    bias_eff[oc] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[oc] : 0) +
                                        static_cast<uint32_t>(corr));
  }
  const Requant rq = make_requant(p.out, p.out_channels);

  // Work split: (image, group) x blocks of output pixels (direct: of output rows) x chunks of
  // output channels, enough for 2 tasks per thread. im2col / pointwise blocks: the packed block
  // (kw rows of nc words) about 96 KiB.
  const int64_t base = static_cast<int64_t>(p.batch) * groups;
  const int64_t units = mode == ConvMode::direct ? oh : P;        // what blocks split
  const int64_t unit_align = mode == ConvMode::direct ? 1 : kNR;  // block size granularity
  int64_t nc = mode == ConvMode::direct ? oh : std::max<int64_t>(kNR, (96 * 1024 / (4 * kw)) / kNR * kNR);
  nc = std::min(nc, round_up(units, unit_align));
  int64_t nblocks = ceil_div(units, nc);
  if (base * nblocks < 2 * nt)
    nblocks = std::min(ceil_div(units, unit_align), ceil_div(2 * nt, base));
  nc = round_up(ceil_div(units, nblocks), unit_align);
  nblocks = ceil_div(units, nc);
  int64_t mchunks = 1;
  if (base * nblocks < 2 * nt)
    mchunks = std::min(ceil_div(ocg, kMR), ceil_div(2 * nt, base * nblocks));
  const int64_t mchunk = round_up(ceil_div(ocg, mchunks), kMR);
  mchunks = ceil_div(ocg, mchunk);
  const int64_t tasks = base * nblocks * mchunks;

  // Prepared planes (direct, im2col): rows as wide as the reads need.
  const PlaneLayout pl = plane_layout(
      p, static_cast<int>(mode == ConvMode::direct ? ow16 : ow) +
             ((p.kernel_w - 1) * p.dilation_w) / p.stride_w);
  const int64_t plane_words = pl.size();
  // Packed blocks (im2col, pointwise): row stride an odd number of 64-byte lines, so that the rows
  // the micro kernel walks down do not pile onto a few L1 sets.
  const int64_t ldb = (nc / kNR) % 2 == 1 ? nc : nc + kNR;
  std::vector<int64_t> koff(static_cast<size_t>(kw));
  for (int cg = 0; cg < cgroups; ++cg)
    for (int tap = 0; tap < khw; ++tap) {
      const int k = cg * khw + tap;
      const int kx = tap % p.kernel_w, ky = tap / p.kernel_w;
      const int cx = kx * p.dilation_w;
      koff[k] = mode == ConvMode::direct
                    ? cg * plane_words + static_cast<int64_t>(ky) * p.dilation_h * pl.row_stride() +
                          (cx % p.stride_w) * pl.len + cx / p.stride_w
                    : k * ldb;
    }

  run_tasks(nt, static_cast<long>(tasks), [&](long t_begin, long t_end) {
    std::vector<int32_t> bbuf(mode == ConvMode::direct ? 0 : static_cast<size_t>(kw * ldb + 8));
    // G rows of values (slack of 32 everywhere for the whole-vector copies).
    const size_t row_len = static_cast<size_t>(mode == ConvMode::pointwise ? nc + 32 : plane_words + 32);
    std::vector<T> rows_buf(G * row_len, F::pad(p.input_offset));
    T* rows[G];
    for (int u = 0; u < G; ++u) rows[u] = rows_buf.data() + u * row_len;
    std::vector<int32_t> planes(mode == ConvMode::pointwise ? 0 : static_cast<size_t>(cgroups * plane_words + 16));
    std::vector<T> tmp(static_cast<size_t>(2 * pl.len + 64));
    int64_t packed = -1;    // (image, group, block) index held in bbuf
    int64_t prepared = -1;  // (image, group) index held in planes
    for (long t = t_begin; t < t_end; ++t) {
      const int64_t mc = t % mchunks, blk = t / mchunks;
      const int64_t nb = blk % nblocks, ng = blk / nblocks;
      const int g = static_cast<int>(ng % groups), n = static_cast<int>(ng / groups);
      const int8_t* in_g = input + (static_cast<int64_t>(n) * p.in_channels + g * icg) * in_plane;
      if (mode != ConvMode::pointwise && prepared != ng) {
        for (int cg = 0; cg < cgroups; ++cg) {
          for (int u = 0; u < G; ++u) {
            // Channels past icg: any value (their weights are 0).
            if (G * cg + u < icg) fill_plane<OPS>(p, pl, in_g + (G * cg + u) * in_plane, rows[u], tmp.data());
          }
          interleave<OPS>(rows, plane_words, planes.data() + cg * plane_words);
        }
        prepared = ng;
      }
      const int m_begin = static_cast<int>(mc * mchunk);
      const int m_end = static_cast<int>(std::min<int64_t>(ocg, m_begin + mchunk));
      const int oc0 = g * ocg;
      const void* a_g = a.get() + static_cast<int64_t>(oc0) * G * kw;
      int8_t* out_n = output + static_cast<int64_t>(n) * p.out_channels * P;
      if (mode == ConvMode::direct) {
        const int oy_end = static_cast<int>(std::min<int64_t>(oh, (nb + 1) * nc));
        const int npan = static_cast<int>(ow16 / kNR);
        for (int oy = static_cast<int>(nb * nc); oy < oy_end; ++oy) {
          int8_t* out_row = out_n + static_cast<int64_t>(oy) * ow;
          gemm_tiles(OPS, a_g, lda, m_begin, m_end,
                     planes.data() + static_cast<int64_t>(oy) * p.stride_h * pl.row_stride(),
                     koff.data(), npan, kw, [&](int m0, int nrows, int q, const int32_t* c) {
                       const int ncol = std::min(kNR, ow - q * kNR);
                       for (int i = 0; i < nrows; ++i) {
                         const int oc = oc0 + m0 + i;
                         requant_row16(rq, rq.rows[oc], bias_eff[oc], c + i * kNR, ncol,
                                       out_row + oc * P + q * kNR);
                       }
                     });
        }
        continue;
      }
      const int64_t p0 = nb * nc;
      const int cnt = static_cast<int>(std::min(nc, P - p0));
      const int npan = static_cast<int>(ceil_div(cnt, kNR));
      if (packed != blk) {
        if (mode == ConvMode::pointwise) {
          for (int cg = 0; cg < cgroups; ++cg) {
            for (int u = 0; u < G; ++u)
              if (G * cg + u < icg) F::convert(in_g + (G * cg + u) * in_plane + p0, cnt, p.input_offset, rows[u]);
            interleave<OPS>(rows, cnt, bbuf.data() + cg * ldb);
          }
        } else {
          for (int cg = 0; cg < cgroups; ++cg)
            for (int tap = 0; tap < khw; ++tap)
              im2col_row(p, pl, planes.data() + cg * plane_words, tap / p.kernel_w,
                         tap % p.kernel_w, ow, p0, cnt, bbuf.data() + (cg * khw + tap) * ldb);
        }
        packed = blk;
      }
      gemm_tiles(OPS, a_g, lda, m_begin, m_end, bbuf.data(), koff.data(), npan, kw,
                 [&](int m0, int nrows, int q, const int32_t* c) {
                   const int ncol = std::min(kNR, cnt - q * kNR);
                   for (int i = 0; i < nrows; ++i) {
                     const int oc = oc0 + m0 + i;
                     requant_row16(rq, rq.rows[oc], bias_eff[oc], c + i * kNR, ncol,
                                   out_n + oc * P + p0 + q * kNR);
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
  assert(p.in_channels % groups == 0 && p.out_channels % groups == 0);
  if (p.in_channels == groups && p.in_channels > 1) {
    DepthwiseConv2D(p, input, filter, bias, output);
    return;
  }
  if (quads_available() && quads_offset_ok(p.input_offset))
    conv_gemm<Operands::quads>(p, input, filter, bias, output);
  else if (offset_fits_int16(p.input_offset))
    conv_gemm<Operands::pairs>(p, input, filter, bias, output);
  else
    Conv2DReference(p, input, filter, bias, output);
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
  assert(C > 0 && p.out_channels % C == 0);
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
  // Per multiply-accumulate the depthwise loop does several times the GEMM's other work.
  const int nt = effective_threads(p.threads, static_cast<int64_t>(p.batch) * p.out_channels * P * khw * 8);

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
    std::vector<int16_t> tmp(static_cast<size_t>(2 * plx.len + 64));
    for (long t = t_begin; t < t_end; ++t) {
      const int n = static_cast<int>(t / C), c = static_cast<int>(t % C);
      fill_plane<Operands::pairs>(p, plx, input + (static_cast<int64_t>(n) * C + c) * in_plane, x.data(),
                                  tmp.data());
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
