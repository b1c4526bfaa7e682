// edgequant quantize MODEL.onnx --calib DATA -o OUT.onnx: post-training quantization to a QDQ
// ONNX model (prepare_pt2e → calibrate → convert_pt2e with the generic int8 quantizer, or a
// backend's quantizer with --backend), or with --format tflite to a fully-integer TFLite model.
#include <chrono>
#include <cstdio>
#include <map>

#include <fstream>
#include <memory>

#include "edgequant/backends.h"
#include "edgequant/dataset.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"
#include "edgequant/tflite.h"
#include "json_writer.h"
#include "progress.h"
#include "verbs.h"

namespace eqcli {
namespace {

eq::ObserverSpec parse_observer(const std::string& s) {
  eq::ObserverSpec o;
  if (s == "minmax") {
    o.kind = eq::ObserverKind::minmax;
  } else if (s == "moving-average") {
    o.kind = eq::ObserverKind::moving_average_minmax;
  } else if (s == "histogram") {
    o.kind = eq::ObserverKind::histogram;
  } else if (s == "entropy") {
    o.kind = eq::ObserverKind::entropy;
    o.bins = 128;  // onnxruntime's default for its entropy calibrator
  } else if (s == "percentile" || s.rfind("percentile:", 0) == 0) {
    o.kind = eq::ObserverKind::percentile;
    if (s.size() > 11) {
      const std::string p = s.substr(11);
      char* end = nullptr;
      o.percentile = std::strtod(p.c_str(), &end);
      if (end == p.c_str() || *end != '\0' || !(o.percentile > 0 && o.percentile <= 100))
        throw UsageError("--observer percentile:P needs 0 < P <= 100, got '" + p + "'");
    }
  } else {
    throw UsageError("--observer '" + s + "' is not one of minmax, moving-average, histogram, percentile[:P], entropy");
  }
  return o;
}

nlohmann::json read_config(const std::string& path) {
  std::ifstream f(path);
  if (!f.good()) throw eq::Error("--config: cannot read '" + path + "'");
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw eq::Error("--config '" + path + "': not valid JSON (" + std::string(e.what()) + ")");
  }
}

// The quantizer the options ask for, and one line saying what it is.
std::unique_ptr<eq::Quantizer> quantizer_from_args(const Args& args, std::string& description) {
  const std::string backend = args.get("--backend", "generic");
  if (backend == "generic") {
    if (args.has("--target")) throw UsageError("--target needs --backend neutron|ethos-u");
    if (args.has("--config")) throw UsageError("--config needs --backend neutron|xnnpack|ethos-u");
    const std::string observer_name = args.get("--observer", "histogram");
    const bool per_channel = args.has("--per-channel");
    description = "generic: int8 affine activations (" + observer_name + "), int8 symmetric weights " +
                  (per_channel ? "per channel" : "per tensor") + ", int32 bias";
    return std::make_unique<eq::GenericQuantizer>(eq::symmetric_int8_config(per_channel, parse_observer(observer_name)));
  }
  if (args.has("--observer") || args.has("--per-channel"))
    throw UsageError("--observer and --per-channel configure the generic quantizer; a backend quantizer takes its "
                     "scheme from --config (e.g. {\"global\": {\"per_channel\": true}})");
  const nlohmann::json config = args.has("--config") ? read_config(*args.get("--config")) : nlohmann::json::object();
  const std::string target = args.get("--target", "");
  std::unique_ptr<eq::Quantizer> q;
  try {
    q = eq::make_backend_quantizer(backend, target, config);
  } catch (const eq::Error& e) {
    throw UsageError(e.what());  // a wrong backend, target or config key is a command-line mistake
  }
  const std::string t = target.empty() ? eq::default_target(backend) : target;
  description = backend + (t.empty() ? "" : " (" + t + ")") +
                (args.has("--config") ? ", config " + *args.get("--config") : ", default config");
  return q;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// --format onnx|tflite; without it, a .tflite output means tflite. Checked before calibrating.
std::string output_format(const Args& args, const std::string& out_path) {
  const std::string format = args.get("--format", ends_with(out_path, ".tflite") ? "tflite" : "onnx");
  if (format != "onnx" && format != "tflite") throw UsageError("--format '" + format + "' is not one of onnx, tflite");
  if (format != "tflite") {
    for (const char* opt : {"--float-io", "--float-fallback"})
      if (args.has(opt)) throw UsageError(std::string(opt) + " applies to --format tflite");
  }
  return format;
}

}  // namespace

const Command& quantize_command() {
  static const Command c{
      "quantize",
      {"MODEL.onnx"},
      "Post-training int8 quantization: calibrate on data, write a QDQ ONNX (or TFLite) model.",
      "The PT2E flow: the generic quantizer annotates the graph (int8 affine activations, int8\n"
      "symmetric weights per tensor or per output channel, int32 bias; conv/linear fused with a\n"
      "following relu/hardtanh/sigmoid/tanh; pools and reshapes share their input's qparams; softmax\n"
      "and sigmoid get 1/256, tanh 1/128), prepare_pt2e attaches one observer per sharing group,\n"
      "the first --calib-size calibration images are run through it, and convert_pt2e writes int8\n"
      "weights, int32 bias and QuantizeLinear/DequantizeLinear pairs. `edgequant eval OUT.onnx` runs\n"
      "the result in integer arithmetic. A progress bar is drawn on stderr when it is a terminal.\n"
      "--json prints one JSON object: model, output, quantizer, observer, per_channel, calibration\n"
      "{dataset, images, batch, seconds, images_per_second}, nodes {total, quantized, float},\n"
      "float_nodes [{node, op, reason}], size {before_bytes, after_bytes}, seconds.\n"
      "--backend neutron|xnnpack|ethos-u uses that backend's quantizer (ExecuTorch's NeutronQuantizer,\n"
      "XNNPACKQuantizer, EthosUQuantizer); --config CFG.json sets its options and per-module /\n"
      "per-operator overrides, e.g. {\"global\": {\"is_per_channel\": true}, \"module_name\": {\"fc\": null}}\n"
      "(null keeps those nodes in float; format in include/edgequant/backends.h).\n"
      "--format tflite (implied by an -o ending in .tflite) writes the quantized graph as a\n"
      "fully-integer TFLite model instead, as `edgequant export` does (--float-io, --float-fallback\n"
      "as there); --json then adds format and tflite {operators, builtins, float_operators,\n"
      "float_nodes, transposes, bytes}.",
      {{"--calib", "", "DATA", "calibration data: fashion-mnist:train (or :test), or an .npy/.npz/IDX images file"},
       {"--calib-size", "", "N", "number of calibration images (default 1000)"},
       {"--observer", "", "KIND", "minmax | moving-average | histogram (default) | percentile[:P] | entropy"},
       {"--per-channel", "", "", "per-output-channel weight scales (default: per tensor)"},
       {"--backend", "", "NAME", "generic (default) | neutron | xnnpack | ethos-u: the backend's own quantizer"},
       {"--target", "", "T", "backend target: imxrt700 (neutron), ethos-u55-128 ... ethos-u85-2048 (ethos-u)"},
       {"--config", "", "CFG.json", "backend config: global / module_name / module_type / operator_type overrides"},
       {"--output", "-o", "OUT.onnx", "where to write the QDQ model (or OUT.tflite)"},
       {"--format", "", "FMT", "onnx (default) | tflite (default for an OUT ending in .tflite)"},
       float_io_option(),
       float_fallback_option(),
       {"--batch", "-b", "B", "calibration batch size (default 32)"},
       threads_option(),
       {"--json", "", "", "print one JSON object instead of the summary"}},
  };
  return c;
}

int run_quantize(const Args& args) {
  const std::string model_path = args.positionals()[0];
  if (!args.has("--output")) throw UsageError("quantize needs -o OUT.onnx");
  if (!args.has("--calib")) throw UsageError("quantize needs calibration data: --calib fashion-mnist:train or --calib FILE");
  const std::string out_path = *args.get("--output");
  const std::string format = output_format(args, out_path);
  const std::string calib = *args.get("--calib");
  const int64_t calib_size = args.get_int("--calib-size", 1000, 1, INT64_MAX);
  const int64_t batch = args.get_int("--batch", 32, 1, 1 << 20);
  const std::string observer_name = args.get("--observer", "histogram");
  const bool per_channel = args.has("--per-channel");
  std::string description;
  const std::unique_ptr<eq::Quantizer> quantizer = quantizer_from_args(args, description);
  const bool json = args.has("--json");
  const int threads = threads_from(args);

  const auto t_start = std::chrono::steady_clock::now();
  eq::Graph g = load_model(model_path);
  if (g.inputs.size() != 1)
    throw eq::Error(model_path + ": quantize calibrates models with one input, this one has " + std::to_string(g.inputs.size()));
  const bool named = calib.rfind("fashion-mnist:", 0) == 0;
  const eq::Dataset ds = named ? eq::load_named_dataset(calib) : eq::load_dataset_files(calib, "", true);
  if (ds.size() == 0) throw eq::Error("calibration data '" + calib + "' is empty");
  const int64_t n = std::min(calib_size, ds.size());
  check_model_input(g, 0, ds.batch(0, 1), "calibration data '" + calib + "'");

  eq::Prepared prepared = eq::prepare_pt2e(g, *quantizer, eq::ExecutorOptions{threads});

  Progress progress("calibrate", n, "img");
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min(batch, n - begin);
    prepared.run({ds.batch(begin, count)});
    progress.update(begin + count);
  }
  const double calib_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress.finish();

  const eq::Graph q = eq::convert_pt2e(prepared);
  eq::tflite::ExportReport tflite_report;
  if (format == "tflite") {
    eq::tflite::save(q, out_path, export_options_from(args), &tflite_report);
  } else {
    eq::onnx::save(q, out_path);
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  // Nodes of the prepared graph (after BatchNorm folding): every node the quantizer did not
  // leave out is quantized (annotated itself, or claimed by a fused pattern such as conv+relu).
  const eq::Graph& pg = prepared.graph();
  const std::vector<eq::SkipReason>& left = prepared.skipped();
  const int64_t quantized = static_cast<int64_t>(pg.nodes.size() - left.size());
  const int64_t before = g.parameter_bytes(), after = q.parameter_bytes();
  const double ips = calib_s > 0 ? static_cast<double>(n) / calib_s : 0;

  if (json) {
    JsonWriter j;
    j.begin_object()
        .field("model", model_path)
        .field("output", out_path)
        .field("format", format)
        .field("quantizer", prepared.quantizer_name())
        .field("quantizer_config", description)
        .field("observer", observer_name)
        .field("per_channel", per_channel)
        .key("calibration")
        .begin_object()
        .field("dataset", ds.name)
        .field("images", n)
        .field("batch", batch)
        .field("threads", threads)
        .field("seconds", calib_s)
        .field("images_per_second", ips)
        .end_object()
        .key("nodes")
        .begin_object()
        .field("total", static_cast<int64_t>(pg.nodes.size()))
        .field("quantized", quantized)
        .field("float", static_cast<int64_t>(left.size()))
        .end_object()
        .key("float_nodes")
        .begin_array();
    for (const auto& s : left) {
      const eq::Node& nd = pg.nodes[static_cast<size_t>(s.node)];
      j.begin_object().field("node", nd.name).field("op", nd.op).field("reason", s.reason).end_object();
    }
    j.end_array()
        .key("size")
        .begin_object()
        .field("before_bytes", before)
        .field("after_bytes", after)
        .end_object();
    if (format == "tflite") {
      j.key("tflite").begin_object();
      write_export_report(j, tflite_report);
      j.end_object();
    }
    j.field("seconds", total_s).end_object();
    std::puts(j.str().c_str());
    return 0;
  }
  std::printf("model       %s -> %s\n", model_path.c_str(), out_path.c_str());
  std::printf("quantizer   %s\n", description.c_str());
  std::printf("calibration %s images of %s (batch %lld) in %.2f s (%s images/s)\n", thousands(n).c_str(), ds.name.c_str(),
              static_cast<long long>(batch), calib_s, thousands(static_cast<int64_t>(ips + 0.5)).c_str());
  std::printf("nodes       %s quantized, %s left in float (of %s)\n", thousands(quantized).c_str(),
              thousands(static_cast<int64_t>(left.size())).c_str(), thousands(static_cast<int64_t>(pg.nodes.size())).c_str());
  // Float nodes grouped by reason, a few names each.
  std::map<std::string, std::vector<std::string>> by_reason;
  for (const auto& s : left) by_reason[s.reason].push_back(pg.nodes[static_cast<size_t>(s.node)].name);
  for (const auto& [reason, names] : by_reason) {
    std::string list;
    for (size_t i = 0; i < names.size() && i < 3; ++i) list += (i ? ", " : "") + names[i];
    if (names.size() > 3) list += ", ...";
    std::printf("  float: %zu × %s (%s)\n", names.size(), reason.c_str(), list.c_str());
  }
  std::printf("size        %s -> %s (%.2f×)\n", human_bytes(static_cast<double>(before)).c_str(),
              human_bytes(static_cast<double>(after)).c_str(),
              after > 0 ? static_cast<double>(before) / static_cast<double>(after) : 0.0);
  if (format == "tflite") std::printf("tflite      %s\n", export_summary(tflite_report).c_str());
  std::printf("time        %.2f s\n", total_s);
  return 0;
}

}  // namespace eqcli
