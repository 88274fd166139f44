"""Ground-truth games: closed forms against the worked examples, solvers against closed forms, the
negative controls, the efficiency bounds, deviation gains against brute force, and the game envs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from marlloc.core.errors import ConfigError
from marlloc.envs import make
from marlloc.envs.games import GAME_ENVS
from marlloc.games import (
    GAMES,
    Cournot,
    battle_of_the_sexes,
    bertrand,
    biased_rps,
    congestion,
    cournot,
    fisher_cobb_douglas,
    kelly,
    shapley,
    stackelberg_price,
)
from marlloc.metrics import deviation_gains, equilibrium_gaps, exploitability, nash_conv
from marlloc.solvers.equilibrium import (
    best_response_dynamics,
    fictitious_play,
    fractional_knapsack,
    minimax_lp,
)

RNG = np.random.default_rng(20240611)


def rel_nash_conv(game, profile) -> float:
    return nash_conv(game, profile) / game.payoff_range()


def random_games(n: int = 8):
    """Random instances of every continuous game, corner cases included (dropped firms, reserves, κ > 0)."""
    out = []
    for _ in range(n):
        k = int(RNG.integers(2, 7))
        out.append(cournot(a=float(RNG.uniform(50, 150)), b=float(RNG.uniform(0.5, 3)),
                           costs=RNG.uniform(0, 80, k)))                       # expensive firms drop out
        gamma = float(RNG.uniform(0, 1.9 / (k - 1)))
        out.append(bertrand(alpha=float(RNG.uniform(8, 12)), beta=1.0, gamma=gamma, costs=RNG.uniform(0, 3, k)))
        out.append(kelly(values=RNG.uniform(0.05, 3, k), capacity=float(RNG.uniform(0.5, 5)),
                         reserve=float(RNG.choice([0.0, RNG.uniform(0.01, 2)]))))
        out.append(stackelberg_price(weights=RNG.uniform(0.2, 6, k), capacity=float(RNG.uniform(0.5, 6)),
                                     marginal_cost=float(RNG.choice([0.0, RNG.uniform(0.1, 1.5)]))))
        out.append(fisher_cobb_douglas(budgets=RNG.uniform(0.5, 3, k), exponents=RNG.uniform(0, 1, (k, 3))))
        out.append(congestion(a=RNG.uniform(0.2, 3, k), b=RNG.uniform(0, 5, k), demand=float(RNG.uniform(0.5, 6)),
                              n_classes=int(RNG.integers(1, 4))))
    return out


# --- closed forms ------------------------------------------------------------------------------
def test_worked_examples_of_the_design():
    g = cournot()
    q = g.equilibrium()
    np.testing.assert_allclose(q, [10.7, 9.7, 8.2, 5.7], atol=1e-12)
    assert float(g.price(q)) == pytest.approx(31.4, abs=1e-12)
    np.testing.assert_allclose(g.payoffs(q), g.b * q**2, rtol=1e-12)          # π_i* = b·q_i*²

    np.testing.assert_allclose(bertrand().equilibrium(), [38 / 9, 42 / 9, 46 / 9], rtol=1e-12)  # 4.222, 4.667, 5.111

    g = kelly()
    np.testing.assert_allclose(g.equilibrium(), [4 / 3 - 16 / 27, 4 / 3 - 8 / 9, 4 / 3 - 32 / 27, 0], atol=1e-12)
    np.testing.assert_allclose(g.equilibrium(), [0.741, 0.444, 0.148, 0], atol=5e-4)
    assert float(g.efficiency(g.equilibrium())) == pytest.approx(5 / 6, abs=1e-12)   # 0.833

    g = stackelberg_price()
    eq = g.equilibrium()
    assert eq[0] == pytest.approx(10 / 7, abs=1e-12)
    np.testing.assert_allclose(eq[1:], [2.5, 1.1, 0.4, 0.0], atol=1e-12)

    g = congestion()
    np.testing.assert_allclose(g.equilibrium_loads(), [7 / 3, 2 / 3, 0], atol=1e-12)
    assert g.cost_level() == pytest.approx(7 / 3, abs=1e-12)

    np.testing.assert_allclose(battle_of_the_sexes().equilibrium(), [2 / 3, 1 / 3, 1 / 3, 2 / 3], atol=1e-12)
    np.testing.assert_allclose(biased_rps().equilibrium(), np.tile([1 / 16, 10 / 16, 5 / 16], 2), atol=1e-12)
    np.testing.assert_allclose(shapley().equilibrium(), np.full(6, 1 / 3), atol=1e-12)


@pytest.mark.parametrize("name", list(GAMES))
def test_every_closed_form_has_zero_nash_conv(name):
    g = GAMES[name]()
    eq = g.equilibrium()
    assert eq.shape == (g.dim,)
    assert (eq >= g.low - 1e-12).all() and (eq <= g.high + 1e-12).all()
    assert abs(rel_nash_conv(g, eq)) <= 1e-9


def test_closed_forms_of_random_instances_and_corner_cases():
    games = [*random_games(), congestion(atomic=True, demand=7.0), congestion(atomic=True, demand=2.0, n_users=25),
             kelly(values=(1.0,), reserve=0.5), cournot(costs=(10.0, 90.0, 120.0))]
    for g in games:
        gains = deviation_gains(g, g.equilibrium())
        assert np.abs(gains).max() / g.payoff_range() <= 1e-9, g.name
    # the corner cases really are corners: a firm produces nothing, a user bids nothing
    assert (cournot(costs=(10.0, 90.0, 120.0)).equilibrium()[1:] == 0).all()
    assert kelly().equilibrium()[3] == 0


def test_fisher_equilibrium_satisfies_kkt():
    for g in [fisher_cobb_douglas()] + [x for x in random_games(4) if x.name == "fisher"]:
        eq = g.equilibrium()
        assert g.kkt_residual(eq) <= 1e-12
        np.testing.assert_allclose(eq[-g.n_goods:], g.exponents.T @ g.budgets, rtol=1e-15)
    g = fisher_cobb_douglas()
    off = g.deviate(g.equilibrium(), g.n_players - 1, g.prices_ * 1.1)   # prices too high: markets do not clear
    assert g.kkt_residual(off) > 0.05


def test_stackelberg_price_matches_a_grid_search():
    games = [stackelberg_price()] + [x for x in random_games(8) if x.name == "stackelberg"]
    for g in games:
        grid = np.linspace(0, g.weights.max(), 400_001)
        profit = g.leader_profit(grid)
        assert float(g.leader_profit(g.price_)) >= profit.max() - 1e-12 * g.payoff_range()
        assert abs(grid[profit.argmax()] - g.price_) <= 1e-4 * g.weights.max()


# --- solvers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cournot", "bertrand", "kelly", "stackelberg_price", "fisher_cobb_douglas"])
@pytest.mark.parametrize("mode", ["sequential", "damped"])
def test_best_response_dynamics_reach_the_closed_form(name, mode):
    g = GAMES[name]()
    res = best_response_dynamics(g, mode, tol=1e-14, max_iter=2000)
    assert res.converged and res.relative_nash_conv <= 1e-14
    assert g.equilibrium_error(res.profile) <= 1e-6
    assert res.history.shape == (res.iterations + 1,) and res.history[-1] == res.nash_conv


def test_best_response_dynamics_on_random_instances_and_wardrop_classes():
    for g in random_games(4):
        init = g.low + RNG.uniform(0, 1, g.dim) * (g.high - g.low)
        if g.name == "wardrop":  # every class routes its whole mass, in random proportions
            init = np.concatenate([RNG.dirichlet(np.ones(g.n_nodes)) * g.mass for _ in range(g.n_classes)])
        # Kelly without a reserve: damped (see the next test for why)
        mode = "damped" if g.name == "kelly" and g.reserve == 0 else "sequential"
        res = best_response_dynamics(g, mode, tol=1e-14, max_iter=5000, damping=0.2, init=init)
        assert res.converged, (g.name, res.relative_nash_conv)
        assert g.equilibrium_error(res.profile) <= 1e-6, g.name


def test_kelly_without_reserve_can_cycle_under_sequential_updates():
    """With δ = 0 a lone bidder's best response collapses to ~0 (it would win everything with any bid),
    which invites the others back: when one user outbids another's whole value v_j·C, sequential
    updates enter a 3-cycle (a small reserve, δ = 0.01, still leaves a 2-cycle). The solver must say
    so; damped updates converge."""
    g = kelly(values=(1.6, 0.14), capacity=4.77)
    seq = best_response_dynamics(g, tol=1e-14, max_iter=600)
    assert not seq.converged and (seq.history[-100:] / g.payoff_range()).min() > 0.1
    damped = best_response_dynamics(g, "damped", tol=1e-14, max_iter=600)
    assert damped.converged and g.equilibrium_error(damped.profile) <= 1e-6


def test_simultaneous_updates_do_not_converge_on_cournot_but_sequential_and_damped_do():
    for costs in [(10, 12, 15), (10, 12, 15, 20), (5, 5, 5, 5, 5)]:
        g = cournot(costs=costs)
        jacobi = best_response_dynamics(g, "simultaneous", tol=1e-9, max_iter=500)
        assert not jacobi.converged and jacobi.iterations == 500
        assert (jacobi.history[-100:] / g.payoff_range()).min() > 0.1      # the error stays large
        assert np.abs(jacobi.profile - g.equilibrium()).max() > 5           # 11–18 in the design note
        for mode in ("sequential", "damped"):
            res = best_response_dynamics(g, mode, tol=1e-14)
            assert res.converged and g.equilibrium_error(res.profile) <= 1e-6


def test_stop_rule_is_relative_to_the_payoff_scale():
    small, large = cournot(), cournot(a=1000.0, b=2.0, costs=(100.0, 120.0, 150.0, 200.0))  # payoffs × 100
    r1, r2 = best_response_dynamics(small, tol=1e-9), best_response_dynamics(large, tol=1e-9)
    assert r1.iterations == r2.iterations and r1.converged and r2.converged
    at_eq = best_response_dynamics(small, init=small.equilibrium())
    assert at_eq.iterations == 0 and at_eq.converged


def test_fictitious_play_does_not_report_convergence_on_shapley():
    g = shapley()
    res = fictitious_play(g, max_iter=3000)
    assert not res.converged and res.iterations == 3000
    assert (res.history[1000:] / g.payoff_range()).min() > 0.2              # ≈ 0.28: it cycles


def test_biased_rps_by_lp_and_fictitious_play():
    g = biased_rps()
    lp = minimax_lp(g)
    assert lp.converged and g.equilibrium_error(lp.profile) <= 1e-9
    fp = fictitious_play(g, max_iter=3000)
    assert fp.relative_nash_conv < 0.01 and fp.history[-1] < fp.history[10]   # slow but heading there
    assert exploitability(g, lp.profile) == pytest.approx(0.0, abs=1e-9)
    assert exploitability(g, g.initial_profile()) == pytest.approx(nash_conv(g, g.initial_profile()) / 2)
    with pytest.raises(ValueError, match="constant-sum"):
        exploitability(battle_of_the_sexes(), g.initial_profile()[:4])


def test_atomic_congestion_sequential_best_responses_terminate():
    for _ in range(20):
        M = int(RNG.integers(2, 6))
        g = congestion(a=RNG.uniform(0.2, 3, M), b=RNG.uniform(0, 5, M), demand=float(RNG.integers(1, 40)), atomic=True)
        x = RNG.integers(0, M, g.n_players).astype(float)
        phi = g.potential(x)
        for _sweep in range(g.n_players * M + 1):  # Φ takes finitely many values and drops at every switch
            moved = False
            for i in range(g.n_players):
                y = g.deviate(x, i, g.best_response(i, x))
                if y[i] != x[i]:
                    gain = g.payoffs(y)[i] - g.payoffs(x)[i]
                    assert gain > 0 and g.potential(y) == pytest.approx(phi - gain)  # Rosenthal: ΔΦ = −gain
                    x, phi, moved = y, g.potential(y), True
            if not moved:
                break
        assert not moved and nash_conv(g, x) == 0.0
        res = best_response_dynamics(g, tol=0.0, init=RNG.integers(0, M, g.n_players).astype(float))
        assert res.converged and res.nash_conv == 0.0
    with pytest.raises(ConfigError, match="damped"):
        best_response_dynamics(congestion(atomic=True), "damped")


def test_many_atomic_users_approach_the_wardrop_split():
    g = congestion(atomic=True, n_users=3000)
    assert np.abs(g.counts(g.equilibrium()) * g.weight - congestion().equilibrium_loads()).max() < 1e-2


# --- efficiency bounds -------------------------------------------------------------------------
def test_kelly_efficiency_is_at_least_three_quarters():
    assert float(kelly().efficiency(kelly().equilibrium())) == pytest.approx(0.8333, abs=1e-4)
    worst = 1.0
    for _ in range(300):
        g = kelly(values=RNG.pareto(1.0, int(RNG.integers(2, 12))) + 1e-3, capacity=float(RNG.uniform(0.1, 10)))
        worst = min(worst, float(g.efficiency(g.equilibrium())))
    assert 0.75 <= worst < 1


def test_wardrop_price_of_anarchy_is_at_most_four_thirds():
    worst = 1.0
    for _ in range(300):
        M = int(RNG.integers(2, 6))
        g = congestion(a=RNG.uniform(0.01, 5, M), b=RNG.uniform(0, 5, M), demand=float(RNG.uniform(0.1, 10)))
        poa = g.price_of_anarchy()
        assert 1 - 1e-12 <= poa <= 4 / 3 + 1e-12
        assert float(g.efficiency(g.equilibrium())) == pytest.approx(1 / poa)
        worst = max(worst, poa)
    pigou = congestion(a=(1.0, 1e-9), b=(0.0, 1.0), demand=1.0)     # the bound is tight
    assert pigou.price_of_anarchy() == pytest.approx(4 / 3, abs=1e-6)


# --- deviation gains ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cournot", "bertrand", "kelly", "stackelberg_price"])
def test_deviation_gains_match_a_brute_force_grid(name):
    g = GAMES[name]()
    x = g.low + (g.high - g.low) * RNG.uniform(0.05, 0.6, g.dim)     # not an equilibrium
    gains = deviation_gains(g, x)
    assert (gains > 0).all()
    for i in range(g.n_players):
        grid = np.linspace(g.low[i], g.high[i], 200_001)
        trial = np.repeat(x[None], grid.size, 0)
        trial[:, i] = grid
        brute = g.payoffs(trial)[:, i].max() - g.payoffs(x)[i]
        assert gains[i] >= brute - 1e-9 * g.payoff_range()              # the analytic BR is never beaten
        assert gains[i] - brute <= 1e-6 * g.payoff_range()              # and the grid comes close to it


def test_deviation_gains_of_matrix_games_and_fisher_against_enumeration():
    for g in (battle_of_the_sexes(), biased_rps(), shapley()):
        x = np.concatenate([RNG.dirichlet(np.ones(g.n_actions[0])), RNG.dirichlet(np.ones(g.n_actions[1]))])
        pure = [max(g.payoffs(g.deviate(x, i, np.eye(g.n_actions[i])[k]))[i] for k in range(g.n_actions[i]))
                for i in range(2)]
        np.testing.assert_allclose(deviation_gains(g, x), np.array(pure) - g.payoffs(x), atol=1e-12)
    g = fisher_cobb_douglas(budgets=(1.0, 2.0), exponents=((0.7, 0.3), (0.4, 0.6)))
    x = g.equilibrium() * np.array([1.3, 0.5, 0.9, 1.1, 0.8, 1.2])
    share = np.linspace(0, 1, 100_001)
    for i in range(2):  # a consumer's best spending splits its budget: one free share
        B = g.budgets[i]
        trial = np.repeat(x[None], share.size, 0)
        trial[:, 2 * i], trial[:, 2 * i + 1] = share * B, (1 - share) * B
        brute = g.payoffs(trial)[:, i].max() - g.payoffs(x)[i]
        assert deviation_gains(g, x)[i] == pytest.approx(brute, abs=1e-8)


def test_negative_deviation_gains_are_kept_and_gaps_are_named():
    class Lazy(Cournot):  # a "best response" that is not one: produce nothing
        def best_responses(self, profile):
            return np.zeros_like(np.asarray(profile, dtype=float))

    g = Lazy()
    gains = deviation_gains(g, g.equilibrium())
    assert (gains < 0).all()                                           # not clipped to 0
    gaps = equilibrium_gaps(cournot(), [20.0, 5.0, 5.0, 5.0])
    assert gaps["nash_conv"] == pytest.approx(gaps["deviation_gains"].sum())
    assert gaps["epsilon"] == pytest.approx(gaps["deviation_gains"].max())
    assert gaps["relative_nash_conv"] == pytest.approx(gaps["nash_conv"] / cournot().payoff_range())
    batch = np.stack([cournot().equilibrium(), np.array([20.0, 5.0, 5.0, 5.0])])
    np.testing.assert_allclose(nash_conv(cournot(), batch), [nash_conv(cournot(), b) for b in batch])


def test_profile_helpers_round_trip():
    g = biased_rps()
    x, y = g.split(g.equilibrium())
    np.testing.assert_array_equal(g.join([x, y]), g.equilibrium())
    g = cournot()
    assert isinstance(g.best_response(0, g.equilibrium()), float)
    np.testing.assert_array_equal(g.join([1.0, 2.0, 3.0, 4.0]), [1.0, 2.0, 3.0, 4.0])


# --- LP sanity ----------------------------------------------------------------------------------
def test_fractional_knapsack_greedy_equals_lp_and_price_is_the_marginal_value():
    for _ in range(30):
        n = int(RNG.integers(2, 12))
        v, d = RNG.uniform(0.1, 10, n), RNG.uniform(0.1, 3, n)
        C = float(RNG.uniform(0.1, d.sum() * 0.9))
        greedy, lp = fractional_knapsack(v, d, C), fractional_knapsack(v, d, C, method="lp")
        assert greedy.objective == pytest.approx(lp.objective, rel=1e-9)
        marginal = (greedy.allocation > 1e-9) & (greedy.allocation < d - 1e-9)
        assert marginal.sum() == 1                                     # generic instance: one partly served agent
        assert greedy.price == pytest.approx(v[marginal][0]) and lp.price == pytest.approx(greedy.price, rel=1e-9)
    slack = fractional_knapsack([3.0, 1.0], [1.0, 1.0], 5.0)
    assert slack.price == 0.0 and slack.objective == 4.0


# --- environments ------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", list(GAME_ENVS))
def test_env_rewards_are_the_game_payoffs_at_the_grid_actions(env_id, gen):
    env = make(env_id, episode_steps=3)
    g = env.game
    env.reset(n_envs=5, seed=0)
    for _ in range(3):
        acts = env.sample_actions(gen)
        step = env.step(acts)
        prof = env.profile(acts)
        pay = g.payoffs(prof)
        gains = deviation_gains(g, prof)
        for role, players in g.roles.items():
            torch.testing.assert_close(step.reward[role], torch.as_tensor(pay[:, list(players)], dtype=torch.float32))
        torch.testing.assert_close(step.info["game/nash_conv"], torch.as_tensor(gains.sum(1), dtype=torch.float32))
    assert bool(step.truncated.all())
    if not g.finite:  # level k plays low + (high − low)·k/(K − 1)
        lv = {r.name: {c: torch.full((5, r.n_agents), 250) for c in r.actions} for r in env.roles.values()}
        np.testing.assert_allclose(env.profile(lv), np.broadcast_to(g.low + (g.high - g.low) / 4, (5, g.dim)))


def test_env_at_the_equilibrium_grid_point_has_a_tiny_nash_conv():
    env = make("cournot_v0")  # q* = (10.7, 9.7, 8.2, 5.7) is on the 0.05 grid: levels 214, 194, 164, 114
    env.reset(n_envs=1, seed=0)
    step = env.step({"player": {"quantity": torch.tensor([[214, 194, 164, 114]])}})
    assert float(step.info["game/nash_conv"][0]) <= 1e-9 * env.game.payoff_range()
    torch.testing.assert_close(step.info["game/welfare"].double(), torch.as_tensor([env.game.welfare(env.game.equilibrium())]))
    env = make("shapley_v0")
    env.reset(n_envs=2, seed=0)
    step = env.step({"player": {"action": torch.tensor([[0, 0], [1, 2]])}})
    torch.testing.assert_close(step.reward["player"], torch.tensor([[0.0, 0.0], [0.0, 1.0]]))


@pytest.mark.parametrize("env_id", ["kelly_v0", "fisher_v0", "biased_rps_v0"])
def test_env_noise_is_seeded_and_checkpoints_continue_exactly(env_id):
    def run(seed, steps=6, split_at=None):
        env = make(env_id, episode_steps=10, reward_noise=0.2)
        g = torch.Generator().manual_seed(7)
        env.reset(n_envs=4, seed=seed)
        out = []
        for t in range(steps):
            if t == split_at:
                sd = env.state_dict()
                env = make(env_id, episode_steps=10, reward_noise=0.2)
                env.load_state_dict(sd)
            step = env.step(env.sample_actions(g))
            out.append(torch.cat([step.reward[r] for r in env.roles], 1))
        return torch.stack(out)

    a, b, c = run(1), run(1), run(2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a, run(1, split_at=3))


def test_bad_parameters_raise_one_line_config_errors():
    bad = [
        lambda: bertrand(beta=1.0, gamma=1.0, costs=(1.0, 2.0, 3.0)),          # 2β ≤ (n − 1)γ
        lambda: bertrand(alpha=1.0, costs=(1.0, 2.0, 3.0)),                     # no margin at the NE
        lambda: kelly(capacity=-1.0),
        lambda: kelly(values=(1.0,)),                                           # lone bidder, no reserve
        lambda: cournot(b=0.0),
        lambda: cournot(costs=(-1.0, 2.0)),
        lambda: stackelberg_price(weights=(1.0, 0.0)),
        lambda: stackelberg_price(capacity=-4.0),
        lambda: fisher_cobb_douglas(budgets=(1.0, 2.0), exponents=((1.0, 0.0),)),
        lambda: fisher_cobb_douglas(budgets=(1.0,), exponents=((1.0, 0.0),)),   # a good nobody wants
        lambda: congestion(a=(0.0, 1.0), b=(0.0, 1.0)),
        lambda: congestion(a=(1.0, 1.0), b=(0.0,)),
        lambda: congestion(demand=2.5, atomic=True),
        lambda: make("cournot_v0", n_levels=1),
        lambda: make("kelly_v0", capacity=-1.0),
        lambda: make("bertrand_v0", gamma=2.0),
        lambda: make("shapley_v0", episode_steps=0),
        lambda: make("fisher_v0", price=3),
        lambda: best_response_dynamics(cournot(), mode="jacobi"),
        lambda: fictitious_play(cournot()),
    ]
    for build in bad:
        with pytest.raises(ConfigError) as e:
            build()
        assert "\n" not in str(e.value)
