"""The edge market's stage-game search (EdgeStage): brute-force agreement, δ ≥ 0, best responses,
the evaluation metrics and their one-line errors."""

from __future__ import annotations

import pytest
import torch

from marlloc.core.errors import ConfigError
from marlloc.envs import make
from marlloc.evaluation import NASH_KEYS, evaluate, rollout
from marlloc.policies import QUOTE_MARGIN, act, joint
from marlloc.solvers.edge_stage import EdgeStage

TINY = dict(n_users=4, n_edges=1, episode_rounds=8, arrival_prob=0.9)
SMALL = dict(n_users=30, n_edges=3, episode_rounds=20, arrival_prob=0.7)


def _at(cfg: dict, user: str, rounds: int, n_envs: int = 2, seed: int = 0):
    """Environment, joint policy and the joint action it chooses after ``rounds`` rounds."""
    env = make("edge_market_v0", **cfg)
    pol = joint(env, user, "fixed", seed)
    step = env.reset(n_envs=n_envs, seed=seed)
    for _ in range(rounds):
        step = env.step(act(pol, step))
    return env, pol, act(pol, step)


def _fresh(env, cfg: dict):
    """An independent copy through the checkpoint path (not ``select``)."""
    other = make("edge_market_v0", **cfg)
    other.load_state_dict(env.state_dict())
    return other


def _with(actions: dict, role: str, e: int, i: int, **comps) -> dict:
    out = {r: {c: v.clone() for c, v in cs.items()} for r, cs in actions.items()}
    for c, v in comps.items():
        out[role][c][e, i] = v
    return out


@pytest.mark.parametrize("user", ["random", "greedy"])
def test_user_gains_match_a_brute_force_loop_over_fresh_copies(user):
    env, pol, actions = _at(TINY, user, 3)
    stage = EdgeStage(env, n_users=4, bid_levels=5, seed=1)
    g = stage.gains(actions, pol)
    M, checked, st = env.n_nodes, 0, env._s
    for e, s in (g.user_index >= 0).nonzero().tolist():
        u = int(g.user_index[e, s])
        chosen = float(_fresh(env, TINY).step(actions).reward["user"][e, u])
        quote = env.quotes(st.prices, torch.tensor([e]), st.task_type[e, u:u + 1])[0]
        at_quote = (quote / st.budget[e, u] * (1 + QUOTE_MARGIN)).clamp(0, 1)
        best = chosen
        for node in range(M + 1):
            for bid in [*torch.linspace(0, 1, 5).tolist(), float(at_quote[node])] if node < M else [0.0]:
                a = _with(actions, "user", e, u, node=node, bid=torch.tensor([bid]))
                best = max(best, float(_fresh(env, TINY).step(a).reward["user"][e, u]))
        assert float(g.user[e, s]) == pytest.approx(best - chosen, abs=1e-6)
        checked += 1
    assert checked >= 2 and float(g.user.max()) > 0  # not a trivial 0 = 0
    assert torch.equal(g.n_active, env._s.pending.sum(1).to(g.n_active.dtype))


@pytest.mark.parametrize("user", ["random", "greedy", "optimum"])
def test_provider_gains_match_a_brute_force_two_round_lookahead(user):
    """Literal definition: post the price, let the frozen policies act on the next round, sum the
    two rounds; a random policy meets the same draws in every candidate's next round, and the
    optimum decides for the copy as it would for the batch."""
    env, pol, actions = _at(TINY, user, 2)
    g_state = pol["user"].g.get_state() if user == "random" else None
    stage = EdgeStage(env, price_levels=3)
    gains = stage.gains(actions, pol)
    if g_state is not None:  # the search leaves the policy's generator as it was
        assert torch.equal(pol["user"].g.get_state(), g_state)

    def two_rounds(a: dict, e: int, p: int) -> float:
        copy = _fresh(env, TINY)
        st = copy.step(a)
        if g_state is not None:
            pol["user"].g.set_state(g_state)
        frozen = joint(copy, "optimum", "fixed", 0) if user == "optimum" else pol  # the optimum reads the state
        r2 = copy.step(act(frozen, st)).reward["provider"][e, p]
        return float(st.reward["provider"][e, p] + r2)

    for e in range(env.n_envs):
        for p in range(env.n_nodes):
            chosen = two_rounds(actions, e, p)
            best = max([chosen] + [two_rounds(_with(actions, "provider", e, p, price=torch.full((3,), f)), e, p)
                                   for f in (0.0, 0.5, 1.0)])
            assert float(gains.provider[e, p]) == pytest.approx(best - chosen, abs=1e-5)
    assert float(gains.provider.max()) > 0


@pytest.mark.parametrize("user", ["random", "greedy", "sequential_greedy", "optimum"])
def test_gains_are_never_negative_since_the_chosen_action_is_a_candidate(user):
    env = make("edge_market_v0", **SMALL)
    pol = joint(env, user, "fixed", 0)
    stage = EdgeStage(env, n_users=4, seed=0)
    step = env.reset(n_envs=2, seed=3)
    for t in range(SMALL["episode_rounds"]):
        actions = act(pol, step)
        if t % 4 == 1:
            g = stage.gains(actions, pol)
            assert float(g.user.min()) >= -1e-6 and float(g.provider.min()) >= -1e-6
            assert bool((g.epsilon_rel >= -1e-6).all() & (g.epsilon_rel <= 1 + 1e-6).all())
            assert bool((g.nash_conv >= g.nash_conv_sampled - 1e-6).all())
        step = env.step(actions)


def test_a_user_moved_to_its_best_grid_response_has_no_gain_left():
    """Move the first sampled user of every environment to its best candidate, others frozen: the
    same search (same seed, same state) then finds δ = 0 for it."""
    env, pol, actions = _at(SMALL, "greedy", 6)
    stage = EdgeStage(env, n_users=3, seed=2)
    users = stage.sample_users()
    assert bool((users[:, 0] >= 0).all())
    own = stage.user_deviations(actions, users)                                  # [E, S, C]
    node, bid = stage.user_candidates(actions, users)
    best = own[:, 0].argmax(1)                                                     # [E]
    moved = {r: {c: v.clone() for c, v in cs.items()} for r, cs in actions.items()}
    for e in range(env.n_envs):
        u, c = int(users[e, 0]), int(best[e])
        moved["user"]["node"][e, u], moved["user"]["bid"][e, u, 0] = node[e, 0, c], bid[e, 0, c]
    before = EdgeStage(env, n_users=3, seed=2).gains(actions, pol)
    after = EdgeStage(env, n_users=3, seed=2).gains(moved, pol)
    assert torch.equal(after.user_index, before.user_index)
    assert float(after.user[:, 0].abs().max()) <= 1e-6
    assert bool((before.user[:, 0] >= after.user[:, 0] - 1e-6).all())


def test_the_search_leaves_the_episode_untouched():
    env = make("edge_market_v0", **SMALL)
    for user in ("random", "sequential_greedy"):
        off = rollout(env, joint(env, user, "random", 0), 2, 4, nash_every=0)
        on = rollout(env, joint(env, user, "random", 0), 2, 4, nash_every=3)
        for k, v in off.items():
            if k != "wall_s":
                assert torch.equal(v, on[k]), k
        assert all(bool(torch.isfinite(on[k]).all()) for k in NASH_KEYS)


def test_evaluate_summary_has_the_stage_game_metrics():
    ev = evaluate(["random", "greedy"], "edge_market_v0", dict(n_users=10, n_edges=2, episode_rounds=8),
                  episodes=2, seeds=0, bound=False, nash_every=3)
    for name in ("random", "greedy"):
        p = ev.policies[name]
        for k in NASH_KEYS:
            assert p[k]["n"] == 2 and p[k]["mean"] >= -1e-6
        assert p["nash_conv"]["mean"] >= p["nash_conv_sampled"]["mean"] - 1e-9
        assert p["epsilon"]["mean"] >= p["epsilon_user"]["mean"] - 1e-9
    assert all(k in ev.rows[0] for k in NASH_KEYS)
    short = evaluate("random", "edge_market_v0", dict(n_users=10, n_edges=2, episode_rounds=4), episodes=1,
                     bound=False, nash_every=20)  # no searched round within the episode: n/a, not 0
    assert short.policies["random"]["nash_conv"]["n"] == 0


@pytest.mark.parametrize("bad", [-1, 2.5, "3", True, None])
def test_bad_nash_every_is_one_line(bad):
    with pytest.raises(ConfigError, match="nash_every must be an integer ≥ 0") as e:
        evaluate("random", "edge_market_v0", dict(n_users=10, n_edges=2, episode_rounds=4), episodes=1,
                 nash_every=bad)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("field", "value"), [("n_users", 0), ("bid_levels", 1), ("price_levels", 1.5)])
def test_bad_stage_settings_are_one_line(field, value):
    env = make("edge_market_v0", **TINY)
    with pytest.raises(ConfigError, match=f"{field} must") as e:
        EdgeStage(env, **{field: value})
    assert "\n" not in str(e.value)
