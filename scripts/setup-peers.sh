#!/usr/bin/env bash
# Optional peers for the golden checks: the TFLite interpreter (LiteRT) and Arm's Vela compiler,
# pinned to the versions the numbers in docs/tflite.md were measured with. Best effort: without
# pip or PyPI the checks that need them report SKIP and everything else still runs. Neither is a
# dependency of the library or the CLI.
set -uo pipefail
PEERS=(ai-edge-litert==2.3.0 ethos-u-vela==5.1.0 numpy)
if ! command -v python3 >/dev/null 2>&1; then
  echo "edgequant setup-peers: no python3; the LiteRT/Vela checks will be skipped"
  exit 0
fi
if python3 -c "import ai_edge_litert, numpy" 2>/dev/null && command -v vela >/dev/null 2>&1; then
  exit 0
fi
echo "edgequant setup-peers: pip install ${PEERS[*]}"
pip_install() { timeout 600 python3 -m pip install --quiet --disable-pip-version-check "$@" "${PEERS[@]}"; }
# Debian's own python3 refuses installs outside a venv (PEP 668) unless told otherwise.
if ! pip_install && ! pip_install --break-system-packages; then
  echo "edgequant setup-peers: pip install failed; the LiteRT/Vela checks will be skipped"
fi
exit 0
