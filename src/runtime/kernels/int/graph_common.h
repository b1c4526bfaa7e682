// Shared by the kernels of the integer ops (graph_*.cpp): qparams from attributes, the fp32
// quantize/dequantize arithmetic of the Q/DQ kernels (for the paths that go through float), and a
// float kernel for a synthetic one-input node (a fused activation, the float softmax).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgequant/int_kernels.h"
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


// The geometry of an int8 conv1d / conv2d node (k = 1 or 2) as intk::Conv2DParams: shapes,
// stride, dilation, padding, groups and threads; conv1d's [N, C, L] runs as [N, C, 1, L].
// Offsets and requantization are the caller's.
inline intk::Conv2DParams conv_geometry(const KernelCreateInfo& info, size_t k) {
  const Attrs& a = info.node.attrs;
  const Shape& xs = info.inputs.at(0).shape;
  const Shape& ws = info.inputs.at(1).shape;
  std::vector<int64_t> stride = a.ints("stride", std::vector<int64_t>(k, 1));
  std::vector<int64_t> dilation = a.ints("dilation", std::vector<int64_t>(k, 1));
  std::vector<int64_t> pad = a.ints("padding", std::vector<int64_t>(2 * k, 0));
  if (pad.size() == k) pad.insert(pad.end(), pad.begin(), pad.end());
  intk::Conv2DParams p;
  p.batch = static_cast<int>(xs[0]);
  p.in_channels = static_cast<int>(xs[1]);
  p.out_channels = static_cast<int>(ws[0]);
  const size_t sp = k == 2 ? 1 : 0;  // index of the width dim among the spatial ones
  p.in_h = k == 2 ? static_cast<int>(xs[2]) : 1;
  p.in_w = static_cast<int>(xs[2 + sp]);
  p.kernel_h = k == 2 ? static_cast<int>(ws[2]) : 1;
  p.kernel_w = static_cast<int>(ws[2 + sp]);
  if (k == 2) {
    p.stride_h = static_cast<int>(stride[0]);
    p.dilation_h = static_cast<int>(dilation[0]);
    p.pad_top = static_cast<int>(pad[0]);
    p.pad_bottom = static_cast<int>(pad[2]);
  }
  p.stride_w = static_cast<int>(stride[sp]);
  p.dilation_w = static_cast<int>(dilation[sp]);
  p.pad_left = static_cast<int>(pad[sp]);
  p.pad_right = static_cast<int>(pad[k + sp]);
  p.groups = static_cast<int>(a.i("groups", 1));
  p.threads = info.threads;
  return p;
}

}  // namespace eq::qk
