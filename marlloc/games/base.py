"""The interface every ground-truth game follows, and the water-filling step several closed forms share.

A game is a small numpy object built from its parameters. Its **profile** is one 1-D float array
holding every player's action, player after player: player i owns the block
``profile[game.slice(i)]`` of length ``game.sizes[i]`` (1 for a scalar action such as a quantity or
a price; m for a vector such as a consumer's spending on m goods or a mixed strategy over m
actions). ``game.owner[d]`` is the player owning coordinate d.

Every method that takes a profile also takes a batch of them (``[..., dim]``): ``payoffs`` returns
``[..., n_players]`` and ``best_responses`` returns ``[..., dim]``, the profile in which every player
has switched to its best response to the others' actions in the given profile (the Jacobi map).
``best_response(i, profile)`` is player i's block of it (a float for a scalar action).

Best responses are analytic and respect the action bounds ``low``/``high`` (``[dim]`` each); a
continuous game's payoff is concave in the player's own action, so the clipped stationary point is
the maximiser. ``equilibrium()`` is the closed form of ``shared/design/game-theory.md``;
``payoff_range()`` is the payoff scale every relative tolerance uses.
"""

from __future__ import annotations

import abc

import numpy as np

from marlloc.core.config import check


class Game(abc.ABC):
    """A finite-player game with a closed-form equilibrium (see the module docstring)."""

    name: str = "game"
    roles: dict[str, tuple[int, ...]]
    """Role name → its players, in order (environments group agents by role)."""
    finite: bool = False
    """True when every player picks one of ``n_actions[i]`` pure actions (environments use them as is)."""
    mixed: bool = False
    """True when a player's block is a mixed strategy over its actions (fictitious play applies)."""
    convex: bool = True
    """True when action sets are convex, so damped (averaged) best-response updates stay feasible."""
    constant_sum: bool = False
    """True for 2-player constant-sum games, the only ones where "exploitability" is defined."""

    def __init__(self, sizes: tuple[int, ...], low, high):
        self.sizes = tuple(int(s) for s in sizes)
        self.n_players = len(self.sizes)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.dim = int(self.offsets[-1])
        self.owner = np.repeat(np.arange(self.n_players), self.sizes)      # [dim] player of each coordinate
        self.low = np.broadcast_to(np.asarray(low, dtype=float), (self.dim,)).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=float), (self.dim,)).copy()

    # --- profile helpers ----------------------------------------------------------------------
    def slice(self, i: int) -> slice:
        """Player i's coordinates in the profile."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def split(self, profile) -> list[np.ndarray]:
        """The players' blocks ``[..., sizes[i]]`` of a profile (or a batch of profiles)."""
        profile = np.asarray(profile, dtype=float)
        return [profile[..., self.slice(i)] for i in range(self.n_players)]

    def join(self, blocks) -> np.ndarray:
        """Inverse of :meth:`split`: one profile (or batch) from the players' blocks; scalars are allowed."""
        parts = []
        for b, s in zip(blocks, self.sizes, strict=True):
            b = np.asarray(b, dtype=float)
            parts.append(b[..., None] if s == 1 and (b.ndim == 0 or b.shape[-1] != 1) else b)
        batch = np.broadcast_shapes(*(p.shape[:-1] for p in parts))
        return np.concatenate([np.broadcast_to(p, batch + p.shape[-1:]) for p in parts], axis=-1)

    def deviate(self, profile, i: int, action) -> np.ndarray:
        """A copy of ``profile`` in which player i plays ``action`` (a scalar or its block)."""
        out = np.array(profile, dtype=float)
        sl = self.slice(i)
        out[..., sl] = np.reshape(action, (*np.shape(out)[:-1], self.sizes[i]))
        return out

    def best_response(self, i: int, profile):
        """Player i's best response to the others' actions in ``profile`` (a float for a scalar action)."""
        block = self.best_responses(profile)[..., self.slice(i)]
        if self.sizes[i] > 1:
            return block
        return float(block[0]) if block.ndim == 1 else block[..., 0]

    def initial_profile(self) -> np.ndarray:
        """Where solvers start by default: every action at its lower bound."""
        return self.low.copy()

    def equilibrium_error(self, profile) -> float:
        """max |profile − equilibrium| ÷ max |equilibrium| (the relative error of a solver's answer)."""
        ref = self.equilibrium()
        return float(np.max(np.abs(np.asarray(profile, dtype=float) - ref)) / max(np.max(np.abs(ref)), 1e-300))

    # --- the game ---------------------------------------------------------------------------
    @abc.abstractmethod
    def payoffs(self, profile) -> np.ndarray:
        """Every player's payoff, ``[..., n_players]``."""

    @abc.abstractmethod
    def best_responses(self, profile) -> np.ndarray:
        """Each player's best response to the others (the Jacobi map), ``[..., dim]``."""

    @abc.abstractmethod
    def equilibrium(self) -> np.ndarray:
        """The closed-form equilibrium profile."""

    @abc.abstractmethod
    def payoff_range(self) -> float:
        """The payoff scale relative tolerances refer to (documented per game)."""

    def action_names(self, i: int) -> tuple[str, ...]:
        """Names of player i's action coordinates (environment action components)."""
        return ("action",) if self.sizes[i] == 1 else tuple(f"action_{k}" for k in range(self.sizes[i]))

    def welfare(self, profile) -> np.ndarray:
        """Social welfare of a profile (games that define one)."""
        raise NotImplementedError(f"{self.name} defines no social welfare")

    def optimum(self) -> float:
        """The largest social welfare any profile reaches (games that define one)."""
        raise NotImplementedError(f"{self.name} defines no social optimum")

    def efficiency(self, profile) -> np.ndarray:
        """Welfare ÷ optimum ∈ [0, 1]; for cost games (welfare ≤ 0) optimal cost ÷ cost, so 1/PoA at a Nash profile."""
        w, opt = np.asarray(self.welfare(profile)), self.optimum()
        return w / opt if opt > 0 else opt / np.minimum(w, -1e-300)


# --- shared pieces of the closed forms ------------------------------------------------------------
def vector(value, name: str, fix: str, lo: float | None = 0.0, strict: bool = False, min_len: int = 1) -> np.ndarray:
    """A finite 1-D float parameter ≥ lo (> lo when strict) of at least ``min_len`` entries; ConfigError otherwise."""
    try:
        v = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        v = np.full(1, np.nan)
    check(v.ndim == 1 and v.size >= min_len and bool(np.isfinite(v).all()), name,
          f"be a list of at least {min_len} finite numbers", value, fix)
    if lo is not None:
        ok = (v > lo).all() if strict else (v >= lo).all()
        check(bool(ok), name, f"hold numbers {'>' if strict else '≥'} {lo:g}", value, fix)
    return v


def number(value, name: str, fix: str, lo: float | None = 0.0, strict: bool = True) -> float:
    """A finite float parameter > lo (≥ lo when not strict); ConfigError otherwise."""
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) and np.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if strict else value >= lo
    rule = "be a finite number" if lo is None else f"be a finite number {'>' if strict else '≥'} {lo:g}"
    check(bool(ok), name, rule, value, fix)
    return float(value)


def water_fill(base, slope, mass) -> np.ndarray:
    """Split ``mass`` over nodes of cost ``base_j + slope_j·f_j`` so every used node costs the same λ.

    ``base`` ``[..., M]``, ``slope`` ``[M]`` (> 0), ``mass`` ``[...]`` or a scalar ≥ 0. The used nodes
    are the cheapest prefix by base cost, λ = (mass + Σ_used base/slope) / Σ_used 1/slope, and
    f_j = max(0, (λ − base_j)/slope_j). Returns f ``[..., M]`` (Σ_j f_j = mass).
    """
    base = np.asarray(base, dtype=float)
    slope = np.broadcast_to(np.asarray(slope, dtype=float), base.shape)
    mass = np.broadcast_to(np.asarray(mass, dtype=float), base.shape[:-1])
    order = np.argsort(base, axis=-1, kind="stable")
    bs = np.take_along_axis(base, order, -1)
    inv = 1.0 / np.take_along_axis(slope, order, -1)
    level = (mass[..., None] + np.cumsum(bs * inv, -1)) / np.cumsum(inv, -1)           # λ_k with the k cheapest
    # a node joins while it is cheaper than the level without it; that holds for a prefix only
    k = np.maximum((bs < level).sum(-1), 1)
    lam = np.take_along_axis(level, (k - 1)[..., None], -1)
    return np.maximum(0.0, (lam - base) / slope)


def one_hot(index, n: int) -> np.ndarray:
    """``[..., n]`` float one-hot rows of integer ``index`` ``[...]``."""
    return (np.asarray(index)[..., None] == np.arange(n)).astype(float)
