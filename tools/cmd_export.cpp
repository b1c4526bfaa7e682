// edgequant export Q.onnx -o model.tflite [--float-io] [--float-fallback] [--json]: a quantized
// (QDQ) ONNX model as a fully-integer TFLite flatbuffer (eq::tflite::save), plus the report
// helpers `quantize --format tflite` shares.
#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "edgequant/tflite.h"
#include "json_writer.h"
#include "verbs.h"

namespace eqcli {

Option float_io_option() {
  return {"--float-io", "", "", "float32 model inputs/outputs with QUANTIZE/DEQUANTIZE at the edges (default: int8)"};
}

Option float_fallback_option() {
  return {"--float-fallback", "", "", "keep ops with no integer TFLite equivalent in float (default: an error naming the op)"};
}

eq::tflite::ExportOptions export_options_from(const Args& args) {
  eq::tflite::ExportOptions o;
  o.float_io = args.has("--float-io");
  o.float_fallback = args.has("--float-fallback");
  return o;
}

namespace {

// Builtins most used first (then by name), so the summary starts with what the model is made of.
std::vector<std::pair<std::string, int>> builtins_by_count(const eq::tflite::ExportReport& r) {
  std::vector<std::pair<std::string, int>> v(r.builtins.begin(), r.builtins.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return v;
}

}  // namespace

std::string export_summary(const eq::tflite::ExportReport& r) {
  std::string ops;
  for (const auto& [name, count] : builtins_by_count(r)) ops += (ops.empty() ? "" : ", ") + name + (count > 1 ? " ×" + std::to_string(count) : "");
  std::string s = thousands(static_cast<int64_t>(r.operators)) + " operators (" + ops + "), " +
                  std::to_string(r.float_operators) + " float, " + std::to_string(r.transposes) +
                  (r.transposes == 1 ? " transpose, " : " transposes, ") + thousands(static_cast<int64_t>(r.bytes)) + " bytes";
  if (!r.float_nodes.empty()) {
    std::string nodes;
    for (size_t i = 0; i < r.float_nodes.size() && i < 3; ++i) nodes += (i ? ", " : "") + r.float_nodes[i];
    if (r.float_nodes.size() > 3) nodes += ", ...";
    s += "; kept in float: " + nodes;
  }
  return s;
}

void write_export_report(JsonWriter& j, const eq::tflite::ExportReport& r) {
  j.field("operators", r.operators).key("builtins").begin_object();
  for (const auto& [name, count] : r.builtins) j.field(name, count);  // std::map: sorted, deterministic
  j.end_object().field("float_operators", r.float_operators).key("float_nodes").begin_array();
  for (const std::string& n : r.float_nodes) j.value(n);
  j.end_array().field("transposes", r.transposes).field("bytes", r.bytes);
}

const Command& export_command() {
  static const Command c{
      "export",
      {"MODEL.onnx"},
      "Write a quantized (QDQ) model as a fully-integer TFLite flatbuffer (LiteRT, Vela, Neutron).",
      "Reads a QDQ model (the output of `edgequant quantize`), lowers it to integer ops (what `run`\n"
      "executes) and maps each quantized op to the TFLite builtin with the same reference arithmetic\n"
      "(docs/tflite.md has the table). Activations are NHWC: a [N,1,28,28] ONNX input becomes\n"
      "[1,28,28,1] with batch -1 in shape_signature. Inputs and outputs are int8 (int16 for 16x8\n"
      "models) carrying the quantization of the first/last quantized tensor; --float-io makes them\n"
      "float32 with QUANTIZE/DEQUANTIZE inside the model. An op with no integer TFLite equivalent is\n"
      "an error naming it, unless --float-fallback keeps it in float between DEQUANTIZE and QUANTIZE.\n"
      "The same model and options give the same bytes; the file is written atomically.\n"
      "`edgequant quantize ... -o model.tflite` calibrates and exports in one step.\n"
      "--json prints one JSON object: model, output, float_io, float_fallback, operators, builtins\n"
      "{NAME: count}, float_operators, float_nodes [\"name (op)\"], transposes, bytes.",
      {{"--output", "-o", "OUT.tflite", "where to write the TFLite model"},
       float_io_option(),
       float_fallback_option(),
       {"--json", "", "", "print one JSON object instead of the summary"}},
  };
  return c;
}

int run_export(const Args& args) {
  const std::string model_path = args.positionals()[0];
  if (!args.has("--output")) throw UsageError("export needs -o OUT.tflite");
  const std::string out_path = *args.get("--output");
  const eq::tflite::ExportOptions options = export_options_from(args);

  const eq::Graph g = load_model(model_path);
  eq::tflite::ExportReport report;
  eq::tflite::save(g, out_path, options, &report);

  if (args.has("--json")) {
    JsonWriter j;
    j.begin_object()
        .field("model", model_path)
        .field("output", out_path)
        .field("float_io", options.float_io)
        .field("float_fallback", options.float_fallback);
    write_export_report(j, report);
    j.end_object();
    std::puts(j.str().c_str());
    return 0;
  }
  std::printf("%s -> %s: %s\n", model_path.c_str(), out_path.c_str(), export_summary(report).c_str());
  return 0;
}

}  // namespace eqcli
