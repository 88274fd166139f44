"""Equilibrium solvers for the games of :mod:`marlloc.games`, and the fractional-knapsack LP check.

Stop rule, for every solver: **NashConv ≤ tol × payoff_range()** (relative to the game's payoff
scale), checked after every iteration. Never "the iterates stopped moving": simultaneous best
responses on Cournot with n ≥ 3 firms cycle with iterates that keep moving and, for other games,
a slow dynamic can creep while far from equilibrium. A run that spends ``max_iter`` without
meeting the rule reports ``converged=False``; ``max_iter`` is a budget, not a guarantee.

- :func:`best_response_dynamics`: ``"sequential"`` (Gauss–Seidel: players in index order, each
  answering the latest profile; the default), ``"damped"`` (simultaneous, x ← (1 − d)·x + d·BR(x))
  or ``"simultaneous"`` (Jacobi, x ← BR(x): kept as the known failure on Cournot n ≥ 3).
- :func:`fictitious_play`: finite games with mixed strategies; every player best-responds to the
  others' empirical average, and the average is the reported profile.
- :func:`minimax_lp`: the exact equilibrium of a 2-player constant-sum matrix game (HiGHS LP).
- :func:`fractional_knapsack`: greedy or LP (HiGHS); the capacity price is the LP dual.

``python -m marlloc.games`` prints :func:`equilibrium_report`: every game's closed
form against the solvers (relative NashConv, relative error, iterations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from marlloc.core.errors import ConfigError
from marlloc.metrics import nash_conv

MODES = ("sequential", "damped", "simultaneous")


@dataclass(frozen=True, eq=False)
class EquilibriumResult:
    """What a solver returns; NashConv figures are absolute (÷ ``payoff_range`` for relative ones)."""

    profile: np.ndarray
    """The last profile (fictitious play: the players' empirical average strategies)."""
    iterations: int
    """Iterations run (a sweep over all players counts as one)."""
    nash_conv: float
    """NashConv of ``profile``."""
    converged: bool
    """True iff NashConv ≤ tol × payoff_range was met within the budget."""
    history: np.ndarray
    """NashConv after every iteration; ``history[0]`` is the starting profile's (length iterations + 1)."""
    method: str
    """``"brd-sequential"``, ``"brd-damped"``, ``"brd-simultaneous"``, ``"fictitious-play"`` or ``"lp"``."""
    payoff_range: float
    """The game's payoff scale the stop rule used."""

    @property
    def relative_nash_conv(self) -> float:
        return self.nash_conv / self.payoff_range


def _start(game, init) -> np.ndarray:
    x = game.initial_profile() if init is None else np.array(init, dtype=float)
    if x.shape != (game.dim,):
        raise ConfigError(f"init must be one profile of length {game.dim}, got shape {list(x.shape)}")
    return x


def _budget(tol: float, max_iter: int) -> None:
    if not (tol >= 0 and np.isfinite(tol)):
        raise ConfigError(f"tol must be a finite number ≥ 0, got {tol!r}; try tol=1e-9")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 0):
        raise ConfigError(f"max_iter must be an integer ≥ 0, got {max_iter!r}; try max_iter=1000")


def best_response_dynamics(game, mode: str = "sequential", tol: float = 1e-9, max_iter: int = 1000,
                           damping: float = 0.5, init=None) -> EquilibriumResult:
    """Iterate best responses from ``init`` (default ``game.initial_profile()``) until NashConv ≤ tol·range."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}; try mode='sequential'")
    if mode == "damped" and not getattr(game, "convex", True):
        raise ConfigError(f"mode 'damped' needs convex action sets and {game.name} has pure actions only; "
                          "use mode='sequential'")
    if not 0 < damping <= 1:
        raise ConfigError(f"damping must lie in (0, 1], got {damping!r}; try damping=0.5")
    _budget(tol, max_iter)
    scale = float(game.payoff_range())
    x = _start(game, init)
    history = [nash_conv(game, x)]
    it = 0
    while history[-1] > tol * scale and it < max_iter:
        if mode == "sequential":
            for i in range(game.n_players):
                sl = game.slice(i)
                x[sl] = game.best_responses(x)[sl]
        elif mode == "damped":
            x = (1 - damping) * x + damping * game.best_responses(x)
        else:
            x = game.best_responses(x)
        it += 1
        history.append(nash_conv(game, x))
    return EquilibriumResult(x, it, history[-1], history[-1] <= tol * scale, np.array(history), f"brd-{mode}", scale)


def fictitious_play(game, max_iter: int = 10_000, tol: float = 1e-9, init=None) -> EquilibriumResult:
    """Simultaneous fictitious play on a finite game with mixed strategies (``game.mixed``).

    The empirical average starts at ``init`` (default: every player's first pure action) with weight
    1; at iteration t every player best-responds (pure, lowest index on ties) to the others'
    average and the averages take the new actions with weight 1/(t + 1).
    """
    if not getattr(game, "mixed", False):
        raise ConfigError(f"fictitious play needs a finite game with mixed strategies; {game.name} is not one: "
                          "use best_response_dynamics")
    _budget(tol, max_iter)
    scale = float(game.payoff_range())
    avg = _start(game, init)
    history = [nash_conv(game, avg)]
    it = 0
    while history[-1] > tol * scale and it < max_iter:
        it += 1
        avg += (game.best_responses(avg) - avg) / (it + 1)
        history.append(nash_conv(game, avg))
    return EquilibriumResult(avg, it, history[-1], history[-1] <= tol * scale, np.array(history),
                             "fictitious-play", scale)


def minimax_lp(game, tol: float = 1e-9) -> EquilibriumResult:
    """The maximin strategies of a 2-player constant-sum matrix game, one HiGHS LP per player.

    Row: max v s.t. (xᵀA)_c ≥ v for every column c, x in the simplex; the column player likewise with B.
    """
    if not getattr(game, "constant_sum", False) or not hasattr(game, "A"):
        raise ConfigError(f"minimax_lp needs a 2-player constant-sum matrix game; {game.name} is not one")

    def maximin(M: np.ndarray) -> np.ndarray:  # M[own action, other action], own payoff
        k, r = M.shape
        c = np.concatenate([np.zeros(k), [-1.0]])                               # maximise v
        A_ub = np.hstack([-M.T, np.ones((r, 1))])                               # v − (zᵀM)_c ≤ 0
        A_eq = np.concatenate([np.ones(k), [0.0]])[None]
        res = linprog(c, A_ub=A_ub, b_ub=np.zeros(r), A_eq=A_eq, b_eq=[1.0],
                      bounds=[(0, None)] * k + [(None, None)], method="highs")
        z = np.clip(res.x[:k], 0, None)
        return z / z.sum()

    profile = np.concatenate([maximin(game.A), maximin(game.B.T)])
    scale = float(game.payoff_range())
    nc = nash_conv(game, profile)
    return EquilibriumResult(profile, 1, nc, nc <= tol * scale, np.array([nc]), "lp", scale)


# --- LP sanity: fractional knapsack ------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class KnapsackSolution:
    """max Σ v_i·x_i s.t. Σ x_i ≤ C, 0 ≤ x_i ≤ d_i."""

    allocation: np.ndarray
    """x_i, ``[n]``."""
    objective: float
    """Σ v_i·x_i."""
    price: float
    """The capacity's shadow price: 0 when capacity is left over; else the marginal (partly served)
    agent's value; when the capacity is exactly used up by whole agents, any price between the next
    agent's value and the last served one's clears the market and greedy reports the lowest."""


def fractional_knapsack(values, demands, capacity: float, method: str = "greedy") -> KnapsackSolution:
    """Serve agents in decreasing value (``"greedy"``) or solve the LP with HiGHS (``"lp"``, price = dual)."""
    v, d = np.asarray(values, dtype=float), np.asarray(demands, dtype=float)
    if v.shape != d.shape or v.ndim != 1 or (d < 0).any() or capacity < 0:
        raise ConfigError(f"fractional_knapsack needs values and demands ≥ 0 of one length and capacity ≥ 0, "
                          f"got {v.shape}, {d.shape}, {capacity!r}")
    if method == "lp":
        res = linprog(-v, A_ub=np.ones((1, v.size)), b_ub=[capacity], bounds=list(zip(np.zeros_like(d), d, strict=True)),
                      method="highs")
        x = res.x
        return KnapsackSolution(x, float(v @ x), float(-res.ineqlin.marginals[0]))
    if method != "greedy":
        raise ConfigError(f"method must be 'greedy' or 'lp', got {method!r}")
    x = np.zeros_like(v)
    left, price = float(capacity), 0.0
    for i in np.argsort(-v, kind="stable"):
        if v[i] <= 0:
            break
        if left <= 0:
            price = float(v[i])  # the first agent left out: the lowest clearing price
            break
        x[i] = min(d[i], left)
        left -= x[i]
        if x[i] < d[i]:
            price = float(v[i])  # the marginal agent, partly served
            break
    return KnapsackSolution(x, float(v @ x), price)


# --- the report ----------------------------------------------------------------------------------
def equilibrium_report(fp_iterations: int = 20_000, shapley_iterations: int = 200_000) -> list[dict]:
    """Every game's closed form against its solvers: one row per (game, solver), figures relative.

    Continuous games: sequential BRD (and damped BRD where it is not trivially one sweep) at
    tol = 1e-15, budget 1000; Cournot's simultaneous BRD as the negative control. Wardrop with three
    classes and the atomic game with 30 users, from every class/user on node 0. Matrix games:
    fictitious play from the default pure profile, and the minimax LP for the zero-sum one.
    """
    from marlloc.games import GAMES, congestion

    rows = []

    def add(game, label, res):
        rows.append({"game": label, "solver": res.method, "iterations": res.iterations, "converged": res.converged,
                     "closed_form_rel_nash_conv": nash_conv(game, game.equilibrium()) / game.payoff_range(),
                     "solver_rel_nash_conv": res.relative_nash_conv,
                     "rel_error": game.equilibrium_error(res.profile)})

    for name in ("cournot", "bertrand", "kelly", "stackelberg_price", "fisher_cobb_douglas"):
        g = GAMES[name]()
        add(g, name, best_response_dynamics(g, tol=1e-15, max_iter=1000))
        if name in ("cournot", "bertrand", "kelly"):
            add(g, name, best_response_dynamics(g, "damped", tol=1e-15, max_iter=1000))
    g = GAMES["cournot"]()
    add(g, "cournot", best_response_dynamics(g, "simultaneous", tol=1e-15, max_iter=1000))
    g = congestion(n_classes=3)
    add(g, "congestion (Wardrop, 3 classes)", best_response_dynamics(g, tol=1e-15, max_iter=1000))
    g = congestion(atomic=True, n_users=30)
    add(g, "congestion (atomic, 30 users)", best_response_dynamics(g, tol=0.0, max_iter=1000))
    for name in ("battle_of_the_sexes", "biased_rps", "shapley"):
        g = GAMES[name]()
        if g.constant_sum:
            add(g, name, minimax_lp(g))
        add(g, name, fictitious_play(g, max_iter=shapley_iterations if name == "shapley" else fp_iterations,
                                     tol=1e-12))
    return rows


__all__ = ["EquilibriumResult", "KnapsackSolution", "best_response_dynamics", "equilibrium_report",
           "fictitious_play", "fractional_knapsack", "minimax_lp"]
