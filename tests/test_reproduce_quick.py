"""Every experiment's --quick variant end to end through the CLI: runs, tables, figures, report."""

from __future__ import annotations

import csv
import json

import pytest
from matplotlib.image import imread

from marlloc.cli import main
from marlloc.experiments import specs


@pytest.mark.parametrize("name", list(specs.SPECS))
def test_quick_variant_writes_tables_figures_and_report(name, tmp_path, capsys):
    out = tmp_path
    assert main(["reproduce", name, "--quick", "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "report: " in printed and "0 failed" in printed
    mds = sorted((out / "tables").glob(f"{name}-*.md"))
    assert mds, "no table"
    for md in mds:
        with open(md.with_suffix(".csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        seeds = [r["seeds"] for r in rows if r.get("seeds")]
        assert rows and (not seeds or "2" in seeds), md.name  # cells aggregate over both seeds
    pngs = sorted((out / "figures").glob(f"{name}-*.png"))
    assert pngs, "no figure"
    for png in pngs:
        img = imread(png)
        assert img.ndim == 3 and img.shape[0] >= 200 and img.shape[1] >= 300, png.name
    html = (out / "report.html").read_text()
    assert all(f"tables/{md.name}" in html for md in mds) and all(f"figures/{p.name}" in html for p in pngs)


def test_rerun_skips_every_complete_run_and_report_rebuilds(tmp_path, capsys):
    name, out = "edge-robustness", tmp_path
    assert main(["reproduce", name, "--quick", "--seeds", "2", "--out", str(out)]) == 0
    assert main(["reproduce", name, "--quick", "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    n = len({r.id for r in specs.get(name, quick=True).runs(2)})
    assert f"runs: 0 done now, {n} already complete" in printed
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").is_file()


def test_real_world_bank_panel_is_recorded_in_the_report(tmp_path, shared_data, capsys):
    wb = shared_data / "worldbank"
    args = ["reproduce", "econ-summary", "--quick", "--seeds", "1", "--out", str(tmp_path),
            "--env", f"wdi={wb / 'wdi_snapshot.csv'}", "--env", f"wdi_countries_csv={wb / 'wdi_countries.csv'}"]
    assert main(args) == 0
    html = (tmp_path / "report.html").read_text()
    assert f"economy: tidy:{wb / 'wdi_snapshot.csv'}" in html and ", vintage " in html and "unknown (tidy CSV, sha256 " in html
    assert json.loads((tmp_path / "experiment.json").read_text())["experiments"]["econ-summary"]["spec"][
        "env_extra"]["wdi"] == str(wb / "wdi_snapshot.csv")


def test_cli_errors_are_one_line(tmp_path, capsys):
    for args in (["reproduce", "econ-summary", "--quick", "--env", "wdix=1"], ["reproduce", "econ-summary", "--env", "x"],
                 ["reproduce", "edge-table9"], ["reproduce"], ["reproduce", "edge-table1", "--seeds", "0"],
                 ["reproduce", "edge-table1", "--backend", "slurm"], ["reproduce", "edge-table1", "--num-cpus", "2"],
                 ["report", str(tmp_path)]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err


def test_list_shows_every_experiment(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in specs.SPECS)
