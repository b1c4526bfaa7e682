#!/usr/bin/env python3
"""Accuracy of int8 post-training quantization on the fixture models, per observer.

For each model and observer: `edgequant quantize` (generic quantizer, per-channel weights unless
--per-tensor, the first --calib-size Fashion-MNIST training images), then `edgequant eval` of
the QDQ model on the 10,000 test images in the integer runtime. fp32 is `edgequant eval` of the
float model. Prints a Markdown table (model | fp32 | one column per observer) with top-1 in
percent and the difference to fp32, and with --json the raw numbers.

    python3 bench/quant_accuracy.py --build build [--models cnn,mlp] [--observers minmax,histogram]
"""
import argparse
import json
import os
import sys
import tempfile

from bench_util import run_json

MODELS = ["cnn", "mbv2", "resnet", "vit", "conv1d", "mlp"]
OBSERVERS = ["minmax", "histogram", "percentile", "entropy"]



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--observers", default=",".join(OBSERVERS))
    ap.add_argument("--calib-size", type=int, default=1000)
    ap.add_argument("--per-tensor", action="store_true", help="per-tensor weights instead of per-channel")
    ap.add_argument("--limit", type=int, default=0, help="evaluate on the first N test images only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cli = os.path.join(args.build, "edgequant")
    models = args.models.split(",")
    observers = args.observers.split(",")
    limit = ["--limit", str(args.limit)] if args.limit else []
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in models:
            onnx = os.path.join(root, "fixtures", "models", m + ".onnx")
            r = {"fp32": run_json([cli, "eval", onnx, "--dataset", "fashion-mnist:test", "--json"] + limit)["top1"]}
            for o in observers:
                q = os.path.join(tmp, f"{m}.{o}.onnx")
                cmd = [cli, "quantize", onnx, "--calib", "fashion-mnist:train", "--calib-size", str(args.calib_size),
                       "--observer", o, "-o", q, "--json"]
                if not args.per_tensor:
                    cmd.append("--per-channel")
                s = run_json(cmd)
                e = run_json([cli, "eval", q, "--dataset", "fashion-mnist:test", "--json"] + limit)
                r[o] = e["top1"]
                r[o + "_float_nodes"] = s["nodes"]["float"]
                print(f"{m:7s} {o:12s} top-1 {e['top1']:.2f} (fp32 {r['fp32']:.2f}), "
                      f"{s['nodes']['float']} nodes left in float", file=sys.stderr)
            results[m] = r
    if args.json:
        print(json.dumps({"calib_size": args.calib_size, "per_channel": not args.per_tensor, "models": results},
                         indent=1))
        return
    print(f"| model | fp32 | " + " | ".join(observers) + " |")
    print("|---|---|" + "---|" * len(observers))
    for m in models:
        r = results[m]
        cells = [f"{r[o]:.2f} ({r[o] - r['fp32']:+.2f})" for o in observers]
        print(f"| {m} | {r['fp32']:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
