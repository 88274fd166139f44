"""The evaluation harness every result goes through.

``evaluate(policies, env_id, config, episodes, seeds)`` runs every policy on the same
evaluation seeds: for each seed, one batch of ``episodes`` environments reset with that seed, so
every policy meets the same arrivals and events (arrival draws do not depend on actions, except
that a task killed by a node failure frees its user early). Per episode it records the metrics
of :class:`~marlloc.metrics.EdgeEpisodeMetrics` plus

- ``utility_vs_bound``: Σ over rounds of the realised system utility ÷ Σ of the per-round LP
  upper bound (:mod:`marlloc.solvers.optimum`, built without the deadline filter so it bounds
  every policy) at the state that policy reached — the fraction of the achievable it got;
- ``bound``: the mean per-round bound;
- with ``nash_every = K > 0``, the stage-game deviation search of
  :class:`~marlloc.solvers.edge_stage.EdgeStage` at rounds K // 2, K // 2 + K, … (away from the empty
  first round and the last, where no price takes effect again), averaged over those rounds:
  ``nash_conv`` (NashConv estimated from the sampled users, scaled to all active users),
  ``nash_conv_sampled`` (the sum over the agents searched), ``epsilon`` (largest δ found),
  ``epsilon_user`` / ``epsilon_provider`` (per role) and ``epsilon_rel`` (δ ÷ its role's payoff
  range). NaN when the episode is too short to reach a searched round. The search works on copies
  and restores the policies' generators, so every other metric is the same as with ``K = 0``.

With ``br_iterations = K > 0`` (both scenarios), a trained best response
(:mod:`marlloc.solvers.trained_br`, K REINFORCE batches) for agent 0 of every role, against the
policy on the first evaluation seed's ``episodes`` environments: ``br_gain_lower_bound/ROLE`` is
its paired per-episode gain in that agent's mean reward per step — a **lower bound** on δ_i over
whole episodes, where the stage-game search is exact but one step deep. ``trained_br`` holds the
base and deviation returns, budget and wall time. Off by default: it trains K × 8 episodes per
policy and role.

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

from marlloc.core.config import check_out_dir, to_dict
from marlloc.core.errors import ConfigError
from marlloc.core.protocol import MarkovGame
from marlloc.metrics import EdgeEpisodeMetrics
from marlloc.policies import act, check_names, joint

SCENARIOS = {"edge": "edge_market_v0", "economy": "economy_v0"}


NASH_KEYS = ("nash_conv", "nash_conv_sampled", "epsilon", "epsilon_user", "epsilon_provider", "epsilon_rel")


def _check_nash_every(nash_every) -> None:
    if isinstance(nash_every, bool) or not isinstance(nash_every, int) or nash_every < 0:
        raise ConfigError(f"nash_every must be an integer ≥ 0 (0 = off), got {nash_every!r}; try nash_every=25")


def _check_br_iterations(br_iterations) -> None:
    if isinstance(br_iterations, bool) or not isinstance(br_iterations, int) or br_iterations < 0:
        raise ConfigError(f"br_iterations must be an integer ≥ 0 (0 = off), got {br_iterations!r}; "
                          "try br_iterations=30")


def rollout(env: MarkovGame, policies: dict[str, object], n_envs: int, seed: int,
            bound: bool = False, nash_every: int = 0, series: list | None = None) -> dict[str, torch.Tensor | float]:
    """One episode in each of ``n_envs`` environments; metrics per environment plus ``wall_s``
    (``nash_every``: see the module docstring; 0 = off). ``series``, when given, receives one
    dict per round: that round's ``system_utility`` and ``utilisation``, a list over environments."""
    from marlloc.solvers.edge_stage import EdgeStage
    from marlloc.solvers.optimum import AssignmentOptimum

    _check_nash_every(nash_every)
    t0 = time.perf_counter()
    step = env.reset(n_envs=n_envs, seed=seed)
    metrics = EdgeEpisodeMetrics(env)
    lp = AssignmentOptimum(relax=True)
    bound_sum = torch.zeros(n_envs, dtype=torch.float64)
    stage = EdgeStage(env, seed=seed) if nash_every else None
    nash = {k: torch.zeros(n_envs, dtype=torch.float64) for k in NASH_KEYS}
    n_nash, t = 0, 0
    while not bool(step.truncated.all() | step.terminated.all()):
        if bound:
            bound_sum += torch.as_tensor(lp.solve(env.round_instance(deadline_filter=False)).objective_per_env_)
        actions = act(policies, step)
        if stage is not None and t % nash_every == nash_every // 2:
            gains = stage.gains(actions, policies)  # on copies: the episode itself is not touched
            for k in NASH_KEYS:
                nash[k] += getattr(gains, k).double().cpu()
            n_nash += 1
        su, util = metrics.su.clone(), metrics.util.clone()
        step = env.step(actions)
        metrics.update(step)
        if series is not None:  # the round's own values: the increments of the running sums
            series.append({"round": t, "system_utility": (metrics.su - su).tolist(),
                           "utilisation": (metrics.util - util).tolist()})
        t += 1
    out: dict[str, torch.Tensor | float] = dict(metrics.result())
    if bound:
        realised = out["system_utility"] * metrics.rounds
        out["utility_vs_bound"] = realised / bound_sum
        out["bound"] = bound_sum / max(metrics.rounds, 1)
    if stage is not None:
        out.update({k: v / n_nash if n_nash else torch.full_like(v, math.nan) for k, v in nash.items()})
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
    data_source: str | None = None
    data_vintage: dict | None = None  # WDI code → World Bank "last updated" date (the economy's panel)

    def summary(self) -> dict:
        from marlloc import __version__

        out = {"scenario": self.scenario, "env_id": self.env_id, "config": self.config, "seeds": self.seeds,
               "episodes": self.episodes, "pricing": self.pricing, "marlloc_version": __version__,
               "policies": self.policies}
        if self.data_source is not None:
            out["data_source"] = self.data_source
        if self.data_vintage:
            out["data_vintage"] = self.data_vintage
        return out


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
             progress=None, nash_every: int = 0, br_iterations: int = 0, series: list | None = None) -> Evaluation:
    """Run every policy on the same seeds; see the module docstring (``nash_every``: rounds
    between stage-game deviation searches, 0 = off; ``br_iterations``: trained best response;
    ``series``: per-round values of every policy and seed, see :func:`rollout`, each entry
    tagged with ``policy`` and ``seed``)."""
    from marlloc.envs import make

    names, seeds, label = _plan(policies, episodes, seeds, "random,greedy")
    check_names(names, pricing)
    _check_nash_every(nash_every)
    _check_br_iterations(br_iterations)
    scenario = next((k for k, v in SCENARIOS.items() if v == env_id), env_id)
    env = make(env_id, **(config or {}))
    ev = Evaluation(scenario, env_id, to_dict(env.config), seeds, episodes, pricing)
    def one(name: str, seed: int) -> dict:
        rounds: list | None = [] if series is not None else None
        out = rollout(env, joint(env, name, pricing, seed), episodes, seed, bound=bound, nash_every=nash_every,
                      series=rounds)
        if series is not None:
            series.extend({"policy": label[name], "seed": seed, **r} for r in rounds)
        return out

    _run_all(ev, names, label, seeds, one, progress)
    _trained_br(ev, env, names, label, br_iterations, lambda name: _acting(joint(env, name, pricing, seeds[0])))
    return ev


def _acting(policies: dict[str, object]):
    return lambda step: act(policies, step)


def _trained_br(ev: Evaluation, env, names: list[str], label: dict[str, str], iterations: int, build) -> None:
    """A trained best response for agent 0 of every role of every policy (module docstring);
    ``build(name)`` makes the joint policy afresh (a callable ``step -> actions``)."""
    from marlloc.solvers.trained_br import trained_best_response

    for name in names if iterations else ():
        out = ev.policies[label[name]]
        out["trained_br"] = {}
        for role in env.roles:
            res = trained_best_response(env, lambda e, name=name: build(name), role, 0, iterations=iterations,
                                        eval_episodes=ev.episodes, eval_seed=ev.seeds[0], seed=ev.seeds[0])
            out[f"br_gain_lower_bound/{role}"] = res.gain
            out["trained_br"][role] = {"agent": 0, "base": res.base, "deviation": res.deviation,
                                       "iterations": iterations, "wall_s": res.wall_s, "note": res.note}


def _plan(policies: str | list[str], episodes: int, seeds: list[int] | int,
          example: str) -> tuple[list[str], list[int], dict[str, str]]:
    """Validated policy names and seeds, and each name's label in tables: a trained policy
    ("maddpg:PATH") is listed as "maddpg" unless two share that name."""
    names = [p.strip() for p in policies.split(",")] if isinstance(policies, str) else list(policies)
    names = [n for n in names if n]
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    if not names:
        raise ConfigError(f"policies must name at least one policy, got none; e.g. --policies {example}")
    if not isinstance(episodes, int) or episodes < 1:
        raise ConfigError(f"episodes must be an integer ≥ 1, got {episodes!r}; try episodes=5")
    if not seeds:
        raise ConfigError("seeds must hold at least one seed, got none; e.g. seeds=[0]")
    short = [n.partition(":")[0] for n in names]
    return names, seeds, {n: (s if short.count(s) == 1 else n) for n, s in zip(names, short, strict=True)}


def _run_all(ev: Evaluation, names: list[str], label: dict[str, str], seeds: list[int], run_one, progress) -> None:
    """Every policy on every seed: ``run_one(name, seed)`` gives per-episode tensors; rows go to
    ``ev.rows``, per-policy aggregates and wall seconds to ``ev.policies``."""
    for name in names:
        wall = 0.0
        for seed in seeds:
            t0 = time.perf_counter()
            out = run_one(name, seed)
            wall += time.perf_counter() - t0
            out.pop("wall_s", None)
            n = len(next(iter(out.values())))
            for i in range(n):
                ev.rows.append({"policy": label[name], "seed": seed, "episode": i,
                                **{k: float(v[i]) for k, v in out.items()}})
            if progress is not None:
                progress(name, seed)
        mine = [r for r in ev.rows if r["policy"] == label[name]]
        ev.policies[label[name]] = {k: aggregate([r[k] for r in mine]) for k in out}
        ev.policies[label[name]]["wall_s"] = wall


@torch.no_grad()
def economy_rollout(env, policy, n_envs: int, seed: int, nash_every: int = 10) -> dict[str, torch.Tensor]:
    """One episode in each of ``n_envs`` economies; per-environment metrics (see :func:`evaluate_economy`)."""
    from marlloc.solvers.economy_stage import EconomyStage

    step = env.reset(n_envs=n_envs, seed=seed)
    z = lambda: torch.zeros(n_envs, dtype=torch.float64)  # noqa: E731
    util, welfare, gini, nc, eps, eps_rel, n_nash = z(), z(), z(), z(), z(), z(), 0
    n, decide = 0, 0.0
    while not bool(step.truncated.all() | step.terminated.all()):
        t0 = time.perf_counter()
        actions = policy(step)
        decide += time.perf_counter() - t0
        if nash_every and n % nash_every == 0:  # stage-game deviation search at this state, others frozen
            stage = EconomyStage(env)
            a, b = stage.nash_conv(actions)
            scale = torch.cat([v.abs() for v in stage.play(actions)["reward"].values()], 1).mean(1)
            nc, eps, eps_rel, n_nash = nc + a, eps + b, eps_rel + b / scale.clamp_min(1e-12), n_nash + 1
        step = env.step(actions, check=False)
        n += 1
        util += step.info["economy/utility"].double()
        welfare += sum(v.double().sum(1) for v in step.reward.values()) / env.n_countries
        gini += step.info["economy/gini"].double()
    nash = {"nash_conv": nc, "epsilon": eps, "epsilon_rel": eps_rel}
    # a Gini-bounded planner: the share of countries × steps where even the fairest choice broke the bound
    relaxed = {"gini_bound_relaxed": policy.relaxed / n} if getattr(policy, "relaxed", None) is not None else {}
    return {"utility": util / n, "welfare_per_country": welfare / n, "gini": gini / n,
            **{k: v / n_nash if n_nash else torch.full_like(v, math.nan) for k, v in (nash.items() if nash_every else ())},
            "decision_s": torch.full((n_envs,), decide / n, dtype=torch.float64), **relaxed}


def _training_record(name: str) -> dict:
    """Convergence step/seconds and policy stability of a trained policy, from its run folder."""
    run = Path(name.partition(":")[2]).parent.parent
    out: dict = {}
    summary = run / "summary.json"
    if summary.is_file():
        conv = json.loads(summary.read_text()).get("convergence", {})
        out.update(convergence_step=conv.get("step"), convergence_s=conv.get("wall_s"), convergence_rule=conv.get("rule"))
    metrics = run / "metrics.csv"
    if metrics.is_file():
        with open(metrics, newline="") as f:
            dpi = [float(r["charts/delta_pi"]) for r in csv.DictReader(f) if r.get("charts/delta_pi")]
        tail = dpi[len(dpi) - max(1, len(dpi) // 5):] if dpi else []
        out["policy_stability"] = {"mean_delta_pi_last_fifth": sum(tail) / len(tail) if tail else None,
                                   "checks": len(tail)}
    return out


def evaluate_economy(policies: str | list[str], config: dict | None = None, episodes: int = 5,
                     seeds: list[int] | int = 0, nash_every: int = 10, progress=None,
                     br_iterations: int = 0) -> Evaluation:
    """Every joint economy policy on the same seeds (same countries and start years).

    Per episode: ``utility`` (mean over steps of the mean reward of all agents — the seed's
    economic utility, in our reward units), ``welfare_per_country`` (mean over steps of the summed
    rewards per country), ``gini`` (income Gini across consumer groups, mean over countries and
    steps), ``nash_conv`` / ``epsilon`` (exact stage-game deviation search every ``nash_every``
    steps, 0 = off: NashConv = Σ_i δ_i, ε = max_i δ_i, averaged over the sampled steps), ``epsilon_rel``
    (ε ÷ the mean absolute reward at that step) and ``decision_s`` (policy seconds per step).
    ``pareto:G`` also reports ``gini_bound_relaxed``: the share of countries × steps where even the
    government's fairest choice has an income Gini above G, so the planner relaxed the bound to it.
    Trained policies also carry their run's convergence step and seconds and the mean Δπ over
    the last fifth of its convergence checks (policy stability). ``br_iterations``: the trained
    best response of the module docstring.
    """
    from marlloc.envs import make
    from marlloc.policies.economy import joint_policy

    names, seeds, label = _plan(policies, episodes, seeds, "ncgt,lp")
    _check_nash_every(nash_every)
    _check_br_iterations(br_iterations)
    env = make("economy_v0", **(config or {}))
    for name in names:
        joint_policy(env, name)  # unknown names and missing checkpoints fail before anything runs
    ev = Evaluation("economy", "economy_v0", to_dict(env.config), seeds, episodes, "n/a")
    _run_all(ev, names, label, seeds,
             lambda name, seed: economy_rollout(env, joint_policy(env, name, seed), episodes, seed, nash_every), progress)
    for name in names:
        if name.partition(":")[0] in ("eqmarl", "sarl") and ":" in name:
            ev.policies[label[name]]["training"] = _training_record(name)
    _trained_br(ev, env, names, label, br_iterations, lambda name: joint_policy(env, name, seeds[0]))
    ev.data_source, ev.data_vintage = env.panel.source, dict(env.panel.vintage)
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
    check_out_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    if ev.rows:
        # columns in order of first appearance: some metrics belong to some policies only (pareto's gini_bound_relaxed)
        w = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for row in ev.rows for k in row)), restval="")
        w.writeheader()
        w.writerows(ev.rows)
    summary, episodes = out / "summary.json", out / "episodes.csv"
    _atomic_write(episodes, buf.getvalue())
    _atomic_write(summary, json.dumps(ev.summary(), indent=2, allow_nan=False) + "\n")
    return summary, episodes
