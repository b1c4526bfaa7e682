#!/usr/bin/env bash
# Installs what edgequant needs to build and test, from Debian's packages only, skipping what is
# already there. Safe to run again. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev   # ONNX model format
  libdnnl-dev                                     # oneDNN: fp32 convolution and GEMM
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev  # XNNPACK: delegated int8 partitions
  zlib1g-dev                                      # gzip'd IDX datasets, NPZ
  nlohmann-json3-dev                              # JSON (manifest, configs)
  libflatbuffers-dev flatbuffers-compiler         # TFLite export (FlatBuffers builder, verifier, flatc)
  libgtest-dev libgmock-dev libbenchmark-dev      # tests and benchmarks
  libonnx-testdata                                # ONNX backend node tests (conformance)
  dataset-fashion-mnist                           # the bundled default data set
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "edgequant setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
