"""The per-round optimum: brute force on tiny instances, empty and infeasible rounds, and the
LP bound really bounding what every policy gets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from marlloc.envs import make
from marlloc.metrics import EdgeEpisodeMetrics
from marlloc.policies import act, joint
from marlloc.solvers import AssignmentOptimum, RoundInstance


def brute_force(inst: RoundInstance) -> tuple[float, list[int] | None]:
    """Enumerate every assignment; the exact optimum of the instance's objective."""
    E, M, K = inst.n_envs, inst.n_nodes, inst.n_tasks
    options = [np.flatnonzero(inst.feasible[i]) for i in range(K)]
    best, best_a = -np.inf, None
    for a in itertools.product(*options):
        used = np.zeros((E, M, 4))
        util = inst.util0.copy()
        value = float(inst.const.sum())
        for i, j in enumerate(a):
            value += inst.coef[i, j]
            if j < M:
                used[inst.task_env[i], j] += inst.demand[i]
                util[inst.task_env[i], j] += inst.util_gain[i, j]
        if (used > inst.free + 1e-12).any():
            continue
        value -= float((inst.overload_penalty * (util > inst.threshold)).sum())
        if value > best:
            best, best_a = value, list(a)
    return best, best_a


def random_instance(rng: np.random.Generator, E: int, M: int, K: int, local: bool = True) -> RoundInstance:
    feasible = rng.random((K, M + 1)) < 0.7
    feasible[:, M] = local
    return RoundInstance(
        n_envs=E, n_nodes=M, task_env=rng.integers(E, size=K), task_index=np.arange(K),
        coef=rng.normal(size=(K, M + 1)), feasible=feasible, payment=rng.random((K, M)), budget=np.ones(K),
        demand=rng.uniform(0.5, 2.0, (K, 4)), free=rng.uniform(0.0, 4.0, (E, M, 4)),
        util_gain=rng.uniform(0.05, 0.4, (K, M)), util0=rng.uniform(0.3, 0.8, (E, M)),
        overload_penalty=rng.uniform(0.0, 1.0, (E, M)) * (rng.random((E, M)) < 0.8), threshold=0.9,
        const=rng.normal(size=E),
    )


@pytest.mark.parametrize("seed", range(25))
def test_milp_equals_brute_force_on_random_tiny_instances(seed):
    rng = np.random.default_rng(seed)
    inst = random_instance(rng, E=int(rng.integers(1, 3)), M=int(rng.integers(1, 4)), K=int(rng.integers(1, 6)))
    want, _ = brute_force(inst)
    sol = AssignmentOptimum(mip_gap=0.0).solve(inst)
    assert sol.status_ == "optimal"
    assert sol.objective_ == pytest.approx(want, abs=1e-7)
    # the reported assignment is feasible and worth the reported objective
    got = brute_force_value(inst, sol.assignment_)
    assert got == pytest.approx(sol.objective_, abs=1e-7)
    lp = AssignmentOptimum(relax=True).solve(inst)
    assert lp.objective_ >= sol.objective_ - 1e-9
    assert sol.bound_ >= sol.objective_ - 1e-7


def brute_force_value(inst: RoundInstance, a) -> float:
    E, M = inst.n_envs, inst.n_nodes
    used = np.zeros((E, M, 4))
    util = inst.util0.copy()
    value = float(inst.const.sum())
    for i, j in enumerate(a):
        assert inst.feasible[i, j]
        value += inst.coef[i, j]
        if j < M:
            used[inst.task_env[i], j] += inst.demand[i]
            util[inst.task_env[i], j] += inst.util_gain[i, j]
    assert (used <= inst.free + 1e-7).all()
    return value - float((inst.overload_penalty * (util > inst.threshold + 1e-9)).sum())


def test_milp_equals_brute_force_on_market_rounds():
    """Instances built by the environment itself (tight edges, so capacity binds)."""
    env = make("edge_market_v0", n_users=6, n_edges=2, episode_rounds=12, arrival_prob=0.6,
               edge_compute_tflops=(15.0, 25.0), edge_bandwidth_mbps=(500.0, 900.0))
    g = torch.Generator().manual_seed(0)
    step = env.reset(2, seed=1)
    checked = 0
    for _ in range(12):
        inst = env.round_instance(deadline_filter=False)
        if 0 < inst.n_tasks <= 7:
            want, _ = brute_force(inst)
            sol = AssignmentOptimum(mip_gap=0.0).solve(inst)
            assert sol.objective_ == pytest.approx(want, abs=1e-7)
            checked += 1
        step = env.step(env.sample_actions(g))
    assert checked >= 3 and step is not None


def test_empty_round():
    rng = np.random.default_rng(0)
    inst = random_instance(rng, E=2, M=2, K=0)
    sol = AssignmentOptimum().solve(inst)
    assert sol.status_ == "empty" and sol.assignment_.shape == (0,)
    want = inst.const.sum() - (inst.overload_penalty * (inst.util0 > inst.threshold)).sum()
    assert sol.objective_ == pytest.approx(want, abs=1e-9)


def test_infeasible_round_is_reported_not_hidden():
    rng = np.random.default_rng(1)
    inst = random_instance(rng, E=1, M=2, K=3, local=False)
    inst.feasible[:, :2] = True
    inst.free[:] = 0.1  # nothing fits and running locally is not allowed
    sol = AssignmentOptimum().solve(inst)
    assert sol.status_ == "infeasible"
    assert (sol.assignment_ == -1).all() and np.isnan(sol.objective_)


@pytest.mark.parametrize("policy", ["random", "greedy", "sequential_greedy", "optimum"])
def test_lp_bound_bounds_the_realised_round_utility(policy):
    env = make("edge_market_v0", n_users=40, n_edges=3, episode_rounds=25,
               events=[{"kind": "node_failure", "start_round": 12}, {"kind": "burst", "start_round": 5, "rounds": 5},
                       {"kind": "bandwidth_fluctuation", "start_round": 8}])
    pol = joint(env, policy, "cost_plus")
    step = env.reset(3, seed=2)
    metrics = EdgeEpisodeMetrics(env)
    lp = AssignmentOptimum(relax=True)
    for _ in range(25):
        bound = lp.solve(env.round_instance(deadline_filter=False)).objective_per_env_
        before = metrics.su.clone()
        step = env.step(act(pol, step))
        metrics.update(step)
        realised = (metrics.su - before).numpy()
        assert (realised <= bound + 1e-6).all(), (realised, bound)


def test_optimum_policy_is_admitted_in_full_and_worth_no_more_than_its_milp_value():
    env = make("edge_market_v0", n_users=60, n_edges=3, episode_rounds=20)
    pol = joint(env, "optimum")
    step = env.reset(2, seed=0)
    metrics = EdgeEpisodeMetrics(env)
    for _ in range(20):
        before = metrics.su.clone()
        step = env.step(act(pol, step))
        metrics.update(step)
        sol = pol["user"].last
        assert sol.status_ in ("optimal", "empty")
        assert not (step.info["user/requested"] & ~step.info["user/admitted"]).any()
        realised = (metrics.su - before).numpy()
        assert (realised <= sol.objective_per_env_ + 1e-6).all()
