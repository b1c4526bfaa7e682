// Import-time evaluation of ONNX ops on constant inputs (shape arithmetic, Cast, Range, ...).
// These run on small tensors in the importer itself so that shape chains fold even where the
// fp32 kernels do not cover the integer dtypes. Errors are plain messages; the caller prefixes
// the node.
#pragma once
#include <string>
#include <vector>

#include "edgequant/tensor.h"

namespace eq::onnx_impl {

bool contains_batch_token(const Tensor& t);
// A tensor of `dtype` holding `values` converted (integers from int64, floats from double).
Tensor make_tensor_i64(DType dtype, Shape shape, const std::vector<int64_t>& values);
Tensor make_tensor_f64(DType dtype, Shape shape, const std::vector<double>& values);
// Values as doubles for any numeric dtype including f16.
std::vector<double> values_f64(const Tensor& t);

Tensor ce_cast(const Tensor& t, DType to);
// Add Sub Mul Div Mod Pow Max Min Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor.
bool ce_is_binary(const std::string& op);
Tensor ce_binary(const std::string& op, const Tensor& a, const Tensor& b, int64_t fmod = 0);
// Not Neg Abs Floor Ceil Sqrt Exp Reciprocal Sign Relu.
bool ce_is_unary(const std::string& op);
Tensor ce_unary(const std::string& op, const Tensor& a);
Tensor ce_where(const Tensor& c, const Tensor& a, const Tensor& b);
Tensor ce_expand(const Tensor& a, const Shape& shape);
Tensor ce_gather(const Tensor& data, const Tensor& indices, int64_t axis);
Tensor ce_concat(const std::vector<Tensor>& parts, int64_t axis);
Tensor ce_slice(const Tensor& t, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                const std::vector<int64_t>& axes, const std::vector<int64_t>& steps);
Tensor ce_transpose(const Tensor& t, const std::vector<int64_t>& perm);
Tensor ce_range(const Tensor& start, const Tensor& limit, const Tensor& delta);
// ReduceProd / ReduceSum / ReduceMin / ReduceMax over `axes` (empty: all).
Tensor ce_reduce(const std::string& op, const Tensor& t, std::vector<int64_t> axes, bool keepdims);

}  // namespace eq::onnx_impl
