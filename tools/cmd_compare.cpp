// edgequant compare FLOAT.onnx QUANT.onnx --dataset D: per-layer error of a quantized model
// against its float original (SQNR and cosine similarity), worst layers first.
//
// Layers are matched by value name: a float value V is compared with the quantized model's
// quantize(V) (dequantized; in the integer runtime that value is produced by an integer op), or
// with V itself where the quantized model left V in float.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "edgequant/dataset.h"
#include "edgequant/quantize.h"
#include "json_writer.h"
#include "progress.h"
#include "verbs.h"

namespace eqcli {
namespace {

struct LayerStats {
  std::string name;      // value name in the float model
  std::string node, op;  // its producer in the float model
  std::string quant_value;
  float scale = 0;  // dequantization of quant_value, 0 when it is f32
  int32_t zero_point = 0;
  bool integer = false;
  double signal = 0, noise = 0, dot = 0, qq = 0, max_abs = 0;
  int64_t count = 0;
  double sqnr_db() const { return noise > 0 ? 10.0 * std::log10(signal / noise) : INFINITY; }
  double cosine() const { return signal > 0 && qq > 0 ? dot / std::sqrt(signal * qq) : (noise == 0 ? 1.0 : 0.0); }
};

float scalar_constant(const eq::Graph& g, int v) {
  const eq::Tensor& t = *g.value(v).constant;
  return static_cast<float>(t.to_double_vector().at(0));
}

void accumulate(LayerStats& s, const eq::Tensor& f, const eq::Tensor& q) {
  if (f.numel() != q.numel()) throw eq::Error("compare: layer '" + s.name + "' has " + std::to_string(f.numel()) +
                                              " values in the float model and " + std::to_string(q.numel()) + " in the quantized one");
  const float* a = f.data<float>();
  for (int64_t i = 0; i < f.numel(); ++i) {
    double b;
    if (q.dtype() == eq::DType::f32) b = q.data<float>()[i];
    else if (q.dtype() == eq::DType::i8) b = (static_cast<double>(q.data<int8_t>()[i]) - s.zero_point) * s.scale;
    else if (q.dtype() == eq::DType::u8) b = (static_cast<double>(q.data<uint8_t>()[i]) - s.zero_point) * s.scale;
    else if (q.dtype() == eq::DType::i16) b = (static_cast<double>(q.data<int16_t>()[i]) - s.zero_point) * s.scale;
    else throw eq::Error("compare: layer '" + s.name + "' is " + std::string(eq::dtype_name(q.dtype())) + " in the quantized model");
    const double x = a[i], d = x - b;
    s.signal += x * x;
    s.noise += d * d;
    s.dot += x * b;
    s.qq += b * b;
    s.max_abs = std::max(s.max_abs, std::fabs(d));
  }
  s.count += f.numel();
}

}  // namespace

const Command& compare_command() {
  static const Command c{
      "compare",
      {"FLOAT.onnx", "QUANT.onnx"},
      "Per-layer SQNR and cosine similarity of a quantized model against its float original.",
      "Both models run on the same inputs; every float activation is compared with its quantized\n"
      "counterpart (the dequantized int8 value the integer runtime produces, or with --simulate the\n"
      "fake-quant value), worst SQNR first. SQNR = 10 log10(sum x^2 / sum (x - q)^2).\n"
      "--json prints one JSON object: float_model, quant_model, mode, samples, layers [{value, node,\n"
      "op, sqnr_db, cosine, max_abs_error, integer}] (worst first).",
      {{"--dataset", "-d", "NAME", "a named dataset: fashion-mnist:test, fashion-mnist:train"},
       {"--data", "", "FILE", "inputs file (IDX/.gz, .npy, .npz)"},
       {"--limit", "-n", "N", "use the first N samples (default 256)"},
       {"--batch", "-b", "B", "batch size (default 64)"},
       {"--top", "", "K", "print only the K worst layers (default: all)"},
       threads_option(),
       simulate_option(),
       {"--json", "", "", "print one JSON object instead of the table"}},
  };
  return c;
}

int run_compare(const Args& args) {
  const std::string fpath = args.positionals()[0], qpath = args.positionals()[1];
  const bool json = args.has("--json"), simulate = args.has("--simulate");
  const int threads = threads_from(args);
  const int64_t limit = args.get_int("--limit", 256, 1, INT64_MAX);
  const int64_t batch = args.get_int("--batch", 64, 1, 1 << 20);
  const int64_t top = args.get_int("--top", -1, 1, INT64_MAX);
  if (args.has("--dataset") == args.has("--data")) throw UsageError("compare needs one of --dataset NAME or --data FILE");

  eq::Graph fg = load_model(fpath);
  eq::Graph qg = load_model(qpath);
  if (fg.inputs.size() != 1 || qg.inputs.size() != 1) throw eq::Error("compare: both models must have exactly one input");
  const eq::Dataset ds = args.has("--data") ? eq::load_dataset_files(*args.get("--data"), "", true)
                                            : eq::load_named_dataset(*args.get("--dataset"));
  const int64_t n = std::min(limit, ds.size());
  if (n == 0) throw eq::Error("compare: dataset '" + ds.name + "' is empty");
  check_model_input(fg, 0, ds.batch(0, 1), "dataset '" + ds.name + "'");
  check_model_input(qg, 0, ds.batch(0, 1), "dataset '" + ds.name + "'");

  // Float value name -> its quantized counterpart in the QDQ graph.
  std::map<std::string, LayerStats> layers;
  auto float_name = [&](const std::string& qname) -> std::string {
    if (fg.find_value(qname) >= 0) return qname;
    const std::string suffix = "_float";  // convert renames a quantized model output this way
    if (qname.size() > suffix.size() && qname.compare(qname.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string base = qname.substr(0, qname.size() - suffix.size());
      if (fg.find_value(base) >= 0) return base;
    }
    return {};
  };
  for (const eq::Node& nd : qg.nodes) {
    if (nd.op != "quantized_decomposed.quantize_per_tensor.default") continue;
    const std::string fname = float_name(qg.value(nd.inputs[0]).name);
    if (fname.empty() || layers.count(fname)) continue;
    LayerStats s;
    s.name = fname;
    s.quant_value = qg.value(nd.outputs[0]).name;
    s.scale = scalar_constant(qg, nd.inputs[1]);
    s.zero_point = nd.inputs.size() > 2 && nd.inputs[2] >= 0 ? static_cast<int32_t>(scalar_constant(qg, nd.inputs[2])) : 0;
    layers[fname] = s;
  }
  // Float values the quantized model computes in float under the same name (and not via a Q).
  for (const eq::Value& v : qg.values) {
    if (v.dtype != eq::DType::f32 || v.producer < 0 || layers.count(v.name)) continue;
    const int fv = fg.find_value(v.name);
    if (fv < 0 || fg.value(fv).producer < 0) continue;
    const std::string& op = qg.nodes[static_cast<size_t>(v.producer)].op;
    if (op.rfind("quantized_decomposed.", 0) == 0) continue;
    LayerStats s;
    s.name = v.name;
    s.quant_value = v.name;
    layers[v.name] = s;
  }
  prepare_quantized_for_execution(qg, simulate);

  std::map<int, LayerStats*> by_float_value, by_quant_value;
  for (auto& [name, s] : layers) {
    const int fv = fg.find_value(name), qv = qg.find_value(s.quant_value);
    if (fv < 0 || qv < 0 || fg.value(fv).producer < 0) continue;
    const eq::Node& fn = fg.nodes[static_cast<size_t>(fg.value(fv).producer)];
    s.node = fn.name;
    s.op = fn.op;
    // Integer when the runtime holds this value as integers (produced by an integer op, or moved
    // as int8 by a data-movement op), not when a float op's output is quantized afterwards.
    const int qp = qg.value(qv).producer;
    s.integer = qg.value(qv).dtype != eq::DType::f32 && qp >= 0 &&
                qg.nodes[static_cast<size_t>(qp)].op.rfind("quantized_decomposed.", 0) != 0;
    by_float_value[fv] = &s;
    by_quant_value[qv] = &s;
  }
  if (by_quant_value.empty()) throw eq::Error("compare: no value of '" + qpath + "' matches a value of '" + fpath + "' by name");

  eq::Executor fe(std::move(fg), eq::ExecutorOptions{threads});
  eq::Executor qe(std::move(qg), eq::ExecutorOptions{threads});
  Progress progress("compare", n, "img");
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t count = std::min(batch, n - begin);
    const eq::Tensor x = ds.batch(begin, count);
    std::map<LayerStats*, eq::Tensor> float_values;
    fe.run({x}, [&](int v, const eq::Tensor& t) {
      auto it = by_float_value.find(v);
      if (it != by_float_value.end()) float_values[it->second] = t.clone();
    });
    qe.run({x}, [&](int v, const eq::Tensor& t) {
      auto it = by_quant_value.find(v);
      if (it == by_quant_value.end()) return;
      auto f = float_values.find(it->second);
      if (f != float_values.end()) accumulate(*it->second, f->second, t);
    });
    progress.update(begin + count);
  }
  progress.finish();

  std::vector<const LayerStats*> order;
  for (const auto& [v, s] : by_quant_value)
    if (s->count > 0) order.push_back(s);
  std::sort(order.begin(), order.end(), [](const LayerStats* a, const LayerStats* b) {
    return a->sqnr_db() < b->sqnr_db() || (a->sqnr_db() == b->sqnr_db() && a->name < b->name);
  });
  if (top > 0 && static_cast<int64_t>(order.size()) > top) order.resize(static_cast<size_t>(top));
  const char* mode = simulate ? "simulate" : "integer";
  if (json) {
    JsonWriter j;
    j.begin_object().field("float_model", fpath).field("quant_model", qpath).field("mode", mode).field("samples", n);
    j.key("layers").begin_array();
    for (const LayerStats* s : order)
      j.begin_object()
          .field("value", s->name)
          .field("node", s->node)
          .field("op", s->op)
          .field("sqnr_db", s->sqnr_db())
          .field("cosine", s->cosine())
          .field("max_abs_error", s->max_abs)
          .field("integer", s->integer)
          .end_object();
    j.end_array().end_object();
    std::puts(j.str().c_str());
    return 0;
  }
  std::printf("%s vs %s, %s samples of %s, %s\n", base_name(qpath).c_str(), base_name(fpath).c_str(),
              thousands(n).c_str(), ds.name.c_str(), simulate ? "simulated (fake-quant fp32)" : "integer runtime");
  std::printf("%-40s %-28s %9s %9s %11s  %s\n", "value", "op", "SQNR dB", "cosine", "max |err|", "run as");
  for (const LayerStats* s : order)
    std::printf("%-40s %-28s %9.2f %9.6f %11.5g  %s\n", s->name.c_str(), s->op.c_str(), s->sqnr_db(), s->cosine(),
                s->max_abs, s->integer ? "int8" : (s->scale > 0 ? "qdq" : "float"));
  return 0;
}

}  // namespace eqcli
