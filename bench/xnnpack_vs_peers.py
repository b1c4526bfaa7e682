#!/usr/bin/env python3
"""XNNPACK-delegated int8 against our integer kernels, our fp32 executor and PyTorch's quantized
engine, on the same models, in one run.

For each fixture model:
  - `edgequant quantize --backend xnnpack` (ExecuTorch's XNNPACKQuantizer, static per-channel,
    256 Fashion-MNIST calibration images) → QDQ ONNX;
  - `edgequant bench` at batch 1 (median latency) on: the float model (our fp32 executor), the QDQ
    model on our integer kernels, and the QDQ model with `--delegate xnnpack` (libxnnpack runs the
    partitions it supports);
  - PyTorch's quantized engine: the same float model (fixtures/models/<m>.pt weights) through
    torch.ao FX quantization (prepare_fx / convert_fx, default qconfig of the engine, the same
    calibration images), which runs real int8 kernels (quantized::conv2d ...), timed at batch 1
    with the same thread count, median of the same kind of loop, for the engines 'x86' (oneDNN +
    FBGEMM) and 'qnnpack' (XNNPACK's predecessor).
Prints ms per image and ratios; `--json` prints the rows. Goal of issue #4: XNNPACK int8 at least
2x our fp32 executor at batch 1 on the CNNs (cnn, mbv2, resnet, conv1d).

    python3 bench/xnnpack_vs_peers.py --build build [--models cnn,mbv2] [--threads 2] [--json]

PyTorch is optional: without it the PyTorch columns are empty.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

from bench_util import run_json

MODELS = ["cnn", "mbv2", "resnet", "conv1d", "mlp"]
CNNS = {"cnn", "mbv2", "resnet", "conv1d"}


def torch_quantized_latency(root, model, threads, engine, calib):
    """Median batch-1 latency (ms) of PyTorch's FX-quantized int8 model on `engine`, or None."""
    try:
        import torch
        from torch.ao.quantization import get_default_qconfig_mapping
        from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    except ImportError:
        return None
    sys.path.insert(0, os.path.join(root, "tools", "fixtures"))
    import make_fashion_models as mfm  # the model classes the fixtures were trained with

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = mfm.MODELS[model][0]()
        net.load_state_dict(torch.jit.load(os.path.join(root, "fixtures", "models", model + ".pt"), map_location="cpu").state_dict())
        net.eval()
        torch.set_num_threads(threads)
        torch.backends.quantized.engine = engine
        x1 = torch.from_numpy(calib[:1])
        prepared = prepare_fx(net, get_default_qconfig_mapping(engine), (x1,))
        with torch.no_grad():
            for b in range(0, len(calib), 32):
                prepared(torch.from_numpy(calib[b:b + 32]))
            q = convert_fx(prepared)
            for _ in range(10):
                q(x1)
            times = []
            start = time.perf_counter()
            while len(times) < 400 and (len(times) < 20 or time.perf_counter() - start < 1.0):
                t = time.perf_counter()
                q(x1)
                times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cli = os.path.join(args.build, "edgequant")
    try:
        import numpy as np
        calib = np.load(os.path.join(root, "fixtures", "quant", "calib64.npy")).astype(np.float32)
    except ImportError:
        calib = None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.models.split(","):
            onnx = os.path.join(root, "fixtures", "models", m + ".onnx")
            q = os.path.join(tmp, m + ".xnnpack.onnx")
            run_json([cli, "quantize", onnx, "--backend", "xnnpack", "--calib", "fashion-mnist:train", "--calib-size", "256",
                      "-o", q, "--json"])
            bench = lambda model, extra: run_json([cli, "bench", model, "--batch", "1", "--threads", str(args.threads),
                                                   "--json"] + extra)["latency_ms"]
            row = {"model": m,
                   "fp32_ms": bench(onnx, []),
                   "int8_ours_ms": bench(q, []),
                   "int8_xnnpack_ms": bench(q, ["--delegate", "xnnpack"])}
            for engine in ("x86", "qnnpack"):
                row["torch_" + engine + "_ms"] = (torch_quantized_latency(root, m, args.threads, engine, calib)
                                                   if calib is not None else None)
            rows.append(row)
            if not args.json:
                print(f"  {m} done", file=sys.stderr)
    if args.json:
        print(json.dumps({"threads": args.threads, "batch": 1, "rows": rows}, indent=1))
        return
    fmt = lambda v: "-" if v is None else f"{v:.3f}"
    print(f"batch 1, {args.threads} threads, median ms per image")
    print(f"{'model':8} {'fp32 ours':>10} {'int8 ours':>10} {'int8 XNNPACK':>13} {'torch x86':>10} {'torch qnnpack':>14}"
          f" {'XNN/fp32':>9} {'XNN/int8':>9} {'XNN/torch':>10}")
    for r in rows:
        best_torch = min([v for v in (r["torch_x86_ms"], r["torch_qnnpack_ms"]) if v is not None], default=None)
        print(f"{r['model']:8} {fmt(r['fp32_ms']):>10} {fmt(r['int8_ours_ms']):>10} {fmt(r['int8_xnnpack_ms']):>13}"
              f" {fmt(r['torch_x86_ms']):>10} {fmt(r['torch_qnnpack_ms']):>14}"
              f" {r['fp32_ms'] / r['int8_xnnpack_ms']:>8.2f}x {r['int8_ours_ms'] / r['int8_xnnpack_ms']:>8.2f}x"
              f" {(best_torch / r['int8_xnnpack_ms']) if best_torch else float('nan'):>9.2f}x"
              f"{'  (CNN: goal >= 2x fp32)' if r['model'] in CNNS else ''}")
    print("ratios > 1: XNNPACK-delegated int8 is faster (XNN/torch against the faster PyTorch engine)")


if __name__ == "__main__":
    main()
