"""Smoke test of benchmarks/train_speed.py: a --quick --json run ends in a valid JSON summary."""

from __future__ import annotations

import itertools
import math

import pytest

from tests.benchmark_runs import positive, run_quick


@pytest.mark.timeout(300)
def test_quick_json_run():
    out = run_quick("train_speed.py", timeout_s=300)
    assert set(out) >= {"e2e", "update", "full_critic", "targets"}
    assert set(out["targets"]) >= {"wall_200_pass", "peak_memory_pass", "users_10000_ran", "update_flat_pass"}
    # --quick runs neither 200 users for 5,000 rounds nor 10,000 users
    for key in ("wall_200_pass", "peak_memory_pass", "users_10000_ran"):
        assert out["targets"][key] is None, key

    # 1. end-to-end: N = 50 for 60 rounds, in a child process
    assert [(r["users"], r["rounds"]) for r in out["e2e"]] == [(50, 60)]
    for r in out["e2e"]:
        assert r["error"] is None and r["returncode"] == 0
        for key in ("wall_s", "train_s", "rounds_per_s", "peak_MB", "self_peak_MB"):
            assert positive(r[key]), f"e2e {key} = {r[key]!r}"
        assert r["train_s"] <= r["wall_s"]
        split = r["split_s"]
        assert all(math.isfinite(v) and v >= 0 for v in split.values()), split
        for key in ("setup", "act", "env", "update", "eval", "final"):
            assert positive(split[key]), f"split {key} = {split[key]!r}"
        assert sum(split.values()) == pytest.approx(r["train_s"], rel=1e-6)
        assert math.isfinite(r["system_utility"])
        assert 0 < r["utility_vs_bound"] <= 1 + 1e-6

    # 2. update cost: N = 50, 200
    assert [r["users"] for r in out["update"]] == [50, 200]
    for r in out["update"]:
        assert r["error"] is None
        for key in ("median_update_ms", "min_update_ms", "max_update_ms", "median_collect_ms"):
            assert positive(r[key]), f"update N={r['users']} {key} = {r[key]!r}"
        assert r["replay_user"] >= r["batch_size"] and r["replay_provider"] >= r["batch_size"]
    assert positive(out["targets"]["update_ratio"])

    # 3. critic sizes: the pooled critic is the same at every N, the full one grows with N
    rows = out["full_critic"]
    assert [r["users"] for r in rows] == [5, 10, 50]
    assert len({r["pooled_params"] for r in rows}) == 1
    assert len({r["pooled_in"] for r in rows}) == 1
    full = [r["full_params"] for r in rows]
    assert all(a < b for a, b in itertools.pairwise(full)), full
    assert all(r["full_params"] > r["pooled_params"] for r in rows)
    for r in rows:
        for key in ("full_fwd_bwd_ms", "pooled_fwd_bwd_ms", "full_weights_adam_MB", "full_replay_GB"):
            assert positive(r[key]), f"critic N={r['users']} {key} = {r[key]!r}"
