// fp32 kernels of the linear-algebra family.
//   conv1d/conv2d, conv_transpose1d/2d: oneDNN primitives built once per kernel (dnnl_conv.cpp),
//     with the reference loops (conv_reference.cpp) as fallback when oneDNN has no implementation.
//     EQ_CONV_REFERENCE=1 in the environment forces the reference loops (debugging).
//   linear, matmul: oneDNN's sgemm, row-major (see gemm_sgemm.h for why not OpenBLAS).

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "../kernel_families.h"
#include "conv_geom.h"
#include "dnnl_conv.h"
#include "gemm_sgemm.h"
#include "runtime/threading.h"
#include "edgequant/kernel.h"

namespace eq {
namespace {

class ConvReferenceKernel : public OpKernel {
 public:
  explicit ConvReferenceKernel(const ConvGeom& g) : g_(g) {}
  void run(KernelContext& ctx) override {
    const float* b = ctx.has(2) ? ctx.in(2).data<float>() : nullptr;
    if (g_.transposed)
      conv_transpose_reference(g_, ctx.in(0).data<float>(), ctx.in(1).data<float>(), b, ctx.out(0).data<float>());
    else
      conv_reference(g_, ctx.in(0).data<float>(), ctx.in(1).data<float>(), b, ctx.out(0).data<float>());
  }

 private:
  ConvGeom g_;
};

bool force_reference_conv() {
  const char* v = std::getenv("EQ_CONV_REFERENCE");
  return v && *v && *v != '0';
}

KernelFactory conv_factory(bool transposed) {
  return [transposed](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const ConvGeom g = conv_geom_from(info, transposed);
    const bool empty = g.n == 0 || g.ic == 0 || g.oc == 0 || g.oh * g.ow == 0 || g.ih * g.iw == 0;
    if (!empty && !force_reference_conv())
      if (auto k = make_dnnl_conv_kernel(info, g)) return k;
    return std::make_unique<ConvReferenceKernel>(g);
  };
}

// y[M,N] = x[M,K] @ W[N,K]^T (+ b[N]).
class LinearKernel : public OpKernel {
 public:
  explicit LinearKernel(const KernelCreateInfo& info) {
    const Shape& ws = info.inputs.at(1).shape;
    n_ = ws[0];
    k_ = ws[1];
    m_ = k_ > 0 ? shape_numel(info.inputs.at(0).shape) / k_ : shape_numel(info.outputs.at(0).second) / std::max<int64_t>(n_, 1);
  }
  void run(KernelContext& ctx) override {
    float* y = ctx.out(0).data<float>();
    if (m_ == 0 || n_ == 0) return;
    float beta = 0.f;
    if (ctx.has(2)) {
      const float* b = ctx.in(2).data<float>();
      for (int64_t i = 0; i < m_; ++i) std::copy(b, b + n_, y + i * n_);
      beta = 1.f;
    } else if (k_ == 0) {
      std::fill(y, y + m_ * n_, 0.f);
      return;
    }
    if (k_ == 0) return;
    sgemm(true, m_, n_, k_, ctx.in(0).data<float>(), k_, ctx.in(1).data<float>(), k_, beta, y, n_);
  }

 private:
  int64_t m_ = 0, n_ = 0, k_ = 0;
};

// Numpy matmul: 1-D operands promoted (and the added dim dropped from the output), batch dims
// broadcast; one sgemm per output matrix, or a single sgemm when b is one matrix shared by every
// batch of a (the batch folds into M).
class MatmulKernel : public OpKernel {
 public:
  explicit MatmulKernel(const KernelCreateInfo& info) {
    Shape sa = info.inputs.at(0).shape, sb = info.inputs.at(1).shape;
    if (sa.size() == 1) sa.insert(sa.begin(), 1);
    if (sb.size() == 1) sb.push_back(1);
    m_ = sa[sa.size() - 2];
    k_ = sa.back();
    n_ = sb.back();
    const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    const size_t r = std::max(ba.size(), bb.size());
    Shape bo(r), pa(r, 1), pb(r, 1);
    for (size_t i = 0; i < r; ++i) {
      if (i >= r - ba.size()) pa[i] = ba[i - (r - ba.size())];
      if (i >= r - bb.size()) pb[i] = bb[i - (r - bb.size())];
      bo[i] = std::max(pa[i], pb[i]);
      if (pa[i] == 0 || pb[i] == 0) bo[i] = 0;
    }
    int64_t batches = 1;
    for (int64_t d : bo) batches *= d;
    // Element strides of a's and b's batch dims (0 where broadcast).
    std::vector<int64_t> sta(r), stb(r);
    int64_t s_a = m_ * k_, s_b = k_ * n_;
    for (size_t i = r; i-- > 0;) {
      sta[i] = pa[i] == 1 ? 0 : s_a;
      stb[i] = pb[i] == 1 ? 0 : s_b;
      s_a *= pa[i];
      s_b *= pb[i];
    }
    int64_t b_batches = 1;
    for (int64_t d : pb) b_batches *= d;
    int64_t a_batches = 1;
    for (int64_t d : pa) a_batches *= d;
    if (b_batches == 1 && a_batches == batches) {
      // a's batches are contiguous and b is shared: one [batches*M, K] @ [K, N].
      m_ *= batches;
      off_a_ = {0};
      off_b_ = {0};
      return;
    }
    for (int64_t t = 0; t < batches; ++t) {
      int64_t rem = t, oa = 0, ob = 0;
      for (size_t i = r; i-- > 0;) {
        const int64_t idx = rem % bo[i];
        rem /= bo[i];
        oa += idx * sta[i];
        ob += idx * stb[i];
      }
      off_a_.push_back(oa);
      off_b_.push_back(ob);
    }
  }

  void run(KernelContext& ctx) override {
    const float* a = ctx.in(0).data<float>();
    const float* b = ctx.in(1).data<float>();
    float* y = ctx.out(0).data<float>();
    if (m_ == 0 || n_ == 0) return;
    if (k_ == 0) {
      std::fill(y, y + static_cast<int64_t>(off_a_.size()) * m_ * n_, 0.f);
      return;
    }
    const long batches = static_cast<long>(off_a_.size());
    auto one = [&](long t) {
      sgemm(false, m_, n_, k_, a + off_a_[static_cast<size_t>(t)], k_, b + off_b_[static_cast<size_t>(t)], n_, 0.f,
            y + static_cast<int64_t>(t) * m_ * n_, n_);
    };
    if (batches == 1) {
      one(0);  // one large product: the GEMM threads itself
      return;
    }
    // Many small products (attention heads): one thread per product; inside a parallel region
    // the GEMM runs single-threaded.
    parallel_for(batches, 1, [&](long begin, long end) {
      for (long t = begin; t < end; ++t) one(t);
    });
  }

 private:
  int64_t m_ = 0, k_ = 0, n_ = 0;
  std::vector<int64_t> off_a_, off_b_;
};

}  // namespace

void register_linalg_kernels() {
  register_kernel("aten.conv1d.default", conv_factory(false));
  register_kernel("aten.conv2d.default", conv_factory(false));
  register_kernel("aten.conv_transpose1d.default", conv_factory(true));
  register_kernel("aten.conv_transpose2d.input", conv_factory(true));
  register_kernel("aten.linear.default", [](const KernelCreateInfo& i) { return std::make_unique<LinearKernel>(i); });
  register_kernel("aten.matmul.default", [](const KernelCreateInfo& i) { return std::make_unique<MatmulKernel>(i); });
}

}  // namespace eq
