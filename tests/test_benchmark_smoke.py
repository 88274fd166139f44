"""Smoke test of benchmarks/env_throughput.py: a --quick --json run ends in a valid JSON summary."""

from __future__ import annotations

import pytest

from tests.benchmark_runs import positive, run_quick


@pytest.mark.timeout(60)
def test_quick_json_run():
    out = run_quick("env_throughput.py", timeout_s=55)

    for key in ("batched_user_steps_per_s", "dict_user_steps_per_s", "ratio", "torch_threads", "cpu_count"):
        assert positive(out[key]), f"{key} = {out[key]!r}"
    assert set(out["best_config"]) >= {"users", "n_envs"}
    assert positive(out["best_config"]["users"]) and positive(out["best_config"]["n_envs"])

    rows = out["rows"]
    # --quick: users 50,200 x envs 1,8 batched, and dict-users 50
    assert {(r["path"], r["users"], r["n_envs"]) for r in rows} == {
        ("batched", 50, 1), ("batched", 50, 8), ("batched", 200, 1), ("batched", 200, 8), ("dict", 50, 1),
    }
    for r in rows:
        for key in ("median_s_per_step", "user_steps_per_s", "env_state_MB"):
            assert positive(r[key]), f"{r['path']} N={r['users']} {key} = {r[key]!r}"
        assert r["user_steps_per_s"] == pytest.approx(r["user_envs"] / r["median_s_per_step"])
    # ratio = best batched / dict at the reference N
    assert out["ratio"] == pytest.approx(out["batched_user_steps_per_s"] / out["dict_user_steps_per_s"])
