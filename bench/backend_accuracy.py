#!/usr/bin/env python3
"""Accuracy of each backend quantizer on the fixture models.

For each model and backend configuration: `edgequant quantize --backend B [--target T]
--config CFG` (the backend's own quantizer at its defaults unless the configuration says
otherwise, the first --calib-size Fashion-MNIST training images), then `edgequant eval` of the QDQ
model on the 10,000 test images (integer kernels; int16 activations of Ethos-U 16x8 run as
fake-quant, as the integer lowering covers int8 only). Also reports how many nodes each quantizer
left in float and, for the NPU backends, the share of compute nodes their partitioner delegates.
Prints a Markdown table (top-1 and the difference to fp32) and with --json the raw numbers.

    python3 bench/backend_accuracy.py --build build [--models cnn,mbv2] [--configs neutron,xnnpack-pc] [--limit N]
"""
import argparse
import json
import os
import sys
import tempfile

from bench_util import run_json

MODELS = ["cnn", "mbv2", "resnet", "vit", "conv1d", "mlp"]
# key: (backend, target, config, partition backend, description)
CONFIGS = {
    "neutron": ("neutron", "imxrt700", {}, "neutron", "Neutron, per-tensor weights (NXP's documented scheme)"),
    "neutron-pc": ("neutron", "imxrt700", {"global": {"per_channel": True}}, "neutron",
                   "Neutron, per-channel conv weights (ExecuTorch 1.5.1's code)"),
    "xnnpack-pc": ("xnnpack", "", {"global": {"is_per_channel": True}}, "xnnpack", "XNNPACK static, per-channel"),
    "xnnpack-pt": ("xnnpack", "", {"global": {"is_per_channel": False}}, "xnnpack", "XNNPACK static, per-tensor"),
    "xnnpack-dyn": ("xnnpack", "", {"global": {"is_per_channel": True, "is_dynamic": True}}, None,
                    "XNNPACK dynamic activations (linear/conv2d only)"),
    "ethos-u-a8w8": ("ethos-u", "ethos-u55-128", {}, "ethos-u", "Ethos-U55-128 int8"),
    "ethos-u-a16w8": ("ethos-u", "ethos-u85-256", {"global": {"a16w8": True}}, "ethos-u", "Ethos-U85-256 16x8"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--calib-size", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=0, help="evaluate on the first N test images only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cli = os.path.join(args.build, "edgequant")
    models = args.models.split(",")
    configs = args.configs.split(",")
    for c in configs:
        if c not in CONFIGS:
            sys.exit(f"unknown config '{c}' (known: {', '.join(CONFIGS)})")
    limit = ["--limit", str(args.limit)] if args.limit else []
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in models:
            onnx = os.path.join(root, "fixtures", "models", m + ".onnx")
            r = {"fp32": run_json([cli, "eval", onnx, "--dataset", "fashion-mnist:test", "--json"] + limit)["top1"]}
            for c in configs:
                backend, target, config, part_backend, _ = CONFIGS[c]
                cfg = os.path.join(tmp, c + ".json")
                with open(cfg, "w") as f:
                    json.dump(config, f)
                q = os.path.join(tmp, f"{m}.{c}.onnx")
                cmd = [cli, "quantize", onnx, "--backend", backend, "--config", cfg, "--calib", "fashion-mnist:train",
                       "--calib-size", str(args.calib_size), "-o", q, "--json"]
                if target:
                    cmd += ["--target", target]
                s = run_json(cmd)
                e = run_json([cli, "eval", q, "--dataset", "fashion-mnist:test", "--json"] + limit)
                share = None
                if part_backend:
                    pcmd = [cli, "partition", q, "--backend", part_backend, "--json"]
                    if target and part_backend != "xnnpack":
                        pcmd += ["--target", target]
                    share = run_json(pcmd)["summary"]["share"]
                r[c] = {"top1": e["top1"], "float_nodes": s["nodes"]["float"], "delegated_share": share}
                print(f"{m:7s} {c:14s} top-1 {e['top1']:.2f} (fp32 {r['fp32']:.2f}), {s['nodes']['float']} float nodes"
                      + (f", delegated {100 * share:.0f}%" if share is not None else ""), file=sys.stderr)
            results[m] = r
    if args.json:
        print(json.dumps({"calib_size": args.calib_size, "limit": args.limit,
                          "configs": {c: CONFIGS[c][4] for c in configs}, "models": results}, indent=1))
        return
    print("| model | fp32 | " + " | ".join(configs) + " |")
    print("|---|---|" + "---|" * len(configs))
    for m in models:
        r = results[m]
        cells = []
        for c in configs:
            x = r[c]
            cell = f"{x['top1']:.2f} ({x['top1'] - r['fp32']:+.2f})"
            if x["delegated_share"] is not None:
                cell += f" · {100 * x['delegated_share']:.0f}%"
            cells.append(cell)
        print(f"| {m} | {r['fp32']:.2f} | " + " | ".join(cells) + " |")
    print()
    for c in configs:
        print(f"- {c}: {CONFIGS[c][4]}")
    print("- cells: top-1 % (change vs fp32) · share of compute nodes the backend's partitioner delegates")


if __name__ == "__main__":
    main()
