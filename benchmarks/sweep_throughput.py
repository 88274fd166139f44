"""Sweep throughput: the same 32 quick runs on the local, process and Ray backends (issue 8).

The sweep is ``econ-summary --quick`` with 16 seeds: 16 eqmarl training runs and 16 evaluations,
each evaluation waiting for its training run, so the scheduler's dependency handling is timed too.
These runs are short (a third of a second each), so this measures the backends' overheads;
``--fields '{"train_steps": 300}'`` makes the trainings longer, and ``--experiment
edge-convergence --seeds 8`` sweeps 32 edge-market runs (8 MADDPG trainings, 24 evaluations).

What is timed, per backend and repeat, in a fresh Python process (as a CLI invocation would be):
``runner.run_all(runs, fresh_folder, backend)`` from the call to its return, i.e. the backend's
start-up (process spawning, ``ray.init``), every run, and the shutdown; not the tables or report.

- ``local``: one run after another in this process (torch's default threads).
- ``process``: 2 spawned worker processes, one torch thread each, reused across runs.
- ``ray``: a local Ray instance started with ``num_cpus=2`` (1 CPU and 1 torch thread per run).

Reported: the median wall time over ``--repeats``, the work (Σ of the runs' own ``wall_s``), the
speed-up over local, and the **overhead per run** in core-seconds,
``(slots · wall − Σ wall_s) / n``, with slots = 1 for local and 2 otherwise: what a run costs
beyond its own work (idle cores included). Separately, **Ray's start-up**: ``ray.init(num_cpus=2)``
plus the round trip of one no-op task, and ``ray.shutdown()``.

Usage::

    python benchmarks/sweep_throughput.py               # 3 repeats, about 6 minutes
    python benchmarks/sweep_throughput.py --experiment edge-convergence --seeds 8
    python benchmarks/sweep_throughput.py --quick       # 4 runs, 1 repeat
    python benchmarks/sweep_throughput.py --quick --backends local,process   # the smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import table

BACKENDS = ("local", "process", "ray")


def one(backend: str, experiment: str, seeds: int, out: str, fields: dict) -> dict:
    """One timed sweep (or Ray's start-up) in this process; returns its figures."""
    if backend == "ray-startup":
        import logging

        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        t1 = time.perf_counter()
        ray.get(ray.remote(lambda: None).remote())
        t2 = time.perf_counter()
        ray.shutdown()
        return {"init_s": t1 - t0, "first_task_s": t2 - t1, "shutdown_s": time.perf_counter() - t2}
    from marlloc.experiments import runner, specs, tables
    from marlloc.experiments.ray_backend import RayOptions

    runs = specs.get(experiment, quick=True, fields=fields).runs(seeds)
    t0 = time.perf_counter()
    outcome = runner.run_all(runs, out, backend, workers=2 if backend == "process" else None,
                             ray=RayOptions(num_cpus=2) if backend == "ray" else None)
    wall = time.perf_counter() - t0
    assert not outcome.failed and not outcome.blocked and len(outcome.done) == len(runs), outcome
    work = sum(r["wall_s"] for r in tables.load_records(out))
    return {"wall_s": wall, "work_s": work, "runs": len(runs)}


def measure(backend: str, experiment: str, seeds: int, fields: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="marlloc-sweep-") as out:
        env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.abspath(__file__))}
        p = subprocess.run([sys.executable, __file__, "--one", backend, "--experiment", experiment, "--seeds",
                            str(seeds), "--out", out, "--fields", json.dumps(fields)],
                           capture_output=True, text=True, env=env, check=False)
        if p.returncode:
            sys.exit(f"{backend}: the timed sweep failed:\n{p.stderr[-2000:]}")
        return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--experiment", default="econ-summary", help="whose --quick variant is swept")
    ap.add_argument("--seeds", type=int, default=16, help="seeds (econ-summary: 2 runs per seed, 16 → 32 runs)")
    ap.add_argument("--quick", action="store_true", help="2 seeds (4 runs), 1 repeat")
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    ap.add_argument("--fields", type=json.loads, default={}, help='spec fields to replace, as JSON, e.g. '
                    '\'{"train_steps": 300}\' for longer runs')
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset (default: all three; "
                    "Ray's start-up is timed with ray)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.experiment, a.seeds, a.out, a.fields)))
        return
    if a.quick:
        a.repeats, a.seeds = 1, 2
    backends = [b for b in BACKENDS if b in a.backends.split(",")]
    if "local" not in backends or len(backends) != len(a.backends.split(",")):
        ap.error(f"--backends must name local (the reference) and only {', '.join(BACKENDS)}, got {a.backends!r}")
    print(f"{a.experiment} --quick {a.fields or ''}, {a.seeds} seeds, {a.repeats} repeat(s), {os.cpu_count()} cores; "
          "each figure a median over the repeats")
    got = {b: [] for b in (*backends, *(["ray-startup"] if "ray" in backends else []))}
    for _ in range(a.repeats):  # interleaved, so a slow spell of the machine hits every backend
        for b in got:
            got[b].append(measure(b, a.experiment, a.seeds, a.fields))
    med = {b: {k: statistics.median(x[k] for x in xs) for k in xs[0]} for b, xs in got.items()}
    local = med["local"]["wall_s"]
    rows = []
    for b in backends:
        m, slots = med[b], 1 if b == "local" else 2
        rows.append((b, f"{m['wall_s']:.1f}", f"{m['work_s']:.1f}", f"{local / m['wall_s']:.2f}×",
                     f"{(slots * m['wall_s'] - m['work_s']) / m['runs']:.2f}"))
    print(f"{med['local']['runs']} runs")
    table(("backend", "wall s", "Σ run wall_s", "speed-up vs local", "overhead s/run"), rows)
    s = med.get("ray-startup")
    if s:
        print(f"ray start-up: init {s['init_s']:.2f} s, first no-op task {s['first_task_s']:.2f} s, "
              f"shutdown {s['shutdown_s']:.2f} s")
    if a.json:
        print(json.dumps({"median": med, "all": got}))


if __name__ == "__main__":  # the process and Ray backends spawn workers that import this file
    main()
