"""Unit costs behind ``marlloc reproduce --list``'s wall-time estimates, measured on this machine.

Times small slices of the work the specs do and fits the cost model of
``marlloc.experiments.specs.estimate_s``:

- MADDPG training: seconds per round at 50 and 400 users (rounds 100–300 of a run, after the
  replay warm-up), fitted as c·users^p;
- edge evaluation, per method: seconds per round of a batch of episodes, with the LP bound, at
  50 and 400 users × 2 episodes, fitted as c·(users·episodes)^p; and seconds per stage-game
  NashConv search at 50 and 400 users (all episodes at once);
- eqmarl / sarl / no-solver training: seconds per step on the 100-agent economy (steps 30–80);
- economy evaluation, per method: seconds per episode-step (4 episodes × 100 steps) without
  and with the NashConv search every 25 steps.

Prints one JSON object; paste it into ``specs.UNIT_COSTS`` (with the date) when the machine or
the code's speed changes. One run, ``OMP_NUM_THREADS=1``, nothing else running.

    python benchmarks/reproduce_costs.py            # about 10 minutes
    python benchmarks/reproduce_costs.py --quick    # smoke test (numbers meaningless)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import tempfile
import time
from pathlib import Path

import torch


def _fit(x0: float, t0: float, x1: float, t1: float) -> list[float]:
    """c, p of t = c·x^p through two points."""
    p = math.log(t1 / t0) / math.log(x1 / x0)
    return [t0 / x0**p, p]


def _train_wall(folder: Path, lo: int, hi: int, key: str) -> float:
    with open(folder / "metrics.csv", newline="") as f:
        rows = {int(r[key]): float(r["charts/wall_s"]) for r in csv.DictReader(f)}
    return (rows[hi] - rows[lo]) / (hi - lo)


def maddpg_round(users: int, lo: int, hi: int) -> float:
    from marlloc.algos.maddpg import MaddpgConfig, train

    with tempfile.TemporaryDirectory() as out:
        train(MaddpgConfig(), {"n_users": users}, hi, 0, out, eval_every_rounds=hi, eval_episodes=1,
              checkpoint_every_rounds=hi, final_episodes=1)
        return _train_wall(Path(out), lo, hi, "round")


def edge_eval(name: str, users: int, episodes: int, rounds: int, nash_every: int) -> float:
    from marlloc.evaluation import evaluate

    t = time.perf_counter()
    evaluate(name, "edge_market_v0", {"n_users": users, "episode_rounds": rounds}, episodes, [10_000], bound=True,
             nash_every=nash_every)
    return time.perf_counter() - t


def economy_step(algo: str, lo: int, hi: int) -> float:
    from marlloc.algos import ECONOMY_ALGOS
    from marlloc.algos.eqmarl import train

    name, hp = {"eqmarl-no-solver": ("eqmarl", {"eq_weight": 0.0})}.get(algo, (algo, {}))
    cls, fixed = ECONOMY_ALGOS[name]
    with tempfile.TemporaryDirectory() as out:
        train(cls(**{**hp, **fixed}), "economy_v0", {}, hi, 0, out, algo=name, eval_episodes=1, checkpoint_every=hi)
        return _train_wall(Path(out), lo, hi, "step")


def economy_eval(name: str, nash_every: int, steps: int) -> float:
    from marlloc.evaluation import evaluate_economy

    t = time.perf_counter()
    evaluate_economy(name, {"episode_steps": steps}, 4, [10_000], nash_every=nash_every)
    return (time.perf_counter() - t) / steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    small, big = (8, 16) if a.quick else (50, 400)
    lo, hi = (2, 6) if a.quick else (100, 300)
    rounds = 4 if a.quick else 10
    out: dict = {"measured": time.strftime("%Y-%m-%d"), "maddpg_round": _fit(small, maddpg_round(small, lo, hi),
                                                                           big, maddpg_round(big, lo, hi))}
    out["edge_round"], out["edge_nash_search"] = {}, {}
    for name in ("random", "greedy", "sequential_greedy", "optimum"):
        t = [edge_eval(name, u, 2, rounds, 0) / rounds for u in (small, big)]
        out["edge_round"][name] = _fit(2 * small, t[0], 2 * big, t[1])
    for u in (small, big):  # searches at rounds 2 and 7 of 10: the difference over two searches
        out["edge_nash_search"][u] = (edge_eval("greedy", u, 2, rounds, 5) - edge_eval("greedy", u, 2, rounds, 0)) / 2
    out["edge_nash_search"] = _fit(small, max(out["edge_nash_search"][small], 1e-4), big,
                                   max(out["edge_nash_search"][big], 1e-4))
    elo, ehi = (2, 6) if a.quick else (30, 80)
    out["economy_step"] = {algo: economy_step(algo, elo, ehi) for algo in ("eqmarl", "sarl", "eqmarl-no-solver")}
    steps = 4 if a.quick else 100
    out["economy_eval_step"] = {}
    for name in ("econ-random", "ncgt", "lp", "pareto:0.3"):
        pol = "random" if name == "econ-random" else name
        out["economy_eval_step"][name] = [economy_eval(pol, 0, steps), economy_eval(pol, 25, steps)]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
