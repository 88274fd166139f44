"""Smoke test of benchmarks/eqmarl_cournot.py: a --quick --json run reports errors against the closed form."""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmark_runs import positive, run_quick


@pytest.mark.timeout(120)
def test_quick_json_run():
    out = run_quick("eqmarl_cournot.py", timeout_s=110)
    (r,) = out["runs"]
    assert np.allclose(r["closed_form"], [10.7, 9.7, 8.2, 5.7], atol=1e-9)
    q, qs = np.array(r["learned"]), np.array(r["closed_form"])
    assert np.allclose(r["rel_error"], (q - qs) / qs) and r["max_rel_error"] == pytest.approx(np.abs((q - qs) / qs).max())
    assert positive(r["wall_s"]) and r["epsilon"] >= 0 and r["nash_conv"] >= r["epsilon"]
    assert out["pass"] is None  # 40 steps are a smoke run, not the measurement
