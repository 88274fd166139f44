"""Equilibrium-based MARL (seed 004 Algorithm 1): pieces against references, a smoke run, exact resume."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from marlloc.algos.eqmarl import Eqmarl, EqmarlConfig, RoleGrid, bspline, legendre, train
from marlloc.core.errors import ConfigError
from marlloc.envs import make


def rows(path, drop=()) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(f)]


TINY = dict(n_countries=2, n_firms=2, n_households=2, episode_steps=12)
FAST = dict(n_envs=2, warmup_steps=4, anneal_steps=20, eval_every=5, solver_iters=5, batch_size=16,
            replay_size=2_000, hidden=(16, 8, 8), q_hidden=(16,), probe_states=16)


def test_legendre_basis_matches_numpy():
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)
    ours = legendre(x, 5).numpy()
    for n in range(6):
        ref = np.polynomial.legendre.legval(x.numpy(), [0] * n + [1])
        assert np.allclose(ours[:, n], ref)


def test_role_grid_joint_index_probs_and_marginals():
    env = make("economy_v0", **TINY)
    gov = RoleGrid.of(env.roles["government"], EqmarlConfig(q_degree=6), "cpu")
    assert gov.levels.shape == (121, 2) and gov.basis.shape == (121, 49)
    a, b = torch.tensor([3, 10]), torch.tensor([7, 0])
    idx = gov.joint_index([a, b])
    assert torch.equal(gov.levels[idx], torch.stack([a, b], 1))
    p1, p2 = torch.softmax(torch.randn(4, 11), -1), torch.softmax(torch.randn(4, 11), -1)
    joint = gov.joint_probs([p1, p2])
    assert torch.allclose(joint.sum(-1), torch.ones(4))
    m1, m2 = gov.marginals(joint)
    assert torch.allclose(m1, p1, atol=1e-6) and torch.allclose(m2, p2, atol=1e-6)
    # with degree ≥ levels − 1 the basis spans every function of the 11 levels: full rank
    firm = RoleGrid.of(env.roles["firm"], EqmarlConfig(q_degree=10), "cpu")
    assert torch.linalg.matrix_rank(firm.basis.double()) == 11
    # so does the spline basis with intervals capped at levels − 1
    firm = RoleGrid.of(env.roles["firm"], EqmarlConfig(q_basis="spline", q_knots=16), "cpu")
    assert firm.basis.shape == (11, 13) and torch.linalg.matrix_rank(firm.basis.double()) == 11


def test_bspline_is_a_local_partition_of_unity_that_reproduces_quadratics():
    x = torch.linspace(0, 1, 1001, dtype=torch.float64)
    b = bspline(x, 16)
    assert b.shape == (1001, 19) and float(b.min()) >= 0
    assert torch.allclose(b.sum(1), torch.ones(1001, dtype=torch.float64))
    assert int((b > 0).sum(1).max()) <= 4  # local: a payoff kink moves at most four coefficients
    # cubic splines contain the quadratics: least squares reproduces a Cournot profit exactly
    y = 50 * x * (70 - 100 * x)
    coef = torch.linalg.lstsq(b, y[:, None]).solution
    assert torch.allclose(b @ coef, y[:, None], atol=1e-8)


def test_mean_field_is_the_mean_of_the_other_agents_of_the_group(gen):
    env = make("economy_v0", n_countries=3, n_firms=3, n_households=2, episode_steps=4)
    learner = Eqmarl(env, EqmarlConfig(**FAST), seed=0)
    env.reset(2, seed=0)
    acts = env.sample_actions(gen)
    abar = learner.mean_field(learner.levels_of(acts))
    groups = env.agent_groups()
    lev = learner.levels_of(acts)
    for r in env.roles:
        for e in range(2):
            for i in range(env.roles[r].n_agents):
                c = int(groups[r][i])
                want = []
                for r2 in env.roles:
                    mates = [j for j in range(env.roles[r2].n_agents) if int(groups[r2][j]) == c and (r2 != r or j != i)]
                    m = lev[r2][e, mates].mean(0) if mates else torch.zeros(lev[r2].shape[-1])
                    want.append(m)
                assert torch.allclose(abar[r][e, i], torch.cat(want), atol=1e-6), (r, e, i)


def test_single_agent_baseline_has_no_mean_field():
    env = make("economy_v0", **TINY)
    learner = Eqmarl(env, EqmarlConfig(**{**FAST, "mean_field": False, "eq_weight": 0.0}), seed=0)
    assert learner.mf_dim == 0
    assert learner.q["firm"].net[0].in_features == env.roles["firm"].obs_dim


def _known_q_game(**cfg):
    """A learner whose Q game is known: every agent's best level is 7 whatever the others do,
    Q = −(a − 0.7)²; and the states to solve it at."""
    env = make("economy_v0", **TINY)
    learner = Eqmarl(env, EqmarlConfig(**{**FAST, "solver_iters": 60, "solver_tol": 1e-9, **cfg}), seed=0)

    class Fixed(torch.nn.Module):
        def __init__(self, role):
            super().__init__()
            self.role = role

        def forward(self, obs, abar, basis):
            lev = learner.grids[self.role].norm[:, 0]
            return -((lev - 0.7) ** 2).expand(*obs.shape[:-1], -1)

    for r in learner.q_targ:  # the Q game reads the target network
        learner.q_targ[r] = Fixed(r)
    return learner, env.reset(1, seed=0)


def test_solver_finds_the_pure_equilibrium_of_a_known_q_game():
    """With Q replaced by a game whose unique equilibrium is known, the damped BR iterations reach it."""
    learner, st = _known_q_game()
    p, stats = learner.equilibrium(st.obs)
    for r in p:
        best = p[r].argmax(-1)
        assert (learner.grids[r].levels[best][..., 0] == 7).all()
    assert stats["eq/epsilon"] <= 1e-9 and stats["eq/iterations"] < 60


def test_logit_solver_reaches_the_quantal_response_of_a_known_q_game():
    """With solver_temperature τ the iterations' fixed point is softmax(Q/τ), not the argmax."""
    tau = 0.05
    learner, st = _known_q_game(solver_temperature=tau)
    p, stats = learner.equilibrium(st.obs)
    for r in p:
        q = learner.q_targ[r](st.obs[r], None, None)
        assert torch.allclose(p[r], torch.softmax(q / tau, -1), atol=1e-6), r
        assert float(p[r].max()) < 0.9  # mixed: the levels next to 7 keep mass
    assert stats["eq/iterations"] == 60 and stats["eq/epsilon"] > 0  # a quantal response is not a best response


def test_smoke_run_writes_the_run_folder(tmp_path):
    s = train(EqmarlConfig(**FAST), "economy_v0", TINY, 30, 0, tmp_path, eval_episodes=2, checkpoint_every=10)
    for f in ("config.json", "metrics.csv", "summary.json", "checkpoints/last.pt"):
        assert (tmp_path / f).is_file()
    got = rows(tmp_path / "metrics.csv")
    assert [int(r["step"]) for r in got] == list(range(1, 31))
    assert any(r["eq/nash_conv"] for r in got) and any(r["charts/delta_pi"] for r in got)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == json.loads(json.dumps(s))
    assert np.isfinite(summary["eval"]["economy/utility"]) and summary["data"]["source"] == "synthetic"
    conv = summary["convergence"]
    assert conv["censored"] == (conv["step"] is None)
    assert conv["step"] is None or (conv["step"] % FAST["eval_every"] == 0 and conv["wall_s"] > 0)


def test_no_solver_ablation_skips_the_equilibrium(tmp_path):
    train(EqmarlConfig(**{**FAST, "eq_weight": 0.0}), "economy_v0", TINY, 12, 0, tmp_path, eval_episodes=1)
    assert not any(r.get("eq/nash_conv") for r in rows(tmp_path / "metrics.csv"))


def test_same_seed_same_metrics(tmp_path):
    a = train(EqmarlConfig(**FAST), "economy_v0", TINY, 20, 3, tmp_path / "a", eval_episodes=1)
    b = train(EqmarlConfig(**FAST), "economy_v0", TINY, 20, 3, tmp_path / "b", eval_episodes=1)
    assert a["eval"] == b["eval"] and a["q_game"] == b["q_game"]
    wall = ("charts/wall_s",)
    assert rows(tmp_path / "a/metrics.csv", wall) == rows(tmp_path / "b/metrics.csv", wall)


def test_periodic_evaluation_logs_the_curve_without_changing_training(tmp_path):
    a = train(EqmarlConfig(**FAST), "economy_v0", TINY, 20, 3, tmp_path / "a", eval_episodes=2, eval_rollout_every=10)
    train(EqmarlConfig(**FAST), "economy_v0", TINY, 20, 3, tmp_path / "b", eval_episodes=2, eval_rollout_every=0)
    got = rows(tmp_path / "a/metrics.csv")
    assert [int(r["step"]) for r in got if r.get("eval/economy/utility")] == [10, 20]
    # the last point is the final evaluation: same policies, same episodes
    assert float(got[-1]["eval/economy/gini"]) == pytest.approx(a["eval"]["economy/gini"], rel=1e-6)
    strip = lambda path: [{k: v for k, v in r.items() if not k.startswith("eval/") and k != "charts/wall_s"}  # noqa: E731
                          for r in rows(path)]
    assert strip(tmp_path / "a/metrics.csv") == strip(tmp_path / "b/metrics.csv")


CHILD = """
import sys
from marlloc.algos.eqmarl import EqmarlConfig, train
FAST = {fast!r}
TINY = {tiny!r}
train(EqmarlConfig(**FAST), "economy_v0", TINY, {steps}, 1, sys.argv[1], eval_episodes=1, checkpoint_every=8,
      resume=sys.argv[2] == "1")
"""


def test_killed_run_resumes_exactly(tmp_path):
    steps = 150
    code = CHILD.format(fast=FAST, tiny=TINY, steps=steps)
    ref = tmp_path / "ref"
    subprocess.run([sys.executable, "-c", code, str(ref), "0"], check=True, timeout=120)
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", code, str(run), "0"])
    ck = run / "checkpoints" / "last.pt"
    t0 = time.time()
    while not ck.exists() and time.time() - t0 < 60:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert ck.exists() and not (run / "summary.json").exists()
    subprocess.run([sys.executable, "-c", code, str(run), "1"], check=True, timeout=120)
    wall = ("charts/wall_s",)
    assert rows(run / "metrics.csv", wall) == rows(ref / "metrics.csv", wall)
    a, b = json.loads((ref / "summary.json").read_text()), json.loads((run / "summary.json").read_text())
    assert a["eval"] == b["eval"] and a["q_game"] == b["q_game"]


@pytest.mark.parametrize(("kw", "match"), [
    (dict(solver_mode="jacobi"), "solver_mode must be damped or sequential"),
    (dict(damping=0.0), "damping must be positive"),
    (dict(solver_temperature=-0.1), "solver_temperature must be ≥ 0"),
    (dict(solver_iters=0), "solver_iters must be an integer ≥ 1"),
    (dict(gamma=1.5), r"gamma must lie in \[0, 1\]"),
])
def test_bad_config_is_one_line(kw, match):
    with pytest.raises(ConfigError, match=match) as e:
        EqmarlConfig(**kw)
    assert "\n" not in str(e.value)


def test_box_actions_are_refused():
    with pytest.raises(ConfigError, match="eqmarl needs discrete actions"):
        Eqmarl(make("edge_market_v0", n_users=3, n_edges=1), EqmarlConfig(**FAST))
