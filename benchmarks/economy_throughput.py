"""Throughput of ``economy_v0``: agent-steps per second, batched, at 100 and 10,000 agents.

The unit is the **agent-step**: one agent (government, firm or consumer group) advanced one
quarter. A step of ``n_envs`` environments of ``n_agents`` agents is ``n_envs * n_agents``
agent-steps. 100 agents = the paper's 10 countries × (1 + 4 + 5); 10,000 agents = 1,000
countries × 10 (countries drawn with replacement from the panel).

What is timed: ``make("economy_v0", n_countries=C)``, ``reset(n_envs, seed)``, then
``step(actions, check=False)`` with a pool of pre-drawn ``sample_actions`` dicts used in turn;
``--warmup`` untimed steps, then ``--repeats`` blocks of ``--steps`` steps; the median seconds per
step is reported. Episodes are long enough that no timed step truncates. The PettingZoo dict
path at 100 agents is timed the same way for the ratio. Target (issue 5): ≥ 1,000,000
agent-steps/s at 100 agents × 256 envs on 2 cores.

Data: the embedded synthetic panel by default, ``--wdi PATH`` for a World Bank file (the panel is
preprocessed once, before timing; the market reads it by index, so the source does not change
the step's cost).

Usage::

    python benchmarks/economy_throughput.py                 # full run (about a minute)
    python benchmarks/economy_throughput.py --quick --json  # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
from _common import clean, ints, table, verdict

import marlloc.envs

TARGET = 1_000_000  # agent-steps/s at 100 agents × 256 envs


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--countries", type=ints, default=[10, 1000],
                   help="countries per environment (×10 agents each; default 10,1000)")
    p.add_argument("--envs", type=ints, default=[1, 16, 64, 256], help="batch sizes (default 1,16,64,256)")
    p.add_argument("--max-agent-envs", type=int, default=100_000,
                   help="skip configurations with n_envs × agents above this (default 100,000)")
    p.add_argument("--steps", type=int, default=15, help="timed steps per repeat (default 15)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported (default 5)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps (default 5)")
    p.add_argument("--wdi", default=None, help="World Bank source (tidy CSV, bulk folder); default synthetic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="smoke sizes: countries 10; envs 1,8; steps 3; repeats 2")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    a = p.parse_args(argv)
    if a.quick:
        a.countries, a.envs, a.steps, a.repeats, a.warmup = [10], [1, 8], 3, 2, 1
    if min(a.steps, a.repeats) < 1 or a.warmup < 0:
        p.error("--steps and --repeats must be ≥ 1, --warmup ≥ 0")
    return a


def _time(step, pool, args) -> list[float]:
    for k in range(args.warmup):
        step(pool[k % len(pool)])
    out = []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        for k in range(args.steps):
            step(pool[(r + k) % len(pool)])
        out.append((time.perf_counter() - t0) / args.steps)
    return out


def horizon(args) -> int:
    return args.warmup + args.steps * args.repeats + 1


def bench_batched(C: int, E: int, args) -> dict:
    env = marlloc.envs.make("economy_v0", n_countries=C, episode_steps=horizon(args), wdi=args.wdi,
                            years=(2024 - horizon(args) // 4, 2024))
    n_agents = sum(r.n_agents for r in env.roles.values())
    env.reset(E, seed=args.seed)
    g = torch.Generator().manual_seed(args.seed)
    pool = [env.sample_actions(g) for _ in range(4)]
    med = statistics.median(_time(lambda a: env.step(a, check=False), pool, args))
    return {"path": "batched", "countries": C, "agents": n_agents, "n_envs": E, "median_s_per_step": med,
            "agent_steps_per_s": n_agents * E / med}


def bench_dict(args) -> dict:
    env = marlloc.envs.make_parallel("economy_v0", episode_steps=horizon(args), wdi=args.wdi,
                                     years=(2024 - horizon(args) // 4, 2024))
    env.reset(seed=args.seed)
    for i, a in enumerate(env.possible_agents):
        env.action_space(a).seed(args.seed * 1_000_003 + i)
    pool = [{a: env.action_space(a).sample() for a in env.possible_agents} for _ in range(4)]
    med = statistics.median(_time(env.step, pool, args))
    n = len(env.possible_agents)
    return {"path": "dict", "countries": 10, "agents": n, "n_envs": 1, "median_s_per_step": med,
            "agent_steps_per_s": n / med}


def main(argv=None) -> int:
    args = parse_args(argv)
    print(f"# economy_v0 throughput — {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, data: {args.wdi or 'synthetic'}")
    rows = [bench_batched(c, e, args) for c in args.countries for e in args.envs
            if c * 10 * e <= args.max_agent_envs]
    rows.append(bench_dict(args))
    table(("path", "agents", "n_envs", "ms/step", "agent-steps/s"),
          [(r["path"], f"{r['agents']:,}", str(r["n_envs"]), f"{r['median_s_per_step'] * 1e3:.3f}",
            f"{r['agent_steps_per_s']:,.0f}") for r in rows])
    at_100 = [r for r in rows if r["path"] == "batched" and r["agents"] == 100]
    best_100 = max(at_100, key=lambda r: r["agent_steps_per_s"]) if at_100 else None
    dict_rate = rows[-1]["agent_steps_per_s"]
    target_row = next((r for r in at_100 if r["n_envs"] == 256), None)
    ok = None if target_row is None else target_row["agent_steps_per_s"] >= TARGET
    print(f"\ntarget ≥ {TARGET:,} agent-steps/s at 100 agents × 256 envs: {verdict(ok)}"
          + (f" ({target_row['agent_steps_per_s']:,.0f})" if target_row else ""))
    if best_100:
        print(f"best batched at 100 agents / dict path: {best_100['agent_steps_per_s'] / dict_rate:.0f}×")
    if args.json:
        print(json.dumps(clean({
            "rows": rows, "target": TARGET, "target_met": ok,
            "best_100_agent_steps_per_s": best_100["agent_steps_per_s"] if best_100 else None,
            "dict_agent_steps_per_s": dict_rate,
            "ratio": best_100["agent_steps_per_s"] / dict_rate if best_100 else None,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        })))
    return 0


if __name__ == "__main__":
    sys.exit(main())
