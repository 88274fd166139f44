"""Rolling policies out in a batched environment and collecting episode metrics."""

from __future__ import annotations

import time

import torch

from marlloc.core.protocol import MarkovGame
from marlloc.metrics import EdgeEpisodeMetrics
from marlloc.policies import act


def rollout(env: MarkovGame, policies: dict[str, object], n_envs: int, seed: int) -> dict[str, float | torch.Tensor]:
    """One episode in each of ``n_envs`` environments; metrics per environment plus ``wall_s``."""
    t0 = time.perf_counter()
    step = env.reset(n_envs=n_envs, seed=seed)
    metrics = EdgeEpisodeMetrics(env)
    while not bool(step.truncated.all() | step.terminated.all()):
        step = env.step(act(policies, step))
        metrics.update(step)
    out: dict[str, float | torch.Tensor] = dict(metrics.result())
    out["wall_s"] = time.perf_counter() - t0
    return out
