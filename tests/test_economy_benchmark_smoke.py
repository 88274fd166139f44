"""Smoke test of benchmarks/economy_throughput.py: a --quick --json run ends in a valid JSON summary."""

from __future__ import annotations

import pytest

from tests.benchmark_runs import positive, run_quick


@pytest.mark.timeout(60)
def test_quick_json_run():
    out = run_quick("economy_throughput.py", timeout_s=55)
    rows = out["rows"]
    assert {(r["path"], r["agents"], r["n_envs"]) for r in rows} == {
        ("batched", 100, 1), ("batched", 100, 8), ("dict", 100, 1)}
    for r in rows:
        assert positive(r["agent_steps_per_s"])
        assert r["agent_steps_per_s"] == pytest.approx(r["agents"] * r["n_envs"] / r["median_s_per_step"])
    assert out["target_met"] is None  # 256 envs are not part of --quick
    assert out["ratio"] == pytest.approx(out["best_100_agent_steps_per_s"] / out["dict_agent_steps_per_s"])
