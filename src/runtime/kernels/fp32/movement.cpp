// Movement kernels. All of them copy elements as bytes and so work for every dtype; the plans
// (strides, collapsed dims, index tables) are built once from the concrete shapes when the
// kernel is created.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../kernel_families.h"
#include "edgequant/kernel.h"
#include "ir/ops/movement_geometry.h"
#include "move_util.h"
#include "runtime/threading.h"

namespace eq {
namespace {

constexpr long kCopyGrainBytes = 1L << 18;  // bytes below which a copy stays on one thread

// dst = src, as bytes; parallel for large buffers.
void copy_bytes(void* dst, const void* src, size_t n) {
  if (n == 0 || dst == src) return;
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  const long chunks = static_cast<long>((n + 4095) / 4096);
  parallel_for(chunks, kCopyGrainBytes / 4096, [&](long b, long e) {
    const size_t lo = static_cast<size_t>(b) * 4096, hi = std::min(n, static_cast<size_t>(e) * 4096);
    std::memcpy(d + lo, s + lo, hi - lo);
  });
}

// Reshape, flatten, squeeze, unsqueeze, clone: the bytes do not move.
KernelFactory plain_copy() {
  return stateless([](KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    check(x.nbytes() == y.nbytes(), ctx.node.describe() + ": output size differs from the input's");
    copy_bytes(y.raw(), x.raw(), x.nbytes());
  });
}

// Rows of `rows` x `row_bytes`, parallel over rows when the total is large.
template <class F>
void for_rows(int64_t rows, int64_t row_bytes, F body) {
  const long grain = std::max<long>(1, kCopyGrainBytes / std::max<long>(1, static_cast<long>(row_bytes)));
  parallel_for(static_cast<long>(rows), grain, body);
}

// ---- permute --------------------------------------------------------------------------------

struct PermutePlan {
  std::vector<int64_t> dims, in_strides;  // collapsed, in output order
  size_t eb = 1;
  int64_t numel = 0;
};

KernelFactory permute_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& in = info.inputs.at(0).shape;
    const std::vector<int64_t>& perm_attr = info.node.attrs.ints("dims");
    const int64_t r = static_cast<int64_t>(in.size());
    const std::vector<int64_t> st = move_strides(in);
    auto plan = std::make_shared<PermutePlan>();
    plan->eb = move_elem_bytes(info.inputs.at(0).dtype);
    plan->numel = move_prod(in, 0, in.size());
    for (int64_t p : perm_attr) {
      const size_t a = static_cast<size_t>(p < 0 ? p + r : p);
      if (in[a] == 1) continue;
      if (!plan->dims.empty() && plan->in_strides.back() == st[a] * in[a]) {
        plan->dims.back() *= in[a];
        plan->in_strides.back() = st[a];
      } else {
        plan->dims.push_back(in[a]);
        plan->in_strides.push_back(st[a]);
      }
    }
    if (plan->dims.empty()) {
      plan->dims = {1};
      plan->in_strides = {1};
    }
    return std::make_unique<FunctionKernel>([plan](KernelContext& ctx) {
      const PermutePlan& p = *plan;
      const char* src = static_cast<const char*>(ctx.in(0).raw());
      char* dst = static_cast<char*>(ctx.out(0).raw());
      if (p.numel == 0) return;
      const size_t nd = p.dims.size();
      if (nd == 1) {  // the permutation keeps the memory order
        copy_bytes(dst, src, static_cast<size_t>(p.numel) * p.eb);
        return;
      }
      const int64_t inner = p.dims[nd - 1], inner_stride = p.in_strides[nd - 1];
      const int64_t rows = p.numel / inner;
      // Source offset (elements) of output row `row`.
      auto row_offset = [&](int64_t row) {
        int64_t off = 0;
        for (size_t k = nd - 1; k-- > 0;) {
          off += (row % p.dims[k]) * p.in_strides[k];
          row /= p.dims[k];
        }
        return off;
      };
      if (inner_stride == 1) {
        const size_t row_bytes = static_cast<size_t>(inner) * p.eb;
        for_rows(rows, static_cast<int64_t>(row_bytes), [&](long b, long e) {
          for (long row = b; row < e; ++row)
            std::memcpy(dst + static_cast<size_t>(row) * row_bytes, src + static_cast<size_t>(row_offset(row)) * p.eb, row_bytes);
        });
        return;
      }
      // A transpose of the two innermost collapsed dims (when the second-to-last has stride 1)
      // is done in tiles so that both reads and writes stay in cache.
      const int64_t mid = p.dims[nd - 2], mid_stride = p.in_strides[nd - 2];
      move_dispatch(p.eb, [&](auto tag) {
        using T = decltype(tag);
        const T* s = reinterpret_cast<const T*>(src);
        T* d = reinterpret_cast<T*>(dst);
        if (mid_stride == 1) {
          constexpr int64_t tile = 32;
          const int64_t blocks = rows / mid;  // outer blocks of mid x inner
          const int64_t tiles_m = (mid + tile - 1) / tile;
          const int64_t work = blocks * tiles_m;
          for_rows(work, tile * inner * static_cast<int64_t>(sizeof(T)), [&](long b, long e) {
            for (long w = b; w < e; ++w) {
              const int64_t blk = w / tiles_m, m0 = (w % tiles_m) * tile, m1 = std::min(mid, m0 + tile);
              const int64_t base = row_offset(blk * mid);
              T* out_block = d + blk * mid * inner;
              for (int64_t i0 = 0; i0 < inner; i0 += tile) {
                const int64_t i1 = std::min(inner, i0 + tile);
                for (int64_t m = m0; m < m1; ++m) {
                  const T* sp = s + base + m;
                  T* dp = out_block + m * inner;
                  for (int64_t i = i0; i < i1; ++i) dp[i] = sp[i * inner_stride];
                }
              }
            }
          });
          return;
        }
        for_rows(rows, inner * static_cast<int64_t>(sizeof(T)), [&](long b, long e) {
          for (long row = b; row < e; ++row) {
            const T* sp = s + row_offset(row);
            T* dp = d + row * inner;
            for (int64_t i = 0; i < inner; ++i) dp[i] = sp[i * inner_stride];
          }
        });
      });
    });
  };
}

// ---- cat / slice / split / index_select ------------------------------------------------------

KernelFactory cat_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& s0 = info.inputs.at(0).shape;
    const int64_t r = static_cast<int64_t>(s0.size());
    int64_t dim = info.node.attrs.i("dim", 0);
    if (dim < 0) dim += r;
    const size_t eb = move_elem_bytes(info.inputs.at(0).dtype);
    const int64_t outer = move_prod(s0, 0, static_cast<size_t>(dim));
    const int64_t inner = move_prod(s0, static_cast<size_t>(dim) + 1, s0.size());
    std::vector<size_t> chunk;  // bytes per outer index, per input
    size_t row = 0;
    for (const ValueInfo& v : info.inputs) {
      chunk.push_back(static_cast<size_t>(v.shape[static_cast<size_t>(dim)] * inner) * eb);
      row += chunk.back();
    }
    return std::make_unique<FunctionKernel>([chunk, row, outer](KernelContext& ctx) {
      char* dst = static_cast<char*>(ctx.out(0).raw());
      if (outer == 1) {
        size_t off = 0;
        for (size_t i = 0; i < chunk.size(); ++i) {
          copy_bytes(dst + off, ctx.in(i).raw(), chunk[i]);
          off += chunk[i];
        }
        return;
      }
      for_rows(outer, static_cast<int64_t>(row), [&](long b, long e) {
        for (long o = b; o < e; ++o) {
          char* dp = dst + static_cast<size_t>(o) * row;
          for (size_t i = 0; i < chunk.size(); ++i) {
            std::memcpy(dp, static_cast<const char*>(ctx.in(i).raw()) + static_cast<size_t>(o) * chunk[i], chunk[i]);
            dp += chunk[i];
          }
        }
      });
    });
  };
}

// Copies, for every outer index, `count` slabs of `inner_bytes` taken at start, start+step, ...
// along a dim of size `dim_size`.
void strided_slabs(const char* src, char* dst, int64_t outer, int64_t dim_size, int64_t start, int64_t count, int64_t step,
                   size_t inner_bytes) {
  if (outer == 0 || count == 0 || inner_bytes == 0) return;
  const size_t in_row = static_cast<size_t>(dim_size) * inner_bytes, out_row = static_cast<size_t>(count) * inner_bytes;
  if (step == 1) {
    if (outer == 1) {
      copy_bytes(dst, src + static_cast<size_t>(start) * inner_bytes, out_row);
      return;
    }
    for_rows(outer, static_cast<int64_t>(out_row), [&](long b, long e) {
      for (long o = b; o < e; ++o)
        std::memcpy(dst + static_cast<size_t>(o) * out_row, src + static_cast<size_t>(o) * in_row + static_cast<size_t>(start) * inner_bytes,
                    out_row);
    });
    return;
  }
  auto body = [&](auto tag) {
    using T = decltype(tag);
    for_rows(outer, static_cast<int64_t>(out_row), [&](long b, long e) {
      for (long o = b; o < e; ++o) {
        const char* sp = src + static_cast<size_t>(o) * in_row;
        char* dp = dst + static_cast<size_t>(o) * out_row;
        if constexpr (sizeof(T) == 1) {  // a slab larger than one element: memcpy each
          for (int64_t k = 0; k < count; ++k)
            std::memcpy(dp + static_cast<size_t>(k) * inner_bytes, sp + static_cast<size_t>(start + k * step) * inner_bytes,
                        inner_bytes);
        } else {
          const T* s = reinterpret_cast<const T*>(sp);
          T* d = reinterpret_cast<T*>(dp);
          for (int64_t k = 0; k < count; ++k) d[k] = s[start + k * step];
        }
      }
    });
  };
  switch (inner_bytes) {
    case 2: body(uint16_t{}); break;
    case 4: body(uint32_t{}); break;
    case 8: body(uint64_t{}); break;
    default: body(uint8_t{}); break;
  }
}

using ops_detail::slice_range;

KernelFactory slice_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& in = info.inputs.at(0).shape;
    const Attrs& a = info.node.attrs;
    int64_t dim = a.i("dim", 0);
    if (dim < 0) dim += static_cast<int64_t>(in.size());
    const int64_t step = a.i("step", 1);
    const int64_t d = in[static_cast<size_t>(dim)];
    const auto [start, count] = slice_range(d, a.i("start", 0), a.i("end", std::numeric_limits<int64_t>::max()), step);
    const size_t inner = static_cast<size_t>(move_prod(in, static_cast<size_t>(dim) + 1, in.size())) *
                         move_elem_bytes(info.inputs.at(0).dtype);
    const int64_t outer = move_prod(in, 0, static_cast<size_t>(dim));
    check(count == info.outputs.at(0).second[static_cast<size_t>(dim)], info.node.describe() + ": slice size mismatch");
    return std::make_unique<FunctionKernel>([=, start = start, count = count](KernelContext& ctx) {
      strided_slabs(static_cast<const char*>(ctx.in(0).raw()), static_cast<char*>(ctx.out(0).raw()), outer, d, start,
                    count, step, inner);
    });
  };
}

KernelFactory split_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& in = info.inputs.at(0).shape;
    int64_t dim = info.node.attrs.i("dim", 0);
    if (dim < 0) dim += static_cast<int64_t>(in.size());
    const size_t inner = static_cast<size_t>(move_prod(in, static_cast<size_t>(dim) + 1, in.size())) *
                         move_elem_bytes(info.inputs.at(0).dtype);
    const int64_t outer = move_prod(in, 0, static_cast<size_t>(dim));
    const int64_t d = in[static_cast<size_t>(dim)];
    std::vector<std::pair<int64_t, int64_t>> parts;  // start, size
    int64_t off = 0;
    for (const OutputInfo& o : info.outputs) {
      const int64_t n = o.second[static_cast<size_t>(dim)];
      parts.push_back({off, n});
      off += n;
    }
    return std::make_unique<FunctionKernel>([=](KernelContext& ctx) {
      for (size_t k = 0; k < parts.size(); ++k)
        strided_slabs(static_cast<const char*>(ctx.in(0).raw()), static_cast<char*>(ctx.out(k).raw()), outer, d,
                      parts[k].first, parts[k].second, 1, inner);
    });
  };
}

KernelFactory index_select_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& in = info.inputs.at(0).shape;
    int64_t dim = info.node.attrs.i("dim", 0);
    if (dim < 0) dim += static_cast<int64_t>(in.size());
    const size_t eb = move_elem_bytes(info.inputs.at(0).dtype);
    const size_t inner = static_cast<size_t>(move_prod(in, static_cast<size_t>(dim) + 1, in.size())) * eb;
    const int64_t outer = move_prod(in, 0, static_cast<size_t>(dim));
    const int64_t d = in[static_cast<size_t>(dim)];
    return std::make_unique<FunctionKernel>([=](KernelContext& ctx) {
      const Tensor& idx_t = ctx.in(1);
      const int64_t ni = idx_t.numel();
      std::vector<int64_t> idx(static_cast<size_t>(ni));
      for (int64_t k = 0; k < ni; ++k) {
        int64_t v = idx_t.dtype() == DType::i64 ? idx_t.data<int64_t>()[k] : idx_t.data<int32_t>()[k];
        if (v < -d || v >= d)
          throw Error(ctx.node.describe() + ": index " + std::to_string(v) + " is out of range for dim " +
                      std::to_string(dim) + " of size " + std::to_string(d));
        idx[static_cast<size_t>(k)] = v < 0 ? v + d : v;
      }
      const char* src = static_cast<const char*>(ctx.in(0).raw());
      char* dst = static_cast<char*>(ctx.out(0).raw());
      const size_t in_row = static_cast<size_t>(d) * inner, out_row = static_cast<size_t>(ni) * inner;
      if (out_row == 0 || outer == 0) return;
      auto body = [&](auto tag) {
        using T = decltype(tag);
        for_rows(outer, static_cast<int64_t>(out_row), [&](long b, long e) {
          for (long o = b; o < e; ++o) {
            const char* sp = src + static_cast<size_t>(o) * in_row;
            char* dp = dst + static_cast<size_t>(o) * out_row;
            if constexpr (sizeof(T) == 1) {
              for (int64_t k = 0; k < ni; ++k)
                std::memcpy(dp + static_cast<size_t>(k) * inner, sp + static_cast<size_t>(idx[static_cast<size_t>(k)]) * inner, inner);
            } else {
              const T* s = reinterpret_cast<const T*>(sp);
              T* dd = reinterpret_cast<T*>(dp);
              for (int64_t k = 0; k < ni; ++k) dd[k] = s[idx[static_cast<size_t>(k)]];
            }
          }
        });
      };
      switch (inner) {
        case 2: body(uint16_t{}); break;
        case 4: body(uint32_t{}); break;
        case 8: body(uint64_t{}); break;
        default: body(uint8_t{}); break;
      }
    });
  };
}

// ---- pad ------------------------------------------------------------------------------------

enum class PadMode { constant, reflect, replicate };

// Source index of padded position i along a dim of size n; -1 means "the constant value".
inline int64_t pad_source(int64_t i, int64_t n, PadMode m) {
  if (i >= 0 && i < n) return i;
  switch (m) {
    case PadMode::constant: return -1;
    case PadMode::replicate: return i < 0 ? 0 : n - 1;
    case PadMode::reflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      int64_t k = i % period;
      if (k < 0) k += period;
      return k >= n ? period - k : k;
    }
  }
  return -1;
}

// One element of `value` in the dtype's byte representation.
std::vector<char> fill_pattern(DType t, double v, const std::string& who) {
  std::vector<char> b(move_elem_bytes(t), 0);
  auto put = [&](auto x) { std::memcpy(b.data(), &x, sizeof(x)); };
  auto sat = [&](auto tag) {
    using T = decltype(tag);
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest()), hi = static_cast<double>(std::numeric_limits<T>::max());
    put(static_cast<T>(std::isnan(v) ? 0.0 : std::clamp(v, lo, hi)));
  };
  switch (t) {
    case DType::f32: put(static_cast<float>(v)); break;
    case DType::i8: sat(int8_t{}); break;
    case DType::u8: sat(uint8_t{}); break;
    case DType::i16: sat(int16_t{}); break;
    case DType::i32: sat(int32_t{}); break;
    case DType::i64: sat(int64_t{}); break;
    case DType::boolean: b[0] = v != 0.0; break;
    case DType::f16:
      check(v == 0.0, who + ": a nonzero pad value for f16 is not supported");
      break;
    default: throw Error(who + ": unsupported dtype for pad");
  }
  return b;
}

KernelFactory pad_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& in = info.inputs.at(0).shape;
    const Shape& out = info.outputs.at(0).second;
    const Attrs& a = info.node.attrs;
    const std::string mode_s = a.s("mode", "constant");
    const PadMode mode = mode_s == "reflect" ? PadMode::reflect
                         : (mode_s == "replicate" || mode_s == "edge") ? PadMode::replicate
                                                                      : PadMode::constant;
    const size_t r = in.size();
    std::vector<int64_t> begins(r);
    const std::vector<int64_t> pad = a.has("pad") && std::holds_alternative<std::vector<int64_t>>(a.all().at("pad"))
                                         ? a.ints("pad")
                                         : std::vector<int64_t>(2 * r, 0);
    for (size_t d = 0; d < r; ++d) begins[d] = pad[d];
    const DType dtype = info.inputs.at(0).dtype;
    const size_t eb = move_elem_bytes(dtype);
    const std::vector<char> fill = fill_pattern(dtype, a.f("value", 0.0), info.node.describe());
    const std::vector<int64_t> in_st = move_strides(in);
    return std::make_unique<FunctionKernel>([=](KernelContext& ctx) {
      const char* src = static_cast<const char*>(ctx.in(0).raw());
      char* dst = static_cast<char*>(ctx.out(0).raw());
      if (r == 0) {
        std::memcpy(dst, src, eb);
        return;
      }
      const int64_t ol = out[r - 1], il = in[r - 1], bl = begins[r - 1];
      const int64_t rows = move_prod(out, 0, r - 1);
      if (ol == 0 || rows == 0) return;
      const size_t row_bytes = static_cast<size_t>(ol) * eb;
      // The part of the output row that copies the input row as is.
      const int64_t mid0 = std::clamp<int64_t>(bl, 0, ol), mid1 = std::clamp<int64_t>(bl + il, mid0, ol);
      for_rows(rows, static_cast<int64_t>(row_bytes), [&](long b, long e) {
        for (long row = b; row < e; ++row) {
          char* dp = dst + static_cast<size_t>(row) * row_bytes;
          int64_t src_off = 0, rem = row;
          bool constant_row = false;
          for (size_t k = r - 1; k-- > 0;) {
            const int64_t o = rem % out[k];
            rem /= out[k];
            const int64_t s = pad_source(o - begins[k], in[k], mode);
            if (s < 0) {
              constant_row = true;
              break;
            }
            src_off += s * in_st[k];
          }
          if (constant_row) {
            for (int64_t i = 0; i < ol; ++i) std::memcpy(dp + static_cast<size_t>(i) * eb, fill.data(), eb);
            continue;
          }
          const char* sp = src + static_cast<size_t>(src_off) * eb;
          auto put = [&](int64_t i) {
            const int64_t s = pad_source(i - bl, il, mode);
            std::memcpy(dp + static_cast<size_t>(i) * eb, s < 0 ? fill.data() : sp + static_cast<size_t>(s) * eb, eb);
          };
          for (int64_t i = 0; i < mid0; ++i) put(i);
          if (mid1 > mid0)
            std::memcpy(dp + static_cast<size_t>(mid0) * eb, sp + static_cast<size_t>(mid0 - bl) * eb,
                        static_cast<size_t>(mid1 - mid0) * eb);
          for (int64_t i = mid1; i < ol; ++i) put(i);
        }
      });
    });
  };
}

// ---- upsample (ONNX Resize, nearest and linear) ---------------------------------------------

struct ResizeAxis {
  std::vector<int64_t> i0, i1;  // source indices (clamped); nearest uses i0 only
  std::vector<float> w1;        // weight of i1 (linear); i0 gets 1 - w1
  bool identity = true;
};

// Source coordinate of output index j (onnx/reference/ops/op_resize.py, _interpolate_1d_with_x).
double resize_coordinate(const std::string& ctm, double j, double scale, int64_t in, int64_t out_int) {
  const double out_w = scale * static_cast<double>(in);
  if (ctm == "align_corners") return out_w == 1 ? 0.0 : j * static_cast<double>(in - 1) / (out_w - 1);
  if (ctm == "asymmetric") return j / scale;
  if (ctm == "pytorch_half_pixel") return out_w == 1 ? -0.5 : (j + 0.5) / scale - 0.5;
  if (ctm == "tf_half_pixel_for_nn") return (j + 0.5) / scale;
  if (ctm == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(out_int) / out_w;
    const double center = static_cast<double>(in) / 2;
    return center * (1 - adjustment) + (j + 0.5) / scale - 0.5;
  }
  return (j + 0.5) / scale - 0.5;  // half_pixel
}

ResizeAxis resize_axis(const Attrs& a, bool linear, int64_t in, int64_t out, double scale, bool scale_given) {
  ResizeAxis ax;
  const size_t n = static_cast<size_t>(out);
  ax.i0.resize(n);
  ax.i1.resize(n);
  ax.w1.assign(n, 0.0f);
  if (!scale_given) scale = static_cast<double>(out) / static_cast<double>(in);
  if (in == out && std::fabs(scale - 1.0) <= 1e-9) {
    for (size_t j = 0; j < n; ++j) ax.i0[j] = ax.i1[j] = static_cast<int64_t>(j);
    return ax;
  }
  ax.identity = false;
  const std::string ctm = a.s("coordinate_transformation_mode", "half_pixel");
  const std::string nm = a.s("nearest_mode", "round_prefer_floor");
  auto clampi = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
  for (size_t j = 0; j < n; ++j) {
    const double x = resize_coordinate(ctm, static_cast<double>(j), scale, in, out);
    const double f = std::floor(x);
    const int64_t fi = static_cast<int64_t>(f);
    const double ratio = x - f;  // 0 when x is an integer: the reference then takes x itself
    if (linear) {
      ax.i0[j] = clampi(fi);
      ax.i1[j] = clampi(fi + 1);
      ax.w1[j] = static_cast<float>(ratio);
    } else {
      bool up;
      if (ratio == 0) up = false;
      else if (nm == "round_prefer_ceil") up = ratio >= 0.5;
      else if (nm == "floor") up = false;
      else if (nm == "ceil") up = true;
      else up = ratio > 0.5;  // round_prefer_floor
      ax.i0[j] = ax.i1[j] = clampi(up ? fi + 1 : fi);
    }
  }
  return ax;
}

struct ResizePlan {
  Shape in, out;
  std::vector<int64_t> in_st;
  std::vector<ResizeAxis> axes;
  size_t eb = 4;
  bool linear = false;
};

KernelFactory upsample_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    auto p = std::make_shared<ResizePlan>();
    const Attrs& a = info.node.attrs;
    p->in = info.inputs.at(0).shape;
    p->out = info.outputs.at(0).second;
    p->in_st = move_strides(p->in);
    p->eb = move_elem_bytes(info.inputs.at(0).dtype);
    p->linear = a.s("mode", "nearest") == "linear";
    const bool has_scales = a.has("scales");
    const std::vector<double> scales = has_scales ? a.floats("scales") : std::vector<double>(p->in.size(), 1.0);
    for (size_t d = 0; d < p->in.size(); ++d)
      p->axes.push_back(resize_axis(a, p->linear, p->in[d], p->out[d], scales[d], has_scales));
    return std::make_unique<FunctionKernel>([p](KernelContext& ctx) {
      const ResizePlan& P = *p;
      const size_t r = P.in.size();
      const char* src = static_cast<const char*>(ctx.in(0).raw());
      char* dst = static_cast<char*>(ctx.out(0).raw());
      if (r == 0) {
        std::memcpy(dst, src, P.eb);
        return;
      }
      const int64_t ol = P.out[r - 1];
      const int64_t rows = move_prod(P.out, 0, r - 1);
      if (ol == 0 || rows == 0) return;
      const ResizeAxis& last = P.axes[r - 1];
      if (!P.linear) {
        move_dispatch(P.eb, [&](auto tag) {
          using T = decltype(tag);
          const T* s = reinterpret_cast<const T*>(src);
          T* d = reinterpret_cast<T*>(dst);
          for_rows(rows, ol * static_cast<int64_t>(sizeof(T)), [&](long b, long e) {
            int64_t prev = -1;
            for (long row = b; row < e; ++row) {
              int64_t off = 0, rem = row;
              for (size_t k = r - 1; k-- > 0;) {
                off += P.axes[k].i0[static_cast<size_t>(rem % P.out[k])] * P.in_st[k];
                rem /= P.out[k];
              }
              T* __restrict dp = d + row * ol;
              if (off == prev) {  // same source row as the previous output row (upsampling): copy it
                std::memcpy(dp, dp - ol, static_cast<size_t>(ol) * sizeof(T));
                continue;
              }
              prev = off;
              const T* __restrict sp = s + off;
              const int64_t* __restrict idx = last.i0.data();
              for (int64_t j = 0; j < ol; ++j) dp[j] = sp[idx[j]];
            }
          });
        });
        return;
      }
      const float* s = reinterpret_cast<const float*>(src);
      float* d = reinterpret_cast<float*>(dst);
      for_rows(rows, ol * 4, [&](long b, long e) {
        std::vector<std::pair<int64_t, float>> taps, next;
        // Source rows interpolated along the last dim, cached: with upsampling, consecutive output
        // rows blend the same source rows.
        constexpr size_t kSlots = 8;
        std::vector<std::vector<float>> cache(kSlots, std::vector<float>(static_cast<size_t>(ol)));
        std::vector<int64_t> cache_off(kSlots, -1);
        std::vector<uint64_t> cache_used(kSlots, 0);
        uint64_t clock = 0;
        auto interpolated = [&](int64_t off) -> const float* {
          size_t victim = 0;
          for (size_t c = 0; c < kSlots; ++c) {
            if (cache_off[c] == off) {
              cache_used[c] = ++clock;
              return cache[c].data();
            }
            if (cache_used[c] < cache_used[victim]) victim = c;
          }
          const float* __restrict sp = s + off;
          float* __restrict h = cache[victim].data();
          const int64_t* __restrict i0 = last.i0.data();
          const int64_t* __restrict i1 = last.i1.data();
          const float* __restrict w1 = last.w1.data();
          for (int64_t j = 0; j < ol; ++j) h[j] = (1.0f - w1[j]) * sp[i0[j]] + w1[j] * sp[i1[j]];
          cache_off[victim] = off;
          cache_used[victim] = ++clock;
          return h;
        };
        for (long row = b; row < e; ++row) {
          // The source rows this output row blends, with their weights.
          taps.assign(1, {0, 1.0f});
          int64_t rem = row;
          for (size_t k = r - 1; k-- > 0;) {
            const size_t o = static_cast<size_t>(rem % P.out[k]);
            rem /= P.out[k];
            const ResizeAxis& ax = P.axes[k];
            const float w1 = ax.w1[o];
            next.clear();
            for (const auto& [off, w] : taps) {
              if (w1 != 1.0f) next.push_back({off + ax.i0[o] * P.in_st[k], w * (1.0f - w1)});
              if (w1 != 0.0f) next.push_back({off + ax.i1[o] * P.in_st[k], w * w1});
            }
            taps.swap(next);
          }
          float* __restrict dp = d + row * ol;
          for (size_t t = 0; t < taps.size(); ++t) {
            const float* __restrict h = last.identity ? s + taps[t].first : interpolated(taps[t].first);
            const float w = taps[t].second;
            if (t == 0) {
              for (int64_t j = 0; j < ol; ++j) dp[j] = w * h[j];
            } else {
              for (int64_t j = 0; j < ol; ++j) dp[j] += w * h[j];
            }
          }
        }
      });
    });
  };
}

}  // namespace

void register_movement_kernels() {
  for (const char* op : {"aten.reshape.default", "aten.flatten.using_ints", "aten.squeeze.dims",
                         "aten.unsqueeze.default", "aten.clone.default"})
    register_kernel(op, plain_copy());
  register_kernel("aten.permute.default", permute_factory());
  register_kernel("aten.cat.default", cat_factory());
  register_kernel("aten.slice_copy.Tensor", slice_factory());
  register_kernel("aten.split_with_sizes.default", split_factory());
  register_kernel("aten.index_select.default", index_select_factory());
  register_kernel("aten.pad.default", pad_factory());
  register_kernel("aten.upsample.default", upsample_factory());
}

}  // namespace eq
