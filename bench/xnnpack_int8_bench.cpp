// Timing harness (not a test): the fixture CNNs quantized (GenericQuantizer, symmetric int8,
// per-channel weights, calibrated on fixtures/models/<m>.input.npy) and run three ways by
// eq::Executor:
//   fp32  the float model as loaded
//   int8  lower_to_integer's graph on our integer kernels (TFLite-exact)
//   xnn   the same graph after partition_for_xnnpack (libxnnpack operators)
// Batch-1 latency (best of the repeats, ms) and batch-64 throughput (images/s, from the best
// repeat), and the ratios. Each delegated run's top-1 is also checked against the int8 graph's.
//
//   cmake -S . -B build-bench -DEDGEQUANT_BENCH=ON && cmake --build build-bench --target xnnpack_int8_bench
//   build-bench/xnnpack_int8_bench [--threads 2] [--models cnn,mbv2] [--seconds 2] [--dir fixtures/models]
//
// The development machine is shared (2 cores, load 5-6): best-of timings, several seconds each.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "edgequant/dataset.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"
#include "edgequant/quantizer.h"
#include "edgequant/xnnpack.h"

#ifndef EQ_SOURCE_DIR
#define EQ_SOURCE_DIR "."
#endif

namespace {

// With one thread the timings are process CPU time, which leaves out the time the shared machine's
// scheduler gives to other processes; with more threads, wall time (noisy there: a parallel
// region waits for its slowest thread, and a descheduled one costs a whole time slice).
bool g_cpu_clock = false;

double now_s() {
  timespec ts;
  clock_gettime(g_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Best seconds per run over repeats within `budget` seconds (at least `min_reps`).
double best_time(eq::Executor& ex, const std::vector<eq::Tensor>& in, double budget, int min_reps) {
  ex.run(in);  // plan + warm up
  double best = 1e30;
  const double start = now_s();
  for (int r = 0; r < min_reps || now_s() - start < budget; ++r) {
    const double t0 = now_s();
    ex.run(in);
    best = std::min(best, now_s() - t0);
  }
  return best;
}

// The first `n` rows of `x` repeated as needed.
eq::Tensor batch_of(const eq::Tensor& x, int64_t n) {
  eq::Shape s = x.shape();
  const int64_t rows = s[0], row = x.numel() / rows;
  s[0] = n;
  eq::Tensor t(eq::DType::f32, s);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(t.data<float>() + i * row, x.data<float>() + (i % rows) * row, static_cast<size_t>(row) * sizeof(float));
  return t;
}

std::vector<int64_t> top1(const eq::Tensor& y) {
  std::vector<int64_t> out;
  const int64_t rows = y.dim(0), cols = y.dim(1);
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = y.data<float>() + r * cols;
    out.push_back(std::max_element(p, p + cols) - p);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double seconds = 2.0;
  std::string dir = std::string(EQ_SOURCE_DIR) + "/fixtures/models";
  std::vector<std::string> models = {"cnn", "mbv2"};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = std::atoi(next().c_str());
    else if (a == "--seconds") seconds = std::atof(next().c_str());
    else if (a == "--dir") dir = next();
    else if (a == "--models") {
      models.clear();
      std::string m = next();
      for (size_t p = 0; p <= m.size();) {
        const size_t c = std::min(m.find(',', p), m.size());
        models.push_back(m.substr(p, c - p));
        p = c + 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--threads T] [--seconds S] [--dir DIR] [--models cnn,mbv2]\n", argv[0]);
      return 2;
    }
  }
  g_cpu_clock = threads == 1;
  std::printf("threads %d, best of >= %.1f s per measurement (%s)\n", threads, seconds,
              g_cpu_clock ? "process CPU time" : "wall time");
  std::printf("%-6s %6s | %10s %10s %10s | %8s %8s %8s\n", "model", "batch", "fp32", "int8", "xnn", "xnn/fp32",
              "xnn/int8", "int8/fp32");
  try {
    for (const std::string& m : models) {
      const eq::Graph g = eq::onnx::load(dir + "/" + m + ".onnx");
      const eq::Tensor x = eq::read_npy(dir + "/" + m + ".input.npy");
      const eq::GenericQuantizer quantizer{eq::symmetric_int8_config(true)};
      eq::Graph integer = eq::calibrate_and_quantize(g, {{x}}, quantizer);
      eq::lower_to_integer(integer);
      eq::Graph xnn = integer;
      const eq::XnnpackPartitionReport rep = eq::partition_for_xnnpack(xnn);
      const eq::ExecutorOptions opt{threads};
      eq::Executor ef(g, opt), ei(integer, opt), ex(xnn, opt);
      for (int64_t batch : {int64_t{1}, int64_t{64}}) {
        const std::vector<eq::Tensor> in = {batch_of(x, batch)};
        if (top1(ei.run(in)[0]) != top1(ex.run(in)[0])) std::printf("  (%s batch %lld: top-1 differs from int8)\n", m.c_str(), static_cast<long long>(batch));
        const double tf = best_time(ef, in, seconds, 5), ti = best_time(ei, in, seconds, 5), tx = best_time(ex, in, seconds, 5);
        if (batch == 1) {
          std::printf("%-6s %6lld | %8.3fms %8.3fms %8.3fms | %7.2fx %7.2fx %7.2fx   latency\n", m.c_str(),
                      static_cast<long long>(batch), tf * 1e3, ti * 1e3, tx * 1e3, tf / tx, ti / tx, tf / ti);
        } else {
          const double b = static_cast<double>(batch);
          std::printf("%-6s %6lld | %8.0f/s %8.0f/s %8.0f/s | %7.2fx %7.2fx %7.2fx   throughput\n", m.c_str(),
                      static_cast<long long>(batch), b / tf, b / ti, b / tx, tf / tx, ti / tx, tf / ti);
        }
      }
      std::printf("  %s: %d partition(s), %zu nodes delegated, %zu on the CPU\n", m.c_str(), rep.partitions,
                  rep.delegated_nodes.size(), rep.cpu_nodes_with_reason.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
