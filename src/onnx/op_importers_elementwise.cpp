// Arithmetic, activations and comparisons (the last only on constants).
#include <cmath>
#include <limits>

#include "const_eval.h"
#include "import_context.h"

namespace eq::onnx_impl {
namespace {

bool foldable_dtype(DType t) { return t != DType::i4 && t != DType::u4; }

bool all_constant_foldable(const NodeImport& n) {
  if (!n.all_inputs_constant()) return false;
  for (size_t i = 0; i < n.num_inputs(); ++i)
    if (n.has_input(i) && !foldable_dtype(n.constant(i)->dtype())) return false;
  return true;
}

// Binary ops that are evaluated on constants and mapped to an IR op otherwise ("" = constants only).
void binary(NodeImport& n, const char* ir_op, bool arithmetic) {
  if (!*ir_op && !all_constant_foldable(n)) throw n.unsupported("op on non-constant inputs");
  n.require(n.num_inputs() == 2 && n.has_input(0) && n.has_input(1), "takes 2 inputs");
  if (arithmetic) reject_batch_token_arithmetic(n);
  if (all_constant_foldable(n)) {
    const int64_t fmod = n.op_type == "Mod" ? n.attr_i("fmod", 0) : 0;
    n.bind(0, n.add_constant(ce_binary(n.op_type, *n.constant(0), *n.constant(1), fmod)));
    return;
  }
  if (!*ir_op) throw n.unsupported("op on non-constant inputs");
  n.bind(0, n.emit1(ir_op, {n.input(0), n.input(1)}));
}

void unary(NodeImport& n, const char* ir_op, Attrs attrs = {}) {
  n.require(n.has_input(0), "takes 1 input");
  if (ce_is_unary(n.op_type) && all_constant_foldable(n)) {
    if (n.op_type == "Neg" || n.op_type == "Abs") reject_batch_token_arithmetic(n);
    n.bind(0, n.add_constant(ce_unary(n.op_type, *n.constant(0))));
    return;
  }
  if (!*ir_op) throw n.unsupported("op on non-constant inputs");
  n.bind(0, n.emit1(ir_op, {n.input(0)}, std::move(attrs)));
}

double scalar_of(const NodeImport& n, size_t i, const std::string& what) {
  const Tensor& t = n.require_constant(i, what);
  n.require(t.numel() == 1, what + " must be a scalar");
  return values_f64(t)[0];
}

void import_clip(NodeImport& n) {
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  if (n.has_attr("min") || n.has_attr("max")) {  // opset < 11
    lo = n.attr_f("min", lo);
    hi = n.attr_f("max", hi);
  }
  if (n.has_input(1)) lo = scalar_of(n, 1, "Clip min");
  if (n.has_input(2)) hi = scalar_of(n, 2, "Clip max");
  Attrs a;
  a.set("min_val", lo);
  a.set("max_val", hi);
  n.bind(0, n.emit1("aten.hardtanh.default", {n.input(0)}, a));
}

void import_where(NodeImport& n) {
  n.require(n.num_inputs() == 3 && n.has_input(0) && n.has_input(1) && n.has_input(2), "takes 3 inputs");
  if (!all_constant_foldable(n)) throw n.unsupported("op on non-constant inputs");
  n.bind(0, n.add_constant(ce_where(*n.constant(0), *n.constant(1), *n.constant(2))));
}

}  // namespace

void register_elementwise_importers(OpImporterTable& t) {
  t["Add"] = [](NodeImport& n) { binary(n, "aten.add.Tensor", true); };
  t["Sub"] = [](NodeImport& n) { binary(n, "aten.sub.Tensor", true); };
  t["Mul"] = [](NodeImport& n) { binary(n, "aten.mul.Tensor", true); };
  t["Div"] = [](NodeImport& n) { binary(n, "aten.div.Tensor", true); };
  t["Pow"] = [](NodeImport& n) { binary(n, "aten.pow.Tensor_Tensor", true); };
  for (const char* op : {"Mod", "Max", "Min"})
    t[op] = [](NodeImport& n) { binary(n, "", true); };
  for (const char* op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"})
    t[op] = [](NodeImport& n) { binary(n, "", false); };
  t["Where"] = import_where;

  t["Relu"] = [](NodeImport& n) { unary(n, "aten.relu.default"); };
  t["Sigmoid"] = [](NodeImport& n) { unary(n, "aten.sigmoid.default"); };
  t["Tanh"] = [](NodeImport& n) { unary(n, "aten.tanh.default"); };
  t["Abs"] = [](NodeImport& n) { unary(n, "aten.abs.default"); };
  t["Neg"] = [](NodeImport& n) { unary(n, "aten.neg.default"); };
  t["Exp"] = [](NodeImport& n) { unary(n, "aten.exp.default"); };
  t["Sqrt"] = [](NodeImport& n) { unary(n, "aten.sqrt.default"); };
  t["Erf"] = [](NodeImport& n) { unary(n, "aten.erf.default"); };
  t["HardSwish"] = [](NodeImport& n) { unary(n, "aten.hardswish.default"); };
  t["Reciprocal"] = [](NodeImport& n) { unary(n, "aten.reciprocal.default"); };
  for (const char* op : {"Not", "Floor", "Ceil", "Sign"})
    t[op] = [](NodeImport& n) { unary(n, ""); };
  t["HardSigmoid"] = [](NodeImport& n) {
    Attrs a;
    a.set("alpha", n.attr_f("alpha", 0.2));
    a.set("beta", n.attr_f("beta", 0.5));
    unary(n, "aten.hardsigmoid.default", a);
  };
  t["LeakyRelu"] = [](NodeImport& n) {
    Attrs a;
    a.set("negative_slope", n.attr_f("alpha", 0.01));
    unary(n, "aten.leaky_relu.default", a);
  };
  t["Gelu"] = [](NodeImport& n) {
    const std::string approx = n.attr_s("approximate", "none");
    n.require(approx == "none" || approx == "tanh", "approximate must be 'none' or 'tanh', got '" + approx + "'");
    Attrs a;
    a.set("approximate", approx);
    unary(n, "aten.gelu.default", a);
  };
  t["PRelu"] = [](NodeImport& n) {
    n.require(n.num_inputs() == 2, "takes 2 inputs");
    n.bind(0, n.emit1("aten.prelu.default", {n.input(0), n.input(1)}));
  };
  t["Clip"] = import_clip;
}

}  // namespace eq::onnx_impl
