// Shared by the kernels of the integer ops (graph_*.cpp): qparams from attributes, the fp32
// quantize/dequantize arithmetic of the Q/DQ kernels (for the paths that go through float), and a
// float kernel for a synthetic one-input node (a fused activation, the float softmax).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "edgequant/kernel.h"

namespace eq::qk {

struct QParam {
  float scale = 1.f;
  int32_t zp = 0;
  bool operator==(const QParam& o) const { return scale == o.scale && zp == o.zp; }
};

// `<prefix>_scale` / `<prefix>_zero_point` (the schema checked them).
inline QParam qparam(const Attrs& a, const std::string& prefix) {
  return {static_cast<float>(a.f(prefix + "_scale")), static_cast<int32_t>(a.i(prefix + "_zero_point"))};
}

// Exactly the fp32 quantize_per_tensor kernel for i8 (ONNX: nearbyint(x / s) + zp, saturated; NaN
// gives -128), so a float path agrees with the fake-quant graph wherever the float values agree.
inline int8_t quantize_like_q(float x, const QParam& q) {
  const float v = std::nearbyint(x / q.scale) + static_cast<float>(q.zp);
  return static_cast<int8_t>(static_cast<int32_t>(std::max(-128.f, std::min(v, 127.f))));
}
// Exactly the fp32 dequantize_per_tensor kernel for i8: (q - zp) * s in float.
inline float dequantize_like_dq(int8_t v, const QParam& q) {
  return (static_cast<float>(v) - static_cast<float>(q.zp)) * q.scale;
}

// The registered fp32 kernel of `op` on one f32 input of `shape` (output of the same shape).
class FloatOp {
 public:
  FloatOp(const std::string& op, Attrs attrs, const Shape& shape, int threads, const std::string& owner) {
    node_.name = owner + "/" + op;
    node_.op = op;
    node_.attrs = std::move(attrs);
    node_.inputs = {0};
    node_.outputs = {1};
    const KernelFactory* f = find_kernel(op);
    check(f != nullptr, owner + ": no float kernel for " + op);
    KernelCreateInfo info{node_, {ValueInfo{DType::f32, shape, nullptr}}, {true}, {{DType::f32, shape}}, threads};
    kernel_ = (*f)(info);
  }
  FloatOp(const FloatOp&) = delete;  // the kernel refers to node_
  FloatOp& operator=(const FloatOp&) = delete;
  void run(const Tensor& in, Tensor& out) {
    KernelContext ctx{node_, {&in}, {&out}};
    kernel_->run(ctx);
  }

 private:
  Node node_;
  std::unique_ptr<OpKernel> kernel_;
};

}  // namespace eq::qk
