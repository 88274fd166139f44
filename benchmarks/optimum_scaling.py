"""Scaling of the per-round centralised optimum of ``edge_market_v0`` (MILP and LP bound).

What is timed
-------------
1. **MILP per round** (``--milp-users``). For each N: ``make("edge_market_v0", n_users=N)``,
   ``reset(n_envs=1, seed)``, ``--warmup`` rounds with the ``greedy`` user policy and ``fixed``
   prices (tasks in flight, the market at its steady state), then ``--rounds`` consecutive
   rounds, each:

   - *build*: ``env.round_instance(deadline_filter=True, strict=True)`` (torch → numpy arrays);
   - *solve*: ``AssignmentOptimum(time_limit_s, mip_gap).solve(inst).solve_time_s_``, which
     holds the sparse model build inside the solver **and** the HiGHS call; the HiGHS call
     alone (``scipy.optimize.milp``, scipy's input checks included) is timed by wrapping the
     function the solver module calls, at run time (the library is not modified), and shown
     as *highs*; *model* = solve − highs;
   - then one env step with the greedy policy moves to the next round (not timed; the MILP's
     answer is not applied, so every N follows the greedy market).

   Per-round total = build + solve. Reported: medians of build, solve, highs and total, max
   total, max relative gap (HiGHS's ``mip_gap``), status counts, median tasks K and median
   variables V = ``np.count_nonzero(inst.feasible)`` (task-option pairs; the overload
   variables z, one per scored node, are listed separately).
2. **LP bound per round** (``--lp-users``): the same warm-up, then ``--lp-rounds`` rounds of
   ``round_instance(deadline_filter=False)`` + ``AssignmentOptimum(relax=True).solve`` (the
   bound ``marlloc.evaluation.rollout(bound=True)`` uses), timed the same way.
3. **Utility as a fraction of the bound** (``--frac-users`` × ``--frac-policies``):
   ``rollout(env, joint(env, name, "fixed"), n_envs=--frac-envs, seed, bound=True)`` with
   ``episode_rounds=--frac-rounds``; mean ``system_utility`` and ``utility_vs_bound`` over the
   environments, the mean per-round bound, and ``wall_s`` (the whole rollout: env, policy and
   the per-round LP bound). For ``optimum`` the statuses of its per-round MILPs are counted.

Targets (summary at the end, PASS/MISS):

- MILP ≤ 1 s median per round at 500 users, every round optimal or within 0.01 % gap
  (median of build + solve per round);
- LP bound ≤ 10 s per round at 100,000 users (median of build + solve per round).

Machine info (``os.cpu_count()``, torch / scipy / numpy versions, torch threads) is printed.
``--json`` makes the last line of stdout one JSON object with keys ``milp``, ``lp``,
``fractions`` (lists of rows), ``targets`` and run metadata; C-level stdio is flushed before it
so a stray HiGHS line cannot follow it.

Usage::

    python benchmarks/optimum_scaling.py                 # full run (about 5-10 minutes)
    python benchmarks/optimum_scaling.py --quick --json  # smoke test
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
import scipy
import torch
from _common import clean, ints, table, verdict

import marlloc.solvers.optimum as optimum_mod
from marlloc.envs import make
from marlloc.evaluation import rollout
from marlloc.policies import act, joint
from marlloc.solvers.optimum import AssignmentOptimum

ENV_ID = "edge_market_v0"
MILP_TARGET_USERS, MILP_TARGET_S, MILP_TARGET_GAP = 500, 1.0, 1e-4
LP_TARGET_USERS, LP_TARGET_S = 100_000, 10.0

# --- timing of the HiGHS call alone -----------------------------------------------------------
_HIGHS: dict[str, float] = {"s": 0.0}
_milp = optimum_mod.milp


def _timed_milp(*args, **kwargs):
    t0 = time.perf_counter()
    try:
        return _milp(*args, **kwargs)
    finally:
        _HIGHS["s"] += time.perf_counter() - t0


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--milp-users", type=ints, default=[50, 100, 200, 500, 1000, 2000],
                   help="users N for the MILP section (default 50,100,200,500,1000,2000; empty to skip)")
    p.add_argument("--lp-users", type=ints, default=[1000, 10000, 100000],
                   help="users N for the LP-bound section (default 1000,10000,100000; empty to skip)")
    p.add_argument("--frac-users", type=ints, default=[200, 500],
                   help="users N for the utility/bound section (default 200,500; empty to skip)")
    p.add_argument("--frac-policies", type=_names, default=["random", "greedy", "sequential_greedy", "optimum"],
                   help="user policies of the utility/bound section (default random,greedy,sequential_greedy,optimum)")
    p.add_argument("--rounds", type=int, default=15, help="timed MILP rounds per N (default 15)")
    p.add_argument("--lp-rounds", type=int, default=5, help="timed LP rounds per N (default 5)")
    p.add_argument("--frac-rounds", type=int, default=100, help="episode rounds of the utility/bound rollouts (default 100)")
    p.add_argument("--frac-envs", type=int, default=2, help="environments per utility/bound rollout (default 2)")
    p.add_argument("--warmup", type=int, default=40, help="untimed greedy rounds before timing (default 40)")
    p.add_argument("--time-limit", type=float, default=10.0, help="MILP time limit in seconds (default 10)")
    p.add_argument("--mip-gap", type=float, default=1e-4, help="MILP relative gap (default 1e-4)")
    p.add_argument("--seed", type=int, default=0, help="reset seed (default 0)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(K) (default: torch's own)")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test sizes: milp-users 50,100; lp-users 1000; rounds 3; lp-rounds 2; "
                        "fractions at N=50 with 20 rounds; warm-up 10")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    a = p.parse_args(argv)
    if a.quick:
        a.milp_users, a.lp_users, a.frac_users = [50, 100], [1000], [50]
        a.rounds, a.lp_rounds, a.frac_rounds, a.warmup = 3, 2, 20, 10
    for name in ("rounds", "lp_rounds", "frac_rounds", "frac_envs"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be ≥ 1")
    if a.warmup < 0:
        p.error("--warmup must be ≥ 0")
    if a.time_limit <= 0 or a.mip_gap < 0:
        p.error("--time-limit must be > 0 and --mip-gap ≥ 0")
    if a.threads is not None and a.threads < 1:
        p.error("--threads must be ≥ 1")
    return a


# --- measurements ---------------------------------------------------------------------------


def _median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return statistics.median(xs) if xs else None


def _warm_env(n_users: int, rounds: int, args: argparse.Namespace):
    """A one-environment market after ``args.warmup`` greedy rounds, with room for ``rounds`` more."""
    env = make(ENV_ID, n_users=n_users, episode_rounds=args.warmup + rounds + 2)
    step = env.reset(n_envs=1, seed=args.seed)
    policies = joint(env, "greedy", "fixed")
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        step = env.step(act(policies, step), check=False)
    return env, step, policies, time.perf_counter() - t0


def _time_rounds(n_users: int, rounds: int, args: argparse.Namespace, relax: bool) -> dict:
    env, step, policies, warm_s = _warm_env(n_users, rounds, args)
    solver = (AssignmentOptimum(relax=True) if relax
              else AssignmentOptimum(time_limit_s=args.time_limit, mip_gap=args.mip_gap))
    per_round = []
    for r in range(rounds):
        t0 = time.perf_counter()
        inst = env.round_instance(deadline_filter=not relax, strict=not relax)
        build_s = time.perf_counter() - t0
        _HIGHS["s"] = 0.0
        sol = solver.solve(inst)
        gap = float(sol.gap_) if sol.gap_ is not None else math.nan
        per_round.append({
            "round": args.warmup + r, "tasks": inst.n_tasks, "vars": int(np.count_nonzero(inst.feasible)),
            "z_vars": int(np.count_nonzero(inst.overload_penalty > 0)),
            "build_s": build_s, "solve_s": sol.solve_time_s_, "highs_s": _HIGHS["s"],
            "model_s": sol.solve_time_s_ - _HIGHS["s"], "total_s": build_s + sol.solve_time_s_,
            "status": sol.status_, "gap": gap, "objective": float(sol.objective_), "bound": float(sol.bound_),
        })
        step = env.step(act(policies, step), check=False)
    gaps = [p["gap"] for p in per_round]
    return {
        "users": n_users, "rounds": rounds, "warmup": args.warmup, "warmup_s": warm_s,
        "median_build_s": _median([p["build_s"] for p in per_round]),
        "median_solve_s": _median([p["solve_s"] for p in per_round]),
        "median_model_s": _median([p["model_s"] for p in per_round]),
        "median_highs_s": _median([p["highs_s"] for p in per_round]),
        "median_total_s": _median([p["total_s"] for p in per_round]),
        "max_total_s": max(p["total_s"] for p in per_round),
        # a round without a solution has no gap: the max is then unknown (None, i.e. not met)
        "max_gap": max(gaps) if all(math.isfinite(g) for g in gaps) else None,
        "statuses": dict(collections.Counter(p["status"] for p in per_round)),
        "median_tasks": _median([p["tasks"] for p in per_round]),
        "median_vars": _median([p["vars"] for p in per_round]),
        "per_round": per_round,
    }


def bench_fraction(n_users: int, name: str, args: argparse.Namespace) -> dict:
    env = make(ENV_ID, n_users=n_users, episode_rounds=args.frac_rounds)
    policies = joint(env, name, "fixed", args.seed)
    statuses: collections.Counter = collections.Counter()
    solver = getattr(policies["user"], "solver", None)
    if solver is not None:  # the optimum policy: count the statuses of its per-round MILPs
        solve = solver.solve

        def counting_solve(inst, _solve=solve):
            out = _solve(inst)
            statuses[out.status_] += 1
            return out

        solver.solve = counting_solve
    out = rollout(env, policies, n_envs=args.frac_envs, seed=args.seed, bound=True)
    return {
        "users": n_users, "policy": name, "n_envs": args.frac_envs, "rounds": args.frac_rounds,
        "system_utility": float(out["system_utility"].mean()),
        "utility_vs_bound": float(out["utility_vs_bound"].mean()),
        "utility_vs_bound_min": float(out["utility_vs_bound"].min()),
        "bound": float(out["bound"].mean()),
        "wall_s": float(out["wall_s"]),
        "milp_statuses": dict(statuses) if solver is not None else None,
    }


# --- report ---------------------------------------------------------------------------------


def _s(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _gap(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.4f}%"


def _statuses(d: dict) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(d.items()))


def print_round_table(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    head = ("users", "tasks", "vars", "build s", "solve s", "(model s", "highs s)", "total s", "max total",
            "max gap", "statuses")
    table(head, [(f"{r['users']:,}", f"{r['median_tasks']:,.0f}", f"{r['median_vars']:,.0f}",
                   _s(r["median_build_s"]), _s(r["median_solve_s"]), _s(r["median_model_s"]),
                   _s(r["median_highs_s"]), _s(r["median_total_s"]), _s(r["max_total_s"]),
                   _gap(r["max_gap"]), _statuses(r["statuses"])) for r in rows])


def print_fraction_table(rows: list[dict]) -> None:
    print("\nUtility as a fraction of the per-round LP bound (fixed prices)")
    head = ("users", "policy", "n_envs", "rounds", "system utility", "bound/round", "utility/bound", "min env",
            "wall s", "MILP statuses")
    table(head, [(f"{r['users']:,}", r["policy"], str(r["n_envs"]), str(r["rounds"]),
                   f"{r['system_utility']:.4f}", f"{r['bound']:.4f}", f"{r['utility_vs_bound']:.4f}",
                   f"{r['utility_vs_bound_min']:.4f}", f"{r['wall_s']:.1f}",
                   _statuses(r["milp_statuses"]) if r["milp_statuses"] else "") for r in rows])


def targets(milp: list[dict], lp: list[dict]) -> dict:
    m = next((r for r in milp if r["users"] == MILP_TARGET_USERS), None)
    lp_row = next((r for r in lp if r["users"] == LP_TARGET_USERS), None)
    out: dict = {"milp_500_median_s": None, "milp_500_max_gap": None, "milp_500_all_within_gap": None,
                 "milp_500_pass": None, "lp_100k_median_s": None, "lp_100k_pass": None}
    if m is not None:
        within = all(p["status"] == "optimal" or (math.isfinite(p["gap"]) and p["gap"] <= MILP_TARGET_GAP)
                     for p in m["per_round"])
        out.update(milp_500_median_s=m["median_total_s"], milp_500_max_gap=m["max_gap"],
                   milp_500_all_within_gap=within,
                   milp_500_pass=bool(within and m["median_total_s"] is not None
                                      and m["median_total_s"] <= MILP_TARGET_S))
    if lp_row is not None:
        out.update(lp_100k_median_s=lp_row["median_total_s"],
                   lp_100k_pass=bool(lp_row["median_total_s"] is not None and lp_row["median_total_s"] <= LP_TARGET_S))
    return out


def print_summary(t: dict, milp: list[dict]) -> None:
    print("\nTargets")
    detail = ""
    if t["milp_500_pass"] is not None:
        detail = (f"median build+solve {t['milp_500_median_s']:.4f} s, max gap {_gap(t['milp_500_max_gap'])}, "
                  f"every round optimal or ≤ 0.01 %: {t['milp_500_all_within_gap']}")
    print(f"  MILP ≤ 1 s median per round at 500 users (optimal or ≤ 0.01 % gap): "
          f"{verdict(t['milp_500_pass'])}  {detail}")
    detail = "" if t["lp_100k_pass"] is None else f"median build+solve {t['lp_100k_median_s']:.4f} s"
    print(f"  LP bound ≤ 10 s per round at 100,000 users: {verdict(t['lp_100k_pass'])}  {detail}")
    slow = [r for r in milp if r["statuses"].get("time_limit")]
    for r in slow:
        print(f"  note: N={r['users']:,} hit the MILP time limit in "
              f"{r['statuses']['time_limit']} of {r['rounds']} rounds (max gap {_gap(r['max_gap'])})")


def _flush_c_stdio() -> None:
    """Flush C-level stdio buffers (HiGHS writes there), so nothing follows our JSON line."""
    sys.stdout.flush()
    with contextlib.suppress(OSError, AttributeError):  # no libc handle here: nothing to flush
        ctypes.CDLL(None).fflush(None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    optimum_mod.milp = _timed_milp  # time the HiGHS call inside AssignmentOptimum.solve
    wall0 = time.perf_counter()
    print(f"marlloc {ENV_ID} optimum scaling | python {platform.python_version()} | torch {torch.__version__} | "
          f"scipy {scipy.__version__} | numpy {np.__version__} | os.cpu_count() {os.cpu_count()} | "
          f"torch threads {torch.get_num_threads()} | {platform.machine()}")
    print(f"warm-up {args.warmup} greedy rounds (fixed prices), seed {args.seed}; MILP time limit "
          f"{args.time_limit:g} s, gap {args.mip_gap:g}; MILP rounds {args.rounds}, LP rounds {args.lp_rounds}; "
          f"fractions: {args.frac_envs} envs x {args.frac_rounds} rounds")
    print("build = env.round_instance; solve = AssignmentOptimum.solve = model (sparse build in the solver) "
          "+ highs (scipy.optimize.milp); medians over rounds", flush=True)

    milp, lp, fractions = [], [], []
    for n in args.milp_users:
        r = _time_rounds(n, args.rounds, args, relax=False)
        milp.append(r)
        print(f"  MILP N={n:>7,}: median total {r['median_total_s']:.4f} s, {_statuses(r['statuses'])}",
              file=sys.stderr, flush=True)
    for n in args.lp_users:
        r = _time_rounds(n, args.lp_rounds, args, relax=True)
        lp.append(r)
        print(f"  LP   N={n:>7,}: median total {r['median_total_s']:.4f} s (warm-up {r['warmup_s']:.1f} s)",
              file=sys.stderr, flush=True)
    for n in args.frac_users:
        for name in args.frac_policies:
            r = bench_fraction(n, name, args)
            fractions.append(r)
            print(f"  frac N={n:>7,} {name:<18}: utility/bound {r['utility_vs_bound']:.4f} ({r['wall_s']:.1f} s)",
                  file=sys.stderr, flush=True)

    if milp:
        print_round_table(milp, f"MILP per round (deadline filter, strict; {args.rounds} rounds; medians)")
    if lp:
        print_round_table(lp, f"LP bound per round (no deadline filter; {args.lp_rounds} rounds; medians)")
    if fractions:
        print_fraction_table(fractions)
    t = targets(milp, lp)
    print_summary(t, milp)
    wall = time.perf_counter() - wall0
    print(f"\nwall time {wall:.1f} s")
    _flush_c_stdio()
    if args.json:
        out = {
            "milp": milp, "lp": lp, "fractions": fractions, "targets": t,
            "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                        "torch_version": torch.__version__, "scipy_version": scipy.__version__,
                        "numpy_version": np.__version__, "python": platform.python_version()},
            "settings": {"warmup": args.warmup, "rounds": args.rounds, "lp_rounds": args.lp_rounds,
                         "frac_rounds": args.frac_rounds, "frac_envs": args.frac_envs,
                         "time_limit_s": args.time_limit, "mip_gap": args.mip_gap, "seed": args.seed},
            "wall_s": wall,
        }
        print(json.dumps(clean(out), allow_nan=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
