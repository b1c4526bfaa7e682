#include "import_context.h"

#include "const_eval.h"
#include "edgequant/ops.h"
#include "edgequant/passes.h"
#include "tensor_proto.h"

namespace eq::onnx_impl {
namespace {

using AP = ::onnx::AttributeProto;

bool is_type(const AP& a, AP::AttributeType t, bool has_field) {
  return a.type() == t || (a.type() == AP::UNDEFINED && has_field);
}

}  // namespace

NodeImport::NodeImport(ImportState& st, const ::onnx::NodeProto& p, std::string n, int64_t ops)
    : g(st.g), proto(p), name(std::move(n)), op_type(p.op_type()), opset(ops), st_(st), first_value_(st.g.values.size()) {}

int NodeImport::input(size_t i) const {
  if (!has_input(i)) throw error("input " + std::to_string(i) + " is required");
  const std::string& in = proto.input(static_cast<int>(i));
  auto it = st_.env.find(in);
  if (it == st_.env.end()) throw Error("node '" + name + "': input '" + in + "' is not produced by any node, initializer or graph input");
  return it->second;
}

int NodeImport::input_or_none(size_t i) const { return has_input(i) ? input(i) : kNoValue; }

const Tensor* NodeImport::constant(size_t i) const {
  if (!has_input(i)) return nullptr;
  const Value& v = g.value(input(i));
  return v.constant ? &*v.constant : nullptr;
}

bool NodeImport::all_inputs_constant() const {
  for (size_t i = 0; i < num_inputs(); ++i)
    if (has_input(i) && !constant(i)) return false;
  return true;
}

const Tensor& NodeImport::require_constant(size_t i, const std::string& what) const {
  const Tensor* t = constant(i);
  if (!t) throw error(what + " (input " + std::to_string(i) + ") must be a constant");
  return *t;
}

std::vector<int64_t> NodeImport::const_ints(size_t i, const std::string& what) const {
  const Tensor& t = require_constant(i, what);
  if (dtype_is_float(t.dtype())) throw error(what + " must be an integer tensor");
  return t.to_int64_vector();
}

bool NodeImport::output_used(size_t k) const {
  if (k >= num_outputs()) return false;
  const std::string& o = proto.output(static_cast<int>(k));
  return !o.empty() && st_.used_names.count(o) != 0;
}

void NodeImport::require_outputs_unused_from(size_t k) const {
  for (size_t i = k; i < num_outputs(); ++i)
    if (output_used(i)) throw error("output " + std::to_string(i) + " ('" + proto.output(static_cast<int>(i)) + "') is not supported (only output 0 may be used)");
}

const ::onnx::AttributeProto* NodeImport::attr(const std::string& n) const {
  for (const AP& a : proto.attribute())
    if (a.name() == n) return &a;
  return nullptr;
}

int64_t NodeImport::attr_i(const std::string& n, int64_t fallback) const {
  const AP* a = attr(n);
  if (!a) return fallback;
  if (!is_type(*a, AP::INT, a->has_i())) throw error("attribute '" + n + "' must be an int");
  return a->i();
}

double NodeImport::attr_f(const std::string& n, double fallback) const {
  const AP* a = attr(n);
  if (!a) return fallback;
  if (is_type(*a, AP::FLOAT, a->has_f())) return a->f();
  if (is_type(*a, AP::INT, a->has_i())) return static_cast<double>(a->i());
  throw error("attribute '" + n + "' must be a float");
}

std::string NodeImport::attr_s(const std::string& n, const std::string& fallback) const {
  const AP* a = attr(n);
  if (!a) return fallback;
  if (!is_type(*a, AP::STRING, a->has_s())) throw error("attribute '" + n + "' must be a string");
  return a->s();
}

std::vector<int64_t> NodeImport::attr_ints(const std::string& n, const std::vector<int64_t>& fallback) const {
  const AP* a = attr(n);
  if (!a) return fallback;
  if (!is_type(*a, AP::INTS, a->ints_size() > 0)) throw error("attribute '" + n + "' must be a list of ints");
  return {a->ints().begin(), a->ints().end()};
}

std::vector<double> NodeImport::attr_floats(const std::string& n, const std::vector<double>& fallback) const {
  const AP* a = attr(n);
  if (!a) return fallback;
  if (!is_type(*a, AP::FLOATS, a->floats_size() > 0)) throw error("attribute '" + n + "' must be a list of floats");
  return {a->floats().begin(), a->floats().end()};
}

const ::onnx::TensorProto* NodeImport::attr_tensor(const std::string& n) const {
  const AP* a = attr(n);
  if (!a) return nullptr;
  if (!is_type(*a, AP::TENSOR, a->has_t())) throw error("attribute '" + n + "' must be a tensor");
  return &a->t();
}

int NodeImport::emit(const std::string& op, std::vector<int> inputs, Attrs attrs, int num_outputs) {
  const std::string node_name = emitted_ == 0 ? name : name + "_" + std::to_string(emitted_);
  ++emitted_;
  const int idx = g.add_node(op, node_name, std::move(inputs), num_outputs, std::move(attrs));
  infer_node(g, g.nodes[static_cast<size_t>(idx)]);
  for (int v : g.nodes[static_cast<size_t>(idx)].outputs) {
    int64_t numel = 1;
    for (int64_t d : g.value(v).shape)
      if (d != kBatch && (d < 0 || __builtin_mul_overflow(numel, d, &numel) || numel > (int64_t{1} << 40)))
        throw error("output " + shape_str(g.value(v).shape) + " of " + op + " is too large");
  }
  // Fold when every input is a constant, unless the result would be huge.
  bool small = true;
  for (int v : g.nodes[static_cast<size_t>(idx)].outputs) {
    const Shape& s = g.value(v).shape;
    int64_t n = 1;
    for (int64_t d : s) small = small && d >= 0 && !__builtin_mul_overflow(n, d, &n) && n <= kMaxConstantElements;
  }
  if (small) fold_node(g, idx);
  return idx;
}

int NodeImport::emit1(const std::string& op, std::vector<int> inputs, Attrs attrs) {
  const int idx = emit(op, std::move(inputs), std::move(attrs), 1);
  return g.nodes[static_cast<size_t>(idx)].outputs.at(0);
}

int NodeImport::add_constant(Tensor t, const std::string hint) {
  std::string base = hint;
  if (base.empty()) base = num_outputs() > 0 && !proto.output(0).empty() ? proto.output(0) : name;
  return g.add_constant(g.unique_value_name(base), std::move(t));
}

void NodeImport::bind(size_t k, int value) {
  if (k >= num_outputs()) return;
  const std::string& o = proto.output(static_cast<int>(k));
  if (o.empty()) return;
  if (static_cast<size_t>(value) >= first_value_ && g.value(value).name != o && g.find_value(o) < 0) g.value(value).name = o;
  st_.env[o] = value;
}

const std::vector<int64_t>& NodeImport::check_small(const std::vector<int64_t>& v, const std::string& what) const {
  constexpr int64_t kLimit = int64_t{1} << 31;
  for (int64_t x : v)
    if (x != kBatchToken && (x > kLimit || x < -kLimit)) throw error(what + " value " + std::to_string(x) + " is out of range");
  return v;
}

Error NodeImport::error(const std::string& msg) const { return Error("node '" + name + "' (" + op_type + "): " + msg); }

Error NodeImport::unsupported(const std::string& why) const {
  return Error("node '" + name + "' (" + op_type + ", opset " + std::to_string(opset) + "): unsupported " +
               (why.empty() ? "op" : why));
}

void reject_batch_token_arithmetic(const NodeImport& n) {
  for (size_t i = 0; i < n.num_inputs(); ++i) {
    const Tensor* t = n.constant(i);
    if (t && contains_batch_token(*t))
      throw Error("shape arithmetic on the batch dimension at node '" + n.name +
                  "'; export with a static batch or keep the batch out of reshapes");
  }
}

const OpImporter* find_op_importer(const std::string& op_type) {
  static const OpImporterTable table = [] {
    OpImporterTable t;
    register_elementwise_importers(t);
    register_nn_importers(t);
    register_shape_importers(t);
    register_misc_importers(t);
    return t;
  }();
  auto it = table.find(op_type);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace eq::onnx_impl
