// Kernels of dynamic activation quantization (src/ir/ops/dynamic_quant.cpp):
//   choose_qparams.tensor: torch's per-tensor affine qparams of the whole input (dynamic_qparams.h);
//   quantized.linear_dynamic / conv1d_dynamic / conv2d_dynamic: per call, x's qparams are chosen
//     with the same arithmetic, x is quantized exactly as the fp32 quantize kernel does, the int8
//     products are summed in int32 (intk::FullyConnectedAccumulate / Conv2DAccumulate, with
//     input_offset = -zero point) and each output is acc * (x_scale * w_scale[c]) (in double, rounded
//     to f32) + the f32 bias. The fake-quant graph computes the same real numbers with f32 sums, so
//     the two agree within float rounding.
#include <memory>
#include <string>
#include <vector>

#include "../dynamic_qparams.h"
#include "../kernel_families.h"
#include "edgequant/int_kernels.h"
#include "edgequant/kernel.h"
#include "gemm_int8.h"
#include "graph_common.h"

namespace eq {
namespace {

struct ChooseAttrs {
  int64_t qmin = -128, qmax = 127;
  float eps = kDefaultQuantEps;
  DType dtype = DType::i8;
  explicit ChooseAttrs(const Attrs& a)
      : qmin(a.i("quant_min")),
        qmax(a.i("quant_max")),
        eps(static_cast<float>(a.f("eps", kDefaultQuantEps))),
        dtype(dtype_from_name(a.s("dtype", "i8"))) {}
};

std::unique_ptr<OpKernel> make_choose(const KernelCreateInfo& info) {
  const ChooseAttrs c(info.node.attrs);
  return std::make_unique<FunctionKernel>([c](KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const dynq::Chosen q =
        dynq::choose_qparams(x.data<float>(), x.numel(), c.qmin, c.qmax, c.eps, c.dtype, ctx.node.describe());
    ctx.out(0).data<float>()[0] = q.scale;
    if (c.dtype == DType::i8) ctx.out(1).data<int8_t>()[0] = static_cast<int8_t>(q.zero_point);
    else ctx.out(1).data<uint8_t>()[0] = static_cast<uint8_t>(q.zero_point);
  });
}

// Choose, quantize, accumulate (`accumulate(xq, input_offset, acc)`), rescale; shared by linear and conv.
class DynamicWeighted : public OpKernel {
 public:
  DynamicWeighted(const KernelCreateInfo& info, int64_t channels, int64_t inner)
      : c_(info.node.attrs), channels_(channels), inner_(inner) {
    for (double s : info.node.attrs.floats("w_scales")) w_scales_.push_back(s);
    xq_ = Tensor(DType::i8, info.inputs.at(0).shape);
    acc_ = Tensor(DType::i32, info.outputs.at(0).second);
  }

  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    const dynq::Chosen q =
        dynq::choose_qparams(x.data<float>(), x.numel(), c_.qmin, c_.qmax, c_.eps, c_.dtype, ctx.node.describe());
    const qk::QParam qp{q.scale, q.zero_point};
    const float* px = x.data<float>();
    int8_t* pq = xq_.data<int8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) pq[i] = qk::quantize_like_q(px[i], qp);
    accumulate(ctx, pq, -q.zero_point, acc_.data<int32_t>());
    const int32_t* pa = acc_.data<int32_t>();
    const float* b = ctx.has(2) ? ctx.in(2).data<float>() : nullptr;
    float* y = ctx.out(0).data<float>();
    std::vector<double> mult(static_cast<size_t>(channels_));
    for (int64_t c = 0; c < channels_; ++c)
      mult[static_cast<size_t>(c)] = static_cast<double>(q.scale) * w_scales_[w_scales_.size() == 1 ? 0 : static_cast<size_t>(c)];
    const int64_t n = acc_.numel();
    for (int64_t i = 0; i < n; ++i) {
      const size_t c = static_cast<size_t>((i / inner_) % channels_);
      y[i] = static_cast<float>(static_cast<double>(pa[i]) * mult[c]) + (b ? b[c] : 0.f);
    }
  }

 protected:
  virtual void accumulate(KernelContext& ctx, const int8_t* xq, int32_t input_offset, int32_t* acc) = 0;

 private:
  ChooseAttrs c_;
  int64_t channels_, inner_;
  std::vector<double> w_scales_;
  Tensor xq_, acc_;
};

// int32 accumulators of the linear on the fast GEMM of gemm_int8.h (int16 pairs: weights widened once,
// 16 input rows + input_offset per packed panel): exact integer sums, so the same numbers as
// intk::FullyConnectedAccumulate without the bias. acc is [batch, out_features].
void fc_accumulate_gemm(int batch, int K, int M, const int16_t* a16, int kw, const int8_t* xq, int32_t offset,
                        int threads, int32_t* acc) {
  using namespace intk::detail;
  const int64_t npanels = (batch + kNR - 1) / kNR;
  std::vector<int64_t> koff(static_cast<size_t>(kw));
  for (int k = 0; k < kw; ++k) koff[static_cast<size_t>(k)] = static_cast<int64_t>(k) * kNR;
  const int nt = effective_threads(threads, static_cast<int64_t>(batch) * K * M);
  run_tasks(nt, static_cast<long>(npanels), [&](long q_begin, long q_end) {
    std::vector<int32_t> panel(static_cast<size_t>(kw) * kNR);
    std::vector<int16_t> row16(static_cast<size_t>(2 * kw + 16), 0);  // zero past K
    for (long q = q_begin; q < q_end; ++q) {
      const int b0 = static_cast<int>(q * kNR);
      const int ncol = std::min(kNR, batch - b0);
      for (int j = 0; j < kNR; ++j) {
        if (j < ncol) widen_offset(xq + static_cast<int64_t>(b0 + j) * K, K, offset, row16.data());
        for (int k = 0; k < kw; ++k)
          panel[static_cast<size_t>(k) * kNR + static_cast<size_t>(j)] = j < ncol ? load_i32(row16.data() + 2 * k) : 0;
      }
      gemm_tiles(Operands::pairs, a16, int64_t{4} * kw, 0, M, panel.data(), koff.data(), 1, kw,
                 [&](int m0, int rows, int, const int32_t* c) {
                   for (int i = 0; i < rows; ++i)
                     for (int j = 0; j < ncol; ++j)
                       acc[static_cast<int64_t>(b0 + j) * M + m0 + i] = c[i * kNR + j];
                 });
    }
  });
}

class DynamicLinear final : public DynamicWeighted {
 public:
  explicit DynamicLinear(const KernelCreateInfo& info)
      : DynamicWeighted(info, info.inputs.at(1).shape[0], 1) {
    const Shape& ws = info.inputs.at(1).shape;
    p_.in_features = static_cast<int>(ws[1]);
    p_.out_features = static_cast<int>(ws[0]);
    p_.batch = static_cast<int>(p_.in_features == 0 ? 0 : shape_numel(info.inputs.at(0).shape) / p_.in_features);
    p_.threads = info.threads;
    constant_w_ = info.inputs.at(1).constant != nullptr;
  }

 protected:
  void accumulate(KernelContext& ctx, const int8_t* xq, int32_t input_offset, int32_t* acc) override {
    p_.input_offset = input_offset;
    if (p_.batch <= 0 || p_.out_features <= 0) return;
    // The int8 weights widened once when constant (every graph lower_to_integer makes), else per call.
    const int8_t* w = ctx.in(1).data<int8_t>();
    const int kw = (p_.in_features + 1) / 2;
    if (!widened_ || !constant_w_) {
      a16_.assign(static_cast<size_t>(p_.out_features) * 2 * static_cast<size_t>(kw), 0);
      intk::detail::widen_rows(w, p_.out_features, p_.in_features, 2 * kw, a16_.data());
      widened_ = true;
    }
    fc_accumulate_gemm(p_.batch, p_.in_features, p_.out_features, a16_.data(), kw, xq, input_offset, p_.threads, acc);
  }

 private:
  intk::FullyConnectedParams p_;
  std::vector<int16_t> a16_;
  bool constant_w_ = false, widened_ = false;
};

class DynamicConv final : public DynamicWeighted {
 public:
  DynamicConv(const KernelCreateInfo& info, size_t k) : DynamicWeighted(info, info.inputs.at(1).shape[0], inner_of(info)) {
    p_ = qk::conv_geometry(info, k);
  }

 protected:
  void accumulate(KernelContext& ctx, const int8_t* xq, int32_t input_offset, int32_t* acc) override {
    p_.input_offset = input_offset;
    intk::Conv2DAccumulate(p_, xq, ctx.in(1).data<int8_t>(), nullptr, acc);
  }

 private:
  static int64_t inner_of(const KernelCreateInfo& info) {
    const Shape& os = info.outputs.at(0).second;
    int64_t inner = 1;
    for (size_t d = 2; d < os.size(); ++d) inner *= os[d];
    return inner;
  }
  intk::Conv2DParams p_;
};

}  // namespace

void register_dynamic_quant_kernels() {
  register_kernel("quantized_decomposed.choose_qparams.tensor", make_choose);
  register_kernel("quantized.linear_dynamic", [](const KernelCreateInfo& i) { return std::make_unique<DynamicLinear>(i); });
  register_kernel("quantized.conv1d_dynamic", [](const KernelCreateInfo& i) { return std::make_unique<DynamicConv>(i, 1); });
  register_kernel("quantized.conv2d_dynamic", [](const KernelCreateInfo& i) { return std::make_unique<DynamicConv>(i, 2); });
}

}  // namespace eq
