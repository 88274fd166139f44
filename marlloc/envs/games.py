"""One-shot (or repeated) ground-truth games as batched environments: ``cournot_v0`` … ``shapley_v0``.

Each environment plays one game of :mod:`marlloc.games` per step, in ``n_envs`` copies at once.

=========================  ================================================================================
Environment                roles (agents, default) → action components, ``Discrete`` each
=========================  ================================================================================
``cournot_v0``             ``player`` (4 firms) → ``quantity``: K levels over [0, a/b]
``bertrand_v0``            ``player`` (3 providers) → ``price``: K levels over [0, p_max]
``kelly_v0``               ``player`` (4 users) → ``bid``: K levels over [0, v_max·C]
``stackelberg_v0``         ``leader`` (1 node) → ``price``: K levels over [0, max w];
                           ``follower`` (4 users) → ``demand``: K levels over [0, C]
``fisher_v0``              ``consumer`` (3) → ``spend_0`` … ``spend_{m−1}``: K levels over [0, B_i] each;
                           ``market`` (1) → ``price_0`` … ``price_{m−1}``: K levels over [p_lo, ΣB]
``congestion_v0``          ``user`` (3, atomic) → ``node``: M choices
``battle_of_the_sexes_v0`` ``player`` (row, column) → ``action``: 2 choices (opera, football)
``biased_rps_v0``          ``player`` (row, column) → ``action``: 3 choices (rock, paper, scissors)
``shapley_v0``             ``player`` (row, column) → ``action``: 3 choices (rock, paper, scissors)
=========================  ================================================================================

Grid     level k of a continuous game's component is the action low + (high − low)·k/(K − 1), with
         K = ``n_levels`` (default 1001) and the bounds of the game (``game.low``/``game.high``).
Observation  ``[A + 1]`` per agent of a role of A agents: the one-hot agent index within its role,
         then a constant 1 (the stage game never changes, so nothing else is informative).
Global state ``[dim + 1]``: the profile played last step (zeros after reset), each coordinate scaled to
         [0, 1] by its bounds, then the elapsed fraction of the episode t/T.
Active / done  every agent, every step / never.
Episode  ``episode_steps`` rounds (default 1: the one-shot game; more: the stage game repeated);
         every environment of a batch truncates together.

Rewards: every agent's payoff ``game.payoffs(profile)`` at the played profile (float32), plus, if
``reward_noise`` > 0, Gaussian noise of standard deviation ``reward_noise × game.payoff_range()``
drawn from the reset seed's own stream (stochastic payoffs; 0 gives the exact game).

Info (after a step): ``<role>/action_value`` the played action values (``[E, A]``; ``[E, A, k]`` for
vector blocks such as a Fisher consumer's spending or a matrix player's one-hot action);
``<role>/payoff`` the noiseless payoffs; with ``nash_conv_info`` (default) ``<role>/deviation_gain``
δ_i of every agent against its analytic best response over the continuous action set (not the
grid: a grid profile keeps a small floor), ``game/nash_conv`` and ``game/epsilon`` ``[E]``; and
``game/welfare`` ``[E]`` for games that define a social welfare.

Arguments: a config dataclass per environment (``CournotEnvConfig`` …): the game's parameters
(defaults: the worked examples of ``shared/design/game-theory.md``), ``n_levels`` (continuous games),
``episode_steps``, ``reward_noise``, ``nash_conv_info``, ``device``.

Version history: v0 — first version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from marlloc import games
from marlloc.core.config import check, check_fields, from_dict
from marlloc.core.errors import MarllocError
from marlloc.core.protocol import Discrete, MarkovGame, RoleSpec, Step, validate_actions
from marlloc.core.seeding import torch_rng
from marlloc.games import Game
from marlloc.metrics import deviation_gains


# --- configs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GameEnvConfig:
    """Fields every game environment has; subclasses add the game's parameters."""

    episode_steps: int = 1
    """Rounds per episode: 1 plays the one-shot game, more repeat the same stage game."""
    reward_noise: float = 0.0
    """Standard deviation of Gaussian reward noise in units of the game's payoff range (0: exact payoffs)."""
    nash_conv_info: bool = True
    """Report every agent's deviation gain and the played profile's NashConv in ``info`` (n + 1 payoff
    evaluations per step; switch off for the fastest training)."""
    device: str = "cpu"
    """Torch device of every tensor (the game's maths runs in numpy float64 on the CPU)."""

    env_id: ClassVar[str] = "game"

    def game(self) -> Game:
        raise NotImplementedError

    def __post_init__(self):
        v = self.episode_steps
        check(isinstance(v, int) and not isinstance(v, bool) and v >= 1, "episode_steps", "be an integer ≥ 1", v,
              "try episode_steps=1")
        v = self.reward_noise
        check(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf"), "reward_noise",
              "be a finite number ≥ 0", v, "try reward_noise=0")
        check(isinstance(self.nash_conv_info, bool), "nash_conv_info", "be True or False", self.nash_conv_info,
              "try nash_conv_info=True")
        self.game()  # the game checks its own parameters

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GameEnvConfig:
        check_fields(cls, d, cls.env_id)
        return from_dict(cls, d)


@dataclass(frozen=True)
class ContinuousGameConfig(GameEnvConfig):
    """A game with continuous actions, played on a grid of ``n_levels`` values per action component."""

    n_levels: int = 1001
    """K, grid levels of every action component over its bounds (1001: steps of 0.1 % of the range)."""

    def __post_init__(self):
        v = self.n_levels
        check(isinstance(v, int) and not isinstance(v, bool) and v >= 2, "n_levels", "be an integer ≥ 2", v,
              "try n_levels=1001")
        super().__post_init__()


@dataclass(frozen=True)
class CournotEnvConfig(ContinuousGameConfig):
    """``cournot_v0``: G1, firms choose quantities."""

    a: float = 100.0
    """Inverse-demand intercept: the price at zero output."""
    b: float = 2.0
    """Inverse-demand slope: P = a − b·Q."""
    costs: tuple[float, ...] = (10.0, 12.0, 15.0, 20.0)
    """Unit cost of every firm (one agent each)."""

    env_id: ClassVar[str] = "cournot_v0"

    def game(self):
        return games.cournot(self.a, self.b, self.costs)


@dataclass(frozen=True)
class BertrandEnvConfig(ContinuousGameConfig):
    """``bertrand_v0``: G2, providers set prices."""

    alpha: float = 10.0
    """α, every provider's demand when all prices are 0."""
    beta: float = 2.0
    """β, own-price sensitivity of demand."""
    gamma: float = 0.5
    """γ, cross-price sensitivity (2β > (n − 1)γ is required)."""
    costs: tuple[float, ...] = (1.0, 2.0, 3.0)
    """Unit cost of every provider (one agent each)."""

    env_id: ClassVar[str] = "bertrand_v0"

    def game(self):
        return games.bertrand(self.alpha, self.beta, self.gamma, self.costs)


@dataclass(frozen=True)
class KellyEnvConfig(ContinuousGameConfig):
    """``kelly_v0``: G3, users bid for one node's capacity."""

    values: tuple[float, ...] = (3.0, 2.0, 1.5, 0.4)
    """v_i, each user's value of a unit of capacity (one agent each)."""
    capacity: float = 1.0
    """C, the node's capacity."""
    reserve: float = 0.0
    """δ, the node's reserve bid: the share δ/(δ + Σb) stays unallocated."""

    env_id: ClassVar[str] = "kelly_v0"

    def game(self):
        return games.kelly(self.values, self.capacity, self.reserve)


@dataclass(frozen=True)
class StackelbergEnvConfig(ContinuousGameConfig):
    """``stackelberg_v0``: G4, a node posts a price, its users choose demand."""

    weights: tuple[float, ...] = (5.0, 3.0, 2.0, 0.5)
    """w_i, each user's utility weight in w_i·log(1 + x_i) (one follower each)."""
    capacity: float = 4.0
    """C, the node's capacity (and every user's largest demand)."""
    marginal_cost: float = 0.0
    """κ, the node's cost per unit served."""

    env_id: ClassVar[str] = "stackelberg_v0"

    def game(self):
        return games.stackelberg_price(self.weights, self.capacity, self.marginal_cost)


@dataclass(frozen=True)
class FisherEnvConfig(ContinuousGameConfig):
    """``fisher_v0``: G5, Cobb–Douglas consumers bid their budgets; a market agent posts prices."""

    budgets: tuple[float, ...] = (1.0, 2.0, 3.0)
    """B_i, each consumer's budget (one agent each)."""
    exponents: tuple[tuple[float, ...], ...] = ((0.5, 0.3, 0.2), (0.2, 0.5, 0.3), (0.3, 0.3, 0.4))
    """a_ij, one row of Cobb–Douglas exponents per consumer over the m goods (rows are normalised)."""

    env_id: ClassVar[str] = "fisher_v0"

    def game(self):
        return games.fisher_cobb_douglas(self.budgets, self.exponents)


@dataclass(frozen=True)
class CongestionEnvConfig(GameEnvConfig):
    """``congestion_v0``: G6 atomic, every user picks one node of cost a_j·w·n_j + b_j."""

    a: tuple[float, ...] = (1.0, 2.0, 4.0)
    """a_j, each node's cost slope per unit of load."""
    b: tuple[float, ...] = (0.0, 1.0, 5.0)
    """b_j, each node's free-flow cost."""
    demand: float = 3.0
    """Total weight of the users: with ``n_users=None``, a whole number of users of weight 1."""
    n_users: int | None = None
    """Number of users (agents), each of weight demand/n_users; None: ``demand`` users of weight 1."""

    env_id: ClassVar[str] = "congestion_v0"

    def game(self):
        return games.congestion(self.a, self.b, self.demand, atomic=True, n_users=self.n_users)


@dataclass(frozen=True)
class BattleOfTheSexesEnvConfig(GameEnvConfig):
    """``battle_of_the_sexes_v0``: the coordination control (mixed NE (2/3, 1/3))."""

    env_id: ClassVar[str] = "battle_of_the_sexes_v0"

    def game(self):
        return games.battle_of_the_sexes()


@dataclass(frozen=True)
class BiasedRpsEnvConfig(GameEnvConfig):
    """``biased_rps_v0``: OpenSpiel's biased rock-paper-scissors (NE (1/16, 10/16, 5/16))."""

    env_id: ClassVar[str] = "biased_rps_v0"

    def game(self):
        return games.biased_rps()


@dataclass(frozen=True)
class ShapleyEnvConfig(GameEnvConfig):
    """``shapley_v0``: Shapley's game, the negative control of fictitious play."""

    env_id: ClassVar[str] = "shapley_v0"

    def game(self):
        return games.shapley()


# --- the environment -------------------------------------------------------------------------------
class GameEnv(MarkovGame):
    """A :mod:`marlloc.games` game as a batched environment (see the module docstring)."""

    config_class: ClassVar[type[GameEnvConfig]] = GameEnvConfig

    def __init__(self, config: GameEnvConfig | None = None, **overrides):
        cfg = self._configure(config, overrides)
        self.game = g = cfg.game()
        self.scale = float(g.payoff_range())
        self.n_levels = getattr(cfg, "n_levels", None)
        self.roles, self._coords = {}, {}
        for role, players in g.roles.items():
            i0, A = players[0], len(players)
            names = g.action_names(i0)
            if g.finite:
                actions = {names[0]: Discrete(int(g.n_actions[i0]))}
            else:
                actions = {name: Discrete(self.n_levels) for name in names}
            self.roles[role] = RoleSpec(role, A, A + 1, actions, (*(f"is_{role}_{k}" for k in range(A)), "constant"))
            self._coords[role] = np.stack([np.arange(g.offsets[p], g.offsets[p + 1]) for p in players])  # [A, k]
        self.state_dim = g.dim + 1
        span = g.high - g.low
        self._span = np.where(span > 0, span, 1.0)
        try:
            g.welfare(g.equilibrium())
            self._welfare = True
        except NotImplementedError:
            self._welfare = False
        self._t: int | None = None

    # --- reset ---------------------------------------------------------------------------------
    def reset(self, n_envs: int = 1, seed: int | None = None) -> Step:
        if not isinstance(n_envs, int) or n_envs < 1:
            raise MarllocError(f"n_envs must be an integer ≥ 1, got {n_envs!r}; try n_envs=1")
        seed = 0 if seed is None else int(seed)
        self._seed, self.n_envs, self._t = seed, n_envs, 0
        self._gen = torch_rng(seed, "game_reward_noise", self.device)
        self._last = torch.zeros(n_envs, self.game.dim, dtype=torch.float32, device=self.device)
        self._obs = {}
        for role in self.roles.values():
            A = role.n_agents
            eye = torch.cat([torch.eye(A), torch.ones(A, 1)], 1).to(self.device)
            self._obs[role.name] = eye.expand(n_envs, A, A + 1).contiguous()      # never changes: one buffer
        zero = {r.name: torch.zeros(n_envs, r.n_agents, device=self.device) for r in self.roles.values()}
        return self._observe(zero, torch.zeros(n_envs, dtype=torch.bool, device=self.device), {})

    # --- step ----------------------------------------------------------------------------------
    def profile(self, actions: dict[str, dict[str, Tensor]]) -> np.ndarray:
        """The game profiles ``[n_envs, dim]`` (float64) that a batch of actions plays."""
        g = self.game
        if g.finite:
            pure = np.zeros((self.n_envs, g.n_players), dtype=np.int64)
            for role, players in g.roles.items():
                name = next(iter(self.roles[role].actions))
                pure[:, list(players)] = actions[role][name].cpu().numpy()
            return g.pure_profile(pure)
        prof = np.zeros((self.n_envs, g.dim))
        for role in self.roles.values():
            for k, name in enumerate(role.actions):
                c = self._coords[role.name][:, k]                                          # [A]
                level = actions[role.name][name].cpu().numpy().astype(float)               # [E, A]
                prof[:, c] = g.low[c] + (g.high[c] - g.low[c]) * level / (self.n_levels - 1)
        return prof

    def step(self, actions: dict[str, dict[str, Tensor]], check: bool = True) -> Step:
        if self._t is None:
            raise MarllocError("call reset() before step()")
        if check:
            validate_actions(self.roles, actions, self.n_envs)
        g, cfg, dev = self.game, self.config, self.device
        prof = self.profile(actions)
        pay = g.payoffs(prof)                                                              # [E, n]
        reward = torch.as_tensor(pay, dtype=torch.float32, device=dev)
        if cfg.reward_noise > 0:
            reward = reward + cfg.reward_noise * self.scale * torch.randn(
                reward.shape, generator=self._gen, device=dev)

        f32 = dict(dtype=torch.float32, device=dev)
        info: dict[str, Tensor] = {}
        gains = deviation_gains(g, prof) if cfg.nash_conv_info else None
        for role, players in g.roles.items():
            c = self._coords[role]
            vals = prof[:, c]                                                              # [E, A, k]
            info[f"{role}/action_value"] = torch.as_tensor(vals[..., 0] if c.shape[1] == 1 else vals, **f32)
            info[f"{role}/payoff"] = torch.as_tensor(pay[:, list(players)], **f32)
            if gains is not None:
                info[f"{role}/deviation_gain"] = torch.as_tensor(gains[:, list(players)], **f32)
        if gains is not None:
            info["game/nash_conv"] = torch.as_tensor(gains.sum(-1), **f32)
            info["game/epsilon"] = torch.as_tensor(gains.max(-1), **f32)
        if self._welfare:
            info["game/welfare"] = torch.as_tensor(g.welfare(prof), **f32)

        self._last = torch.as_tensor((prof - g.low) / self._span, **f32)
        self._t += 1
        rewards = {role: reward[:, list(players)] for role, players in g.roles.items()}
        truncated = torch.full((self.n_envs,), self._t >= cfg.episode_steps, dtype=torch.bool, device=dev)
        return self._observe(rewards, truncated, info)

    def _observe(self, reward, truncated, info) -> Step:
        E, dev = self.n_envs, self.device
        t = torch.full((E, 1), self._t / self.config.episode_steps, dtype=torch.float32, device=dev)
        return Step(
            obs=dict(self._obs), reward=reward,
            active={r.name: torch.ones(E, r.n_agents, dtype=torch.bool, device=dev) for r in self.roles.values()},
            done={r.name: torch.zeros(E, r.n_agents, dtype=torch.bool, device=dev) for r in self.roles.values()},
            state=torch.cat([self._last, t], 1), terminated=torch.zeros(E, dtype=torch.bool, device=dev),
            truncated=truncated, info=info,
        )

    # --- checkpointing -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue this batch exactly (tensors and ints only)."""
        if self._t is None:
            raise MarllocError("call reset() before state_dict()")
        return {"seed": self._seed, "n_envs": self.n_envs, "step": self._t, "last": self._last.clone(),
                "noise_rng": self._gen.get_state()}

    def load_state_dict(self, d: dict) -> None:
        """Continue from :meth:`state_dict` (same config)."""
        self.reset(n_envs=int(d["n_envs"]), seed=int(d["seed"]))
        self._t = int(d["step"])
        self._last = d["last"].to(self.device).clone()
        self._gen.set_state(d["noise_rng"])


class CournotEnv(GameEnv):
    """``cournot_v0``."""

    config_class = CournotEnvConfig


class BertrandEnv(GameEnv):
    """``bertrand_v0``."""

    config_class = BertrandEnvConfig


class KellyEnv(GameEnv):
    """``kelly_v0``."""

    config_class = KellyEnvConfig


class StackelbergEnv(GameEnv):
    """``stackelberg_v0``."""

    config_class = StackelbergEnvConfig


class FisherEnv(GameEnv):
    """``fisher_v0``."""

    config_class = FisherEnvConfig


class CongestionEnv(GameEnv):
    """``congestion_v0``."""

    config_class = CongestionEnvConfig


class BattleOfTheSexesEnv(GameEnv):
    """``battle_of_the_sexes_v0``."""

    config_class = BattleOfTheSexesEnvConfig


class BiasedRpsEnv(GameEnv):
    """``biased_rps_v0``."""

    config_class = BiasedRpsEnvConfig


class ShapleyEnv(GameEnv):
    """``shapley_v0``."""

    config_class = ShapleyEnvConfig


GAME_ENVS: dict[str, type[GameEnv]] = {
    cls.config_class.env_id: cls
    for cls in (CournotEnv, BertrandEnv, KellyEnv, StackelbergEnv, FisherEnv, CongestionEnv, BattleOfTheSexesEnv,
                BiasedRpsEnv, ShapleyEnv)
}

__all__ = ["GAME_ENVS", "BattleOfTheSexesEnv", "BattleOfTheSexesEnvConfig", "BertrandEnv", "BertrandEnvConfig",
           "BiasedRpsEnv", "BiasedRpsEnvConfig", "CongestionEnv", "CongestionEnvConfig", "ContinuousGameConfig",
           "CournotEnv", "CournotEnvConfig", "FisherEnv", "FisherEnvConfig", "GameEnv", "GameEnvConfig", "KellyEnv",
           "KellyEnvConfig", "ShapleyEnv", "ShapleyEnvConfig", "StackelbergEnv", "StackelbergEnvConfig"]
