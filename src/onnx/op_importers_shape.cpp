// Shape-producing and data-movement ops: evaluated directly when their inputs are constants,
// mapped to the IR's movement ops otherwise.
#include <algorithm>

#include "const_eval.h"
#include "import_context.h"
#include "tensor_proto.h"

namespace eq::onnx_impl {
namespace {

Tensor i64_tensor(const std::vector<int64_t>& v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

// Target shape of a reshape of a constant: resolves 0 (copy) and -1 (infer).
Shape resolve_static_reshape(const NodeImport& n, const Shape& in, std::vector<int64_t> target, bool allowzero) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allowzero) {
      n.require(i < in.size(), "shape entry 0 at index " + std::to_string(i) + " beyond the input rank");
      target[i] = in[i];
    }
    if (target[i] == -1) {
      n.require(infer < 0, "more than one -1 in the target shape");
      infer = static_cast<int64_t>(i);
    } else {
      n.require(target[i] >= 0, "invalid target shape entry " + std::to_string(target[i]));
      n.require(!__builtin_mul_overflow(known, target[i], &known), "target shape overflows");
    }
  }
  int64_t numel = 1;
  for (int64_t d : in) numel *= d;
  if (infer >= 0) {
    n.require(known != 0 && numel % known == 0, "cannot reshape " + shape_str(in) + " to " + shape_str(target));
    target[static_cast<size_t>(infer)] = numel / known;
  }
  n.require(shape_numel(target) == numel, "cannot reshape " + shape_str(in) + " to " + shape_str(target));
  return target;
}

void bind_reshape(NodeImport& n, int x, std::vector<int64_t> target, bool allowzero) {
  n.check_small(target, "shape");
  int64_t product = 1;
  for (int64_t d : target)
    if (d > 0) n.require(!__builtin_mul_overflow(product, d, &product) && product <= (int64_t{1} << 40), "target shape is too large");
  const Value& v = n.value(x);
  if (v.constant) {
    n.bind(0, n.add_constant(v.constant->reshaped(resolve_static_reshape(n, v.shape, target, allowzero))));
    return;
  }
  if (!allowzero)
    for (size_t i = 0; i < target.size(); ++i)
      if (target[i] == 0) {
        n.require(i < v.shape.size(), "shape entry 0 at index " + std::to_string(i) + " beyond the input rank");
        target[i] = v.shape[i] == kBatch ? kBatchToken : v.shape[i];
      }
  Attrs a;
  a.set("shape", target);
  n.bind(0, n.emit1("aten.reshape.default", {x}, a));
}

void import_shape(NodeImport& n) {
  const Shape s = n.shape(0);  // a copy: emitting may reallocate values
  const int64_t r = static_cast<int64_t>(s.size());
  int64_t start = n.attr_i("start", 0), end = n.attr_i("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(s[static_cast<size_t>(i)] == kBatch ? kBatchToken : s[static_cast<size_t>(i)]);
  n.bind(0, n.add_constant(i64_tensor(dims)));
}

void import_constant(NodeImport& n) {
  n.require(n.proto.attribute_size() == 1, "must have exactly one value attribute");
  const std::string which = n.proto.attribute(0).name();
  Tensor t;
  if (which == "value") t = tensor_from_proto(*n.attr_tensor("value"), "node '" + n.name + "' value");
  else if (which == "value_float") t = Tensor::scalar<float>(static_cast<float>(n.attr_f("value_float", 0)));
  else if (which == "value_int") t = Tensor::scalar<int64_t>(n.attr_i("value_int", 0));
  else if (which == "value_ints") t = i64_tensor(n.attr_ints("value_ints", {}));
  else if (which == "value_floats") {
    const std::vector<double> f = n.attr_floats("value_floats", {});
    t = make_tensor_f64(DType::f32, {static_cast<int64_t>(f.size())}, f);
  } else throw n.unsupported("Constant attribute '" + which + "'");
  n.bind(0, n.add_constant(t));
}

void import_constant_of_shape(NodeImport& n) {
  const Tensor& shape_t = n.require_constant(0, "shape");
  n.require(!contains_batch_token(shape_t), "shape holds the symbolic batch; export with a static batch");
  const std::vector<int64_t> shape = n.const_ints(0, "shape");
  Tensor value = Tensor::scalar<float>(0.0f);
  if (const ::onnx::TensorProto* v = n.attr_tensor("value")) value = tensor_from_proto(*v, "node '" + n.name + "' value");
  n.require(value.numel() == 1, "value must have one element");
  n.bind(0, n.add_constant(ce_expand(value.reshaped({}), shape)));
}

DType cast_target(const NodeImport& n, int32_t to) {
  const std::optional<DType> dt = dtype_from_onnx(to);
  if (!dt) throw n.unsupported("Cast to " + onnx_type_name(to));
  return *dt;
}

void import_cast(NodeImport& n, DType to) {
  if (const Tensor* c = n.constant(0)) {
    n.bind(0, n.add_constant(ce_cast(*c, to)));
    return;
  }
  if (n.dtype(0) == to) {
    n.bind(0, n.input(0));
    return;
  }
  throw n.unsupported("Cast of a non-constant tensor from " + std::string(dtype_name(n.dtype(0))) + " to " +
                      std::string(dtype_name(to)));
}

void import_flatten(NodeImport& n) {
  const Shape s = n.shape(0);  // a copy: emitting may reallocate values
  const int64_t r = static_cast<int64_t>(s.size());
  int64_t axis = n.attr_i("axis", 1);
  if (axis < 0) axis += r;
  n.require(axis >= 0 && axis <= r, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
  if (axis == 1 && r >= 2 && !n.constant(0)) {
    Attrs a;
    a.set("start_dim", int64_t{1});
    a.set("end_dim", int64_t{-1});
    n.bind(0, n.emit1("aten.flatten.using_ints", {n.input(0)}, a));
    return;
  }
  if (axis == 1 && r == 1 && s[0] == kBatch) {
    bind_reshape(n, n.input(0), {kBatchToken, 1}, false);
    return;
  }
  n.require(shape_is_static(s), "Flatten at axis " + std::to_string(axis) + " of a tensor with a symbolic batch " + shape_str(s));
  int64_t before = 1, after = 1;
  for (int64_t i = 0; i < r; ++i) (i < axis ? before : after) *= s[static_cast<size_t>(i)];
  bind_reshape(n, n.input(0), {before, after}, false);
}

void import_transpose(NodeImport& n) {
  const int64_t r = n.rank(0);
  std::vector<int64_t> def;
  for (int64_t i = r - 1; i >= 0; --i) def.push_back(i);
  std::vector<int64_t> perm = n.attr_ints("perm", def);
  n.require(static_cast<int64_t>(perm.size()) == r, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  if (const Tensor* c = n.constant(0)) {
    n.bind(0, n.add_constant(ce_transpose(*c, perm)));
    return;
  }
  Attrs a;
  a.set("dims", perm);
  n.bind(0, n.emit1("aten.permute.default", {n.input(0)}, a));
}

std::vector<int64_t> axes_from(const NodeImport& n, int64_t input_since_opset, bool required) {
  if (n.opset >= input_since_opset) {
    if (!n.has_input(1)) {
      n.require(!required, "axes input is required");
      return {};
    }
    return n.const_ints(1, "axes");
  }
  return n.attr_ints("axes", {});
}

void import_squeeze(NodeImport& n) {
  const Shape s = n.shape(0);  // a copy: emitting may reallocate values
  const int64_t r = static_cast<int64_t>(s.size());
  std::vector<int64_t> axes = axes_from(n, 13, false);
  std::vector<char> drop(s.size(), 0);
  if (axes.empty()) {
    for (size_t i = 0; i < s.size(); ++i) drop[i] = s[i] == 1;
  } else {
    for (int64_t a : axes) drop[static_cast<size_t>(normalize_axis(a, r, "Squeeze"))] = 1;
  }
  std::vector<int64_t> dims;
  Shape out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (drop[i]) {
      n.require(s[i] == 1, "cannot squeeze dimension " + std::to_string(i) + " of " + shape_str(s));
      dims.push_back(static_cast<int64_t>(i));
    } else {
      out.push_back(s[i]);
    }
  }
  if (const Tensor* c = n.constant(0)) {
    n.bind(0, n.add_constant(c->reshaped(out)));
    return;
  }
  Attrs a;
  a.set("dim", dims);
  n.bind(0, n.emit1("aten.squeeze.dims", {n.input(0)}, a));
}

void import_unsqueeze(NodeImport& n) {
  const Shape s = n.shape(0);  // a copy: emitting may reallocate values
  std::vector<int64_t> axes = axes_from(n, 13, true);
  n.require(!axes.empty(), "axes must not be empty");
  const int64_t out_rank = static_cast<int64_t>(s.size() + axes.size());
  std::vector<char> is_new(static_cast<size_t>(out_rank), 0);
  for (int64_t a : axes) {
    const int k = normalize_axis(a, out_rank, "Unsqueeze");
    n.require(!is_new[static_cast<size_t>(k)], "repeated axis " + std::to_string(a));
    is_new[static_cast<size_t>(k)] = 1;
  }
  std::vector<int64_t> dims;
  Shape out;
  size_t j = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    if (is_new[static_cast<size_t>(i)]) {
      dims.push_back(i);
      out.push_back(1);
    } else {
      out.push_back(s[j++]);
    }
  }
  if (const Tensor* c = n.constant(0)) {
    n.bind(0, n.add_constant(c->reshaped(out)));
    return;
  }
  Attrs a;
  a.set("dim", dims);
  n.bind(0, n.emit1("aten.unsqueeze.default", {n.input(0)}, a));
}

void import_concat(NodeImport& n) {
  n.require(n.num_inputs() >= 1, "takes at least one input");
  n.require(n.has_attr("axis"), "attribute 'axis' is required");
  const int64_t axis = n.attr_i("axis", 0);
  if (n.all_inputs_constant()) {
    std::vector<Tensor> parts;
    for (size_t i = 0; i < n.num_inputs(); ++i)
      if (n.has_input(i)) parts.push_back(*n.constant(i));
    n.bind(0, n.add_constant(ce_concat(parts, axis)));
    return;
  }
  std::vector<int> ins;
  for (size_t i = 0; i < n.num_inputs(); ++i)
    if (n.has_input(i)) ins.push_back(n.input(i));
  Attrs a;
  a.set("dim", static_cast<int64_t>(normalize_axis(axis, n.rank(0), "Concat")));
  n.bind(0, n.emit1("aten.cat.default", ins, a));
}

void import_slice(NodeImport& n) {
  std::vector<int64_t> starts, ends, axes, steps;
  if (n.opset < 10) {
    starts = n.attr_ints("starts", {});
    ends = n.attr_ints("ends", {});
    axes = n.attr_ints("axes", {});
  } else {
    starts = n.const_ints(1, "starts");
    ends = n.const_ints(2, "ends");
    if (n.has_input(3)) axes = n.const_ints(3, "axes");
    if (n.has_input(4)) steps = n.const_ints(4, "steps");
  }
  n.require(starts.size() == ends.size(), "starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  n.require(axes.size() == starts.size() && steps.size() == starts.size(), "starts, ends, axes and steps differ in length");
  if (const Tensor* c = n.constant(0)) {
    n.bind(0, n.add_constant(ce_slice(*c, starts, ends, axes, steps)));
    return;
  }
  int x = n.input(0);
  const int64_t r = n.rank(0);
  for (size_t k = 0; k < starts.size(); ++k) {
    n.require(steps[k] != 0, "step 0");
    Attrs a;
    a.set("dim", static_cast<int64_t>(normalize_axis(axes[k], r, "Slice")));
    a.set("start", std::clamp<int64_t>(starts[k], -(int64_t{1} << 62), int64_t{1} << 62));
    a.set("end", std::clamp<int64_t>(ends[k], -(int64_t{1} << 62), int64_t{1} << 62));
    a.set("step", n.check_small({steps[k]}, "step")[0]);
    x = n.emit1("aten.slice_copy.Tensor", {x}, a);
  }
  n.bind(0, x);
}

void import_split(NodeImport& n) {
  const Shape s = n.shape(0);  // a copy: emitting may reallocate values
  const int axis = normalize_axis(n.attr_i("axis", 0), static_cast<int64_t>(s.size()), "Split");
  std::vector<int64_t> sizes;
  if (n.opset < 13) sizes = n.attr_ints("split", {});
  else if (n.has_input(1)) sizes = n.const_ints(1, "split");
  const int64_t dim = s[static_cast<size_t>(axis)];
  if (sizes.empty()) {
    n.require(dim >= 0, "cannot split the symbolic batch dimension");
    const int64_t parts = n.opset >= 18 && n.has_attr("num_outputs") ? n.attr_i("num_outputs", 1) : static_cast<int64_t>(n.num_outputs());
    n.require(parts >= 1 && parts <= dim + 1 && parts <= 65536, "invalid number of outputs " + std::to_string(parts));
    const int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  n.check_small(sizes, "split");
  n.require(sizes.size() == n.num_outputs(), "has " + std::to_string(n.num_outputs()) + " outputs for " + std::to_string(sizes.size()) + " parts");
  if (n.constant(0)) {
    const Tensor data = *n.constant(0);  // a copy: add_constant may reallocate values
    const Tensor* c = &data;
    int64_t at = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      n.require(sizes[k] >= 0, "negative split size");
      n.bind(k, n.add_constant(ce_slice(*c, {at}, {at + sizes[k]}, {axis}, {1}), k < n.num_outputs() ? n.proto.output(static_cast<int>(k)) : ""));
      at += sizes[k];
    }
    n.require(at == dim, "split sizes do not add up to " + std::to_string(dim));
    return;
  }
  Attrs a;
  a.set("split_sizes", sizes);
  a.set("dim", static_cast<int64_t>(axis));
  const int idx = n.emit("aten.split_with_sizes.default", {n.input(0)}, a, static_cast<int>(sizes.size()));
  const std::vector<int> outs = n.g.nodes[static_cast<size_t>(idx)].outputs;
  for (size_t k = 0; k < outs.size(); ++k) n.bind(k, outs[k]);
}

void import_gather(NodeImport& n) {
  const int64_t axis = n.attr_i("axis", 0);
  if (n.constant(0) && n.constant(1)) {
    n.bind(0, n.add_constant(ce_gather(*n.constant(0), *n.constant(1), axis)));
    return;
  }
  Attrs a;
  a.set("dim", static_cast<int64_t>(normalize_axis(axis, n.rank(0), "Gather")));
  n.bind(0, n.emit1("aten.index_select.default", {n.input(0), n.input(1)}, a));
}

void import_expand(NodeImport& n) {
  const Tensor& shape_t = n.require_constant(1, "shape");
  const std::vector<int64_t> shape = n.const_ints(1, "shape");
  if (const Tensor* c = n.constant(0)) {
    n.require(!contains_batch_token(shape_t), "Expand to a shape holding the symbolic batch");
    n.bind(0, n.add_constant(ce_expand(*c, shape)));
    return;
  }
  // A non-constant Expand is supported only when it changes nothing.
  Shape target = shape;
  for (int64_t& d : target)
    if (d == kBatchToken) d = kBatch;
  const Shape out = broadcast_shapes(n.shape(0), target, "Expand");
  if (out != n.shape(0)) throw n.unsupported("Expand of a non-constant tensor");
  n.bind(0, n.input(0));
}

void import_pad(NodeImport& n) {
  const int64_t r = n.rank(0);
  std::string mode = n.attr_s("mode", "constant");
  n.require(mode == "constant" || mode == "reflect" || mode == "edge" || mode == "wrap", "unknown mode '" + mode + "'");
  if (mode == "wrap") throw n.unsupported("Pad mode 'wrap'");
  std::vector<int64_t> pads;
  double value = 0;
  std::vector<int64_t> axes;
  if (n.opset < 11) {
    pads = n.attr_ints("pads", {});
    value = n.attr_f("value", 0.0);
  } else {
    pads = n.const_ints(1, "pads");
    if (n.has_input(2)) {
      const Tensor& v = n.require_constant(2, "constant_value");
      n.require(v.numel() == 1, "constant_value must be a scalar");
      value = values_f64(v)[0];
    }
    if (n.has_input(3)) axes = n.const_ints(3, "axes");
  }
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  n.check_small(pads, "pads");
  n.require(pads.size() == 2 * axes.size(), "pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * axes.size()));
  std::vector<int64_t> full(static_cast<size_t>(2 * r), 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    const size_t a = static_cast<size_t>(normalize_axis(axes[k], r, "Pad"));
    full[a] = pads[k];
    full[a + static_cast<size_t>(r)] = pads[k + axes.size()];
  }
  Attrs a;
  a.set("pad", full);
  a.set("mode", mode == "edge" ? std::string("replicate") : mode);
  a.set("value", value);
  n.bind(0, n.emit1("aten.pad.default", {n.input(0)}, a));
}

void import_reduce(NodeImport& n, const char* ir_op) {
  const bool axes_input = n.op_type == "ReduceSum" ? n.opset >= 13 : n.opset >= 18;
  std::vector<int64_t> axes;
  if (axes_input) {
    if (n.has_input(1)) axes = n.const_ints(1, "axes");
  } else {
    axes = n.attr_ints("axes", {});
  }
  const bool keepdims = n.attr_i("keepdims", 1) != 0;
  if (axes.empty() && n.attr_i("noop_with_empty_axes", 0) != 0) {
    n.bind(0, n.input(0));
    return;
  }
  const int64_t r = n.rank(0);
  for (int64_t& a : axes) a = normalize_axis(a, r, n.op_type);
  if (const Tensor* c = n.constant(0); c && (n.op_type != "ReduceMean")) {
    n.bind(0, n.add_constant(ce_reduce(n.op_type, *c, axes, keepdims)));
    return;
  }
  if (!*ir_op) throw n.unsupported("op on a non-constant tensor");
  Attrs a;
  a.set("dim", axes);
  a.set("keepdim", int64_t{keepdims});
  n.bind(0, n.emit1(ir_op, {n.input(0)}, a));
}

}  // namespace

void register_shape_importers(OpImporterTable& t) {
  t["Shape"] = import_shape;
  t["Size"] = [](NodeImport& n) {
    const Shape s = n.shape(0);  // a copy: emitting may reallocate values
    n.require(shape_is_static(s), "Size of a tensor with a symbolic batch " + shape_str(s));
    n.bind(0, n.add_constant(Tensor::scalar<int64_t>(shape_numel(s))));
  };
  t["Constant"] = import_constant;
  t["ConstantOfShape"] = import_constant_of_shape;
  t["Cast"] = [](NodeImport& n) {
    n.require(n.has_attr("to"), "attribute 'to' is required");
    import_cast(n, cast_target(n, static_cast<int32_t>(n.attr_i("to", 0))));
  };
  t["CastLike"] = [](NodeImport& n) { import_cast(n, n.dtype(1)); };
  t["Range"] = [](NodeImport& n) {
    n.bind(0, n.add_constant(ce_range(n.require_constant(0, "start"), n.require_constant(1, "limit"), n.require_constant(2, "delta"))));
  };
  t["Identity"] = [](NodeImport& n) { n.bind(0, n.input(0)); };
  t["Dropout"] = [](NodeImport& n) {
    n.require_outputs_unused_from(1);
    if (n.has_input(2)) {  // training_mode (opset 12+)
      const Tensor& tm = n.require_constant(2, "training_mode");
      n.require(tm.numel() == 1 && values_f64(tm)[0] == 0.0, "training_mode must be false (inference)");
    }
    n.bind(0, n.input(0));
  };
  t["Reshape"] = [](NodeImport& n) {
    bind_reshape(n, n.input(0), n.const_ints(1, "shape"), n.attr_i("allowzero", 0) != 0);
  };
  t["Flatten"] = import_flatten;
  t["Transpose"] = import_transpose;
  t["Squeeze"] = import_squeeze;
  t["Unsqueeze"] = import_unsqueeze;
  t["Concat"] = import_concat;
  t["Slice"] = import_slice;
  t["Split"] = import_split;
  t["Gather"] = import_gather;
  t["Expand"] = import_expand;
  t["Pad"] = import_pad;
  t["ReduceMean"] = [](NodeImport& n) { import_reduce(n, "aten.mean.dim"); };
  t["ReduceSum"] = [](NodeImport& n) { import_reduce(n, "aten.sum.dim_IntList"); };
  t["ReduceMax"] = [](NodeImport& n) { import_reduce(n, "aten.amax.default"); };
  t["ReduceMin"] = [](NodeImport& n) { import_reduce(n, ""); };
  t["ReduceProd"] = [](NodeImport& n) { import_reduce(n, ""); };
}

}  // namespace eq::onnx_impl
