"""Joint policies for the economy (every role at once), the baselines of seed 004 §3.8.

A joint policy is a callable ``policy(step) -> actions`` for all roles. Names (``joint_policy``):

- ``random``: uniform levels for every agent.
- ``ncgt`` (non-cooperative game theory, no learning): each step, best-response dynamics on the
  *true* stage game (:class:`~marlloc.solvers.economy_stage.EconomyStage`, exact deviations)
  from the previous step's equilibrium (mid levels at the first step), until no agent gains or
  ``max_iter`` sweeps; plays the profile reached. Centralised in computation (it reads the
  state), decentralised in spirit: every agent only ever improves its own reward.
- ``lp`` (centralised optimisation): the sequential LP of the stage welfare
  (:class:`~marlloc.solvers.economy_stage.EconomyPlanner`), from the previous step's plan.
- ``pareto:G``: the same LP with the consumer-income Gini bounded by G (``pareto`` = 0.35).
- ``eqmarl:CHECKPOINT``, ``sarl:CHECKPOINT``: trained policies acting on their own observations
  (the mode of each action component).

Each call also records its solver figures in ``self.stats`` (iterations, convergence, seconds).
"""

from __future__ import annotations

import time

import torch

from marlloc.core.config import from_dict
from marlloc.core.errors import ConfigError
from marlloc.solvers.economy_stage import EconomyPlanner, EconomyStage

DEFAULT_GINI = 0.35


class RandomJoint:
    def __init__(self, env, seed: int = 0):
        self.env, self.g = env, torch.Generator(device=env.device).manual_seed(seed)
        self.stats: dict = {}

    def __call__(self, step):
        return self.env.sample_actions(self.g)


def _mid(env) -> dict:
    return {r.name: {c: torch.full((env.n_envs, r.n_agents), sp.n // 2, dtype=torch.long, device=env.device)
                     for c, sp in r.actions.items()} for r in env.roles.values()}


class _WarmStarted:
    """Starts each step from the previous step's profile (mid levels after a reset)."""

    def __init__(self, env):
        self.env, self.prev, self.stats = env, None, {"seconds": 0.0, "calls": 0}

    def new_episode(self) -> bool:
        return self.prev is None or self.env._s.step == 0 or self.prev["firm"]["level"].shape[0] != self.env.n_envs

    def start(self, step) -> dict:
        return _mid(self.env) if self.new_episode() else self.prev


class Ncgt(_WarmStarted):
    def __init__(self, env, max_iter: int = 20):
        super().__init__(env)
        self.max_iter = max_iter
        self.stats.update(iterations=0, not_converged=0)

    def __call__(self, step):
        t0 = time.perf_counter()
        res = EconomyStage(self.env).best_response_dynamics(self.start(step), max_iter=self.max_iter)
        self.prev = res.actions
        self.stats["iterations"] += res.iterations
        self.stats["not_converged"] += int(not res.converged)
        self.stats["calls"] += 1
        self.stats["seconds"] += time.perf_counter() - t0
        return res.actions


class Planned(_WarmStarted):
    def __init__(self, env, gini_max: float | None = None):
        super().__init__(env)
        self.planner = EconomyPlanner(gini_max=gini_max)
        # with a Gini bound: per environment, Σ over steps of the share of countries where even the
        # government's fairest choice breaks the bound, so the planner had to relax it   [E]
        self.relaxed: torch.Tensor | None = None

    def __call__(self, step):
        t0 = time.perf_counter()
        fresh = self.new_episode()
        self.prev = self.planner.solve(self.env, _mid(self.env) if fresh else self.prev).actions_
        if self.planner.gini_max is not None:
            share = torch.as_tensor(self.planner.relaxed_countries_.mean(1), dtype=torch.float64)
            self.relaxed = share if fresh else self.relaxed + share
        self.stats["calls"] += 1
        self.stats["seconds"] += time.perf_counter() - t0
        return self.prev


class Learned:
    """A trained eqmarl / sarl checkpoint acting greedily on observations."""

    def __init__(self, env, path: str):
        from pathlib import Path

        from marlloc.algos.eqmarl import Eqmarl, EqmarlConfig

        if not Path(path).is_file():
            raise ConfigError(f"checkpoint must be an existing file, got {path!r}; e.g. RUN/checkpoints/last.pt")
        ck = torch.load(path, weights_only=True, map_location=env.device)
        cfg = from_dict(EqmarlConfig, ck["algo_config"])
        self.learner = Eqmarl(env, cfg)
        try:
            self.learner.pi.load_state_dict(ck["learner"]["pi"])
        except RuntimeError:
            raise ConfigError(f"{path} was trained on another economy size; evaluate it with its own "
                              "n_countries, n_firms, n_households and n_levels") from None
        self.stats: dict = {}

    def __call__(self, step):
        return self.learner.act(step, explore=False, greedy=True)


TRAINED = ("eqmarl", "sarl")


def joint_policy(env, name: str, seed: int = 0):
    """A joint economy policy by name (see the module docstring)."""
    algo, sep, arg = name.partition(":")
    if algo in TRAINED and sep and arg:
        return Learned(env, arg)
    if name == "random":
        return RandomJoint(env, seed)
    if name == "ncgt":
        return Ncgt(env)
    if name == "lp":
        return Planned(env)
    if algo == "pareto":
        try:
            g = float(arg) if sep else DEFAULT_GINI
        except ValueError:
            raise ConfigError(f"pareto takes a Gini bound, e.g. pareto:0.3, got {name!r}") from None
        return Planned(env, gini_max=g)
    raise ConfigError(f"unknown economy policy {name!r}; choose random, ncgt, lp, pareto[:G], "
                      "eqmarl:CHECKPOINT or sarl:CHECKPOINT")


__all__ = ["DEFAULT_GINI", "Learned", "Ncgt", "Planned", "RandomJoint", "joint_policy"]
