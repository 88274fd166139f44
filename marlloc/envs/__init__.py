"""Environment registry: ``make(env_id, **config)`` (batched) and ``make_parallel`` (PettingZoo).

Both names are stable public API. ``ENVS`` is a plain dict; tests iterate over it.
"""

from __future__ import annotations

from marlloc.core.errors import ConfigError
from marlloc.core.protocol import MarkovGame
from marlloc.envs.economy import Economy
from marlloc.envs.edge import EdgeMarket
from marlloc.envs.games import GAME_ENVS

ENVS: dict[str, type[MarkovGame]] = {
    "edge_market_v0": EdgeMarket,
    "economy_v0": Economy,
    **GAME_ENVS,  # cournot_v0, bertrand_v0, kelly_v0, stackelberg_v0, fisher_v0, congestion_v0, and the controls
}


def make(env_id: str, **config) -> MarkovGame:
    """The batched environment ``env_id`` built from config overrides (see its config class)."""
    if env_id not in ENVS:
        raise ConfigError(f"unknown environment {env_id!r}; choose one of: {', '.join(sorted(ENVS))}")
    return ENVS[env_id](**config)


def make_parallel(env_id: str, **config):
    """The PettingZoo ``ParallelEnv`` face of ``env_id`` (one environment of a batch)."""
    from marlloc.envs.pettingzoo import ParallelAdapter

    return ParallelAdapter(make(env_id, **config), env_id=env_id)


__all__ = ["ENVS", "make", "make_parallel"]
