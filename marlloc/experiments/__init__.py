"""Reproductions of the seeds' experiments: specs, runs, tables, figures and the report.

``reproduce(name)`` = the spec (:mod:`.specs`) → its runs (:mod:`.runner`, skipping complete
ones) → tables (:mod:`.tables`), figures (:mod:`.figures`) and ``report.html`` (:mod:`.report`)
in ``DIR``::

    DIR/experiment.json        every experiment reproduced into DIR: name → quick, seeds, spec fields
    DIR/runs/<run id>/         one folder per run (run.json + the run's own files)
    DIR/tables/<name>-*.md|csv
    DIR/figures/<name>-*.png
    DIR/report.html

``build_report(DIR)`` (``marlloc report DIR``) redoes the last three from ``experiment.json`` and
the run folders alone, without running anything.
"""

from __future__ import annotations

import json
from pathlib import Path

from marlloc.core.config import check_out_dir
from marlloc.core.errors import ConfigError
from marlloc.experiments import runner, specs, tables


def _manifest(out: Path) -> dict:
    path = out / "experiment.json"
    if not path.is_file():
        return {"experiments": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} must be JSON written by marlloc reproduce, got a parse error ({e.msg}); "
                          "remove it and re-run marlloc reproduce") from None


def reproduce(name: str, quick: bool = False, seeds: int = 5, out: str | Path | None = None, backend: str = "local",
              workers: int | None = None, progress=None, env: dict | None = None, ray=None,
              fields: dict | None = None) -> dict:
    """Run experiment ``name`` into ``out`` (skipping complete runs) and write its report.

    ``env`` holds environment overrides for every run and ``fields`` replaces fields of the spec
    (see :func:`specs.get`); both are part of the runs' ids, so runs on other data or settings
    never count as complete ones. ``ray``: the Ray backend's options (``RayOptions``).

    Returns ``{"outcome": runner.Outcome, "tables": [...], "figures": [...], "report": Path}``.
    """
    spec = specs.get(name, quick, env, fields)
    runs = spec.runs(seeds)
    runner.check_backend(backend, workers)  # every argument is checked before anything is written
    out = Path(out or f"runs/reproduce-{name}{'-quick' if quick else ''}")
    check_out_dir(out)
    if backend == "ray":  # no Ray, or no cluster at --address: one line, and nothing written
        from marlloc.experiments.ray_backend import RayOptions, connect, require_ray

        require_ray()
        if not all(runner.is_complete(out / "runs", r) for r in runs):  # all complete: no Ray start-up
            connect(ray or RayOptions())
    out.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(out)
    manifest["experiments"][name] = {"quick": quick, "seeds": seeds, "paper": spec.paper,
                                     "spec": json.loads(json.dumps(specs._fields(spec), default=list))}
    tables.atomic_write(out / "experiment.json", json.dumps(manifest, indent=2) + "\n")
    outcome = runner.run_all(runs, out, backend, workers, progress, ray)
    return {"outcome": outcome, **build_report(out)}


def build_report(out: str | Path) -> dict:
    """Tables, figures and report.html of every experiment in ``out``, from its run folders."""
    from marlloc.experiments.figures import make_figures
    from marlloc.experiments.report import write_report

    out = Path(out)
    manifest = _manifest(out)
    if not manifest["experiments"]:
        raise ConfigError(f"{out} must hold an experiment.json written by marlloc reproduce, found none; "
                          "run marlloc reproduce NAME --out DIR first")
    records = tables.load_records(out)
    all_tables, all_figures, used = [], [], []
    for name, entry in manifest["experiments"].items():
        spec = specs.from_entry(name, entry)
        ids = {r.id for r in spec.runs(entry["seeds"])}
        mine = [r for r in records if r["id"] in ids]
        used += mine
        all_tables += tables.write_tables(spec, tables.make_tables(spec, mine), out / "tables")
        all_figures += make_figures(spec, mine, out / "figures")
    report = write_report(out, manifest["experiments"], all_tables, all_figures, used)
    return {"tables": all_tables, "figures": all_figures, "report": report}


__all__ = ["build_report", "reproduce"]
