"""Smoke test of benchmarks/eqmarl_q_noise.py: a --quick --json run diagnoses a fresh checkpoint."""

from __future__ import annotations

import pytest

from tests.benchmark_runs import run_quick


@pytest.mark.timeout(120)
def test_quick_json_run():
    out = run_quick("eqmarl_q_noise.py", timeout_s=110)
    assert out["step"] == 60 and set(out["roles"]) == {"government", "firm", "consumer"}
    for role, v in out["roles"].items():
        assert 0 <= v["best_second_gap_median"] <= v["q_range_median"], role
        assert 0 <= v["argmax_agreement"] <= 1 and v["online_target_diff_median"] >= 0, role
        assert 0 < v["pi_max_prob"] <= 1 + 1e-6 and 0 < v["p_star_max_prob"] <= 1 + 1e-6, role
    assert out["q_game"]["eq/nash_conv"] >= 0
