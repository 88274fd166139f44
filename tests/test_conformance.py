"""Conformance of every registered environment: PettingZoo API, batched protocol, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.utils.conversions import parallel_to_aec

from marlloc.core.protocol import ActionError, Box, Discrete
from marlloc.envs import ENVS, make, make_parallel

# sizes per environment id: small, medium and with an agent leaving mid-episode
SIZES = {
    "edge_market_v0": [
        dict(n_users=1, n_edges=0, episode_rounds=20),
        dict(n_users=12, n_edges=2, episode_rounds=30),
        dict(n_users=200, n_edges=5, episode_rounds=25),
        dict(n_users=20, n_edges=3, episode_rounds=30,
             events=[{"kind": "node_failure", "start_round": 7, "node": 2}]),
    ],
    "economy_v0": [
        dict(n_countries=1, n_firms=1, n_households=1, episode_steps=20),
        dict(n_countries=2, n_firms=3, n_households=2, episode_steps=40),
        dict(),  # the paper's 100 agents
        dict(n_countries=3, n_levels=3, split="test", episode_steps=30),
    ],
    # one-shot games: default, a non-default game with reward noise (index 1 drives the determinism tests), tiny
    "cournot_v0": [dict(), dict(costs=(5.0, 10.0, 40.0), n_levels=51, reward_noise=0.1, episode_steps=4),
                   dict(costs=(10.0,), n_levels=2, nash_conv_info=False)],
    "bertrand_v0": [dict(), dict(alpha=8.0, gamma=0.2, costs=(1.0, 1.5, 2.0, 2.5, 3.0), n_levels=21,
                                 reward_noise=0.05, episode_steps=3), dict(costs=(0.0,), n_levels=2)],
    "kelly_v0": [dict(), dict(values=(1.0, 1.0, 2.0), reserve=0.5, n_levels=101, reward_noise=0.1, episode_steps=5),
                 dict(values=(1.0, 2.0), capacity=3.0, n_levels=2)],
    "stackelberg_v0": [dict(), dict(weights=(2.0, 4.0), capacity=1.0, marginal_cost=0.5, n_levels=31,
                                    reward_noise=0.1, episode_steps=2), dict(weights=(1.0,), n_levels=2)],
    "fisher_v0": [dict(), dict(budgets=(1.0, 1.0), exponents=((1.0, 0.0), (0.5, 0.5)), n_levels=11,
                               reward_noise=0.1, episode_steps=3), dict(budgets=(2.0,), exponents=((1.0,),))],
    "congestion_v0": [dict(), dict(a=(1.0, 1.0), b=(0.0, 2.0), demand=4.0, n_users=40, reward_noise=0.1,
                                   episode_steps=6), dict(a=(2.0,), b=(1.0,), demand=1.0)],
    "battle_of_the_sexes_v0": [dict(), dict(reward_noise=0.1, episode_steps=10), dict(nash_conv_info=False)],
    "biased_rps_v0": [dict(), dict(reward_noise=0.01, episode_steps=10), dict(episode_steps=2)],
    "shapley_v0": [dict(), dict(reward_noise=0.1, episode_steps=7), dict(episode_steps=2)],
}
# how each environment names its horizon, and a config long enough for 250 steps
LONG = {
    "edge_market_v0": lambda n: dict(episode_rounds=n),
    "economy_v0": lambda n: dict(episode_steps=n, years=(1960, 2024)),
    **{env_id: (lambda n: dict(episode_steps=n)) for env_id in (
        "cournot_v0", "bertrand_v0", "kelly_v0", "stackelberg_v0", "fisher_v0", "congestion_v0",
        "battle_of_the_sexes_v0", "biased_rps_v0", "shapley_v0")},
}
CASES = [(env_id, cfg) for env_id in ENVS for cfg in SIZES[env_id]]
IDS = [f"{env_id}-{i}" for env_id in ENVS for i in range(len(SIZES[env_id]))]

# advisory warnings of PettingZoo's api_test about our (documented) choices: unbounded
# observation boxes, a Dict action space, roles with different observation sizes, and
# inactive users observing zeros
ADVISORY = [
    "ignore:Observation numpy array is all zeros:UserWarning",
    "ignore:Action space for each agent probably should be:UserWarning",
    "ignore:Agent's minimum observation space value is -infinity:UserWarning",
    "ignore:Agent's maximum observation space value is infinity:UserWarning",
    "ignore:Agents have different observation space sizes:UserWarning",
    "ignore:Observations are different shapes:UserWarning",
]


def test_every_registered_env_has_sizes():
    assert set(SIZES) == set(ENVS) == set(LONG)


@pytest.mark.parametrize(("env_id", "cfg"), CASES, ids=IDS)
def test_parallel_api(env_id, cfg):
    parallel_api_test(make_parallel(env_id, **cfg), num_cycles=60)


@pytest.mark.parametrize(("env_id", "cfg"), CASES, ids=IDS)
@pytest.mark.filterwarnings(*ADVISORY)
def test_aec_api(env_id, cfg):
    api_test(parallel_to_aec(make_parallel(env_id, **cfg)), num_cycles=60)


@pytest.mark.parametrize(("env_id", "cfg"), CASES, ids=IDS)
def test_batched_shapes_follow_role_specs(env_id, cfg, gen):
    env = make(env_id, **cfg)
    step = env.reset(n_envs=3, seed=0)
    for _ in range(3):
        for role in env.roles.values():
            assert step.obs[role.name].shape == (3, role.n_agents, role.obs_dim)
            assert len(role.obs_names) == role.obs_dim
            for part in (step.reward, step.active, step.done):
                assert part[role.name].shape == (3, role.n_agents)
            assert torch.isfinite(step.obs[role.name]).all()
        assert step.state.shape == (3, env.state_dim)
        assert step.truncated.shape == step.terminated.shape == (3,)
        step = env.step(env.sample_actions(gen))


def _rollout(env_id, cfg, seed, n_steps, n_envs=2):
    env = make(env_id, **cfg)
    g = torch.Generator().manual_seed(99)  # same actions for both runs
    step = env.reset(n_envs=n_envs, seed=seed)
    trace = []
    for _ in range(n_steps):
        if bool(step.truncated.all()):
            step = env.reset(n_envs=n_envs, seed=seed + 1)
        step = env.step(env.sample_actions(g))
        trace.append({r: (step.obs[r].clone(), step.reward[r].clone()) for r in env.roles})
    return trace


@pytest.mark.parametrize("env_id", list(ENVS))
def test_same_seed_same_trajectory_over_many_steps(env_id):
    cfg = dict(SIZES[env_id][1], **LONG[env_id](250))
    a, b = _rollout(env_id, cfg, 5, 250), _rollout(env_id, cfg, 5, 250)
    for sa, sb in zip(a, b, strict=True):
        for r in sa:
            assert torch.equal(sa[r][0], sb[r][0]) and torch.equal(sa[r][1], sb[r][1])
    c = _rollout(env_id, cfg, 6, 250)
    assert any(not torch.equal(sa[r][1], sc[r][1]) for sa, sc in zip(a, c, strict=True) for r in sa)


@pytest.mark.parametrize("env_id", list(ENVS))
def test_pettingzoo_face_is_deterministic_over_many_steps(env_id):
    cfg = dict(SIZES[env_id][1], **LONG[env_id](220))

    def run(seed):
        env = make_parallel(env_id, **cfg)
        obs, _ = env.reset(seed=seed)
        for i, a in enumerate(env.possible_agents):
            env.action_space(a).seed(i)
        out = []
        while env.agents:
            acts = {a: env.action_space(a).sample() for a in env.agents}
            obs, rew, *_ = env.step(acts)
            out.append((np.concatenate([obs[a] for a in sorted(obs)]), [rew[a] for a in sorted(rew)]))
        return out

    a, b, c = run(3), run(3), run(4)
    assert len(a) == 220
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b, strict=True))
    assert any(x[1] != y[1] for x, y in zip(a, c, strict=True))


def test_observations_stay_valid_for_one_more_step(gen):
    """Documented contract: obs of step t are still intact after step t+1 (double buffer)."""
    env = make("edge_market_v0", n_users=50, n_edges=2, episode_rounds=20)
    s0 = env.reset(2, seed=0)
    kept = s0.obs["user"].clone()
    s1 = env.step(env.sample_actions(gen))
    assert torch.equal(s0.obs["user"], kept)
    assert s1.obs["user"].data_ptr() != s0.obs["user"].data_ptr()
    inactive = ~s1.active["user"]
    assert (s1.obs["user"][inactive] == 0).all()  # inactive users observe zeros


def test_removed_agents_are_never_revived():
    env = make_parallel("edge_market_v0", n_users=10, n_edges=2, episode_rounds=20,
                        events=[{"kind": "node_failure", "start_round": 4, "node": 1}])
    env.reset(seed=0)
    seen_removed = False
    while env.agents:
        before = set(env.agents)
        _, _, term, trunc, _ = env.step({a: env.action_space(a).sample() for a in env.agents})
        assert set(env.agents) <= before
        if "provider_1" in before and "provider_1" not in env.agents and not all(trunc.values()):
            assert term["provider_1"]
            seen_removed = True
        if seen_removed:
            assert "provider_1" not in env.agents
    assert seen_removed


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda a: a["user"].__setitem__("node", a["user"]["node"] + 100), "must lie in 0.."),
    (lambda a: a["user"].__setitem__("bid", a["user"]["bid"] + 2), r"must lie in \[0.0, 1.0\]"),
    (lambda a: a["user"].__setitem__("bid", a["user"]["bid"] * float("nan")), r"must lie in \[0.0, 1.0\]"),
    (lambda a: a["provider"].__setitem__("price", a["provider"]["price"][:, :1]), "must have shape"),
    (lambda a: a["user"].__setitem__("node", a["user"]["node"].float()), "integer tensor"),
    (lambda a: a.pop("provider"), "actions for role 'provider' missing"),
])
def test_bad_actions_raise_one_line(mutate, match, gen):
    env = make("edge_market_v0", n_users=5, n_edges=1, episode_rounds=5)
    env.reset(2, seed=0)
    acts = env.sample_actions(gen)
    mutate(acts)
    with pytest.raises(ActionError, match=match) as e:
        env.step(acts)
    assert "\n" not in str(e.value)


def test_action_specs_are_discrete_or_box():
    for env_id in ENVS:
        for role in make(env_id).roles.values():
            assert all(isinstance(sp, (Discrete, Box)) for sp in role.actions.values())


def test_unknown_env_id_lists_valid_ids():
    with pytest.raises(ValueError, match="edge_market_v0"):
        make("edge_market_v9")


def _same(a, b) -> bool:
    """Deep equality of state dicts (tensors, lists, numbers)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


@pytest.mark.parametrize("env_id", [e for e in ENVS if hasattr(ENVS[e], "select")])
def test_a_selected_copy_steps_like_its_source_and_leaves_it_untouched(env_id, gen):
    """``select`` makes the what-if copies of deviation searches: a copy of the whole batch
    continues exactly like it, and stepping the copy changes nothing in the batch."""
    env = make(env_id, **SIZES[env_id][1])
    env.reset(3, seed=5)
    for _ in range(3):
        env.step(env.sample_actions(gen))
    before = env.state_dict()
    sub = env.select(torch.arange(3))
    acts = [env.sample_actions(gen) for _ in range(4)]
    seen = []
    for a in acts:
        s = sub.step(a)
        seen.append({r: (s.obs[r].clone(), s.reward[r].clone()) for r in env.roles})
    assert _same(env.state_dict(), before)
    for a, copy_step in zip(acts, seen, strict=True):
        s = env.step(a)
        for r in env.roles:
            assert torch.equal(s.obs[r], copy_step[r][0]) and torch.equal(s.reward[r], copy_step[r][1])
