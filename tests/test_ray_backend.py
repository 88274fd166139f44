"""The Ray backend on a local Ray instance with 2 CPUs: same tables as the local backend, fault
tolerance (a worker killed mid-run), interrupt and resume from the CLI, and its errors."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
import torch

from marlloc.cli import main
from marlloc.experiments import runner, specs, tables
from marlloc.experiments.ray_backend import RayOptions

pytestmark = pytest.mark.timeout(600)

# two learners and a solver baseline on the tiny economy, 2 seeds: 8 runs, two of them waiting on a training
SPEC = dataclasses.replace(specs.get("econ-comparison", quick=True), methods=("eqmarl", "sarl", "lp"))
SEEDS = 2
TIMING = {"decision_s", "train_wall_s", "eval_wall_s", "peak_rss_mb", "train_peak_rss_mb", "convergence_s"}


@pytest.fixture(scope="module")
def chaos(tmp_path_factory):
    """A 2-CPU Ray instance whose workers can be told to kill themselves (MARLLOC_CHAOS, runner.py)."""
    armed = tmp_path_factory.mktemp("chaos")
    os.environ["MARLLOC_CHAOS"] = str(armed)  # before ray.init: the workers inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield armed
    ray.shutdown()
    del os.environ["MARLLOC_CHAOS"]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The reference: the same runs with the local backend (one torch thread, as a Ray run with 1 CPU)."""
    out = tmp_path_factory.mktemp("local")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert not runner.run_all(SPEC.runs(SEEDS), out).failed
    finally:
        torch.set_num_threads(threads)
    return _numbers(out)


def _numbers(out: Path) -> list[dict]:
    """Every table row of the spec, without the columns that measure time or memory."""
    recs = tables.load_records(out)
    rows = []
    for t in tables.make_tables(SPEC, recs):
        if t.name != "cost":
            rows += [r for r in t.raw if r.get("metric") not in TIMING]
    return rows


def _folders(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "runs").iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("ship", [False, True], ids=["shared-folder", "shipped-through-object-store"])
def test_a_ray_sweep_gives_the_same_tables_as_the_local_backend(chaos, local, tmp_path, ship):
    events = []
    o = runner.run_all(SPEC.runs(SEEDS), tmp_path, "ray", progress=lambda e, r, d: events.append((e, r.id)),
                       ray=RayOptions(ship=ship))
    ids = sorted({r.id for r in SPEC.runs(SEEDS)})
    assert not o.failed and not o.retried and sorted(o.done) == ids
    assert _folders(tmp_path) == ids
    assert _numbers(tmp_path) == local
    for rid in ids:  # every run started once, before it finished
        mine = [e for e, r in events if r == rid]
        assert mine == ["start", "done"], (rid, mine)
    assert not list((tmp_path / "runs").glob(".ray-*")), "the sweep's token file was left behind"


def test_a_worker_killed_mid_run_is_retried_and_every_run_lands_exactly_once(chaos, local, tmp_path):
    runs = SPEC.runs(SEEDS)
    victims = [next(r.id for r in runs if r.kind == "train"), next(r.id for r in runs if r.method == "lp")]
    for rid in victims:  # killed after its work, before its completion marker
        (chaos / f"{rid}.kill").touch()
    events = []
    o = runner.run_all(runs, tmp_path, "ray", progress=lambda e, r, d: events.append((e, r.id)))
    assert not o.failed, o.failed
    assert o.retried == dict.fromkeys(victims, 1)
    assert sorted((chaos / f"{rid}.killed").exists() for rid in victims) == [True, True]  # the kill did happen
    assert sorted(o.done) == _folders(tmp_path) == sorted({r.id for r in runs})
    assert [e for e, r in events if r == victims[0]] == ["start", "retry", "done"]
    assert _numbers(tmp_path) == local  # the retry resumed the killed run's work: same numbers


def test_a_run_that_raises_is_not_retried_and_blocks_its_evaluation(chaos, tmp_path):
    bad = dataclasses.replace(SPEC, methods=("eqmarl",))
    runs = [dataclasses.replace(r, hp={"lr": -1.0}) if r.kind == "train" else r for r in bad.runs(1)]
    train = next(r for r in runs if r.kind == "train")
    runs = [r if r.kind == "train" else dataclasses.replace(r, train=train.id) for r in runs]
    o = runner.run_all(runs, tmp_path, "ray")
    assert list(o.failed) == [train.id] and "lr" in o.failed[train.id] and not o.retried
    assert len(o.blocked) == 1 and _folders(tmp_path) == []


def _cli(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "MARLLOC_CHAOS"}
    return subprocess.Popen([sys.executable, "-m", "marlloc.cli", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_ctrl_c_stops_a_sweep_cleanly_and_a_relaunch_runs_only_the_missing_runs(tmp_path):
    sweep = tmp_path / "small.yaml"
    sweep.write_text("experiment: econ-comparison\nquick: true\nseeds: 3\nout: out\n"
                     "spec:\n  methods: [eqmarl, econ-random]\n")
    total = len({r.id for r in dataclasses.replace(SPEC, methods=("eqmarl", "econ-random")).runs(3)})
    args = ["sweep", str(sweep), "--backend", "ray", "--num-cpus", "2"]
    proc = _cli(args, tmp_path)
    runs_dir = tmp_path / "out" / "runs"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(runs_dir.glob("*/run.json"))) < 2:
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    text = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, text
    assert "interrupted" in text and "Traceback" not in text, text
    first = {p.parent.name: p.read_text() for p in runs_dir.glob("*/run.json")}
    assert 2 <= len(first) < total, f"{len(first)} of {total} complete: the interrupt came too late to test resume"

    proc = _cli(args, tmp_path)
    text = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, text
    assert f"runs: {total - len(first)} done now, {len(first)} already complete, 0 failed" in text, text
    final = {p.parent.name: p.read_text() for p in runs_dir.glob("*/run.json")}
    assert len(final) == total and all(final[k] == v for k, v in first.items())  # complete runs untouched
    assert (tmp_path / "out" / "report.html").is_file()


def test_without_ray_the_backend_names_the_install_command_and_writes_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    code = main(["reproduce", "econ-comparison", "--quick", "--backend", "ray", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'marlloc[ray]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("experiment: econ-grid\nsped: {}\n", "key must be one of experiment"),
    ("spec: {}\n", "name the experiment swept"),
    ("experiment: econ-grid\nspec: {nope: 1}\n", "unknown econ-grid spec field 'nope'"),
    ("experiment: econ-comparison\nspec: {methods: eqmarl}\n", "methods must be a list"),
    ("experiment: nope\n", "experiment must be one of"),
    ("experiment: econ-grid\nseeds: 0\n", "seeds must be an integer ≥ 1"),
    ("experiment: [unclosed\n", "must be valid YAML"),
])
def test_a_bad_sweep_file_gets_one_line_and_runs_nothing(tmp_path, capsys, text, message):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    assert main(["sweep", str(f), "--backend", "local", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--backend", "local", "--num-cpus", "2"], "must come with --backend ray"),
    (["--backend", "process", "--gpus-per-run", "1"], "must come with --backend ray"),
    (["--backend", "ray", "--address", "auto", "--num-cpus", "2"], "--num-cpus must be left out with --address"),
    (["--backend", "ray", "--retries", "-1"], "--retries must be an integer ≥ 0"),
    (["--backend", "ray", "--memory-gb-per-run", "0"], "--memory-gb-per-run must be > 0"),
])
def test_bad_ray_options_get_one_line(tmp_path, capsys, args, message):
    assert main(["sweep", "econ-grid", "--quick", "--out", str(tmp_path / "o"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_sweep_file_replaces_spec_fields_and_records_them_for_the_report(tmp_path):
    f = tmp_path / "grid.yaml"
    f.write_text("experiment: econ-grid\nquick: true\nseeds: 1\nspec:\n  grid: {lr: [0.001, 0.01, 0.1]}\n"
                 "  train_steps: 6\n")
    d = specs.load_sweep(f)
    spec = specs.get(d["experiment"], d["quick"], d["env"], d["spec"])
    assert spec.configs() == [{"lr": 0.001}, {"lr": 0.01}, {"lr": 0.1}] and spec.train_steps == 6
    assert d["out"] == "runs/sweep-grid" and d["seeds"] == 1
    entry = {"spec": json.loads(json.dumps(specs._fields(spec), default=list))}
    assert specs.from_entry("econ-grid", entry) == spec  # what experiment.json keeps rebuilds the same spec


def test_an_address_no_cluster_answers_on_is_one_line_and_writes_nothing(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _cli(["sweep", "econ-grid", "--quick", "--out", "o", "--address", f"127.0.0.1:{port}"], tmp_path)
    text = proc.communicate(timeout=120)[0]  # ray.init alone would wait for it forever
    assert proc.returncode == 2, text
    lines = [ln for ln in text.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "--address must be HOST:PORT of a running Ray head" in lines[0], text
    assert "Traceback" not in text and not (tmp_path / "o").exists()
