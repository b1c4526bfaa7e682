// Schemas of the normalization family: softmax, log_softmax, layer_norm, batch norm (inference).
// See docs/ops.md. All keep the input shape (kBatch included).
#include <string>
#include <vector>

#include "edgequant/ops.h"
#include "op_families.h"

namespace eq {
namespace {

std::vector<OutputInfo> infer_softmax(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "input must be f32");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  const int64_t dim = ctx.node.attrs.i("dim");
  ctx.require(rank >= 1 ? (dim >= -rank && dim < rank) : (dim == 0 || dim == -1),
              "attribute 'dim' " + std::to_string(dim) + " is out of range for input " + shape_str(x.shape));
  return {{DType::f32, x.shape}};
}

// Strips leading 1s (for comparing broadcast-compatible parameter shapes).
Shape strip_leading_ones(Shape s) {
  size_t i = 0;
  while (i < s.size() && s[i] == 1) ++i;
  return Shape(s.begin() + static_cast<std::ptrdiff_t>(i), s.end());
}

std::vector<OutputInfo> infer_layer_norm(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "input must be f32");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ctx.require(rank >= 1, "input must have rank >= 1");
  int64_t axis = ctx.node.attrs.i("axis", rank - 1);
  ctx.require(axis >= -rank && axis < rank, "attribute 'axis' " + std::to_string(axis) +
                                                " is out of range for input " + shape_str(x.shape));
  if (axis < 0) axis += rank;
  const double eps = ctx.node.attrs.f("eps", 1e-5);
  ctx.require(eps >= 0, "attribute 'eps' must be non-negative");
  const Shape norm(x.shape.begin() + axis, x.shape.end());
  for (int64_t d : norm)
    ctx.require(d >= 0, "normalised dims " + shape_str(norm) + " of input " + shape_str(x.shape) + " must be static");
  for (size_t i = 1; i <= 2; ++i) {
    if (!ctx.has(i)) continue;
    const ValueInfo& p = ctx.in(i);
    const std::string what = i == 1 ? "weight" : "bias";
    ctx.require(p.dtype == DType::f32, what + " must be f32");
    ctx.require(strip_leading_ones(p.shape) == strip_leading_ones(norm),
                what + " " + shape_str(p.shape) + " must have the normalised shape " + shape_str(norm) +
                    " (input " + shape_str(x.shape) + ", axis " + std::to_string(axis) + ")");
  }
  return {{DType::f32, x.shape}};
}

std::vector<OutputInfo> infer_batch_norm(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "input must be f32");
  ctx.require(x.shape.size() >= 2, "input " + shape_str(x.shape) + " must have rank >= 2 [N,C,...]");
  const int64_t c = x.shape[1];
  ctx.require(c >= 0, "input " + shape_str(x.shape) + ": the channel dim must be static");
  const double eps = ctx.node.attrs.f("eps", 1e-5);
  ctx.require(eps >= 0, "attribute 'eps' must be non-negative");
  const char* names[] = {"", "weight", "bias", "mean", "var"};
  for (size_t i = 1; i <= 4; ++i) {
    const ValueInfo& p = ctx.in(i);
    ctx.require(p.dtype == DType::f32, std::string(names[i]) + " must be f32");
    ctx.require(p.shape == Shape{c}, std::string(names[i]) + " " + shape_str(p.shape) + " must be [" +
                                         std::to_string(c) + "] (channels of input " + shape_str(x.shape) + ")");
  }
  return {{DType::f32, x.shape}};
}

}  // namespace

void register_normalization_schemas() {
  register_op_schema({"aten.softmax.int", 1, 1, 1, infer_softmax});
  register_op_schema({"aten.log_softmax.int", 1, 1, 1, infer_softmax});
  register_op_schema({"aten.layer_norm.default", 1, 3, 1, infer_layer_norm});
  register_op_schema({"aten._native_batch_norm_legit_no_training.default", 5, 5, 1, infer_batch_norm});
}

}  // namespace eq
