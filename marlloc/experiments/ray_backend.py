"""The Ray backend: every run of a sweep is a Ray task, on this machine or on a cluster.

Each run is one task declaring its resources (``cpus_per_run`` CPUs, ``memory_gb_per_run`` of
memory, ``gpus_per_run`` GPUs). Ray reuses worker processes from task to task: a fresh one per
run would cost ~3 s of imports and warm-up, more than a quick run. Runs depend on nothing a
process keeps (every random stream is seeded by the run), and the runner resets the peak-memory
count per run, so ``run.json`` stays the run's own. Without ``address`` a local
Ray instance starts with ``num_cpus`` CPUs and stops at the end; with ``address`` ("auto" or
HOST:PORT) the sweep joins a running cluster (``docs/distributed.md``).

Where the run folders go:

- **shared** (default): ``DIR`` must be at the same path on every node (one machine, or NFS).
  Tasks follow the runner's folder protocol in place: work in ``DIR/runs/.partial/<id>``, then
  one rename publishes ``DIR/runs/<id>``. A task checks that it sees the sweep's token file in
  ``DIR/runs`` first, and fails in one line if it does not.
- **ship** (``ship=True``): nothing is shared but Ray itself. A task works in a scratch folder
  on its node and returns its run folder as a tar archive through Ray's object store; the
  driver unpacks it into ``.partial`` and renames it into place. An evaluation run receives the
  folder of the training run it plays (checkpoint and summary) from the driver the same way.

Fault tolerance: a task whose worker dies (killed, out of memory, node lost) is retried up to
``retries`` times; a run that raises is not retried (it would raise again) and is reported as
failed. A run reports once: only a complete folder is published (atomically), a retry that finds
its run complete returns it as is, and the driver takes one result per task. The live count of
starts and retries comes from a small actor every task checks in with before it works.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import shutil
import socket
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from marlloc.core.config import check
from marlloc.core.errors import ConfigError
from marlloc.experiments.runner import execute
from marlloc.experiments.specs import Run

INSTALL = "pip install 'marlloc[ray]'"


@dataclass(frozen=True)
class RayOptions:
    """How a sweep uses Ray."""

    address: str | None = None
    """Cluster to join: "auto" (the one ``ray start --head`` started here) or HOST:PORT; None
    starts a local Ray instance for this sweep."""
    num_cpus: int | None = None
    """CPUs of the local instance (default: every core); only without ``address`` (a cluster's
    CPUs are set by ``ray start``)."""
    cpus_per_run: float = 1.0
    """CPUs each run declares; its torch uses that many threads (at least one)."""
    memory_gb_per_run: float = 1.0
    """Memory each run declares (GB): Ray places no more runs on a node than its memory holds.
    A quick run needs ~0.5 GB; MADDPG at 10,000 users several GB."""
    gpus_per_run: float = 0.0
    """GPUs each run declares; > 0 trains the learners on ``cuda`` (evaluation stays on CPU)."""
    retries: int = 3
    """Retries of a run whose worker died; 0 = none."""
    ship: bool = False
    """Ship run folders and checkpoints through Ray's object store instead of a shared ``DIR``."""

    def __post_init__(self):
        check(self.num_cpus is None or (isinstance(self.num_cpus, int) and self.num_cpus >= 1), "--num-cpus",
              "be an integer ≥ 1", self.num_cpus, "try --num-cpus 2")
        check(self.address is None or self.num_cpus is None, "--num-cpus", "be left out with --address (the "
              "cluster's CPUs are set by ray start)", self.num_cpus, "drop --num-cpus or --address")
        check(self.cpus_per_run > 0, "--cpus-per-run", "be > 0", self.cpus_per_run, "try --cpus-per-run 1")
        check(self.memory_gb_per_run > 0, "--memory-gb-per-run", "be > 0", self.memory_gb_per_run,
              "try --memory-gb-per-run 1")
        check(self.gpus_per_run >= 0, "--gpus-per-run", "be ≥ 0", self.gpus_per_run, "try --gpus-per-run 0")
        check(isinstance(self.retries, int) and self.retries >= 0, "--retries", "be an integer ≥ 0", self.retries,
              "try --retries 3")


def require_ray():
    """The ``ray`` module, or a one-line error naming the install command."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--backend ray needs Ray installed, got no ray module; {INSTALL}") from None
    return ray


_connected = False  # connect() called ray.init in this process (so the pool's close undoes it)
_tracker = None     # the actor connect() started to check the cluster, for the next pool to count with


def connect(opts: RayOptions):
    """Join ``opts.address`` or start a local instance, unless Ray is already initialised here
    (e.g. by a test or a notebook, which then keeps it); a cluster not there is one line.

    An explicit HOST:PORT is probed first: ``ray.init`` would wait for it forever.
    """
    global _connected, _tracker
    ray = require_ray()
    if ray.is_initialized():
        return ray
    fix = "start one with ray start --head, or drop --address for a local instance"
    if opts.address not in (None, "auto") and not opts.address.startswith("ray://"):
        host, _, port = opts.address.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except (OSError, ValueError) as e:
            raise ConfigError(f"--address must be HOST:PORT of a running Ray head, got {opts.address!r} "
                              f"({e or type(e).__name__}); {fix}") from None
    try:  # "local": a new instance even when a cluster runs on this machine (ray.init would join it)
        ray.init(address=opts.address or "local", num_cpus=opts.num_cpus, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise ConfigError(f"--address must reach a running Ray cluster, got {opts.address or 'local'!r} "
                          f"({str(e).splitlines()[0]}); {fix} (a cluster with token auth also needs "
                          "RAY_AUTH_MODE=token and its token here: docs/distributed.md)") from None
    try:  # a first actor (a driver whose auth mode the cluster does not share runs tasks, not actors),
        _tracker = ray.remote(num_cpus=0)(_Tracker).remote()  # kept as the sweep's tracker: ~3 s less start-up
        ray.get(_tracker.snapshot.remote(), timeout=120)
    except (ray.exceptions.RayError, TimeoutError) as e:
        _tracker = None
        ray.shutdown()
        raise ConfigError(f"the Ray cluster must start worker processes, got {type(e).__name__} "
                          f"({str(e).splitlines()[0]}); check that the driver and every node agree on "
                          "RAY_AUTH_MODE and hold the same token (docs/distributed.md)") from None
    _connected = True
    return ray


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:  # checkpoints are already compressed by torch
        tar.add(folder, arcname=".")
    return buf.getvalue()


def _unpack(archive: bytes, folder: Path) -> None:
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")  # "data": no absolute paths, links out or devices


def _task(run: Run, runs_dir: str, token: str, tracker, opts: RayOptions, needed: dict):
    """One run on a Ray worker: check in, do the run, hand the result back."""
    import ray
    import torch

    ray.get(tracker.started.remote(run.id))  # before any work: the driver's counts never lag a finish
    torch.set_num_threads(max(1, int(opts.cpus_per_run)))
    device = "cuda" if opts.gpus_per_run > 0 else "cpu"
    if not opts.ship:
        if not (Path(runs_dir) / f".ray-{token}").is_file():
            raise RuntimeError(f"the sweep folder {runs_dir} must be visible at the same path on every Ray node, "
                               f"and node {os.uname().nodename} does not see it; put it on a shared filesystem "
                               "or pass --ship")
        execute(run, runs_dir, device)
        return None
    scratch = Path(tempfile.gettempdir()) / "marlloc-ray" / token / run.id
    shutil.rmtree(scratch, ignore_errors=True)  # an earlier attempt's leftovers on this node
    try:
        for rid, archive in needed.items():
            _unpack(ray.get(archive), scratch / rid)
        execute(run, scratch, device)
        return _pack(scratch / run.id)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class RayPool:
    """The runner's pool interface (``submit``, ``wait``, ``events``, ``close``) over Ray tasks."""

    slots = 1 << 30  # every ready run is submitted at once: Ray queues what the cluster cannot place yet

    def __init__(self, runs_dir: Path, opts: RayOptions):
        ray = self.ray = connect(opts)
        self.runs_dir, self.opts = runs_dir.resolve(), opts  # workers do not share the driver's working folder
        self.token = secrets.token_hex(8)
        (self.runs_dir / f".ray-{self.token}").write_text("marlloc sweep\n")
        global _tracker
        self.tracker, _tracker = _tracker or ray.remote(num_cpus=0)(_Tracker).remote(), None
        self.task = ray.remote(
            num_cpus=opts.cpus_per_run, memory=int(opts.memory_gb_per_run * 2**30), num_gpus=opts.gpus_per_run,
            max_retries=opts.retries, retry_exceptions=False)(_task)
        self.refs: dict = {}     # ObjectRef → run
        self.starts: dict[str, int] = {}
        self.pending_events: list[tuple[str, str]] = []

    def submit(self, run: Run):
        needed = {}  # the training run an evaluation plays: its checkpoint and its summary (convergence)
        if self.opts.ship and run.train:
            needed[run.train] = self.ray.put(_pack(self.runs_dir / run.train))
        ref = self.task.remote(run, str(self.runs_dir), self.token, self.tracker, self.opts, needed)
        self.refs[ref] = run
        return ref

    def wait(self, handles: list) -> list[tuple[object, BaseException | None]]:
        ready, _ = self.ray.wait(handles, num_returns=len(handles), timeout=0.5)
        for rid, n in self.ray.get(self.tracker.snapshot.remote()).items():
            seen = self.starts.get(rid, 0)
            self.pending_events += [("start", rid)] * (seen == 0 and n > 0) + [("retry", rid)] * (n - max(seen, 1))
            self.starts[rid] = n
        out = []
        for ref in ready:
            run = self.refs.pop(ref)
            try:
                archive = self.ray.get(ref)
                if archive is not None:
                    self._publish(run, archive)
                out.append((ref, None))
            except self.ray.exceptions.RayTaskError as e:  # the run raised: report its own error
                out.append((ref, e.cause if isinstance(e.cause, BaseException) else e))
            except Exception as e:  # worker died more often than retries allow, node lost, ...
                out.append((ref, RuntimeError(str(e).splitlines()[0] or type(e).__name__)))
        return out

    def _publish(self, run: Run, archive: bytes) -> None:
        work = self.runs_dir / ".partial" / run.id
        shutil.rmtree(work, ignore_errors=True)
        _unpack(archive, work)
        check((work / "run.json").is_file(), "a shipped run", "hold run.json", run.id, "re-run the sweep")
        final = self.runs_dir / run.id
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)

    def events(self) -> list[tuple[str, str]]:
        out, self.pending_events = self.pending_events, []
        return out

    def close(self, interrupted: bool) -> None:
        if interrupted:  # stop the running tasks; their .partial folders stay for the next launch
            for ref in self.refs:
                self.ray.cancel(ref, force=True)
        (self.runs_dir / f".ray-{self.token}").unlink(missing_ok=True)
        global _connected
        if _connected:
            _connected = False
            self.ray.shutdown()  # stops the local instance; from a cluster, only disconnects


class _Tracker:
    """Counts the attempts of every run (an attempt checks in before it works)."""

    def __init__(self):
        self.starts: dict[str, int] = {}

    def started(self, run_id: str) -> None:
        self.starts[run_id] = self.starts.get(run_id, 0) + 1

    def snapshot(self) -> dict[str, int]:
        return dict(self.starts)


__all__ = ["INSTALL", "RayOptions", "RayPool", "connect", "require_ray"]
