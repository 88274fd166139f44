"""Baseline policies: smoke runs, their defining behaviour, and pricing rules."""

from __future__ import annotations

import pytest
import torch

from marlloc.envs import make
from marlloc.policies import PROVIDER_POLICIES, USER_POLICIES, act, joint

SMALL = dict(n_users=40, n_edges=3, episode_rounds=20)


@pytest.mark.parametrize("user", list(USER_POLICIES))
@pytest.mark.parametrize("pricing", list(PROVIDER_POLICIES))
def test_every_policy_pair_runs_valid_actions(user, pricing):
    env = make("edge_market_v0", **SMALL)
    pol = joint(env, user, pricing)
    step = env.reset(2, seed=0)
    for _ in range(6):
        step = env.step(act(pol, step))  # validate_actions raises on anything out of range


def test_sequential_greedy_is_never_turned_away_and_respects_capacity():
    env = make("edge_market_v0", n_users=120, n_edges=3, episode_rounds=30, arrival_prob=0.9)
    pol = joint(env, "sequential_greedy")
    step = env.reset(2, seed=0)
    for _ in range(30):
        step = env.step(act(pol, step))
        i = step.info
        assert not (i["user/requested"] & ~i["user/admitted"]).any()
        assert (i["provider/used"] <= i["provider/capacity"] * (1 + 1e-6) + 1e-6).all()


def test_greedy_reads_only_its_observation():
    """Two users with identical observations act identically, whatever else differs."""
    env = make("edge_market_v0", **SMALL)
    pol = joint(env, "greedy")["user"]
    step = env.reset(1, seed=0)
    obs = step.obs["user"].clone()
    obs[0, 1] = obs[0, 0]
    step.obs["user"] = obs
    a = pol.act(step)
    assert a["node"][0, 0] == a["node"][0, 1] and torch.equal(a["bid"][0, 0], a["bid"][0, 1])


def test_greedy_takes_the_best_affordable_option_and_bids_its_quote():
    env = make("edge_market_v0", **SMALL)
    pol = joint(env, "greedy")["user"]
    step = env.reset(1, seed=0)
    names = env.roles["user"].obs_names
    o = torch.zeros_like(step.obs["user"][:, :1])
    col = {n: i for i, n in enumerate(names)}
    o[0, 0, col["type_0"]] = 1.0  # a VR/AR lesson, α = 1
    for j in range(env.n_nodes):
        o[0, 0, col[f"log_latency_ratio_{j}"]] = 0.0
        o[0, 0, col[f"quote_over_budget_{j}"]] = 0.5
        o[0, 0, col[f"failed_{j}"]] = 0.0
    o[0, 0, col["log_latency_ratio_local"]] = 0.5     # local misses its deadline
    o[0, 0, col["log_latency_ratio_2"]] = -2.0        # node 2 is fastest...
    o[0, 0, col["quote_over_budget_2"]] = 1.2         # ...but unaffordable
    o[0, 0, col["log_latency_ratio_3"]] = -1.0        # node 3 next
    o[0, 0, col["quote_over_budget_3"]] = 0.4
    step.obs["user"] = o
    a = pol.act(step)
    assert int(a["node"][0, 0]) == 3
    assert float(a["bid"][0, 0, 0]) == pytest.approx(0.4, rel=1e-5)


def test_greedy_herds_and_sequential_greedy_does_not():
    env = make("edge_market_v0", n_users=200, episode_rounds=40)
    from marlloc.evaluation import rollout

    g = rollout(env, joint(env, "greedy"), 2, 0)
    s = rollout(env, joint(env, "sequential_greedy"), 2, 0)
    assert float(g["rejection_rate"].mean()) > 0.2
    assert float(s["rejection_rate"].mean()) == 0.0
    assert float(s["system_utility"].mean()) > float(g["system_utility"].mean())


def test_cost_plus_prices_follow_utilisation():
    env = make("edge_market_v0", **SMALL)
    pol = joint(env, "random", "cost_plus")["provider"]
    step = env.reset(2, seed=0)
    frac = pol.act(step)["price"]
    ref = 1 / env.config.price_max_factor
    assert torch.allclose(frac, torch.full_like(frac, 0.5 * ref))  # idle market at reset: half the reference
    names = env.roles["provider"].obs_names
    step.obs["provider"][..., [names.index(f"avail_{d}") for d in ("compute", "storage", "uplink", "downlink")]] = 0.0
    assert torch.allclose(pol.act(step)["price"], torch.full_like(frac, 1.5 * ref))  # full: 1.5×
