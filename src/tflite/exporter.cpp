// The TFLite exporter's driver: lowers a copy of the graph, decides the model's inputs and
// outputs (integer, or float with QUANTIZE / DEQUANTIZE), runs one emitter per node, and
// serialises the model (FlatBuffers object API -> bytes, checked by the verifier).
#include <algorithm>
#include <set>

#include "data/file_util.h"
#include "edgequant/error.h"
#include "edgequant/quantize.h"
#include "edgequant/tflite.h"
#include "commute_qdq.h"
#include "emitters.h"

namespace eq::tflite {
namespace ex = eq::tflite_export;
namespace fb = ::tflite;

namespace {

constexpr const char* kQuantize = "quantized_decomposed.quantize_per_tensor.default";
constexpr const char* kDequantize = "quantized_decomposed.dequantize_per_tensor.default";

bool is_qdq(const std::string& op) { return op.rfind("quantized_decomposed.", 0) == 0; }

// A node that computes in float: not a quantize/dequantize, not an integer op, float outputs.
bool computes_in_float(const Graph& g, const Node& n) {
  if (is_qdq(n.op) || n.op.rfind("quantized.", 0) == 0) return false;
  for (int v : n.outputs)
    if (dtype_is_float(g.value(v).dtype)) return true;
  return false;
}

// Model inputs/outputs of rank 4 are NHWC, TFLite's image convention; others keep their order.
ex::Layout io_layout(size_t rank) { return rank == 4 ? ex::nhwc_layout() : ex::identity_layout(rank); }

const ex::EmitterTable& emitter_table() {
  static const ex::EmitterTable table = [] {
    ex::EmitterTable t;
    ex::register_conv_emitters(t);
    ex::register_elementwise_emitters(t);
    ex::register_pool_emitters(t);
    ex::register_movement_emitters(t);
    ex::register_float_emitters(t);
    return t;
  }();
  return table;
}

fb::BuiltinOptionsUnion options_of(fb::QuantizeOptionsT o) {
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}
fb::BuiltinOptionsUnion options_of(fb::DequantizeOptionsT o) {
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

class Driver {
 public:
  Driver(const Graph& g, const ExportOptions& o) : g_(g), o_(o), c_(g, o) {}

  std::string run() {
    for (int v : g_.inputs) add_input(v);
    find_output_dequantizes();
    const ex::EmitterTable& table = emitter_table();
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (absorbed_.count(static_cast<int>(i))) continue;
      const Node& n = g_.nodes[i];
      if (n.op == "quantized_decomposed.choose_qparams.tensor" || n.op.ends_with("_dynamic"))
        c_.fail(n, "dynamic quantization (qparams chosen at run time) has no fully-integer TFLite form; quantize "
                   "with a static config to export TFLite");
      if (computes_in_float(g_, n) && !o_.float_fallback)
        c_.fail(n, "stays float in the quantized graph (" + float_reason(n) +
                       "), so it has no integer TFLite equivalent; export with --float-fallback "
                       "(ExportOptions::float_fallback) to keep it float between DEQUANTIZE and QUANTIZE");
      const auto it = table.find(n.op);
      if (it == table.end()) c_.fail(n, "has no TFLite equivalent in edgequant's exporter");
      it->second(c_, n);
    }
    for (int v : g_.outputs) add_output(v);
    return finish();
  }

  ExportReport report() const { return c_.report; }

  // Why a node stayed float, for the error: the common case worth naming is a conv / linear whose
  // output goes unquantized into a sigmoid / tanh (quantizers that fuse them: TFLite cannot).
  std::string float_reason(const Node& n) const {
    static const std::set<std::string> weighted = {"aten.conv1d.default", "aten.conv2d.default", "aten.linear.default"};
    if (weighted.count(n.op) && n.outputs.size() == 1) {
      const std::vector<int>& r = c_.consumers().at(static_cast<size_t>(n.outputs[0]));
      if (r.size() == 1) {
        const std::string& next = g_.nodes.at(static_cast<size_t>(r[0])).op;
        if (next == "aten.sigmoid.default" || next == "aten.tanh.default")
          return "the quantizer fused the " + next.substr(5, next.find('.', 5) - 5) +
                 " after it, leaving its output unquantized; TFLite's integer ops need it quantized";
      }
    }
    return "no integer kernel matched it";
  }

 private:
  // A model input: integer when every reader quantizes it with one qparams (the quantize nodes
  // disappear; with float_io they become one QUANTIZE), else as it is.
  void add_input(int v) {
    const Value& val = g_.value(v);
    const ex::Layout layout = io_layout(val.shape.size());
    const Shape shape = ex::apply_layout(val.shape, layout);
    const std::vector<int>& readers = c_.consumers().at(static_cast<size_t>(v));
    std::optional<ex::Quant> q;
    DType qdtype = DType::f32;
    bool integer = val.dtype == DType::f32 && !readers.empty();
    for (int r : readers) {
      const Node& n = g_.nodes.at(static_cast<size_t>(r));
      const std::optional<ex::Quant> qq = n.op == kQuantize ? c_.qparams(n.outputs[0]) : std::nullopt;
      const DType d = n.op == kQuantize ? g_.value(n.outputs[0]).dtype : DType::f32;
      if (!qq || (q && !(*q == *qq)) || (q && d != qdtype) || (d != DType::i8 && d != DType::i16)) {
        integer = false;
        break;
      }
      q = qq;
      qdtype = d;
    }
    if (!integer) {
      const std::optional<ex::Quant> vq = c_.qparams(v);
      const int t = c_.add_tensor(val.name, ex::tensor_type(val.dtype), shape, vq ? &*vq : nullptr);
      c_.place(v, ex::Placed{t, layout, {}});
      inputs_.push_back(t);
      return;
    }
    int t;
    if (o_.float_io) {
      t = c_.add_tensor(val.name, fb::TensorType::FLOAT32, shape);
      c_.place(v, ex::Placed{t, layout, {}});
      const int qt = c_.add_tensor(val.name + "_quantized", ex::tensor_type(qdtype), shape, &*q);
      c_.add_op(fb::BuiltinOperator::QUANTIZE, {t}, {qt}, options_of(fb::QuantizeOptionsT{}));
      for (int r : readers) c_.place(g_.nodes[static_cast<size_t>(r)].outputs[0], ex::Placed{qt, layout, {}});
    } else {
      t = c_.add_tensor(val.name, ex::tensor_type(qdtype), shape, &*q);
      for (int r : readers) c_.place(g_.nodes[static_cast<size_t>(r)].outputs[0], ex::Placed{t, layout, {}});
    }
    for (int r : readers) absorbed_.insert(r);
    inputs_.push_back(t);
  }

  // Dequantize nodes whose output is only a model output: the output is the integer tensor (or one
  // DEQUANTIZE of it with float_io).
  void find_output_dequantizes() {
    for (int v : g_.outputs) {
      const int p = g_.value(v).producer;
      if (p < 0) continue;
      const Node& n = g_.nodes.at(static_cast<size_t>(p));
      if (n.op != kDequantize || g_.is_constant(n.inputs[0]) || !c_.consumers().at(static_cast<size_t>(v)).empty())
        continue;
      if (std::count(g_.outputs.begin(), g_.outputs.end(), v) != 1 || !c_.qparams(n.inputs[0])) continue;
      absorbed_.insert(p);
      output_source_[v] = n.inputs[0];
    }
  }

  bool is_io(int t) const {
    return std::find(inputs_.begin(), inputs_.end(), t) != inputs_.end() ||
           std::find(outputs_.begin(), outputs_.end(), t) != outputs_.end();
  }

  // A copy of tensor t (RESHAPE to its own shape) under a new name: one tensor cannot be two of
  // the model's inputs/outputs.
  int copy_of(int t, const std::string& nm) {
    const std::optional<ex::Quant> q = c_.tensor_quant(t);
    const int out = c_.like(t, nm, q ? &*q : nullptr);
    c_.add_reshape(t, out);
    return out;
  }

  void add_output(int v) {
    const Value& val = g_.value(v);
    const ex::Layout layout = io_layout(val.shape.size());
    int t;
    if (const auto it = output_source_.find(v); it != output_source_.end()) {
      const int src = c_.in_layout(it->second, layout);
      if (o_.float_io) {
        t = c_.add_tensor(val.name, fb::TensorType::FLOAT32, ex::apply_layout(val.shape, layout));
        c_.add_op(fb::BuiltinOperator::DEQUANTIZE, {src}, {t}, options_of(fb::DequantizeOptionsT{}));
      } else {
        t = is_io(src) ? copy_of(src, val.name) : src;
      }
    } else {
      t = c_.in_layout(v, layout);
      if (is_io(t)) t = copy_of(t, val.name);
    }
    outputs_.push_back(t);
  }

  std::string finish() {
    fb::SubGraphT& sub = c_.sub();
    sub.inputs = inputs_;
    sub.outputs = outputs_;
    // One signature ("serving_default"), so interpreters can address inputs/outputs by the ONNX names.
    auto sig = std::make_unique<fb::SignatureDefT>();
    sig->signature_key = "serving_default";
    sig->subgraph_index = 0;
    auto add_maps = [&](const std::vector<int>& ids, const std::vector<int>& tensors,
                        std::vector<std::unique_ptr<fb::TensorMapT>>& out) {
      for (size_t i = 0; i < ids.size(); ++i) {
        auto m = std::make_unique<fb::TensorMapT>();
        m->name = g_.value(ids[i]).name;
        m->tensor_index = static_cast<uint32_t>(tensors[i]);
        out.push_back(std::move(m));
      }
    };
    add_maps(g_.inputs, inputs_, sig->inputs);
    add_maps(g_.outputs, outputs_, sig->outputs);
    c_.model.signature_defs.push_back(std::move(sig));

    flatbuffers::FlatBufferBuilder fbb;
    fb::FinishModelBuffer(fbb, fb::Model::Pack(fbb, &c_.model));
    std::string bytes(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
    const std::string why = verify(bytes.data(), bytes.size());
    check(why.empty(), "internal: the TFLite file written fails verification: " + why);
    c_.report.bytes = bytes.size();
    return bytes;
  }

  const Graph& g_;
  const ExportOptions& o_;
  ex::Context c_;
  std::set<int> absorbed_;
  std::map<int, int> output_source_;  // model output value -> the integer value its dequantize read
  std::vector<int> inputs_, outputs_;
};

}  // namespace

std::string export_to_bytes(const Graph& g, const ExportOptions& options, ExportReport* report) {
  Graph lowered = g;
  LowerOptions lo;
  lo.int16_activations = true;        // 16x8 models become TFLite's int16 kernels
  lo.fuse_float_activations = false;  // TFLite has no conv / FC with a float sigmoid / tanh
  lower_to_integer(lowered, lo);
  ex::commute_qdq_with_movement(lowered);
  Driver d(lowered, options);
  std::string bytes = d.run();
  if (report) *report = d.report();
  return bytes;
}

void save(const Graph& g, const std::string& path, const ExportOptions& options, ExportReport* report) {
  const std::string bytes = export_to_bytes(g, options, report);
  data::write_file_atomic(path, bytes.data(), bytes.size());
}

std::string verify(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (size < 8 || !fb::ModelBufferHasIdentifier(p)) return "not a TFLite model (no \"TFL3\" file identifier)";
  flatbuffers::Verifier v(p, size);
  if (!fb::VerifyModelBuffer(v)) return "the FlatBuffers verifier rejects the model (offsets, vectors or tables out of bounds)";
  const fb::Model* m = fb::GetModel(p);
  const size_t codes = m->operator_codes() ? m->operator_codes()->size() : 0;
  const size_t buffers = m->buffers() ? m->buffers()->size() : 0;
  if (!m->subgraphs() || m->subgraphs()->size() == 0) return "the model has no subgraph";
  for (const fb::SubGraph* sg : *m->subgraphs()) {
    const size_t tensors = sg->tensors() ? sg->tensors()->size() : 0;
    auto in_range = [&](const flatbuffers::Vector<int32_t>* ids, bool optional_allowed) {
      if (!ids) return true;
      for (int32_t i : *ids)
        if (!(i >= 0 && static_cast<size_t>(i) < tensors) && !(optional_allowed && i == -1)) return false;
      return true;
    };
    if (sg->tensors())
      for (const fb::Tensor* t : *sg->tensors())
        if (t->buffer() >= buffers) return "tensor '" + std::string(t->name() ? t->name()->str() : "") + "' refers to a missing buffer";
    if (!in_range(sg->inputs(), false) || !in_range(sg->outputs(), false)) return "a subgraph input/output index is out of range";
    if (sg->operators())
      for (const fb::Operator* op : *sg->operators()) {
        if (op->opcode_index() >= codes) return "an operator's opcode index is out of range";
        if (!in_range(op->inputs(), true) || !in_range(op->outputs(), false)) return "an operator's tensor index is out of range";
      }
  }
  return "";
}

}  // namespace eq::tflite
