"""The evaluation harness every result goes through.

``evaluate(policies, env_id, config, episodes, seeds)`` runs every policy on the same
evaluation seeds: for each seed, one batch of ``episodes`` environments reset with that seed, so
every policy meets the same arrivals and events (arrival draws do not depend on actions, except
that a task killed by a node failure frees its user early). Per episode it records the metrics
of :class:`~marlloc.metrics.EdgeEpisodeMetrics` plus

- ``utility_vs_bound``: Σ over rounds of the realised system utility ÷ Σ of the per-round LP
  upper bound (:mod:`marlloc.solvers.optimum`, built without the deadline filter so it bounds
  every policy) at the state that policy reached — the fraction of the achievable it got;
- ``bound``: the mean per-round bound.

Aggregates per metric: mean, sample std (ddof = 1) and the 95 % confidence interval of the mean
(Student t with n − 1 degrees of freedom; a single episode gives a zero-width interval).
``write(result, out_dir)`` writes ``summary.json`` and ``episodes.csv`` atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from marlloc.core.config import to_dict
from marlloc.core.errors import ConfigError
from marlloc.core.protocol import MarkovGame
from marlloc.metrics import EdgeEpisodeMetrics
from marlloc.policies import act, check_names, joint

SCENARIOS = {"edge": "edge_market_v0"}


def rollout(env: MarkovGame, policies: dict[str, object], n_envs: int, seed: int,
            bound: bool = False) -> dict[str, torch.Tensor | float]:
    """One episode in each of ``n_envs`` environments; metrics per environment plus ``wall_s``."""
    from marlloc.solvers.optimum import AssignmentOptimum

    t0 = time.perf_counter()
    step = env.reset(n_envs=n_envs, seed=seed)
    metrics = EdgeEpisodeMetrics(env)
    lp = AssignmentOptimum(relax=True)
    bound_sum = torch.zeros(n_envs, dtype=torch.float64)
    while not bool(step.truncated.all() | step.terminated.all()):
        if bound:
            bound_sum += torch.as_tensor(lp.solve(env.round_instance(deadline_filter=False)).objective_per_env_)
        step = env.step(act(policies, step))
        metrics.update(step)
    out: dict[str, torch.Tensor | float] = dict(metrics.result())
    if bound:
        realised = out["system_utility"] * metrics.rounds
        out["utility_vs_bound"] = realised / bound_sum
        out["bound"] = bound_sum / max(metrics.rounds, 1)
    out["wall_s"] = time.perf_counter() - t0
    return out


@dataclass
class Evaluation:
    """Per-episode rows and per-policy aggregates of one evaluation."""

    scenario: str
    env_id: str
    config: dict
    seeds: list[int]
    episodes: int
    pricing: str
    rows: list[dict] = field(default_factory=list)
    policies: dict[str, dict] = field(default_factory=dict)

    def summary(self) -> dict:
        from marlloc import __version__

        return {"scenario": self.scenario, "env_id": self.env_id, "config": self.config, "seeds": self.seeds,
                "episodes": self.episodes, "pricing": self.pricing, "marlloc_version": __version__,
                "policies": self.policies}


def aggregate(values: list[float]) -> dict:
    """Mean, sample std and 95 % CI (Student t) of per-episode values; non-finite values are
    dropped (``n`` counts what is left)."""
    from scipy.special import stdtrit  # Student t quantile; lighter to import than scipy.stats

    xs = [v for v in values if math.isfinite(v)]
    n = len(xs)
    if n == 0:
        return {"mean": None, "std": None, "ci95": [None, None], "n": 0}
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    half = float(stdtrit(n - 1, 0.975)) * std / math.sqrt(n) if n > 1 else 0.0
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half], "n": n}


def evaluate(policies: str | list[str], env_id: str = "edge_market_v0", config: dict | None = None,
             episodes: int = 5, seeds: list[int] | int = 0, pricing: str = "fixed", bound: bool = True,
             progress=None) -> Evaluation:
    """Run every policy on the same seeds; see the module docstring."""
    from marlloc.envs import make

    names = [p.strip() for p in policies.split(",")] if isinstance(policies, str) else list(policies)
    names = [n for n in names if n]
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    if not names:
        raise ConfigError("policies must name at least one policy, got none; e.g. --policies random,greedy")
    if not isinstance(episodes, int) or episodes < 1:
        raise ConfigError(f"episodes must be an integer ≥ 1, got {episodes!r}; try episodes=5")
    if not seeds:
        raise ConfigError("seeds must hold at least one seed, got none; e.g. seeds=[0]")
    check_names(names, pricing)
    scenario = next((k for k, v in SCENARIOS.items() if v == env_id), env_id)
    env = make(env_id, **(config or {}))
    ev = Evaluation(scenario, env_id, to_dict(env.config), seeds, episodes, pricing)
    # a trained policy "maddpg:PATH" is listed as "maddpg" unless two share that name
    short = [n.partition(":")[0] for n in names]
    label = {n: (s if short.count(s) == 1 else n) for n, s in zip(names, short, strict=True)}
    for name in names:
        wall = 0.0
        for seed in seeds:
            out = rollout(env, joint(env, name, pricing, seed), episodes, seed, bound=bound)
            wall += out.pop("wall_s")
            for i in range(episodes):
                ev.rows.append({"policy": label[name], "seed": seed, "episode": i,
                                **{k: float(v[i]) for k, v in out.items()}})
            if progress is not None:
                progress(name, seed)
        keys = [k for k in ev.rows[-1] if k not in ("policy", "seed", "episode")]
        mine = [r for r in ev.rows if r["policy"] == label[name]]
        ev.policies[label[name]] = {k: aggregate([r[k] for r in mine]) for k in keys}
        ev.policies[label[name]]["wall_s"] = wall
    return ev


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(ev: Evaluation, out_dir: str | Path) -> tuple[Path, Path]:
    """``out_dir/summary.json`` and ``out_dir/episodes.csv``, each written atomically."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out must be a folder, got the file {str(out)!r}; pick another path")
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    if ev.rows:
        w = csv.DictWriter(buf, fieldnames=list(ev.rows[0]))
        w.writeheader()
        w.writerows(ev.rows)
    summary, episodes = out / "summary.json", out / "episodes.csv"
    _atomic_write(episodes, buf.getvalue())
    _atomic_write(summary, json.dumps(ev.summary(), indent=2, allow_nan=False) + "\n")
    return summary, episodes
