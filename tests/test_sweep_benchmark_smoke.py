"""Smoke test of benchmarks/sweep_throughput.py: a --quick --json run times the backends it is given.

Ray is left out here: its start-up alone costs ~20 s, and tests/test_ray_backend.py covers the
Ray path of the runner the script times.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.benchmark_runs import ROOT, positive


@pytest.mark.timeout(300)
def test_quick_json_run():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sweep_throughput.py"), "--quick", "--json",
                           "--backends", "local,process"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out["median"]) == {"local", "process"}                   # no ray, so no ray start-up either
    for backend, m in out["median"].items():
        assert m["runs"] == 4 and positive(m["wall_s"]) and positive(m["work_s"]), (backend, m)
    assert out["median"]["local"]["work_s"] <= out["median"]["local"]["wall_s"]  # one at a time: runs fit in wall
    assert all(len(v) == 1 for v in out["all"].values())
    assert "speed-up vs local" in proc.stdout


def test_a_backend_it_does_not_know_is_refused():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sweep_throughput.py"), "--backends", "local,slurm"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--backends must name local" in proc.stderr
