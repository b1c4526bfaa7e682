// edgequant bench MODEL.onnx --batch B: fp32 latency and throughput on random inputs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>

#include "json_writer.h"
#include "progress.h"
#include "verbs.h"

namespace eqcli {
namespace {

eq::Tensor random_input(const eq::Value& v, int64_t batch, std::mt19937& rng) {
  eq::Tensor t(v.dtype, eq::shape_with_batch(v.shape, batch));
  if (v.dtype == eq::DType::f32) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  }
  // Other dtypes (token ids, masks) stay zero: always in range.
  return t;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

const Command& bench_command() {
  static const Command c{
      "bench",
      {"MODEL.onnx"},
      "Benchmark fp32 inference: median latency per batch and throughput on random normal inputs.",
      "Inputs have the model's input shapes with the batch set to --batch (seeded random normal values\n"
      "for float inputs, zeros for integer ones). After --warmup runs it times --iters runs; without\n"
      "--iters it runs at least 10 and until --min-time seconds have passed (at most 10000).\n"
      "--json prints one object: model, batch, threads, iters, warmup, latency_ms (median per batch),\n"
      "latency_ms_min, latency_ms_mean, latency_ms_p90, throughput (images/s at the median), arena_bytes.",
      {{"--batch", "-b", "B", "batch size (default 1)"},
       {"--iters", "-n", "N", "timed iterations (default: adaptive, see below)"},
       {"--warmup", "-w", "W", "untimed warm-up iterations (default 3)"},
       {"--min-time", "", "SECONDS", "with adaptive iterations: time at least this long (default 1)"},
       {"--seed", "", "S", "random seed for the inputs (default 0)"},
       threads_option(),
       simulate_option(),
       delegate_option(),
       {"--profile", "", "", "also time each node over the runs and print the ops that take longest"},
       {"--json", "", "", "print one JSON object instead of the report"}},
  };
  return c;
}

int run_bench(const Args& args) {
  const std::string model_path = args.positionals()[0];
  const int64_t batch = args.get_int("--batch", 1, 1, 1 << 20);
  const int64_t fixed_iters = args.get_int("--iters", 0, 1, 10'000'000);
  const int64_t warmup = args.get_int("--warmup", 3, 0, 1'000'000);
  const int64_t min_time_ms = args.has("--min-time") ? [&] {
    const std::string s = *args.get("--min-time");
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !(v >= 0) || v > 3600) throw UsageError("option '--min-time' expects seconds in [0, 3600], got '" + s + "'");
    return static_cast<int64_t>(v * 1000);
  }() : 1000;
  const int64_t seed = args.get_int("--seed", 0, 0, INT64_MAX);
  const int threads = threads_from(args);
  const bool json = args.has("--json");

  eq::Graph g = load_model(model_path);
  [[maybe_unused]] const bool quantized_model = prepare_quantized_for_execution(g, args.has("--simulate"));
  apply_delegate(g, args);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<eq::Tensor> inputs;
  for (int v : g.inputs) inputs.push_back(random_input(g.value(v), batch, rng));
  std::string input_desc;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    input_desc += (i ? ", " : "") + g.value(g.inputs[i]).name + " " + std::string(eq::dtype_name(inputs[i].dtype())) + " " +
                  eq::shape_str(inputs[i].shape());
  eq::Executor exec(std::move(g), eq::ExecutorOptions{threads});

  using clock = std::chrono::steady_clock;
  for (int64_t i = 0; i < warmup; ++i) exec.run(inputs);
  std::vector<double> ms;
  const int64_t max_iters = fixed_iters > 0 ? fixed_iters : 10000;
  std::optional<Progress> progress;  // only with a known number of iterations
  if (fixed_iters > 0) progress.emplace("bench", fixed_iters, "it");
  const auto start = clock::now();
  while (static_cast<int64_t>(ms.size()) < max_iters) {
    const auto t0 = clock::now();
    exec.run(inputs);
    const auto t1 = clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (progress) progress->update(static_cast<int64_t>(ms.size()));
    if (fixed_iters == 0 && ms.size() >= 10 &&
        std::chrono::duration_cast<std::chrono::milliseconds>(t1 - start).count() >= min_time_ms)
      break;
  }
  if (progress) progress->finish();

  const double median = percentile(ms, 0.5);
  const double p90 = percentile(ms, 0.9);
  const double lo = *std::min_element(ms.begin(), ms.end());
  double mean = 0;
  for (double x : ms) mean += x;
  mean /= static_cast<double>(ms.size());
  const double throughput = median > 0 ? static_cast<double>(batch) * 1000.0 / median : 0;

  // Per-op profile: the executor calls the observer right after each node, so the time between
  // consecutive calls is that node's time.
  std::map<std::string, double> op_ms;
  if (args.has("--profile")) {
    const eq::Graph& graph = exec.graph();
    clock::time_point prev;
    const int64_t runs = std::max<int64_t>(10, static_cast<int64_t>(ms.size()));
    for (int64_t r = 0; r < runs; ++r) {
      prev = clock::now();
      exec.run(inputs, [&](int v, const eq::Tensor&) {
        const eq::Node& node = graph.nodes[static_cast<size_t>(graph.value(v).producer)];
        if (node.outputs[0] != v) return;
        const auto now = clock::now();
        op_ms[node.op] += std::chrono::duration<double, std::milli>(now - prev).count() / static_cast<double>(runs);
        prev = now;
      });
    }
  }
  std::vector<std::pair<std::string, double>> by_time(op_ms.begin(), op_ms.end());
  std::sort(by_time.begin(), by_time.end(), [](const auto& a, const auto& b) { return a.second > b.second; });

  if (json) {
    JsonWriter j;
    j.begin_object()
        .field("model", model_path)
        .field("batch", batch)
        .field("threads", threads)
        .field("iters", static_cast<int64_t>(ms.size()))
        .field("warmup", warmup)
        .field("latency_ms", median)
        .field("latency_ms_min", lo)
        .field("latency_ms_mean", mean)
        .field("latency_ms_p90", p90)
        .field("throughput", throughput)
        .field("arena_bytes", static_cast<int64_t>(exec.arena_bytes()));
    if (!by_time.empty()) {
      j.key("profile_ms").begin_object();
      for (const auto& [op, t] : by_time) j.field(op, t);
      j.end_object();
    }
    j.end_object();
    std::puts(j.str().c_str());
    return 0;
  }
  std::printf("model       %s\n", model_path.c_str());
  std::printf("input       %s (random)\n", input_desc.c_str());
  std::printf("threads     %s\n", threads == 0 ? "all cores" : std::to_string(threads).c_str());
  std::printf("latency     %.3f ms median per batch (min %.3f, mean %.3f, p90 %.3f; %zu runs after %lld warm-up)\n", median, lo,
              mean, p90, ms.size(), static_cast<long long>(warmup));
  std::printf("throughput  %s images/s\n", thousands(static_cast<int64_t>(throughput + 0.5)).c_str());
  std::printf("arena       %s\n", human_bytes(static_cast<double>(exec.arena_bytes())).c_str());
  if (!by_time.empty()) {
    std::printf("\nprofile (ms per batch, by op)\n");
    for (const auto& [op, t] : by_time) std::printf("  %9.3f  %s\n", t, op.c_str());
  }
  return 0;
}

}  // namespace eqcli
