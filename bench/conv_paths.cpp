// Timing harness for the fp32 conv paths (not a test): oneDNN with plain NCHW src/dst vs oneDNN
// with `any` (blocked) src/dst plus reorders per call, vs im2col + cblas_sgemm and the reference
// loop. Build after the library (build dir as you like):
//   g++ -O3 -std=c++20 -fopenmp -Iinclude -Isrc bench/conv_paths.cpp build-k1/libedgequant_core.a \
//       -ldnnl -lopenblas -o /tmp/conv_paths && /tmp/conv_paths
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "runtime/kernels/fp32/conv_geom.h"
#include "runtime/kernels/fp32/dnnl_conv.h"
#include "runtime/threading.h"

using namespace eq;

namespace {

struct Shape4 { const char* name; int64_t c, oc, hw, k, stride, pad, groups; };

void im2col_sgemm(const ConvGeom& g, const float* x, const float* w, const float* b, float* y, std::vector<float>& col) {
  const int64_t icg = g.ic / g.groups, ocg = g.oc / g.groups, K = icg * g.kh * g.kw, P = g.oh * g.ow;
  col.resize(static_cast<size_t>(K * P));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const float* xg = x + (n * g.ic + grp * icg) * g.ih * g.iw;
      parallel_for(static_cast<long>(K), 8, [&](long kb, long ke) {
        for (long r = kb; r < ke; ++r) {
          const int64_t c = r / (g.kh * g.kw), kh = (r / g.kw) % g.kh, kw = r % g.kw;
          float* dst = col.data() + r * P;
          for (int64_t oh = 0; oh < g.oh; ++oh) {
            const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
            for (int64_t ow = 0; ow < g.ow; ++ow) {
              const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
              dst[oh * g.ow + ow] = (ih < 0 || ih >= g.ih || iw < 0 || iw >= g.iw) ? 0.f : xg[(c * g.ih + ih) * g.iw + iw];
            }
          }
        }
      });
      float* yg = y + (n * g.oc + grp * ocg) * P;
      for (int64_t o = 0; o < ocg; ++o) std::fill(yg + o * P, yg + (o + 1) * P, b[grp * ocg + o]);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(ocg), static_cast<int>(P),
                  static_cast<int>(K), 1.f, w + grp * ocg * K, static_cast<int>(K), col.data(), static_cast<int>(P), 1.f,
                  yg, static_cast<int>(P));
    }
}

// Best-of time per call in ms: the machine this was written on is shared, so the minimum is the
// least noisy statistic.
template <class F>
double time_ms(F f, int min_iters = 5, double min_ms = 200) {
  f();  // warm-up
  int iters = 0;
  double best = 1e30, total = 0;
  while (iters < min_iters || total < min_ms) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double el = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, el);
    total += el;
    ++iters;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  ScopedThreads threads(argc > 1 ? std::atoi(argv[1]) : 2);
  const std::vector<Shape4> shapes = {
      {"first 1->16 28x28 3x3", 1, 16, 28, 3, 1, 1, 1},
      {"16->32 28x28 3x3", 16, 32, 28, 3, 1, 1, 1},
      {"32->64 14x14 3x3", 32, 64, 14, 3, 1, 1, 1},
      {"64->64 14x14 3x3 s2", 64, 64, 14, 3, 2, 1, 1},
      {"dw 32 28x28 3x3", 32, 32, 28, 3, 1, 1, 32},
      {"dw 64 14x14 3x3", 64, 64, 14, 3, 1, 1, 64},
      {"pw 32->64 14x14 1x1", 32, 64, 14, 1, 1, 0, 1},
  };
  std::printf("%-24s %4s %10s %10s %10s %10s\n", "shape", "N", "plain_ms", "blocked_ms", "im2col_ms", "ref_ms");
  for (int64_t n : {1, 64}) {
    for (const Shape4& s : shapes) {
      ConvGeom g;
      g.n = n, g.ic = s.c, g.oc = s.oc, g.groups = s.groups, g.ih = g.iw = s.hw, g.kh = g.kw = s.k;
      g.sh = g.sw = s.stride, g.pt = g.pl = g.pb = g.pr = s.pad, g.has_bias = true;
      g.oh = g.ow = (s.hw + 2 * s.pad - s.k) / s.stride + 1;
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> d(-1, 1);
      Tensor x(DType::f32, {n, s.c, s.hw, s.hw}), w(DType::f32, {s.oc, s.c / s.groups, s.k, s.k}), b(DType::f32, {s.oc});
      Tensor y(DType::f32, {n, s.oc, g.oh, g.ow});
      for (Tensor* t : {&x, &w, &b})
        for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = d(rng);
      Node node;
      node.name = "bench";
      node.op = "aten.conv2d.default";
      std::vector<ValueInfo> ins = {{DType::f32, x.shape(), nullptr}, {DType::f32, w.shape(), &w}, {DType::f32, b.shape(), &b}};
      KernelCreateInfo ci{node, ins, {true, true, true}, {{DType::f32, y.shape()}}, 2};
      auto plain = make_dnnl_conv_kernel(ci, g, DnnlConvLayout::plain);
      auto blocked = make_dnnl_conv_kernel(ci, g, DnnlConvLayout::blocked);
      KernelContext ctx{node, {&x, &w, &b}, {&y}};
      const double tp = time_ms([&] { plain->run(ctx); });
      const double tb = time_ms([&] { blocked->run(ctx); });
      std::vector<float> col;
      const double ti = time_ms([&] { im2col_sgemm(g, x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>(), col); });
      const double tr = n == 1 ? time_ms([&] { conv_reference(g, x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>()); }, 3, 50)
                               : -1.0;  // minutes at N=64: skipped
      std::printf("%-24s %4lld %10.3f %10.3f %10.3f %10.3f\n", s.name, static_cast<long long>(n), tp, tb, ti, tr);
    }
  }
  return 0;
}
