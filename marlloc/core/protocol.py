"""The batched Markov-game protocol every marlloc environment follows.

An environment holds ``n_envs`` independent copies of one game as torch tensors. Agents are
grouped into **roles** (homogeneous agents that may share parameters); every per-agent tensor
of a role is shaped ``[n_envs, n_agents_of_role, ...]``. Dicts appear only here at the role
level and at the PettingZoo boundary — never per agent.

The contract:

- ``reset(n_envs, seed) -> Step``: new episodes; rewards are zero.
- ``step(actions) -> Step``: ``actions[role][component]`` is a tensor ``[n_envs, n_agents, *shape]``
  (``long`` for discrete components, ``float`` for boxes). Out-of-range actions raise
  :class:`ActionError` naming the role, component, rule and offending value.
- ``Step.active[role]``: bool ``[n_envs, n_agents]``, agents whose action is used this step
  (e.g. users with a new task). Inactive agents' actions are ignored; their observations are
  still well formed.
- ``Step.done[role]``: bool ``[n_envs, n_agents]``, agents that have left the game for good
  (e.g. a provider whose node failed until the episode end). Once done, an agent stays done.
- ``Step.terminated`` / ``Step.truncated``: bool ``[n_envs]``, episode ends. Environments in a
  batch share a round counter, so a fixed-horizon game truncates all of them together; the
  caller resets.
- ``Step.state``: ``[n_envs, state_dim]`` global state for centralised critics.
- ``Step.info``: flat dict of tensors with namespaced keys (``"user/latency_ms"``): per-agent
  details shaped like the role's agents, per-env figures shaped ``[n_envs]``. A role whose
  agents act sparsely may report its details as compact rows over the agents that acted:
  ``info["<role>/index"]`` holds their flat indices ``env * n_agents + agent`` and the keys in
  the environment's ``compact_info[role]`` are aligned with it.
- ``Step.obs`` tensors may be buffers the environment reuses: they stay valid through the next
  step (so ``(obs, next_obs)`` pairs are safe) and must be cloned to be kept longer.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import torch
from torch import Tensor

from marlloc.core.errors import MarllocError


class ActionError(MarllocError, ValueError):
    """An action tensor is malformed or out of range."""


@dataclass(frozen=True)
class Discrete:
    """A categorical action component with values ``0 .. n-1`` (long tensor ``[E, A]``)."""

    n: int


@dataclass(frozen=True)
class Box:
    """A real action component in ``[low, high]`` (float tensor ``[E, A, *shape]``)."""

    low: float
    high: float
    shape: tuple[int, ...] = (1,)


@dataclass(frozen=True)
class RoleSpec:
    """One agent group: its size, observation width and named action components."""

    name: str
    n_agents: int
    obs_dim: int
    actions: dict[str, Discrete | Box] = field(hash=False)
    obs_names: tuple[str, ...] = ()
    """Names of the observation features, in order (documentation and debugging)."""

    def agent_ids(self) -> list[str]:
        return [f"{self.name}_{i}" for i in range(self.n_agents)]


@dataclass
class Step:
    """What ``reset`` and ``step`` return; see the module docstring for shapes."""

    obs: dict[str, Tensor]
    reward: dict[str, Tensor]
    active: dict[str, Tensor]
    done: dict[str, Tensor]
    state: Tensor
    terminated: Tensor
    truncated: Tensor
    info: dict[str, Tensor]


class MarkovGame(abc.ABC):
    """Base class of batched environments. Subclasses set ``roles`` and ``state_dim``."""

    roles: dict[str, RoleSpec]
    state_dim: int
    compact_info: dict[str, tuple[str, ...]] = {}  # read-only; environments override it
    device: torch.device
    n_envs: int = 0

    config_class: type  # the environment's frozen config dataclass (with ``from_dict``)

    def _configure(self, config, overrides: dict):
        """Set ``self.config`` from a config object or keyword overrides (not both) and ``self.device``."""
        if config is None:
            config = self.config_class.from_dict(overrides)
        elif overrides:
            raise MarllocError("pass either a config or keyword overrides, not both")
        self.config = config
        self.device = torch.device(config.device)
        return config

    @abc.abstractmethod
    def reset(self, n_envs: int = 1, seed: int | None = None) -> Step: ...

    @abc.abstractmethod
    def step(self, actions: dict[str, dict[str, Tensor]]) -> Step: ...

    def sample_actions(self, generator: torch.Generator | None = None) -> dict[str, dict[str, Tensor]]:
        """Uniform random actions for every role (the ``random`` policy, and tests)."""
        out: dict[str, dict[str, Tensor]] = {}
        for role in self.roles.values():
            comps = {}
            for name, sp in role.actions.items():
                size = (self.n_envs, role.n_agents)
                if isinstance(sp, Discrete):
                    comps[name] = torch.randint(sp.n, size, generator=generator, device=self.device)
                else:
                    u = torch.rand(size + sp.shape, generator=generator, device=self.device)
                    comps[name] = sp.low + (sp.high - sp.low) * u
            out[role.name] = comps
        return out


def action_grid(role: RoleSpec, device=None) -> Tensor:
    """Every joint action of one agent of a role with discrete components: ``[J, n_components]``
    levels in row-major order (the first component varies slowest)."""
    import itertools

    sizes = [sp.n for sp in role.actions.values()]
    return torch.tensor(list(itertools.product(*[range(k) for k in sizes])), dtype=torch.long, device=device)


def validate_actions(roles: dict[str, RoleSpec], actions: dict[str, dict[str, Tensor]], n_envs: int) -> None:
    """Check presence, shape, dtype and range of every action component; raise ActionError."""
    for role in roles.values():
        if role.name not in actions:
            raise ActionError(f"actions for role {role.name!r} missing; pass actions[{role.name!r}] = "
                              f"{{{', '.join(repr(k) for k in role.actions)}: tensor}}")
        given = actions[role.name]
        for name, sp in role.actions.items():
            if name not in given:
                raise ActionError(f"{role.name} action component {name!r} missing; "
                                  f"expected components: {', '.join(role.actions)}")
            a = given[name]
            want = (n_envs, role.n_agents) + (() if isinstance(sp, Discrete) else sp.shape)
            if tuple(a.shape) != want:
                raise ActionError(f"{role.name}.{name} must have shape {list(want)} "
                                  f"(n_envs, n_agents, ...), got {list(a.shape)}")
            if isinstance(sp, Discrete):
                if a.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
                    raise ActionError(f"{role.name}.{name} must be an integer tensor, got {a.dtype}; "
                                      "use .long()")
                lo, hi = int(a.min()), int(a.max())
                if lo < 0 or hi >= sp.n:
                    bad = lo if lo < 0 else hi
                    raise ActionError(f"{role.name}.{name} must lie in 0..{sp.n - 1}, got {bad}")
            else:
                lo, hi = float(a.min()), float(a.max())
                if not (sp.low <= lo and hi <= sp.high):  # also catches NaN
                    bad = lo if not sp.low <= lo else hi
                    raise ActionError(f"{role.name}.{name} must lie in [{sp.low}, {sp.high}], got {bad}; "
                                      "clip the policy output")
