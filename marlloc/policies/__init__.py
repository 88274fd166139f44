"""Non-learning policies for the edge market, decentralised: each reads only its own role's
observations (by feature name), vectorised over environments and agents.

A policy is an object with ``act(step) -> dict[component, Tensor]`` for one role; a joint
policy for a game is one policy per role (:func:`joint`). Registries are plain dicts.

User policies
- ``random``: uniform target (every node and local) and uniform bid fraction.
- ``greedy_latency``: the target with the lowest latency estimate in the observation (nodes
  at last round's load, and local), bidding its quote (capped by the budget); every user
  decides at once from the same published loads, so users can herd onto one node.

Provider policies
- ``fixed``: post the reference prices every round.
- ``random``: uniform prices in [0, price_max].
"""

from __future__ import annotations

import torch
from torch import Tensor

from marlloc.core.protocol import MarkovGame, Step

# bid slightly above the quote so float rounding of fraction × budget never falls below it
QUOTE_MARGIN = 1e-6


class UniformRandom:
    """Uniform random actions for one role."""

    def __init__(self, env: MarkovGame, role: str, seed: int = 0):
        self.env, self.role = env, role
        self.g = torch.Generator(device=env.device).manual_seed(seed)

    def act(self, step: Step) -> dict[str, Tensor]:
        return self.env.sample_actions(self.g)[self.role]


class GreedyLatency:
    """Users: lowest estimated latency, bid = quote (capped at the budget); local bids 0."""

    def __init__(self, env: MarkovGame, role: str = "user", seed: int = 0):
        names = env.roles[role].obs_names
        M = env.n_nodes
        self.est = torch.tensor([names.index(f"log_latency_ratio_{j}") for j in range(M)]
                                + [names.index("log_latency_ratio_local")], device=env.device)
        self.quote = torch.tensor([names.index(f"quote_over_budget_{j}") for j in range(M)], device=env.device)
        self.n_nodes = M

    def act(self, step: Step) -> dict[str, Tensor]:
        obs = step.obs["user"]
        node = obs.index_select(2, self.est).argmin(2)                                    # [E, N]
        q = obs.index_select(2, self.quote)                                               # [E, N, M]
        q = torch.cat([q, torch.zeros_like(q[..., :1])], 2).gather(2, node[..., None])
        bid = (q * (1 + QUOTE_MARGIN)).clamp(0, 1)
        return {"node": node, "bid": bid}


class FixedPrices:
    """Providers: the reference prices, every round."""

    def __init__(self, env: MarkovGame, role: str = "provider", seed: int = 0):
        self.env = env
        self.frac = 1.0 / env.config.price_max_factor

    def act(self, step: Step) -> dict[str, Tensor]:
        E, M = self.env.n_envs, self.env.n_nodes
        return {"price": torch.full((E, M, 3), self.frac, device=self.env.device)}


USER_POLICIES = {"random": UniformRandom, "greedy_latency": GreedyLatency}
PROVIDER_POLICIES = {"fixed": FixedPrices, "random": UniformRandom}


def joint(env: MarkovGame, user: str, provider: str = "fixed", seed: int = 0) -> dict[str, object]:
    """One policy per role of the edge market, by registry name."""
    from marlloc.core.errors import ConfigError

    for name, reg, kind in ((user, USER_POLICIES, "user"), (provider, PROVIDER_POLICIES, "provider")):
        if name not in reg:
            raise ConfigError(f"unknown {kind} policy {name!r}; choose one of: {', '.join(sorted(reg))}")
    return {"user": USER_POLICIES[user](env, "user", seed), "provider": PROVIDER_POLICIES[provider](env, "provider", seed + 1)}


def act(policies: dict[str, object], step: Step) -> dict[str, dict[str, Tensor]]:
    return {role: p.act(step) for role, p in policies.items()}
