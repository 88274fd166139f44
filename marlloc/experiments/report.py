"""``DIR/report.html``: one self-contained page for every experiment reproduced into ``DIR``.

The page has inline CSS only (no script, no network), so it opens from a folder, an archive or
a CI artifact alike. Per experiment: its spec (the protocol), the seeds, every table (rendered
from its markdown file, with links to the ``.md`` and ``.csv``) and every figure (relative
links into ``figures/``). A closing section says where the numbers come from: the data source
of each experiment, the hardware, the marlloc version, the number of runs and their seconds.

The papers' own numbers stay in their column, "reported by the paper (different simulator)",
shaded and bordered apart from ours, so no one reads them as a result of this simulator.
"""

from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

from marlloc.experiments.tables import PAPER_COL, atomic_write

PAPER_CLASS = ' class="paper"'
EDGE_FILES = ("sites_csv", "users_csv", "arrival_trace_csv")
"""Edge config keys that replace the embedded default scenario with a file."""

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 2px solid #ccc; padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { font-size: 1rem; margin-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 .3rem; font-size: .85rem; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.paper, td.paper { background: #fff4dc; color: #6b4e00; font-style: italic; border-left: 3px solid #d9a400; }
.legend-paper { display: inline-block; background: #fff4dc; border-left: 3px solid #d9a400; padding: 0 .4rem;
                font-style: italic; color: #6b4e00; }
table.config td:first-child { font-family: ui-monospace, monospace; }
.notes { font-size: .8rem; color: #555; margin-top: 0; }
.links { font-size: .8rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .85rem; color: #444; }
nav ul { columns: 2; } footer { margin-top: 3rem; border-top: 2px solid #ccc; font-size: .9rem; }
.warn { color: #8a1c1c; }
"""


# --- reading the tables' markdown -----------------------------------------------------------------


def parse_markdown_table(text: str) -> dict:
    """``{"title", "columns", "rows", "notes"}`` of a table written by :mod:`.tables` (``### title``,
    a pipe table, ``- note`` lines)."""
    title, columns, rows, notes = "", [], [], []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("### "):
            title = s[4:]
        elif s.startswith("|"):
            cells = [c.strip() for c in s.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue  # the |---| separator row
            if columns:
                rows.append(cells)
            else:
                columns = cells
        elif s.startswith("- "):
            notes.append(s[2:])
    return {"title": title, "columns": columns, "rows": rows, "notes": notes}


def _is_num(cell: str) -> bool:
    head = cell.split(" ")[0].replace("%", "").replace("+", "").replace("−", "-")
    try:
        float(head)
    except ValueError:
        return False
    return True


def _table_html(table: dict) -> str:
    paper = {i for i, c in enumerate(table["columns"]) if c == PAPER_COL}

    def cls(i: int, cell: str) -> str:
        if i in paper:
            return PAPER_CLASS
        return ' class="num"' if _is_num(cell) else ""

    head = "".join(f"<th{PAPER_CLASS if i in paper else ''}>{html.escape(c)}</th>"
                   for i, c in enumerate(table["columns"]))
    body = "".join("<tr>" + "".join(f"<td{cls(i, c)}>{html.escape(c)}</td>" for i, c in enumerate(r)) + "</tr>"
                   for r in table["rows"])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --- pieces of the page ---------------------------------------------------------------------------


def _owner(path: Path, names: list[str]) -> str | None:
    """The experiment a ``<name>-<kind>.<ext>`` file belongs to (the longest matching name)."""
    hits = [n for n in names if path.name.startswith(f"{n}-")]
    return max(hits, key=len) if hits else None


def _rel(path: Path, out: Path) -> str:
    return html.escape(Path(os.path.relpath(Path(path).resolve(), out.resolve())).as_posix(), quote=True)


def _value(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False)


def _config_html(entry: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_value(v))}</td></tr>"
                   for k, v in entry.get("spec", {}).items())
    return f'<table class="config"><thead><tr><th>spec field</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>'


def _table_section(title: str, md: Path, csv: Path, out: Path) -> str:
    md, csv = Path(md), Path(csv)
    links = f'<p class="links">files: <a href="{_rel(md, out)}">{html.escape(md.name)}</a> · ' \
            f'<a href="{_rel(csv, out)}">{html.escape(csv.name)}</a></p>'
    if not md.is_file():
        return f'<h3>{html.escape(title)}</h3><p class="warn">table file missing: {html.escape(str(md))}</p>{links}'
    t = parse_markdown_table(md.read_text())
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in t["notes"])
    return (f"<h3>{html.escape(t['title'] or title)}</h3>{_table_html(t)}"
            + (f'<ul class="notes">{notes}</ul>' if notes else "") + links)


def _figure_html(title: str, png: Path, out: Path) -> str:
    rel = _rel(png, out)
    return (f'<figure><a href="{rel}"><img src="{rel}" alt="{html.escape(title, quote=True)}"></a>'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")


def _summary(record: dict) -> dict:
    path = Path(record["dir"]) / "summary.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        return {}


def data_sources(records: list[dict]) -> list[str]:
    """Where a set of runs' inputs came from: the economy panel's source as the evaluations
    recorded it, and for the edge the files that replace the embedded scenario, if any."""
    out = []
    for r in records:
        if r["kind"] != "evaluate":
            continue
        summary = _summary(r)
        config = {**summary.get("config", {}), **r.get("env", {})}
        if r["scenario"] == "economy":
            src = summary.get("data_source") or ("WDI file " + str(config["wdi"]) if config.get("wdi") else "unknown")
            years = config.get("years")
            vintage = sorted(set((summary.get("data_vintage") or {}).values()))
            out.append(f"economy: {src}" + (f", years {years[0]}–{years[1]}" if years else "")
                       + (f", vintage {'; '.join(vintage)}" if vintage else ""))
        else:
            files = [f"{k} = {config[k]}" for k in EDGE_FILES if config.get(k)]
            out.append("edge: " + ("; ".join(files) if files else "embedded default scenario"))
    return list(dict.fromkeys(out))


def _footer(experiments: dict, records: list[dict], names_of: dict[str, list[dict]]) -> str:
    runs = list({r["id"]: r for r in records}.values())  # a run shared by two experiments counts once
    rows = []
    for name in experiments:
        mine = list({r["id"]: r for r in names_of.get(name, [])}.values())
        src = "<br>".join(html.escape(s) for s in data_sources(mine)) or "—"
        wall = sum(float(r.get("wall_s") or 0) for r in mine)
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{src}</td><td class=\"num\">{len(mine)}</td>"
                    f"<td class=\"num\">{wall:,.1f}</td></tr>")
    hardware = list(dict.fromkeys(json.dumps(r.get("hardware") or {}, sort_keys=True) for r in runs))
    hw = "".join("<li>" + html.escape(", ".join(f"{k}: {v}" for k, v in json.loads(h).items()) or "unknown")
                 + "</li>" for h in hardware)
    versions = ", ".join(html.escape(str(v)) for v in dict.fromkeys(r.get("marlloc_version", "?") for r in runs))
    total = sum(float(r.get("wall_s") or 0) for r in runs)
    return (
        '<footer><h2 id="provenance">Provenance</h2>'
        '<table><thead><tr><th>experiment</th><th>data source / vintage</th><th>runs</th><th>wall s</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p>Hardware:</p><ul>{hw or '<li>unknown</li>'}</ul>"
        f"<p>marlloc version: {versions or 'unknown'}</p>"
        f"<p>Runs: {len(runs)}; total wall time {total:,.1f} s (sum over runs; runs may have overlapped with "
        "the process backend).</p></footer>"
    )


# --- the page -------------------------------------------------------------------------------------


def write_report(out: Path, experiments: dict[str, dict], tables: list[tuple[str, Path, Path]],
                 figures: list[tuple[str, Path]], records: list[dict]) -> Path:
    """Write ``out/report.html`` (atomically) and return its path.

    ``experiments``: name → {"quick", "seeds", "spec", "paper"} (``experiment.json``);
    ``tables``: (title, .md, .csv); ``figures``: (title, .png); ``records``: the runs' ``run.json``
    with their folder under ``"dir"``.
    """
    out = Path(out)
    names = list(experiments)
    by_name: dict[str, dict] = {n: {"tables": [], "figures": []} for n in [*names, None]}
    for t in tables:
        by_name[_owner(Path(t[1]), names)]["tables"].append(t)
    for f in figures:
        by_name[_owner(Path(f[1]), names)]["figures"].append(f)
    records_of = _records_by_experiment(experiments, records)

    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>marlloc reproductions: {html.escape(', '.join(names))}</title><style>{CSS}</style></head><body>",
        "<h1>marlloc reproductions — our simulator</h1>",
        f"<p>Written {html.escape(time.strftime('%Y-%m-%d %H:%M:%S %z'))} from the run folders in "
        f"<code>{html.escape(str(out))}</code>. Our numbers: mean ± std over seeds and the 95 % CI of the mean "
        "(Student t). <span class=\"legend-paper\">Shaded columns</span> hold the numbers reported by the papers, "
        "from their own simulators: shown beside ours for reference, never comparable one to one.</p>",
        "<nav><ul>" + "".join(f'<li><a href="#{html.escape(n, quote=True)}">{html.escape(n)}</a></li>' for n in names)
        + '<li><a href="#provenance">provenance</a></li></ul></nav>',
    ]
    for name, entry in experiments.items():
        quick = " (quick variant)" if entry.get("quick") else ""
        paper = f"seed {entry['paper']}" if entry.get("paper") else "—"
        parts.append(f'<section id="{html.escape(name, quote=True)}"><h2>{html.escape(name)}{html.escape(quick)}</h2>'
                     f"<p>Paper: {html.escape(paper)} · seeds: {html.escape(str(entry.get('seeds', '?')))} · "
                     f"runs: {len({r['id'] for r in records_of.get(name, [])})}</p>"
                     f"<details><summary>protocol (spec fields)</summary>{_config_html(entry)}</details>")
        mine = by_name[name]
        if not mine["tables"] and not mine["figures"]:
            parts.append('<p class="warn">no table or figure: no complete run of this experiment yet.</p>')
        parts += [_table_section(*t, out) for t in mine["tables"]]
        parts += [_figure_html(*f, out) for f in mine["figures"]]
        parts.append("</section>")
    other = by_name[None]
    if other["tables"] or other["figures"]:
        parts.append("<section><h2>other outputs</h2>")
        parts += [_table_section(*t, out) for t in other["tables"]]
        parts += [_figure_html(*f, out) for f in other["figures"]]
        parts.append("</section>")
    parts.append(_footer(experiments, records, records_of))
    parts.append("</body></html>\n")
    path = out / "report.html"
    atomic_write(path, "\n".join(parts))
    return path


def _records_by_experiment(experiments: dict[str, dict], records: list[dict]) -> dict[str, list[dict]]:
    """Which runs each experiment uses: the ids its spec plans (runs shared by two are in both)."""
    from marlloc.experiments import specs

    out: dict[str, list[dict]] = {}
    by_id = {r["id"]: r for r in records}
    for name, entry in experiments.items():
        try:
            spec = specs.from_entry(name, entry)
            ids = {r.id for r in spec.runs(entry["seeds"])}
        except (KeyError, TypeError, ValueError):  # an entry of another version: no runs, not no report
            ids = set()
        out[name] = [by_id[i] for i in ids if i in by_id]
    return out


__all__ = ["data_sources", "parse_markdown_table", "write_report"]
