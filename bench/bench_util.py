"""Helpers shared by the bench/ scripts that drive the `edgequant` command."""
import json
import subprocess


def run_json(cmd):
    """Runs an `edgequant ... --json` command and returns its parsed output; raises with stderr on failure."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.strip()}")
    return json.loads(p.stdout)
