// The xnnpack.subgraph kernel: at creation (once per planned batch size) it walks the partition's
// program, creates one XNNPACK operator per compute node (weights packed then), decides where
// each activation lives (NHWC inside; transposes only where an activation enters or leaves, or
// where a consumer needs the other layout), plans one arena for its activations and binds every
// operator to it with xnn_setup_*. run() is then: transpose/copy the inputs in, xnn_run_operator
// each operator in order, transpose/copy the outputs out.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edgequant/kernel.h"
#include "edgequant/xnnpack.h"
#include "program.h"
#include "runtime/memory_plan.h"
#include "support.h"

namespace eq::xnn {
namespace {

const char* status_name(xnn_status s) {
  switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
  }
  return "unknown status";
}

// Physical layouts of a local value with logical shape [N, C, S...] (rank >= 3 for channels last).
enum class Layout {
  kPlain,         // the logical row-major order (what the graph outside sees)
  kChannelsLast,  // [N, S..., C]
  kFlatHWC,       // logical [N, C*S] that is a flatten of a channels-last [N, C, S...]: bytes [N, S, C]
};

struct Form {
  Layout layout = Layout::kPlain;
  int buf = -1;
  int64_t n = 1, c = 1, s = 1;  // the [N, C, S] split the layout refers to
};

// [N, C, S] split of a logical shape (rank >= 3: N, C, product of the rest).
void split_ncs(const Shape& shape, int64_t& n, int64_t& c, int64_t& s) {
  n = shape.size() > 0 ? shape[0] : 1;
  c = shape.size() > 1 ? shape[1] : 1;
  s = 1;
  for (size_t d = 2; d < shape.size(); ++d) s *= shape[d];
}

// [n][c][s] -> [n][s][c] and back.
void nchw_to_nhwc(const int8_t* src, int8_t* dst, int64_t n, int64_t c, int64_t s) {
  for (int64_t b = 0; b < n; ++b) {
    const int8_t* x = src + b * c * s;
    int8_t* y = dst + b * c * s;
    for (int64_t i = 0; i < s; ++i)
      for (int64_t k = 0; k < c; ++k) y[i * c + k] = x[k * s + i];
  }
}
void nhwc_to_nchw(const int8_t* src, int8_t* dst, int64_t n, int64_t c, int64_t s) {
  for (int64_t b = 0; b < n; ++b) {
    const int8_t* x = src + b * c * s;
    int8_t* y = dst + b * c * s;
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < s; ++i) y[k * s + i] = x[i * c + k];
  }
}

void flip_sign(const int8_t* src, int8_t* dst, int64_t bytes) {
  for (int64_t i = 0; i < bytes; ++i) dst[i] = static_cast<int8_t>(static_cast<uint8_t>(src[i]) ^ 0x80u);
}

struct OperatorDeleter {
  void operator()(xnn_operator* op) const { xnn_delete_operator(op); }
};
using OperatorPtr = std::unique_ptr<xnn_operator, OperatorDeleter>;

void init_library() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  check(status == xnn_status_success,
        std::string("libxnnpack: xnn_initialize failed (") + status_name(status) + "): this CPU is not supported");
}

class SubgraphKernel final : public OpKernel {
 public:
  explicit SubgraphKernel(const KernelCreateInfo& info) : owner_(info.node.describe()) {
    init_library();
    prog_ = decode(info.node);
    int64_t batch = 1;
    if (prog_.batch_input >= 0 && prog_.batch_input < static_cast<int>(info.inputs.size())) {
      const Shape& s = info.inputs[static_cast<size_t>(prog_.batch_input)].shape;
      if (prog_.batch_axis >= 0 && prog_.batch_axis < static_cast<int>(s.size())) batch = s[static_cast<size_t>(prog_.batch_axis)];
    }
    local_ = infer_locals(prog_, info.node, info.inputs, batch);
    forms_.resize(local_.size());
    // XNNPACK runs on the calling thread (no pthreadpool). A pool's workers and the executor's
    // OpenMP workers oversubscribe the cores: on 2 cores with --threads 2, mbv2's partition took
    // 122 ms per image with a 2-thread pool against 0.33 ms without (134 vs 24 ms at batch 64),
    // each operator waiting a scheduler tick for a worker. One set of threads per process is the
    // fix (XNNPACK on the executor's OpenMP threads); until then single-threaded is the fast path.
    for (const Node& n : prog_.nodes) build(n);
    for (size_t k = 0; k < prog_.outputs.size(); ++k) add_exit(prog_.outputs[k], static_cast<int>(k));
    finalize();
  }
  ~SubgraphKernel() override = default;
  SubgraphKernel(const SubgraphKernel&) = delete;
  SubgraphKernel& operator=(const SubgraphKernel&) = delete;

  void run(KernelContext& ctx) override {
    for (const Step& st : steps_) {
      switch (st.kind) {
        case Step::kInput: {
          const Tensor& t = ctx.in(static_cast<size_t>(st.io));
          const int8_t* src = static_cast<const int8_t*>(t.raw());
          if (st.transpose) nchw_to_nhwc(src, ptr(st.dst), st.n, st.c, st.s);
          else std::memcpy(ptr(st.dst), src, static_cast<size_t>(st.n * st.c * st.s));
          break;
        }
        case Step::kOutput: {
          int8_t* dst = static_cast<int8_t*>(ctx.out(static_cast<size_t>(st.io)).raw());
          if (st.transpose) nhwc_to_nchw(ptr(st.src), dst, st.n, st.c, st.s);
          else std::memcpy(dst, ptr(st.src), static_cast<size_t>(st.n * st.c * st.s));
          break;
        }
        case Step::kToChannelsLast: nchw_to_nhwc(ptr(st.src), ptr(st.dst), st.n, st.c, st.s); break;
        case Step::kToPlain: nhwc_to_nchw(ptr(st.src), ptr(st.dst), st.n, st.c, st.s); break;
        case Step::kFlip: flip_sign(ptr(st.src), ptr(st.dst), st.n); break;
        case Step::kOperator: {
          const xnn_status s = xnn_run_operator(ops_[static_cast<size_t>(st.op)].get(), pool_);
          check(s == xnn_status_success, owner_ + ": xnn_run_operator for '" + st.what + "' failed: " + status_name(s));
          break;
        }
      }
    }
  }

 private:
  struct Step {
    enum Kind { kInput, kOutput, kToChannelsLast, kToPlain, kFlip, kOperator } kind;
    explicit Step(Kind k) : kind(k) {}
    int src = -1, dst = -1;  // buffers (kInput: dst; kOutput: src)
    int io = -1;             // kernel input / output index
    bool transpose = false;
    int64_t n = 0, c = 0, s = 0;  // kFlip: n = bytes
    int op = -1;                  // kOperator: index into ops_
    std::vector<int> reads;       // kOperator: buffers read
    std::string what;             // the inner node, for errors
    std::function<xnn_status(xnn_operator_t, pthreadpool_t)> setup;  // kOperator
  };

  // ---------------------------------------------------------------- buffers and forms ---------

  int new_buffer(int64_t bytes) {
    buffers_.push_back(static_cast<size_t>(std::max<int64_t>(bytes, 1)));
    return static_cast<int>(buffers_.size()) - 1;
  }
  int8_t* ptr(int buf) const { return arena_.get() + offsets_[static_cast<size_t>(buf)]; }

  const ValueInfo& info(int v) const { return local_.at(static_cast<size_t>(v)); }
  bool is_input(int v) const { return v < prog_.num_inputs; }

  static bool channels_last_is_plain(const Form& f) { return f.c == 1 || f.s == 1; }

  const Form* find_form(int v, Layout l) const {
    for (const Form& f : forms_[static_cast<size_t>(v)])
      if (f.layout == l) return &f;
    return nullptr;
  }
  Form add_form(int v, Form f) {
    forms_[static_cast<size_t>(v)].push_back(f);
    return f;
  }

  // The value `v` in layout `want` (kPlain or kChannelsLast), adding the step that makes it when
  // it does not exist yet.
  Form get(int v, Layout want, const std::string& what) {
    if (const Form* f = find_form(v, want)) return *f;
    const ValueInfo& vi = info(v);
    check(vi.dtype == DType::i8, owner_ + ": " + what + " reads a " + std::string(dtype_name(vi.dtype)) + " value");
    Form f;
    f.layout = want;
    split_ncs(vi.shape, f.n, f.c, f.s);
    if (want == Layout::kChannelsLast) check(vi.shape.size() >= 3, owner_ + ": " + what + ": channels last needs rank >= 3");
    const bool trivial = want == Layout::kPlain ? vi.shape.size() < 3 : channels_last_is_plain(f);
    if (is_input(v)) {  // enters the partition here
      Step st(Step::kInput);
      st.io = v;
      st.dst = f.buf = new_buffer(f.n * f.c * f.s);
      st.transpose = want == Layout::kChannelsLast && !trivial;
      st.n = f.n, st.c = f.c, st.s = f.s;
      steps_.push_back(std::move(st));
      return add_form(v, f);
    }
    // Same bytes in the other layout: alias.
    if (want == Layout::kPlain) {
      if (const Form* cl = find_form(v, Layout::kChannelsLast); cl && channels_last_is_plain(*cl)) {
        f.buf = cl->buf;
        return add_form(v, f);
      }
      if (const Form* cl = find_form(v, Layout::kChannelsLast)) {
        Step st(Step::kToPlain);
        st.src = cl->buf;
        st.dst = f.buf = new_buffer(cl->n * cl->c * cl->s);
        st.n = cl->n, st.c = cl->c, st.s = cl->s;
        steps_.push_back(std::move(st));
        return add_form(v, f);
      }
      if (const Form* fl = find_form(v, Layout::kFlatHWC)) {
        Step st(Step::kToPlain);
        st.src = fl->buf;
        st.dst = f.buf = new_buffer(fl->n * fl->c * fl->s);
        st.n = fl->n, st.c = fl->c, st.s = fl->s;
        steps_.push_back(std::move(st));
        return add_form(v, f);
      }
    } else {
      const Form* pl = find_form(v, Layout::kPlain);
      check(pl != nullptr, owner_ + ": " + what + ": no form to convert to channels last");
      if (trivial) {
        f.buf = pl->buf;
        return add_form(v, f);
      }
      Step st(Step::kToChannelsLast);
      st.src = pl->buf;
      st.dst = f.buf = new_buffer(f.n * f.c * f.s);
      st.n = f.n, st.c = f.c, st.s = f.s;
      steps_.push_back(std::move(st));
      return add_form(v, f);
    }
    throw Error(owner_ + ": " + what + ": local value " + std::to_string(v) + " has no form");
  }

  // A fresh output value of `node` in layout `l`.
  Form produce(int v, Layout l) {
    Form f;
    f.layout = l;
    split_ncs(info(v).shape, f.n, f.c, f.s);
    f.buf = new_buffer(shape_numel(info(v).shape));
    return add_form(v, f);
  }

  void add_operator(xnn_operator_t op, xnn_status created, const Node& n, std::vector<int> reads, int write,
                    std::function<xnn_status(xnn_operator_t, pthreadpool_t)> setup) {
    check(created == xnn_status_success && op != nullptr,
          owner_ + ": creating the XNNPACK operator for " + n.describe() + " failed: " + status_name(created));
    ops_.emplace_back(op);
    Step st(Step::kOperator);
    st.op = static_cast<int>(ops_.size()) - 1;
    st.reads = std::move(reads);
    st.dst = write;
    st.what = n.describe();
    st.setup = std::move(setup);
    steps_.push_back(std::move(st));
  }

  // --------------------------------------------------------------------------- the ops ---------

  void build(const Node& n) {
    const std::string& op = n.op;
    if (op == "quantized.conv2d" || op == "quantized.conv1d") return conv(n, op == "quantized.conv2d" ? 2 : 1);
    if (op == "quantized.linear") return linear(n);
    if (op == "quantized.add" || op == "quantized.mul") return binary(n, op == "quantized.add");
    if (op == "quantized.max_pool2d" || op == "quantized.avg_pool2d") return pool(n, 2, op == "quantized.max_pool2d");
    if (op == "quantized.max_pool1d" || op == "quantized.avg_pool1d") return pool(n, 1, op == "quantized.max_pool1d");
    if (op == "quantized.adaptive_avg_pool2d" || op == "quantized.mean") return global_pool(n);
    if (op == "quantized.lookup_table") return lookup(n);
    return view(n);
  }

  static float fscale(const Attrs& a, const std::string& p) { return static_cast<float>(a.f(p + "_scale")); }
  static int8_t zp(const Attrs& a, const std::string& p) { return static_cast<int8_t>(a.i(p + "_zero_point")); }
  static int8_t act_lo(const Attrs& a) { return static_cast<int8_t>(a.i("act_min", -128)); }
  static int8_t act_hi(const Attrs& a) { return static_cast<int8_t>(a.i("act_max", 127)); }

  const Tensor& constant(int v, const Node& n, const char* what) const {
    const Tensor* t = info(v).constant;
    check(t != nullptr, owner_ + ": " + n.describe() + ": " + what + " is not a constant");
    return *t;
  }

  void conv(const Node& n, size_t k) {
    const Attrs& a = n.attrs;
    const Shape& xs = info(n.inputs[0]).shape;
    const Tensor& wt = constant(n.inputs[1], n, "weight");
    const Shape& ws = wt.shape();
    const int32_t* bias = n.inputs.size() > 2 && n.inputs[2] >= 0 ? constant(n.inputs[2], n, "bias").data<int32_t>() : nullptr;
    std::vector<int64_t> stride = a.ints("stride", std::vector<int64_t>(k, 1));
    std::vector<int64_t> dil = a.ints("dilation", std::vector<int64_t>(k, 1));
    std::vector<int64_t> pad = a.ints("padding", std::vector<int64_t>(2 * k, 0));
    if (pad.size() == k) pad.insert(pad.end(), pad.begin(), pad.end());
    const int64_t groups = a.i("groups", 1);
    const int64_t cin = xs[1], cout = ws[0], gi = cin / groups, go = cout / groups;
    const int64_t batch = xs[0];
    const uint32_t kh = k == 2 ? static_cast<uint32_t>(ws[2]) : 1, kw = static_cast<uint32_t>(ws[k + 1]);
    const int64_t ih = k == 2 ? xs[2] : 1, iw = xs[k + 1];
    const uint32_t sh = k == 2 ? static_cast<uint32_t>(stride[0]) : 1, sw = static_cast<uint32_t>(stride[k - 1]);
    const uint32_t dh = k == 2 ? static_cast<uint32_t>(dil[0]) : 1, dw = static_cast<uint32_t>(dil[k - 1]);
    // padding: [begin..., end...]
    const uint32_t pt = k == 2 ? static_cast<uint32_t>(pad[0]) : 0, pl = static_cast<uint32_t>(pad[k - 1]);
    const uint32_t pb = k == 2 ? static_cast<uint32_t>(pad[2]) : 0, pr = static_cast<uint32_t>(pad[2 * k - 1]);
    // [Cout, gi, kh, kw] -> [Cout, kh, kw, gi] (XNNPACK's GOHWI).
    const int64_t taps = static_cast<int64_t>(kh) * kw;
    std::vector<int8_t> packed(static_cast<size_t>(cout * gi * taps));
    const int8_t* w = wt.data<int8_t>();
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t i = 0; i < gi; ++i)
        for (int64_t t = 0; t < taps; ++t) packed[static_cast<size_t>((o * taps + t) * gi + i)] = w[(o * gi + i) * taps + t];
    const Form x = get(n.inputs[0], Layout::kChannelsLast, n.describe());
    const Form y = produce(n.outputs[0], Layout::kChannelsLast);
    const std::vector<double> wsc = a.floats("w_scales");
    xnn_operator_t op = nullptr;
    xnn_status st;
    if (wsc.size() == 1) {
      st = xnn_create_convolution2d_nhwc_qs8(pt, pr, pb, pl, kh, kw, sh, sw, dh, dw, static_cast<uint32_t>(groups),
                                             static_cast<size_t>(gi), static_cast<size_t>(go), static_cast<size_t>(cin),
                                             static_cast<size_t>(cout), zp(a, "x"), fscale(a, "x"), static_cast<float>(wsc[0]),
                                             packed.data(), bias, zp(a, "out"), fscale(a, "out"), act_lo(a), act_hi(a), 0, &op);
    } else {
      std::vector<float> scales(wsc.begin(), wsc.end());
      st = xnn_create_convolution2d_nhwc_qc8(pt, pr, pb, pl, kh, kw, sh, sw, dh, dw, static_cast<uint32_t>(groups),
                                             static_cast<size_t>(gi), static_cast<size_t>(go), static_cast<size_t>(cin),
                                             static_cast<size_t>(cout), zp(a, "x"), fscale(a, "x"), scales.data(),
                                             packed.data(), bias, zp(a, "out"), fscale(a, "out"), act_lo(a), act_hi(a), 0, &op);
    }
    const bool qc8 = wsc.size() != 1;
    add_operator(op, st, n, {x.buf}, y.buf, [this, qc8, batch, ih, iw, xb = x.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
      return qc8 ? xnn_setup_convolution2d_nhwc_qc8(o, static_cast<size_t>(batch), static_cast<size_t>(ih), static_cast<size_t>(iw),
                                                    ptr(xb), ptr(yb), p)
                 : xnn_setup_convolution2d_nhwc_qs8(o, static_cast<size_t>(batch), static_cast<size_t>(ih), static_cast<size_t>(iw),
                                                    ptr(xb), ptr(yb), p);
    });
  }

  void linear(const Node& n) {
    const Attrs& a = n.attrs;
    const Tensor& wt = constant(n.inputs[1], n, "weight");
    const int64_t out_f = wt.shape()[0], in_f = wt.shape()[1];
    const int32_t* bias = n.inputs.size() > 2 && n.inputs[2] >= 0 ? constant(n.inputs[2], n, "bias").data<int32_t>() : nullptr;
    const int x_id = n.inputs[0];
    const Shape& xs = info(x_id).shape;
    const int64_t rows = in_f == 0 ? 0 : shape_numel(xs) / in_f;
    // A flatten of an NHWC activation: permute the weight's columns (c, s) -> (s, c) once instead of
    // transposing the activation every run.
    Form x;
    const Form* flat = find_form(x_id, Layout::kFlatHWC);
    std::vector<int8_t> w(wt.data<int8_t>(), wt.data<int8_t>() + wt.numel());
    if (!find_form(x_id, Layout::kPlain) && flat && xs.size() == 2) {
      x = *flat;
      const int8_t* src = wt.data<int8_t>();
      for (int64_t o = 0; o < out_f; ++o)
        for (int64_t c = 0; c < x.c; ++c)
          for (int64_t s = 0; s < x.s; ++s) w[static_cast<size_t>(o * in_f + s * x.c + c)] = src[o * in_f + c * x.s + s];
    } else {
      x = get(x_id, Layout::kPlain, n.describe());
    }
    const Form y = produce(n.outputs[0], Layout::kPlain);
    const std::vector<double> wsc = a.floats("w_scales");
    xnn_operator_t op = nullptr;
    xnn_status st;
    if (wsc.size() == 1) {
      st = xnn_create_fully_connected_nc_qs8(static_cast<size_t>(in_f), static_cast<size_t>(out_f), static_cast<size_t>(in_f),
                                             static_cast<size_t>(out_f), zp(a, "x"), fscale(a, "x"), static_cast<float>(wsc[0]),
                                             w.data(), bias, zp(a, "out"), fscale(a, "out"), act_lo(a), act_hi(a), 0, &op);
      add_operator(op, st, n, {x.buf}, y.buf, [this, rows, xb = x.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
        return xnn_setup_fully_connected_nc_qs8(o, static_cast<size_t>(rows), ptr(xb), ptr(yb), p);
      });
    } else {
      // This libxnnpack has no per-channel fully connected: a 1x1 qc8 convolution over `rows`
      // images of 1x1 pixels is the same GEMM ([out][1][1][in] is our [out][in]).
      std::vector<float> scales(wsc.begin(), wsc.end());
      st = xnn_create_convolution2d_nhwc_qc8(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, static_cast<size_t>(in_f), static_cast<size_t>(out_f),
                                             static_cast<size_t>(in_f), static_cast<size_t>(out_f), zp(a, "x"), fscale(a, "x"),
                                             scales.data(), w.data(), bias, zp(a, "out"), fscale(a, "out"), act_lo(a), act_hi(a), 0,
                                             &op);
      add_operator(op, st, n, {x.buf}, y.buf, [this, rows, xb = x.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
        return xnn_setup_convolution2d_nhwc_qc8(o, static_cast<size_t>(rows), 1, 1, ptr(xb), ptr(yb), p);
      });
    }
  }

  void binary(const Node& n, bool add) {
    const Attrs& a = n.attrs;
    const int ia = n.inputs[0], ib = n.inputs[1];
    const Shape sa = info(ia).shape, sb = info(ib).shape;
    const Shape so = info(n.outputs[0]).shape;
    // Channels last when both operands have the output's rank >= 3 and one of them already is.
    const bool cl = sa.size() >= 3 && sa.size() == sb.size() && sa.size() == so.size() &&
                    (find_form(ia, Layout::kChannelsLast) || find_form(ib, Layout::kChannelsLast)) &&
                    !(find_form(ia, Layout::kPlain) && find_form(ib, Layout::kPlain));
    const Layout l = cl ? Layout::kChannelsLast : Layout::kPlain;
    const Form fa = get(ia, l, n.describe()), fb = get(ib, l, n.describe());
    const Form y = produce(n.outputs[0], l);
    auto phys = [cl](const Shape& s) {
      std::vector<size_t> d;
      for (int64_t v : s) d.push_back(static_cast<size_t>(v));
      if (cl) std::rotate(d.begin() + 1, d.begin() + 2, d.end());  // [N, C, S...] -> [N, S..., C]
      return d;
    };
    const std::vector<size_t> pa = phys(sa), pb = phys(sb);
    xnn_operator_t op = nullptr;
    const xnn_status st = add ? xnn_create_add_nd_qs8(zp(a, "a"), fscale(a, "a"), zp(a, "b"), fscale(a, "b"), zp(a, "out"),
                                                      fscale(a, "out"), act_lo(a), act_hi(a), 0, &op)
                              : xnn_create_multiply_nd_qs8(zp(a, "a"), fscale(a, "a"), zp(a, "b"), fscale(a, "b"), zp(a, "out"),
                                                           fscale(a, "out"), act_lo(a), act_hi(a), 0, &op);
    add_operator(op, st, n, {fa.buf, fb.buf}, y.buf,
                 [this, add, pa, pb, ab = fa.buf, bb = fb.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
                   return add ? xnn_setup_add_nd_qs8(o, pa.size(), pa.data(), pb.size(), pb.data(), ptr(ab), ptr(bb), ptr(yb), p)
                              : xnn_setup_multiply_nd_qs8(o, pa.size(), pa.data(), pb.size(), pb.data(), ptr(ab), ptr(bb), ptr(yb), p);
                 });
  }

  void pool(const Node& n, size_t k, bool max) {
    const Attrs& a = n.attrs;
    const Shape& xs = info(n.inputs[0]).shape;
    const Shape& os = info(n.outputs[0]).shape;
    const std::vector<int64_t> kernel = a.ints("kernel_size");
    std::vector<int64_t> stride = a.ints("stride", std::vector<int64_t>(k, 1));  // absent: 1 (the schema's rule)
    if (stride.empty()) stride = kernel;                                            // empty: the window (ATen)
    std::vector<int64_t> pad = a.ints("padding", std::vector<int64_t>(2 * k, 0));
    if (pad.size() == k) pad.insert(pad.end(), pad.begin(), pad.end());
    const std::vector<int64_t> dil = a.ints("dilation", std::vector<int64_t>(k, 1));
    // Per spatial axis (H = 1 for 1-D): in, window, stride, dilation, pad begin, and the pad end
    // that makes the floor formula give the schema's output size (ceil_mode included).
    struct Axis { int64_t in = 1, win = 1, stride = 1, dil = 1, pb = 0, pe = 0; };
    auto axis = [&](size_t d) {
      Axis x;
      x.in = xs[2 + d], x.win = kernel[d], x.stride = stride[d], x.dil = dil[d], x.pb = pad[d];
      const int64_t out = os[2 + d];
      x.pe = std::max<int64_t>(0, (out - 1) * x.stride + x.dil * (x.win - 1) + 1 - x.in - x.pb);
      return x;
    };
    const Axis h = k == 2 ? axis(0) : Axis{}, w = axis(k - 1);
    const int64_t batch = xs[0], ch = xs[1];
    const Form x = get(n.inputs[0], Layout::kChannelsLast, n.describe());
    const Form y = produce(n.outputs[0], Layout::kChannelsLast);
    xnn_operator_t op = nullptr;
    if (max) {
      const xnn_status st = xnn_create_max_pooling2d_nhwc_s8(
          static_cast<uint32_t>(h.pb), static_cast<uint32_t>(w.pe), static_cast<uint32_t>(h.pe), static_cast<uint32_t>(w.pb),
          static_cast<uint32_t>(h.win), static_cast<uint32_t>(w.win), static_cast<uint32_t>(h.stride),
          static_cast<uint32_t>(w.stride), static_cast<uint32_t>(h.dil), static_cast<uint32_t>(w.dil), static_cast<size_t>(ch),
          static_cast<size_t>(ch), static_cast<size_t>(ch), -128, 127, 0, &op);
      add_operator(op, st, n, {x.buf}, y.buf, [this, batch, h, w, xb = x.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
        return xnn_setup_max_pooling2d_nhwc_s8(o, static_cast<size_t>(batch), static_cast<size_t>(h.in), static_cast<size_t>(w.in),
                                               ptr(xb), ptr(yb), p);
      });
      return;
    }
    // Average pooling exists for qu8 only: int8 ^ 0x80 is the uint8 value + 128 (exact), zero
    // points shift by 128, and the output flips back in place.
    const int flipped = new_buffer(shape_numel(xs));
    Step fl(Step::kFlip);
    fl.src = x.buf, fl.dst = flipped, fl.n = shape_numel(xs);
    steps_.push_back(std::move(fl));
    const xnn_status st = xnn_create_average_pooling2d_nhwc_qu8(
        0, 0, 0, 0, static_cast<uint32_t>(h.win), static_cast<uint32_t>(w.win), static_cast<uint32_t>(h.stride),
        static_cast<uint32_t>(w.stride), static_cast<size_t>(ch), static_cast<size_t>(ch), static_cast<size_t>(ch),
        static_cast<uint8_t>(a.i("x_zero_point") + 128), fscale(a, "x"), static_cast<uint8_t>(a.i("out_zero_point") + 128),
        fscale(a, "out"), 0, 255, 0, &op);
    add_operator(op, st, n, {flipped}, y.buf, [this, batch, h, w, flipped, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
      return xnn_setup_average_pooling2d_nhwc_qu8(o, static_cast<size_t>(batch), static_cast<size_t>(h.in), static_cast<size_t>(w.in),
                                                  reinterpret_cast<const uint8_t*>(ptr(flipped)),
                                                  reinterpret_cast<uint8_t*>(ptr(yb)), p);
    });
    Step back(Step::kFlip);
    back.src = y.buf, back.dst = y.buf, back.n = shape_numel(os);
    steps_.push_back(std::move(back));
  }

  void global_pool(const Node& n) {
    const Attrs& a = n.attrs;
    const Shape& xs = info(n.inputs[0]).shape;
    int64_t batch, ch, width;
    split_ncs(xs, batch, ch, width);
    const Form x = get(n.inputs[0], Layout::kChannelsLast, n.describe());
    // The output [N, C, 1...] or [N, C] is N x C bytes in either layout.
    const Form y = produce(n.outputs[0], Layout::kPlain);
    xnn_operator_t op = nullptr;
    const xnn_status st = xnn_create_global_average_pooling_nwc_qs8(
        static_cast<size_t>(ch), static_cast<size_t>(ch), static_cast<size_t>(ch), zp(a, "x"), fscale(a, "x"), zp(a, "out"),
        fscale(a, "out"), -128, 127, 0, &op);
    add_operator(op, st, n, {x.buf}, y.buf, [this, batch, width, xb = x.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
      return xnn_setup_global_average_pooling_nwc_qs8(o, static_cast<size_t>(batch), static_cast<size_t>(width), ptr(xb), ptr(yb), p);
    });
  }

  void lookup(const Node& n) {
    const Attrs& a = n.attrs;
    const int xi = n.inputs[0];
    // Elementwise: run on whichever form exists (the output keeps that layout).
    Form x = forms_[static_cast<size_t>(xi)].empty() ? get(xi, Layout::kPlain, n.describe()) : forms_[static_cast<size_t>(xi)][0];
    Form y = x;
    y.buf = new_buffer(shape_numel(info(xi).shape));
    add_form(n.outputs[0], y);
    const int64_t numel = shape_numel(info(xi).shape);
    const bool sigmoid = a.s("function") == "aten.sigmoid.default";
    xnn_operator_t op = nullptr;
    const size_t c = static_cast<size_t>(std::max<int64_t>(numel, 1));
    const ClampBounds cb = clamp_bounds(constant(n.inputs.at(1), n, "table"));
    if (cb.is_clamp) {  // relu / relu6 / hardtanh on shared qparams: an int8 clamp
      const xnn_status st = xnn_create_clamp_nc_s8(c, c, c, cb.lo, cb.hi, 0, &op);
      add_operator(op, st, n, {x.buf}, y.buf, [this, numel, xb = x.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
        return xnn_setup_clamp_nc_s8(o, numel == 0 ? 0 : 1, ptr(xb), ptr(yb), p);
      });
      return;
    }
    const xnn_status st = sigmoid ? xnn_create_sigmoid_nc_qs8(c, c, c, zp(a, "x"), fscale(a, "x"), -128, 1.0f / 256, -128, 127, 0, &op)
                                  : xnn_create_tanh_nc_qs8(c, c, c, zp(a, "x"), fscale(a, "x"), 0, 1.0f / 128, -128, 127, 0, &op);
    add_operator(op, st, n, {x.buf}, y.buf, [this, sigmoid, numel, xb = x.buf, yb = y.buf](xnn_operator_t o, pthreadpool_t p) {
      const size_t b = numel == 0 ? 0 : 1;
      return sigmoid ? xnn_setup_sigmoid_nc_qs8(o, b, ptr(xb), ptr(yb), p) : xnn_setup_tanh_nc_qs8(o, b, ptr(xb), ptr(yb), p);
    });
  }

  // reshape / flatten / squeeze / unsqueeze / clone: no bytes move unless the layout must change.
  void view(const Node& n) {
    const int xi = n.inputs.at(0), yi = n.outputs.at(0);
    const Shape& xs = info(xi).shape;
    const Shape& ys = info(yi).shape;
    if (xs == ys && !forms_[static_cast<size_t>(xi)].empty()) {  // clone, or a reshape to the same shape
      for (const Form& f : std::vector<Form>(forms_[static_cast<size_t>(xi)])) add_form(yi, f);
      return;
    }
    const Form* cl = find_form(xi, Layout::kChannelsLast);
    if (!find_form(xi, Layout::kPlain) && cl && !channels_last_is_plain(*cl) && xs.size() == 4 && ys.size() == 2 &&
        ys[0] == xs[0]) {
      Form f = *cl;  // flatten of NHWC: [N, C*H*W] whose bytes are [N, H, W, C]
      f.layout = Layout::kFlatHWC;
      add_form(yi, f);
      return;
    }
    const Form x = get(xi, Layout::kPlain, n.describe());
    Form f;
    f.layout = Layout::kPlain;
    split_ncs(ys, f.n, f.c, f.s);
    f.buf = x.buf;
    add_form(yi, f);
  }

  void add_exit(int v, int k) {
    const ValueInfo& vi = info(v);
    check(vi.dtype == DType::i8, owner_ + ": output " + std::to_string(k) + " is not i8");
    Step st(Step::kOutput);
    st.io = k;
    split_ncs(vi.shape, st.n, st.c, st.s);
    if (const Form* p = find_form(v, Layout::kPlain)) {
      st.src = p->buf;
    } else if (const Form* cl = find_form(v, Layout::kChannelsLast)) {
      st.src = cl->buf;
      st.transpose = !channels_last_is_plain(*cl);
    } else if (const Form* fl = find_form(v, Layout::kFlatHWC)) {
      st.src = fl->buf;
      st.n = fl->n, st.c = fl->c, st.s = fl->s;
      st.transpose = true;
    } else {
      throw Error(owner_ + ": output " + std::to_string(k) + " is never computed");
    }
    steps_.push_back(std::move(st));
  }

  // Lifetimes (in steps) of every buffer, one arena for all, then every operator's setup.
  void finalize() {
    std::vector<BufferRequest> req(buffers_.size());
    std::vector<bool> used(buffers_.size(), false);
    auto touch = [&](int b, int t) {
      if (b < 0) return;
      BufferRequest& r = req[static_cast<size_t>(b)];
      if (!used[static_cast<size_t>(b)]) r.first = r.last = t;
      r.first = std::min(r.first, t);
      r.last = std::max(r.last, t);
      used[static_cast<size_t>(b)] = true;
    };
    for (size_t t = 0; t < steps_.size(); ++t) {
      const Step& st = steps_[t];
      touch(st.src, static_cast<int>(t));
      touch(st.dst, static_cast<int>(t));
      for (int b : st.reads) touch(b, static_cast<int>(t));
    }
    for (size_t b = 0; b < buffers_.size(); ++b) req[b].bytes = buffers_[b];
    const MemoryPlan mp = plan_memory(req);
    offsets_ = mp.offsets;
    const size_t bytes = (mp.arena_bytes + XNN_EXTRA_BYTES + 63) / 64 * 64;
    void* mem = std::aligned_alloc(64, std::max<size_t>(bytes, 64));
    check(mem != nullptr, owner_ + ": out of memory for a " + std::to_string(bytes) + "-byte arena");
    std::memset(mem, 0, bytes);
    arena_ = std::unique_ptr<int8_t, decltype(&std::free)>(static_cast<int8_t*>(mem), &std::free);
    for (Step& st : steps_)
      if (st.kind == Step::kOperator) {
        const xnn_status s = st.setup(ops_[static_cast<size_t>(st.op)].get(), pool_);
        check(s == xnn_status_success, owner_ + ": xnn_setup for " + st.what + " failed: " + status_name(s));
      }
  }

  std::string owner_;
  Program prog_;
  std::vector<ValueInfo> local_;
  std::vector<std::vector<Form>> forms_;
  std::vector<size_t> buffers_;  // bytes per virtual buffer
  std::vector<size_t> offsets_;
  std::unique_ptr<int8_t, decltype(&std::free)> arena_{nullptr, &std::free};
  std::vector<Step> steps_;
  std::vector<OperatorPtr> ops_;
  // Always null: operators run on the calling thread (see the constructor for why).
  static constexpr pthreadpool_t pool_ = nullptr;
};

}  // namespace

void register_subgraph_kernel() {
  register_kernel(kSubgraphOp, [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    return std::make_unique<SubgraphKernel>(info);
  });
}

void ensure_initialized() { init_library(); }

}  // namespace eq::xnn
