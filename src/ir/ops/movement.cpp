// Schemas of the movement family: reshape/flatten/permute/squeeze/unsqueeze, cat, slice, split,
// index_select (ONNX Gather), pad, upsample (ONNX Resize) and clone. Movement ops accept every
// dtype (constant folding pushes i64 shape chains, bools and quantized tensors through them); the
// ones that index single elements reject the packed int4 types.
//
// The symbolic batch (kBatch in a shape) is never used in arithmetic: an op whose output size
// would need N*k or N+k throws an error saying that it merges or resizes the batch dimension.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "edgequant/ops.h"
#include "op_families.h"
#include "movement_geometry.h"

namespace eq {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

bool is_packed(DType t) { return t == DType::i4 || t == DType::u4; }

void require_unpacked(const InferContext& ctx, const ValueInfo& v) {
  ctx.require(!is_packed(v.dtype), "packed dtype " + std::string(dtype_name(v.dtype)) + " is not supported by this op");
}

std::string list_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += v[i] == kBatchToken ? "batch" : std::to_string(v[i]);
  }
  return s + "]";
}

// An attribute given either as a list of ints or as one int.
std::vector<int64_t> int_list(const InferContext& ctx, const std::string& name, const std::vector<int64_t>& fallback) {
  const Attrs& a = ctx.node.attrs;
  if (!a.has(name)) return fallback;
  if (const auto* v = std::get_if<int64_t>(&a.all().at(name))) return {*v};
  return a.ints(name);
}

int axis_of(const InferContext& ctx, int64_t axis, int64_t rank, const std::string& attr) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  ctx.require(a >= 0 && a < rank, "attribute '" + attr + "' = " + std::to_string(axis) + " is out of range for rank " +
                                      std::to_string(rank));
  return static_cast<int>(a);
}

// ---- reshape family ------------------------------------------------------------------------

std::vector<OutputInfo> infer_reshape(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  const std::vector<int64_t>& target = ctx.node.attrs.ints("shape");
  int in_batch = 0, out_batch = 0, infer_at = -1;
  int64_t in_static = 1, out_static = 1;
  for (int64_t d : x.shape) {
    if (d == kBatch) ++in_batch;
    else in_static *= d;
  }
  Shape out;
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t t = target[i];
    if (t == kBatchToken) {
      out.push_back(ctx.batch);
      if (ctx.batch == kBatch) ++out_batch;
      else out_static *= ctx.batch;
    } else if (t == -1) {
      ctx.require(infer_at < 0, "attribute 'shape' " + list_str(target) + " has more than one -1");
      infer_at = static_cast<int>(i);
      out.push_back(-1);
    } else {
      ctx.require(t >= 0, "attribute 'shape' " + list_str(target) + " has invalid dimension " + std::to_string(t));
      out.push_back(t);
      // Found by fuzzing: absurd target dims must give an error, not signed overflow.
      ctx.require(!__builtin_mul_overflow(out_static, t, &out_static),
                  "attribute 'shape' " + list_str(target) + " has more elements than fit in 64 bits");
    }
  }
  const std::string what = "reshape of " + shape_str(x.shape) + " to " + list_str(target);
  if (in_batch == out_batch) {
    if (infer_at >= 0) {
      ctx.require(out_static != 0, what + ": cannot infer -1 next to a zero dimension");
      ctx.require(in_static % out_static == 0, what + ": element count " + std::to_string(in_static) +
                                                   " is not divisible by " + std::to_string(out_static));
      out[static_cast<size_t>(infer_at)] = in_static / out_static;
    } else {
      ctx.require(in_static == out_static, what + " changes the element count");
    }
  } else if (infer_at >= 0 && in_batch == out_batch + 1 && in_static == out_static && out_static != 0) {
    out[static_cast<size_t>(infer_at)] = kBatch;  // the -1 is exactly the batch: no arithmetic needed
  } else if (infer_at >= 0 && in_batch > out_batch) {
    throw ctx.error(what + ": inferring -1 would merge the batch dimension N with other dimensions (N*k); a symbolic "
                           "batch cannot be multiplied, so keep the batch as its own dimension or fix the batch size");
  } else {
    throw ctx.error(what + ": the batch dimension N is merged, split or lost; a symbolic batch must stay its own "
                           "dimension");
  }
  return {{x.dtype, out}};
}

std::vector<OutputInfo> infer_flatten(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r == 0) return {{x.dtype, {1}}};
  const int s = axis_of(ctx, ctx.node.attrs.i("start_dim", 0), r, "start_dim");
  const int e = axis_of(ctx, ctx.node.attrs.i("end_dim", -1), r, "end_dim");
  ctx.require(s <= e, "start_dim " + std::to_string(s) + " is after end_dim " + std::to_string(e));
  Shape out(x.shape.begin(), x.shape.begin() + s);
  int64_t prod = 1;
  bool batch = false;
  for (int d = s; d <= e; ++d) {
    if (x.shape[static_cast<size_t>(d)] == kBatch) batch = true;
    else prod *= x.shape[static_cast<size_t>(d)];
  }
  if (batch) {
    ctx.require(prod == 1, "flatten of " + shape_str(x.shape) +
                               " merges the batch dimension N with other dimensions; a symbolic batch cannot be multiplied");
    out.push_back(kBatch);
  } else {
    out.push_back(prod);
  }
  out.insert(out.end(), x.shape.begin() + e + 1, x.shape.end());
  return {{x.dtype, out}};
}

std::vector<OutputInfo> infer_permute(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  require_unpacked(ctx, x);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const std::vector<int64_t> dims = int_list(ctx, "dims", {});
  ctx.require(static_cast<int64_t>(dims.size()) == r,
              "attribute 'dims' " + list_str(dims) + " must have one entry per input dim (rank " + std::to_string(r) + ")");
  std::vector<char> seen(static_cast<size_t>(r), 0);
  Shape out;
  for (int64_t d : dims) {
    const int a = axis_of(ctx, d, r, "dims");
    ctx.require(!seen[static_cast<size_t>(a)], "attribute 'dims' " + list_str(dims) + " is not a permutation");
    seen[static_cast<size_t>(a)] = 1;
    out.push_back(x.shape[static_cast<size_t>(a)]);
  }
  return {{x.dtype, out}};
}

std::vector<OutputInfo> infer_squeeze(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const std::vector<int64_t> dims = int_list(ctx, "dim", {});
  std::vector<char> drop(static_cast<size_t>(r), 0);
  if (dims.empty()) {
    for (size_t d = 0; d < x.shape.size(); ++d) {
      ctx.require(x.shape[d] != kBatch, "squeeze without 'dim' of " + shape_str(x.shape) +
                                            " is ambiguous with a symbolic batch; give the dims to squeeze");
      drop[d] = x.shape[d] == 1;
    }
  } else {
    for (int64_t d : dims) {
      const int a = axis_of(ctx, d, r, "dim");
      ctx.require(!drop[static_cast<size_t>(a)], "attribute 'dim' " + list_str(dims) + " repeats a dim");
      const int64_t size = x.shape[static_cast<size_t>(a)];
      ctx.require(size != kBatch, "squeezes dim " + std::to_string(a) + " of " + shape_str(x.shape) +
                                      ", the symbolic batch dimension, which is not known to be 1");
      ctx.require(size == 1, "cannot squeeze dim " + std::to_string(a) + " of " + shape_str(x.shape) + ": its size is " +
                                 std::to_string(size) + ", not 1");
      drop[static_cast<size_t>(a)] = 1;
    }
  }
  Shape out;
  for (size_t d = 0; d < x.shape.size(); ++d)
    if (!drop[d]) out.push_back(x.shape[d]);
  return {{x.dtype, out}};
}

std::vector<OutputInfo> infer_unsqueeze(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  const std::vector<int64_t> dims = int_list(ctx, "dim", {});
  ctx.require(!dims.empty(), "attribute 'dim' is required");
  const int64_t r = static_cast<int64_t>(x.shape.size() + dims.size());
  std::vector<char> added(static_cast<size_t>(r), 0);
  for (int64_t d : dims) {
    const int a = axis_of(ctx, d, r, "dim");
    ctx.require(!added[static_cast<size_t>(a)], "attribute 'dim' " + list_str(dims) + " repeats a dim");
    added[static_cast<size_t>(a)] = 1;
  }
  Shape out;
  size_t k = 0;
  for (size_t d = 0; d < static_cast<size_t>(r); ++d) out.push_back(added[d] ? 1 : x.shape[k++]);
  return {{x.dtype, out}};
}

// ---- cat / slice / split / gather -----------------------------------------------------------

std::vector<OutputInfo> infer_cat(const InferContext& ctx) {
  const ValueInfo& x0 = ctx.in(0);
  require_unpacked(ctx, x0);
  const int64_t r = static_cast<int64_t>(x0.shape.size());
  ctx.require(r >= 1, "cannot concatenate rank-0 tensors");
  const int dim = axis_of(ctx, ctx.node.attrs.i("dim", 0), r, "dim");
  Shape out = x0.shape;
  int64_t total = 0;
  int batch_inputs = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const ValueInfo& xi = ctx.in(i);
    ctx.require(xi.dtype == x0.dtype, "input " + std::to_string(i) + " has dtype " + std::string(dtype_name(xi.dtype)) +
                                          ", input 0 has " + std::string(dtype_name(x0.dtype)));
    ctx.require(xi.shape.size() == x0.shape.size(), "input " + std::to_string(i) + " has shape " + shape_str(xi.shape) +
                                                        ", input 0 has " + shape_str(x0.shape) + " (ranks differ)");
    for (size_t d = 0; d < out.size(); ++d) {
      if (static_cast<int>(d) == dim) continue;
      ctx.require(xi.shape[d] == x0.shape[d], "input " + std::to_string(i) + " has shape " + shape_str(xi.shape) +
                                                  ", which differs from input 0's " + shape_str(x0.shape) +
                                                  " outside dim " + std::to_string(dim));
    }
    const int64_t di = xi.shape[static_cast<size_t>(dim)];
    if (di == kBatch) ++batch_inputs;
    else total += di;
  }
  if (batch_inputs) {
    ctx.require(batch_inputs == 1 && total == 0,
                "concatenates along the symbolic batch dimension (N + k); a symbolic batch cannot be added to");
    out[static_cast<size_t>(dim)] = kBatch;
  } else {
    out[static_cast<size_t>(dim)] = total;
  }
  return {{x0.dtype, out}};
}

using ops_detail::slice_range;

std::vector<OutputInfo> infer_slice(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  require_unpacked(ctx, x);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  ctx.require(r >= 1, "cannot slice a rank-0 tensor");
  const Attrs& a = ctx.node.attrs;
  const int dim = axis_of(ctx, a.i("dim", 0), r, "dim");
  const int64_t start = a.i("start", 0), end = a.i("end", kInt64Max), step = a.i("step", 1);
  ctx.require(step != 0, "attribute 'step' must not be 0");
  Shape out = x.shape;
  const int64_t d = x.shape[static_cast<size_t>(dim)];
  if (d == kBatch) {
    constexpr int64_t big = std::numeric_limits<int32_t>::max();
    const bool forward_all = step == 1 && (start == 0 || start <= -big) && end >= big;
    const bool backward_all = step == -1 && (start == -1 || start >= big) && end <= -big;
    ctx.require(forward_all || backward_all,
                "slices the symbolic batch dimension (start " + std::to_string(start) + ", end " + std::to_string(end) +
                    ", step " + std::to_string(step) + "); only a full slice of the batch is supported");
  } else {
    out[static_cast<size_t>(dim)] = slice_range(d, start, end, step).second;
  }
  return {{x.dtype, out}};
}

std::vector<OutputInfo> infer_split(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  require_unpacked(ctx, x);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  ctx.require(r >= 1, "cannot split a rank-0 tensor");
  const int dim = axis_of(ctx, ctx.node.attrs.i("dim", 0), r, "dim");
  const std::vector<int64_t> sizes = int_list(ctx, "split_sizes", {});
  ctx.require(!sizes.empty(), "attribute 'split_sizes' is required and must not be empty");
  const int64_t d = x.shape[static_cast<size_t>(dim)];
  ctx.require(d != kBatch, "splits the symbolic batch dimension of " + shape_str(x.shape));
  int64_t sum = 0;
  for (int64_t s : sizes) {
    ctx.require(s >= 0, "attribute 'split_sizes' " + list_str(sizes) + " has a negative size");
    sum += s;
  }
  ctx.require(sum == d, "attribute 'split_sizes' " + list_str(sizes) + " sums to " + std::to_string(sum) +
                            ", but dim " + std::to_string(dim) + " of " + shape_str(x.shape) + " has size " +
                            std::to_string(d));
  std::vector<OutputInfo> outs;
  for (int64_t s : sizes) {
    Shape o = x.shape;
    o[static_cast<size_t>(dim)] = s;
    outs.push_back({x.dtype, o});
  }
  return outs;
}

std::vector<OutputInfo> infer_index_select(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  const ValueInfo& idx = ctx.in(1);
  require_unpacked(ctx, x);
  ctx.require(idx.dtype == DType::i64 || idx.dtype == DType::i32,
              "indices must be i64 or i32, got " + std::string(dtype_name(idx.dtype)));
  const int64_t r = static_cast<int64_t>(x.shape.size());
  ctx.require(r >= 1, "cannot index a rank-0 tensor");
  const int dim = axis_of(ctx, ctx.node.attrs.i("dim", 0), r, "dim");
  const int64_t d = x.shape[static_cast<size_t>(dim)];
  if (idx.constant && d != kBatch) {
    for (int64_t v : idx.constant->to_int64_vector())
      ctx.require(v >= -d && v < d, "index " + std::to_string(v) + " is out of range for dim " + std::to_string(dim) +
                                        " of size " + std::to_string(d));
  }
  Shape out(x.shape.begin(), x.shape.begin() + dim);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + dim + 1, x.shape.end());
  return {{x.dtype, out}};
}

// ---- pad / upsample / clone -----------------------------------------------------------------

std::vector<OutputInfo> infer_pad(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  require_unpacked(ctx, x);
  const size_t r = x.shape.size();
  const std::vector<int64_t> pad = int_list(ctx, "pad", {});
  ctx.require(pad.size() == 2 * r, "attribute 'pad' " + list_str(pad) + " must have 2*rank = " + std::to_string(2 * r) +
                                       " entries (all begins, then all ends)");
  const std::string mode = ctx.node.attrs.s("mode", "constant");
  ctx.require(mode == "constant" || mode == "reflect" || mode == "replicate" || mode == "edge",
              "attribute 'mode' must be constant, reflect or replicate, got \"" + mode + "\"");
  const double value = ctx.node.attrs.f("value", 0.0);
  ctx.require(mode != "constant" || !std::isnan(value) || dtype_is_float(x.dtype), "a NaN pad value needs a float dtype");
  Shape out = x.shape;
  for (size_t d = 0; d < r; ++d) {
    const int64_t b = pad[d], e = pad[d + r];
    if (x.shape[d] == kBatch) {
      ctx.require(b == 0 && e == 0, "pads the symbolic batch dimension (dim " + std::to_string(d) + ")");
      continue;
    }
    const int64_t o = x.shape[d] + b + e;
    ctx.require(o >= 0, "pads " + list_str(pad) + " crop dim " + std::to_string(d) + " of " + shape_str(x.shape) +
                            " below zero");
    ctx.require(mode == "constant" || x.shape[d] > 0 || (b <= 0 && e <= 0),
                mode + " padding of the empty dim " + std::to_string(d));
    out[d] = o;
  }
  return {{x.dtype, out}};
}

std::vector<OutputInfo> infer_upsample(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  require_unpacked(ctx, x);
  const Attrs& a = ctx.node.attrs;
  const size_t r = x.shape.size();
  const std::string mode = a.s("mode", "nearest");
  ctx.require(mode != "cubic", "mode \"cubic\" is not supported (only nearest and linear)");
  ctx.require(mode == "nearest" || mode == "linear", "attribute 'mode' must be nearest or linear, got \"" + mode + "\"");
  ctx.require(mode == "nearest" || x.dtype == DType::f32, "linear mode needs f32 input");
  const std::string ctm = a.s("coordinate_transformation_mode", "half_pixel");
  ctx.require(ctm != "tf_crop_and_resize", "coordinate_transformation_mode \"tf_crop_and_resize\" is not supported");
  ctx.require(ctm == "half_pixel" || ctm == "pytorch_half_pixel" || ctm == "align_corners" || ctm == "asymmetric" ||
                  ctm == "tf_half_pixel_for_nn" || ctm == "half_pixel_symmetric",
              "unknown coordinate_transformation_mode \"" + ctm + "\"");
  const std::string nm = a.s("nearest_mode", "round_prefer_floor");
  ctx.require(nm == "round_prefer_floor" || nm == "round_prefer_ceil" || nm == "floor" || nm == "ceil",
              "unknown nearest_mode \"" + nm + "\"");
  ctx.require(a.i("antialias", 0) == 0, "antialias is not supported");
  const bool has_sizes = a.has("sizes"), has_scales = a.has("scales");
  ctx.require(has_sizes || has_scales, "needs attribute 'sizes' or 'scales'");
  std::vector<int64_t> sizes;
  std::vector<double> scales;
  if (has_sizes) {
    sizes = a.ints("sizes");
    ctx.require(sizes.size() == r, "attribute 'sizes' " + list_str(sizes) + " must have one entry per dim (rank " +
                                       std::to_string(r) + ")");
  }
  if (has_scales) {
    scales = a.floats("scales");
    ctx.require(scales.size() == r, "attribute 'scales' must have one entry per dim (rank " + std::to_string(r) + ")");
    for (double s : scales) ctx.require(std::isfinite(s) && s > 0, "attribute 'scales' must be positive and finite");
  }
  Shape out(r);
  for (size_t d = 0; d < r; ++d) {
    const int64_t in = x.shape[d];
    const bool batch_size = has_sizes && (sizes[d] == kBatch || sizes[d] == kBatchToken);
    if (batch_size || (in == kBatch && (!has_sizes || sizes[d] == kBatch))) {
      // The batch passes through; it must not be resized.
      ctx.require(!has_scales || scales[d] == 1.0, "resizes the symbolic batch dimension (dim " + std::to_string(d) + ")");
      out[d] = in;
      continue;
    }
    ctx.require(in != kBatch, "resizes the symbolic batch dimension (dim " + std::to_string(d) + ") to a fixed size");
    if (has_sizes) {
      ctx.require(sizes[d] >= 0, "attribute 'sizes' " + list_str(sizes) + " has a negative size");
      out[d] = sizes[d];
    } else {
      out[d] = static_cast<int64_t>(static_cast<double>(in) * scales[d]);
    }
    ctx.require(out[d] == 0 || in > 0, "cannot resize the empty dim " + std::to_string(d));
  }
  return {{x.dtype, out}};
}

}  // namespace

void register_movement_schemas() {
  constexpr int kMany = 1 << 20;
  register_op_schema({"aten.reshape.default", 1, 1, 1, infer_reshape});
  register_op_schema({"aten.flatten.using_ints", 1, 1, 1, infer_flatten});
  register_op_schema({"aten.permute.default", 1, 1, 1, infer_permute});
  register_op_schema({"aten.squeeze.dims", 1, 1, 1, infer_squeeze});
  register_op_schema({"aten.unsqueeze.default", 1, 1, 1, infer_unsqueeze});
  register_op_schema({"aten.cat.default", 1, kMany, 1, infer_cat});
  register_op_schema({"aten.slice_copy.Tensor", 1, 1, 1, infer_slice});
  register_op_schema({"aten.split_with_sizes.default", 1, 1, -1, infer_split});
  register_op_schema({"aten.index_select.default", 2, 2, 1, infer_index_select});
  register_op_schema({"aten.pad.default", 1, 1, 1, infer_pad});
  register_op_schema({"aten.upsample.default", 1, 1, 1, infer_upsample});
  register_op_schema({"aten.clone.default", 1, 1, 1, [](const InferContext& ctx) {
                        const ValueInfo& x = ctx.in(0);
                        return std::vector<OutputInfo>{{x.dtype, x.shape}};
                      }});
}

}  // namespace eq
