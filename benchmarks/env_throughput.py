"""Throughput of ``edge_market_v0``: the batched torch path against the PettingZoo dict path.

The unit is the **user-step**: one user agent advanced one round. A step of a batch of
``n_envs`` environments with ``N`` users each is ``n_envs * N`` user-steps, so
``user-steps/s = n_envs * N / (seconds per step)``; a step of the PettingZoo ``ParallelEnv``
(one environment) is ``N`` user-steps. Provider agents (M = 6 by default) ride along in every
step and are not counted.

What is timed
-------------
- **Batched**: ``marlloc.envs.make("edge_market_v0", n_users=N)``, ``reset(n_envs, seed=0)``,
  then ``step(actions, check=False)`` with actions drawn beforehand by ``sample_actions`` from
  a seeded ``torch.Generator`` (a pool of ``--pool`` action dicts used in turn), so the timing
  covers the environment only. Every (N, n_envs) with ``n_envs * N <= --max-user-envs`` runs.
- **Dict**: ``marlloc.envs.make_parallel("edge_market_v0", n_users=N)``, ``reset(seed=0)``,
  then ``step(action_dict)`` with a pool of action dicts drawn beforehand from each agent's
  seeded ``action_space(agent)``; the ratio measures the API, not a sampler.

Each configuration is warmed up (``--warmup`` steps; the market needs about 30 rounds to settle
at its steady state of roughly 16 % active users), then timed with ``time.perf_counter`` over
``--steps`` steps, ``--repeats`` times; the median seconds per step is reported.

The episode horizon is ``warmup + steps * repeats + 1`` rounds, so no timed step truncates
(the per-round arrival tables are the only state that grows with the horizon).

Memory: ``env_state_MB`` is the size of every tensor the environment holds (its attributes, its
``EdgeState`` and its observation buffers; shared storages counted once). At n_envs = 1 it is
printed per N with MB per 1,000 users, which should be roughly constant if memory is linear in N.

Hardware is whatever machine runs the script; its CPU count, torch version and torch thread
count are printed. ``--json`` makes the last line of stdout one JSON object with the results.

Usage::

    python benchmarks/env_throughput.py                 # full run (a few minutes)
    python benchmarks/env_throughput.py --quick --json  # smoke test
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
import torch
from _common import ints, table

import marlloc.envs

ENV_ID = "edge_market_v0"
BIG_BATCH = 32_000  # "best batched" is chosen among configurations with n_envs * N >= this


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=ints, default=[50, 200, 500, 2000, 10000],
                   help="users per environment N for the batched path (default: 50,200,500,2000,10000)")
    p.add_argument("--envs", type=ints, default=[1, 8, 32, 64, 128],
                   help="batch sizes n_envs for the batched path (default: 1,8,32,64,128)")
    p.add_argument("--dict-users", type=ints, default=[50, 200, 500, 2000],
                   help="users N for the PettingZoo dict path (default: 50,200,500,2000)")
    p.add_argument("--steps", type=int, default=30, help="timed steps per repeat (default 30)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported (default 5)")
    p.add_argument("--warmup", type=int, default=40, help="untimed steps before timing (default 40)")
    p.add_argument("--pool", type=int, default=8, help="pre-drawn action dicts used in turn (default 8)")
    p.add_argument("--max-user-envs", type=int, default=1_300_000,
                   help="skip batched configurations with n_envs * N above this (default 1,300,000)")
    p.add_argument("--seed", type=int, default=0, help="reset seed and action-sampling seed (default 0)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(K) (default: torch's own)")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test sizes: users 50,200; envs 1,8; dict-users 50; steps 5; repeats 2; warm-up 5")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    a = p.parse_args(argv)
    if a.quick:
        a.users, a.envs, a.dict_users = [50, 200], [1, 8], [50]
        a.steps, a.repeats, a.warmup = 5, 2, 5
    for name in ("steps", "repeats", "pool"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be ≥ 1")
    if a.warmup < 0:
        p.error("--warmup must be ≥ 0")
    if a.threads is not None and a.threads < 1:
        p.error("--threads must be ≥ 1")
    return a


# --- measurements ---------------------------------------------------------------------------


def env_state_bytes(env) -> int:
    """Bytes of every tensor held by a batched environment (attributes, state, obs buffers);
    storages shared between tensors (views) are counted once."""
    seen: dict[int, int] = {}

    def add(x) -> None:
        if isinstance(x, torch.Tensor):
            st = x.untyped_storage()
            seen[st.data_ptr()] = max(seen.get(st.data_ptr(), 0), st.nbytes())
        elif isinstance(x, (list, tuple)):
            for y in x:
                add(y)
        elif isinstance(x, dict):
            for y in x.values():
                add(y)

    for value in vars(env).values():
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                add(getattr(value, f.name))
        else:
            add(value)
    return sum(seen.values())


def _time_loop(step_fn, pool: list, warmup: int, steps: int, repeats: int) -> tuple[list[float], object]:
    """Run ``warmup`` untimed steps, then ``repeats`` timed blocks of ``steps``; seconds per step."""
    k = 0
    out = None
    for _ in range(warmup):
        out = step_fn(pool[k % len(pool)])
        k += 1
    per_step = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            out = step_fn(pool[k % len(pool)])
            k += 1
        per_step.append((time.perf_counter() - t0) / steps)
    return per_step, out


def horizon(args: argparse.Namespace) -> int:
    return args.warmup + args.steps * args.repeats + 1


def bench_batched(n_users: int, n_envs: int, args: argparse.Namespace) -> dict:
    env = marlloc.envs.make(ENV_ID, n_users=n_users, episode_rounds=horizon(args))
    t0 = time.perf_counter()
    env.reset(n_envs, seed=args.seed)
    reset_s = time.perf_counter() - t0
    g = torch.Generator().manual_seed(args.seed)
    pool = [env.sample_actions(g) for _ in range(args.pool)]
    times, last = _time_loop(lambda a: env.step(a, check=False), pool, args.warmup, args.steps, args.repeats)
    if bool(last.truncated.any()):
        raise RuntimeError("an episode truncated inside the timed steps; the horizon is too short")
    med = statistics.median(times)
    return {
        "path": "batched", "users": n_users, "n_envs": n_envs, "user_envs": n_users * n_envs,
        "median_s_per_step": med, "min_s_per_step": min(times),
        "user_steps_per_s": n_users * n_envs / med,
        "active_frac": float(last.active["user"].float().mean()),
        "env_state_MB": env_state_bytes(env) / 2**20, "reset_s": reset_s,
    }


def bench_dict(n_users: int, args: argparse.Namespace) -> dict:
    env = marlloc.envs.make_parallel(ENV_ID, n_users=n_users, episode_rounds=horizon(args))
    t0 = time.perf_counter()
    env.reset(seed=args.seed)
    reset_s = time.perf_counter() - t0
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(args.seed * 1_000_003 + i)
    pool = [{a: env.action_space(a).sample() for a in env.possible_agents} for _ in range(args.pool)]
    times, last = _time_loop(env.step, pool, args.warmup, args.steps, args.repeats)
    _, _, _, trunc, infos = last
    if any(trunc.values()):
        raise RuntimeError("an episode truncated inside the timed steps; the horizon is too short")
    users = [a for a in infos if a.startswith("user_")]
    med = statistics.median(times)
    return {
        "path": "dict", "users": n_users, "n_envs": 1, "user_envs": n_users,
        "median_s_per_step": med, "min_s_per_step": min(times),
        "user_steps_per_s": n_users / med,
        "active_frac": sum(bool(infos[a]["active"]) for a in users) / max(len(users), 1),
        "env_state_MB": env_state_bytes(env.env) / 2**20, "reset_s": reset_s,
    }


# --- report ---------------------------------------------------------------------------------


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def print_table(rows: list[dict]) -> None:
    head = ("path", "users", "n_envs", "user_envs", "ms/step", "min ms", "user-steps/s", "active", "state MB")
    body = [(r["path"], f"{r['users']:,}", f"{r['n_envs']}", f"{r['user_envs']:,}",
             f"{r['median_s_per_step'] * 1e3:.3f}", f"{r['min_s_per_step'] * 1e3:.3f}",
             _fmt_rate(r["user_steps_per_s"]), f"{r['active_frac']:.3f}", f"{r['env_state_MB']:.2f}")
            for r in rows]
    table(head, body)


def memory_report(rows: list[dict]) -> list[dict]:
    """env_state_MB per N at n_envs = 1, MB per 1,000 users, and the marginal slope."""
    one = sorted((r for r in rows if r["path"] == "batched" and r["n_envs"] == 1), key=lambda r: r["users"])
    out, prev = [], None
    for r in one:
        per_k = r["env_state_MB"] / r["users"] * 1000
        marginal = ((r["env_state_MB"] - prev["env_state_MB"]) / (r["users"] - prev["users"]) * 1000
                    if prev else None)
        out.append({"users": r["users"], "env_state_MB": r["env_state_MB"], "MB_per_1k_users": per_k,
                    "marginal_MB_per_1k_users": marginal})
        prev = r
    if not out:
        return out
    print("\nEnvironment state at n_envs = 1 (memory should grow linearly in N):")
    print(f"{'users':>8}  {'state MB':>9}  {'MB/1k users':>11}  {'marginal MB/1k':>14}")
    for m in out:
        marg = "" if m["marginal_MB_per_1k_users"] is None else f"{m['marginal_MB_per_1k_users']:.4f}"
        print(f"{m['users']:>8,}  {m['env_state_MB']:>9.3f}  {m['MB_per_1k_users']:>11.4f}  {marg:>14}")
    if len(out) >= 2:
        n = np.array([m["users"] for m in out], dtype=float)
        mb = np.array([m["env_state_MB"] for m in out])
        slope, icpt = np.polyfit(n, mb, 1)
        resid = mb - (slope * n + icpt)
        print(f"linear fit: {slope * 1000:.4f} MB per 1,000 users + {icpt:.3f} MB fixed; "
              f"max |residual| {np.abs(resid).max():.4f} MB")
        out_fit = {"MB_per_1k_users": slope * 1000, "fixed_MB": icpt, "max_abs_residual_MB": float(np.abs(resid).max())}
        out.append({"fit": out_fit})
    return out


def summarise(rows: list[dict]) -> dict:
    batched = [r for r in rows if r["path"] == "batched"]
    dicts = [r for r in rows if r["path"] == "dict"]
    big = [r for r in batched if r["user_envs"] >= BIG_BATCH]
    pool = big or batched
    best = max(pool, key=lambda r: r["user_steps_per_s"]) if pool else None
    dict_ref = next((r for r in dicts if r["users"] == 200), dicts[0] if dicts else None)
    best_dict = max(dicts, key=lambda r: r["user_steps_per_s"]) if dicts else None
    same_n = []
    for d in dicts:
        at_n = [r for r in batched if r["users"] == d["users"]]
        if at_n:
            b = max(at_n, key=lambda r: r["user_steps_per_s"])
            same_n.append({"users": d["users"], "batched_n_envs": b["n_envs"],
                           "batched_user_steps_per_s": b["user_steps_per_s"],
                           "dict_user_steps_per_s": d["user_steps_per_s"],
                           "ratio": b["user_steps_per_s"] / d["user_steps_per_s"]})
    return {
        "batched_user_steps_per_s": best["user_steps_per_s"] if best else None,
        "best_config": {"users": best["users"], "n_envs": best["n_envs"]} if best else None,
        "best_config_meets_min_batch": bool(big),
        "min_batch_user_envs": BIG_BATCH,
        "dict_user_steps_per_s": dict_ref["user_steps_per_s"] if dict_ref else None,
        "dict_users": dict_ref["users"] if dict_ref else None,
        "best_dict": {"users": best_dict["users"], "user_steps_per_s": best_dict["user_steps_per_s"]}
        if best_dict else None,
        "ratio": best["user_steps_per_s"] / dict_ref["user_steps_per_s"] if best and dict_ref else None,
        "ratio_same_n": same_n,
    }


def print_summary(s: dict) -> None:
    print("\nSummary")
    if s["best_config"]:
        cond = (f"n_envs*N ≥ {BIG_BATCH:,}" if s["best_config_meets_min_batch"]
                else f"no configuration reached n_envs*N ≥ {BIG_BATCH:,}; best of all")
        print(f"  best batched ({cond}): N={s['best_config']['users']:,} n_envs={s['best_config']['n_envs']} "
              f"-> {_fmt_rate(s['batched_user_steps_per_s'])} user-steps/s")
    if s["dict_users"] is not None:
        print(f"  dict path at N={s['dict_users']:,}: {_fmt_rate(s['dict_user_steps_per_s'])} user-steps/s"
              f" (best: N={s['best_dict']['users']:,}, {_fmt_rate(s['best_dict']['user_steps_per_s'])})")
    if s["ratio"] is not None:
        print(f"  ratio best batched / dict at N={s['dict_users']:,}: {s['ratio']:,.1f}x")
    for r in s["ratio_same_n"]:
        print(f"  same N={r['users']:,}: batched (n_envs={r['batched_n_envs']}) "
              f"{_fmt_rate(r['batched_user_steps_per_s'])} / dict {_fmt_rate(r['dict_user_steps_per_s'])}"
              f" = {r['ratio']:,.1f}x")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    wall0 = time.perf_counter()
    print(f"marlloc {ENV_ID} throughput | python {platform.python_version()} | torch {torch.__version__} | "
          f"os.cpu_count() {os.cpu_count()} | torch threads {torch.get_num_threads()} | {platform.machine()}")
    print(f"warm-up {args.warmup} steps, {args.steps} timed steps x {args.repeats} repeats (median), "
          f"action pool {args.pool}, horizon {horizon(args)} rounds, seed {args.seed}")
    print("user-step = one user agent advanced one round\n", flush=True)

    rows: list[dict] = []
    for n in args.users:
        for e in args.envs:
            if n * e > args.max_user_envs:
                print(f"  skip batched N={n:,} n_envs={e} (n_envs*N > {args.max_user_envs:,})", file=sys.stderr)
                continue
            r = bench_batched(n, e, args)
            rows.append(r)
            print(f"  batched N={n:>6,} n_envs={e:>4}: {r['median_s_per_step'] * 1e3:9.3f} ms/step "
                  f"{_fmt_rate(r['user_steps_per_s']):>12} user-steps/s", file=sys.stderr, flush=True)
    for n in args.dict_users:
        r = bench_dict(n, args)
        rows.append(r)
        print(f"  dict    N={n:>6,}            : {r['median_s_per_step'] * 1e3:9.3f} ms/step "
              f"{_fmt_rate(r['user_steps_per_s']):>12} user-steps/s", file=sys.stderr, flush=True)

    print_table(rows)
    memory = memory_report(rows)
    summary = summarise(rows)
    print_summary(summary)
    wall = time.perf_counter() - wall0
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"\nwall time {wall:.1f} s, peak RSS {peak_rss_mb:,.0f} MB")
    if args.json:
        out = {
            **summary,
            "rows": rows,
            "memory": memory,
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "torch_version": torch.__version__,
            "settings": {"steps": args.steps, "repeats": args.repeats, "warmup": args.warmup,
                         "pool": args.pool, "horizon": horizon(args), "seed": args.seed,
                         "max_user_envs": args.max_user_envs},
            "wall_s": wall,
            "peak_rss_MB": peak_rss_mb,
        }
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
