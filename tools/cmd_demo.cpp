// edgequant demo: the main job on the built-in default. The bundled Fashion-MNIST model is
// quantized for each backend with that backend's own quantizer, partitioned for it, run, and
// summarised in one table (model | format | top-1 | size | delegated | latency), in the spirit of
// the NXP/Arm talks that compare a float model with its NPU deployments.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "classify.h"
#include "edgequant/dataset.h"
#include "edgequant/ethos_u.h"
#include "edgequant/neutron.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"
#include "edgequant/tflite.h"
#include "edgequant/xnnpack.h"
#include "json_writer.h"
#include "progress.h"
#include "verbs.h"

#ifndef EQ_BUNDLED_MODEL
#define EQ_BUNDLED_MODEL "fixtures/models/cnn.onnx"
#endif

namespace eqcli {
namespace {

struct Row {
  std::string key;      // short id (file names, JSON)
  std::string format;   // "fp32", "int8 (Neutron imxrt700, per-tensor)", ...
  std::string runs_on;  // what executed it here
  double top1 = 0;
  int64_t bytes = 0;
  int64_t delegated = -1, compute = 0;  // -1: no partitioner (fp32)
  double latency_ms = 0;
};

// Median batch-1 latency: a few warm-up runs, then up to 400 runs or ~1 s.
double latency_ms(eq::Executor& exec, const eq::Tensor& x) {
  for (int i = 0; i < 10; ++i) exec.run({x});
  std::vector<double> t;
  const auto start = std::chrono::steady_clock::now();
  while (t.size() < 400 && (t.size() < 20 || std::chrono::steady_clock::now() - start < std::chrono::seconds(1))) {
    const auto a = std::chrono::steady_clock::now();
    exec.run({x});
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::nth_element(t.begin(), t.begin() + static_cast<long>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

int64_t compute_nodes(const eq::Graph& g) {
  int64_t n = 0;
  for (const eq::Node& nd : g.nodes) n += !eq::is_quantize_node(nd) && !eq::is_dequantize_node(nd);
  return n;
}

}  // namespace

const Command& demo_command() {
  static const Command c{
      "demo",
      {},
      "The main job on the built-in default: quantize the bundled model for every backend and compare.",
      "Loads the bundled Fashion-MNIST CNN (or --model), calibrates on the first --calib-size\n"
      "Fashion-MNIST training images with each backend's own quantizer — NeutronQuantizer (imxrt700),\n"
      "XNNPACKQuantizer (static per-channel, and dynamic), EthosUQuantizer (int8 on ethos-u55-128,\n"
      "16x8 on ethos-u85-256) — partitions each result for its backend, and evaluates top-1 on the\n"
      "Fashion-MNIST test set. The table gives per row: format, top-1, size of the model's\n"
      "parameters, the share of compute nodes the backend's partitioner delegates, the batch-1\n"
      "latency measured here and what ran it (this machine has no NPU: Neutron and Ethos-U rows run\n"
      "on edgequant's integer kernels, which compute what the NPU's int8 arithmetic computes; the\n"
      "XNNPACK row runs its partitions on libxnnpack). -o DIR also writes each QDQ model there, and\n"
      "each static one as a fully-integer .tflite (the file Vela / the Neutron converter take).\n"
      "--json prints one JSON object {model, calibration_images, test_images, rows: [{key, format,\n"
      "runs_on, top1, bytes, delegated, compute_nodes, latency_ms}]}.",
      {{"--model", "", "MODEL.onnx", "the float model (default: the bundled Fashion-MNIST CNN)"},
       {"--calib-size", "", "N", "calibration images (default 500)"},
       {"--limit", "-n", "N", "evaluate only the first N test images (default: all 10,000)"},
       {"--output", "-o", "DIR", "write the quantized models into DIR (.onnx, and .tflite for the static ones)"},
       threads_option(),
       {"--json", "", "", "print one JSON object instead of the table"}},
  };
  return c;
}

int run_demo(const Args& args) {
  const std::string model_path = args.get("--model", EQ_BUNDLED_MODEL);
  const int64_t calib_size = args.get_int("--calib-size", 500, 1, INT64_MAX);
  const int64_t limit = args.get_int("--limit", -1, 1, INT64_MAX);
  const int threads = threads_from(args);
  const bool json = args.has("--json");
  const std::string out_dir = args.get("--output", "");
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir);

  const eq::Graph g = load_model(model_path);
  if (g.inputs.size() != 1) throw eq::Error(model_path + ": demo needs a model with one input");
  const eq::Dataset test = eq::load_named_dataset("fashion-mnist:test");
  const eq::Dataset train = eq::load_named_dataset("fashion-mnist:train");
  check_model_input(g, 0, test.batch(0, 1), "dataset '" + test.name + "'");
  const int64_t n_test = limit > 0 ? std::min(limit, test.size()) : test.size();
  const int64_t n_calib = std::min(calib_size, train.size());
  std::vector<std::vector<eq::Tensor>> calib;
  for (int64_t b = 0; b < n_calib; b += 32) calib.push_back({train.batch(b, std::min<int64_t>(32, n_calib - b))});
  const eq::Tensor one = test.batch(0, 1);
  const eq::ExecutorOptions opts{threads};
  const std::string name = base_name(model_path);

  std::vector<Row> rows;
  std::vector<std::string> written;  // files under -o DIR
  auto evaluate = [&](Row& r, eq::Graph run_graph) {
    eq::Executor exec(std::move(run_graph), opts);
    r.top1 = classify(exec, test, n_test, 64, model_path, r.key).top1_percent();
    r.latency_ms = latency_ms(exec, one);
  };
  auto quantize = [&](const eq::Quantizer& q, const std::string& key) {
    eq::Prepared p = eq::prepare_pt2e(g, q, opts);
    Progress progress("calibrate " + key, n_calib, "img");
    int64_t done = 0;
    for (const auto& batch : calib) {
      p.run(batch);
      progress.update(done += batch[0].dim(0));
    }
    progress.finish();
    eq::Graph qdq = eq::convert_pt2e(p);
    if (!out_dir.empty()) {
      const std::string stem = out_dir + "/" + name.substr(0, name.rfind('.')) + "." + key;
      eq::onnx::save(qdq, stem + ".onnx");
      written.push_back(stem + ".onnx");
      // The deployable file for the NPU toolchains (Vela, Neutron converter) and LiteRT; dynamic
      // quantization has no fully-integer TFLite form.
      if (key.find("dynamic") == std::string::npos) {
        eq::tflite::ExportOptions eo;
        eo.float_fallback = true;  // a --model with ops TFLite lacks still gets a file (float islands)
        eq::tflite::save(qdq, stem + ".tflite", eo);
        written.push_back(stem + ".tflite");
      }
    }
    return qdq;
  };

  {
    Row r{"fp32", "fp32", "edgequant fp32 (oneDNN)"};
    r.bytes = g.parameter_bytes();
    evaluate(r, g);
    rows.push_back(r);
  }
  // One quantized row: quantize with `q`, partition with `partition` (if any), then run it as
  // `mode` says: integer kernels, integer kernels with XNNPACK partitions, or fake-quant.
  enum class Mode { integer, xnnpack, simulate };
  auto quantized_row = [&](Row r, const eq::Quantizer& q, const std::function<eq::PartitionResult(const eq::Graph&)>& partition,
                           Mode mode) {
    const eq::Graph qdq = quantize(q, r.key);
    r.bytes = qdq.parameter_bytes();
    if (partition) {
      const eq::PartitionResult pr = partition(qdq);
      r.delegated = pr.delegated_nodes();
      r.compute = pr.compute_nodes();
    }
    eq::Graph run = qdq;
    if (mode != Mode::simulate) eq::lower_to_integer(run);
    if (mode == Mode::xnnpack) {
      r.compute = compute_nodes(run);
      r.delegated = static_cast<int64_t>(eq::partition_for_xnnpack(run).delegated_nodes.size());
    }
    evaluate(r, std::move(run));
    rows.push_back(r);
  };
  auto neutron = [](const eq::Graph& q) {
    return eq::NeutronPartitioner(eq::generate_neutron_compile_spec("imxrt700")).partition(q);
  };
  auto ethos = [](const std::string& target) {
    return [target](const eq::Graph& q) { return eq::EthosUPartitioner(eq::EthosUCompileSpec(target)).partition(q); };
  };

  quantized_row({"neutron", "int8 Neutron imxrt700 (per-tensor)", "edgequant int8 kernels (NPU arithmetic)"},
                eq::NeutronQuantizer(eq::NeutronTargetSpec::from_name("imxrt700")), neutron, Mode::integer);
  {
    eq::XNNPACKQuantizer q;
    q.set_global(eq::xnnpack::get_symmetric_quantization_config(true));
    quantized_row({"xnnpack", "int8 XNNPACK (per-channel, static)", "libxnnpack qs8/qc8 + edgequant int8"}, q, {},
                  Mode::xnnpack);
  }
  {
    eq::XNNPACKQuantizer q;
    q.set_global(eq::xnnpack::get_symmetric_quantization_config(true, false, true));
    quantized_row({"xnnpack-dynamic", "int8 dynamic act x int8 weights (XNNPACK config)", "edgequant dynamic int8"}, q,
                  {}, Mode::integer);
  }
  {
    eq::EthosUQuantizer q{eq::EthosUCompileSpec("ethos-u55-128")};
    q.set_global(eq::ethosu::get_symmetric_quantization_config());
    quantized_row({"ethos-u55", "int8 Ethos-U55-128", "edgequant int8 kernels (NPU arithmetic)"}, q,
                  ethos("ethos-u55-128"), Mode::integer);
  }
  {
    // int16 activations are not lowered to integer kernels yet: the QDQ graph runs as fake-quant,
    // which gives the values the integer arithmetic would, up to rounding at each requantization.
    eq::EthosUQuantizer q{eq::EthosUCompileSpec("ethos-u85-256")};
    q.set_global(eq::ethosu::get_symmetric_a16w8_quantization_config());
    quantized_row({"ethos-u85-16x8", "16x8 Ethos-U85-256 (int16 act, int8 weights)", "edgequant fake-quant fp32"}, q,
                  ethos("ethos-u85-256"), Mode::simulate);
  }

  if (json) {
    JsonWriter j;
    j.begin_object()
        .field("model", model_path)
        .field("calibration_images", n_calib)
        .field("test_images", n_test)
        .field("threads", threads)
        .key("rows")
        .begin_array();
    for (const Row& r : rows) {
      j.begin_object()
          .field("key", r.key)
          .field("format", r.format)
          .field("runs_on", r.runs_on)
          .field("top1", r.top1)
          .field("bytes", r.bytes)
          .field("delegated", r.delegated)
          .field("compute_nodes", r.compute)
          .field("latency_ms", r.latency_ms)
          .end_object();
    }
    j.end_array().end_object();
    std::puts(j.str().c_str());
    return 0;
  }
  std::printf("model  %s; calibration: %s Fashion-MNIST train images; test: %s images; %d thread%s\n\n",
              model_path.c_str(), thousands(n_calib).c_str(), thousands(n_test).c_str(), threads, threads == 1 ? "" : "s");
  std::printf("%-8s %-48s %7s %11s %16s %10s  %s\n", "model", "format", "top-1", "size", "delegated", "latency", "runs on");
  const double fp32_top1 = rows[0].top1;
  for (const Row& r : rows) {
    const std::string del = r.delegated < 0 ? "-"
                                            : strprintf("%.0f%% (%lld/%lld)", r.compute ? 100.0 * static_cast<double>(r.delegated) / static_cast<double>(r.compute) : 0.0,
                                                        static_cast<long long>(r.delegated), static_cast<long long>(r.compute));
    std::printf("%-8s %-48s %6.2f%% %11s %16s %7.3f ms  %s\n", name.substr(0, name.rfind('.')).c_str(), r.format.c_str(),
                r.top1, human_bytes(static_cast<double>(r.bytes)).c_str(), del.c_str(), r.latency_ms, r.runs_on.c_str());
  }
  std::printf("\ntop-1 change vs fp32:");
  for (size_t i = 1; i < rows.size(); ++i) std::printf(" %s %+.2f pp%s", rows[i].key.c_str(), rows[i].top1 - fp32_top1, i + 1 < rows.size() ? "," : "\n");
  std::printf("delegated: compute nodes the backend's partitioner places on the accelerator (XNNPACK: on libxnnpack)\n");
  if (!written.empty()) {
    std::printf("\nwritten (QDQ ONNX, and fully-integer TFLite for LiteRT / Vela / Neutron):\n");
    for (const std::string& f : written) std::printf("  %s\n", f.c_str());
  }
  return 0;
}

}  // namespace eqcli
