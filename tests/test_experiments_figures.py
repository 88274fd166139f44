"""Figures and report.html from real run folders: shrunken quick specs run by the runner, 2 seeds.

The specs are the quick variants made smaller still (fewer users, rounds and methods) so the
module's runs take seconds; every figure kind is still drawn from the runner's own files.
"""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from matplotlib.image import imread

from marlloc.experiments import figures, runner, specs, tables
from marlloc.experiments.figures import DPI, PANEL, make_figures
from marlloc.experiments.report import parse_markdown_table, write_report

SEEDS = 2
W, H = PANEL[0] * DPI, PANEL[1] * DPI


def _tiny(name: str, **fields):
    return dataclasses.replace(specs.get(name, quick=True), **fields)


# Econ trains run just past eqmarl's 50 warm-up steps, so Δπ (every 2 steps) and the Q-game
# NashConv are logged a few times; no stage-game search in evaluation (not plotted, and slow).
ECON = {"train_steps": 54, "eval_every_steps": 2, "nash_every": 0}
SPECS = {
    "edge-convergence": _tiny("edge-convergence", users=4, train_rounds=6, episode_rounds=3, eval_every_rounds=2,
                              episodes=1, methods=("maddpg", "greedy")),
    # baselines only: MADDPG's training here evaluates on 200-round episodes (the spec's default)
    "edge-robustness": _tiny("edge-robustness", users=4, methods=("greedy", "random")),
    "edge-scalability": _tiny("edge-scalability", users=(4, 8), episode_rounds=5, methods=("greedy", "random")),
    "edge-scale-beyond": _tiny("edge-scale-beyond", users=(6, 12), episode_rounds=4, methods=("greedy", "random")),
    "econ-comparison": _tiny("econ-comparison", methods=("eqmarl", "lp", "econ-random"), **ECON),
    "econ-pareto": _tiny("econ-pareto", **ECON),  # shares eqmarl and lp with econ-comparison
    "econ-grid": _tiny("econ-grid", train_steps=4, eval_every_steps=2),
}
# figure suffix → (height, width) in pixels; training: eqmarl's greedy-evaluation utility and Gini, and NashConv
SHAPES = {
    "curves": (H, 3 * W), "timeline": (1.25 * H, 2 * W), "scaling": (H, W), "eval-time": (H, W),
    "bars": (1.2 * H, 2 * W), "training": (H, 3 * W), "delta-pi": (H, W), "q-heatmap": (H, 1.4 * W),
    "pareto": (H, 1.3 * W),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Runs every tiny spec into one folder, then its tables and figures, like ``build_report``."""
    out = tmp_path_factory.mktemp("figs")
    all_runs = [r for s in SPECS.values() for r in s.runs(SEEDS)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # toy-sized networks: a second thread only adds contention (6× slower on 2 cores)
    try:
        outcome = runner.run_all(all_runs, out)
    finally:
        torch.set_num_threads(threads)
    assert not outcome.failed, outcome.failed
    records = tables.load_records(out)
    made = {"out": out, "records": records, "tables": [], "figures": {}, "mine": {}}
    for name, spec in SPECS.items():
        ids = {r.id for r in spec.runs(SEEDS)}
        mine = [r for r in records if r["id"] in ids]
        made["mine"][name] = mine
        made["tables"] += tables.write_tables(spec, tables.make_tables(spec, mine), out / "tables")
        made["figures"][name] = make_figures(spec, mine, out / "figures")
    return made


EXPECTED = {
    "edge-convergence": ["curves"], "edge-robustness": ["timeline"], "edge-scalability": ["scaling"],
    "edge-scale-beyond": ["scaling", "eval-time"], "econ-comparison": ["bars", "training", "delta-pi", "q-heatmap"],
    "econ-pareto": ["pareto"], "econ-grid": ["grid"],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_figure_is_a_png_of_the_expected_size(built, name):
    got = built["figures"][name]
    assert [p.name for _, p in got] == [f"{name}-{k}.png" for k in EXPECTED[name]]
    for title, png in got:
        assert name in title and png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        img = imread(png)
        suffix = png.stem.removeprefix(f"{name}-")
        if suffix in SHAPES:
            h, w = SHAPES[suffix]
            assert img.shape == (round(h), round(w), 4), png.name
        else:  # the grid's height grows with the configurations shown
            assert img.shape[1] == round(1.5 * W) and img.shape[0] >= round(H), png.name
        assert img[..., :3].std() > 0.05, f"{png.name} is blank"
    assert not list((built["out"] / "figures").glob(".*.tmp")), "a temporary file was left behind"


def test_the_q_heatmap_covers_every_firm_level_and_visited_state(built):
    train = next(r for r in built["mine"]["econ-comparison"] if r["kind"] == "train" and r["method"] == "eqmarl")
    q = figures.q_values(train)
    cfg = json.loads((Path(train["dir"]) / "config.json").read_text())["env_config"]
    states = cfg["episode_steps"] * cfg["n_countries"] * cfg["n_firms"]
    assert q["q"].shape == (min(states, figures.HEAT_ROWS), cfg["n_levels"])
    assert (q["feature"][1:] >= q["feature"][:-1]).all(), "states are sorted by the feature"
    assert ((q["policy"] >= 0) & (q["policy"] < cfg["n_levels"])).all()


def test_missing_data_gives_no_figure_and_no_error(built, tmp_path):
    edge = built["mine"]["edge-scalability"]  # baselines only: nothing was trained
    no_learner = dataclasses.replace(SPECS["edge-convergence"], methods=("greedy", "random"))
    assert make_figures(no_learner, edge, tmp_path) == []
    assert make_figures(specs.get("econ-summary", quick=True), [], tmp_path) == []
    assert make_figures(specs.get("edge-robustness", quick=True), edge, tmp_path) == []  # no timeline.json
    # a 4-step training logs no Δπ (still warming up): that figure is skipped, the others are drawn
    grid_runs = built["mine"]["econ-grid"]
    got = [p.name for _, p in make_figures(specs.get("econ-summary", quick=True), grid_runs, tmp_path)]
    assert "econ-summary-delta-pi.png" not in got and "econ-summary-q-heatmap.png" in got
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(got)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.links += [v for k, v in attrs if k in ("href", "src") and not v.startswith("#")]


def _experiments() -> dict:
    return {name: {"quick": True, "seeds": SEEDS, "paper": spec.paper,
                   "spec": json.loads(json.dumps({f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)},
                                                 default=list))}
            for name, spec in SPECS.items()}


def test_report_links_every_table_and_figure_and_keeps_the_paper_apart(built):
    out = built["out"]
    figs = [f for fs in built["figures"].values() for f in fs]
    path = write_report(out, _experiments(), built["tables"], figs, built["records"])
    assert path == out / "report.html"
    text = path.read_text()
    parser = _Links()
    parser.feed(text)
    for _, md, csv in built["tables"]:
        assert f'href="tables/{md.name}"' in text and f'href="tables/{csv.name}"' in text
    for _, png in figs:
        assert f'src="figures/{png.name}"' in text
    assert all((out / link).is_file() for link in parser.links), "every link resolves relative to the report"
    assert f'<th class="paper">{tables.PAPER_COL}</th>' in text and '<td class="paper">' in text
    assert "script" not in parser.tags and "http://" not in text and "https://" not in text
    for name in SPECS:
        assert f'<section id="{name}">' in text
    assert "embedded default scenario" in text and "economy: synthetic" in text
    assert f"Runs: {len(built['records'])};" in text
    assert not list(out.glob(".report.html.*"))


def test_report_escapes_table_and_title_text(tmp_path):
    md = tmp_path / "tables" / "econ-grid-x.md"
    md.parent.mkdir()
    md.write_text(f"### a <b>title</b>\n\n| method | {tables.PAPER_COL} |\n| --- | --- |\n| <script>x</script> | 1 & 2 |\n"
                  "\n- note <i>\n")
    t = parse_markdown_table(md.read_text())
    assert t["columns"] == ["method", tables.PAPER_COL] and t["rows"] == [["<script>x</script>", "1 & 2"]]
    exp = {"econ-grid": {"quick": True, "seeds": 1, "paper": "004", "spec": {"note": "<x>"}}}
    text = write_report(tmp_path, exp, [("t", md, md.with_suffix(".csv"))], [("<fig>", tmp_path / "econ-grid-a.png")],
                        []).read_text()
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert "a &lt;b&gt;title&lt;/b&gt;" in text and "1 &amp; 2" in text and "note &lt;i&gt;" in text
    assert 'alt="&lt;fig&gt;"' in text and "&lt;x&gt;" in text
