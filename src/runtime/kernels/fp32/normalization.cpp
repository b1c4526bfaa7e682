// fp32 kernels of the normalization family: softmax, log_softmax, layer_norm, batch norm
// (inference). Plain loops, parallel over outer rows / planes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../kernel_families.h"
#include "edgequant/kernel.h"
#include "ew_math.h"
#include "runtime/threading.h"

namespace eq {
namespace {

// Softmax over one axis of x viewed as [outer, D, inner]. Numerically stable (max subtracted).
class SoftmaxKernel : public OpKernel {
 public:
  SoftmaxKernel(const KernelCreateInfo& info, bool log) : log_(log) {
    const Shape& xs = info.inputs.at(0).shape;
    const int64_t rank = static_cast<int64_t>(xs.size());
    if (rank == 0) return;
    int64_t dim = info.node.attrs.i("dim");
    if (dim < 0) dim += rank;
    for (int64_t d = 0; d < dim; ++d) outer_ *= xs[static_cast<size_t>(d)];
    d_ = xs[static_cast<size_t>(dim)];
    for (int64_t d = dim + 1; d < rank; ++d) inner_ *= xs[static_cast<size_t>(d)];
  }

  void run(KernelContext& ctx) override {
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out(0).data<float>();
    const int64_t D = d_, I = inner_;
    if (D == 0 || outer_ == 0 || I == 0) return;
    if (I == 1) {
      parallel_for(static_cast<long>(outer_), 1, [&](long b, long e) {
        for (long o = b; o < e; ++o) row(x + o * D, y + o * D);
      });
      return;
    }
    // Strided: vectorise over a chunk of the inner dim.
    const int64_t chunk = 256, nchunks = (I + chunk - 1) / chunk;
    parallel_for(static_cast<long>(outer_ * nchunks), 1, [&](long b, long e) {
      std::vector<float> m(static_cast<size_t>(chunk)), s(static_cast<size_t>(chunk));
      for (long t = b; t < e; ++t) {
        const int64_t o = t / nchunks, c0 = (t % nchunks) * chunk, n = std::min(chunk, I - c0);
        const float* xo = x + o * D * I + c0;
        float* yo = y + o * D * I + c0;
        std::fill(m.begin(), m.begin() + n, -std::numeric_limits<float>::infinity());
        std::fill(s.begin(), s.begin() + n, 0.f);
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < n; ++i) m[static_cast<size_t>(i)] = std::max(m[static_cast<size_t>(i)], xo[d * I + i]);
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < n; ++i) {
            const float v = xo[d * I + i] - m[static_cast<size_t>(i)];
            const float ev = std::exp(v);
            s[static_cast<size_t>(i)] += ev;
            yo[d * I + i] = log_ ? v : ev;
          }
        for (int64_t i = 0; i < n; ++i)
          s[static_cast<size_t>(i)] = log_ ? std::log(s[static_cast<size_t>(i)]) : 1.f / s[static_cast<size_t>(i)];
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < n; ++i) {
            if (log_) yo[d * I + i] -= s[static_cast<size_t>(i)];
            else yo[d * I + i] *= s[static_cast<size_t>(i)];
          }
      }
    });
  }

 private:
  void row(const float* x, float* y) const {
    const float m = ew_max(x, static_cast<long>(d_));
    float s = 0.f;
    if (log_) {
      for (int64_t i = 0; i < d_; ++i) {
        y[i] = x[i] - m;
        s += std::exp(y[i]);
      }
      const float ls = std::log(s);
      for (int64_t i = 0; i < d_; ++i) y[i] -= ls;
    } else {
      s = ew_exp_shift_sum(x, y, static_cast<long>(d_), m);
      const float inv = 1.f / s;
      for (int64_t i = 0; i < d_; ++i) y[i] *= inv;
    }
  }

  bool log_;
  int64_t outer_ = 1, d_ = 1, inner_ = 1;
};

class LayerNormKernel : public OpKernel {
 public:
  explicit LayerNormKernel(const KernelCreateInfo& info) {
    const Shape& xs = info.inputs.at(0).shape;
    const int64_t rank = static_cast<int64_t>(xs.size());
    int64_t axis = info.node.attrs.i("axis", rank - 1);
    if (axis < 0) axis += rank;
    eps_ = static_cast<float>(info.node.attrs.f("eps", 1e-5));
    for (int64_t d = 0; d < axis; ++d) rows_ *= xs[static_cast<size_t>(d)];
    for (int64_t d = axis; d < rank; ++d) cols_ *= xs[static_cast<size_t>(d)];
  }

  void run(KernelContext& ctx) override {
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out(0).data<float>();
    const float* w = ctx.has(1) ? ctx.in(1).data<float>() : nullptr;
    const float* b = ctx.has(2) ? ctx.in(2).data<float>() : nullptr;
    const int64_t C = cols_;
    if (C == 0) return;
    parallel_for(static_cast<long>(rows_), 1, [&](long rb, long re) {
      for (long r = rb; r < re; ++r) {
        const float* xr = x + r * C;
        float* yr = y + r * C;
        double s = 0.0;
        for (int64_t i = 0; i < C; ++i) s += xr[i];
        const float mean = static_cast<float>(s / static_cast<double>(C));
        double v = 0.0;
        for (int64_t i = 0; i < C; ++i) {
          const float d = xr[i] - mean;
          v += static_cast<double>(d) * d;
        }
        const float inv = static_cast<float>(1.0 / std::sqrt(v / static_cast<double>(C) + eps_));
        if (w && b)
          for (int64_t i = 0; i < C; ++i) yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
        else if (w)
          for (int64_t i = 0; i < C; ++i) yr[i] = (xr[i] - mean) * inv * w[i];
        else if (b)
          for (int64_t i = 0; i < C; ++i) yr[i] = (xr[i] - mean) * inv + b[i];
        else
          for (int64_t i = 0; i < C; ++i) yr[i] = (xr[i] - mean) * inv;
      }
    });
  }

 private:
  float eps_ = 1e-5f;
  int64_t rows_ = 1, cols_ = 1;
};

// y = x * scale[c] + shift[c], with scale = w / sqrt(var + eps), shift = b - mean * scale.
// Folded once at creation when all four parameters are constants.
class BatchNormKernel : public OpKernel {
 public:
  explicit BatchNormKernel(const KernelCreateInfo& info) {
    const Shape& xs = info.inputs.at(0).shape;
    eps_ = info.node.attrs.f("eps", 1e-5);
    n_ = xs[0];
    c_ = xs[1];
    for (size_t d = 2; d < xs.size(); ++d) inner_ *= xs[d];
    bool all_const = true;
    for (size_t i = 1; i <= 4; ++i) all_const = all_const && info.inputs.at(i).constant != nullptr;
    if (all_const) {
      fold(info.inputs[1].constant->data<float>(), info.inputs[2].constant->data<float>(),
           info.inputs[3].constant->data<float>(), info.inputs[4].constant->data<float>(), scale_, shift_);
      folded_ = true;
    }
  }

  void run(KernelContext& ctx) override {
    std::vector<float> scale_local, shift_local;
    const std::vector<float>* sc = &scale_;
    const std::vector<float>* sh = &shift_;
    if (!folded_) {
      fold(ctx.in(1).data<float>(), ctx.in(2).data<float>(), ctx.in(3).data<float>(), ctx.in(4).data<float>(),
           scale_local, shift_local);
      sc = &scale_local;
      sh = &shift_local;
    }
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out(0).data<float>();
    const int64_t I = inner_, C = c_;
    parallel_for(static_cast<long>(n_ * c_), 1, [&](long pb, long pe) {
      for (long p = pb; p < pe; ++p) {
        const float a = (*sc)[static_cast<size_t>(p % C)], b = (*sh)[static_cast<size_t>(p % C)];
        const float* xp = x + p * I;
        float* yp = y + p * I;
        for (int64_t i = 0; i < I; ++i) yp[i] = xp[i] * a + b;
      }
    });
  }

 private:
  void fold(const float* w, const float* b, const float* mean, const float* var, std::vector<float>& scale,
            std::vector<float>& shift) const {
    scale.resize(static_cast<size_t>(c_));
    shift.resize(static_cast<size_t>(c_));
    for (int64_t c = 0; c < c_; ++c) {
      const double s = static_cast<double>(w[c]) / std::sqrt(static_cast<double>(var[c]) + eps_);
      scale[static_cast<size_t>(c)] = static_cast<float>(s);
      shift[static_cast<size_t>(c)] = static_cast<float>(static_cast<double>(b[c]) - static_cast<double>(mean[c]) * s);
    }
  }

  double eps_ = 1e-5;
  int64_t n_ = 1, c_ = 1, inner_ = 1;
  bool folded_ = false;
  std::vector<float> scale_, shift_;
};

}  // namespace

void register_normalization_kernels() {
  register_kernel("aten.softmax.int",
                  [](const KernelCreateInfo& i) { return std::make_unique<SoftmaxKernel>(i, false); });
  register_kernel("aten.log_softmax.int",
                  [](const KernelCreateInfo& i) { return std::make_unique<SoftmaxKernel>(i, true); });
  register_kernel("aten.layer_norm.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<LayerNormKernel>(i); });
  register_kernel("aten._native_batch_norm_legit_no_training.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<BatchNormKernel>(i); });
}

}  // namespace eq
