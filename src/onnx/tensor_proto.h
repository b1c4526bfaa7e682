// TensorProto <-> eq::Tensor and ONNX element type <-> eq::DType (internal to src/onnx).
#pragma once
#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

#include "edgequant/tensor.h"

namespace eq::onnx_impl {

// ONNX TensorProto.DataType -> DType; nullopt for types the IR has no dtype for.
std::optional<DType> dtype_from_onnx(int32_t onnx_type);
int32_t dtype_to_onnx(DType t);
// "DOUBLE", "STRING", ... for messages.
std::string onnx_type_name(int32_t onnx_type);

// Converts a TensorProto to a Tensor. `what` names the tensor in errors ("initializer 'w'").
// `base_dir` resolves external data; empty: external data is an error.
Tensor tensor_from_proto(const ::onnx::TensorProto& p, const std::string& what, const std::string& base_dir = "");
// Writes `t` into `p` (dims, data_type, raw_data), keeping p's name.
void tensor_to_proto(const Tensor& t, ::onnx::TensorProto& p);

// Largest element count a single constant may have at import (guards allocations).
inline constexpr int64_t kMaxConstantElements = int64_t{1} << 28;

}  // namespace eq::onnx_impl
