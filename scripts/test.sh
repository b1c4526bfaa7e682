#!/usr/bin/env bash
# Quick start, second command: sets up, builds and runs every test (unit, ONNX conformance,
# fixture models, CLI). With --sanitize (CI does this) it also builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the tests again there (except the full-test-set accuracy
# runs, which only take longer under the sanitizers and check nothing new).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
[ "${1:-}" = "--sanitize" ] && sanitize=1
scripts/setup.sh
scripts/setup-peers.sh   # optional: LiteRT + Vela for the TFLite checks (skipped without them)
scripts/build.sh build
ctest --test-dir build --output-on-failure -j2
if ((sanitize)); then
  BUILD_TYPE=RelWithDebInfo scripts/build.sh build-asan -DEDGEQUANT_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j2 -E 'TestSetTop1'
fi
