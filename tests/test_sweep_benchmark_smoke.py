"""Smoke test of benchmarks/sweep_throughput.py: a --quick --json run times every backend and Ray's start-up."""

from __future__ import annotations

import pytest

from tests.benchmark_runs import positive, run_quick

pytest.importorskip("ray")


@pytest.mark.timeout(300)
def test_quick_json_run():
    out = run_quick("sweep_throughput.py", timeout_s=300)
    med = out["median"]
    for backend in ("local", "process", "ray"):
        m = med[backend]
        assert m["runs"] == 4 and positive(m["wall_s"]) and positive(m["work_s"]), (backend, m)
    assert med["local"]["work_s"] <= med["local"]["wall_s"]   # one run at a time: the runs fit in the wall time
    assert all(positive(med["ray-startup"][k]) for k in ("init_s", "first_task_s", "shutdown_s"))
    assert all(len(v) == 1 for v in out["all"].values())
