"""Doing the runs of a spec: one folder per run, skip what is complete, two local backends.

Folder protocol (``DIR/runs``): a run works in ``DIR/runs/.partial/<id>`` and, once everything is
written, including ``run.json`` (the run's definition, wall seconds, peak memory, hardware),
the folder is renamed to ``DIR/runs/<id>`` — one atomic step. So a folder under ``runs/`` is a
complete run, a crash leaves only a ``.partial`` folder, and a re-launch skips complete runs. A
training run interrupted after a checkpoint resumes from it (the learners resume exactly);
an interrupted evaluation starts over.

Backends:

- ``local``: one run after another in this process (the default; what the tests use).
- ``process``: ``workers`` runs at a time in ``workers`` spawned processes (one torch thread
  each), reused from run to run: a fresh process costs ~3 s of imports and first-call warm-up,
  more than a quick run itself (``benchmarks/sweep_throughput.py``).
- ``ray``: every run a Ray task, on a local Ray instance or a cluster
  (:mod:`marlloc.experiments.ray_backend`): a run whose worker dies is retried.

Peak memory (``run.json``'s ``peak_rss_mb``) is the run's own: the kernel's peak-RSS count is
reset when a run starts (Linux ``/proc/self/clear_refs``), so a reused process does not carry
an earlier run's peak. Where that is impossible, ``peak_rss_scope`` says "process" (an upper
bound) instead of "run".

Runs wait for the training runs they play (``Run.needs``). A failed run is reported and its
dependants skipped; the others go on.

Fault injection (for tests of the backends): with ``MARLLOC_CHAOS=<dir>`` in a worker's
environment, a run whose id has an armed file ``<dir>/<id>.kill`` kills its own process with
SIGKILL once, after its work and before its completion marker (the worst moment), and renames
the file to ``<id>.killed``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from marlloc.core.config import check, from_dict
from marlloc.experiments.specs import EVAL_SEED, Run, method

BACKENDS = ("local", "process", "ray")


@dataclass
class Outcome:
    """What a call to :func:`run_all` did."""

    done: list[str] = field(default_factory=list)      # run ids completed now
    skipped: list[str] = field(default_factory=list)   # already complete before
    failed: dict[str, str] = field(default_factory=dict)  # run id → one-line reason
    blocked: list[str] = field(default_factory=list)   # not run: a run they need failed
    retried: dict[str, int] = field(default_factory=dict)  # run id → retries after its worker died (ray)


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


def execute(run: Run, runs_dir: str | Path, device: str = "cpu") -> dict:
    """Do ``run`` (if not already complete) and publish its folder; returns its ``run.json``.

    ``device`` is where a learner trains (evaluation runs on CPU); it is not part of the run's
    identity: the same seed gives the same run on CPU, and a GPU run is one of its own kind only
    in speed (and floating-point detail).
    """
    from marlloc import __version__

    runs_dir = Path(runs_dir)
    final = runs_dir / run.id
    if (final / "run.json").is_file():
        return json.loads((final / "run.json").read_text())
    work = runs_dir / ".partial" / run.id
    work.mkdir(parents=True, exist_ok=True)
    own_peak = _reset_peak_rss()
    t0 = time.perf_counter()
    result = _train(run, runs_dir, work, device) if run.kind == "train" else _evaluate(run, runs_dir, work)
    _chaos(run)
    record = {**run.to_dict(), "status": "complete", "wall_s": time.perf_counter() - t0,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "peak_rss_scope": "run" if own_peak else "process", "hardware": hardware(),
              "marlloc_version": __version__, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **result}
    tmp = work / ".run.json.tmp"
    tmp.write_text(json.dumps(record, indent=2, allow_nan=False, default=str) + "\n")
    os.replace(tmp, work / "run.json")
    if final.exists():  # a folder without run.json cannot be made by this protocol; never merge into it
        shutil.rmtree(final)
    os.replace(work, final)
    return record


def _reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS count of this process (Linux ≥ 4.0); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _chaos(run: Run) -> None:
    armed = Path(os.environ.get("MARLLOC_CHAOS", "/nonexistent")) / f"{run.id}.kill"
    try:
        armed.rename(armed.with_suffix(".killed"))  # atomic: exactly one attempt takes the kill
    except OSError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _train(run: Run, runs_dir: Path, work: Path, device: str = "cpu") -> dict:
    resume = (work / "checkpoints" / "last.pt").is_file()
    m = method(run.method)
    hp = {**run.hp, **({"device": device} if device != "cpu" else {})}
    if run.scenario == "edge":
        from marlloc.algos.maddpg import MaddpgConfig, train

        cfg = from_dict(MaddpgConfig, hp)
        train(cfg, run.env, run.steps, run.seed, work, eval_every_rounds=run.eval_every, eval_episodes=2,
              checkpoint_every_rounds=min(run.steps, 1_000), resume=resume, final_episodes=run.episodes)
        return {"train_wall_s": _train_wall(work)}
    from marlloc.algos import ECONOMY_ALGOS
    from marlloc.algos.eqmarl import train

    cfg_cls, fixed = ECONOMY_ALGOS[m.algo]
    cfg = from_dict(cfg_cls, {"eval_every": run.eval_every, **hp, **fixed})
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


def _work(run: Run, runs_dir: str) -> dict:
    """A process-backend worker: one torch thread (``workers`` runs share the cores)."""
    import torch

    torch.set_num_threads(1)
    return execute(run, runs_dir)


def check_backend(backend: str, workers: int | None) -> None:
    check(backend in BACKENDS, "--backend", f"be one of {', '.join(BACKENDS)}", backend,
          "use local, process or ray")
    check(workers is None or (isinstance(workers, int) and workers >= 1), "--workers", "be an integer ≥ 1", workers,
          "try --workers 2")


class _ProcessPool:
    """``workers`` runs at a time in ``workers`` spawned processes.

    A worker that dies (killed, out of memory) breaks the whole executor: the runs it was running
    fail with ``BrokenProcessPool`` (reported like any failure; running the command again resumes
    them), and the next submission starts a fresh executor, so the sweep goes on. Unlike Ray, the
    process backend does not retry them itself."""

    def __init__(self, runs_dir: Path, workers: int):
        self.runs_dir, self.slots = runs_dir, workers
        self.pool = self._executor()

    def _executor(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, run: Run):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(_work, run, str(self.runs_dir))
        except BrokenProcessPool:
            self.pool.shutdown(wait=False)
            self.pool = self._executor()
            return self.pool.submit(_work, run, str(self.runs_dir))

    def wait(self, handles: list) -> list[tuple[object, BaseException | None]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        finished, _ = wait(handles, return_when=FIRST_COMPLETED)
        return [(h, h.exception()) for h in finished]

    def events(self) -> list[tuple[str, str]]:
        return []  # a process starts its run when it is submitted; it is never retried

    def close(self, interrupted: bool) -> None:
        self.pool.shutdown(wait=not interrupted, cancel_futures=interrupted)


def run_all(runs: list[Run], out: str | Path, backend: str = "local", workers: int | None = None,
            progress=None, ray=None) -> Outcome:
    """Do every run not yet complete in ``out/runs``, in dependency order.

    ``progress(event, run, detail)`` is called with ``"skip"``, ``"start"``, ``"done"``, ``"fail"``,
    ``"blocked"`` and (ray) ``"retry"``. ``ray`` holds the Ray backend's options
    (:class:`~marlloc.experiments.ray_backend.RayOptions`; default ones when None).
    KeyboardInterrupt stops the work: complete runs stay, running ones are left as ``.partial``
    folders (a training run picks up from its last checkpoint next time).
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

    if not pending:  # nothing to do: no pool, no Ray start-up
        return outcome
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

    if backend == "ray":
        from marlloc.experiments.ray_backend import RayOptions, RayPool

        pool = RayPool(runs_dir, ray or RayOptions())
    else:
        pool = _ProcessPool(runs_dir, workers)
    running: dict = {}
    by_id = {r.id: r for r in runs}
    try:
        while pending or running:
            for r in ready()[: max(0, pool.slots - len(running))]:
                del pending[r.id]
                if backend != "ray":  # Ray says when a worker really starts the run (events below)
                    note("start", r, None)
                running[pool.submit(r)] = r
            finished = pool.wait(list(running))
            for event, rid in pool.events():  # starts and retries seen up to the wait's end, so before any finish
                if event == "retry":
                    outcome.retried[rid] = outcome.retried.get(rid, 0) + 1
                note(event, by_id[rid], None)
            for handle, error in finished:
                finish(running.pop(handle), error)
    except BaseException:
        pool.close(interrupted=True)
        raise
    pool.close(interrupted=False)
    return outcome


__all__ = ["BACKENDS", "Outcome", "execute", "hardware", "is_complete", "run_all"]
