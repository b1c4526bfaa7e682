#!/usr/bin/env python3
"""Calibration throughput (images/s): PyTorch's static int8 PTQ flow vs `edgequant quantize`.

Usage (from the repository root):

    python3 bench/calibration_vs_pytorch.py                          # all models, minmax + histogram
    python3 bench/calibration_vs_pytorch.py --models cnn mlp --calib-size 500
    python3 bench/calibration_vs_pytorch.py --build build-rel --json results.json
    python3 bench/calibration_vs_pytorch.py --flow fx                # force torch's FX flow

Both sides calibrate the same model (fixtures/models/<name>) on the same images: the first
--calib-size images of the Fashion-MNIST training split, normalised (p/255 - 0.2860)/0.3530,
in batches of --batch (32; the last batch is smaller when the size is not a multiple), with
--threads intra-op threads (2), in the same run of this script.

PyTorch side (--flow auto picks pt2e when torchao is installed, fx otherwise):
  pt2e  model = the class from tools/fixtures/make_fashion_models.py with the state dict of
        fixtures/models/<name>.pt; torch.export.export(model, batch-32 example, dynamic batch,
        strict=False).module(); torchao prepare_pt2e with XNNPACKQuantizer (torchao.testing.pt2e)
        and get_symmetric_quantization_config(is_per_channel=True): activations int8 affine
        [-128,127] eps 2^-12 with HistogramObserver (histogram) or MinMaxObserver (minmax);
        weights PerChannelMinMaxObserver int8 symmetric [-127,127].
  fx    torch.ao.quantization.quantize_fx.prepare_fx(model, QConfigMapping().set_global(qconfig))
        with activation HistogramObserver / MinMaxObserver (quint8, per_tensor_affine; the
        default backend config takes quint8 activations only) and weight
        PerChannelMinMaxObserver (qint8, per_channel_symmetric).
  Timed: only the loop `for batch in batches: prepared(batch)` under torch.no_grad(), first call
  included (one calibration pass is what a user runs). Not timed: model load, export, prepare,
  reading and normalising the images (the batches are torch tensors before the clock starts),
  calculate_qparams / convert. Each repeat prepares a fresh model (so every pass starts from
  empty observers); the median over --repeats is reported.

edgequant side: `<build>/edgequant quantize fixtures/models/<name>.onnx --calib fashion-mnist:train
  --calib-size N --observer minmax|histogram --per-channel --batch B --json -o <tmp>.onnx` with
  OMP_NUM_THREADS=threads (and `--threads T` when the verb accepts it), plus any --eq-arg
  (per-channel weights as on the torch side; weight observers run at prepare, so this does not
  change the calibration time). The rate is the verb's own
  `"calibration": {"images": N, "seconds": S, "images_per_second": R}`: whatever the verb times as
  calibration (meant to be: running the N images through the prepared graph and its observers,
  without load, prepare, convert or export). The whole process's wall time is kept in the JSON
  output as eq_process_s. Median over --repeats. If the binary or the verb is missing, the
  edgequant column says so and the PyTorch half still runs.

Table: model | observer | torch img/s | ours img/s | ratio (ours/torch). --json adds every repeat,
the torch flow, torch's first-batch time and its rate without the first batch
(torch_first_batch_s, torch_ips_after_first: the first call of a fresh prepared GraphModule costs
more), fp32 eager throughput on the same batches without observers after one warm-up batch
(torch_fp32_ips, for scale), and the machine's load.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools" / "fixtures"))
import make_fashion_models as mfm  # noqa: E402  (model classes, IDX reader, normalisation)

DEFAULT_MODELS = ["cnn", "mbv2", "resnet", "conv1d", "mlp", "vit"]
OBSERVERS = ["minmax", "histogram"]
EPS = 2.0 ** -12


# --------------------------------------------------------------------------- data / models

def find_data_dir(explicit: Path | None) -> Path:
    cands = [explicit] if explicit else []
    if os.environ.get("EDGEQUANT_FASHION_MNIST_DIR"):
        cands.append(Path(os.environ["EDGEQUANT_FASHION_MNIST_DIR"]))
    cands += [Path("/usr/share/datasets/fashion-mnist"), Path("/usr/share/dataset-fashion-mnist")]
    for c in cands:
        if (c / "train-images-idx3-ubyte.gz").exists():
            return c
    raise SystemExit(f"Fashion-MNIST not found in {', '.join(map(str, cands))} "
                     "(apt-get install dataset-fashion-mnist, or --data DIR)")


def load_batches(data_dir: Path, n: int, batch: int) -> list[torch.Tensor]:
    raw = mfm.read_idx(data_dir / "train-images-idx3-ubyte.gz")
    if n > len(raw):
        raise SystemExit(f"--calib-size {n} exceeds the {len(raw)} training images")
    x = (raw[:n].astype(np.float32) / np.float32(255.0) - np.float32(mfm.MEAN)) / np.float32(mfm.STD)
    x = torch.from_numpy(np.ascontiguousarray(x.astype(np.float32)[:, None]))
    return [x[i:i + batch].contiguous() for i in range(0, n, batch)]


def load_model(model_dir: Path, name: str) -> torch.nn.Module:
    if name not in mfm.MODELS:
        raise ValueError(f"no model class named {name!r} in make_fashion_models.py")
    model = mfm.MODELS[name][0]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sd = torch.jit.load(str(model_dir / f"{name}.pt"), map_location="cpu").state_dict()
    model.load_state_dict(sd)
    return model.eval()


# --------------------------------------------------------------------------- torch flows

def have_torchao() -> bool:
    try:
        from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e  # noqa: F401
        from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer  # noqa: F401
        return True
    except ImportError:
        return False


def prepare_pt2e_model(model: torch.nn.Module, example: torch.Tensor, observer: str):
    from torchao.quantization.pt2e.observer import HistogramObserver, MinMaxObserver
    from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e
    from torchao.testing.pt2e._xnnpack_quantizer import XNNPACKQuantizer, get_symmetric_quantization_config
    cfg = get_symmetric_quantization_config(is_per_channel=True)
    obs = {"minmax": MinMaxObserver, "histogram": HistogramObserver}[observer]
    act = dataclasses.replace(cfg.input_activation, observer_or_fake_quant_ctr=obs.with_args(eps=EPS))
    cfg = dataclasses.replace(cfg, input_activation=act, output_activation=act)
    batch_dim = {0: torch.export.Dim("batch", min=1, max=65536)}
    gm = torch.export.export(model, (example,), dynamic_shapes=(batch_dim,), strict=False).module()
    return prepare_pt2e(gm, XNNPACKQuantizer().set_global(cfg))


def prepare_fx_model(model: torch.nn.Module, example: torch.Tensor, observer: str):
    from torch.ao.quantization import (HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver, QConfig,
                                       QConfigMapping)
    from torch.ao.quantization.quantize_fx import prepare_fx
    obs = {"minmax": MinMaxObserver, "histogram": HistogramObserver}[observer]
    qconfig = QConfig(
        activation=obs.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine, eps=EPS),
        weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric, eps=EPS))
    return prepare_fx(copy.deepcopy(model), QConfigMapping().set_global(qconfig), example_inputs=(example,))


def count_observers(prepared) -> int:
    return sum(1 for n in prepared.graph.nodes if n.op == "call_module" and "activation_post_process" in str(n.target))


def time_pass(module, batches: list[torch.Tensor]) -> list[float]:
    """Seconds per batch of one pass (their sum is the pass's time)."""
    times = []
    with torch.no_grad():
        for b in batches:
            t0 = time.perf_counter()
            module(b)
            times.append(time.perf_counter() - t0)
    return times


def torch_calibration(model, batches, observer: str, flow: str, repeats: int) -> dict:
    prep = prepare_pt2e_model if flow == "pt2e" else prepare_fx_model
    times, first, n_obs = [], [], None
    for _ in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared = prep(model, batches[0], observer)  # not timed
        n_obs = count_observers(prepared)
        per_batch = time_pass(prepared, batches)
        times.append(sum(per_batch))
        first.append(per_batch[0])
        del prepared
    n = sum(len(b) for b in batches)
    median = statistics.median(times)
    rest = [t - f for t, f in zip(times, first)]
    n_rest = n - len(batches[0])
    return {"seconds": median, "ips": n / median, "runs_s": [round(t, 4) for t in times],
            "first_batch_s": [round(f, 4) for f in first],
            "ips_after_first": n_rest / statistics.median(rest) if n_rest and statistics.median(rest) > 0 else None,
            "observers": n_obs}


# --------------------------------------------------------------------------- edgequant

class VerbMissing(RuntimeError):
    pass


def parse_json_output(stdout: str) -> dict | None:
    try:
        obj = json.loads(stdout)
        if isinstance(obj, dict):
            return obj
    except json.JSONDecodeError:
        pass
    for line in reversed([l for l in stdout.splitlines() if l.strip()]):  # tolerate log lines before it
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "calibration" in obj:
            return obj
    start = stdout.find("{")  # a pretty-printed object after log lines
    if start >= 0:
        try:
            obj = json.loads(stdout[start:])
            if isinstance(obj, dict):
                return obj
        except json.JSONDecodeError:
            pass
    return None


def eq_calibration(binary: Path, onnx_path: Path, n: int, batch: int, observer: str, threads: int, timeout: float,
                   use_threads_flag: list[bool], extra: list[str]) -> dict:
    """One `edgequant quantize` run; use_threads_flag is a one-element list, cleared if --threads is refused."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory(prefix="eq_calib_") as tmp:
        base = [str(binary), "quantize", str(onnx_path), "--calib", "fashion-mnist:train", "--calib-size", str(n),
                "--observer", observer, "--per-channel", "--batch", str(batch), "--json",
                "-o", str(Path(tmp) / "q.onnx")] + extra
        while True:
            cmd = base + (["--threads", str(threads)] if use_threads_flag[0] else [])
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
            wall = time.perf_counter() - t0
            err = proc.stderr.strip()
            if proc.returncode != 0 and use_threads_flag[0] and "--threads" in err and "unknown option" in err:
                use_threads_flag[0] = False
                continue
            break
    if proc.returncode != 0:
        if "unknown verb" in err:
            raise VerbMissing(f"this edgequant build has no `quantize` verb yet ({err.splitlines()[-1]})")
        raise RuntimeError(f"`{' '.join(cmd)}` exited {proc.returncode}: {err[-500:]}")
    obj = parse_json_output(proc.stdout)
    if obj is None or not isinstance(obj.get("calibration"), dict):
        raise RuntimeError(f"no JSON object with a \"calibration\" member in the output of `{' '.join(cmd)}`")
    cal = obj["calibration"]
    images = int(cal.get("images", n))
    seconds = float(cal["seconds"]) if cal.get("seconds") is not None else None
    ips = float(cal["images_per_second"]) if cal.get("images_per_second") is not None else (
        images / seconds if seconds else None)
    if ips is None:
        raise RuntimeError("calibration JSON has neither images_per_second nor seconds")
    if images != n:
        raise RuntimeError(f"edgequant calibrated {images} images, asked for {n}")
    return {"ips": ips, "seconds": seconds if seconds is not None else images / ips, "process_s": wall}


# --------------------------------------------------------------------------- main

def fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> int:
    ap = argparse.ArgumentParser(description="calibration throughput: PyTorch PTQ vs edgequant quantize")
    ap.add_argument("--build", type=Path, default=Path("build"), help="edgequant build directory (default: build)")
    ap.add_argument("--models-dir", type=Path, default=Path("fixtures/models"))
    ap.add_argument("--models", nargs="+", default=None, help=f"subset of models (default: {' '.join(DEFAULT_MODELS)})")
    ap.add_argument("--observers", nargs="+", choices=OBSERVERS, default=OBSERVERS)
    ap.add_argument("--calib-size", type=int, default=1000, help="calibration images (default 1000)")
    ap.add_argument("--batch", type=int, default=32, help="PyTorch calibration batch (default 32)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per side, median reported (default 3)")
    ap.add_argument("--flow", choices=["auto", "pt2e", "fx"], default="auto",
                    help="torch flow: pt2e (needs torchao), fx, or auto (pt2e if torchao imports)")
    ap.add_argument("--data", type=Path, default=None, help="Fashion-MNIST IDX directory")
    ap.add_argument("--eq-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for `edgequant quantize` (repeatable; e.g. --eq-arg=--calib-batch --eq-arg=32)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed per edgequant invocation")
    ap.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                    help="also write results as JSON to FILE (or stdout if no FILE)")
    args = ap.parse_args()
    if args.calib_size < 1 or args.batch < 1 or args.repeats < 1:
        ap.error("--calib-size, --batch and --repeats must be positive")

    torch.set_num_threads(args.threads)
    model_dir = args.models_dir
    if not model_dir.is_absolute() and not model_dir.exists():
        model_dir = REPO / model_dir
    names = args.models or DEFAULT_MODELS

    flow = args.flow
    if flow == "auto":
        flow = "pt2e" if have_torchao() else "fx"
    elif flow == "pt2e" and not have_torchao():
        raise SystemExit("--flow pt2e needs torchao (torch 2.15 has no torch.ao.quantization.quantize_pt2e): "
                         "pip install --no-deps torchao")
    flow_desc = {"pt2e": "torchao prepare_pt2e + XNNPACKQuantizer (int8 affine acts, per-channel int8 weights)",
                 "fx": "torch.ao prepare_fx + QConfig (quint8 affine acts, per-channel qint8 weights)"}[flow]
    print(f"torch {torch.__version__}, flow {flow}: {flow_desc}; {args.calib_size} train images, "
          f"batch {args.batch}, {args.threads} threads", file=sys.stderr)

    binary = args.build / "edgequant"
    if not binary.is_absolute() and not binary.exists() and (REPO / binary).exists():
        binary = REPO / binary
    eq_available = binary.is_file() and shutil.which(str(binary.resolve())) is not None
    eq_note = None
    if not eq_available:
        eq_note = f"edgequant binary not found at {binary.resolve()} (build it, or pass --build DIR)"
        print(f"{eq_note}; reporting PyTorch only", file=sys.stderr)

    load_before = os.getloadavg()[0]
    ncpu = os.cpu_count() or 1
    if load_before > max(0.5, ncpu - args.threads + 0.5):
        print(f"warning: machine is busy (1-min load {load_before:.1f} on {ncpu} CPUs); "
              f"timings with --threads {args.threads} may be far off", file=sys.stderr)

    batches = load_batches(find_data_dir(args.data), args.calib_size, args.batch)
    use_threads_flag = [True]
    results = []
    for name in names:
        pt_path, onnx_path = model_dir / f"{name}.pt", model_dir / f"{name}.onnx"
        model, model_error, fp32_ips = None, None, None
        try:
            model = load_model(model_dir, name)
            time_pass(model, batches[:1])  # warm-up (the fp32 baseline is steady-state throughput)
            fp32_ips = args.calib_size / statistics.median(sum(time_pass(model, batches)) for _ in range(args.repeats))
        except Exception as e:  # noqa: BLE001 - report and go on
            model_error = f"torch: cannot load {pt_path}: {type(e).__name__}: {e}"
        for observer in args.observers:
            row = {"model": name, "observer": observer, "flow": flow, "torch_ips": None, "eq_ips": None,
                   "ratio": None, "torch_runs_s": None, "torch_first_batch_s": None,
                   "torch_ips_after_first": None, "torch_observers": None, "torch_fp32_ips": fp32_ips,
                   "eq_runs_s": None, "eq_process_s": None, "errors": []}
            if model_error:
                row["errors"].append(model_error)
            else:
                try:
                    t = torch_calibration(model, batches, observer, flow, args.repeats)
                    row.update(torch_ips=t["ips"], torch_runs_s=t["runs_s"], torch_observers=t["observers"],
                               torch_first_batch_s=t["first_batch_s"], torch_ips_after_first=t["ips_after_first"])
                except Exception as e:  # noqa: BLE001 - a model torch cannot prepare is skipped, with why
                    row["errors"].append(f"torch {flow} prepare/calibrate failed for {name}: "
                                         f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
            if eq_note is None and not onnx_path.exists():
                row["errors"].append(f"edgequant: {onnx_path} not found")
            elif eq_note is None:
                runs = []
                try:
                    for _ in range(args.repeats):
                        runs.append(eq_calibration(binary, onnx_path, args.calib_size, args.batch, observer,
                                                   args.threads,
                                                   args.timeout, use_threads_flag, args.eq_arg))
                    row["eq_ips"] = args.calib_size / statistics.median(r["seconds"] for r in runs)
                    row["eq_runs_s"] = [round(r["seconds"], 4) for r in runs]
                    row["eq_process_s"] = [round(r["process_s"], 3) for r in runs]
                except VerbMissing as e:
                    eq_note = str(e)
                    print(f"edgequant: {eq_note}; reporting PyTorch only", file=sys.stderr)
                except (RuntimeError, subprocess.TimeoutExpired, KeyError, ValueError) as e:
                    row["errors"].append(f"edgequant {observer}: {e}")
            if row["torch_ips"] and row["eq_ips"]:
                row["ratio"] = row["eq_ips"] / row["torch_ips"]
            results.append(row)
            print(f"  {name} {observer}: torch {fmt(row['torch_ips'], '.0f')} img/s, "
                  f"edgequant {fmt(row['eq_ips'], '.0f')} img/s", file=sys.stderr, flush=True)

    header = ["model", "observer", "torch img/s", "ours img/s", "ratio (ours/torch)"]
    table = [[r["model"], r["observer"], fmt(r["torch_ips"], ".0f"), fmt(r["eq_ips"], ".0f"), fmt(r["ratio"], ".2f")]
             for r in results]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(header)]
    out = sys.stderr if args.json == "-" else sys.stdout
    print(f"calibration throughput, {args.calib_size} Fashion-MNIST train images, {args.threads} threads; "
          f"torch: {flow} (batch {args.batch})", file=out)
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)), file=out)
    print("-|-".join("-" * w for w in widths), file=out)
    for t in table:
        print(" | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))), file=out)
    notes = ([eq_note] if eq_note else []) + sorted({e for r in results for e in r["errors"]})
    for e in notes:
        print(f"note: {e}", file=out)

    if args.json is not None:
        try:
            import torchao
            torchao_version = torchao.__version__
        except ImportError:
            torchao_version = None
        doc = {"torch_version": torch.__version__, "torchao_version": torchao_version, "flow": flow,
               "flow_description": flow_desc, "calib_size": args.calib_size, "batch": args.batch,
               "threads": args.threads, "repeats": args.repeats, "cpu_count": ncpu,
               "loadavg_1min_before": round(load_before, 2), "loadavg_1min_after": round(os.getloadavg()[0], 2),
               "edgequant_binary": str(binary.resolve()), "edgequant_found": eq_available,
               "edgequant_note": eq_note, "edgequant_extra_args": args.eq_arg, "results": results}
        text = json.dumps(doc, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
