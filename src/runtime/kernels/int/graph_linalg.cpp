// Kernels of quantized.conv1d / conv2d / linear / matmul on the integer reference kernels
// (include/edgequant/int_kernels.h); Conv2D takes the groups (depthwise with any multiplier
// included). conv1d runs as conv2d with H = 1. A conv/linear with a fused
// float activation (attribute activation = sigmoid | tanh) takes the int32 accumulators,
// dequantizes them with x_scale * w_scale[c], applies the activation's fp32 kernel and quantizes
// with the fp32 quantize arithmetic.
#include <memory>
#include <string>
#include <vector>

#include "edgequant/int_kernels.h"
#include "edgequant/kernel.h"
#include "graph_common.h"
#include "graph_kernels.h"

namespace eq {
namespace {

using qk::QParam;

// Conv geometry and requantization shared by the integer and the float-activation paths.
struct WeightedCommon {
  QParam x, out;
  std::vector<float> w_scales;
  std::vector<intk::QuantizedMultiplier> mults;
  std::string activation;
  std::unique_ptr<qk::FloatOp> act;
  Tensor acc, act_in, act_out;  // float-activation path only

  WeightedCommon(const KernelCreateInfo& info) {
    const Attrs& a = info.node.attrs;
    x = qk::qparam(a, "x");
    out = qk::qparam(a, "out");
    for (double s : a.floats("w_scales")) w_scales.push_back(static_cast<float>(s));
    mults = intk::ConvMultipliers(x.scale, w_scales, out.scale);
    activation = a.s("activation", "none");
    const Shape& os = info.outputs.at(0).second;
    if (activation != "none") {
      act = std::make_unique<qk::FloatOp>("aten." + activation + ".default", Attrs{}, os, info.threads,
                                          info.node.describe());
      acc = Tensor(DType::i32, os);
      act_in = Tensor(DType::f32, os);
      act_out = Tensor(DType::f32, os);
    }
  }
  intk::OutputRequant requant(const Attrs& a) const {
    intk::OutputRequant r;
    r.multipliers = mults.data();
    r.num_multipliers = static_cast<int>(mults.size());
    r.output_offset = out.zp;
    r.act_min = static_cast<int32_t>(a.i("act_min", -128));
    r.act_max = static_cast<int32_t>(a.i("act_max", 127));
    return r;
  }
  // acc (channel c at flat index i: (i / inner) % channels) -> float -> activation -> int8.
  void finish_float(int64_t channels, int64_t inner, int8_t* y) {
    const int32_t* pa = acc.data<int32_t>();
    float* pf = act_in.data<float>();
    const int64_t n = acc.numel();
    for (int64_t i = 0; i < n; ++i) {
      const size_t c = w_scales.size() == 1 ? 0 : static_cast<size_t>((i / inner) % channels);
      pf[i] = static_cast<float>(static_cast<double>(pa[i]) *
                                 (static_cast<double>(x.scale) * static_cast<double>(w_scales[c])));
    }
    act->run(act_in, act_out);
    const float* po = act_out.data<float>();
    for (int64_t i = 0; i < n; ++i) y[i] = qk::quantize_like_q(po[i], out);
  }
};

class QConvKernel final : public OpKernel {
 public:
  QConvKernel(const KernelCreateInfo& info, size_t k) : c_(info) {
    const Attrs& a = info.node.attrs;
    p_ = qk::conv_geometry(info, k);
    p_.input_offset = -c_.x.zp;
    p_.out = c_.requant(a);
  }

  void run(KernelContext& ctx) override {
    const int8_t* x = ctx.in(0).data<int8_t>();
    const int8_t* w = ctx.in(1).data<int8_t>();
    const int32_t* b = ctx.has(2) ? ctx.in(2).data<int32_t>() : nullptr;
    int8_t* y = ctx.out(0).data<int8_t>();
    if (c_.act) {
      intk::Conv2DAccumulate(p_, x, w, b, c_.acc.data<int32_t>());
      c_.finish_float(p_.out_channels, static_cast<int64_t>(p_.out_h()) * p_.out_w(), y);
      return;
    }
    // Conv2D takes every grouping (depthwise with any multiplier included) through p_.groups.
    intk::Conv2D(p_, x, w, b, y);
  }

 private:
  WeightedCommon c_;
  intk::Conv2DParams p_;
};

class QLinearKernel final : public OpKernel {
 public:
  explicit QLinearKernel(const KernelCreateInfo& info) : c_(info) {
    const Shape& xs = info.inputs.at(0).shape;
    const Shape& ws = info.inputs.at(1).shape;
    p_.in_features = static_cast<int>(ws[1]);
    p_.out_features = static_cast<int>(ws[0]);
    p_.batch = static_cast<int>(p_.in_features == 0 ? 0 : shape_numel(xs) / p_.in_features);  // leading dims flattened
    p_.input_offset = -c_.x.zp;
    p_.out = c_.requant(info.node.attrs);
    p_.threads = info.threads;
  }
  void run(KernelContext& ctx) override {
    const int8_t* x = ctx.in(0).data<int8_t>();
    const int8_t* w = ctx.in(1).data<int8_t>();
    const int32_t* b = ctx.has(2) ? ctx.in(2).data<int32_t>() : nullptr;
    int8_t* y = ctx.out(0).data<int8_t>();
    if (c_.act) {
      intk::FullyConnectedAccumulate(p_, x, w, b, c_.acc.data<int32_t>());
      c_.finish_float(p_.out_features, 1, y);
      return;
    }
    intk::FullyConnected(p_, x, w, b, y);
  }

 private:
  WeightedCommon c_;
  intk::FullyConnectedParams p_;
};

// numpy matmul: a [..., M, K] x b [..., K, N] with broadcast batch dims (a 1-D operand is a
// single row / column), one intk::MatMul per output batch.
class QMatmulKernel final : public OpKernel {
 public:
  explicit QMatmulKernel(const KernelCreateInfo& info) {
    const Attrs& at = info.node.attrs;
    const qk::QParam a = qk::qparam(at, "a"), b = qk::qparam(at, "b"), o = qk::qparam(at, "out");
    p_ = intk::MakeMatMulParams(a.scale, a.zp, b.scale, b.zp, o.scale, o.zp);
    Shape sa = info.inputs.at(0).shape, sb = info.inputs.at(1).shape;
    if (sa.size() == 1) sa.insert(sa.begin(), 1);
    if (sb.size() == 1) sb.push_back(1);
    p_.m = static_cast<int>(sa[sa.size() - 2]);
    p_.k = static_cast<int>(sa.back());
    p_.n = static_cast<int>(sb.back());
    const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    const size_t r = std::max(ba.size(), bb.size());
    dims_.assign(r, 1);
    stride_a_.assign(r, 0);
    stride_b_.assign(r, 0);
    int64_t acc_a = 1, acc_b = 1;
    for (size_t k = 0; k < r; ++k) {  // strides in units of whole matrices; 0 where broadcast
      const size_t d = r - 1 - k;
      const int64_t da = k < ba.size() ? ba[ba.size() - 1 - k] : 1;
      const int64_t db = k < bb.size() ? bb[bb.size() - 1 - k] : 1;
      dims_[d] = std::max(da, db);
      stride_a_[d] = da == 1 ? 0 : acc_a;
      stride_b_[d] = db == 1 ? 0 : acc_b;
      acc_a *= da;
      acc_b *= db;
    }
  }
  void run(KernelContext& ctx) override {
    const int8_t* a = ctx.in(0).data<int8_t>();
    const int8_t* b = ctx.in(1).data<int8_t>();
    int8_t* y = ctx.out(0).data<int8_t>();
    int64_t batches = 1;
    for (int64_t d : dims_) batches *= d;
    const int64_t ma = static_cast<int64_t>(p_.m) * p_.k, mb = static_cast<int64_t>(p_.k) * p_.n,
                  mo = static_cast<int64_t>(p_.m) * p_.n;
    for (int64_t t = 0; t < batches; ++t) {
      int64_t rem = t, oa = 0, ob = 0;
      for (size_t d = dims_.size(); d-- > 0;) {
        const int64_t i = rem % dims_[d];
        rem /= dims_[d];
        oa += i * stride_a_[d];
        ob += i * stride_b_[d];
      }
      intk::MatMul(p_, a + oa * ma, b + ob * mb, y + t * mo);
    }
  }

 private:
  intk::MatMulParams p_;
  std::vector<int64_t> dims_, stride_a_, stride_b_;
};

}  // namespace

void register_quantized_linalg_kernels() {
  register_int8_kernel("quantized.conv1d", [](const KernelCreateInfo& i) { return std::make_unique<QConvKernel>(i, 1); });
  register_int8_kernel("quantized.conv2d", [](const KernelCreateInfo& i) { return std::make_unique<QConvKernel>(i, 2); });
  register_int8_kernel("quantized.linear", [](const KernelCreateInfo& i) { return std::make_unique<QLinearKernel>(i); });
  register_int8_kernel("quantized.matmul", [](const KernelCreateInfo& i) { return std::make_unique<QMatmulKernel>(i); });
}

}  // namespace eq
