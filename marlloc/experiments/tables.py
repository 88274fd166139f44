"""From run folders to tables: mean ± std and 95 % CI over seeds, improvement rates, gaps, costs.

The unit of aggregation is the **seed**: an evaluation run's value of a metric is the mean over
its episodes, and a table cell aggregates those per-seed values (mean, sample std, Student-t
95 % CI of the mean; ``n`` = seeds). Derived per seed:

- ``optimality_gap`` (edge): 1 − utility ÷ the per-round LP upper bound at the states reached
  (runs evaluated with the bound);
- ``gap_to_lp`` (economy): (LP utility − utility) ÷ |LP utility| against the ``lp`` run of the
  same seed, when the spec has one;
- improvement rate of the proposed method over a baseline: (mean_p − mean_b) ÷ |mean_b| — the
  papers' definition, a ratio of means — with a 95 % CI from the per-seed paired ratios.

The papers' numbers (:data:`specs.PAPER`) sit in their own column, "reported by the paper
(different simulator)", and never enter a computation.

Robustness (:func:`robustness_stats`), per seed on the episode-mean series of system utility:
``pre`` = mean over the 20 rounds before the burst; ``dip`` = the lowest value from the burst
to 20 rounds after it; ``recovery_rounds`` = rounds from the burst's end until the trailing
5-round mean is back within 5 % of ``pre`` (None: not before the failure — censored);
``failure_impact_pct`` = (pre − mean while the node is down) ÷ pre; under fluctuation, the
mean and the std over rounds, and the change from ``pre``.

Convergence (edge-convergence): the first evaluation round from which MADDPG's evaluation
utility stays within 5 % of its final value (mean of the last three evaluations).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from marlloc.evaluation import aggregate
from marlloc.experiments.specs import PAPER, method

PAPER_COL = "reported by the paper (different simulator)"

EDGE_METRICS = {
    "system_utility": "system utility", "avg_qoe_norm": "average QoE (normalised)", "avg_qoe": "average QoE (raw)",
    "utilisation": "utilisation", "jain": "Jain fairness", "gini": "Gini of QoE", "deadline_rate": "deadline met",
    "rejection_rate": "rejection rate", "latency_ms": "latency (ms)",
    "optimality_gap": "gap to the per-round LP bound", "nash_conv": "stage-game NashConv", "epsilon": "ε",
}
ECON_METRICS = {
    "utility": "utility", "gini": "Gini of income", "welfare_per_country": "welfare per country",
    "gap_to_lp": "gap to the centralised LP", "nash_conv": "stage-game NashConv", "epsilon": "ε",
    "converged": "converged within training (share of seeds)",
    "convergence_step": "convergence (steps, Δπ rule; converged seeds only)", "convergence_s": "convergence (s)",
    "policy_stability": "policy stability (mean Δπ, last fifth)",
    "gini_bound_relaxed": "Gini bound infeasible, relaxed to the fairest choice (share of countries × steps)",
}
IMPROVE = {"edge": ("system_utility", "avg_qoe_norm", "utilisation", "jain"), "economy": ("utility",)}


@dataclass
class Table:
    """One table: formatted cells for markdown, raw numbers for CSV."""

    name: str                      # file stem: DIR/tables/<experiment>-<name>.md / .csv
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    raw: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        out = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
               "|" + "|".join(" --- " for _ in self.columns) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(out + [""] + [f"- {n}" for n in self.notes]) + "\n"

    def csv_text(self) -> str:
        buf = io.StringIO()
        keys = list(dict.fromkeys(k for r in self.raw for k in r))
        w = csv.DictWriter(buf, fieldnames=keys)
        w.writeheader()
        w.writerows(self.raw)
        return buf.getvalue()


# --- reading run folders ------------------------------------------------------------------------


def load_records(out: str | Path) -> list[dict]:
    """``run.json`` of every complete run in ``out/runs``, each with its folder under ``"dir"``."""
    recs = []
    for p in sorted(Path(out, "runs").glob("*/run.json")):
        rec = json.loads(p.read_text())
        rec["dir"] = p.parent
        recs.append(rec)
    return recs


def _gkey(group: dict) -> tuple:
    return tuple(sorted(group.items()))


def per_seed(records: list[dict], spec) -> dict[tuple, dict[str, dict[int, float]]]:
    """(group, method) → metric → seed → value, with the derived metrics of the module docstring."""
    out: dict[tuple, dict[str, dict[int, float]]] = {}
    evals = [r for r in records if r["kind"] == "evaluate"]
    for r in evals:
        cell = out.setdefault((_gkey(r["group"]), r["method"]), {})
        for k, agg in r["metrics"].items():
            if agg.get("mean") is not None:
                cell.setdefault(k, {})[r["seed"]] = agg["mean"]
        if "utility_vs_bound" in r["metrics"] and r["metrics"]["utility_vs_bound"]["mean"] is not None:
            cell.setdefault("optimality_gap", {})[r["seed"]] = 1 - r["metrics"]["utility_vs_bound"]["mean"]
        tr = r.get("training") or {}
        if "convergence_step" in tr:  # a censored run (never converged) counts here, not in the step column
            cell.setdefault("converged", {})[r["seed"]] = float(tr["convergence_step"] is not None)
        for k in ("convergence_step", "convergence_s"):
            if tr.get(k) is not None:
                cell.setdefault(k, {})[r["seed"]] = tr[k]
        stab = (tr.get("policy_stability") or {}).get("mean_delta_pi_last_fifth")
        if stab is not None:
            cell.setdefault("policy_stability", {})[r["seed"]] = stab
        cell.setdefault("eval_wall_s", {})[r["seed"]] = r.get("eval_wall_s", r["wall_s"])
        cell.setdefault("peak_rss_mb", {})[r["seed"]] = r["peak_rss_mb"]
    for r in records:
        if r["kind"] == "train":
            for (g, m), cell in out.items():
                if m == r["method"] and any(e["train"] == r["id"] for e in evals if _gkey(e["group"]) == g):
                    cell.setdefault("train_wall_s", {})[r["seed"]] = r.get("train_wall_s") or r["wall_s"]
                    cell.setdefault("train_peak_rss_mb", {})[r["seed"]] = r["peak_rss_mb"]
    if spec.scenario == "economy":
        for (g, _), cell in out.items():
            lp = out.get((g, "lp"), {}).get("utility", {})
            gaps = {s: (lp[s] - u) / abs(lp[s]) for s, u in cell.get("utility", {}).items() if lp.get(s)}
            if gaps:
                cell["gap_to_lp"] = gaps
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}" if abs(x) >= 1000 else f"{x:.{digits}f}"


def _cell(values: dict[int, float]) -> tuple[dict, str, str]:
    agg = aggregate(list(values.values()))
    if agg["mean"] is None:
        return agg, "n/a", "n/a"
    lo, hi = agg["ci95"]
    return agg, f"{_fmt(agg['mean'])} ± {_fmt(agg['std'])}", f"[{_fmt(lo)}, {_fmt(hi)}]"


def _paper(spec, metric: str, name: str) -> str:
    return PAPER.get(spec.name, {}).get(metric, {}).get(name, "—") if isinstance(
        PAPER.get(spec.name, {}).get(metric), dict) else "—"


def _group_cols(cells) -> list[str]:
    return sorted({k for g, _ in cells for k, _ in g})


# --- the tables ---------------------------------------------------------------------------------


def comparison(spec, cells, metrics: dict[str, str]) -> Table:
    gcols = _group_cols(cells)
    t = Table("comparison", f"{spec.name}: ours (mean ± std over seeds, 95 % CI) beside the paper",
              [*gcols, "metric", "method", "ours: mean ± std", "ours: 95 % CI", "seeds", PAPER_COL])
    order = [m for m in _methods(spec) if any(m == k[1] for k in cells)]
    for g in sorted({g for g, _ in cells}):
        for metric, label in metrics.items():
            for name in order:
                vals = cells.get((g, name), {}).get(metric)
                if not vals:
                    continue
                agg, ms, ci = _cell(vals)
                gd = dict(g)
                t.rows.append([*(str(gd.get(c, "")) for c in gcols), label, method(name).label or name, ms, ci,
                               str(agg["n"]), _paper(spec, metric, name)])
                t.raw.append({**gd, "metric": metric, "method": name, "mean": agg["mean"], "std": agg["std"],
                              "ci95_low": agg["ci95"][0], "ci95_high": agg["ci95"][1], "seeds": agg["n"],
                              "paper_different_simulator": _paper(spec, metric, name)})
    t.notes.append("ours: our simulator; each seed's value is the mean over its evaluation episodes "
                   f"(evaluation seed 10,000 + seed); the column '{PAPER_COL}' is the seed paper's own number")
    return t


def _methods(spec) -> list[str]:
    names = list(spec.methods)
    names += [f"pareto:{g:g}" for g in getattr(spec, "gini_bounds", ())]
    return names


def improvement(spec, cells) -> Table | None:
    proposed = spec.methods[0]
    if method(proposed).algo is None or len(spec.methods) < 2:
        return None
    gcols = _group_cols(cells)
    t = Table("improvement", f"{spec.name}: improvement of {method(proposed).label} over each baseline",
              [*gcols, "metric", "over", "ours: ratio of means", "ours: 95 % CI (paired per seed)", "seeds",
               PAPER_COL])
    paper = PAPER.get(spec.name, {}).get("improvement", {})
    for g in sorted({g for g, _ in cells}):
        mine = cells.get((g, proposed), {})
        for metric in IMPROVE[spec.scenario]:
            for base in spec.methods[1:]:
                b = cells.get((g, base), {}).get(metric, {})
                p = mine.get(metric, {})
                seeds = sorted(set(p) & set(b))
                if not seeds:
                    continue
                mp, mb = np.mean([p[s] for s in seeds]), np.mean([b[s] for s in seeds])
                rate = (mp - mb) / abs(mb) * 100 if mb else math.nan
                paired = aggregate([(p[s] - b[s]) / abs(b[s]) * 100 for s in seeds if b[s]])
                gd = dict(g)
                pap = paper.get(metric, "—") if base == "greedy" else "—"
                lo, hi = paired["ci95"]
                label = (EDGE_METRICS | ECON_METRICS)[metric]
                t.rows.append([*(str(gd.get(c, "")) for c in gcols), label, method(base).label, f"{rate:+.1f} %",
                               f"[{_fmt(lo, 1)} %, {_fmt(hi, 1)} %]" if lo is not None else "n/a", str(len(seeds)), pap])
                t.raw.append({**gd, "metric": metric, "over": base, "improvement_pct": rate, "ci95_low_pct": lo,
                              "ci95_high_pct": hi, "seeds": len(seeds), "paper_different_simulator": pap})
    return t


def cost(spec, cells) -> Table:
    gcols = _group_cols(cells)
    t = Table("cost", f"{spec.name}: wall time and peak memory per run (this machine)",
              [*gcols, "method", "training s", "evaluation s", "peak memory MB (eval / train)", "seeds"])
    for (g, name), cell in sorted(cells.items(), key=lambda kv: (kv[0][0], _methods(spec).index(kv[0][1])
                                                                   if kv[0][1] in _methods(spec) else 99)):
        gd = dict(g)
        tr = _cell(cell.get("train_wall_s", {}))
        ev = _cell(cell.get("eval_wall_s", {}))
        mem = max(cell.get("peak_rss_mb", {}).values(), default=None)
        tmem = max(cell.get("train_peak_rss_mb", {}).values(), default=None)
        t.rows.append([*(str(gd.get(c, "")) for c in gcols), method(name).label or name, tr[1], ev[1],
                       f"{_fmt(mem, 0)} / {_fmt(tmem, 0)}", str(ev[0]["n"])])
        t.raw.append({**gd, "method": name, "train_s_mean": tr[0]["mean"], "train_s_std": tr[0]["std"],
                      "eval_s_mean": ev[0]["mean"], "eval_s_std": ev[0]["std"], "peak_rss_mb_eval": mem,
                      "peak_rss_mb_train": tmem, "seeds": ev[0]["n"]})
    t.notes.append("peak memory: the run's own peak resident set (the count is reset when a run starts; where the "
                   "platform cannot, run.json's peak_rss_scope says 'process': an upper bound including earlier runs)")
    return t


# --- robustness, convergence, Pareto, grid --------------------------------------------------------


def _timelines(records: list[dict]) -> dict[str, dict[int, np.ndarray]]:
    """method → seed → [rounds, episodes] system utility per round."""
    out: dict[str, dict[int, np.ndarray]] = {}
    for r in records:
        path = Path(r["dir"]) / "timeline.json"
        if r["kind"] == "evaluate" and path.is_file():
            rows = json.loads(path.read_text())
            out.setdefault(r["method"], {})[r["seed"]] = np.array([row["system_utility"] for row in rows])
    return out


def _ma_back(x: np.ndarray, start: int, stop: int, target: float, window: int = 5, tol: float = 0.05):
    for t in range(max(start, window - 1), stop):
        if abs(x[t - window + 1:t + 1].mean() - target) <= tol * abs(target):
            return t - start
    return None


def robustness_stats(spec, records: list[dict]) -> dict[str, dict]:
    """Per method: the module docstring's robustness figures (means over seeds) and the series."""
    b0, b1 = spec.burst_round, spec.burst_round + spec.burst_rounds
    f0, f1 = spec.failure_round, spec.failure_round + spec.failure_rounds
    out = {}
    for name, seeds in _timelines(records).items():
        per: dict[str, list] = {k: [] for k in ("pre", "dip", "recovery_rounds", "failure_impact_pct", "fluct_mean",
                                                "fluct_std", "fluct_change_pct")}
        for x in seeds.values():
            m = x.mean(1)                                   # [rounds] mean over episodes
            pre = m[max(1, b0 - 20):b0].mean()
            fl = m[spec.fluctuation_round:]
            per["pre"].append(pre)
            per["dip"].append(m[b0:min(len(m), b1 + 20)].min())
            per["recovery_rounds"].append(_ma_back(m, b1, f0, pre))
            per["failure_impact_pct"].append((pre - m[f0:f1].mean()) / abs(pre) * 100)
            per["fluct_mean"].append(fl.mean())
            per["fluct_std"].append(fl.std())
            per["fluct_change_pct"].append((fl.mean() - pre) / abs(pre) * 100)
        stats = {k: aggregate([v for v in vs if v is not None]) for k, vs in per.items()}
        stats["censored"] = sum(v is None for v in per["recovery_rounds"])
        allx = np.concatenate(list(seeds.values()), 1)    # [rounds, seeds × episodes]
        agg = [aggregate(row.tolist()) for row in allx]
        stats["series"] = {"round": list(range(len(allx))), "mean": [a["mean"] for a in agg],
                           "lo": [a["ci95"][0] for a in agg], "hi": [a["ci95"][1] for a in agg]}
        out[name] = stats
    return out


def robustness(spec, records) -> Table:
    stats = robustness_stats(spec, records)
    t = Table("robustness", f"{spec.name}: burst at {spec.burst_round}, edge 1 down at {spec.failure_round}, "
              f"bandwidth swings from {spec.fluctuation_round} (mean ± std over seeds)",
              ["method", "utility before the burst", "dip", "recovery (rounds after the burst)", "failure impact",
               "utility under fluctuation", "change under fluctuation", PAPER_COL])
    claim = PAPER.get(spec.name, {}).get("claim", "—")
    for name in spec.methods:
        s = stats.get(name)
        if s is None:
            continue
        f = lambda k, d=3, s=s: f"{_fmt(s[k]['mean'], d)} ± {_fmt(s[k]['std'], d)}"  # noqa: E731
        rec = f("recovery_rounds", 1) + (f" ({s['censored']} not recovered)" if s["censored"] else "")
        t.rows.append([method(name).label, f("pre"), f("dip"), rec, f("failure_impact_pct", 1) + " %",
                       f("fluct_mean") + f" (σ over rounds {_fmt(s['fluct_std']['mean'])})",
                       f("fluct_change_pct", 1) + " %", claim if name == spec.methods[0] else "—"])
        t.raw.append({"method": name, **{f"{k}_{a}": s[k][a] for k in ("pre", "dip", "recovery_rounds",
                                                                      "failure_impact_pct", "fluct_mean", "fluct_std",
                                                                      "fluct_change_pct") for a in ("mean", "std")},
                      "not_recovered": s["censored"], "seeds": s["pre"]["n"]})
    t.notes.append("recovery: rounds from the burst's end until the trailing 5-round mean is within 5 % of the "
                   "pre-burst level; failure impact: (pre-burst level − mean while the node is down) ÷ pre-burst level")
    return t


def learning_curves(records: list[dict], column: str) -> dict[str, dict]:
    """method → {"x": rounds/steps, "values": [seeds, points]} from the train runs' metrics.csv.

    Seeds are aligned on the round/step, keeping the points every seed logged (a seed whose
    run logged an evaluation fewer, or more, does not shift the others)."""
    per: dict[str, list[dict[int, float]]] = {}
    for r in records:
        path = Path(r["dir"]) / "metrics.csv"
        if r["kind"] != "train" or not path.is_file():
            continue
        with open(path, newline="") as f:
            rows = [row for row in csv.DictReader(f) if row.get(column)]
        if rows:
            xkey = "round" if "round" in rows[0] else "step"
            per.setdefault(r["method"], []).append({int(float(row[xkey])): float(row[column]) for row in rows})
    out = {}
    for name, seeds in per.items():
        x = sorted(set.intersection(*(set(s) for s in seeds)))
        if x:
            out[name] = {"x": x, "values": [[s[i] for i in x] for s in seeds]}
    return out


def convergence(spec, records, cells) -> Table:
    t = Table("convergence", f"{spec.name}: MADDPG's training curve (evaluation every {spec.eval_every_rounds} rounds)",
              ["method", "rounds to converge", "final evaluation utility", "final utilisation", "seeds", PAPER_COL])
    for name in spec.methods:
        if method(name).algo is None:
            continue
        util = learning_curves([r for r in records if r["method"] == name], "eval/system_utility").get(name)
        usage = learning_curves([r for r in records if r["method"] == name], "eval/utilisation").get(name)
        if not util:
            continue
        x, conv, final = util["x"], [], []
        for v in util["values"]:
            end = float(np.mean(v[-3:]))
            final.append(end)
            ok = [abs(a - end) <= 0.05 * abs(end) for a in v]
            first = next((i for i in range(len(ok)) if all(ok[i:])), None)
            conv.append(x[first] if first is not None else None)
        c = aggregate([float(v) for v in conv if v is not None])
        fu = aggregate(final)
        uu = aggregate([float(np.mean(v[-3:])) for v in usage["values"]]) if usage else {"mean": None, "std": None}
        t.rows.append([method(name).label, f"{_fmt(c['mean'], 0)} ± {_fmt(c['std'], 0)}",
                       f"{_fmt(fu['mean'])} ± {_fmt(fu['std'])}", f"{_fmt(uu['mean'])} ± {_fmt(uu['std'])}",
                       str(len(conv)), PAPER.get(spec.name, {}).get("claim", "—")])
        t.raw.append({"method": name, "rounds_to_converge_mean": c["mean"], "rounds_to_converge_std": c["std"],
                      "final_utility_mean": fu["mean"], "final_utilisation_mean": uu["mean"], "seeds": len(conv)})
    t.notes.append("rounds to converge: the first evaluation from which the evaluation utility stays within 5 % "
                   "of its final value (mean of the last three evaluations)")
    return t


def pareto(spec, cells) -> Table:
    t = Table("pareto", f"{spec.name}: the Gini-constrained LP frontier and the learned point",
              ["method", "utility", "Gini of income", "share of the best frontier utility at ≤ its Gini",
               "Gini bound infeasible (share of countries × steps)", PAPER_COL])
    g = next(iter({g for g, _ in cells}), ())
    front = []
    for name in _methods(spec):
        c = cells.get((g, name), {})
        if "utility" in c:
            relaxed = aggregate(list(c["gini_bound_relaxed"].values()))["mean"] if "gini_bound_relaxed" in c else None
            front.append((name, aggregate(list(c["utility"].values())), aggregate(list(c["gini"].values())), relaxed))
    lps = [(u["mean"], gi["mean"]) for n, u, gi, _ in front if n.startswith("pareto:") or n == "lp"]
    for name, u, gi, relaxed in front:
        best = max((bu for bu, bg in lps if bg <= gi["mean"] + 1e-9), default=None)
        share = u["mean"] / best * 100 if best else None
        t.rows.append([method(name).label, f"{_fmt(u['mean'])} ± {_fmt(u['std'])}",
                       f"{_fmt(gi['mean'])} ± {_fmt(gi['std'])}", f"{_fmt(share, 1)} %" if share else "n/a",
                       f"{relaxed * 100:.0f} %" if relaxed is not None else "—",
                       PAPER.get(spec.name, {}).get("claim", "—") if name == spec.methods[0] else "—"])
        t.raw.append({"method": name, "utility_mean": u["mean"], "utility_std": u["std"], "gini_mean": gi["mean"],
                      "gini_std": gi["std"], "share_of_frontier_pct": share, "gini_bound_relaxed_share": relaxed})
    t.notes.append("a Gini bound below what the government's fairest choice reaches in a country cannot be met "
                   "there; the planner then bounds that country at its fairest choice (counted as infeasible)")
    return t


def grid(spec, records, cells) -> Table:
    configs = spec.configs()
    t = Table("grid", f"{spec.name}: eqmarl per configuration, ranked by utility",
              ["rank", "configuration", "utility", "Gini", "convergence step", "seeds"])
    ranked = []
    for (g, _name), c in cells.items():
        i = dict(g).get("config")
        if i is None or "utility" not in c:
            continue
        ranked.append((aggregate(list(c["utility"].values())), i, c))
    ranked.sort(key=lambda z: -z[0]["mean"])
    for rank, (u, i, c) in enumerate(ranked, 1):
        gi = aggregate(list(c.get("gini", {}).values()))
        cs = aggregate([float(v) for v in c.get("convergence_step", {}).values()])
        hp = ", ".join(f"{k}={v}" for k, v in configs[i].items())
        t.rows.append([str(rank), hp, f"{_fmt(u['mean'])} ± {_fmt(u['std'])}", f"{_fmt(gi['mean'])}",
                       _fmt(cs["mean"], 0), str(u["n"])])
        t.raw.append({"rank": rank, **configs[i], "utility_mean": u["mean"], "utility_std": u["std"],
                      "gini_mean": gi["mean"], "convergence_step_mean": cs["mean"], "seeds": u["n"]})
    t.notes.append(f"the best configuration per metric: {spec.name}-grid-best")
    t.notes.append(f"{PAPER_COL}: {PAPER.get(spec.name, {}).get('claim', '—')}")
    return t


# what "best" means per metric of a grid: higher (+1) or lower (-1) is better
GRID_BEST = {"utility": 1, "welfare_per_country": 1, "gini": -1, "nash_conv": -1, "converged": 1,
             "convergence_step": -1, "policy_stability": -1, "train_wall_s": -1}


def grid_best(spec, cells) -> Table:
    """The best configuration per metric (seed 004 §3.3 selects one; which depends on the metric)."""
    configs = spec.configs()
    t = Table("grid-best", f"{spec.name}: best configuration per metric (mean over seeds)",
              ["metric", "best is", "configuration", "ours: mean ± std", "seeds", "configurations compared"])
    by_config = {dict(g).get("config"): c for (g, _name), c in cells.items() if dict(g).get("config") is not None}
    for metric, sign in GRID_BEST.items():
        scored = [(aggregate(list(c[metric].values())), i) for i, c in sorted(by_config.items()) if c.get(metric)]
        if not scored:
            continue
        a, i = max(scored, key=lambda z: sign * z[0]["mean"])  # ties: the first configuration
        label = ECON_METRICS.get(metric, "training s" if metric == "train_wall_s" else metric)
        hp = ", ".join(f"{k}={v}" for k, v in configs[i].items())
        t.rows.append([label, "higher" if sign > 0 else "lower", f"{i}: {hp}", f"{_fmt(a['mean'])} ± {_fmt(a['std'])}",
                       str(a["n"]), str(len(scored))])
        t.raw.append({"metric": metric, "higher_is_better": sign > 0, "config": i, **configs[i], "mean": a["mean"],
                      "std": a["std"], "seeds": a["n"], "configurations": len(scored)})
    t.notes.append(f"{PAPER_COL}: {PAPER.get(spec.name, {}).get('claim', '—')}")
    return t


def make_tables(spec, records: list[dict]) -> list[Table]:
    cells = per_seed(records, spec)
    metrics = EDGE_METRICS if spec.scenario == "edge" else ECON_METRICS
    if spec.name == "econ-grid":
        return [grid(spec, records, cells), grid_best(spec, cells), cost(spec, cells)]
    tables = [comparison(spec, cells, metrics)]
    if spec.name == "edge-robustness":
        tables.append(robustness(spec, records))
    if spec.name in ("edge-convergence", "edge-table1"):
        tables.append(convergence(spec, records, cells))
    if spec.name == "econ-pareto":
        tables.append(pareto(spec, cells))
    imp = improvement(spec, cells)
    if imp is not None and imp.rows:
        tables.append(imp)
    return [*tables, cost(spec, cells)]


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tables(spec, tables: list[Table], table_dir: Path) -> list[tuple[str, Path, Path]]:
    out = []
    for t in tables:
        md, cs = table_dir / f"{spec.name}-{t.name}.md", table_dir / f"{spec.name}-{t.name}.csv"
        atomic_write(md, t.markdown())
        atomic_write(cs, t.csv_text())
        out.append((t.title, md, cs))
    return out


__all__ = ["PAPER_COL", "Table", "atomic_write", "learning_curves", "load_records", "make_tables", "per_seed",
           "robustness_stats", "write_tables"]
