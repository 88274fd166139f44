"""MADDPG: smoke runs of every critic, N-independent sizes, exact resume after SIGKILL,
divergence handling, decentralised execution and export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from marlloc.algos.maddpg import (
    Maddpg,
    MaddpgConfig,
    TrainingDiverged,
    UserDecision,
    export,
    load_policy,
    train,
)
from marlloc.cli import main
from marlloc.envs import make

ENV = dict(n_users=8, n_edges=2, episode_rounds=20)
FAST = dict(hidden=(32, 32), batch_size=32, replay_size=2000, warmup_rounds=10, anneal_rounds=50)


@pytest.mark.parametrize("critic", ["pooled", "full", "local"])
def test_every_critic_trains_and_writes_a_run_folder(critic, tmp_path):
    summary = train(MaddpgConfig(critic=critic, **FAST), ENV, rounds=45, seed=0, out=tmp_path,
                    eval_every_rounds=20, checkpoint_every_rounds=20, final_episodes=2)
    p = summary["policies"]["maddpg"]
    assert {"system_utility", "utility_vs_bound", "avg_qoe", "jain"} <= set(p)
    assert json.loads((tmp_path / "summary.json").read_text())["policies"]["maddpg"] == p
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert header.startswith("round,charts/") and "losses/critic_user" in header and "eval/system_utility" in header
    ck = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert ck["round"] == 45 and ck["algo_config"]["critic"] == critic


def test_pooled_critic_and_update_cost_do_not_grow_with_users():
    sizes = {}
    for n in (20, 2000):
        env = make("edge_market_v0", n_users=n, n_edges=3)
        env.reset(1, seed=0)
        m = Maddpg(env, MaddpgConfig(**FAST))
        sizes[n] = [sum(p.numel() for p in net.parameters()) for net in (m.actor_u, m.critic_u, m.critic_p)]
    assert sizes[20] == sizes[2000]


def test_full_critic_refuses_many_users():
    env = make("edge_market_v0", n_users=50)
    with pytest.raises(ValueError, match="critic"):
        Maddpg(env, MaddpgConfig(critic="full", **FAST))


def _train_cmd(out: Path, rounds: int) -> list[str]:
    return [sys.executable, "-m", "marlloc.cli", "train", "--users", "8", "--edges", "2", "--episode-rounds", "20",
            "--rounds", str(rounds), "--seed", "3", "--out", str(out), "--eval-every", "25", "--checkpoint-every", "30",
            "--final-episodes", "2", "--hp", "hidden=[32,32]", "--hp", "batch_size=32", "--hp", "replay_size=2000",
            "--hp", "warmup_rounds=10", "--hp", "anneal_rounds=50"]


def _comparable(run: Path) -> tuple[dict, list[str]]:
    summary = json.loads((run / "summary.json").read_text())
    for p in summary["policies"].values():
        p.pop("wall_s")
    lines = (run / "metrics.csv").read_text().splitlines()
    head = lines[0].split(",")
    wall = head.index("charts/wall_s")
    rows = [",".join(v for i, v in enumerate(line.split(",")) if i != wall) for line in lines]
    return summary, rows


def test_sigkill_and_resume_ends_exactly_like_an_uninterrupted_run(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run(_train_cmd(whole, 200), check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen(_train_cmd(cut, 200), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = cut / "checkpoints" / "last.pt"
    deadline = time.time() + 300
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)  # let it run past the checkpoint, mid-way to the next one
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (cut / "summary.json").exists(), "the run finished before it could be killed; lengthen it"
    done = torch.load(ck, weights_only=True)["round"]
    assert 0 < done < 200
    r = subprocess.run([sys.executable, "-m", "marlloc.cli", "train", "--resume", str(cut)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert _comparable(cut) == _comparable(whole)


def test_exploding_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path):
    import re

    cfg = MaddpgConfig(**{**FAST, "max_loss": 1e-12})  # any real loss counts as exploding
    with pytest.raises(TrainingDiverged, match="no checkpoint was written yet"):
        train(cfg, ENV, rounds=40, seed=0, out=tmp_path / "a", checkpoint_every_rounds=100)
    with pytest.raises(TrainingDiverged, match="the last good checkpoint is") as e:
        train(cfg, ENV, rounds=40, seed=0, out=tmp_path / "b", checkpoint_every_rounds=5)
    assert "\n" not in str(e.value)
    stopped = int(re.search(r"at round (\d+)", str(e.value)).group(1))
    ck = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=True)
    assert ck["round"] == (stopped - 1) // 5 * 5  # the last checkpoint before the bad round, untouched


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(MaddpgConfig(**FAST), ENV, rounds=30, seed=1, out=out, eval_every_rounds=30, final_episodes=1)
    return out / "checkpoints" / "last.pt"


def test_decentralised_actor_needs_only_a_local_observation(trained):
    env = make("edge_market_v0", **ENV)
    policy = load_policy(trained, env)
    decide = policy["user"].decision
    obs = torch.randn(7, env.roles["user"].obs_dim)
    node, bid = decide(obs, torch.zeros(7, env.n_nodes + 1))
    assert node.shape == (7,) and node.dtype == torch.long and ((bid >= 0) & (bid <= 1)).all()
    assert isinstance(decide, UserDecision)


def test_exported_actors_act_identically(trained, tmp_path):
    env = make("edge_market_v0", **ENV)
    policy = load_policy(trained, env)
    files = export(trained, tmp_path / "export")
    user = torch.export.load(files[0]).module()
    provider = torch.export.load(files[1]).module()
    step = env.reset(3, seed=5)
    obs_u = step.obs["user"].reshape(-1, env.roles["user"].obs_dim)
    from marlloc.algos.maddpg import gumbel_noise

    noise = gumbel_noise((obs_u.shape[0], env.n_nodes + 1), torch.Generator().manual_seed(0))
    for z in (noise, torch.zeros_like(noise)):
        n0, b0 = policy["user"].decision(obs_u, z)
        n1, b1 = user(obs_u, z)
        assert torch.equal(n0, n1) and torch.equal(b0, b1)
    obs_p = step.obs["provider"].reshape(-1, env.roles["provider"].obs_dim)
    assert torch.equal(policy["provider"].decision(obs_p), provider(obs_p))


def test_evaluate_a_checkpoint_beside_the_baselines(trained, tmp_path, capsys):
    assert main(["evaluate", "--users", "8", "--edges", "2", "--rounds", "10", "--episodes", "2",
                 "--policies", f"maddpg:{trained},greedy", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "summary.json").read_text())
    assert list(data["policies"]) == ["maddpg", "greedy"]


def test_checkpoint_for_another_market_is_a_one_line_error(trained, capsys):
    assert main(["evaluate", "--users", "8", "--edges", "4", "--rounds", "5", "--episodes", "1",
                 "--policies", f"maddpg:{trained}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_edges" in err


def test_tensorboard_without_the_package_says_how_to_install(tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("tensorboard") is not None:
        pytest.skip("tensorboard is installed here")
    assert main(["train", "--users", "8", "--edges", "2", "--rounds", "3", "--tensorboard", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'marlloc[tensorboard]'" in err
