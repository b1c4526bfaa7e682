#include "dnnl_conv.h"

#include <cstdlib>
#include <string>
#include <unordered_map>
#include <oneapi/dnnl/dnnl.hpp>

namespace eq {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// Grow-only, 64-byte aligned scratch per thread: the blocked copies of src/dst live here between
// the reorders, shared by every conv kernel that runs on this thread (kernels run one at a time).
struct Scratch {
  void* p = nullptr;
  size_t n = 0;
  ~Scratch() { std::free(p); }
  void* get(size_t bytes) {
    if (bytes > n) {
      std::free(p);
      n = ((bytes + 4095) / 4096) * 4096;
      p = std::aligned_alloc(64, n);
      if (!p) throw Error("out of memory allocating " + std::to_string(n) + " bytes of conv scratch");
    }
    return p;
  }
};
thread_local Scratch t_scratch[2];

class DnnlConvKernel : public OpKernel {
 public:
  DnnlConvKernel(const KernelCreateInfo& info, const ConvGeom& g, bool blocked) : g_(g) {
    dnnl::engine& eng = cpu_engine();
    strm_ = dnnl::stream(eng);
    const memory::dims src_dims{g.n, g.ic, g.ih, g.iw}, dst_dims{g.n, g.oc, g.oh, g.ow};
    memory::dims wei_dims;
    tag wtag;
    if (g.groups > 1) {
      wei_dims = {g.groups, g.oc / g.groups, g.ic / g.groups, g.kh, g.kw};
      wtag = g.transposed ? tag::giohw : tag::goihw;
    } else {
      wei_dims = {g.oc, g.ic, g.kh, g.kw};
      wtag = g.transposed ? tag::iohw : tag::oihw;
    }
    user_src_md_ = memory::desc(src_dims, dt::f32, tag::nchw);
    user_dst_md_ = memory::desc(dst_dims, dt::f32, tag::nchw);
    const memory::desc user_wei_md(wei_dims, dt::f32, wtag);
    const memory::desc src_any = blocked ? memory::desc(src_dims, dt::f32, tag::any) : user_src_md_;
    const memory::desc dst_any = blocked ? memory::desc(dst_dims, dt::f32, tag::any) : user_dst_md_;
    const memory::desc wei_any(wei_dims, dt::f32, tag::any);
    const memory::desc bias_md({g.oc}, dt::f32, tag::x);
    const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pad_l{g.pt, g.pl};
    memory::dims pad_r{g.pb, g.pr};
    if (g.transposed) {
      // oneDNN derives dst from the padding; output_padding shows up as less right padding.
      pad_r = {(g.ih - 1) * g.sh - g.pt + (g.kh - 1) * g.dh + 1 - g.oh,
               (g.iw - 1) * g.sw - g.pl + (g.kw - 1) * g.dw + 1 - g.ow};
    }
    const auto prop = dnnl::prop_kind::forward_inference;
    memory::desc wei_md;
    if (!g.transposed) {
      auto d = g.has_bias ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, src_any,
                                                            wei_any, bias_md, dst_any, strides, dil, pad_l, pad_r)
                          : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, src_any,
                                                            wei_any, dst_any, strides, dil, pad_l, pad_r);
      dnnl::convolution_forward::primitive_desc pd(d, eng);
      src_md_ = pd.src_desc();
      dst_md_ = pd.dst_desc();
      wei_md = pd.weights_desc();
      impl_ = pd.impl_info_str();
      prim_ = dnnl::convolution_forward(pd);
    } else {
      auto d = g.has_bias
                   ? dnnl::deconvolution_forward::desc(prop, dnnl::algorithm::deconvolution_direct, src_any, wei_any,
                                                       bias_md, dst_any, strides, dil, pad_l, pad_r)
                   : dnnl::deconvolution_forward::desc(prop, dnnl::algorithm::deconvolution_direct, src_any, wei_any,
                                                       dst_any, strides, dil, pad_l, pad_r);
      dnnl::deconvolution_forward::primitive_desc pd(d, eng);
      src_md_ = pd.src_desc();
      dst_md_ = pd.dst_desc();
      wei_md = pd.weights_desc();
      impl_ = pd.impl_info_str();
      prim_ = dnnl::deconvolution_forward(pd);
    }
    user_src_ = memory(user_src_md_, eng, DNNL_MEMORY_NONE);
    user_dst_ = memory(user_dst_md_, eng, DNNL_MEMORY_NONE);
    reorder_src_ = src_md_ != user_src_md_;
    reorder_dst_ = dst_md_ != user_dst_md_;
    if (reorder_src_) {
      src_mem_ = memory(src_md_, eng, DNNL_MEMORY_NONE);
      src_reorder_ = dnnl::reorder(user_src_, src_mem_);
    }
    if (reorder_dst_) {
      dst_mem_ = memory(dst_md_, eng, DNNL_MEMORY_NONE);
      dst_reorder_ = dnnl::reorder(dst_mem_, user_dst_);
    }
    if (g.has_bias) bias_mem_ = memory(bias_md, eng, DNNL_MEMORY_NONE);
    user_wei_ = memory(user_wei_md, eng, DNNL_MEMORY_NONE);
    const Tensor* wconst = info.inputs.at(1).constant;
    if (wei_md == user_wei_md) {
      wei_mem_ = user_wei_;  // handle set per run
      wei_direct_ = true;
    } else {
      wei_mem_ = memory(wei_md, eng);  // owns its buffer
      wei_reorder_ = dnnl::reorder(user_wei_, wei_mem_);
      if (wconst) {
        // Constant weights: reorder once into the primitive's format.
        user_wei_.set_data_handle(const_cast<float*>(wconst->data<float>()));
        wei_reorder_.execute(strm_, {{DNNL_ARG_FROM, user_wei_}, {DNNL_ARG_TO, wei_mem_}});
        strm_.wait();
        wei_ready_ = true;
      }
    }
  }

  void run(KernelContext& ctx) override {
    user_src_.set_data_handle(const_cast<float*>(ctx.in(0).data<float>()));
    user_dst_.set_data_handle(ctx.out(0).data<float>());
    if (wei_direct_) {
      wei_mem_.set_data_handle(const_cast<float*>(ctx.in(1).data<float>()));
    } else if (!wei_ready_) {
      user_wei_.set_data_handle(const_cast<float*>(ctx.in(1).data<float>()));
      wei_reorder_.execute(strm_, {{DNNL_ARG_FROM, user_wei_}, {DNNL_ARG_TO, wei_mem_}});
    }
    if (reorder_src_) {
      src_mem_.set_data_handle(t_scratch[0].get(src_md_.get_size()));
      src_reorder_.execute(strm_, {{DNNL_ARG_FROM, user_src_}, {DNNL_ARG_TO, src_mem_}});
    }
    if (reorder_dst_) dst_mem_.set_data_handle(t_scratch[1].get(dst_md_.get_size()));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, reorder_src_ ? src_mem_ : user_src_},
                                         {DNNL_ARG_WEIGHTS, wei_mem_},
                                         {DNNL_ARG_DST, reorder_dst_ ? dst_mem_ : user_dst_}};
    if (g_.has_bias) {
      bias_mem_.set_data_handle(const_cast<float*>(ctx.in(2).data<float>()));
      args.emplace(DNNL_ARG_BIAS, bias_mem_);
    }
    prim_.execute(strm_, args);
    if (reorder_dst_) dst_reorder_.execute(strm_, {{DNNL_ARG_FROM, dst_mem_}, {DNNL_ARG_TO, user_dst_}});
    strm_.wait();
  }

  const std::string& impl() const { return impl_; }

 private:
  ConvGeom g_;
  dnnl::stream strm_;
  dnnl::primitive prim_;
  memory::desc user_src_md_, user_dst_md_, src_md_, dst_md_;
  memory user_src_, user_dst_, src_mem_, dst_mem_, user_wei_, wei_mem_, bias_mem_;
  dnnl::reorder src_reorder_, dst_reorder_, wei_reorder_;
  bool reorder_src_ = false, reorder_dst_ = false, wei_direct_ = false, wei_ready_ = false;
  std::string impl_;
};

}  // namespace

// Layout choice, from bench/conv_paths.cpp on the dev box (oneDNN 2.6, AVX-512, Debian build;
// best-of ms per call, 1 thread because the shared 2-core box was loaded; N=64 / N=1):
//                          plain (nchw)   blocked (any + reorders)   im2col+sgemm
//   16->32 28x28 3x3         12.5 / .110      5.3 / .068               38.0 / .375
//   32->64 14x14 3x3          6.4 / .086      3.4 / .047               30.4 / .306
//   64->64 14x14 3x3 s2       4.5 / .062      1.8 / .034               16.6 / .223
//   dw 32 28x28 3x3          15.4 / .141      3.0 / .037               35.8 / .348
//   dw 64 14x14 3x3          10.9 / .088      1.1 / .012               26.1 / .195
//   1->16 28x28 3x3           .55 / .008      .55 / .008                1.3 / .020
//   pw 32->64 14x14 1x1       .55 / .008     1.06 / .012                2.5 / .037
// With plain nchw src/dst oneDNN falls back to gemm:jit (im2col + its sgemm); with `any` it picks
// acdb (NHWC) and brgconv / brdgmm_dw, 2-5x faster on 3x3 and depthwise even after the two
// reorders. Only a pointwise conv (1x1, stride 1, no padding, one group) is better plain: its
// gemm needs no im2col, so the reorders are pure overhead there.
DnnlConvLayout dnnl_conv_auto_layout(const ConvGeom& g) {
  const bool pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.pb == 0 &&
                         g.pr == 0 && g.groups == 1 && !g.transposed;
  return pointwise ? DnnlConvLayout::plain : DnnlConvLayout::blocked;
}

std::unique_ptr<OpKernel> make_dnnl_conv_kernel(const KernelCreateInfo& info, const ConvGeom& g,
                                                DnnlConvLayout layout) {
  if (layout == DnnlConvLayout::automatic) layout = dnnl_conv_auto_layout(g);
  try {
    return std::make_unique<DnnlConvKernel>(info, g, layout == DnnlConvLayout::blocked);
  } catch (const dnnl::error&) {
    return nullptr;  // no implementation for this geometry: the caller uses the reference loop
  }
}

}  // namespace eq
