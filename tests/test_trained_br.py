"""The trained best response: a lower bound on δ_i that finds most of a known deviation gain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marlloc.core.errors import ConfigError
from marlloc.envs import make
from marlloc.games import cournot
from marlloc.solvers.trained_br import trained_best_response


def _fixed(level: int):
    def make_policy(env):
        return lambda step: {"player": {"quantity": torch.full((step.obs["player"].shape[0], 4), level,
                                                               dtype=torch.long)}}
    return make_policy


def test_cournot_gain_is_a_lower_bound_that_finds_most_of_the_exact_deviation():
    env = make("cournot_v0", n_levels=51)  # q on a grid of step 1 over [0, 50]
    res = trained_best_response(env, _fixed(5), "player", 3, iterations=80, n_envs=16, eval_episodes=4, lr=3e-2)
    g = cournot(100, 2, (10, 12, 15, 20))
    prof = np.full(4, 5.0)
    exact = max(g.payoffs(np.r_[prof[:3], q])[3] for q in np.linspace(0, 50, 51)) - g.payoffs(prof)[3]
    assert res.base["mean"] == pytest.approx(g.payoffs(prof)[3], rel=1e-6)
    assert res.gain["mean"] <= exact + 1e-6          # a lower bound on the grid's δ_i
    assert res.gain["mean"] >= 0.8 * exact           # and the budget finds most of it (exact δ = 112)
    assert "lower bound" in res.note


def test_economy_deviator_starts_from_the_trained_policy_and_reports_paired_gains(tmp_path):
    from marlloc.algos.eqmarl import EqmarlConfig, train
    from marlloc.policies.economy import joint_policy

    cfg = EqmarlConfig(n_envs=2, warmup_steps=5, batch_size=16, eval_every=5, probe_states=8, solver_envs=1)
    env_cfg = {"n_countries": 2, "episode_steps": 8}
    train(cfg, "economy_v0", env_cfg, 12, 0, tmp_path, eval_episodes=1, checkpoint_every=12)
    env = make("economy_v0", **env_cfg)
    ck = str(tmp_path / "checkpoints" / "last.pt")
    make_policy = lambda e: joint_policy(e, f"eqmarl:{ck}")  # noqa: E731
    still = trained_best_response(env, make_policy, "firm", 1, iterations=1, n_envs=2, eval_episodes=3, lr=1e-12)
    assert still.gain["mean"] == 0.0 and still.gain["std"] == 0.0  # the copy plays the trained mode exactly
    res = trained_best_response(env, make_policy, "firm", 1, iterations=2, n_envs=2, eval_episodes=3, lr=0.1)
    assert res.gain["n"] == 3 and res.role == "firm" and res.agent == 1
    assert res.gain["mean"] == pytest.approx(res.deviation["mean"] - res.base["mean"], abs=1e-9)
    assert res.base == still.base  # the same shared evaluation seeds


def test_bad_arguments_fail_on_one_line():
    env = make("cournot_v0", n_levels=11)
    with pytest.raises(ConfigError, match="role must be one of"):
        trained_best_response(env, _fixed(1), "firm", 0)
    with pytest.raises(ConfigError, match="agent"):
        trained_best_response(env, _fixed(1), "player", 7)
    with pytest.raises(ConfigError, match="box_levels"):
        trained_best_response(env, _fixed(1), "player", 0, box_levels=1)


def test_box_heads_keep_the_policys_value_or_play_the_grid():
    from marlloc.solvers.trained_br import _as_actions, _as_picks

    env = make("edge_market_v0", n_users=4, n_edges=2)
    spec = env.roles["provider"]
    price = torch.rand(3, 3, 3)                                       # [E, providers, 3]
    keep = _as_actions(spec, _as_picks(spec, {"price": price}, 1, 11), {"price": price}, 1, 11)
    assert torch.equal(keep["price"], price)                           # imitation target: π's own value
    grid = _as_actions(spec, [torch.tensor([0, 5, 10])] * 3, {"price": price}, 1, 11)["price"]
    assert torch.allclose(grid[:, 1], torch.tensor([0.0, 0.5, 1.0])[:, None].expand(3, 3))
    assert torch.equal(grid[:, [0, 2]], price[:, [0, 2]])              # the other agents are untouched


def test_evaluate_reports_the_lower_bound_for_every_role_in_both_scenarios():
    from marlloc.evaluation import evaluate, evaluate_economy

    edge = evaluate("greedy", config={"n_users": 6, "n_edges": 1, "episode_rounds": 6}, episodes=2,
                    bound=False, br_iterations=1)
    econ = evaluate_economy("ncgt", {"n_countries": 2, "episode_steps": 4}, episodes=2, nash_every=2, br_iterations=1)
    for ev, name in ((edge, "greedy"), (econ, "ncgt")):
        agg = ev.policies[name]
        for role in ev.summary()["policies"][name]["trained_br"]:
            tb = agg["trained_br"][role]
            assert agg[f"br_gain_lower_bound/{role}"]["n"] == 2 and "lower bound" in tb["note"]
            assert agg[f"br_gain_lower_bound/{role}"]["mean"] == pytest.approx(
                tb["deviation"]["mean"] - tb["base"]["mean"], abs=1e-9)
        assert set(agg["trained_br"]) == set(make(ev.env_id).roles)
    assert "trained_br" not in evaluate("random", config={"n_users": 4, "n_edges": 1, "episode_rounds": 3},
                                        episodes=1, bound=False).policies["random"]
    with pytest.raises(ConfigError, match="br_iterations must be an integer ≥ 0"):
        evaluate("random", br_iterations=-1)
