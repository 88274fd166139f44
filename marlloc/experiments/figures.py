"""Figures of the seeds' experiments, drawn from the run folders (matplotlib, Agg, PNG).

:func:`make_figures` draws what a spec's runs allow and returns ``[(title, png path)]``; a figure
whose data is absent (a spec without a learner, a training too short to log Δπ) is skipped,
never drawn empty. Every figure is ours — its title says "our simulator" — and the papers'
numbers never appear in one (they live in the tables' own column).

Aggregation follows :mod:`marlloc.experiments.tables`: the unit is the seed (an evaluation run's
value is its mean over episodes); lines are means over seeds and bands / error bars the 95 %
Student-t CI of the mean over seeds, drawn only when there are at least two seeds. The
robustness timeline is the exception: its band is over seeds × episodes, as
:func:`~marlloc.experiments.tables.robustness_stats` computes it.

================================  ===============================================================
spec                              figures (``<spec>-<kind>.png``)
================================  ===============================================================
edge-convergence, edge-table1     ``curves``: MADDPG's evaluation utility, QoE and utilisation vs
                                  training round, baselines as dashed lines (seed 000 Fig. 2)
edge-scalability                  ``scaling``: system utility vs users per method (Fig. 3)
edge-scale-beyond                 ``scaling``, and ``eval-time``: evaluation seconds per round vs
                                  users (log-log)
edge-robustness                   ``timeline``: utility per round with the events and the recovery
                                  time, whole episode and around the burst (Fig. 4a/b)
econ-comparison, -ablation,       ``bars``: utility and Gini per method (seed 004 Fig. 3);
-summary                          ``training``: metrics vs training step (Figs. 5–6); ``delta-pi``:
                                  Δπ vs step, log y (Fig. 2); ``q-heatmap``: the firms' Q over
                                  visited states × output levels (Fig. 4)
econ-pareto                       ``pareto``: the Gini-constrained LP frontier, the LP and eqmarl
econ-grid                         ``grid``: utility per configuration, sorted
================================  ===============================================================
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

# The Agg canvas is attached per figure (no pyplot, no global backend switch), so drawing needs
# no display and importing this module never changes the backend of a notebook that imports it.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from marlloc.evaluation import aggregate
from marlloc.experiments.specs import EVAL_SEED, method
from marlloc.experiments.tables import atomic_write, learning_curves, per_seed, robustness_stats

DPI = 100
PANEL = (6.4, 4.2)  # inches per panel; a figure of c × r panels is (6.4c × 4.2r) · DPI pixels
OURS = "our simulator"

UTILITY = "system utility per round (reward units)"
EDGE_CURVES = {  # metrics.csv column → axis label (with units)
    "eval/system_utility": UTILITY,
    "eval/avg_qoe_norm": "average QoE, normalised (0–1)",
    "eval/utilisation": "utilisation (fraction of node capacity)",
}
ECON_UTILITY = "utility (mean reward per agent per step)"
ECON_GINI = "Gini of consumer income (0–1)"
HEAT_ROLE = "firm"
# The firms' own unit cost (c_f / A) is what separates their best outputs in the Cournot market
# (q* falls with c_f); sorting by it makes the Q landscape's structure visible as a gradient.
HEAT_FEATURE = "last_unit_cost"
HEAT_ROWS = 200  # at most this many states, evenly spread over the sorted ones (one pixel row each)


# --- helpers ------------------------------------------------------------------------------------


def _figure(ncols: int = 1, nrows: int = 1, width: float = 1.0) -> tuple[Figure, list]:
    fig = Figure(figsize=(PANEL[0] * ncols * width, PANEL[1] * nrows), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(nrows, ncols, squeeze=False).ravel())


def _save(fig: Figure, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    atomic_write(path, buf.getvalue())
    return path


def _title(fig: Figure, spec, what: str) -> None:
    fig.suptitle(f"{spec.name} — {OURS}\n{what}", fontsize=10)


def _label(name: str) -> str:
    return method(name).label or name


def _colours(spec) -> dict[str, str]:
    """One colour per method for every figure of a spec (the proposed method is C0)."""
    names = [*spec.methods, *(f"pareto:{g:g}" for g in getattr(spec, "gini_bounds", ()))]
    return {n: f"C{i % 10}" for i, n in enumerate(names)}


def _learned(spec) -> list[str]:
    return [m for m in spec.methods if method(m).algo]


def _band(values: list[list[float]]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Mean over seeds (axis 0) and the Student-t 95 % CI of the mean; no CI from one seed."""
    from scipy.special import stdtrit

    v = np.asarray(values, dtype=float)
    mean = v.mean(0)
    n = v.shape[0]
    if n < 2:
        return mean, None, None
    half = float(stdtrit(n - 1, 0.975)) * v.std(0, ddof=1) / math.sqrt(n)
    return mean, mean - half, mean + half


def _line(ax, x, values, colour: str, label: str, **kw) -> None:
    mean, lo, hi = _band(values)
    ax.plot(x, mean, color=colour, label=f"{label} (mean of {len(values)} seeds)", **kw)
    if lo is not None:
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, linewidth=0)


def _seed_note(ax, n: int, band: str = "95 % CI over seeds (Student t)") -> None:
    """Adds the band's meaning to the legend once, as an empty patch."""
    if n >= 2:
        ax.fill_between([], [], [], color="grey", alpha=0.2, label=f"band: {band}")


def _steps_axis(ax, label: str) -> None:
    ax.set_xlabel(label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no step 52.5 on short runs


def _agg(values: dict[int, float]) -> dict:
    return aggregate([float(v) for v in values.values() if v is not None])


def _err(agg: dict) -> tuple[float, float]:
    """Asymmetric error-bar lengths of a CI (zero with one seed)."""
    lo, hi = agg["ci95"]
    return agg["mean"] - lo, hi - agg["mean"]


def _xy_err(agg: dict) -> np.ndarray:
    return np.array(_err(agg)).reshape(2, 1)


def _nseeds(cells, key_metric: str) -> int:
    return max((len(c.get(key_metric, {})) for c in cells.values()), default=0)


# --- seed 000: edge market ----------------------------------------------------------------------


def edge_curves(spec, records: list[dict], path: Path) -> Path | None:
    """MADDPG's periodic evaluation during training, baselines' evaluation as flat references."""
    learned = _learned(spec)
    curves = {c: learning_curves([r for r in records if r["method"] in learned], c) for c in EDGE_CURVES}
    if not any(curves.values()):
        return None
    cells = per_seed(records, spec)
    colour = _colours(spec)
    fig, axes = _figure(len(EDGE_CURVES))
    for ax, (col, ylabel) in zip(axes, EDGE_CURVES.items(), strict=True):
        n = 0
        for name, cur in curves[col].items():
            _line(ax, cur["x"], cur["values"], colour[name], _label(name), marker=".")
            n = max(n, len(cur["values"]))
        metric = col.removeprefix("eval/")
        for name in spec.methods:
            if name in learned:
                continue
            vals = next((c[metric] for (_, m), c in cells.items() if m == name and metric in c), None)
            a = _agg(vals or {})
            if a["mean"] is not None:
                ax.axhline(a["mean"], color=colour[name], linestyle="--",
                           label=f"{_label(name)}: evaluation, mean of {a['n']} seeds")
        _seed_note(ax, n)
        _steps_axis(ax, "training round")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _title(fig, spec, "training curves of the learned method, evaluation every "
           f"{spec.eval_every_rounds} rounds (cf. seed 000 Fig. 2)")
    return _save(fig, path)


def _by_users(cells, metric: str) -> dict[str, list[tuple[int, dict]]]:
    """method → [(users, aggregate over seeds)] sorted by users."""
    out: dict[str, list] = {}
    for (g, name), c in cells.items():
        users = dict(g).get("users")
        a = _agg(c.get(metric, {}))
        if users is not None and a["mean"] is not None:
            out.setdefault(name, []).append((users, a))
    return {k: sorted(v, key=lambda z: z[0]) for k, v in out.items()}


def _users_plot(ax, spec, series: dict[str, list[tuple[int, dict]]], log: bool = False) -> None:
    colour = _colours(spec)
    for name in spec.methods:
        pts = series.get(name)
        if not pts:
            continue
        x = [u for u, _ in pts]
        mean = np.array([a["mean"] for _, a in pts])
        ax.plot(x, mean, marker="o", color=colour[name], label=_label(name))
        if max(a["n"] for _, a in pts) >= 2:
            lo = np.array([a["ci95"][0] for _, a in pts])
            if log:  # a log axis cannot show a CI reaching below zero: clip it at a tenth of the mean
                lo = np.maximum(lo, mean / 10)
            ax.fill_between(x, lo, [a["ci95"][1] for _, a in pts], color=colour[name], alpha=0.2, linewidth=0)
    ax.set_xlabel("users (agents)")
    ax.grid(alpha=0.3)


def edge_scaling(spec, records: list[dict], path: Path) -> Path | None:
    cells = per_seed(records, spec)
    series = _by_users(cells, "system_utility")
    if not series:
        return None
    fig, (ax,) = _figure()
    _users_plot(ax, spec, series)
    _seed_note(ax, _nseeds(cells, "system_utility"))
    ax.set_ylabel(UTILITY)
    ax.legend(fontsize=8)
    trained = f"; MADDPG trained at {spec.train_users} users" if hasattr(spec, "train_users") else ""
    _title(fig, spec, f"system utility vs users (cf. seed 000 Fig. 3){trained}")
    return _save(fig, path)


def edge_eval_time(spec, records: list[dict], path: Path) -> Path | None:
    """Evaluation cost per round: the episodes of a seed run side by side, so this is the cost of
    one round of a batch of ``spec.episodes`` markets (decisions plus environment step)."""
    cells = per_seed(records, spec)
    per_round = {k: {s: v / spec.episode_rounds for s, v in c.get("eval_wall_s", {}).items()}
                 for k, c in cells.items()}
    series = _by_users({k: {"t": v} for k, v in per_round.items()}, "t")
    if not series:
        return None
    fig, (ax,) = _figure()
    _users_plot(ax, spec, series, log=True)
    _seed_note(ax, _nseeds(cells, "eval_wall_s"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    users = sorted({u for pts in series.values() for u, _ in pts})
    ax.set_xticks(users, [str(u) for u in users])
    ax.tick_params(axis="x", which="minor", bottom=False, labelbottom=False)
    ax.set_ylabel(f"evaluation wall time per round (s, {spec.episodes} episode(s) batched)")
    ax.legend(fontsize=8)
    _title(fig, spec, "evaluation cost vs users (log-log, this machine)")
    return _save(fig, path)


def _mean_of(stat) -> float | None:
    """A robustness statistic as a number: aggregates carry it under "mean"."""
    v = stat.get("mean") if isinstance(stat, dict) else stat
    return None if v is None or not math.isfinite(v) else float(v)


def edge_timeline(spec, records: list[dict], path: Path) -> Path | None:
    stats = robustness_stats(spec, records)
    if not stats:
        return None
    colour = _colours(spec)
    b0, b1 = spec.burst_round, spec.burst_round + spec.burst_rounds
    f0, f1 = spec.failure_round, spec.failure_round + spec.failure_rounds
    fig, axes = _figure(2)
    fig.set_figheight(PANEL[1] * 1.25)  # room for the shared legend below the panels
    for k, ax in enumerate(axes):
        ax.axvspan(b0, b1, color="tab:orange", alpha=0.12, label=f"burst: arrivals ×{spec.burst_factor:g}")
        ax.axvspan(f0, f1, color="tab:red", alpha=0.10, label="edge 1 down")
        ax.axvline(spec.fluctuation_round, color="tab:purple", linestyle=":", label="bandwidth fluctuates from here")
        for name in spec.methods:
            s = stats.get(name)
            if s is None:
                continue
            ser = s["series"]
            x = np.array(ser["round"])
            ax.plot(x, _nan(ser["mean"]), color=colour[name], label=_label(name), linewidth=1.2)
            ax.fill_between(x, _nan(ser["lo"]), _nan(ser["hi"]), color=colour[name], alpha=0.15, linewidth=0)
            if k == 1:
                _recovery_arrow(ax, s, b1, colour[name], name)
        ax.set_xlabel("round of the evaluation episode")
        ax.set_ylabel(UTILITY)
        ax.grid(alpha=0.3)
    axes[1].set_xlim(max(0, b0 - 20), f0)
    axes[1].plot([], [], color="grey", linestyle=":", label="pre-burst level (20 rounds before)")
    axes[1].fill_between([], [], [], color="grey", alpha=0.2, label="band: 95 % CI over seeds × episodes")
    axes[1].text(0.99, 0.99, _recovery_text(spec, stats), transform=axes[1].transAxes, ha="right", va="top", ma="left",
                 fontsize=7, bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85})
    axes[0].set_title("(a) the whole episode", fontsize=9)
    axes[1].set_title("(b) around the burst, with the recovery time", fontsize=9)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7)
    _title(fig, spec, "system utility per round under a burst, a node failure and bandwidth swings "
           "(cf. seed 000 Fig. 4a/b)")
    return _save(fig, path)


def _nan(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _recovery_arrow(ax, s: dict, burst_end: int, colour: str, name: str) -> None:
    """The pre-burst level and, when it is reached again, an arrow spanning the recovery."""
    pre, rec = _mean_of(s["pre"]), _mean_of(s["recovery_rounds"])
    if pre is None:
        return
    ax.axhline(pre, color=colour, linestyle=":", linewidth=0.8)
    if rec is not None:
        ax.annotate("", xy=(burst_end + rec, pre), xytext=(burst_end, pre),
                    arrowprops={"arrowstyle": "<->", "color": colour, "linewidth": 1.5})


def _recovery_text(spec, stats: dict) -> str:
    lines = ["recovery after the burst ends (rounds,", "mean over seeds; 5-round mean within 5 %):"]
    for name in spec.methods:
        s = stats.get(name)
        if s is None:
            continue
        rec = _mean_of(s["recovery_rounds"])
        censored = s.get("censored") or 0
        if rec is None:
            lines.append(f"{_label(name)}: not back before the failure")
        else:
            lines.append(f"{_label(name)}: {rec:.1f}" + (f" ({censored} seed(s) not back)" if censored else ""))
    return "\n".join(lines)


# --- seed 004: economy --------------------------------------------------------------------------


def econ_bars(spec, records: list[dict], path: Path) -> Path | None:
    cells = per_seed(records, spec)
    names = [n for n in spec.methods if cells.get(((), n), {}).get("utility")]
    if not names:
        return None
    colour = _colours(spec)
    fig, axes = _figure(2)
    fig.set_figheight(PANEL[1] * 1.2)
    for ax, (metric, ylabel) in zip(axes, (("utility", ECON_UTILITY), ("gini", ECON_GINI)), strict=True):
        aggs = [_agg(cells[((), n)].get(metric, {})) for n in names]
        x = np.arange(len(names))
        ok = [a["mean"] is not None for a in aggs]
        for i, (n, a) in enumerate(zip(names, aggs, strict=True)):
            if not ok[i]:
                continue
            lo, hi = _err(a)
            ax.bar(i, a["mean"], color=colour[n], label=f"{_label(n)} ({a['n']} seeds)",
                   yerr=[[lo], [hi]] if a["n"] >= 2 else None, capsize=4, ecolor="black")
        ax.set_xticks(x, [_label(n) for n in names], rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    n = _nseeds(cells, "utility")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(names), 5), fontsize=7,
               title="bar: mean over seeds; error bar: 95 % CI over seeds (Student t)" if n >= 2 else None,
               title_fontsize=7)
    axes[0].set_title("utility (higher is better)", fontsize=9)
    axes[1].set_title("inequality (lower is fairer)", fontsize=9)
    _title(fig, spec, "utility and Gini by method, evaluation (cf. seed 004 Fig. 3)")
    return _save(fig, path)


# The learners log no periodic greedy evaluation yet; these are the first present column per panel,
# so an eval/* column is preferred the moment it exists and the training-time figure is shown otherwise.
TRAIN_PANELS = (
    (("eval/utility", "eval/economy/utility", "train/reward"),
     {"eval/utility": ECON_UTILITY + ", greedy evaluation", "eval/economy/utility": ECON_UTILITY
      + ", greedy evaluation", "train/reward": "training reward per agent per step (exploring)"}),
    (("eval/gini", "eval/economy/gini"), {"eval/gini": ECON_GINI, "eval/economy/gini": ECON_GINI}),
    (("eq/nash_conv",), {"eq/nash_conv": "Q-game NashConv (reward ÷ role scale)"}),
)


def _smooth(values: list[list[float]], x: list[int], window: int) -> tuple[list[int], list[list[float]]]:
    """Trailing moving mean: per-step training rewards swing with every episode's countries."""
    if window <= 1:
        return x, values
    k = np.ones(window) / window
    return x[window - 1:], [np.convolve(v, k, mode="valid").tolist() for v in values]


def econ_training(spec, records: list[dict], path: Path) -> Path | None:
    learned = _learned(spec)
    panels = []
    for cols, labels in TRAIN_PANELS:
        for col in cols:
            cur = learning_curves([r for r in records if r["method"] in learned], col)
            if cur:
                panels.append((col, labels[col], cur))
                break
    if not panels:
        return None
    colour = _colours(spec)
    fig, axes = _figure(len(panels))
    for ax, (col, ylabel, cur) in zip(axes, panels, strict=True):
        n = 0
        for name in learned:
            if name not in cur:
                continue
            x, vals = cur[name]["x"], cur[name]["values"]
            # eval/* columns are periodic checks; every other column is logged per step and noisy
            window = 1 if col.startswith("eval/") else max(1, len(x) // 50)
            x, vals = _smooth(vals, x, window)
            _line(ax, x, vals, colour[name], _label(name))
            n = max(n, len(vals))
        _seed_note(ax, n)
        _steps_axis(ax, "training step")
        ax.set_ylabel(ylabel)
        if window > 1:
            ax.set_title(f"trailing moving mean over {window} steps", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _title(fig, spec, "metrics over training (cf. seed 004 Figs. 5–6)")
    return _save(fig, path)


def econ_delta_pi(spec, records: list[dict], path: Path) -> Path | None:
    learned = _learned(spec)
    cur = learning_curves([r for r in records if r["method"] in learned], "charts/delta_pi")
    if not cur:
        return None
    colour = _colours(spec)
    fig, (ax,) = _figure()
    eps = _converge_eps(records, learned)
    for name in learned:
        if name not in cur:
            continue
        mean, lo, hi = _band(cur[name]["values"])
        x = cur[name]["x"]
        ax.plot(x, mean, color=colour[name], marker=".", label=f"{_label(name)} (mean of "
                f"{len(cur[name]['values'])} seeds)")
        if lo is not None:  # a log axis cannot show a CI reaching below zero: clip at a tenth of the mean
            ax.fill_between(x, np.maximum(lo, mean / 10), hi, color=colour[name], alpha=0.2, linewidth=0)
        steps = [r["convergence"]["step"] for r in records if r["kind"] == "train" and r["method"] == name
                 and (r.get("convergence") or {}).get("step") is not None]
        if steps:
            ax.axvline(float(np.mean(steps)), color=colour[name], linestyle=":",
                       label=f"{_label(name)}: converged at step {np.mean(steps):.0f} (mean of {len(steps)})")
    if eps is not None:
        ax.axhline(eps, color="black", linestyle="--", linewidth=0.8, label=f"threshold ε = {eps:g}")
    _seed_note(ax, max(len(c["values"]) for c in cur.values()))
    ax.set_yscale("log")
    _steps_axis(ax, "training step")
    ax.set_ylabel("Δπ: mean ‖π(t) − π(t − check)‖₂ over the probe states")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    _title(fig, spec, "policy change per check (cf. seed 004 Fig. 2)")
    return _save(fig, path)


def _converge_eps(records: list[dict], learned: list[str]) -> float | None:
    for r in records:
        cfg = Path(r["dir"]) / "config.json"
        if r["kind"] == "train" and r["method"] in learned and cfg.is_file():
            return json.loads(cfg.read_text()).get("algo_config", {}).get("converge_eps")
    return None


def q_values(record: dict) -> dict | None:
    """Q of the firm role over the states of one greedy evaluation episode, from a train run's
    checkpoint: ``{"q": [states, levels], "feature": [states], "argmax", "policy", "name"}``."""
    ck_path = Path(record["dir"]) / "checkpoints" / "last.pt"
    if not ck_path.is_file():
        return None
    import torch

    from marlloc.envs import make
    from marlloc.policies.economy import Learned

    env = make("economy_v0", **record["env"])
    policy = Learned(env, str(ck_path))   # the evaluation's own way from a checkpoint to a learner
    learner = policy.learner
    ck = torch.load(ck_path, weights_only=True, map_location=env.device)
    # the target network is what the learner's stage game and advantages read (the Polyak
    # average; the online Q jitters with every SGD step)
    learner.q_targ.load_state_dict(ck["learner"]["q_targ"])
    scale = float(ck["learner"]["scale"][HEAT_ROLE])  # Q learns rewards ÷ scale; × scale = reward units
    grid = learner.grids[HEAT_ROLE]
    if len(grid.components) != 1:
        return None
    feat = env.roles[HEAT_ROLE].obs_names.index(HEAT_FEATURE)
    obs, qs, acts = [], [], []
    step = env.reset(n_envs=1, seed=EVAL_SEED + record["seed"])  # the evaluation runs' countries
    with torch.no_grad():
        while True:
            actions = policy(step)
            abar = learner.mean_field(learner.levels_of(actions))[HEAT_ROLE]
            qs.append(learner.q_targ[HEAT_ROLE](step.obs[HEAT_ROLE], abar, grid.basis)[0] * scale)
            obs.append(step.obs[HEAT_ROLE][0, :, feat])
            acts.append(actions[HEAT_ROLE][grid.components[0]][0])
            step = env.step(actions, check=False)
            if bool((step.truncated | step.terminated).all()):
                break
    q, f, a = torch.cat(qs).numpy(), torch.cat(obs).numpy(), torch.cat(acts).numpy()
    order = np.argsort(f, kind="stable")
    order = order[np.unique(np.linspace(0, len(order) - 1, min(len(order), HEAT_ROWS)).round().astype(int))]
    return {"q": q[order], "feature": f[order], "argmax": q[order].argmax(1), "policy": a[order],
            "component": grid.components[0], "levels": grid.sizes[0]}


def econ_q_heatmap(spec, records: list[dict], path: Path) -> Path | None:
    trains = sorted((r for r in records if r["kind"] == "train" and r["method"] == "eqmarl"), key=lambda r: r["seed"])
    data = q_values(trains[0]) if trains else None
    if data is None:
        return None
    fig, (ax,) = _figure(width=1.4)
    rows = np.arange(len(data["q"]))
    im = ax.imshow(data["q"], aspect="auto", origin="lower", interpolation="nearest", cmap="viridis",
                   extent=(-0.5, data["levels"] - 0.5, -0.5, len(rows) - 0.5))
    fig.colorbar(im, ax=ax, label="Q(s, ā, a): discounted return, reward units")
    ax.plot(data["argmax"], rows, "w.", markersize=3, label="argmax_a Q (best response under Q)")
    ax.plot(data["policy"], rows, "r|", markersize=4, label="greedy policy's level")
    ticks = np.unique(np.linspace(0, len(rows) - 1, 6).round().astype(int))
    ax.set_yticks(ticks, [f"{data['feature'][t]:.3g}" for t in ticks])
    ax.set_xticks(range(data["levels"]))
    ax.set_xlabel(f"{HEAT_ROLE} action '{data['component']}' (level k: output request k/(K−1) of capacity ÷ firms)")
    ax.set_ylabel(f"visited {HEAT_ROLE} states, sorted by {HEAT_FEATURE} (c_f / A)")
    ax.legend(fontsize=7, loc="upper right", framealpha=0.8)
    _title(fig, spec, f"eqmarl's target Q over {len(rows)} states of one evaluation episode, seed "
           f"{trains[0]['seed']} (cf. seed 004 Fig. 4)")
    return _save(fig, path)


def econ_pareto(spec, records: list[dict], path: Path) -> Path | None:
    cells = per_seed(records, spec)
    pts = {n: (_agg(c.get("gini", {})), _agg(c.get("utility", {}))) for (_, n), c in cells.items()}
    pts = {n: p for n, p in pts.items() if p[0]["mean"] is not None and p[1]["mean"] is not None}
    front = sorted(((float(n.partition(":")[2]), *pts[n]) for n in pts if n.startswith("pareto:")),
                   key=lambda z: z[0])
    if not front:
        return None
    colour = _colours(spec)
    fig, (ax,) = _figure(width=1.3)
    for name, marker in (("lp", "s"), ("eqmarl", "*")):
        if name in pts:
            g, u = pts[name]
            ax.errorbar(g["mean"], u["mean"], xerr=_xy_err(g), yerr=_xy_err(u), fmt=marker, capsize=3,
                        markersize=14 if marker == "*" else 10, color=colour.get(name, "black"), label=_label(name))
    # the frontier on top: an unbinding bound gives the unconstrained LP's point, which would hide it
    ax.plot([g["mean"] for _, g, _ in front], [u["mean"] for _, _, u in front], color="grey", linewidth=1,
            zorder=3, label="Gini-constrained LP frontier")
    for bound, g, u in front:
        ax.errorbar(g["mean"], u["mean"], xerr=_xy_err(g), yerr=_xy_err(u), fmt="o", markersize=5, capsize=3,
                    zorder=4, color=colour.get(f"pareto:{bound:g}", "grey"), label=f"LP, Gini ≤ {bound:g}")
    ax.set_xlabel(ECON_GINI)
    ax.set_ylabel(ECON_UTILITY)
    ax.grid(alpha=0.3)
    n = _nseeds(cells, "utility")
    ax.legend(fontsize=7, title=f"error bars: 95 % CI over {n} seeds" if n >= 2 else None, title_fontsize=7)
    _title(fig, spec, "utility vs inequality: the Pareto LP frontier and the learned point (cf. seed 004 §5.6)")
    return _save(fig, path)


GRID_SHOWN = 40  # bars beyond this are unreadable; the best ones are shown (the table has all)


def econ_grid(spec, records: list[dict], path: Path) -> Path | None:
    cells = per_seed(records, spec)
    configs = spec.configs()
    ranked = [(_agg(c.get("utility", {})), dict(g)["config"]) for (g, _), c in cells.items() if "config" in dict(g)]
    ranked = sorted((z for z in ranked if z[0]["mean"] is not None), key=lambda z: -z[0]["mean"])
    if not ranked:
        return None
    shown = ranked[:GRID_SHOWN]
    fig = Figure(figsize=(PANEL[0] * 1.5, max(PANEL[1], 0.3 * len(shown) + 1.5)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = np.arange(len(shown))[::-1]  # best on top
    multi = any(a["n"] >= 2 for a, _ in shown)
    ax.barh(y, [a["mean"] for a, _ in shown], xerr=np.array([_err(a) for a, _ in shown]).T if multi else None,
            color=["C0" if k else "C1" for k in range(len(shown))], capsize=3, ecolor="black")
    ax.set_yticks(y, [f"#{i}: " + ", ".join(f"{k}={v:g}" for k, v in configs[i].items()) for _, i in shown],
                  fontsize=7)
    ax.bar(0, 0, color="C1", label="best configuration")
    ax.bar(0, 0, color="C0", label="other configurations")
    if multi:
        ax.errorbar([], [], xerr=[], color="black", label=f"95 % CI over {_nseeds(cells, 'utility')} seeds")
    ax.set_xlabel(ECON_UTILITY)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    more = f", best {len(shown)} of {len(ranked)}" if len(ranked) > len(shown) else ""
    _title(fig, spec, f"eqmarl's utility per hyper-parameter configuration (cf. seed 004 §3.3{more})")
    return _save(fig, path)


# --- dispatch -----------------------------------------------------------------------------------


FIGURES = {
    "edge-convergence": (("curves", "training curves", edge_curves),),
    "edge-table1": (("curves", "training curves", edge_curves),),
    "edge-scalability": (("scaling", "system utility vs users", edge_scaling),),
    "edge-scale-beyond": (("scaling", "system utility vs users", edge_scaling),
                          ("eval-time", "evaluation wall time per round vs users", edge_eval_time)),
    "edge-robustness": (("timeline", "utility timeline under events", edge_timeline),),
    **{name: (("bars", "utility and Gini by method", econ_bars),
              ("training", "metrics over training", econ_training),
              ("delta-pi", "convergence: Δπ vs step", econ_delta_pi),
              ("q-heatmap", "Q-value heat map", econ_q_heatmap))
       for name in ("econ-comparison", "econ-summary", "econ-ablation")},
    "econ-pareto": (("pareto", "Pareto frontier", econ_pareto),),
    "econ-grid": (("grid", "utility per configuration", econ_grid),),
}
"""spec name → (file suffix, title, function(spec, records, path) → path or None when data is absent)."""


def make_figures(spec, records: list[dict], fig_dir: Path) -> list[tuple[str, Path]]:
    """Every figure of ``spec`` its ``records`` allow, as PNGs in ``fig_dir``: ``[(title, path)]``."""
    out = []
    for suffix, title, draw in FIGURES.get(spec.name, ()):
        path = draw(spec, records, Path(fig_dir) / f"{spec.name}-{suffix}.png")
        if path is not None:
            out.append((f"{spec.name}: {title}", path))
    return out


__all__ = ["DPI", "FIGURES", "PANEL", "make_figures", "q_values"]
