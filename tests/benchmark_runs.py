"""Running a benchmark script's ``--quick --json`` mode from the smoke tests."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def run_quick(script: str, timeout_s: float) -> dict:
    """Run ``benchmarks/<script> --quick --json``; the last stdout line that is a JSON object
    (HiGHS may print a stray line of its own)."""
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, f"benchmark failed:\n{proc.stdout}\n{proc.stderr}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no JSON line in stdout:\n{proc.stdout}"
    return json.loads(lines[-1])
