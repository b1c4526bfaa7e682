// Kernels of quantized.cat (inputs whose qparams differ from the output's are requantized with
// TFLite's int8 QUANTIZE arithmetic, the rest copied) and quantized.softmax (TFLite's fixed-point
// softmax when the output is scale 1/256, zero point -128 and the axis is the last; otherwise
// dequantize, the fp32 softmax kernel, quantize).
#include <cstring>
#include <memory>
#include <vector>

#include "edgequant/int_kernels.h"
#include "edgequant/kernel.h"
#include "graph_common.h"
#include "graph_kernels.h"

namespace eq {
namespace {

KernelFactory cat_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Attrs& a = info.node.attrs;
    const Shape& os = info.outputs.at(0).second;
    const int64_t rank = static_cast<int64_t>(os.size());
    const int64_t d0 = a.i("dim", 0);
    const size_t dim = static_cast<size_t>(d0 < 0 ? d0 + rank : d0);
    int64_t outer = 1, inner = 1;
    for (size_t d = 0; d < dim; ++d) outer *= os[d];
    for (size_t d = dim + 1; d < os.size(); ++d) inner *= os[d];
    const std::vector<double> scales = a.floats("scales");
    const std::vector<int64_t> zps = a.ints("zero_points");
    const qk::QParam o = qk::qparam(a, "out");
    struct Part {
      int64_t block = 0;  // bytes per outer index
      bool requant = false;
      intk::RequantizeParams rq;
    };
    std::vector<Part> parts;
    int64_t max_numel = 0;
    for (size_t i = 0; i < info.inputs.size(); ++i) {
      Part p;
      p.block = info.inputs[i].shape[dim] * inner;
      const qk::QParam x{static_cast<float>(scales[i]), static_cast<int32_t>(zps[i])};
      p.requant = !(x == o);
      p.rq = intk::MakeRequantizeParams(x.scale, x.zp, o.scale, o.zp);
      parts.push_back(p);
      max_numel = std::max(max_numel, p.block * outer);
    }
    auto scratch = std::make_shared<std::vector<int8_t>>(static_cast<size_t>(max_numel));
    return std::make_unique<FunctionKernel>([parts, outer, scratch](KernelContext& ctx) {
      int8_t* y = ctx.out(0).data<int8_t>();
      int64_t total = 0;
      for (const Part& p : parts) total += p.block;
      int64_t offset = 0;
      for (size_t i = 0; i < parts.size(); ++i) {
        const Part& p = parts[i];
        const int8_t* src = ctx.in(i).data<int8_t>();
        if (p.requant) {
          intk::Requantize(p.rq, src, p.block * outer, scratch->data());
          src = scratch->data();
        }
        for (int64_t k = 0; k < outer; ++k)
          std::memcpy(y + k * total + offset, src + k * p.block, static_cast<size_t>(p.block));
        offset += p.block;
      }
    });
  };
}

class QSoftmaxKernel final : public OpKernel {
 public:
  explicit QSoftmaxKernel(const KernelCreateInfo& info) {
    const Attrs& a = info.node.attrs;
    const Shape& xs = info.inputs.at(0).shape;
    const int64_t rank = static_cast<int64_t>(xs.size());
    int64_t dim = a.i("dim");
    if (dim < 0) dim += rank;
    x_ = qk::qparam(a, "x");
    out_ = qk::qparam(a, "out");
    fixed_point_ = (rank == 0 || dim == rank - 1) && out_.scale == 1.0f / 256 && out_.zp == -128;
    if (fixed_point_) {
      depth_ = rank == 0 ? 1 : static_cast<int>(xs.back());
      rows_ = depth_ == 0 ? 0 : shape_numel(xs) / depth_;
      params_ = intk::MakeSoftmaxParams(x_.scale);
    } else {
      Attrs fa;
      fa.set("dim", dim);
      float_ = std::make_unique<qk::FloatOp>("aten.softmax.int", fa, xs, info.threads, info.node.describe());
      in_f_ = Tensor(DType::f32, xs);
      out_f_ = Tensor(DType::f32, xs);
    }
  }
  void run(KernelContext& ctx) override {
    const int8_t* x = ctx.in(0).data<int8_t>();
    int8_t* y = ctx.out(0).data<int8_t>();
    if (fixed_point_) {
      intk::Softmax(params_, x, rows_, depth_, y);
      return;
    }
    float* f = in_f_.data<float>();
    const int64_t n = in_f_.numel();
    for (int64_t i = 0; i < n; ++i) f[i] = qk::dequantize_like_dq(x[i], x_);
    float_->run(in_f_, out_f_);
    const float* g = out_f_.data<float>();
    for (int64_t i = 0; i < n; ++i) y[i] = qk::quantize_like_q(g[i], out_);
  }

 private:
  qk::QParam x_, out_;
  bool fixed_point_ = false;
  int64_t rows_ = 0;
  int depth_ = 0;
  intk::SoftmaxParams params_;
  std::unique_ptr<qk::FloatOp> float_;
  Tensor in_f_, out_f_;
};

}  // namespace

void register_quantized_misc_kernels() {
  register_int8_kernel("quantized.cat", cat_factory());
  register_int8_kernel("quantized.softmax", [](const KernelCreateInfo& i) { return std::make_unique<QSoftmaxKernel>(i); });
}

}  // namespace eq
