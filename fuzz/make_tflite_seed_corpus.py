#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_tflite_export into fuzz/corpus/tflite_export/: tiny float ONNX
graphs (one per exporter path: conv/pool/linear, conv1d, depthwise, movement ops, layer norm,
activations, matmul, ...) quantized to QDQ ONNX by the edgequant CLI with the generic quantizer
(per tensor and per channel) and the XNNPACK and Ethos-U quantizers (int8 and 16x8). A variant the
CLI refuses is skipped. Weights are tiny so that the corpus stays small (see README.md).

usage: python3 fuzz/make_tflite_seed_corpus.py [path/to/edgequant]   (default: build/edgequant)"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus", "tflite_export")
rng = np.random.default_rng(0)


def w(*shape):
    return (rng.standard_normal(shape) * 0.5).astype(np.float32)


def i64(*values):
    return np.array(values, np.int64)


def model(nodes, in_shape, inits):
    # A symbolic batch, as exported models have it (shape_signature -1 in the TFLite file).
    g = helper.make_graph(nodes, "seed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + in_shape[1:])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    # The output's shape from ONNX shape inference (the checker wants one).
    m.graph.output[0].CopyFrom(onnx.shape_inference.infer_shapes(m).graph.output[0])
    return m


def n(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name="/" + outs[0] + "/" + op, **attrs)


def models():
    """name -> (model, input shape)."""
    out = {}
    s = [1, 1, 8, 8]
    out["cnn"] = (model([
        n("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1]),
        n("Relu", ["c0"], ["r0"]),
        n("MaxPool", ["r0"], ["p0"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p0", "w1", "b1"], ["c1"], strides=[2, 2]),
        n("Relu", ["c1"], ["r1"]),
        n("AveragePool", ["r1"], ["p1"], kernel_shape=[1, 1]),
        n("Flatten", ["p1"], ["f"], axis=1),
        n("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ], s, {"w0": w(4, 1, 3, 3), "b0": w(4), "w1": w(4, 4, 3, 3), "b1": w(4), "fw": w(5, 4), "fb": w(5)}), s)
    s = [1, 3, 16]
    out["conv1d"] = (model([
        n("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1]),
        n("Relu", ["c0"], ["r0"]),
        n("MaxPool", ["r0"], ["p0"], kernel_shape=[2], strides=[2]),
        n("Conv", ["p0", "w1"], ["c1"], strides=[2], dilations=[1]),
        n("GlobalAveragePool", ["c1"], ["g"]),
        n("Flatten", ["g"], ["f"], axis=1),
        n("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ], s, {"w0": w(4, 3, 3), "b0": w(4), "w1": w(4, 4, 3), "fw": w(3, 4), "fb": w(3)}), s)
    s = [1, 4, 8, 8]
    out["depthwise"] = (model([
        n("Conv", ["x", "dw", "db"], ["c0"], pads=[1, 1, 1, 1], group=4),
        n("Clip", ["c0", "lo", "hi"], ["r0"]),
        n("Conv", ["r0", "pw", "pb"], ["c1"]),
        n("Conv", ["c1", "dw2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2], group=8),
        n("Relu", ["c2"], ["r2"]),
        n("GlobalAveragePool", ["r2"], ["y"]),
    ], s, {"dw": w(4, 1, 3, 3), "db": w(4), "lo": np.array(0, np.float32), "hi": np.array(6, np.float32),
           "pw": w(8, 4, 1, 1), "pb": w(8), "dw2": w(8, 1, 3, 3)}), s)
    s = [1, 4, 6, 6]
    out["movement"] = (model([
        n("Conv", ["x", "wa"], ["a"], pads=[1, 1, 1, 1]),
        n("Conv", ["x", "wb"], ["b"], pads=[1, 1, 1, 1]),
        n("Add", ["a", "b"], ["s"]),
        n("Concat", ["a", "s"], ["c"], axis=1),
        n("Pad", ["c", "pads"], ["p"], mode="constant"),
        n("Slice", ["p", "st", "en", "ax"], ["sl"]),
        n("Transpose", ["sl", ], ["t"], perm=[0, 2, 3, 1]),
        n("Reshape", ["t", "shape"], ["y"]),
    ], s, {"wa": w(4, 4, 3, 3), "wb": w(4, 4, 3, 3), "pads": i64(0, 0, 1, 1, 0, 0, 1, 1),
           "st": i64(1, 1), "en": i64(7, 7), "ax": i64(2, 3), "shape": i64(0, -1, 8)}), s)
    s = [1, 6, 8]
    out["layer_norm"] = (model([
        n("MatMul", ["x", "m0"], ["l0"]),
        n("Add", ["l0", "bias0"], ["a0"]),
        n("LayerNormalization", ["a0", "g", "b"], ["ln"], axis=-1, epsilon=1e-5),
        n("Flatten", ["ln"], ["ln2"], axis=1),
        n("Gemm", ["ln2", "fw", "fb"], ["y"], transB=1),
    ], s, {"m0": w(8, 8), "bias0": w(8), "g": w(8), "b": w(8), "fw": w(4, 48), "fb": w(4)}), s)
    s = [1, 3, 6, 6]
    out["activations"] = (model([
        n("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1]),
        n("Sigmoid", ["c0"], ["sg"]),
        n("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        n("Tanh", ["c1"], ["th"]),
        n("Conv", ["x", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        n("HardSwish", ["c2"], ["hs"]),
        n("Mul", ["sg", "th"], ["m"]),
        n("Add", ["m", "hs"], ["y"]),
    ], s, {"w0": w(4, 3, 3, 3), "b0": w(4), "w1": w(4, 3, 3, 3), "w2": w(4, 3, 3, 3)}), s)
    s = [1, 4, 8]
    out["matmul"] = (model([
        n("MatMul", ["x", "m0"], ["l0"]),
        n("Add", ["l0", "bias0"], ["a0"]),
        n("Relu", ["a0"], ["r0"]),
        n("Transpose", ["r0"], ["t"], perm=[0, 2, 1]),
        n("MatMul", ["r0", "t"], ["att"]),
        n("Softmax", ["att"], ["sm"], axis=-1),
        n("MatMul", ["sm", "r0"], ["y"]),
    ], s, {"m0": w(8, 6), "bias0": w(6)}), s)
    s = [1, 2, 6, 6]
    out["misc"] = (model([
        n("ConvTranspose", ["x", "wt", "bt"], ["ct"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
        n("LeakyRelu", ["ct"], ["lr"], alpha=0.1),
        n("Conv", ["lr", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        n("Resize", ["c1", "", "scales"], ["rs"], mode="nearest"),
        n("ReduceMean", ["rs"], ["rm"], axes=[2, 3], keepdims=1),
        n("Sub", ["rs", "rm"], ["d"]),
        n("Split", ["d", "sp"], ["s0", "s1"], axis=1),
        n("Add", ["s0", "s1"], ["y"]),
    ], s, {"wt": w(2, 4, 3, 3), "bt": w(4), "w1": w(4, 4, 3, 3), "scales": np.array([1, 1, 0.5, 0.5], np.float32),
           "sp": i64(2, 2)}), s)
    return out


VARIANTS = {
    "generic": [],
    "perchannel": ["--per-channel"],
    "xnnpack": ["--backend", "xnnpack"],
    "ethosu": ["--backend", "ethos-u"],
    "ethosu16x8": ["--backend", "ethos-u", "--config", "A16"],
}


def main():
    eq = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "edgequant")
    os.makedirs(OUT, exist_ok=True)
    written, skipped, seen = 0, [], set()
    with tempfile.TemporaryDirectory() as tmp:
        a16 = os.path.join(tmp, "a16w8.json")
        with open(a16, "w") as f:
            json.dump({"global": {"a16w8": True}}, f)
        for name, (m, shape) in models().items():
            onnx.checker.check_model(m)
            src = os.path.join(tmp, name + ".onnx")
            onnx.save(m, src)
            calib = os.path.join(tmp, name + ".calib.npy")
            np.save(calib, rng.standard_normal([16] + shape[1:]).astype(np.float32))
            for variant, args in VARIANTS.items():
                args = [a16 if a == "A16" else a for a in args]
                q = os.path.join(tmp, f"{name}.{variant}.onnx")
                r = subprocess.run([eq, "quantize", src, "--calib", calib, "--calib-size", "16", "-b", "16",
                                    "-o", q] + args, capture_output=True, text=True)
                if r.returncode != 0:
                    skipped.append(f"{name}/{variant}: " + (r.stderr.strip().splitlines() or ["?"])[-1])
                    continue
                data = open(q, "rb").read()
                # libFuzzer names corpus files by content hash; a readable prefix says what the seed is.
                digest = hashlib.sha1(data).hexdigest()[:12]
                if digest in seen:  # e.g. Ethos-U int8 is the generic per-channel config
                    continue
                seen.add(digest)
                with open(os.path.join(OUT, f"seed_{name}_{variant}_{digest}"), "wb") as f:
                    f.write(data)
                written += 1
    print(f"wrote {written} seeds to {OUT}")
    for s in skipped:
        print("skipped", s)


if __name__ == "__main__":
    main()
