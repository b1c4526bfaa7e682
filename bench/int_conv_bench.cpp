// Timing harness for the integer conv / depthwise / fully connected kernels (not a test): the
// fast paths (eq::intk::Conv2D, DepthwiseConv2D, FullyConnected) against the reference loops they
// must equal (conv_reference.cpp), and the fp32 oneDNN conv / sgemm of the same shapes for scale.
// Each fast result is also checked against the reference bytes. Build after the library (build dir
// as you like):
//   g++ -O3 -mavx2 -mfma -std=c++20 -fopenmp -Iinclude -Isrc bench/int_conv_bench.cpp \
//       build-fastint/libedgequant_core.a -ldnnl -lonnx -lonnx_proto -lprotobuf -lz \
//       -o /tmp/int_conv_bench && /tmp/int_conv_bench [threads=2] [--no-ref] [--no-fp32] [--only=NAME] [--avx2]
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "edgequant/int_kernels.h"
#include "runtime/kernels/fp32/conv_geom.h"
#include "runtime/kernels/fp32/dnnl_conv.h"
#include "runtime/kernels/fp32/gemm_sgemm.h"
#include "runtime/kernels/int/conv_reference.h"
#include "runtime/kernels/int/gemm_int8.h"
#include "runtime/threading.h"

using namespace eq;

namespace {

// Clock for the timings. The development machine is shared (load average 5-6 on 2 cores: a
// single-threaded run gets about a third of a core), so with one thread we time process CPU time,
// which leaves out the time the scheduler gives to others; with more threads, wall time (noisy).
bool g_cpu_clock = false;

double now_ms() {
  timespec ts;
  clock_gettime(g_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// Best-of time per call in ms: the minimum is the least noisy statistic on a shared machine.
template <class F>
double time_ms(F f, int min_iters = 3, double min_ms = 150) {
  f();  // warm-up
  int iters = 0;
  double best = 1e30, total = 0;
  while (iters < min_iters || total < min_ms) {
    const double t0 = now_ms();
    f();
    const double el = now_ms() - t0;
    best = std::min(best, el);
    total += el;
    ++iters;
  }
  return best;
}

template <class F>
double time_once_ms(F f) {
  const double t0 = now_ms();
  f();
  return now_ms() - t0;
}

struct ConvShape {
  const char* name;
  int n, c, oc, hw, k, stride, pad, groups;
};

std::vector<int8_t> random_i8(size_t n, std::mt19937& g) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(d(g));
  return v;
}

double fp32_conv_ms(const ConvShape& s, int threads) {
  ConvGeom g;
  g.n = s.n, g.ic = s.c, g.oc = s.oc, g.groups = s.groups, g.ih = g.iw = s.hw, g.kh = g.kw = s.k;
  g.sh = g.sw = s.stride, g.pt = g.pl = g.pb = g.pr = s.pad, g.has_bias = true;
  g.oh = g.ow = (s.hw + 2 * s.pad - s.k) / s.stride + 1;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  Tensor x(DType::f32, {s.n, s.c, s.hw, s.hw}), w(DType::f32, {s.oc, s.c / s.groups, s.k, s.k}),
      b(DType::f32, {s.oc});
  Tensor y(DType::f32, {s.n, s.oc, g.oh, g.ow});
  for (Tensor* t : {&x, &w, &b})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = d(rng);
  Node node;
  node.name = "bench";
  node.op = "aten.conv2d.default";
  std::vector<ValueInfo> ins = {{DType::f32, x.shape(), nullptr}, {DType::f32, w.shape(), &w}, {DType::f32, b.shape(), &b}};
  KernelCreateInfo ci{node, ins, {true, true, true}, {{DType::f32, y.shape()}}, threads};
  auto k = make_dnnl_conv_kernel(ci, g);
  if (!k) return -1;
  KernelContext ctx{node, {&x, &w, &b}, {&y}};
  return time_ms([&] { k->run(ctx); });
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  bool ref = true, fp32 = true;
  std::string only;  // run only the shapes whose name contains this
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-ref") == 0)
      ref = false;
    else if (std::strcmp(argv[i], "--no-fp32") == 0)
      fp32 = false;
    else if (std::strncmp(argv[i], "--only=", 7) == 0)
      only = argv[i] + 7;
    else if (std::strcmp(argv[i], "--avx2") == 0)  // the AVX2 micro kernels even on a VNNI CPU
      intk::detail::set_gemm_isa(intk::detail::GemmIsa::avx2);
    else
      threads = std::atoi(argv[i]);
  }
  ScopedThreads scoped(threads);  // oneDNN follows the OpenMP setting
  g_cpu_clock = threads == 1;
  std::printf("isa %s, ", intk::detail::gemm_isa_name(intk::detail::gemm_isa()));
  std::printf("threads %d (%s)\n%-30s %10s %10s %9s %10s %8s\n", threads,
              g_cpu_clock ? "process CPU time" : "wall time", "shape", "ref_ms", "fast_ms", "speedup",
              "fp32_ms", "GMAC/s");
  const std::vector<ConvShape> shapes = {
      {"conv 32->64 3x3 28x28 N64", 64, 32, 64, 28, 3, 1, 1, 1},
      {"pw 32->64 1x1 28x28 N64", 64, 32, 64, 28, 1, 1, 0, 1},
      {"pw 64->128 1x1 14x14 N64", 64, 64, 128, 14, 1, 1, 0, 1},
      {"conv 64->64 3x3 s2 14x14 N64", 64, 64, 64, 14, 3, 2, 1, 1},
      {"dw 32 3x3 28x28 N64", 64, 32, 32, 28, 3, 1, 1, 32},
      {"first 1->16 3x3 28x28 N64", 64, 1, 16, 28, 3, 1, 1, 1},
      {"conv 32->64 3x3 28x28 N1", 1, 32, 64, 28, 3, 1, 1, 1},
      {"conv 256->256 3x3 7x7 N1", 1, 256, 256, 7, 3, 1, 1, 1},
      {"dw 64 3x3 14x14 N1", 1, 64, 64, 14, 3, 1, 1, 64},
  };
  for (const ConvShape& s : shapes) {
    if (std::string(s.name).find(only) == std::string::npos) continue;
    std::mt19937 g(42);
    intk::Conv2DParams p;
    p.batch = s.n, p.in_channels = s.c, p.in_h = p.in_w = s.hw, p.out_channels = s.oc;
    p.kernel_h = p.kernel_w = s.k, p.stride_h = p.stride_w = s.stride;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
    p.groups = s.groups, p.threads = threads, p.input_offset = 5;
    std::vector<intk::QuantizedMultiplier> m;
    for (int i = 0; i < s.oc; ++i) m.push_back(intk::QuantizeMultiplier(0.0004 * (1 + i % 7)));
    p.out.multipliers = m.data();
    p.out.num_multipliers = s.oc;
    p.out.output_offset = -3;
    const int oh = p.out_h(), ow = p.out_w();
    const auto in = random_i8(static_cast<size_t>(s.n) * s.c * s.hw * s.hw, g);
    const auto w = random_i8(static_cast<size_t>(s.oc) * (s.c / s.groups) * s.k * s.k, g);
    std::vector<int32_t> bias(static_cast<size_t>(s.oc), 100);
    const size_t n_out = static_cast<size_t>(s.n) * s.oc * oh * ow;
    std::vector<int8_t> out_ref(n_out), out_fast(n_out);
    const bool dw = s.groups == s.c && s.c > 1;
    double tr = -1;
    if (ref)
      tr = time_once_ms([&] {
        if (dw)
          intk::DepthwiseConv2DReference(p, in.data(), w.data(), bias.data(), out_ref.data());
        else
          intk::Conv2DReference(p, in.data(), w.data(), bias.data(), out_ref.data());
      });
    const double tf = time_ms([&] { intk::Conv2D(p, in.data(), w.data(), bias.data(), out_fast.data()); });
    if (ref && out_ref != out_fast) std::printf("MISMATCH in %s\n", s.name);
    const double macs = static_cast<double>(n_out) * (s.c / s.groups) * s.k * s.k;
    std::printf("%-30s %10.2f %10.3f %9.1f %10.3f %8.1f\n", s.name, tr, tf, tr / tf, fp32 ? fp32_conv_ms(s, threads) : -1.0,
                macs / tf * 1e-6);
  }
  struct FcShape { const char* name; int batch, in, out; };
  for (const FcShape& s : {FcShape{"fc 512->256 N64", 64, 512, 256}, FcShape{"fc 512->256 N1", 1, 512, 256},
                           FcShape{"fc 512->256 N7", 7, 512, 256}, FcShape{"fc 512->256 N8", 8, 512, 256},
                           FcShape{"fc 512->256 N16", 16, 512, 256}, FcShape{"fc 512->256 N32", 32, 512, 256},
                           FcShape{"fc 192->192 N12608", 12608, 192, 192}}) {
    if (std::string(s.name).find(only) == std::string::npos) continue;
    std::mt19937 g(43);
    intk::FullyConnectedParams p;
    p.batch = s.batch, p.in_features = s.in, p.out_features = s.out, p.threads = threads, p.input_offset = -7;
    const intk::QuantizedMultiplier m = intk::QuantizeMultiplier(0.0003);
    p.out.multipliers = &m;
    const auto x = random_i8(static_cast<size_t>(s.batch) * s.in, g);
    const auto w = random_i8(static_cast<size_t>(s.out) * s.in, g);
    std::vector<int32_t> bias(static_cast<size_t>(s.out), -50);
    std::vector<int8_t> out_ref(static_cast<size_t>(s.batch) * s.out), out_fast(out_ref.size());
    double tr = -1;
    if (ref) tr = time_ms([&] { intk::FullyConnectedReference(p, x.data(), w.data(), bias.data(), out_ref.data()); }, 1, 0);
    const double tf = time_ms([&] { intk::FullyConnected(p, x.data(), w.data(), bias.data(), out_fast.data()); });
    if (ref && out_ref != out_fast) std::printf("MISMATCH in %s\n", s.name);
    std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), yf(out_ref.size());
    const double t32 = !fp32 ? -1.0 : time_ms([&] { sgemm(true, s.batch, s.out, s.in, xf.data(), s.in, wf.data(), s.in, 0.f, yf.data(), s.out); });
    const double macs = static_cast<double>(s.batch) * s.in * s.out;
    std::printf("%-30s %10.3f %10.3f %9.1f %10.3f %8.1f\n", s.name, tr, tf, tr / tf, t32, macs / tf * 1e-6);
  }
  return 0;
}
