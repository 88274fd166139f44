"""Smoke test of benchmarks/optimum_scaling.py: a --quick --json run ends in a valid JSON summary."""

from __future__ import annotations

import math

import pytest

from tests.benchmark_runs import positive, run_quick


@pytest.mark.timeout(300)
def test_quick_json_run():
    out = run_quick("optimum_scaling.py", timeout_s=300)
    assert set(out) >= {"milp", "lp", "fractions", "targets"}
    assert set(out["targets"]) >= {"milp_500_median_s", "milp_500_max_gap", "lp_100k_median_s"}
    for value in out["targets"].values():  # --quick runs neither N = 500 nor N = 100,000
        assert value is None

    # --quick: MILP at 50, 100; LP at 1,000; fractions at 50 for every default policy
    assert [r["users"] for r in out["milp"]] == [50, 100]
    assert [r["users"] for r in out["lp"]] == [1000]
    for r in out["milp"] + out["lp"]:
        for key in ("median_build_s", "median_solve_s", "median_total_s", "max_total_s", "median_highs_s"):
            assert positive(r[key]), f"N={r['users']} {key} = {r[key]!r}"
        assert sum(r["statuses"].values()) == r["rounds"] == len(r["per_round"])
        assert r["max_gap"] is not None and 0 <= r["max_gap"] <= 1e-4 + 1e-12
        assert r["median_tasks"] >= 0 and r["median_vars"] >= r["median_tasks"]
        for p in r["per_round"]:
            assert positive(p["build_s"]) and positive(p["solve_s"])
            assert p["total_s"] == pytest.approx(p["build_s"] + p["solve_s"])
    assert all(set(r["statuses"]) <= {"optimal", "empty"} for r in out["lp"])

    fr = out["fractions"]
    assert {(r["users"], r["policy"]) for r in fr} == {
        (50, "random"), (50, "greedy"), (50, "sequential_greedy"), (50, "optimum"),
    }
    for r in fr:
        assert positive(r["wall_s"]) and positive(r["bound"])
        assert math.isfinite(r["system_utility"])
        # the LP bound bounds every policy's realised utility
        assert 0 < r["utility_vs_bound"] <= 1 + 1e-6, r
