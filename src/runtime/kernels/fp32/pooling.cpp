// fp32 kernels of the pooling family: max/avg pool 1-D/2-D, adaptive average pool 2-D, and the
// reductions mean/sum/amax. Plain loops with per-output window tables computed once at kernel
// creation; parallel over planes (or outer rows for reductions).
#include <algorithm>
#include <cmath>
#include <limits>
#include <variant>
#include <vector>

#include "../kernel_families.h"
#include "edgequant/kernel.h"
#include "runtime/threading.h"

namespace eq {
namespace {

// One spatial dim of a pool: for output index o the taps j in [j0, j1) land inside the input at
// start + j*dilation, and `div_pad` taps land inside input-or-real-padding (for count_include_pad).
struct PoolAxis {
  int64_t in = 1, out = 1, dilation = 1;
  std::vector<int64_t> start, j0, j1, div_pad;
};

PoolAxis make_axis(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
  PoolAxis a;
  a.in = in;
  a.out = out;
  a.dilation = d;
  for (int64_t o = 0; o < out; ++o) {
    const int64_t hs = o * s - pb;
    int64_t j0 = hs >= 0 ? 0 : (-hs + d - 1) / d;
    int64_t j1 = hs > in - 1 ? 0 : std::min(k, (in - 1 - hs) / d + 1);
    if (j1 < j0) j1 = j0;
    // Taps before in + pe: the real padded extent; the ceil-mode overhang past it is not counted.
    const int64_t jp = hs > in + pe - 1 ? 0 : std::min(k, (in + pe - 1 - hs) / d + 1);
    a.start.push_back(hs);
    a.j0.push_back(j0);
    a.j1.push_back(j1);
    a.div_pad.push_back(std::max<int64_t>(jp, 1));
  }
  return a;
}

std::vector<int64_t> pad_list(const Attrs& at, size_t k) {
  std::vector<int64_t> p = at.ints("padding", std::vector<int64_t>(2 * k, 0));
  if (p.size() == k) p.insert(p.end(), p.begin(), p.end());
  return p;
}

inline bool takes_max(float v, float m) { return v > m || std::isnan(v); }

class PoolKernel : public OpKernel {
 public:
  PoolKernel(const KernelCreateInfo& info, size_t k, bool is_max) : is_max_(is_max) {
    const Attrs& at = info.node.attrs;
    const Shape& xs = info.inputs.at(0).shape;
    const Shape& ys = info.outputs.at(0).second;
    const std::vector<int64_t> kernel = at.ints("kernel_size");
    std::vector<int64_t> stride = at.ints("stride", std::vector<int64_t>(k, 1));
    if (stride.empty()) stride = kernel;
    const std::vector<int64_t> dil = at.ints("dilation", std::vector<int64_t>(k, 1));
    const std::vector<int64_t> pad = pad_list(at, k);
    include_pad_ = at.i("count_include_pad", 1) != 0;
    // The common CNN downsampling window, every window inside the input: a loop without the
    // per-output window tables (it was the slowest node of the cnn fixture).
    const std::vector<int64_t> pads = pad_list(at, k);
    max2x2_ = is_max && k == 2 && kernel == std::vector<int64_t>{2, 2} && stride == std::vector<int64_t>{2, 2} &&
              dil == std::vector<int64_t>{1, 1} && std::all_of(pads.begin(), pads.end(), [](int64_t v) { return v == 0; }) &&
              2 * ys[xs.size() - 2] <= xs[xs.size() - 2] && 2 * ys[xs.size() - 1] <= xs[xs.size() - 1];
    const size_t s0 = xs.size() - k;
    planes_ = 1;
    for (size_t d = 0; d < s0; ++d) planes_ *= xs[d];
    if (k == 1) {
      h_ = make_axis(1, 1, 1, 1, 1, 0, 0);
      w_ = make_axis(xs[s0], ys[s0], kernel[0], stride[0], dil[0], pad[0], pad[1]);
    } else {
      h_ = make_axis(xs[s0], ys[s0], kernel[0], stride[0], dil[0], pad[0], pad[2]);
      w_ = make_axis(xs[s0 + 1], ys[s0 + 1], kernel[1], stride[1], dil[1], pad[1], pad[3]);
    }
  }

  void run(KernelContext& ctx) override {
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out(0).data<float>();
    const int64_t ih_n = h_.in, iw_n = w_.in, oh_n = h_.out, ow_n = w_.out;
    if (max2x2_) {
      parallel_for(static_cast<long>(planes_), 1, [&](long pb, long pe) {
        for (long p = pb; p < pe; ++p) {
          const float* xp = x + p * ih_n * iw_n;
          float* yp = y + p * oh_n * ow_n;
          for (int64_t oh = 0; oh < oh_n; ++oh) {
            const float* r0 = xp + 2 * oh * iw_n;
            const float* r1 = r0 + iw_n;
            for (int64_t ow = 0; ow < ow_n; ++ow) {
              float m = r0[2 * ow];  // same order and NaN rule as the general loop
              if (takes_max(r0[2 * ow + 1], m)) m = r0[2 * ow + 1];
              if (takes_max(r1[2 * ow], m)) m = r1[2 * ow];
              if (takes_max(r1[2 * ow + 1], m)) m = r1[2 * ow + 1];
              yp[oh * ow_n + ow] = m;
            }
          }
        }
      });
      return;
    }
    parallel_for(static_cast<long>(planes_), 1, [&](long pb, long pe) {
      for (long p = pb; p < pe; ++p) {
        const float* xp = x + p * ih_n * iw_n;
        float* yp = y + p * oh_n * ow_n;
        for (int64_t oh = 0; oh < oh_n; ++oh) {
          const int64_t hj0 = h_.j0[oh], hj1 = h_.j1[oh], hs = h_.start[oh];
          for (int64_t ow = 0; ow < ow_n; ++ow) {
            const int64_t wj0 = w_.j0[ow], wj1 = w_.j1[ow], ws = w_.start[ow];
            if (is_max_) {
              float m = -std::numeric_limits<float>::infinity();
              for (int64_t jh = hj0; jh < hj1; ++jh) {
                const float* row = xp + (hs + jh * h_.dilation) * iw_n + ws;
                for (int64_t jw = wj0; jw < wj1; ++jw) {
                  const float v = row[jw * w_.dilation];
                  if (takes_max(v, m)) m = v;
                }
              }
              yp[oh * ow_n + ow] = m;
            } else {
              float s = 0.f;
              for (int64_t jh = hj0; jh < hj1; ++jh) {
                const float* row = xp + (hs + jh * h_.dilation) * iw_n + ws;
                for (int64_t jw = wj0; jw < wj1; ++jw) s += row[jw * w_.dilation];
              }
              const int64_t cnt = include_pad_ ? h_.div_pad[oh] * w_.div_pad[ow] : (hj1 - hj0) * (wj1 - wj0);
              yp[oh * ow_n + ow] = cnt > 0 ? s / static_cast<float>(cnt) : std::numeric_limits<float>::quiet_NaN();
            }
          }
        }
      }
    });
  }

 private:
  bool is_max_;
  bool max2x2_ = false;
  bool include_pad_ = true;
  int64_t planes_ = 1;
  PoolAxis h_, w_;
};

class AdaptiveAvgPool2dKernel : public OpKernel {
 public:
  explicit AdaptiveAvgPool2dKernel(const KernelCreateInfo& info) {
    const Shape& xs = info.inputs.at(0).shape;
    const Shape& ys = info.outputs.at(0).second;
    const size_t s0 = xs.size() - 2;
    planes_ = 1;
    for (size_t d = 0; d < s0; ++d) planes_ *= xs[d];
    ih_ = xs[s0], iw_ = xs[s0 + 1], oh_ = ys[s0], ow_ = ys[s0 + 1];
    bins(ih_, oh_, hb_, he_);
    bins(iw_, ow_, wb_, we_);
  }
  // PyTorch's bins: start = floor(i*in/out), end = ceil((i+1)*in/out).
  static void bins(int64_t in, int64_t out, std::vector<int64_t>& b, std::vector<int64_t>& e) {
    for (int64_t i = 0; i < out; ++i) {
      b.push_back(i * in / out);
      e.push_back(((i + 1) * in + out - 1) / out);
    }
  }
  void run(KernelContext& ctx) override {
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out(0).data<float>();
    parallel_for(static_cast<long>(planes_), 1, [&](long pb, long pe) {
      for (long p = pb; p < pe; ++p) {
        const float* xp = x + p * ih_ * iw_;
        float* yp = y + p * oh_ * ow_;
        for (int64_t oh = 0; oh < oh_; ++oh)
          for (int64_t ow = 0; ow < ow_; ++ow) {
            float s = 0.f;
            for (int64_t h = hb_[oh]; h < he_[oh]; ++h)
              for (int64_t w = wb_[ow]; w < we_[ow]; ++w) s += xp[h * iw_ + w];
            yp[oh * ow_ + ow] = s / static_cast<float>((he_[oh] - hb_[oh]) * (we_[ow] - wb_[ow]));
          }
      }
    });
  }

 private:
  int64_t planes_ = 1, ih_ = 1, iw_ = 1, oh_ = 1, ow_ = 1;
  std::vector<int64_t> hb_, he_, wb_, we_;
};

enum class ReduceOp { sum, mean, max };

// Reduction over any set of dims. Adjacent dims of the same kind (reduced or kept) are merged; the
// kept dims except a trailing kept run form the parallel "outer" index; for each outer index the
// reduced groups are walked with an odometer, the innermost step being a contiguous run (trailing
// reduced run) or a contiguous vector accumulation (trailing kept run of length `inner`).
class ReduceKernel : public OpKernel {
 public:
  ReduceKernel(const KernelCreateInfo& info, ReduceOp op) : op_(op) {
    const Shape& xs = info.inputs.at(0).shape;
    const Attrs& at = info.node.attrs;
    const int64_t rank = static_cast<int64_t>(xs.size());
    std::vector<int64_t> dims;
    if (at.has("dim")) {
      const AttrValue& v = at.all().at("dim");
      if (const int64_t* one = std::get_if<int64_t>(&v)) dims = {*one};
      else dims = at.ints("dim");
    }
    std::vector<char> red(static_cast<size_t>(rank), dims.empty() ? 1 : 0);
    for (int64_t d : dims) red[static_cast<size_t>(d < 0 ? d + rank : d)] = 1;
    // Merge adjacent dims of the same kind; drop size-1 dims (they change nothing).
    struct G { int64_t size; bool reduced; };
    std::vector<G> groups;
    count_ = 1;
    for (size_t d = 0; d < xs.size(); ++d) {
      if (red[d]) count_ *= xs[d];
      if (xs[d] == 1) continue;
      if (!groups.empty() && groups.back().reduced == static_cast<bool>(red[d])) groups.back().size *= xs[d];
      else groups.push_back({xs[d], static_cast<bool>(red[d])});
    }
    empty_ = shape_numel(xs) == 0;
    if (!groups.empty() && !groups.back().reduced) {
      inner_ = groups.back().size;
      groups.pop_back();
    }
    // Strides (elements) of each group in x.
    int64_t stride = inner_;
    std::vector<int64_t> strides(groups.size());
    for (size_t g = groups.size(); g-- > 0;) {
      strides[g] = stride;
      stride *= groups[g].size;
    }
    for (size_t g = 0; g < groups.size(); ++g) {
      if (groups[g].reduced) {
        rsize_.push_back(groups[g].size);
        rstride_.push_back(strides[g]);
      } else {
        ksize_.push_back(groups[g].size);
        kstride_.push_back(strides[g]);
      }
    }
    outer_ = 1;
    for (int64_t s : ksize_) outer_ *= s;
    contiguous_last_ = inner_ == 1 && !rsize_.empty() && rstride_.back() == 1;
  }

  void run(KernelContext& ctx) override {
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out(0).data<float>();
    const float init = op_ == ReduceOp::max ? -std::numeric_limits<float>::infinity() : 0.f;
    if (empty_) {
      const int64_t n = ctx.out(0).numel();
      const float fill = op_ == ReduceOp::mean ? std::numeric_limits<float>::quiet_NaN() : init;
      for (int64_t i = 0; i < n; ++i) y[i] = fill;
      return;
    }
    const float scale = op_ == ReduceOp::mean ? static_cast<float>(1.0 / static_cast<double>(count_)) : 1.f;
    // Parallel over outer rows; when there is a single outer row but a long inner vector, over
    // chunks of the inner vector instead.
    const int64_t chunk = outer_ >= 2 || inner_ < 4096 ? inner_ : 1024;
    const int64_t nchunks = (inner_ + chunk - 1) / chunk;
    parallel_for(static_cast<long>(outer_ * nchunks), 1, [&](long tb, long te) {
      std::vector<double> acc;
      std::vector<int64_t> idx(rsize_.size());
      for (long t = tb; t < te; ++t) {
        const int64_t o = t / nchunks, c0 = (t % nchunks) * chunk, c1 = std::min(inner_, c0 + chunk);
        int64_t base = 0, rem = o;
        for (size_t g = ksize_.size(); g-- > 0;) {
          base += (rem % ksize_[g]) * kstride_[g];
          rem /= ksize_[g];
        }
        float* yo = y + o * inner_;
        if (contiguous_last_) {
          // Innermost reduced run is contiguous.
          const int64_t L = rsize_.back();
          const size_t nr = rsize_.size() - 1;
          std::fill(idx.begin(), idx.end(), 0);
          double s = 0.0;
          float m = init;
          for (;;) {
            int64_t off = base;
            for (size_t g = 0; g < nr; ++g) off += idx[g] * rstride_[g];
            const float* p = x + off;
            if (op_ == ReduceOp::max) {
              for (int64_t i = 0; i < L; ++i)
                if (takes_max(p[i], m)) m = p[i];
            } else {
              double part = 0.0;
              for (int64_t i = 0; i < L; ++i) part += p[i];
              s += part;
            }
            if (!advance(idx, nr)) break;
          }
          yo[0] = op_ == ReduceOp::max ? m : static_cast<float>(s) * scale;
        } else {
          const int64_t n = c1 - c0;
          acc.assign(static_cast<size_t>(n), op_ == ReduceOp::max ? static_cast<double>(init) : 0.0);
          std::fill(idx.begin(), idx.end(), 0);
          const size_t nr = rsize_.size();
          for (;;) {
            int64_t off = base + c0;
            for (size_t g = 0; g < nr; ++g) off += idx[g] * rstride_[g];
            const float* p = x + off;
            if (op_ == ReduceOp::max) {
              for (int64_t i = 0; i < n; ++i)
                if (takes_max(p[i], static_cast<float>(acc[static_cast<size_t>(i)]))) acc[static_cast<size_t>(i)] = p[i];
            } else {
              for (int64_t i = 0; i < n; ++i) acc[static_cast<size_t>(i)] += p[i];
            }
            if (nr == 0 || !advance(idx, nr)) break;
          }
          for (int64_t i = 0; i < n; ++i)
            yo[c0 + i] = op_ == ReduceOp::max ? static_cast<float>(acc[static_cast<size_t>(i)])
                                              : static_cast<float>(acc[static_cast<size_t>(i)]) * scale;
        }
      }
    });
  }

 private:
  // Odometer over the first `n` reduced groups; false when it wraps around.
  bool advance(std::vector<int64_t>& idx, size_t n) const {
    for (size_t g = n; g-- > 0;) {
      if (++idx[g] < rsize_[g]) return true;
      idx[g] = 0;
    }
    return false;
  }

  ReduceOp op_;
  int64_t count_ = 1, inner_ = 1, outer_ = 1;
  bool empty_ = false, contiguous_last_ = false;
  std::vector<int64_t> rsize_, rstride_, ksize_, kstride_;
};

}  // namespace

void register_pooling_kernels() {
  register_kernel("aten.max_pool1d.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<PoolKernel>(i, 1, true); });
  register_kernel("aten.max_pool2d.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<PoolKernel>(i, 2, true); });
  register_kernel("aten.avg_pool1d.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<PoolKernel>(i, 1, false); });
  register_kernel("aten.avg_pool2d.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<PoolKernel>(i, 2, false); });
  register_kernel("aten.adaptive_avg_pool2d.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<AdaptiveAvgPool2dKernel>(i); });
  register_kernel("aten.mean.dim",
                  [](const KernelCreateInfo& i) { return std::make_unique<ReduceKernel>(i, ReduceOp::mean); });
  register_kernel("aten.sum.dim_IntList",
                  [](const KernelCreateInfo& i) { return std::make_unique<ReduceKernel>(i, ReduceOp::sum); });
  register_kernel("aten.amax.default",
                  [](const KernelCreateInfo& i) { return std::make_unique<ReduceKernel>(i, ReduceOp::max); });
}

}  // namespace eq
