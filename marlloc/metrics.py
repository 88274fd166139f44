"""Metrics, one definition each (``shared/design/game-theory.md``), batched over a leading axis.

Fairness
--------
- :func:`jain` J(x) = (Σx)² / (n·Σx²) for x ≥ 0; n = 1 → 1; all zeros → 1 (everyone equally
  served, if badly); negatives raise.
- :func:`gini` G = Σ_i (2i − n − 1)·x_(i) / (n·Σx), x sorted ascending; ``normalised=True``
  gives G·n/(n − 1) ∈ [0, 1]; n = 1 → 0; all zeros → 0; negatives raise. One formula for every n.

Both take a tensor (or array-like) and reduce its last axis, optionally under a boolean
``mask`` of the same shape (entries outside the mask are ignored; n counts the mask).

Edge market episode metrics
---------------------------
:class:`EdgeEpisodeMetrics` accumulates ``Step`` results of ``edge_market_v0`` and reports, per
environment of the batch (keys are stable; ``summary.json`` uses them):

- ``system_utility``: mean over rounds of ω_u·(Σ user rewards / decisions that round) +
  ω_r·(mean reward of live providers) (eq. 1.10 with weights normalised by counts);
- ``avg_qoe`` / ``avg_qoe_norm``: mean raw / normalised QoE over all decisions;
- ``utilisation``: mean over rounds and up nodes of a node's utilisation (mean over its four
  dimensions of used / capacity); every node counts equally, so the cloud does not drown the edges;
- ``jain`` / ``gini``: over users (with at least one decision) of their mean normalised QoE;
- ``deadline_rate``: share of decisions whose latency met L_max;
- ``rejection_rate``: requests to a node that ran locally instead (not admitted, or node down)
  ÷ requests to a node;
- ``revenue``: credits paid to providers per round; ``latency_ms``: mean latency per decision;
- ``killed_tasks``: tasks in flight lost to node failures.

Equilibrium gaps (OpenSpiel's names; numpy, for the games of :mod:`marlloc.games`)
----------------------------------------------------------------------------------
- :func:`deviation_gains` δ_i(π) = J_i(BR_i, π_{-i}) − J_i(π): what player i gains by switching alone
  to its best response. ≥ 0 with an exact best response; negative values are kept, never clipped
  (they expose a best response that is not one, or estimation noise).
- :func:`nash_conv` NashConv(π) = Σ_i δ_i; ε(π) = max_i δ_i (π is an ε-Nash equilibrium);
  :func:`equilibrium_gaps` returns δ, NashConv, ε and each divided by the game's
  ``payoff_range()`` (the relative figures every tolerance uses).
- :func:`exploitability` only for 2-player constant-sum games: NashConv / 2 (OpenSpiel's definition).
  The word is not used for anything else.

A deviation is by **one** player. Non-atomic games (``marlloc.games.Wardrop``) define a deviation
by one infinitesimal user and provide their own ``deviation_gains``, which these functions use.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from marlloc.core.protocol import Step


def _prepare(x, mask) -> tuple[Tensor, Tensor]:
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.dim() == 0:
        raise ValueError("metrics need at least one value along the last axis; got a scalar")
    mask = torch.ones_like(x, dtype=torch.bool) if mask is None else torch.as_tensor(mask, dtype=torch.bool)
    if bool(((x < 0) & mask).any()):
        raise ValueError(f"fairness metrics need x ≥ 0, got min {float(x[mask].min())}; shift or clip the values first")
    if bool(torch.isnan(x[mask]).any()):
        raise ValueError("fairness metrics got NaN values; drop or impute them first")
    return torch.where(mask, x, 0.0), mask


def jain(x, mask=None) -> Tensor:
    """Jain's index over the last axis (see module docstring for the edge cases)."""
    x, mask = _prepare(x, mask)
    n = mask.sum(-1).double()
    s, s2 = x.sum(-1), (x * x).sum(-1)
    return torch.where(s2 > 0, s * s / (n * s2).clamp_min(1e-300), 1.0)


def gini(x, mask=None, normalised: bool = False) -> Tensor:
    """Gini coefficient over the last axis (see module docstring for the edge cases)."""
    x, mask = _prepare(x, mask)
    n = mask.sum(-1, keepdim=True).double()
    # masked-out entries sort first as -inf placeholders, so ranks of real entries start after them
    keyed = torch.where(mask, x, -torch.inf).sort(-1).values
    k = x.shape[-1]
    rank = torch.arange(1, k + 1, dtype=torch.float64) - (k - n)             # 1..n for real entries
    vals = torch.where(torch.isinf(keyed), 0.0, keyed)
    num = ((2 * rank - n - 1) * vals).sum(-1)
    total = vals.sum(-1)
    n = n.squeeze(-1)
    g = torch.where(total > 0, num / (n * total).clamp_min(1e-300), 0.0)
    if normalised:
        g = torch.where(n > 1, g * n / (n - 1).clamp_min(1), 0.0)
    return g


class EdgeEpisodeMetrics:
    """Accumulates ``edge_market_v0`` steps of one batch; :meth:`result` gives ``[n_envs]`` tensors."""

    KEYS = ("system_utility", "avg_qoe", "avg_qoe_norm", "utilisation", "jain", "gini", "deadline_rate",
            "rejection_rate", "revenue", "latency_ms", "killed_tasks")

    def __init__(self, env):
        self.n_envs, self.n_users = env.n_envs, env.n_users
        self.w_user, self.w_provider = env.config.user_weight, env.config.provider_weight
        E = self.n_envs
        z = lambda: torch.zeros(E, dtype=torch.float64)  # noqa: E731
        self.rounds = 0
        self.su, self.dec, self.qoe, self.qoe_norm, self.met = z(), z(), z(), z(), z()
        self.req, self.rej, self.util, self.rev, self.lat, self.killed = z(), z(), z(), z(), z(), z()
        self.user_qn = torch.zeros(E * self.n_users, dtype=torch.float64)
        self.user_n = torch.zeros(E * self.n_users, dtype=torch.float64)

    def update(self, step: Step) -> None:
        info = step.info
        if "user/index" not in info:  # the reset step carries no outcome
            return
        E = self.n_envs
        env = info["user/env"]
        add = lambda v: torch.zeros(E, dtype=torch.float64).index_add_(0, env, v.double())  # noqa: E731
        n_dec = add(torch.ones_like(info["user/qoe"]))
        r_user = step.reward["user"].double().sum(1)
        live = info["provider/live"]
        r_prov = (step.reward["provider"].double() * live).sum(1) / live.sum(1).clamp_min(1)
        self.su += self.w_user * r_user / n_dec.clamp_min(1) + self.w_provider * r_prov
        self.dec += n_dec
        self.qoe += add(info["user/qoe"])
        self.qoe_norm += add(info["user/qoe_norm"])
        self.met += add(info["user/deadline_met"].float())
        self.lat += add(info["user/latency_ms"])
        req = info["user/requested"]
        self.req += add(req.float())
        self.rej += add((req & ~info["user/admitted"]).float())
        up = info["provider/up"]
        self.util += (info["provider/utilisation"].double() * up).sum(1) / up.sum(1).clamp_min(1)
        self.rev += info["provider/revenue"].double().sum(1)
        self.killed += torch.zeros(E, dtype=torch.float64).index_add_(
            0, info["user/killed"] // self.n_users, torch.ones(info["user/killed"].numel(), dtype=torch.float64))
        self.user_qn.index_add_(0, info["user/index"], info["user/qoe_norm"].double())
        self.user_n.index_add_(0, info["user/index"], torch.ones_like(info["user/qoe_norm"], dtype=torch.float64))
        self.rounds += 1

    def result(self) -> dict[str, Tensor]:
        R = max(self.rounds, 1)
        dec = self.dec.clamp_min(1)
        served = (self.user_n > 0).view(self.n_envs, self.n_users)
        per_user = (self.user_qn / self.user_n.clamp_min(1)).view(self.n_envs, self.n_users)
        return {
            "system_utility": self.su / R,
            "avg_qoe": self.qoe / dec,
            "avg_qoe_norm": self.qoe_norm / dec,
            "utilisation": self.util / R,
            "jain": jain(per_user, served),
            "gini": gini(per_user, served),
            "deadline_rate": self.met / dec,
            "rejection_rate": self.rej / self.req.clamp_min(1),
            "revenue": self.rev / R,
            "latency_ms": self.lat / dec,
            "killed_tasks": self.killed,
        }


# --- equilibrium gaps ------------------------------------------------------------------------------
def deviation_gains(game, profile) -> np.ndarray:
    """δ_i = J_i(BR_i, π_{-i}) − J_i(π) for every player, ``[..., n_players]`` (negatives kept).

    ``profile`` is one profile ``[dim]`` or a batch ``[..., dim]`` of a :mod:`marlloc.games` game.
    """
    profile = np.asarray(profile, dtype=float)
    own = getattr(game, "deviation_gains", None)
    if own is not None:
        return np.asarray(own(profile), dtype=float)
    n = game.n_players
    br = np.asarray(game.best_responses(profile), dtype=float)
    mine = game.owner[None, :] == np.arange(n)[:, None]                       # [n, dim] coordinates of player i
    deviated = np.where(mine, br[..., None, :], profile[..., None, :])        # [..., n, dim] i alone deviates
    gained = np.diagonal(game.payoffs(deviated), axis1=-2, axis2=-1)          # [..., n] J_i(BR_i, π_{-i})
    return gained - game.payoffs(profile)


def nash_conv(game, profile) -> float | np.ndarray:
    """NashConv = Σ_i δ_i (a float for one profile, ``[...]`` for a batch)."""
    total = deviation_gains(game, profile).sum(-1)
    return float(total) if np.ndim(total) == 0 else total


def equilibrium_gaps(game, profile) -> dict[str, float | np.ndarray]:
    """δ (``deviation_gains``), NashConv, ε = max_i δ_i, and each ÷ ``game.payoff_range()`` (``relative_*``)."""
    gains = deviation_gains(game, profile)
    scale = float(game.payoff_range())
    nc, eps = gains.sum(-1), gains.max(-1)
    one = np.ndim(nc) == 0
    out = {"deviation_gains": gains, "nash_conv": float(nc) if one else nc, "epsilon": float(eps) if one else eps,
           "relative_deviation_gains": gains / scale, "payoff_range": scale}
    out["relative_nash_conv"] = out["nash_conv"] / scale
    out["relative_epsilon"] = out["epsilon"] / scale
    return out


def exploitability(game, profile) -> float | np.ndarray:
    """NashConv / 2 of a 2-player constant-sum game; ValueError for any other game."""
    if not (getattr(game, "constant_sum", False) and game.n_players == 2):
        raise ValueError(f"exploitability is defined for 2-player constant-sum games only; {game.name} is not one: "
                         "use nash_conv")
    total = nash_conv(game, profile)
    return total / 2
