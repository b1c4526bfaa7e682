#!/bin/sh
# OrtQdqCheck.<model>: quantize a fixture model with `edgequant quantize` (calibrated on its 16
# committed input images), run it with `edgequant run --simulate`, and check that onnxruntime
# loads the QDQ file and gives the same output within TOL output LSBs, both as plain fake-quant
# and with ORT's QDQ fusions (integer QLinear kernels). Exit 77 (skipped) without onnxruntime.
# usage: ort_qdq_check.sh EDGEQUANT SOURCE_DIR MODEL TOL
set -eu
cli="$1"; src="$2"; model="$3"; tol="$4"
python3 -c 'import onnxruntime, onnx' 2>/dev/null || { echo "SKIP: onnxruntime (pip install onnxruntime onnx) is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fx="$src/fixtures/models/$model"
"$cli" quantize "$fx.onnx" --calib "$fx.input.npy" --per-channel -o "$tmp/q.onnx" >/dev/null
"$cli" run "$tmp/q.onnx" --input "$fx.input.npy" -o "$tmp/ref.npy" --simulate >/dev/null
exec python3 "$src/tools/fixtures/check_qdq_ort.py" "$tmp/q.onnx" "$fx.input.npy" "$tmp/ref.npy" --tol "$tol"
