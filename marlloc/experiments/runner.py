"""Doing the runs of a spec: one folder per run, skip what is complete, two local backends.

Folder protocol (``DIR/runs``): a run works in ``DIR/runs/.partial/<id>`` and, once everything is
written, including ``run.json`` (the run's definition, wall seconds, peak memory, hardware),
the folder is renamed to ``DIR/runs/<id>`` — one atomic step. So a folder under ``runs/`` is a
complete run, a crash leaves only a ``.partial`` folder, and a re-launch skips complete runs. A
training run interrupted after a checkpoint resumes from it (the learners resume exactly);
an interrupted evaluation starts over.

Backends:

- ``local``: one run after another in this process (the default; what the tests use). Peak
  memory is this process's peak so far, so it includes earlier runs: an upper bound.
- ``process``: ``workers`` runs at a time, each in a fresh process (``spawn``, one run per
  process, one torch thread each), so its peak memory is its own.

Runs wait for the training runs they play (``Run.needs``). A failed run is reported and its
dependants skipped; the others go on.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from marlloc.core.config import check
from marlloc.experiments.specs import EVAL_SEED, Run, method

BACKENDS = ("local", "process")


@dataclass
class Outcome:
    """What a call to :func:`run_all` did."""

    done: list[str] = field(default_factory=list)      # run ids completed now
    skipped: list[str] = field(default_factory=list)   # already complete before
    failed: dict[str, str] = field(default_factory=dict)  # run id → one-line reason
    blocked: list[str] = field(default_factory=list)   # not run: a run they need failed


def hardware() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    import torch

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "platform": platform.platform()}


def is_complete(runs_dir: Path, run: Run) -> bool:
    return (runs_dir / run.id / "run.json").is_file()


def execute(run: Run, runs_dir: str | Path) -> dict:
    """Do ``run`` (if not already complete) and publish its folder; returns its ``run.json``."""
    from marlloc import __version__

    runs_dir = Path(runs_dir)
    final = runs_dir / run.id
    if (final / "run.json").is_file():
        return json.loads((final / "run.json").read_text())
    work = runs_dir / ".partial" / run.id
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = (_train if run.kind == "train" else _evaluate)(run, runs_dir, work)
    record = {**run.to_dict(), "status": "complete", "wall_s": time.perf_counter() - t0,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "hardware": hardware(),
              "marlloc_version": __version__, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **result}
    tmp = work / ".run.json.tmp"
    tmp.write_text(json.dumps(record, indent=2, allow_nan=False, default=str) + "\n")
    os.replace(tmp, work / "run.json")
    if final.exists():  # a folder without run.json cannot be made by this protocol; never merge into it
        shutil.rmtree(final)
    os.replace(work, final)
    return record


def _train(run: Run, runs_dir: Path, work: Path) -> dict:
    resume = (work / "checkpoints" / "last.pt").is_file()
    m = method(run.method)
    if run.scenario == "edge":
        from marlloc.algos.maddpg import MaddpgConfig, train

        cfg = MaddpgConfig(**_tuples(run.hp))
        train(cfg, run.env, run.steps, run.seed, work, eval_every_rounds=run.eval_every, eval_episodes=2,
              checkpoint_every_rounds=min(run.steps, 1_000), resume=resume, final_episodes=run.episodes)
        return {"train_wall_s": _train_wall(work)}
    from marlloc.algos import ECONOMY_ALGOS
    from marlloc.algos.eqmarl import train

    cfg_cls, fixed = ECONOMY_ALGOS[m.algo]
    cfg = cfg_cls(**_tuples({"eval_every": run.eval_every, **run.hp, **fixed}))
    # the greedy evaluation curve (figures) every 5 Δπ checks: at 20-step checks it costs ~5 % of eqmarl's training
    summary = train(cfg, "economy_v0", run.env, run.steps, run.seed, work, algo=m.algo, eval_episodes=run.episodes,
                    checkpoint_every=min(run.steps, 500), eval_rollout_every=5 * run.eval_every, resume=resume)
    return {"train_wall_s": summary["wall_s"], "convergence": summary["convergence"]}


def _train_wall(work: Path) -> float | None:
    """Training seconds from the last row of metrics.csv (the learners log cumulative wall time)."""
    import csv

    with open(work / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return float(rows[-1]["charts/wall_s"]) if rows and rows[-1].get("charts/wall_s") else None


def _evaluate(run: Run, runs_dir: Path, work: Path) -> dict:
    from marlloc.evaluation import evaluate, evaluate_economy, write

    m = method(run.method)
    seeds = [EVAL_SEED + run.seed]
    policy = m.policy or f"{m.algo}:{runs_dir / run.train / 'checkpoints' / 'last.pt'}"
    if run.scenario == "edge":
        series: list = [] if run.timeline else None
        ev = evaluate(policy, "edge_market_v0", run.env, run.episodes, seeds, bound=run.bound,
                      nash_every=run.nash_every, series=series)
        if series is not None:
            (work / "timeline.json").write_text(json.dumps(series) + "\n")
    else:
        ev = evaluate_economy(policy, run.env, run.episodes, seeds, nash_every=run.nash_every)
    write(ev, work)
    (label,) = ev.policies
    return {"metrics": {k: v for k, v in ev.policies[label].items() if isinstance(v, dict) and "mean" in v},
            "eval_wall_s": ev.policies[label]["wall_s"], "training": ev.policies[label].get("training")}


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _work(run: Run, runs_dir: str) -> dict:
    """A process-backend worker: one torch thread (``workers`` runs share the cores)."""
    import torch

    torch.set_num_threads(1)
    return execute(run, runs_dir)


def check_backend(backend: str, workers: int | None) -> None:
    check(backend in BACKENDS, "--backend", f"be one of {', '.join(BACKENDS)}", backend, "use local or process")
    check(workers is None or (isinstance(workers, int) and workers >= 1), "--workers", "be an integer ≥ 1", workers,
          "try --workers 2")


def run_all(runs: list[Run], out: str | Path, backend: str = "local", workers: int | None = None,
            progress=None) -> Outcome:
    """Do every run not yet complete in ``out/runs``, in dependency order.

    ``progress(event, run, detail)`` is called with ``"skip"``, ``"start"``, ``"done"``, ``"fail"``
    and ``"blocked"``. KeyboardInterrupt stops the work: complete runs stay, running ones are
    left as ``.partial`` folders and pick up from their last checkpoint next time.
    """
    check_backend(backend, workers)
    workers = workers or os.cpu_count() or 1
    runs_dir = Path(out) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    note = progress or (lambda *a: None)
    outcome = Outcome()
    pending: dict[str, Run] = {}
    for r in {r.id: r for r in runs}.values():  # a run shared by two parts of a spec is done once
        if is_complete(runs_dir, r):
            outcome.skipped.append(r.id)
            note("skip", r, None)
        else:
            pending[r.id] = r
    complete = set(outcome.skipped)

    def ready() -> list[Run]:
        return [r for r in pending.values() if all(n in complete for n in r.needs)]

    def block_dependants() -> None:
        bad = set(outcome.failed) | set(outcome.blocked)
        for r in list(pending.values()):
            if any(n in bad for n in r.needs):
                outcome.blocked.append(pending.pop(r.id).id)
                note("blocked", r, None)
                block_dependants()
                return

    def finish(r: Run, error: BaseException | None) -> None:
        if error is None:
            complete.add(r.id)
            outcome.done.append(r.id)
            note("done", r, None)
        else:
            outcome.failed[r.id] = f"{type(error).__name__}: {error}".splitlines()[0]
            note("fail", r, outcome.failed[r.id])
            block_dependants()

    for r in list(pending.values()):  # a needed run that is neither complete nor part of this call
        missing = [n for n in r.needs if n not in pending and n not in complete]
        if missing:
            finish(pending.pop(r.id), RuntimeError(f"needs run {missing[0]}, which is not complete nor planned"))

    if backend == "local":
        while pending:
            r = ready()[0]
            del pending[r.id]
            note("start", r, None)
            try:
                execute(r, runs_dir)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # one run's failure must not stop the others
                finish(r, e)
            else:
                finish(r, None)
        return outcome

    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=1)
    running: dict = {}
    try:
        while pending or running:
            for r in ready()[: workers - len(running)]:
                del pending[r.id]
                note("start", r, None)
                running[pool.submit(_work, r, str(runs_dir))] = r
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                r = running.pop(fut)
                finish(r, fut.exception())
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return outcome


__all__ = ["BACKENDS", "Outcome", "execute", "hardware", "is_complete", "run_all"]
