#!/usr/bin/env python3
"""Integer runtime vs our fp32 executor, same models, same run.

For each fixture model: `edgequant quantize` (per-channel, histogram, 256 calibration images), then
`edgequant bench` on the float model, on the QDQ model in integer kernels (the default), and on the
QDQ model as fake-quant fp32 (--simulate), at batch 1 (median latency) and batch 64 (throughput),
with --threads threads. Prints ms / images/s and the ratios int/fp32.

    python3 bench/int_vs_fp32.py --build build [--models cnn,mbv2] [--threads 2] [--json]
"""
import argparse
import json
import os
import sys
import tempfile

from bench_util import run_json

MODELS = ["cnn", "mbv2", "resnet", "vit", "conv1d", "mlp"]



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cli = os.path.join(args.build, "edgequant")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.models.split(","):
            onnx = os.path.join(root, "fixtures", "models", m + ".onnx")
            q = os.path.join(tmp, m + ".qdq.onnx")
            run_json([cli, "quantize", onnx, "--calib", "fashion-mnist:train", "--calib-size", "256", "--per-channel",
                      "-o", q, "--json"])
            row = {"model": m}
            for label, model, extra in (("fp32", onnx, []), ("int8", q, []), ("simulate", q, ["--simulate"])):
                for b in (1, 64):
                    r = run_json([cli, "bench", model, "--batch", str(b), "--threads", str(args.threads), "--json"] + extra)
                    row[f"{label}_b{b}_ms"] = r["latency_ms"]
                    row[f"{label}_b{b}_ips"] = r["throughput"]
            print(f"{m}: done", file=sys.stderr)
            rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| model | fp32 b1 ms | int8 b1 ms | int8/fp32 b1 speed | fp32 b64 img/s | int8 b64 img/s | int8/fp32 b64 | fake-quant b64 img/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['fp32_b1_ms']:.3f} | {r['int8_b1_ms']:.3f} | {r['fp32_b1_ms'] / r['int8_b1_ms']:.2f}× | "
              f"{r['fp32_b64_ips']:,.0f} | {r['int8_b64_ips']:,.0f} | {r['int8_b64_ips'] / r['fp32_b64_ips']:.2f}× | "
              f"{r['simulate_b64_ips']:,.0f} |")


if __name__ == "__main__":
    main()
