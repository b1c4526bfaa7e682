#!/usr/bin/env bash
# Quick start, first command: sets up, builds, and runs the main job on the built-in default —
# the bundled Fashion-MNIST CNN quantized for each backend (Neutron, XNNPACK, Ethos-U) with that
# backend's own quantizer, partitioned, and evaluated on the Fashion-MNIST test set; the quantized
# models land in build/demo (QDQ ONNX, and fully-integer TFLite for LiteRT, Vela and Neutron).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
build/edgequant demo -o build/demo "$@"   # -o: the quantized models (.onnx, and .tflite for the NPU toolchains)
