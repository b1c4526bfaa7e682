// Integer reference kernels, bit-exact with TensorFlow Lite's *reference* integer semantics
// (tensorflow/lite/kernels/internal/common.h and reference/integer_ops/*.h). Our own code, written
// from the documented arithmetic; see tests/unit/int_kernels_test.cpp (hand-derived cases) and
// tests/golden/int_kernels_test.cpp (vectors produced by the TFLite interpreter's BUILTIN_REF
// kernels from PyPI ai-edge-litert 2.3.0, tools/fixtures/make_int_kernel_goldens.py). Every
// kernel here matches those vectors bit for bit.
//
// Layout: all spatial kernels use NCHW activations (our IR's layout, not TFLite's NHWC).
//   conv2d filter:           [OC, IC, KH, KW]   (ONNX layout), bias [OC] int32 (may be null)
//   depthwise conv2d filter: [C*M, 1, KH, KW]   (depth multiplier M), bias [C*M] int32 (may be null)
//   fully connected weights: [OUT, IN], input [BATCH, IN], bias [OUT] int32 (may be null)
// Offsets follow TFLite's convention: input_offset = -input_zero_point, output_offset =
// output_zero_point. int8 weights are symmetric (TFLite requires weight zero point 0).
// These are plain functions over raw pointers; they do not validate shapes beyond asserts.
#pragma once

#include <cstdint>
#include <vector>

namespace eq::intk {

// ---------------------------------------------------------------- fixed-point helpers ----------

struct QuantizedMultiplier {
  int32_t multiplier = 0;  // Q0.31 in [2^30, 2^31) or 0
  int shift = 0;           // >0: left shift, <0: right shift
};

// TFLite QuantizeMultiplier: frexp, round half away from zero of q*2^31, the q_fixed == 2^31 edge
// case (halve, ++shift), shift < -31 flushed to {0, 0}. Shifts above 30 are kept as is (the
// non-TFLITE_SINGLE_ROUNDING build, TFLite's default, saturates nothing); note that
// MultiplyByQuantizedMultiplier only accepts shift <= 31 (m < 2^31). m == 0 gives {0, 0}; m >= 0.
QuantizedMultiplier QuantizeMultiplier(double m);
// TFLite QuantizeMultiplierSmallerThanOneExp: requires 0 < m < 1; shift is <= 0.
QuantizedMultiplier QuantizeMultiplierSmallerThanOneExp(double m);
// TFLite QuantizeMultiplierGreaterThanOne: requires m > 1; shift is >= 0.
QuantizedMultiplier QuantizeMultiplierGreaterThanOne(double m);

// gemmlowp SaturatingRoundingDoublingHighMul: (int64(a)*b + nudge) / 2^31 truncated, with nudge
// 2^30 for a non-negative product and 1 - 2^30 otherwise; saturates the single overflow case
// INT32_MIN*INT32_MIN to INT32_MAX. Ties therefore round toward +infinity (-0.5 -> 0,
// -1.5 -> -1, +0.5 -> 1).
int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b);
// gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero.
// exponent in [0, 31].
int32_t RoundingDivideByPOT(int32_t x, int exponent);
// TFLite MultiplyByQuantizedMultiplier, the DEFAULT ("double rounding", i.e. not
// TFLITE_SINGLE_ROUNDING) variant:
//   RoundingDivideByPOT(SRDHM(x * 2^max(shift,0), multiplier), max(-shift,0)).
// The left shift wraps modulo 2^32 like TFLite's int32 arithmetic does on every real target.
int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift);
// TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING semantics: one rounding,
//   (int64(x) * multiplier + 2^(30 - shift)) >> (31 - shift)   (ties toward +infinity).
// TFLite's FULLY_CONNECTED requantizes this way (ai-edge-litert 2.3.0 reference kernel, per tensor
// and per channel: measured, see tests/unit/int_kernels_test.cpp), while CONV_2D and the other
// kernels use the double-rounding variant above. shift in [-31, 30].
int32_t MultiplyByQuantizedMultiplierSingleRounding(int32_t x, int32_t multiplier, int shift);
// TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (left_shift <= 0).
int32_t MultiplyByQuantizedMultiplierSmallerThanOneExp(int32_t x, int32_t multiplier,
                                                       int left_shift);
// TFLite MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0).
int32_t MultiplyByQuantizedMultiplierGreaterThanOne(int32_t x, int32_t multiplier,
                                                    int left_shift);

// Per-output-channel multipliers as TFLite's PopulateConvolutionQuantizationParams computes them:
// QuantizeMultiplier(double(input_scale) * double(filter_scale[c]) / double(output_scale)).
// filter_scales of size 1 means per-tensor; the result then has size 1.
std::vector<QuantizedMultiplier> ConvMultipliers(float input_scale,
                                                 const std::vector<float>& filter_scales,
                                                 float output_scale);

// ---------------------------------------------------------------------------- params ---------

// Output multipliers: either one (per-tensor, num_multipliers == 1) or one per output channel.
struct OutputRequant {
  const QuantizedMultiplier* multipliers = nullptr;
  int num_multipliers = 1;
  int32_t output_offset = 0;  // output zero point
  int32_t act_min = -128;
  int32_t act_max = 127;
  // FullyConnected sets this itself (TFLite's FC rounds once); conv leaves it false.
  bool single_rounding = false;
  const QuantizedMultiplier& at(int channel) const {
    return multipliers[num_multipliers == 1 ? 0 : channel];
  }
};

struct Conv2DParams {
  int batch = 1, in_channels = 0, in_h = 0, in_w = 0;
  int out_channels = 0, kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int32_t input_offset = 0;  // -input_zero_point
  OutputRequant out;
  int groups = 1;   // Conv2D: grouped convolution (in/out channels divisible by groups; filter [Cout, Cin/groups, KH, KW])
  int threads = 1;  // parallelism the kernel may use (results never depend on it)
  // (in + pad_begin + pad_end - dilation*(k-1) - 1) / stride + 1
  int out_h() const;
  int out_w() const;
};

// Output [batch, out_channels, out_h, out_w]. For each output: acc = sum over in-bounds taps of
// filter * (input + input_offset) (padding contributes nothing, i.e. pads with the input zero
// point), acc += bias, acc = MultiplyByQuantizedMultiplier(acc, m[oc]), += output_offset, clamp.
// Conv2D, DepthwiseConv2D and FullyConnected are the fast implementations (AVX2, with VNNI where
// the CPU has it; src/runtime/kernels/int/conv_fast.cpp, linear.cpp, gemm_int8.*): the same bytes
// as the direct reference loops (src/runtime/kernels/int/conv_reference.h, the tests' oracle) for
// every input, thread count and instruction set. They repack the weights on every call (a few
// percent of the time, up to ~20% for a large filter at batch 1 on a 7x7 map); small layers run on
// one thread whatever `threads` says. Conv2D with groups == in_channels runs the depthwise kernel.
void Conv2D(const Conv2DParams& p, const int8_t* input, const int8_t* filter, const int32_t* bias,
            int8_t* output);
// Same, depthwise (groups == in_channels, out_channels = multiplier × in_channels; filter [Cout,1,KH,KW]).
void DepthwiseConv2D(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                     const int32_t* bias, int8_t* output);

struct FullyConnectedParams {
  int batch = 1, in_features = 0, out_features = 0;
  int32_t input_offset = 0;  // -input_zero_point
  OutputRequant out;
  int threads = 1;  // parallelism the kernel may use (results do not depend on it)
};
void FullyConnected(const FullyConnectedParams& p, const int8_t* input, const int8_t* weights,
                    const int32_t* bias, int8_t* output);

// ------------------------------------------------------------------------ elementwise ---------

// TFLite int8 ADD (reference_integer_ops::Add): left_shift 20, each input rescaled by
// 2*max(s1,s2) with QuantizeMultiplierSmallerThanOneExp, output by that over 2^20 * s_out.
struct AddParams {
  int32_t input1_offset = 0, input2_offset = 0;  // -zero points
  int32_t output_offset = 0;
  int left_shift = 20;
  QuantizedMultiplier input1, input2, output;  // shifts <= 0
  int32_t act_min = -128, act_max = 127;
};
// Derives the multipliers as TFLite's add.cc Prepare does (from float scales, in double).
AddParams MakeAddParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out, int32_t zp_out);
// Same-shape elementwise (no broadcasting).
void Add(const AddParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t n);

// TFLite int8 MUL: out = zp_out + MBQM((a - zp_a) * (b - zp_b), QuantizeMultiplier(s_a*s_b/s_out)).
struct MulParams {
  int32_t input1_offset = 0, input2_offset = 0, output_offset = 0;
  QuantizedMultiplier output;
  int32_t act_min = -128, act_max = 127;
};
MulParams MakeMulParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out, int32_t zp_out);
void Mul(const MulParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t n);

// ---------------------------------------------------------------------------- pooling ---------

// NCHW pooling. Only in-bounds taps participate (TFLite: padding never counts, i.e.
// count_include_pad = false). A window with no in-bounds tap (only possible with padding >= kernel)
// gives 0 (average) or -128 (max) before the clamp. Input and output share quantization, as TFLite
// requires for int8 pooling.
struct Pool2DParams {
  int batch = 1, channels = 0, in_h = 0, in_w = 0;
  int kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int32_t act_min = -128, act_max = 127;
  int out_h() const;
  int out_w() const;
};
// acc = sum; acc = acc > 0 ? (acc + n/2)/n : (acc - n/2)/n (C++ truncating division); clamp.
void AveragePool(const Pool2DParams& p, const int8_t* input, int8_t* output);
void MaxPool(const Pool2DParams& p, const int8_t* input, int8_t* output);

// int8 MEAN over the spatial axes (NHWC axes {1,2} == our NCHW H,W), output [N, C] (keep_dims
// shape [N,C,1,1] has the same data), as the TFLite in ai-edge-litert 2.3.0 computes it with its
// reference kernels (verified on the golden vectors; older TFLite releases'
// reference_integer_ops::Mean divided after the multiply and differ by 1 on some inputs):
//   (M, s) = QuantizeMultiplier(double(s_in) / double(s_out)); n = h*w;
//   p = min(floor(log2 n), 32, 31 + s); M' = (int64(M) << p) / n (truncating); s' = s - p;
//   out = clamp(MultiplyByQuantizedMultiplier(sum(x - zp_in), M', s') + zp_out, -128, 127).
void MeanHW(int batch, int channels, int h, int w, const int8_t* input, float in_scale,
            int32_t in_zp, float out_scale, int32_t out_zp, int8_t* output);

// ---------------------------------------------------------------------------- softmax ---------

// TFLite int8 SOFTMAX (reference_ops::Softmax, gemmlowp fixed point) over the last axis; output
// scale is 1/256 and zero point -128 (TFLite requires it for int8). Params as TFLite's
// PreprocessSoftmaxScaling with 5 integer bits for the scaled difference.
struct SoftmaxParams {
  int32_t input_multiplier = 0;
  int input_left_shift = 0;
  int32_t diff_min = 0;
};
SoftmaxParams MakeSoftmaxParams(float input_scale, float beta = 1.0f);
void Softmax(const SoftmaxParams& p, const int8_t* input, int64_t rows, int depth, int8_t* output);

// ------------------------------------------------------------------ (de/re)quantization ---------

// TFLite AffineQuantize: q = round_half_away(x / scale) (float division) + zp, clamped.
// Out-of-range inputs (|x/scale| >= 2^31, where TFLite's float->int32 cast is undefined) saturate;
// NaN gives the zero point.
void Quantize(const float* in, int64_t n, float scale, int32_t zp, int8_t* out);
// TFLite reference Dequantize: float(double(scale) * (q - zp)).
void Dequantize(const int8_t* in, int64_t n, float scale, int32_t zp, float* out);
// TFLite int8 -> int8 QUANTIZE (Requantize): zp_out + MBQM(q - zp_in, QM(s_in / s_out)), clamped.
void Requantize(const int8_t* in, int64_t n, float in_scale, int32_t in_zp, float out_scale,
                int32_t out_zp, int8_t* out);

// ------------------------------------------- graph-level extensions (lower_to_integer) ---------
// What the IR's quantized.* ops need beyond TFLite's kernels above. Where TFLite has the op
// (broadcasting ADD/MUL, BATCH_MATMUL, int8 QUANTIZE with a prepared multiplier) the arithmetic is
// TFLite's; where it has none (adaptive pooling, mean over any axes, pooling that changes
// qparams, int32 accumulators for a float activation) each function says what it does, built
// from the same fixed-point steps.

// TFLite int8 SUB: ADD's arithmetic with input 2's multiplier negated (TFLite's sub.cc
// PrepareGeneralSubOp), so `a - b` rounds exactly as TFLite's SUB does. Run with Add / BroadcastAdd.
AddParams MakeSubParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out, int32_t zp_out);
// Numpy-broadcasting ADD / MUL: shapes right-aligned, the output has their broadcast shape. Per
// element exactly Add / Mul (TFLite's BroadcastAdd6DSlow / BroadcastMul6DSlow).
void BroadcastAdd(const AddParams& p, const int8_t* a, const std::vector<int64_t>& a_shape,
                  const int8_t* b, const std::vector<int64_t>& b_shape, int8_t* out);
void BroadcastMul(const MulParams& p, const int8_t* a, const std::vector<int64_t>& a_shape,
                  const int8_t* b, const std::vector<int64_t>& b_shape, int8_t* out);

// out[i] = table[in[i] + 128] (a 256-entry table indexed by the int8 value; TFLite's LUT path).
void LookupTable(const int8_t* table, const int8_t* in, int64_t n, int8_t* out);

// Requantize with the multiplier derived once (same arithmetic as Requantize above).
struct RequantizeParams {
  int32_t in_zp = 0, out_zp = 0;
  QuantizedMultiplier m;
};
RequantizeParams MakeRequantizeParams(float in_scale, int32_t in_zp, float out_scale, int32_t out_zp);
void Requantize(const RequantizeParams& p, const int8_t* in, int64_t n, int8_t* out);

// TFLite int8 BATCH_MATMUL (reference_ops::BatchMatMul, one batch): a [m,k], b [k,n] row-major,
// acc = sum (a + lhs_offset)(b + rhs_offset); out = clamp(MBQM(acc, QM(s_a*s_b/s_out)) + zp_out).
struct MatMulParams {
  int m = 0, k = 0, n = 0;
  int32_t lhs_offset = 0, rhs_offset = 0;  // -zero points
  int32_t output_offset = 0;
  QuantizedMultiplier output;
  int32_t act_min = -128, act_max = 127;
};
MatMulParams MakeMatMulParams(float s_a, int32_t zp_a, float s_b, int32_t zp_b, float s_out,
                              int32_t zp_out);
void MatMul(const MatMulParams& p, const int8_t* a, const int8_t* b, int8_t* out);

// The multiplier MeanHW applies to sum(q - zp_in) over n elements: QM(s_in/s_out) with 1/n folded
// in (pre-shift by min(floor(log2 n), 32, 31 + shift), truncating division by n).
QuantizedMultiplier MeanMultiplier(float in_scale, float out_scale, int64_t n);
// int8 mean over any set of axes (`reduce[d]` true for reduced dims), output in the input's order
// without the reduced dims (keepdim has the same data); every output is MeanHW's arithmetic over
// its elements, so the H,W mean of an NCHW tensor equals MeanHW bit for bit.
void Mean(const int8_t* input, const std::vector<int64_t>& shape, const std::vector<bool>& reduce,
          float in_scale, int32_t in_zp, float out_scale, int32_t out_zp, int8_t* output);
// int8 SUM over any set of axes, as TFLite's SUM computes it (QuantizedMeanOrSum, compute_sum; in
// float32): scale = s_in / s_out, bias = -zp_in * scale * n,
// out = clamp(round_half_away(float(sum(q)) * scale + bias) + zp_out). Measured against
// ai-edge-litert 2.3.0's optimized SUM (its BUILTIN_REF SUM returns -1 for int8: a LiteRT bug).
void Sum(const int8_t* input, const std::vector<int64_t>& shape, const std::vector<bool>& reduce,
         float in_scale, int32_t in_zp, float out_scale, int32_t out_zp, int8_t* output);
// Adaptive average pool over NCHW planes with PyTorch's bins (start = floor(i*in/out), end =
// ceil((i+1)*in/out)); each bin is a Mean over its taps (output [1,1] equals MeanHW).
void AdaptiveAvgPool2D(int batch, int channels, int in_h, int in_w, int out_h, int out_w,
                       const int8_t* input, float in_scale, int32_t in_zp, float out_scale,
                       int32_t out_zp, int8_t* output);
// Average pool whose output qparams differ from the input's (TFLite has none): each window is a
// Mean over its in-bounds taps, a single rounding instead of AveragePool followed by Requantize.
void AveragePoolRequant(const Pool2DParams& p, const int8_t* input, float in_scale, int32_t in_zp,
                        float out_scale, int32_t out_zp, int8_t* output);

// int32 accumulators of Conv2D (all groups, filter [Cout, Cin/groups, KH, KW]) and FullyConnected
// including the bias, before requantization (p.out is ignored): for an activation applied in float.
void Conv2DAccumulate(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int32_t* acc);
void FullyConnectedAccumulate(const FullyConnectedParams& p, const int8_t* input,
                              const int8_t* weights, const int32_t* bias, int32_t* acc);

}  // namespace eq::intk
