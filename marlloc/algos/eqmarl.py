"""Equilibrium-based MARL (seed 004, Algorithm 1): mean-field Q, best-response dynamics on the
Q stage game, and a policy gradient guided toward that equilibrium.

Algorithm 1 per update, as marlloc implements it (any batched environment with discrete actions):

1. **Act.** Each role's policy network π_r (shared by the role's agents; 128-64-32, seed 004
   §4.2; the agent's features are in its observation) gives one categorical per action
   component. Behaviour: sample π, and with probability ε (annealed from ``eps_start`` to
   ``eps_end``) a uniform action instead (ε-greedy, §4.2).
2. **Action values** (step (d)). Agent i's value depends on the others through the **mean
   action** ā_i of the agents in its group (the environment's ``agent_groups()``; the economy's
   groups are countries): per role and component, the average normalised action level of the
   other agents (mean-field Q-learning, Yang et al. 2018), so the Q input does not grow with N.
   Q_r(s, ā, a) = w_r(s, ā) · ψ(a): an MLP gives coefficients of a Legendre basis ψ over the
   normalised action levels (degree ``q_degree`` per component, tensor products for several
   components). One forward pass scores every candidate action, and values are smooth in the
   action level, which is what makes a best response on a fine grid (1,001 Cournot levels)
   accurate. The target is the seed's r + γ·max_a' Q(s', a', ā'), with ā' from the actions
   actually taken at s' and a Polyak-averaged target network. The stage game of step 3 and the
   advantages of step 4 read the target network too: near an optimum values are flat in the
   action, so the argmax moves with the online network's SGD jitter; the average does not. Rewards are divided by a per-role
   scale fixed at the end of warm-up (the standard deviation of warm-up rewards).
3. **Equilibrium** (step (e)). On the states just visited, run T best-response iterations
   (``solver_iters``, default 50) of the stage game whose payoffs are the Q estimates: every
   agent holds a mixed strategy p_i over its candidate actions (initialised at π); ā_i is computed
   from the others' expected levels; a_i* = argmax_a Q_i(s_i, a, ā_i); ``"damped"`` updates every
   agent at once, p ← (1 − η)p + η·onehot(a*) (η = ``damping``), ``"sequential"`` updates roles in
   turn with the same damping inside a role. The result p* and its NashConv on the Q game (Σ_i
   max_a Q_i − E_{p_i} Q_i, in reward-scale units) are reported. ``solver_temperature`` τ > 0 uses
   the logit response softmax(Q_i/τ) instead of the argmax (a quantal-response equilibrium; off by
   default, measured in docs/eqmarl.md).
4. **Policy update** (step 3 of Algorithm 1) — **how the equilibrium guides it**: the loss is
   L = −Σ_a π(a|s)·Â(s, a) + λ·CE(p*, π) − β·H(π). Â = (Q(s, a, ā*) − E_π Q) / std_a Q is the
   policy-gradient term of eq. 1, with the expectation over all candidate actions (not one
   sample), evaluated with the others at their **equilibrium** strategies (ā* from p*, as in
   eq. 2: a_i* = argmax Q_i(s_i, a_i, a*_−i)). CE(p*, π) = −Σ_c Σ_k p*_c(k) log π_c(k) is the
   cross-entropy to the equilibrium's per-component marginals: it pulls every agent's policy
   toward its strategy in the Q-game equilibrium. Both terms point at the same fixed point; the
   first alone, against the others' *current* policies, is simultaneous gradient play, which
   oscillates in Cournot-like games (it did in our runs). λ = ``eq_weight``; λ = 0 is the
   "without equilibrium solver" ablation: no solver, and Â uses the others' current policies.
5. **Convergence** (eq. 4): every ``eval_every`` steps, Δπ = mean over a fixed probe set of
   observations of ‖π^(t) − π^(t−1)‖₂ (the per-component probabilities, concatenated); converged
   when Δπ < ``converge_eps`` for ``converge_window`` checks in a row — the step and wall-clock
   seconds are recorded (censored when the budget ends first).

``mean_field=False`` with ``eq_weight=0`` is the single-agent RL baseline of seed 004 §3.8:
independent learners whose Q sees only their own observation and action (``sarl``).

Metric keys in ``metrics.csv``: ``charts/*`` (step, episode, wall time, ε, Δπ), ``train/*``
(mean reward per role and of all agents), ``losses/*`` (Q loss, policy loss, CE to the equilibrium),
``eq/*`` (NashConv and ε of the Q-game equilibrium, its iterations).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from marlloc.algos.common import Replay, TrainingDiverged, episode_seed, mlp, save_checkpoint, write_rows
from marlloc.core.config import check, to_dict
from marlloc.core.errors import ConfigError
from marlloc.core.protocol import Discrete, Step, action_grid
from marlloc.core.seeding import torch_rng
from marlloc.envs import make


@dataclass(frozen=True)
class EqmarlConfig:
    """Equilibrium-based MARL; defaults from seed 004 §4.2 where the seed gives one."""

    hidden: tuple[int, ...] = (128, 64, 32)
    """Policy network layers (seed 004 §4.2: 128, 64, 32)."""
    q_hidden: tuple[int, ...] = (128, 64)
    """Layers of the network giving the action-value coefficients w(s, ā)."""
    q_basis: str = "legendre"
    """Action basis ψ of the action values per component: ``legendre`` (global polynomials of degree
    ``q_degree``) or ``spline`` (cubic B-splines on ``q_knots`` uniform intervals). Splines are
    local: a kink of the payoff far from the optimum (a price floored at zero) bends only the
    splines around it, where a global polynomial fit bends everywhere; use them on fine grids."""
    q_degree: int = 6
    """Legendre degree of the action basis per component (capped at levels − 1, which is exact)."""
    q_knots: int = 16
    """Intervals of the cubic B-spline basis (``q_basis="spline"``; capped at levels − 1)."""
    lr: float = 1e-3
    """Adam step size of the policies (seed 004 §4.2)."""
    q_lr: float = 1e-3
    """Adam step size of the action values."""
    q_lr_end: float = 1.0
    """Step size of the action values at the run's last step as a share of ``q_lr``, decayed
    linearly (1 = constant). A best response on a fine grid needs the fit's slope accurate where
    values are flat; the decay removes the SGD jitter that moves the argmax by a few levels."""
    gamma: float = 0.99
    """Discount (seed 004 §4.2)."""
    batch_size: int = 64
    """Agent-transitions per Q update and role (seed 004 §4.2)."""
    replay_size: int = 100_000
    """Agent-transitions kept per role (seed 004 §4.2)."""
    target_tau: float = 0.01
    """Polyak step of the target Q network."""
    eps_start: float = 1.0
    """ε of ε-greedy exploration at the end of warm-up."""
    eps_end: float = 0.05
    """ε after annealing."""
    explore_width: float = 1.0
    """Range of an ε-exploration move as a share of each component's levels, centred on the
    sampled action: 1.0 = uniform over all levels (the seed's ε-greedy); smaller keeps the data
    near the policy, where a fine action grid needs its values accurate (kinks of the payoff far
    away, like a price floored at zero, otherwise bend a smooth fit)."""
    anneal_steps: int = 2_000
    """Environment steps over which ε falls linearly."""
    warmup_steps: int = 50
    """Uniform random steps before any update."""
    updates_per_step: int = 1
    """Q updates per environment step."""
    policy_every: int = 1
    """Environment steps between equilibrium computations and policy updates."""
    solver_iters: int = 50
    """T, best-response iterations per equilibrium computation (seed 004 §4.2: 50)."""
    solver_mode: str = "damped"
    """``damped`` (all agents at once) or ``sequential`` (roles in turn)."""
    damping: float = 0.5
    """η in p ← (1 − η)p + η·BR."""
    solver_temperature: float = 0.0
    """τ of a logit best response, BR = softmax(Q/τ) (reward-scale units), so the iterations find a
    logit (quantal-response) equilibrium that moves smoothly with Q; 0 = the argmax best response of
    Algorithm 1. Off by default (docs/eqmarl.md: why the argmax equilibrium keeps the policies moving)."""
    solver_tol: float = 1e-4
    """Stop the T iterations early once ε of the Q game (max_i δ_i, in units of the reward's
    warm-up standard deviation) is at most this."""
    solver_envs: int = 2
    """Environments of the current batch whose states define the stage game and the policy step."""
    eq_weight: float = 1.0
    """λ, weight of the cross-entropy to the equilibrium; 0 = the "no equilibrium solver" ablation."""
    entropy_coef: float = 0.001
    """β, entropy bonus of the policies."""
    mean_field: bool = True
    """Condition Q on the others' mean action; False = independent learners (single-agent RL)."""
    n_envs: int = 8
    """Environments stepped side by side during training."""
    eval_every: int = 100
    """Steps between convergence checks (Δπ) and evaluations."""
    converge_eps: float = 1e-3
    """ε of the convergence rule on Δπ (seed 004 §4.2)."""
    converge_window: int = 3
    """W: consecutive checks with Δπ < ε that declare convergence."""
    probe_states: int = 256
    """Observations per role in the fixed probe set of Δπ."""
    grad_clip: float = 10.0
    """Gradient-norm clip of every update."""
    max_loss: float = 1e6
    """A loss above this (or NaN) stops the run with one line, keeping the last checkpoint."""
    device: str = "cpu"
    """Torch device."""

    def __post_init__(self):
        for n in ("q_degree", "q_knots", "batch_size", "replay_size", "anneal_steps", "updates_per_step", "policy_every",
                  "solver_iters", "solver_envs", "n_envs", "eval_every", "converge_window", "probe_states"):
            v = getattr(self, n)
            check(isinstance(v, int) and v >= 1, n, "be an integer ≥ 1", v, f"try {n}={getattr(EqmarlConfig, n)}")
        check(isinstance(self.warmup_steps, int) and self.warmup_steps >= 0, "warmup_steps", "be an integer ≥ 0",
              self.warmup_steps, "try warmup_steps=50")
        for n in ("lr", "q_lr", "converge_eps", "solver_tol"):
            check(getattr(self, n) > 0, n, "be positive", getattr(self, n), f"try {n}={getattr(EqmarlConfig, n)}")
        check(self.q_basis in ("legendre", "spline"), "q_basis", "be legendre or spline", self.q_basis,
              "try q_basis='legendre'")
        for n in ("gamma", "target_tau", "eps_start", "eps_end", "damping", "explore_width", "q_lr_end"):
            check(0 <= getattr(self, n) <= 1, n, "lie in [0, 1]", getattr(self, n),
                  f"try {n}={getattr(EqmarlConfig, n)}")
        check(self.damping > 0, "damping", "be positive", self.damping, "try damping=0.5")
        check(self.solver_temperature >= 0, "solver_temperature", "be ≥ 0", self.solver_temperature,
              "try solver_temperature=0 (argmax) or 0.05")
        check(self.solver_mode in ("damped", "sequential"), "solver_mode", "be damped or sequential",
              self.solver_mode, "try solver_mode='damped'")
        check(self.eq_weight >= 0 and self.entropy_coef >= 0, "eq_weight/entropy_coef", "be ≥ 0",
              (self.eq_weight, self.entropy_coef), "use 0 to switch a term off")


# --- action spaces as candidate grids ------------------------------------------------------


def legendre(x: Tensor, degree: int) -> Tensor:
    """P_0..P_degree at x ∈ [−1, 1] (Bonnet's recursion): ``[..., degree + 1]``."""
    out = [torch.ones_like(x), x]
    for n in range(1, degree):
        out.append(((2 * n + 1) * x * out[n] - n * out[n - 1]) / (n + 1))
    return torch.stack(out[: degree + 1], -1)


def bspline(x: Tensor, intervals: int) -> Tensor:
    """Uniform cubic B-splines on [0, 1] with ``intervals`` pieces at x ∈ [0, 1]:
    ``[..., intervals + 3]``, a partition of unity; each is nonzero on four intervals only."""
    u = x[..., None] * intervals - torch.arange(-3, intervals, device=x.device, dtype=x.dtype)
    pieces = (u**3, -3 * u**3 + 12 * u**2 - 12 * u + 4, 3 * u**3 - 24 * u**2 + 60 * u - 44, (4 - u) ** 3)
    out = torch.zeros_like(u)
    for lo, val in enumerate(pieces):
        out = torch.where((u >= lo) & (u < lo + 1), val / 6, out)
    return out  # the cardinal spline is continuous, so half-open pieces are exact at x = 1 too


@dataclass
class RoleGrid:
    """A role's discrete action components as one grid of J joint candidates."""

    name: str
    n_agents: int
    obs_dim: int
    components: tuple[str, ...]
    sizes: tuple[int, ...]       # K_c per component
    levels: Tensor               # [J, n_comp] long, component levels of every candidate
    norm: Tensor                 # [J, n_comp] levels / (K_c − 1) in [0, 1]
    basis: Tensor                # [J, n_basis] tensor-product basis features of the candidates

    @classmethod
    def of(cls, role, cfg: EqmarlConfig, device) -> RoleGrid:
        comps, sizes = [], []
        for name, sp in role.actions.items():
            if not isinstance(sp, Discrete):
                raise ConfigError(f"eqmarl needs discrete actions; {role.name}.{name} is {sp}; "
                                  "use an environment with Discrete components")
            comps.append(name)
            sizes.append(sp.n)
        levels = action_grid(role, device)
        denom = torch.tensor([max(k - 1, 1) for k in sizes], dtype=torch.float32, device=device)
        norm = levels.float() / denom
        if cfg.q_basis == "spline":
            per = [bspline(norm[:, c], min(cfg.q_knots, sizes[c] - 1)) for c in range(len(sizes))]
        else:
            per = [legendre(2 * norm[:, c] - 1, min(cfg.q_degree, sizes[c] - 1)) for c in range(len(sizes))]
        basis = per[0]
        for b in per[1:]:
            basis = (basis[:, :, None] * b[:, None, :]).reshape(len(levels), -1)
        return cls(role.name, role.n_agents, role.obs_dim, tuple(comps), tuple(sizes), levels, norm, basis)

    def joint_index(self, comps: list[Tensor]) -> Tensor:
        """Flat candidate index of per-component levels (row-major, first component slowest)."""
        idx = torch.zeros_like(comps[0])
        for c, k in zip(comps, self.sizes, strict=True):
            idx = idx * k + c
        return idx

    def joint_probs(self, probs: list[Tensor]) -> Tensor:
        """Product of per-component probabilities ``[..., K_c]`` → ``[..., J]`` (candidate order)."""
        out = probs[0]
        for p in probs[1:]:
            out = (out[..., :, None] * p[..., None, :]).flatten(-2)
        return out

    def marginals(self, joint: Tensor) -> list[Tensor]:
        """Per-component marginals of a joint distribution ``[..., J]``."""
        shaped = joint.reshape(*joint.shape[:-1], *self.sizes)
        nd = len(self.sizes)
        return [shaped.sum(dim=tuple(-nd + j for j in range(nd) if j != c)) if nd > 1 else shaped
                for c in range(nd)]


# --- networks -----------------------------------------------------------------------------


class Policy(nn.Module):
    """π_r: observation → one categorical per action component (shared by the role's agents)."""

    def __init__(self, obs_dim: int, hidden: tuple[int, ...], sizes: tuple[int, ...]):
        super().__init__()
        self.body = nn.Sequential(mlp(obs_dim, hidden[:-1], hidden[-1]), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(hidden[-1], k) for k in sizes)

    def forward(self, obs: Tensor) -> list[Tensor]:
        z = self.body(obs)
        return [h(z) for h in self.heads]


class ActionValue(nn.Module):
    """Q_r(s, ā, ·) for every candidate at once: coefficients w(s, ā) times the candidates' basis."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_basis: int):
        super().__init__()
        self.net = mlp(n_in, hidden, n_basis)

    def forward(self, obs: Tensor, abar: Tensor, basis: Tensor) -> Tensor:
        return self.net(torch.cat([obs, abar], -1)) @ basis.T


# --- the learner ------------------------------------------------------------------------------


class Eqmarl:
    """Policies, action values, replay, the Q-game solver and the updates for one batched env."""

    def __init__(self, env, cfg: EqmarlConfig, seed: int = 0):
        self.env, self.cfg = env, cfg
        dev = self.device = torch.device(cfg.device)
        self.grids = {r.name: RoleGrid.of(r, cfg, dev) for r in env.roles.values()}
        groups = env.agent_groups() if hasattr(env, "agent_groups") else {}
        self.groups = {r: groups.get(r, torch.zeros(g.n_agents, dtype=torch.long)).to(dev)
                       for r, g in self.grids.items()}
        self.n_groups = int(max(int(g.max()) for g in self.groups.values())) + 1
        self.counts = {r: torch.zeros(self.n_groups, device=dev).index_add_(0, g, torch.ones(len(g), device=dev))
                       for r, g in self.groups.items()}
        self.mf_dim = sum(len(g.sizes) for g in self.grids.values()) if cfg.mean_field else 0
        with torch.random.fork_rng(devices=[]):  # initial weights from the run's seed, global RNG untouched
            torch.manual_seed(int(torch_rng(seed, "init").initial_seed()))
            self.pi = nn.ModuleDict({r: Policy(g.obs_dim, cfg.hidden, g.sizes) for r, g in self.grids.items()}).to(dev)
            self.q = nn.ModuleDict({r: ActionValue(g.obs_dim + self.mf_dim, cfg.q_hidden, g.basis.shape[1])
                                    for r, g in self.grids.items()}).to(dev)
            self.q_targ = nn.ModuleDict({r: ActionValue(g.obs_dim + self.mf_dim, cfg.q_hidden, g.basis.shape[1])
                                         for r, g in self.grids.items()}).to(dev)
        self.q_targ.load_state_dict(self.q.state_dict())
        self.opt_pi = torch.optim.Adam(self.pi.parameters(), lr=cfg.lr)
        self.opt_q = torch.optim.Adam(self.q.parameters(), lr=cfg.q_lr)
        self.replay = {r: Replay(cfg.replay_size, {"obs": g.obs_dim, "act": 1, "abar": self.mf_dim, "reward": 1,
                                                   "next_obs": g.obs_dim, "next_abar": self.mf_dim, "done": 1}, dev)
                       for r, g in self.grids.items()}
        self.g = torch_rng(seed, "eqmarl", dev)
        self.steps = 0
        self.total_steps = 0   # the run's length, for the q_lr decay (set by train)
        self.scale = {r: 1.0 for r in self.grids}
        self.pending: dict | None = None   # the last transition, waiting for ā' of the next actions
        self.probe: dict[str, Tensor] | None = None
        self.last_probe_pi: dict[str, Tensor] | None = None

    # --- mean field ---
    def mean_field(self, levels: dict[str, Tensor]) -> dict[str, Tensor]:
        """ā for every agent: per role and component, the mean normalised level of the *other*
        agents of its group. ``levels[r]``: ``[E, N_r, n_comp]`` (expected levels for mixed play)."""
        E = next(iter(levels.values())).shape[0]
        if not self.cfg.mean_field:
            return {r: torch.zeros(E, g.n_agents, 0, device=self.device) for r, g in self.grids.items()}
        sums = {r: torch.zeros(E, self.n_groups, lv.shape[-1], device=self.device).index_add_(1, self.groups[r], lv)
                for r, lv in levels.items()}
        out = {}
        for r in self.grids:
            parts = []
            for r2 in self.grids:
                s = sums[r2][:, self.groups[r]]                                       # [E, N_r, n_comp2]
                n = self.counts[r2][self.groups[r]][None, :, None]
                if r2 == r:
                    s, n = s - levels[r], n - 1
                parts.append(torch.where(n > 0, s / n.clamp_min(1), torch.zeros_like(s)))
            out[r] = torch.cat(parts, -1)
        return out

    # --- acting ---
    def epsilon(self) -> float:
        cfg = self.cfg
        f = min(max(self.steps - cfg.warmup_steps, 0) / cfg.anneal_steps, 1.0)
        return cfg.eps_start + (cfg.eps_end - cfg.eps_start) * f

    def probs(self, role: str, obs: Tensor) -> list[Tensor]:
        return [torch.softmax(lg, -1) for lg in self.pi[role](obs)]

    @torch.no_grad()
    def act(self, step: Step, explore: bool = True, greedy: bool = False) -> dict[str, dict[str, Tensor]]:
        """Actions for every role: ε-greedy sampling of π (uniform during warm-up), or the mode."""
        g = self.g
        eps = 1.0 if explore and self.steps < self.cfg.warmup_steps else (self.epsilon() if explore else 0.0)
        out = {}
        for r, grid in self.grids.items():
            obs = step.obs[r]
            comps = {}
            # only exploring draws: greedy evaluation mid-training must not move the learner's RNG
            uniform = torch.rand(obs.shape[:2], generator=g, device=self.device) < eps if explore else None
            for name, p, k in zip(grid.components, self.probs(r, obs), grid.sizes, strict=True):
                if greedy:
                    a = p.argmax(-1)
                else:
                    a = torch.multinomial(p.reshape(-1, k), 1, generator=g).view(obs.shape[:2])
                if explore:
                    if self.cfg.explore_width >= 1.0 or eps >= 1.0:
                        move = torch.randint(k, a.shape, generator=g, device=self.device)
                    else:
                        half = max(1, round(self.cfg.explore_width * (k - 1) / 2))
                        step_ = torch.randint(-half, half + 1, a.shape, generator=g, device=self.device)
                        move = (a + step_).clamp(0, k - 1)
                    a = torch.where(uniform, move, a)
                comps[name] = a
            out[r] = comps
        return out

    def levels_of(self, actions: dict[str, dict[str, Tensor]]) -> dict[str, Tensor]:
        return {r: torch.stack([actions[r][c].float() / max(k - 1, 1) for c, k in zip(g.components, g.sizes,
                                                                                       strict=True)], -1)
                for r, g in self.grids.items()}

    # --- storing ---
    def store(self, before: Step, actions: dict, after: Step) -> None:
        """Queue this step's agent-transitions; they enter the replay once ā' of the next actions
        is known (or at once at an episode end, where ā' is not needed)."""
        abar = self.mean_field(self.levels_of(actions))
        if self.pending is not None:
            for r, rows in self.pending.items():
                self.replay[r].add(**rows, next_abar=abar[r].reshape(len(rows["obs"]), self.mf_dim))
            self.pending = None
        done = bool((after.truncated | after.terminated).all())
        rows = {}
        for r, grid in self.grids.items():
            n = before.obs[r].shape[0] * grid.n_agents
            rows[r] = {"obs": before.obs[r].reshape(n, -1),
                       "act": grid.joint_index([actions[r][c] for c in grid.components]).reshape(n, 1),
                       "abar": abar[r].reshape(n, -1), "reward": after.reward[r].reshape(n, 1) / self.scale[r],
                       "next_obs": after.obs[r].reshape(n, -1),
                       "done": torch.full((n, 1), float(done), device=self.device)}
        if done:
            for r, rr in rows.items():
                self.replay[r].add(**rr, next_abar=torch.zeros(len(rr["obs"]), self.mf_dim, device=self.device))
        else:
            self.pending = rows

    def fix_scales(self) -> None:
        """At the end of warm-up: divide each role's rewards by their warm-up standard deviation,
        so the Q targets, the solver's tolerances and λ mean the same for every scenario."""
        for r, rep in self.replay.items():
            if rep.n > 1:
                sd = float(rep.data["reward"][: rep.n].std())
                self.scale[r] = sd if sd > 1e-8 else 1.0
                rep.data["reward"][: rep.n] /= self.scale[r]
        if self.pending is not None:
            for r, rows in self.pending.items():
                rows["reward"] = rows["reward"] / self.scale[r]

    # --- the stage game of Q estimates ---
    @torch.no_grad()
    def equilibrium(self, obs: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, float]]:
        """T best-response iterations on the Q game at states ``obs`` (``[E, N_r, d]``); returns
        the mixed equilibrium p* per role ``[E, N_r, J_r]`` and its NashConv / ε / mean δ."""
        cfg = self.cfg
        p = {r: self.grids[r].joint_probs(self.probs(r, o)) for r, o in obs.items()}
        order = [[r] for r in self.grids] if cfg.solver_mode == "sequential" else [list(self.grids)]

        def values(p):
            lev = {r: p[r] @ self.grids[r].norm for r in p}
            abar = self.mean_field(lev)
            return {r: self.q_targ[r](obs[r], abar[r], self.grids[r].basis) for r in p}

        def gains(q):
            return torch.cat([(q[r].max(-1).values - (p[r] * q[r]).sum(-1)).reshape(-1) for r in p])

        it = 0
        q = values(p)
        while it < cfg.solver_iters and float(gains(q).max()) > cfg.solver_tol:
            for group in order:
                if group is not order[0]:
                    q = values(p)
                for r in group:
                    br = (F.softmax(q[r] / cfg.solver_temperature, -1) if cfg.solver_temperature > 0
                          else F.one_hot(q[r].argmax(-1), q[r].shape[-1]).float())
                    p[r] = (1 - cfg.damping) * p[r] + cfg.damping * br
            q = values(p)
            it += 1
        delta = gains(q)
        E = next(iter(obs.values())).shape[0]
        return p, {"eq/nash_conv": float(delta.sum()) / E, "eq/epsilon": float(delta.max()),
                   "eq/mean_delta": float(delta.mean()), "eq/iterations": it}

    # --- updates ---
    def _step(self, opt, loss: Tensor, params) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        opt.step()

    def update_q(self) -> dict[str, float]:
        cfg, out = self.cfg, {}
        done = min(self.steps / max(self.total_steps, 1), 1.0)
        for group in self.opt_q.param_groups:  # linear decay to q_lr_end·q_lr at the run's last step
            group["lr"] = cfg.q_lr * (1 - (1 - cfg.q_lr_end) * done)
        losses = []
        for r, grid in self.grids.items():
            b = self.replay[r].sample(cfg.batch_size, self.g)
            with torch.no_grad():
                nxt = self.q_targ[r](b["next_obs"], b["next_abar"], grid.basis).max(-1).values
                y = b["reward"][:, 0] + cfg.gamma * (1 - b["done"][:, 0]) * nxt
            q = self.q[r](b["obs"], b["abar"], grid.basis).gather(1, b["act"].long()).squeeze(1)
            loss = F.smooth_l1_loss(q, y)
            losses.append(loss)
            out[f"losses/q_{r}"] = loss.item()
        self._step(self.opt_q, sum(losses), self.q.parameters())
        with torch.no_grad():
            for p, pt in zip(self.q.parameters(), self.q_targ.parameters(), strict=True):
                pt.lerp_(p, cfg.target_tau)
        return out

    def update_policy(self, obs: dict[str, Tensor]) -> dict[str, float]:
        """One guided policy-gradient step at states ``obs`` (see the module docstring, step 4)."""
        cfg = self.cfg
        out: dict[str, float] = {}
        target = None
        if cfg.eq_weight > 0:
            target, stats = self.equilibrium(obs)
            out.update(stats)
        probs = {r: self.probs(r, o) for r, o in obs.items()}
        with torch.no_grad():
            # the others play their equilibrium strategies (eq. 2, a*_−i); without a solver, their policies
            others = target if target is not None else {r: self.grids[r].joint_probs(p) for r, p in probs.items()}
            abar = self.mean_field({r: others[r] @ self.grids[r].norm for r in others})
            q = {r: self.q_targ[r](obs[r], abar[r], self.grids[r].basis) for r in obs}
        loss_pg, loss_eq, ent = 0.0, 0.0, 0.0
        for r, grid in self.grids.items():
            joint = grid.joint_probs(probs[r])
            adv = (q[r] - (joint.detach() * q[r]).sum(-1, keepdim=True)) / (q[r].std(-1, keepdim=True) + 1e-6)
            loss_pg = loss_pg - (joint * adv).sum(-1).mean()
            logs = [torch.log(p.clamp_min(1e-12)) for p in probs[r]]
            ent = ent - sum((p * lg).sum(-1).mean() for p, lg in zip(probs[r], logs, strict=True))
            if target is not None:
                marg = grid.marginals(target[r])
                loss_eq = loss_eq - sum((m * lg).sum(-1).mean() for m, lg in zip(marg, logs, strict=True))
        loss = loss_pg + cfg.eq_weight * loss_eq - cfg.entropy_coef * ent
        loss_eq = float(loss_eq.detach()) if torch.is_tensor(loss_eq) else loss_eq
        self._step(self.opt_pi, loss, self.pi.parameters())
        out.update({"losses/policy": float(loss_pg.detach()), "losses/eq_ce": float(loss_eq),
                    "losses/entropy": float(ent.detach())})
        return out

    # --- convergence (eq. 4) ---
    @torch.no_grad()
    def policy_change(self) -> float | None:
        """Δπ on the probe set since the previous call (None at the first)."""
        if self.probe is None:
            return None
        now = {r: torch.cat(self.probs(r, o), -1) for r, o in self.probe.items()}
        prev, self.last_probe_pi = self.last_probe_pi, now
        if prev is None:
            return None
        return float(torch.cat([(now[r] - prev[r]).norm(dim=-1) for r in now]).mean())

    def set_probe(self) -> None:
        g, n = self.g, self.cfg.probe_states
        self.probe = {r: rep.data["obs"][torch.randint(rep.n, (n,), generator=g, device=self.device)].clone()
                      for r, rep in self.replay.items()}

    # --- checkpoints ---
    def state_dict(self) -> dict:
        return {"pi": self.pi.state_dict(), "q": self.q.state_dict(), "q_targ": self.q_targ.state_dict(),
                "opt_pi": self.opt_pi.state_dict(), "opt_q": self.opt_q.state_dict(),
                "replay": {r: rep.state_dict() for r, rep in self.replay.items()}, "g": self.g.get_state(),
                "steps": self.steps, "scale": dict(self.scale), "pending": self.pending, "probe": self.probe,
                "last_probe_pi": self.last_probe_pi}

    def load_state_dict(self, d: dict) -> None:
        self.pi.load_state_dict(d["pi"])
        self.q.load_state_dict(d["q"])
        self.q_targ.load_state_dict(d["q_targ"])
        self.opt_pi.load_state_dict(d["opt_pi"])
        self.opt_q.load_state_dict(d["opt_q"])
        for r, rep in self.replay.items():
            rep.load_state_dict(d["replay"][r])
        self.g.set_state(d["g"])
        self.steps = int(d["steps"])
        self.scale = {r: float(v) for r, v in d["scale"].items()}
        self.pending, self.probe, self.last_probe_pi = d["pending"], d["probe"], d["last_probe_pi"]


# --- decentralised execution ----------------------------------------------------------------


class GreedyPolicy:
    """The trained policies acting on their own observations (the mode of each component)."""

    def __init__(self, learner: Eqmarl):
        self.learner = learner

    def __call__(self, step: Step) -> dict[str, dict[str, Tensor]]:
        return self.learner.act(step, explore=False, greedy=True)


@torch.no_grad()
def rollout(env, policy, episodes: int, seed: int) -> dict[str, float]:
    """Mean per-step utility, Gini and per-role reward over ``episodes`` full episodes (side by side)."""
    step = env.reset(n_envs=episodes, seed=seed)
    sums: dict[str, float] = {}
    n = 0
    while True:
        step = env.step(policy(step), check=False)
        n += 1
        for k, v in step.info.items():
            if v.dim() == 1 and k.startswith(("economy/", "game/")):
                sums[k] = sums.get(k, 0.0) + float(v.double().mean())
        for r, v in step.reward.items():
            sums[f"reward/{r}"] = sums.get(f"reward/{r}", 0.0) + float(v.double().mean())
        if bool((step.truncated | step.terminated).all()):
            break
    return {k: v / n for k, v in sums.items()}


# --- training -------------------------------------------------------------------------------


COLUMNS = ["step", "charts/episode", "charts/wall_s", "charts/eps", "charts/delta_pi", "train/reward",
           "losses/policy", "losses/eq_ce", "losses/entropy", "eq/nash_conv", "eq/epsilon", "eq/mean_delta",
           "eq/iterations"]


def train(cfg: EqmarlConfig, env_id: str, env_config: dict, steps: int, seed: int, out: str | Path, *,
          algo: str = "eqmarl", eval_episodes: int = 4, eval_seed: int = 10_000, checkpoint_every: int = 1_000,
          eval_rollout_every: int = 100, resume: bool = False, progress=None) -> dict:
    """Train on ``env_id`` for ``steps`` environment steps into the run folder ``out``.

    Writes ``config.json``, ``metrics.csv`` (rewritten atomically with every checkpoint),
    ``checkpoints/last.pt`` (networks, optimisers, replay, environment state, RNG, counters) and at
    the end ``summary.json``: the greedy policies' evaluation on ``eval_seed`` plus the convergence
    step and seconds (Δπ rule) and the last Q-game NashConv. ``resume=True`` continues exactly.

    Every ``eval_rollout_every`` steps (0 = never) the greedy policies also play the same
    ``eval_episodes`` episodes from ``eval_seed`` and metrics.csv gets their means as ``eval/*``
    columns (utility, Gini, rewards per role): the learning curve of seed 004 Figs. 5–6, measured
    on fixed states instead of the noisy exploring reward. It runs on its own environment and
    under a forked RNG, so it does not change the training trajectory.
    """
    out = Path(out)
    ck_dir, last = out / "checkpoints", out / "checkpoints" / "last.pt"
    check(isinstance(steps, int) and steps >= 1, "steps", "be an integer ≥ 1", steps, "try steps=5000")
    check(isinstance(eval_rollout_every, int) and eval_rollout_every >= 0, "eval_rollout_every", "be an integer ≥ 0",
          eval_rollout_every, "try 100 (0 = off)")
    env, eval_env = make(env_id, **env_config), make(env_id, **env_config)
    learner = Eqmarl(env, cfg, seed)
    learner.total_steps = steps
    rows: list[dict] = []
    conv = {"streak": 0, "step": None, "wall_s": None}
    if resume:
        if not last.is_file():
            raise ConfigError(f"--resume needs {last}, which does not exist; start the run without --resume")
        ck = torch.load(last, weights_only=True, map_location=learner.device)
        if ck["algo_config"] != to_dict(cfg) or ck["env_config"] != to_dict(env.config) or ck["seed"] != seed:
            raise ConfigError(f"--resume must use the run's own settings; {out}/config.json holds them")
        learner.load_state_dict(ck["learner"])
        env.load_state_dict(ck["env"])
        step = Step(info={}, **ck["step"])
        t, episode, wall0, conv = int(ck["t"]), int(ck["episode"]), float(ck["wall_s"]), ck["conv"]
        with open(out / "metrics.csv", newline="") as f:
            rows = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(f) if int(row["step"]) <= t]
    else:
        ck_dir.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps({
            "algo": algo, "env_id": env_id, "seed": seed, "steps": steps, "algo_config": to_dict(cfg),
            "env_config": to_dict(env.config), "run": {"eval_episodes": eval_episodes, "eval_seed": eval_seed,
                                                        "checkpoint_every": checkpoint_every,
                                                        "eval_rollout_every": eval_rollout_every}}, indent=2) + "\n")
        step = env.reset(n_envs=cfg.n_envs, seed=episode_seed(seed, 0))
        t, episode, wall0 = 0, 0, 0.0
    t0 = time.perf_counter() - wall0

    def checkpoint():
        save_checkpoint(last, {
            "format": f"marlloc-{algo}-v1", "algo_config": to_dict(cfg), "env_config": to_dict(env.config),
            "env_id": env_id, "seed": seed, "t": t, "episode": episode, "wall_s": time.perf_counter() - t0,
            "conv": conv, "learner": learner.state_dict(), "env": env.state_dict(),
            "step": {k: getattr(step, k) for k in ("obs", "reward", "active", "done", "state", "terminated",
                                                    "truncated")},
        })
        write_rows(out / "metrics.csv", rows, COLUMNS + sorted({k for r in rows for k in r} - set(COLUMNS)))

    while t < steps:
        # --- collect ---
        actions = learner.act(step)
        nxt = env.step(actions, check=False)
        learner.store(step, actions, nxt)
        learner.steps += 1
        t += 1
        row = {"step": t, "charts/episode": episode, "charts/eps": learner.epsilon(),
               "train/reward": float(torch.cat([v.reshape(-1) for v in nxt.reward.values()]).mean())}
        # --- update ---
        if learner.steps == cfg.warmup_steps or (cfg.warmup_steps == 0 and learner.steps == 1):
            learner.fix_scales()
            learner.set_probe()
        if learner.steps >= max(cfg.warmup_steps, 1) and all(rep.n >= cfg.batch_size for rep in learner.replay.values()):
            for _ in range(cfg.updates_per_step):
                row.update(learner.update_q())
            if learner.steps % cfg.policy_every == 0:
                row.update(learner.update_policy({r: o[: cfg.solver_envs] for r, o in nxt.obs.items()}))
            bad = [(k, v) for k, v in row.items() if k.startswith("losses/") and not (math.isfinite(v) and abs(v) <= cfg.max_loss)]
            if bad:
                kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written yet"
                raise TrainingDiverged(f"{bad[0][0]} reached {bad[0][1]} at step {t}, so training stopped; {kept}; "
                                       "lower lr and q_lr")
        # --- convergence check (eq. 4) ---
        if t % cfg.eval_every == 0:
            dpi = learner.policy_change()
            if dpi is not None:
                row["charts/delta_pi"] = dpi
                conv["streak"] = conv["streak"] + 1 if dpi < cfg.converge_eps else 0
                if conv["streak"] >= cfg.converge_window and conv["step"] is None:
                    conv["step"], conv["wall_s"] = t, time.perf_counter() - t0
        if eval_rollout_every and t % eval_rollout_every == 0:
            with torch.random.fork_rng(devices=[]):
                row.update({f"eval/{k}": v for k, v in rollout(eval_env, GreedyPolicy(learner), eval_episodes,
                                                               eval_seed).items()})
        row["charts/wall_s"] = time.perf_counter() - t0
        rows.append(row)
        if progress is not None:
            progress(t, row)
        # --- next step, checkpoint ---
        if bool((nxt.truncated | nxt.terminated).all()):
            episode += 1
            step = env.reset(n_envs=cfg.n_envs, seed=episode_seed(seed, episode))
        else:
            step = nxt
        if t % checkpoint_every == 0 or t == steps:
            checkpoint()

    ev = rollout(eval_env, GreedyPolicy(learner), eval_episodes, eval_seed)
    _, eq = learner.equilibrium(eval_env.reset(n_envs=eval_episodes, seed=eval_seed).obs)
    summary = {"algo": algo, "env_id": env_id, "seed": seed, "steps": steps,
               "wall_s": time.perf_counter() - t0, "eval": ev, "q_game": eq,
               "convergence": {"rule": f"Δπ < {cfg.converge_eps} for {cfg.converge_window} checks "
                                       f"every {cfg.eval_every} steps",
                               "step": conv["step"], "wall_s": conv["wall_s"], "censored": conv["step"] is None},
               "data": {"source": getattr(getattr(env, "panel", None), "source", None)}}
    tmp = out / ".summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
    tmp.replace(out / "summary.json")
    return summary


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x)}")


__all__ = ["ActionValue", "Eqmarl", "EqmarlConfig", "GreedyPolicy", "Policy", "RoleGrid", "bspline", "legendre", "rollout",
           "train"]
