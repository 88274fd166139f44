"""PettingZoo ``ParallelEnv`` face of any registered batched environment.

The adapter drives one environment of a batch (``n_envs = 1``); dicts exist only here.

- Agent ids: ``<role>_<i>`` (``user_0``, ``provider_0``), ordered role by role.
- Spaces (cached: the same object comes back): observations ``Box(-inf, inf, (obs_dim,), float32)``;
  a role with one action component uses that component's space (providers:
  ``Box(0, 1, (3,))``), a role with several uses a ``Dict`` (users:
  ``Dict(node=Discrete(M+1), bid=Box(0, 1, (1,)))``).
- Inactive agents (e.g. users without a new task) still act; their actions are ignored and
  ``infos[agent]["active"]`` is False. An agent missing from the action dict takes the
  last value of each discrete component and the low end of each box (users: run locally,
  bid 0; providers: price 0).
- An agent that leaves the game (``done``) gets ``terminations[agent] = True`` once and is then
  removed from ``agents``; it is never revived. At the horizon every agent is truncated.
- ``state()`` is the batched environment's global state for centralised critics.
- ``infos[agent]`` holds ``active`` and, for an agent that acted, the details its environment
  lists in ``compact_info`` (edge market users: latency and its parts, QoE, admission, cost).
- ``reset(seed=s)`` seeds the wrapped environment with ``s``; ``reset()`` without a seed draws
  the next episode's seed from the adapter's own generator (seeded by the last explicit seed).
"""

from __future__ import annotations

import functools
from typing import ClassVar

import gymnasium
import numpy as np
import torch
from pettingzoo import ParallelEnv

from marlloc.core.protocol import Box, Discrete, MarkovGame, Step


def _space(sp: Discrete | Box) -> gymnasium.Space:
    if isinstance(sp, Discrete):
        return gymnasium.spaces.Discrete(sp.n)
    return gymnasium.spaces.Box(sp.low, sp.high, sp.shape, dtype=np.float32)


class ParallelAdapter(ParallelEnv):
    """``ParallelEnv`` over environment 0 of a batch of one."""

    metadata: ClassVar[dict] = {"name": "marlloc", "render_modes": [], "is_parallelizable": True}

    def __init__(self, env: MarkovGame, env_id: str = "marlloc"):
        self.env = env
        self.metadata = {**self.metadata, "name": env_id}
        self.render_mode = None
        self._roles = list(env.roles.values())
        self.possible_agents = [a for r in self._roles for a in r.agent_ids()]
        self._role_of = {a: (r, i) for r in self._roles for i, a in enumerate(r.agent_ids())}
        self.agents: list[str] = []
        self._rng = np.random.default_rng()
        self.state_space = gymnasium.spaces.Box(-np.inf, np.inf, (env.state_dim,), dtype=np.float32)
        self._state = np.zeros(env.state_dim, dtype=np.float32)

    @functools.cache  # noqa: B019 - spaces must be the same object every call
    def observation_space(self, agent: str) -> gymnasium.Space:
        role, _ = self._role_of[agent]
        return gymnasium.spaces.Box(-np.inf, np.inf, (role.obs_dim,), dtype=np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gymnasium.Space:
        role, _ = self._role_of[agent]
        if len(role.actions) == 1:
            return _space(next(iter(role.actions.values())))
        return gymnasium.spaces.Dict({k: _space(v) for k, v in role.actions.items()})

    # --- episode -------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        else:
            seed = int(self._rng.integers(2**31))
        step = self.env.reset(n_envs=1, seed=seed)
        self.agents = list(self.possible_agents)
        self._dead: set[str] = set()
        obs, _, _, _, infos = self._unpack(step)
        return obs, infos

    def step(self, actions: dict):
        batched = {}
        for role in self._roles:
            comps = {}
            ids = role.agent_ids()
            for name, sp in role.actions.items():
                if isinstance(sp, Discrete):
                    # default for a missing agent: the last choice (for users: run locally)
                    vals = np.full(role.n_agents, sp.n - 1, dtype=np.int64)
                else:
                    vals = np.full((role.n_agents, *sp.shape), sp.low, dtype=np.float32)
                comps[name] = vals
            single = len(role.actions) == 1
            key = next(iter(role.actions)) if single else None
            for i, a in enumerate(ids):
                act = actions.get(a)
                if act is None:
                    continue
                if single:
                    comps[key][i] = act
                else:
                    for name in role.actions:
                        comps[name][i] = act[name]
            batched[role.name] = {k: torch.as_tensor(v, device=self.env.device)[None] for k, v in comps.items()}
        return self._unpack(self.env.step(batched))

    def _unpack(self, step: Step):
        obs, rew, term, trunc, infos = {}, {}, {}, {}, {}
        truncated = bool(step.truncated[0])
        for role in self._roles:
            o = step.obs[role.name][0].cpu().numpy().copy()  # the env reuses its buffers
            r = step.reward[role.name][0].cpu().tolist()
            active = step.active[role.name][0].cpu().tolist()
            done = step.done[role.name][0].cpu().tolist()
            details = self._details(step, role.name)
            for i, a in enumerate(role.agent_ids()):
                if a in self._dead:
                    continue
                obs[a] = o[i]
                rew[a] = r[i]
                term[a] = done[i]
                trunc[a] = truncated
                infos[a] = {"active": active[i], **details.get(i, {})}
        self._state = step.state[0].cpu().numpy().copy()
        self.agents = [a for a in self.agents if not (term.get(a) or trunc.get(a))]
        self._dead.update(a for a in term if term[a] or trunc[a])
        return obs, rew, term, trunc, infos

    def _details(self, step: Step, role: str) -> dict[int, dict]:
        """Per-agent details of the agents that acted, from the env's compact info rows."""
        keys = getattr(self.env, "compact_info", {}).get(role, ())
        if f"{role}/index" not in step.info or not keys:
            return {}
        idx = step.info[f"{role}/index"].cpu().tolist()  # n_envs = 1: flat index == agent index
        cols = {k.split("/", 1)[1]: step.info[k].cpu().tolist() for k in keys}
        return {i: {k: v[j] for k, v in cols.items()} for j, i in enumerate(idx)}

    def state(self) -> np.ndarray:
        return self._state

    def render(self):
        return None

    def close(self):
        pass
