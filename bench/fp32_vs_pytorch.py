#!/usr/bin/env python3
"""fp32 inference speed: PyTorch (TorchScript) vs edgequant on the Fashion-MNIST fixture models.

Usage (from the repository root, after tools/fixtures/make_fashion_models.py has been run):

    python3 bench/fp32_vs_pytorch.py                    # all models in fixtures/models/manifest.json
    python3 bench/fp32_vs_pytorch.py --models cnn vit   # a subset
    python3 bench/fp32_vs_pytorch.py --build build-rel --json results.json

PyTorch side: torch.set_num_threads(threads), torch.jit.load(fixtures/models/<name>.pt),
torch.inference_mode(); warm-up runs, then the median of --runs timed runs.
Batch 1 is reported as latency (ms), batch 64 as throughput (images/s).

edgequant side: runs `<build>/edgequant bench fixtures/models/<name>.onnx --batch B --threads T --json`,
which prints one JSON object with keys `batch`, `latency_ms` (median per batch) and `throughput`
(images/s). If the binary is missing, that column is reported as such and the PyTorch half still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
WARMUP_S = 0.3
DEFAULT_MODELS = ["cnn", "mbv2", "resnet", "vit", "conv1d", "mlp"]


def torch_bench(pt_path: Path, x: torch.Tensor, warmup: int, runs: int) -> float:
    """Median seconds per forward pass of the TorchScript module on x."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "torch.jit.load is deprecated"
        module = torch.jit.load(str(pt_path), map_location="cpu").eval()
    times = []
    with torch.inference_mode():
        # The TorchScript profiling executor re-optimises during the first calls: warm up for
        # at least `warmup` calls and at least WARMUP_S seconds.
        t_end = time.perf_counter() + WARMUP_S
        i = 0
        while i < warmup or time.perf_counter() < t_end:
            module(x)
            i += 1
        for _ in range(runs):
            t0 = time.perf_counter()
            module(x)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_batch(model_dir: Path, name: str, batch: int) -> torch.Tensor:
    sample = np.load(model_dir / f"{name}.input.npy")  # [16,1,28,28]
    reps = -(-batch // len(sample))
    return torch.from_numpy(np.ascontiguousarray(np.tile(sample, (reps, 1, 1, 1))[:batch]))


def eq_bench(binary: Path, onnx_path: Path, batch: int, threads: int, timeout: float) -> dict:
    cmd = [str(binary), "bench", str(onnx_path), "--batch", str(batch), "--threads", str(threads), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    # The JSON object is the last non-empty line that parses (tolerates log lines before it).
    for line in reversed([l for l in proc.stdout.splitlines() if l.strip()]):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and {"batch", "latency_ms", "throughput"} <= obj.keys():
            return obj
    try:
        obj = json.loads(proc.stdout)
        if isinstance(obj, dict):
            return obj
    except json.JSONDecodeError:
        pass
    raise RuntimeError(f"no JSON object with batch/latency_ms/throughput in output of `{' '.join(cmd)}`")


def fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description="fp32 PyTorch vs edgequant benchmark on the fixture models")
    ap.add_argument("--build", type=Path, default=Path("build"), help="edgequant build directory (default: build)")
    ap.add_argument("--models-dir", type=Path, default=Path("fixtures/models"))
    ap.add_argument("--models", nargs="+", default=None, help="subset of models (default: all in the manifest)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--runs", type=int, default=50, help="timed runs at batch 1 (batch 64 uses a fifth, min 10)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds allowed per edgequant invocation")
    ap.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                    help="also write results as JSON to FILE (or stdout if no FILE)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model_dir = args.models_dir
    if not model_dir.is_absolute() and not model_dir.exists():
        model_dir = REPO / model_dir
    names = args.models
    if names is None:
        manifest = model_dir / "manifest.json"
        names = list(json.loads(manifest.read_text())["models"]) if manifest.exists() else DEFAULT_MODELS

    binary = args.build / "edgequant"
    if not binary.is_absolute() and not binary.exists() and (REPO / binary).exists():
        binary = REPO / binary
    eq_available = binary.is_file() and shutil.which(str(binary.resolve())) is not None
    if not eq_available:
        print(f"edgequant binary not found at {binary.resolve()} (build it, or pass --build DIR); "
              "reporting PyTorch only", file=sys.stderr)

    # Intra-op thread pools spin at barriers: on an oversubscribed machine a descheduled worker
    # stalls every parallel region, and 2-thread timings were seen to be 10-1000x off. Warn.
    load_before = os.getloadavg()[0]
    ncpu = os.cpu_count() or 1
    if load_before > max(0.5, ncpu - args.threads + 0.5):
        print(f"warning: machine is busy (1-min load {load_before:.1f} on {ncpu} CPUs); "
              f"timings with --threads {args.threads} may be far off", file=sys.stderr)

    results = []
    for name in names:
        row = {"model": name, "torch_b1_ms": None, "eq_b1_ms": None, "b1_speedup": None,
               "torch_b64_ips": None, "eq_b64_ips": None, "b64_ratio": None, "errors": []}
        pt_path, onnx_path = model_dir / f"{name}.pt", model_dir / f"{name}.onnx"
        if pt_path.exists():
            t1 = torch_bench(pt_path, make_batch(model_dir, name, 1), args.warmup, args.runs)
            t64 = torch_bench(pt_path, make_batch(model_dir, name, 64), max(2, args.warmup // 2),
                              max(10, args.runs // 5))
            row["torch_b1_ms"] = t1 * 1e3
            row["torch_b64_ips"] = 64 / t64
        else:
            row["errors"].append(f"torch: {pt_path} not found")
        if not eq_available:
            row["errors"].append(f"edgequant binary not found at {binary.resolve()}")
        elif not onnx_path.exists():
            row["errors"].append(f"edgequant: {onnx_path} not found")
        else:
            for batch in (1, 64):
                try:
                    r = eq_bench(binary, onnx_path, batch, args.threads, args.timeout)
                    if batch == 1:
                        row["eq_b1_ms"] = float(r["latency_ms"])
                    else:
                        row["eq_b64_ips"] = float(r["throughput"])
                except (RuntimeError, subprocess.TimeoutExpired, KeyError, ValueError) as e:
                    row["errors"].append(f"edgequant batch {batch}: {e}")
        if row["torch_b1_ms"] and row["eq_b1_ms"]:
            row["b1_speedup"] = row["torch_b1_ms"] / row["eq_b1_ms"]
        if row["torch_b64_ips"] and row["eq_b64_ips"]:
            row["b64_ratio"] = row["eq_b64_ips"] / row["torch_b64_ips"]
        results.append(row)

    header = ["model", "torch b1 ms", "eq b1 ms", "b1 speedup (torch/eq)",
              "torch b64 img/s", "eq b64 img/s", "b64 ratio (eq/torch)"]
    table = [[r["model"], fmt(r["torch_b1_ms"], ".3f"), fmt(r["eq_b1_ms"], ".3f"), fmt(r["b1_speedup"], ".2f"),
              fmt(r["torch_b64_ips"], ".0f"), fmt(r["eq_b64_ips"], ".0f"), fmt(r["b64_ratio"], ".2f")]
             for r in results]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(header)]
    out = sys.stderr if args.json == "-" else sys.stdout
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)), file=out)
    print("-|-".join("-" * w for w in widths), file=out)
    for t in table:
        print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))), file=out)
    errors = sorted({e for r in results for e in r["errors"]})
    for e in errors:
        print(f"note: {e}", file=out)

    if args.json is not None:
        doc = {"torch_version": torch.__version__, "threads": args.threads, "cpu_count": ncpu,
               "loadavg_1min_before": round(load_before, 2), "loadavg_1min_after": round(os.getloadavg()[0], 2),
               "edgequant_binary": str(binary.resolve()), "edgequant_found": eq_available, "results": results}
        text = json.dumps(doc, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
