// NeutronPartitioner: each support rule on hand-built QDQ graphs (delegated, and rejected with the
// expected reason), quantization checks, operators_not_to_delegate, partition-level rules and
// partition shapes, targets, and the fixture models quantized with the generic int8 quantizer.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "edgequant/dataset.h"
#include "edgequant/error.h"
#include "edgequant/neutron.h"
#include "edgequant/onnx.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"

namespace eq {
namespace {

// Builds QDQ graphs by hand, laid out as convert_pt2e writes them: activations pass through
// quantize → dequantize, weights are integer constants behind a dequantize.
class Qdq {
 public:
  Graph g;
  Qdq() { register_builtin_op_schemas(); }

  int input(Shape s, const std::string& name = "x") {
    const int v = g.add_value(name, DType::f32, std::move(s));
    g.inputs.push_back(v);
    return v;
  }
  // x → quantize → dequantize; returns the dequantized value.
  int qdq(int x, double scale = 0.05, int64_t zp = 0, DType dt = DType::i8) {
    const int s = g.add_constant(g.unique_value_name("s"), Tensor::scalar<float>(static_cast<float>(scale)));
    const int z = g.add_constant(g.unique_value_name("zp"), zero_point(dt, zp));
    const int q = op("quantized_decomposed.quantize_per_tensor.default", {x, s, z});
    return op("quantized_decomposed.dequantize_per_tensor.default", {q, s, z});
  }
  // An integer constant of `shape` behind a dequantize (weights i8, bias i32).
  int constant(Shape shape, DType dt = DType::i8, double scale = 0.01) {
    Tensor t(dt, shape);
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (dt == DType::i8) t.data<int8_t>()[i] = static_cast<int8_t>(i % 7 - 3);
      else t.data<int32_t>()[i] = static_cast<int32_t>(i % 11 - 5);
    }
    const int c = g.add_constant(g.unique_value_name("w"), t);
    const int s = g.add_constant(g.unique_value_name("s"), Tensor::scalar<float>(static_cast<float>(scale)));
    const int z = g.add_constant(g.unique_value_name("zp"), zero_point(dt, 0));
    return op("quantized_decomposed.dequantize_per_tensor.default", {c, s, z});
  }
  int op(const std::string& name, std::vector<int> inputs, Attrs attrs = {}) {
    const int n = g.add_node(name, "/" + name + "_" + std::to_string(g.nodes.size()), std::move(inputs), 1, std::move(attrs));
    infer_node(g, g.nodes[static_cast<size_t>(n)]);
    last = n;
    return g.nodes[static_cast<size_t>(n)].outputs[0];
  }
  // op, then quantize → dequantize of its output.
  int qop(const std::string& name, std::vector<int> inputs, Attrs attrs = {}, double scale = 0.05) {
    const int y = op(name, std::move(inputs), std::move(attrs));
    const int n = last;
    const int out = qdq(y, scale);
    last = n;
    return out;
  }
  void output(int v) { g.outputs.push_back(v); }
  int last = -1;  // the last compute node added by op/qop

 private:
  static Tensor zero_point(DType dt, int64_t zp) {
    if (dt == DType::u8) return Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp));
    if (dt == DType::i32) return Tensor::scalar<int32_t>(static_cast<int32_t>(zp));
    return Tensor::scalar<int8_t>(static_cast<int8_t>(zp));
  }
};

Attrs conv_attrs(int64_t groups = 1, std::vector<int64_t> stride = {1, 1}, std::vector<int64_t> padding = {0, 0, 0, 0},
                 std::vector<int64_t> dilation = {1, 1}) {
  Attrs a;
  a.set("stride", stride);
  a.set("padding", padding);
  a.set("dilation", dilation);
  a.set("groups", groups);
  return a;
}

Attrs pool_attrs(std::vector<int64_t> kernel, std::vector<int64_t> stride, int64_t ceil_mode = 0,
                 std::vector<int64_t> padding = {0, 0, 0, 0}) {
  Attrs a;
  a.set("kernel_size", kernel);
  a.set("stride", stride);
  a.set("padding", padding);
  a.set("ceil_mode", ceil_mode);
  return a;
}

PartitionResult run(const Graph& g, const std::vector<std::string>& exclude = {}) {
  return NeutronPartitioner(generate_neutron_compile_spec("imxrt700", exclude)).partition(g);
}

const NodeDecision& decision(const PartitionResult& r, int node) {
  const NodeDecision* d = r.decision_for(node);
  if (!d) throw std::runtime_error("no decision for node " + std::to_string(node));
  return *d;
}

#define EXPECT_DELEGATED(r, node) \
  EXPECT_TRUE(decision(r, node).delegated) << "reason: " << decision(r, node).reason
#define EXPECT_REJECTED(r, node, needle)                                                        \
  do {                                                                                         \
    EXPECT_FALSE(decision(r, node).delegated);                                                 \
    EXPECT_NE(decision(r, node).reason.find(needle), std::string::npos)                        \
        << "expected '" << (needle) << "' in reason: " << decision(r, node).reason;            \
  } while (0)

// x[1,Cin,H,W] → conv → (relu) → y, all quantized.
struct ConvCase {
  Qdq b;
  int conv = -1, relu = -1;
  ConvCase(int64_t cin, int64_t cout, int64_t groups, std::vector<int64_t> kernel, Shape spatial = {8, 8},
           bool with_relu = true, Attrs attrs = {}) {
    const int x = b.qdq(b.input({1, cin, spatial[0], spatial[1]}));
    const int w = b.constant({cout, cin / groups, kernel[0], kernel[1]});
    const int bias = b.constant({cout}, DType::i32, 0.0005);
    if (attrs.all().empty()) attrs = conv_attrs(groups);
    int y = b.op("aten.conv2d.default", {x, w, bias}, attrs);
    conv = b.last;
    if (with_relu) {
      y = b.op("aten.relu.default", {y});
      relu = b.last;
    }
    b.output(b.qdq(y));
  }
};

// ---- conv ----

TEST(NeutronConv, RegularConvWithFusedReluIsOnePartition) {
  ConvCase c(8, 16, 1, {3, 3});
  const PartitionResult r = run(c.b.g);
  EXPECT_DELEGATED(r, c.conv);
  EXPECT_DELEGATED(r, c.relu);
  ASSERT_EQ(r.partitions.size(), 1u);
  EXPECT_EQ(decision(r, c.conv).partition, 0);
  EXPECT_EQ(decision(r, c.relu).partition, 0);
  // conv, relu, the dequantizes of x, weights and bias, the quantize of the output.
  EXPECT_EQ(r.partitions[0].size(), 6u);
  EXPECT_DOUBLE_EQ(r.delegated_share(), 1.0);
}

TEST(NeutronConv, DepthwiseDelegated) {
  ConvCase c(16, 16, 16, {3, 3});
  EXPECT_DELEGATED(run(c.b.g), c.conv);
}

TEST(NeutronConv, DepthwiseMultiplier2Rejected) {
  ConvCase c(8, 16, 8, {3, 3});
  const PartitionResult r = run(c.b.g);
  EXPECT_REJECTED(r, c.conv, "depthwise multiplier 2 is not supported");
  EXPECT_REJECTED(r, c.conv, "in == out == groups");
  // The fused relu stays with its conv.
  EXPECT_REJECTED(r, c.relu, "fused with");
  EXPECT_TRUE(r.partitions.empty());
}

TEST(NeutronConv, GroupedConvRejected) {
  ConvCase c(16, 16, 2, {3, 3});
  EXPECT_REJECTED(run(c.b.g), c.conv, "groups=2, in_channels=16, out_channels=16 is neither regular");
}

TEST(NeutronConv, KernelVolumeLimitUsesChannelsRoundedUpToNumMacs) {
  // 3*3*roundup(7280, 8) = 65520 <= 65535: delegated.
  ConvCase ok(7280, 8, 1, {3, 3}, {3, 3}, false);
  EXPECT_DELEGATED(run(ok.b.g), ok.conv);
  // 7281 channels round up to 7288: 3*3*7288 = 65592 > 65535.
  ConvCase big(7281, 8, 1, {3, 3}, {3, 3}, false);
  EXPECT_REJECTED(run(big.b.g), big.conv, "kernel volume kH*kW*roundup(in_channels, 8) = 3*3*7288 = 65592 exceeds 65535");
}

TEST(NeutronConv, StrideLimit) {
  ConvCase c(8, 8, 1, {1, 1}, {1, 4098}, false, conv_attrs(1, {1, 4097}));
  EXPECT_REJECTED(run(c.b.g), c.conv, "stride [1,4097] exceeds 4096");
}

TEST(NeutronConv, Conv1dDelegatedAndDynamicWeightsRejected) {
  Qdq b;
  const int x = b.qdq(b.input({1, 8, 32}));
  const int w = b.constant({16, 8, 3});
  Attrs a;
  a.set("stride", std::vector<int64_t>{1});
  a.set("padding", std::vector<int64_t>{1, 1});
  a.set("dilation", std::vector<int64_t>{1});
  a.set("groups", int64_t{1});
  const int y = b.qop("aten.conv1d.default", {x, w}, a);
  const int conv1d = b.last;
  // A second conv whose weights are an activation (dequantized, not constant).
  const int wd = b.qdq(b.input({16, 16, 1}, "w_dynamic"));
  b.output(b.qop("aten.conv1d.default", {y, wd}, conv_attrs(1, {1}, {0, 0}, {1})));
  const int dynamic = b.last;
  const PartitionResult r = run(b.g);
  EXPECT_DELEGATED(r, conv1d);
  EXPECT_REJECTED(r, dynamic, "weights (input 1) must be a dequantized constant");
}

// ---- quantization ----

TEST(NeutronQuantization, FloatNodeRejectedAsNotQuantized) {
  Qdq b;
  const int x = b.input({1, 8, 8, 8});  // float, no quantize/dequantize
  const int w = b.constant({8, 8, 1, 1});
  b.output(b.qop("aten.conv2d.default", {x, w}, conv_attrs()));
  const int conv = b.last;
  const PartitionResult r = run(b.g);
  EXPECT_REJECTED(r, conv, "not quantized");
  EXPECT_REJECTED(r, conv, "input 0 'x' is f32, not produced by a dequantize node");
  EXPECT_EQ(r.delegated_nodes(), 0);
  EXPECT_EQ(r.compute_nodes(), 1);
}

TEST(NeutronQuantization, FloatOutputRejectedAsNotQuantized) {
  Qdq b;
  const int x = b.qdq(b.input({1, 8, 8, 8}));
  b.output(b.op("aten.relu.default", {x}));  // the output is never quantized
  EXPECT_REJECTED(run(b.g), b.last, "not quantized: output");
}

TEST(NeutronQuantization, Uint8ActivationsRejected) {
  Qdq b;
  const int x = b.qdq(b.input({1, 8, 8, 8}), 0.05, 128, DType::u8);
  b.output(b.qop("aten.relu.default", {x}));
  EXPECT_REJECTED(run(b.g), b.last, "is u8; Neutron takes int8 activations only");
}

TEST(NeutronQuantization, Int8BiasRejected) {
  Qdq b;
  const int x = b.qdq(b.input({1, 8, 8, 8}));
  const int w = b.constant({8, 8, 1, 1});
  const int bias = b.constant({8}, DType::i8);
  b.output(b.qop("aten.conv2d.default", {x, w, bias}, conv_attrs()));
  EXPECT_REJECTED(run(b.g), b.last, "Neutron takes int32 bias");
}

// ---- operators_not_to_delegate ----

TEST(NeutronExclusion, OperatorsNotToDelegate) {
  ConvCase c(8, 16, 1, {3, 3});
  for (const char* spelling : {"aten.conv2d.default", "aten::conv2d", "conv2d", "aten_conv2d_default"}) {
    const PartitionResult r = run(c.b.g, {spelling});
    EXPECT_REJECTED(r, c.conv, "excluded by operators_not_to_delegate (aten.conv2d.default)");
    EXPECT_FALSE(decision(r, c.relu).delegated) << spelling;
  }
  const PartitionResult other = run(c.b.g, {"aten.softmax.int"});
  EXPECT_DELEGATED(other, c.conv);
  EXPECT_EQ(generate_neutron_compile_spec("imxrt700", {"conv2d"}).operators_not_to_delegate,
            std::vector<std::string>{"aten.conv2d.default"});
  EXPECT_THROW(generate_neutron_compile_spec("imxrt700", {"conv7d"}), Error);
}

// ---- pools ----

TEST(NeutronPool, AvgPool) {
  auto avg = [](Attrs a, Shape in = {1, 16, 8, 8}) {
    Qdq b;
    const int x = b.qdq(b.input(in));
    b.output(b.qop("aten.avg_pool2d.default", {x}, std::move(a)));
    return std::make_pair(run(b.g), b.last);
  };
  auto [plain, n0] = avg(pool_attrs({2, 2}, {2, 2}));
  EXPECT_DELEGATED(plain, n0);
  auto [ceil, n1] = avg(pool_attrs({3, 3}, {2, 2}, 1));
  EXPECT_REJECTED(ceil, n1, "ceil_mode=True is not supported");
  Attrs no_pad_count = pool_attrs({3, 3}, {1, 1}, 0, {1, 1, 1, 1});
  no_pad_count.set("count_include_pad", int64_t{0});
  auto [cip, n2] = avg(no_pad_count);
  EXPECT_REJECTED(cip, n2, "count_include_pad=False with padding [1,1,1,1]");
}

TEST(NeutronPool, AvgPoolNeedsSharedQparams) {
  Qdq b;
  const int x = b.qdq(b.input({1, 16, 8, 8}), 0.05);
  b.output(b.qop("aten.avg_pool2d.default", {x}, pool_attrs({2, 2}, {2, 2}), 0.1));
  EXPECT_REJECTED(run(b.g), b.last, "input and output must share qparams");
}

TEST(NeutronPool, AdaptiveAvgPool) {
  auto adaptive = [](Shape in, std::vector<int64_t> out) {
    Qdq b;
    const int x = b.qdq(b.input(in));
    Attrs a;
    a.set("output_size", out);
    b.output(b.qop("aten.adaptive_avg_pool2d.default", {x}, a));
    return std::make_pair(run(b.g), b.last);
  };
  auto [even, n0] = adaptive({1, 16, 8, 8}, {2, 2});
  EXPECT_DELEGATED(even, n0);
  auto [global, n1] = adaptive({1, 16, 7, 7}, {1, 1});
  EXPECT_DELEGATED(global, n1);
  auto [uneven, n2] = adaptive({1, 16, 7, 7}, {2, 2});
  EXPECT_REJECTED(uneven, n2, "input size [7,7] is not divisible by output_size [2,2]");
}

TEST(NeutronPool, MaxPool) {
  auto maxp = [](Shape in, Attrs a) {
    Qdq b;
    const int x = b.qdq(b.input(in));
    b.output(b.qop("aten.max_pool2d.default", {x}, std::move(a)));
    return std::make_pair(run(b.g), b.last);
  };
  auto [ok, n0] = maxp({kBatch, 16, 8, 8}, pool_attrs({2, 2}, {2, 2}));
  EXPECT_DELEGATED(ok, n0);
  auto [ch, n1] = maxp({1, 12, 8, 8}, pool_attrs({2, 2}, {2, 2}));
  EXPECT_REJECTED(ch, n1, "channels 12 not a multiple of num_macs 8");
  auto [batch, n2] = maxp({2, 16, 8, 8}, pool_attrs({2, 2}, {2, 2}));
  EXPECT_REJECTED(batch, n2, "batch 2 must be 1");
  auto [stride, n3] = maxp({1, 16, 9, 9}, pool_attrs({3, 3}, {3, 3}));
  EXPECT_REJECTED(stride, n3, "stride_h 3 must be 1 or 2");
  auto [ceil, n4] = maxp({1, 16, 9, 9}, pool_attrs({2, 2}, {2, 2}, 1));
  EXPECT_REJECTED(ceil, n4, "ceil_mode=True");
}

// ---- mean, softmax ----

TEST(NeutronMean, SpatialMeanWithKeepdim) {
  auto mean = [](std::vector<int64_t> dims, int64_t keepdim, int64_t channels = 16) {
    Qdq b;
    const int x = b.qdq(b.input({1, channels, 4, 4}));
    // A conv in front makes the input channels-first, as in a CNN.
    const int y = b.qdq(b.op("aten.conv2d.default", {x, b.constant({channels, channels, 1, 1})}, conv_attrs()));
    Attrs a;
    a.set("dim", dims);
    a.set("keepdim", keepdim);
    b.output(b.qop("aten.mean.dim", {y}, a));
    return std::make_pair(run(b.g), b.last);
  };
  auto [ok, n0] = mean({2, 3}, 1);
  EXPECT_DELEGATED(ok, n0);
  auto [nokeep, n1] = mean({2, 3}, 0);
  EXPECT_REJECTED(nokeep, n1, "keepdim=False");
  auto [chan, n2] = mean({1}, 1);
  EXPECT_REJECTED(chan, n2, "reduces dims [1]; Neutron reduces only H and W ([2,3]");
  auto [c12, n3] = mean({2, 3}, 1, 12);
  EXPECT_REJECTED(c12, n3, "channels 12 not a multiple of num_macs 8");
}

TEST(NeutronSoftmax, ChannelDimOnly) {
  auto softmax = [](Shape in, int64_t dim) {
    Qdq b;
    const int x = b.qdq(b.input(in));
    Attrs a;
    a.set("dim", dim);
    b.output(b.qop("aten.softmax.int", {x}, a, 1.0 / 256));
    return std::make_pair(run(b.g), b.last);
  };
  auto [ok, n0] = softmax({1, 16}, -1);
  EXPECT_DELEGATED(ok, n0);
  auto [dim0, n1] = softmax({4, 16}, 0);
  EXPECT_REJECTED(dim0, n1, "softmax over dim 0; Neutron only takes the channel dim (1");
  auto [c12, n2] = softmax({1, 12}, 1);
  EXPECT_REJECTED(c12, n2, "channels 12 not a multiple of num_macs 8");
  auto [big, n3] = softmax({1, 4097, 8}, 2);
  EXPECT_REJECTED(big, n3, "spatial size (product of the non-channel dims) 4097 exceeds 4096");
}

// ---- add, sub, mul ----

TEST(NeutronBinary, BroadcastingLimits) {
  auto binary = [](const std::string& op, Shape a, Shape c) {
    Qdq b;
    const int x = b.qdq(b.input(a, "a"));
    const int y = b.qdq(b.input(c, "b"));
    b.output(b.qop(op, {x, y}));
    return std::make_pair(run(b.g), b.last);
  };
  auto [add, n0] = binary("aten.add.Tensor", {1, 8, 4, 4}, {1, 8, 4, 4});
  EXPECT_DELEGATED(add, n0);
  auto [sub1, n1] = binary("aten.sub.Tensor", {1, 8, 4, 4}, {1, 8, 1, 1});
  EXPECT_DELEGATED(sub1, n1);  // one input has the output shape
  auto [both, n2] = binary("aten.add.Tensor", {1, 8, 1, 4}, {1, 1, 4, 1});
  EXPECT_REJECTED(both, n2, "neither input [1,8,1,4] nor [1,1,4,1] has the output shape [1,8,4,4]");
  auto [mul, n3] = binary("aten.mul.Tensor", {1, 8, 4, 4}, {1, 8, 1, 1});
  EXPECT_REJECTED(mul, n3, "shape broadcasting");
  auto [mul_ok, n4] = binary("aten.mul.Tensor", {1, 8, 4, 4}, {1, 8, 4, 4});
  EXPECT_DELEGATED(mul_ok, n4);
  auto [mul_odd, n5] = binary("aten.mul.Tensor", {1, 3, 5, 7}, {1, 3, 5, 7});
  EXPECT_REJECTED(mul_odd, n5, "no output dim of [1,3,5,7] is a multiple of num_macs 8");
}

// ---- cat, pad, slice, reshape, activations ----

TEST(NeutronCat, SharedQparamsAndChannels) {
  // No conv around: the tensors are channels-last to Neutron, the last dim is the channels.
  auto cat = [](double scale_b, int64_t channels) {
    Qdq b;
    const int x = b.qdq(b.input({1, 8, 4, channels}, "a"), 0.05);
    const int y = b.qdq(b.input({1, 8, 4, channels}, "b"), scale_b);
    // Compute ops feed the cat, so its inputs come from inside the partition.
    const int xa = b.qdq(b.op("aten.relu.default", {x}), 0.05);
    const int ya = b.qdq(b.op("aten.relu.default", {y}), 0.05);
    Attrs a;
    a.set("dim", int64_t{1});
    b.output(b.qop("aten.cat.default", {xa, ya}, a, 0.05));
    return std::make_pair(run(b.g), b.last);
  };
  auto [ok, n0] = cat(0.05, 8);
  EXPECT_DELEGATED(ok, n0);
  EXPECT_EQ(ok.partitions.size(), 1u);
  Qdq b;
  const int x = b.qdq(b.input({1, 8, 4, 4}, "a"), 0.05);
  const int y = b.qdq(b.input({1, 8, 4, 4}, "b"), 0.1);
  Attrs a;
  a.set("dim", int64_t{1});
  b.output(b.qop("aten.cat.default", {x, y}, a, 0.05));
  EXPECT_REJECTED(run(b.g), b.last, "inputs and output must share one set of qparams: input 1");
  auto [c12, n2] = cat(0.05, 12);
  EXPECT_REJECTED(c12, n2, "input 0 has 12 channels, not a multiple of num_macs 8");
}

TEST(NeutronPad, ModesAndChannelPadding) {
  auto pad = [](std::vector<int64_t> p, const std::string& mode) {
    Qdq b;
    const int x = b.qdq(b.input({1, 8, 4, 4}));
    const int y = b.qdq(b.op("aten.conv2d.default", {x, b.constant({8, 8, 1, 1})}, conv_attrs()));
    Attrs a;
    a.set("pad", p);
    a.set("mode", mode);
    b.output(b.qop("aten.pad.default", {y}, a));
    return std::make_pair(run(b.g), b.last);
  };
  auto [spatial, n0] = pad({0, 0, 1, 1, 0, 0, 1, 1}, "constant");
  EXPECT_DELEGATED(spatial, n0);
  auto [reflect, n1] = pad({0, 0, 1, 1, 0, 0, 1, 1}, "reflect");
  EXPECT_DELEGATED(reflect, n1);
  auto [channels, n2] = pad({0, 2, 0, 0, 0, 2, 0, 0}, "constant");
  EXPECT_REJECTED(channels, n2, "pads the channel dim 1");
  auto [replicate, n3] = pad({0, 0, 1, 1, 0, 0, 1, 1}, "replicate");
  EXPECT_REJECTED(replicate, n3, "mode 'replicate' is not supported");
}

TEST(NeutronSlice, StepMustBeOne) {
  auto slice = [](int64_t step) {
    Qdq b;
    const int x = b.qdq(b.input({1, 16, 8}));
    Attrs a;
    a.set("dim", int64_t{2});
    a.set("start", int64_t{0});
    a.set("end", int64_t{8});
    a.set("step", step);
    b.output(b.qop("aten.slice_copy.Tensor", {x}, a));
    return std::make_pair(run(b.g), b.last);
  };
  auto [ok, n0] = slice(1);
  EXPECT_DELEGATED(ok, n0);
  auto [step2, n1] = slice(2);
  EXPECT_REJECTED(step2, n1, "step 2");
}

TEST(NeutronReshape, FlattenIntoLinearAndLoneReshape) {
  // The cnn pattern: [1,16,7,7] channels-first → flatten → linear. The implied NCHW Transpose is
  // unsupported (h*w = 49 is not a multiple of 8) but the linear absorbs it.
  Qdq b;
  const int x = b.qdq(b.input({1, 16, 7, 7}));
  const int c = b.qdq(b.op("aten.conv2d.default", {x, b.constant({16, 16, 1, 1})}, conv_attrs()));
  Attrs fa;
  fa.set("start_dim", int64_t{1});
  fa.set("end_dim", int64_t{-1});
  const int f = b.qop("aten.flatten.using_ints", {c}, fa);
  const int flatten = b.last;
  b.output(b.qop("aten.linear.default", {f, b.constant({10, 16 * 49}), b.constant({10}, DType::i32)}));
  const int linear = b.last;
  PartitionResult r = run(b.g);
  EXPECT_DELEGATED(r, flatten);
  EXPECT_DELEGATED(r, linear);
  EXPECT_EQ(r.partitions.size(), 1u);
  // Without the linear on Neutron the flatten has no way to run.
  r = run(b.g, {"aten.linear.default"});
  EXPECT_REJECTED(r, flatten, "h*w 49 must be multiples of num_macs 8");
  EXPECT_REJECTED(r, flatten, "following linear is not in the same partition");

  // A reshape alone: nothing to compute, so no partition.
  Qdq lone;
  const int y = lone.qdq(lone.input({1, 4, 6}));
  Attrs ra;
  ra.set("shape", std::vector<int64_t>{1, 24});
  lone.output(lone.qop("aten.reshape.default", {y}, ra));
  const PartitionResult rl = run(lone.g);
  EXPECT_REJECTED(rl, lone.last, "partition-level");
  EXPECT_TRUE(rl.partitions.empty());
}

TEST(NeutronActivation, HardtanhBoundsAndLoneRelu) {
  auto act = [](const std::string& op, Attrs a, int64_t channels) {
    Qdq b;
    const int x = b.qdq(b.input({1, channels, 4, 4}));
    const int y = b.qdq(b.op("aten.conv2d.default", {x, b.constant({channels, channels, 1, 1})}, conv_attrs()),
                        0.05);
    b.output(b.qop(op, {y}, std::move(a)));
    return std::make_pair(run(b.g, {"aten.conv2d.default"}), b.last);  // keep the activation alone
  };
  Attrs relu6, odd;
  relu6.set("min_val", 0.0);
  relu6.set("max_val", 6.0);
  odd.set("min_val", -2.0);
  odd.set("max_val", 2.0);
  auto [ok, n0] = act("aten.hardtanh.default", relu6, 16);
  EXPECT_DELEGATED(ok, n0);
  auto [bad, n1] = act("aten.hardtanh.default", odd, 16);
  EXPECT_REJECTED(bad, n1, "bounds (-2, 2) are none of");
  auto [lone, n2] = act("aten.relu.default", {}, 12);
  EXPECT_REJECTED(lone, n2, "alone in its partition, a Relu needs channels (12) to be a multiple of num_macs 8");
  auto [sig, n3] = act("aten.sigmoid.default", {}, 12);
  EXPECT_DELEGATED(sig, n3);
}

TEST(NeutronUnsupported, OpWithoutRule) {
  Qdq b;
  const int x = b.qdq(b.input({1, 8, 4, 4}));
  b.output(b.qop("aten.exp.default", {x}));
  EXPECT_REJECTED(run(b.g), b.last, "no Neutron support for aten.exp.default");
}

// ---- partitions ----

TEST(NeutronPartitions, ChainMergesCpuNodeSplitsAndNoCycles) {
  // x → conv A → softmax S (excluded: CPU) → add(A, S) → y. A and the add touch (A's quantize
  // feeds the add) but one partition holding both would depend on S, which depends on it.
  Qdq b;
  const int x = b.qdq(b.input({1, 8, 4, 4}));
  const int a = b.qop("aten.conv2d.default", {x, b.constant({8, 8, 1, 1})}, conv_attrs());
  const int conv = b.last;
  Attrs sa;
  sa.set("dim", int64_t{1});
  const int s = b.qop("aten.softmax.int", {a}, sa);
  const int softmax = b.last;
  b.output(b.qop("aten.add.Tensor", {a, s}));
  const int add = b.last;
  const PartitionResult r = run(b.g, {"softmax"});
  EXPECT_DELEGATED(r, conv);
  EXPECT_DELEGATED(r, add);
  EXPECT_REJECTED(r, softmax, "excluded");
  ASSERT_EQ(r.partitions.size(), 2u);
  EXPECT_NE(decision(r, conv).partition, decision(r, add).partition);
  // Without the exclusion everything is one partition.
  const PartitionResult all = run(b.g);
  EXPECT_EQ(all.partitions.size(), 1u);
  EXPECT_EQ(all.delegated_nodes(), 3);
}

// ---- targets ----

TEST(NeutronTarget, KnownAndUnknownTargets) {
  const NeutronTargetSpec t = NeutronTargetSpec::from_name("imxrt700");
  EXPECT_EQ(t.name, "imxrt700");
  EXPECT_EQ(t.num_macs, 8);
  EXPECT_EQ(t.channel_alignment(), 8);
  EXPECT_FALSE(t.subsystem);
  try {
    NeutronTargetSpec::from_name("imxrt1170");
    FAIL() << "no error for an unknown target";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("unknown Neutron target 'imxrt1170'"), std::string::npos) << m;
    EXPECT_NE(m.find("imxrt700 (supported)"), std::string::npos) << m;
    EXPECT_NE(m.find("imx95"), std::string::npos) << m;
    EXPECT_NE(m.find("mcxn94x"), std::string::npos) << m;
  }
  try {
    NeutronTargetSpec::from_name("imx95");
    FAIL() << "no error for imx95";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Neutron-S"), std::string::npos) << e.what();
  }
  EXPECT_THROW(generate_neutron_compile_spec("rt700"), Error);
  EXPECT_EQ(NeutronTargetSpec::supported_targets(), std::vector<std::string>{"imxrt700"});
  const NeutronCompileSpec spec = generate_neutron_compile_spec("imxrt700");
  EXPECT_EQ(spec.output_format, "tflite");
  EXPECT_TRUE(spec.operators_not_to_delegate.empty());
}

// ---- fixture models ----

Graph quantized_fixture(const std::string& name) {
  const std::string dir = std::string(EQ_FIXTURES_DIR) + "/models/";
  const Graph g = onnx::load(dir + name + ".onnx");
  return calibrate_and_quantize(g, {{read_npy(dir + name + ".input.npy")}},
                                GenericQuantizer{symmetric_int8_config(false)});
}

std::string cpu_nodes(const Graph& g, const PartitionResult& r) {
  std::string s;
  for (const NodeDecision& d : r.decisions)
    if (!d.delegated) s += "  " + g.nodes[static_cast<size_t>(d.node)].name + " (" + g.nodes[static_cast<size_t>(d.node)].op + "): " + d.reason + "\n";
  return s;
}

TEST(NeutronFixtures, CnnFullyDelegated) {
  const Graph q = quantized_fixture("cnn");
  const PartitionResult r = run(q);
  // conv, relu, max_pool ×2, flatten, linear, relu, linear
  EXPECT_EQ(r.compute_nodes(), 10);
  EXPECT_EQ(r.delegated_nodes(), r.compute_nodes()) << cpu_nodes(q, r);
  EXPECT_EQ(r.partitions.size(), 1u);
  // Every partition node is a compute node or a quantize/dequantize node of the graph.
  for (int n : r.partitions.at(0)) EXPECT_GE(n, 0);
}

TEST(NeutronFixtures, Mbv2) {
  const Graph q = quantized_fixture("mbv2");
  const PartitionResult r = run(q);
  EXPECT_EQ(r.delegated_nodes(), r.compute_nodes()) << cpu_nodes(q, r);
  EXPECT_EQ(r.partitions.size(), 1u);
  // Excluding the depthwise/regular convs leaves the rest in several partitions.
  const PartitionResult ex = run(q, {"conv2d"});
  EXPECT_LT(ex.delegated_share(), 0.5);
  for (const NodeDecision& d : ex.decisions) {
    if (q.nodes[static_cast<size_t>(d.node)].op == "aten.conv2d.default") {
      EXPECT_FALSE(d.delegated);
    }
  }
}

}  // namespace
}  // namespace eq
