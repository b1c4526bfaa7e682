#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_onnx_import into fuzz/corpus/onnx_import/ (run once, then
minimise with -merge=1; see README.md). Seeds: small ONNX node-test models (inputs after the
first turned into initializers, as real models have them) and tiny hand-built models covering
the importer's special paths (shape chains with a symbolic batch, Gemm, erf-GELU, Resize, Q/DQ)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NODE_TESTS = "/usr/share/libonnx-testdata/data/node"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx_import")
PICK = [
    "test_conv_with_strides_padding", "test_conv_with_autopad_same", "test_convtranspose_pads", "test_convtranspose_output_shape",
    "test_gemm_all_attributes", "test_gemm_default_matrix_bias", "test_matmul_3d", "test_softmax_axis_1", "test_logsoftmax_axis_0",
    "test_maxpool_2d_same_upper", "test_averagepool_2d_pads_count_include_pad", "test_maxpool_1d_default", "test_batchnorm_example",
    "test_reshape_negative_extended_dims", "test_reshape_allowzero_reordered", "test_slice_neg_steps", "test_slice_default_axes",
    "test_split_variable_parts_2d", "test_split_equal_parts_default_axis", "test_transpose_all_permutations_3",
    "test_concat_2d_axis_negative_1", "test_flatten_axis3", "test_squeeze_negative_axes", "test_unsqueeze_two_axes",
    "test_gather_2", "test_constant_pad", "test_edge_pad", "test_reflect_pad", "test_resize_upsample_scales_linear",
    "test_resize_downsample_sizes_nearest", "test_resize_upsample_sizes_nearest_ceil_half_pixel", "test_quantizelinear_axis",
    "test_dequantizelinear_axis", "test_reduce_mean_keepdims_example", "test_reduce_sum_keepdims_example", "test_reduce_max_do_not_keepdims_example",
    "test_clip_splitbounds", "test_leakyrelu", "test_prelu_broadcast", "test_hardswish", "test_globalaveragepool_precomputed",
    "test_shape_start_1_end_negative_1", "test_range_float_type_positive_delta", "test_expand_dim_changed", "test_where_example",
    "test_cast_FLOAT_to_FLOAT16", "test_constantofshape_int_zeros", "test_layer_normalization_4d_axis1", "test_dropout_default",
    "test_erf", "test_pow_bcast_array", "test_size_example",
]


def node_test(name):
    d = os.path.join(NODE_TESTS, name)
    if not os.path.isdir(d):
        return None
    m = onnx.load(os.path.join(d, "model.onnx"))
    g = m.graph
    keep = []
    for i, vi in enumerate(g.input):
        if i == 0:
            keep.append(vi)
            continue
        t = onnx.TensorProto()
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % i), "rb") as f:
            t.ParseFromString(f.read())
        t.name = vi.name
        g.initializer.append(t)
    del g.input[:]
    g.input.extend(keep)
    return m


def model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "seed", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def f32(*shape):
    return (np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) % 7 - 3) / 10


def hand_built():
    out = {}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    out["seed_shape_chain"] = model([
        helper.make_node("Conv", ["x", "w"], ["c"], name="/features/0/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="/features/1/Relu"),
        helper.make_node("Shape", ["r"], ["s"], name="/Shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="/Gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="/Unsqueeze"),
        helper.make_node("Concat", ["n1", "m1"], ["shape"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["r", "shape"], ["f"], name="/Reshape"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="/fc/Gemm", transB=1),
    ], [x], [y], {"w": f32(4, 3, 3, 3), "zero": np.array(0, np.int64), "axes": np.array([0], np.int64),
                  "m1": np.array([-1], np.int64), "fw": f32(5, 256), "fb": f32(5)})
    t = helper.make_tensor_value_info("t", TensorProto.FLOAT, ["N", 4, 8])
    out["seed_gelu_linear"] = model([
        helper.make_node("LayerNormalization", ["t", "lw", "lb"], ["ln"], axis=-1),
        helper.make_node("MatMul", ["ln", "W"], ["h0"]),
        helper.make_node("Add", ["h0", "b"], ["h"]),
        helper.make_node("Div", ["h", "sqrt2"], ["d"]),
        helper.make_node("Erf", ["d"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["p"]),
        helper.make_node("Mul", ["h", "p"], ["m"]),
        helper.make_node("Mul", ["m", "half"], ["g"]),
        helper.make_node("Softmax", ["g"], ["y"], axis=-1),
    ], [t], [y], {"lw": f32(8), "lb": f32(8), "W": f32(8, 16), "b": f32(16), "sqrt2": np.array(1.4142135, np.float32),
                  "one": np.array(1, np.float32), "half": np.array(0.5, np.float32)})
    out["seed_resize_qdq"] = model([
        helper.make_node("Resize", ["x", "", "scales"], ["u"], mode="linear"),
        helper.make_node("QuantizeLinear", ["u", "s", "z"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["dq"]),
        helper.make_node("AveragePool", ["dq"], ["ap"], kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("GlobalAveragePool", ["ap"], ["y"]),
    ], [x], [y], {"scales": np.array([1, 1, 2, 2], np.float32), "s": np.array(0.05, np.float32), "z": np.array(3, np.int8)}, opset=13)
    out["seed_softmax11_clip"] = model([
        helper.make_node("Softmax", ["x"], ["sm"], axis=1),
        helper.make_node("Clip", ["sm", "lo", ""], ["cl"]),
        helper.make_node("ReduceMean", ["cl"], ["y"], axes=[2, 3], keepdims=0),
    ], [x], [y], {"lo": np.array(0.01, np.float32)}, opset=11)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    n = 0
    for name in PICK:
        m = node_test(name)
        if m is None:
            print("skip", name, file=sys.stderr)
            continue
        with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())
        n += 1
    for name, m in hand_built().items():
        with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())
        n += 1
    print("wrote", n, "seeds to", OUT)


if __name__ == "__main__":
    main()
