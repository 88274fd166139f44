"""The evaluation harness: aggregation known answers, shared seeds, file outputs, CLI."""

from __future__ import annotations

import json
import math

import pytest

from marlloc.cli import main
from marlloc.core.errors import ConfigError
from marlloc.evaluation import aggregate, evaluate, write

TINY = dict(n_users=20, n_edges=2, episode_rounds=12)
KEYS = ("system_utility", "utility_vs_bound", "avg_qoe", "avg_qoe_norm", "utilisation", "jain", "deadline_rate",
        "rejection_rate", "revenue")


def test_aggregate_known_answer():
    a = aggregate([1.0, 2.0, 3.0])
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2) · s / √n with s = 1
    assert a["mean"] == 2.0 and a["std"] == pytest.approx(1.0) and a["n"] == 3
    assert a["ci95"] == pytest.approx([2 - half, 2 + half])
    assert aggregate([5.0])["ci95"] == [5.0, 5.0]
    assert aggregate([float("nan"), float("inf"), 1.0])["n"] == 1


def test_every_policy_meets_the_same_arrivals():
    """Same seed, different policies: the same users get the same tasks in the same rounds."""
    import torch

    from marlloc.envs import make
    from marlloc.policies import act, joint

    env = make("edge_market_v0", **TINY)
    runs = []
    for name in ("random", "greedy", "optimum"):
        pol = joint(env, name)
        step = env.reset(2, seed=7)
        seen = [(step.active["user"].clone(), env._s.task_type.clone())]
        for _ in range(TINY["episode_rounds"] - 1):
            step = env.step(act(pol, step))
            seen.append((step.active["user"].clone(), env._s.task_type.clone()))
        runs.append(seen)
    for other in runs[1:]:
        for (a0, t0), (a1, t1) in zip(runs[0], other, strict=True):
            assert torch.equal(a0, a1) and torch.equal(t0[a0], t1[a1])


def test_summary_schema_and_files(tmp_path):
    ev = evaluate(["random", "optimum"], "edge_market_v0", TINY, episodes=3, seeds=0)
    summary, episodes = write(ev, tmp_path / "out")
    data = json.loads(summary.read_text())
    assert data["scenario"] == "edge" and data["config"]["n_users"] == 20
    for name in ("random", "optimum"):
        p = data["policies"][name]
        for k in KEYS:
            assert set(p[k]) >= {"mean", "std", "ci95"} and len(p[k]["ci95"]) == 2
        assert p["wall_s"] > 0
        assert 0 < p["utility_vs_bound"]["mean"] <= 1.0 + 1e-9
    lines = episodes.read_text().splitlines()
    assert lines[0].startswith("policy,seed,episode,") and len(lines) == 1 + 2 * 3
    assert not list((tmp_path / "out").glob(".*tmp"))  # no temporary files left behind


def test_a_failed_write_leaves_the_old_file_intact(tmp_path):
    ev = evaluate("random", "edge_market_v0", TINY, episodes=1, seeds=0, bound=False)
    summary, _ = write(ev, tmp_path)
    before = summary.read_text()
    ev.policies["random"]["system_utility"]["mean"] = float("nan")  # not valid JSON: the write must fail
    with pytest.raises(ValueError):
        write(ev, tmp_path)
    assert summary.read_text() == before
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(policies="random,oracle"), "unknown user policy 'oracle'"),
    (dict(policies="random", pricing="auction"), "unknown pricing 'auction'"),
    (dict(policies="random", episodes=0), "episodes must be"),
    (dict(policies=""), "at least one policy"),
])
def test_bad_arguments_are_one_line(kwargs, match):
    with pytest.raises(ConfigError, match=match) as e:
        evaluate(env_id="edge_market_v0", config=TINY, **kwargs)
    assert "\n" not in str(e.value)


def test_cli_evaluate_writes_summary_and_prints_table(tmp_path, capsys):
    out = tmp_path / "ev"
    code = main(["evaluate", "--users", "20", "--edges", "2", "--rounds", "10", "--episodes", "2",
                 "--policies", "random,greedy,sequential_greedy,optimum", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "utility_vs_bound" in text and "sequential_greedy" in text
    data = json.loads((out / "summary.json").read_text())
    assert list(data["policies"]) == ["random", "greedy", "sequential_greedy", "optimum"]


def test_cli_out_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["evaluate", "--users", "10", "--rounds", "3", "--episodes", "1", "--policies", "random",
                 "--no-bound", "--out", str(f)]) == 2
    assert "must be a folder" in capsys.readouterr().err
