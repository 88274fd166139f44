"""marlloc reproduce: specs, the run-folder protocol, aggregation with known numbers, resume."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from marlloc.core.errors import ConfigError
from marlloc.experiments import runner, specs, tables
from marlloc.experiments.specs import EdgeTable1, Run


def _fake(out, spec, values: dict[str, list[float]], extra: dict | None = None) -> None:
    """Complete evaluation run folders for ``spec`` with the given per-seed system utility."""
    for r in spec.runs(len(next(iter(values.values())))):
        if r.kind != "evaluate" or r.method not in values:
            continue
        v = values[r.method][r.seed]
        metrics = {"system_utility": {"mean": v, "std": 0.0, "ci95": [v, v], "n": 2},
                   "utility_vs_bound": {"mean": 1 / 1.25, "std": 0.0, "ci95": [0.8, 0.8], "n": 2}}
        folder = out / "runs" / r.id
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({**r.to_dict(), "wall_s": 1.0, "eval_wall_s": 1.0,
                                                     "peak_rss_mb": 100.0, "metrics": metrics, **(extra or {})}))


def test_aggregation_over_seeds_gives_known_mean_std_ci_and_improvement(tmp_path):
    spec = dataclasses.replace(EdgeTable1().quick(), methods=("sequential_greedy", "greedy", "random"))
    _fake(tmp_path, spec, {"sequential_greedy": [0.8, 0.9, 1.0], "greedy": [0.5, 0.6, 0.7], "random": [0.3, 0.3, 0.3]})
    recs = tables.load_records(tmp_path)
    assert len(recs) == 9
    cells = tables.per_seed(recs, spec)
    comp = tables.comparison(spec, cells, tables.EDGE_METRICS)
    row = next(r for r in comp.raw if r["metric"] == "system_utility" and r["method"] == "sequential_greedy")
    half = 4.302652729911275 * 0.1 / math.sqrt(3)        # Student t(0.975, 2) · s / √n
    assert row["mean"] == pytest.approx(0.9) and row["std"] == pytest.approx(0.1) and row["seeds"] == 3
    assert row["ci95_low"] == pytest.approx(0.9 - half) and row["ci95_high"] == pytest.approx(0.9 + half)
    gap = next(r for r in comp.raw if r["metric"] == "optimality_gap" and r["method"] == "greedy")
    assert gap["mean"] == pytest.approx(0.2)             # 1 − utility ÷ bound, bound = 1.25 × utility


def test_improvement_is_a_ratio_of_means_with_a_paired_ci(tmp_path):
    spec = dataclasses.replace(EdgeTable1().quick(), methods=("maddpg", "greedy"))
    _fake(tmp_path, spec, {"maddpg": [0.8, 0.9, 1.0], "greedy": [0.5, 0.6, 0.7]})
    imp = tables.improvement(spec, tables.per_seed(tables.load_records(tmp_path), spec))
    row = next(r for r in imp.raw if r["metric"] == "system_utility")
    assert row["improvement_pct"] == pytest.approx(50.0)  # (0.9 − 0.6) ÷ 0.6, the papers' definition
    paired = [(0.8 - 0.5) / 0.5 * 100, (0.9 - 0.6) / 0.6 * 100, (1.0 - 0.7) / 0.7 * 100]
    assert row["ci95_low_pct"] < sum(paired) / 3 < row["ci95_high_pct"]
    assert row["paper_different_simulator"] == "+37.1 % vs greedy"  # the paper's number, in its own column only


def test_paper_numbers_never_enter_our_columns(tmp_path):
    spec = dataclasses.replace(EdgeTable1().quick(), methods=("greedy", "random"))
    _fake(tmp_path, spec, {"greedy": [0.5, 0.7], "random": [0.3, 0.5]})
    t = tables.comparison(spec, tables.per_seed(tables.load_records(tmp_path), spec), tables.EDGE_METRICS)
    md = t.markdown()
    assert tables.PAPER_COL in md and "0.62 ± 0.05" in md   # greedy's reported utility, in the paper column
    row = next(r for r in t.raw if r["metric"] == "system_utility" and r["method"] == "greedy")
    assert row["mean"] == pytest.approx(0.6) and row["paper_different_simulator"] == "0.62 ± 0.05"


def test_run_ids_follow_the_definition_and_runs_are_shared():
    a = specs.get("econ-comparison").runs(2)
    b = specs.get("econ-summary").runs(2)
    assert {r.id for r in b} <= {r.id for r in a}         # the summary reuses the comparison's eqmarl runs
    changed = dataclasses.replace(specs.get("econ-summary"), train_steps=1501).runs(1)
    assert not {r.id for r in changed} & {r.id for r in a}  # a changed spec never reuses a stale run
    ev = next(r for r in a if r.kind == "evaluate" and r.method == "eqmarl")
    assert ev.needs == (ev.train,) and ev.train in {r.id for r in a}


@pytest.mark.parametrize("name", ["edge-robustness", "edge-scale-beyond", "econ-ablation"])
def test_env_overrides_reach_every_run_change_its_id_and_survive_the_manifest(name):
    key, value = ("arrival_prob", 0.3) if name.startswith("edge") else ("episode_steps", 7)
    plain, over = specs.get(name, quick=True), specs.get(name, quick=True, env={key: value})
    assert all(r.env[key] == value for r in over.runs(2))
    assert not {r.id for r in over.runs(2)} & {r.id for r in plain.runs(2)}  # other data is never "complete"
    entry = {"spec": json.loads(json.dumps(dataclasses.asdict(over), default=list))}
    assert [r.id for r in specs.from_entry(name, entry).runs(2)] == [r.id for r in over.runs(2)]


def test_bad_env_overrides_fail_before_anything_runs():
    with pytest.raises(ConfigError, match="unknown economy_v0 field 'wdix'"):
        specs.get("econ-comparison", env={"wdix": "a.csv"})
    with pytest.raises(ConfigError, match="wdi must be a tidy CSV"):
        specs.get("econ-comparison", env={"wdi": "/no/such/file.csv"})
    with pytest.raises(ConfigError, match="unknown edge_market_v0 field"):
        specs.get("edge-table1", env={"n_user": 5})


@pytest.mark.parametrize("name", list(specs.SPECS))
def test_every_spec_and_its_quick_variant_validate(name):
    full, quick = specs.get(name), specs.get(name, quick=True)
    assert full.runs(5) and quick.runs(1)
    assert len({r.id for r in quick.runs(1)}) <= 20  # quick variants stay CI-sized


def test_bad_specs_fail_on_one_line():
    with pytest.raises(ConfigError, match="experiment must be one of"):
        specs.get("edge-table2")
    with pytest.raises(ConfigError, match="episodes must be an integer ≥ 1"):
        EdgeTable1(episodes=0)
    with pytest.raises(ConfigError, match="method must be one of"):
        EdgeTable1(methods=("maddpg", "oracle"))
    with pytest.raises(ConfigError, match="event rounds"):
        specs.EdgeRobustness(burst_round=300)
    with pytest.raises(ConfigError, match="--seeds must be an integer ≥ 1"):
        EdgeTable1().runs(0)


def _tiny() -> list[Run]:
    spec = dataclasses.replace(EdgeTable1().quick(), methods=("greedy", "random"), nash_every=0, episode_rounds=6)
    return spec.runs(2)


def test_rerun_does_only_the_missing_runs_and_ignores_partial_folders(tmp_path):
    runs = _tiny()
    first = runner.run_all(runs[:2], tmp_path)
    assert len(first.done) == 2
    (tmp_path / "runs" / ".partial" / runs[2].id).mkdir(parents=True)  # a crash left this behind
    seen = []
    second = runner.run_all(runs, tmp_path, progress=lambda ev, r, d: seen.append((ev, r.id)))
    assert sorted(second.skipped) == sorted(r.id for r in runs[:2])
    assert sorted(second.done) == sorted(r.id for r in runs[2:])
    assert [e for e, _ in seen].count("start") == len(runs) - 2
    assert not (tmp_path / "runs" / ".partial" / runs[2].id).exists()  # published by rename
    assert all((tmp_path / "runs" / r.id / "run.json").is_file() for r in runs)


def test_a_failed_run_is_reported_and_its_dependants_blocked(tmp_path):
    bad = Run("train", "edge", "maddpg", 0, {"n_users": 0}, steps=4)
    ev = Run("evaluate", "edge", "maddpg", 0, {"n_users": 0}, train=bad.id, episodes=1)
    ok = _tiny()[0]
    out = runner.run_all([bad, ev, ok], tmp_path)
    assert "n_users" in out.failed[bad.id] and out.blocked == [ev.id] and out.done == [ok.id]
    assert not (tmp_path / "runs" / bad.id).exists()


def test_process_backend_gives_the_same_numbers_as_local(tmp_path):
    runs = _tiny()
    runner.run_all(runs, tmp_path / "local")
    runner.run_all(runs, tmp_path / "proc", backend="process", workers=2)
    for r in runs:
        a = json.loads((tmp_path / "local" / "runs" / r.id / "run.json").read_text())["metrics"]
        b = json.loads((tmp_path / "proc" / "runs" / r.id / "run.json").read_text())["metrics"]
        assert a == b


def test_a_process_worker_that_dies_fails_its_run_and_the_rest_go_on(tmp_path, monkeypatch):
    runs = _tiny()
    chaos = tmp_path / "chaos"
    chaos.mkdir()
    (chaos / f"{runs[0].id}.kill").touch()  # its worker SIGKILLs itself before the completion marker
    monkeypatch.setenv("MARLLOC_CHAOS", str(chaos))  # spawned workers inherit it
    first = runner.run_all(runs, tmp_path / "out", backend="process", workers=1)
    assert (chaos / f"{runs[0].id}.killed").exists()
    assert list(first.failed) == [runs[0].id] and "BrokenProcessPool" in first.failed[runs[0].id]
    assert sorted(first.done) == sorted(r.id for r in runs[1:])  # a fresh pool took the rest
    assert not (tmp_path / "out" / "runs" / runs[0].id).exists()  # no half-written run folder
    second = runner.run_all(runs, tmp_path / "out", backend="process", workers=1)
    assert second.done == [runs[0].id] and not second.failed


def test_learning_curves_align_seeds_on_the_step(tmp_path):
    recs = []
    for seed, points in enumerate(({20: 1.0, 40: 2.0, 60: 3.0}, {40: 5.0, 60: 7.0, 80: 9.0})):
        folder = tmp_path / str(seed)
        folder.mkdir()
        lines = ["step,eval/economy/utility"] + [f"{s},{v}" for s, v in points.items()] + ["90,"]  # a row without it
        (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
        recs.append({"dir": str(folder), "kind": "train", "method": "eqmarl"})
    cur = tables.learning_curves(recs, "eval/economy/utility")["eqmarl"]
    assert cur == {"x": [40, 60], "values": [[2.0, 3.0], [5.0, 7.0]]}


def test_grid_best_picks_the_best_configuration_per_metric_in_its_direction():
    spec = specs.get("econ-grid", quick=True)          # configs: 0 = lr 1e-3, 1 = lr 1e-2 (γ 0.99)
    cells = {(tables._gkey({"config": 0}), "eqmarl"): {"utility": {0: 0.6, 1: 0.8}, "gini": {0: 0.30, 1: 0.34}},
             (tables._gkey({"config": 1}), "eqmarl"): {"utility": {0: 0.5, 1: 0.5}, "gini": {0: 0.20, 1: 0.20}}}
    best = {r["metric"]: r for r in tables.grid_best(spec, cells).raw}
    assert set(best) == {"utility", "gini"}              # metrics no configuration reports are left out
    assert best["utility"]["config"] == 0 and best["utility"]["lr"] == 1e-3 and best["utility"]["higher_is_better"]
    assert best["utility"]["mean"] == pytest.approx(0.7) and best["utility"]["std"] == pytest.approx(0.1414, abs=1e-4)
    assert best["gini"]["config"] == 1 and best["gini"]["lr"] == 1e-2 and not best["gini"]["higher_is_better"]
    assert best["gini"]["seeds"] == 2 and best["gini"]["configurations"] == 2


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_sweep_file_validates(path, shared_data, monkeypatch):
    monkeypatch.chdir(path.parents[1])                   # the files' data paths are from the repository root
    d = specs.load_sweep(path)
    spec = specs.get(d["experiment"], d["quick"], d["env"], d["spec"])
    assert spec.runs(d["seeds"]) and d["out"].startswith("runs/")  # under runs/, which git ignores
