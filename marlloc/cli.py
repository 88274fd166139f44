"""The ``marlloc`` command: a thin shell over the library.

Every error a user can cause prints one line (``error: <rule>, got <value>; <fix>``) and exits
with code 2; ``--help`` works on every command.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from marlloc.core.config import check_out_dir, from_dict, to_dict
from marlloc.core.errors import ConfigError, MarllocError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Heterogeneous resource allocation with game-theoretic multi-agent RL.")

SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override a config field: --set arrival_prob=0.3 "
                                                   "(values parsed as JSON, else as text). Repeatable.")]
# rounds between the edge market's stage-game searches: keeps a 200-user evaluation within ~1.5× of its time without them
EDGE_NASH_EVERY = 25
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="JSON file of environment config fields.")]


def _parse_sets(items: list[str] | None, what: str) -> dict:
    out = {}
    for item in items or []:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"{what} must look like field=value, got {item!r}; e.g. {what} field=0.3")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def _overrides(config: Path | None, sets: list[str] | None) -> dict:
    out: dict = {}
    if config is not None:
        try:
            out.update(json.loads(config.read_text()))
        except FileNotFoundError:
            raise ConfigError(f"--config must name an existing JSON file, got {str(config)!r}; check the path") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"--config {config} is not valid JSON ({e.msg} at line {e.lineno}); fix the file") from None
    out.update(_parse_sets(sets, "--set"))
    return out


@contextlib.contextmanager
def _progress(description: str, total: int, note_of):
    """A progress bar over training steps; yields ``update(step, metrics_row)``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[note]}")) as bar:
        task = bar.add_task(description, total=total, note="")

        def update(n, row):
            note = note_of(row)
            bar.update(task, completed=n, **({"note": note} if note else {}))

        yield update


def _print_table(con, ev, skip: tuple[str, ...]) -> None:
    """Policies as columns, metrics as rows: mean ± half-width of the 95 % CI over episodes."""
    from rich.table import Table

    table = Table(title="mean ± half-width of the 95 % CI over episodes (our simulator)")
    table.add_column("metric")
    for name in ev.policies:
        table.add_column(name, justify="right")
    first = next(iter(ev.policies.values()))
    for k in [k for k, v in first.items() if isinstance(v, dict) and "mean" in v and k not in skip]:
        cells = []
        for agg in ev.policies.values():
            m, (lo, hi) = agg[k]["mean"], agg[k]["ci95"]
            cells.append("n/a" if m is None else f"{m:.3f} ± {(hi - lo) / 2:.3f}")
        table.add_row(k, *cells)
    table.add_row("wall_s", *(f"{agg['wall_s']:.1f}" for agg in ev.policies.values()))
    con.print(table)
    if "trained_br" in first:
        con.print("br_gain_lower_bound/ROLE: what a trained best response of that role's agent 0 gained, in its mean "
                  "reward per step over the episode: a lower bound on its deviation gain δ_i, not an estimate")


@app.command()
def evaluate(
    scenario: Annotated[str, typer.Option(help="Scenario: edge or economy.")] = "edge",
    users: Annotated[int, typer.Option(help="User agents N (edge).")] = 200,
    edges: Annotated[int, typer.Option(help="Edge servers (edge).")] = 5,
    rounds: Annotated[int, typer.Option(help="Rounds per episode (edge).")] = 200,
    policies: Annotated[str | None, typer.Option(help="Comma-separated policies. Edge (users): random, greedy, "
                                                 "sequential_greedy, optimum, maddpg:CKPT (default: the four "
                                                 "baselines). Economy: random, ncgt, lp, pareto[:G], eqmarl:CKPT, "
                                                 "sarl:CKPT (default: random,ncgt,lp,pareto).")] = None,
    pricing: Annotated[str, typer.Option(help="Providers' pricing (edge): fixed, cost_plus, random.")] = "fixed",
    episodes: Annotated[int, typer.Option(help="Episodes per seed (run side by side).")] = 5,
    seed: Annotated[int, typer.Option(help="First evaluation seed.")] = 0,
    n_seeds: Annotated[int, typer.Option("--seeds", help="Number of evaluation seeds (seed, seed+1, ...).")] = 1,
    out: Annotated[Path | None, typer.Option(help="Folder for summary.json and episodes.csv.")] = None,
    bound: Annotated[bool, typer.Option(help="Compute the per-round LP upper bound (edge).")] = True,
    countries: Annotated[int, typer.Option(help="Countries per economy (economy; ×10 agents).")] = 10,
    wdi: Annotated[str | None, typer.Option(help="World Bank data for the economy: a tidy CSV, a bulk folder or "
                                            "'live' (default: the embedded synthetic panel).")] = None,
    nash_every: Annotated[int | None, typer.Option(help="Rounds (edge) or steps (economy) between stage-game "
                                                   "NashConv / ε searches; 0 = off. Edge: default 25 (rounds 12, "
                                                   "37, …; about +40 % time at 200 users); economy: default 10 "
                                                   "(steps 0, 10, …).")] = None,
    br_iterations: Annotated[int, typer.Option(help="Train a best response for agent 0 of every role, against "
                                               "each policy (a lower bound on its deviation gain over whole "
                                               "episodes): REINFORCE batches of 8 episodes; 0 = off, try "
                                               "30.")] = 0,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Evaluate policies on fixed seeds; print a table, optionally write summary.json + episodes.csv."""
    from rich.console import Console

    from marlloc.envs import make
    from marlloc.evaluation import SCENARIOS, evaluate_economy, write
    from marlloc.evaluation import evaluate as run_evaluation

    if scenario not in SCENARIOS:
        raise ConfigError(f"--scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if n_seeds < 1:
        raise ConfigError(f"--seeds must be ≥ 1, got {n_seeds}; try --seeds 1")
    if out is not None:
        check_out_dir(out)  # before the evaluation, not after it
    con = Console(width=max(Console().width, 120))  # the table stays readable in narrow or captured output
    if scenario == "economy":
        overrides = {"n_countries": countries, **({"wdi": wdi} if wdi else {}), **_overrides(config, set_)}
        env = make("economy_v0", **overrides)
        con.print(f"economy_v0: {countries} countries × (1 government, {env.n_firms} firms, {env.n_households} "
                  f"consumer groups), {env.config.episode_steps} steps, data: {env.panel.source}, "
                  f"split {env.config.split}; {episodes} episodes × {n_seeds} seed(s) from {seed}")
        ev = evaluate_economy(policies or "random,ncgt,lp,pareto", overrides, episodes,
                              list(range(seed, seed + n_seeds)), 10 if nash_every is None else nash_every,
                              progress=lambda name, s: con.print(f"  done: {name}, seed {s}"),
                              br_iterations=br_iterations)
        _print_table(con, ev, skip=())
        if out is not None:
            summary, episodes_csv = write(ev, out)
            con.print(f"wrote {summary} and {episodes_csv}")
        return
    policies = policies or "random,greedy,sequential_greedy,optimum"
    nash_every = EDGE_NASH_EVERY if nash_every is None else nash_every
    overrides = {"n_users": users, "n_edges": edges, "episode_rounds": rounds, **_overrides(config, set_)}
    env = make(SCENARIOS[scenario], **overrides)  # validates the config before any run
    dem = env.steady_state_demand()
    ratio = (dem["edge_tier"] / dem["edge_capacity"]).tolist()
    con.print(f"{SCENARIOS[scenario]}: {env.n_users} users, {env.n_nodes} nodes (cloud + {env.n_nodes - 1} edges), "
              f"{rounds} rounds, {episodes} episodes × {n_seeds} seed(s) from {seed}, pricing {pricing}")
    con.print(f"steady state: {float(dem['arrivals_per_round']):.1f} tasks/round; edge-tier demand / edge capacity "
              f"(compute, storage, up, down) = " + ", ".join(f"{r:.2f}" for r in ratio))
    if isinstance(nash_every, int) and nash_every > 0:
        n_search = len(range(nash_every // 2, env.config.episode_rounds, nash_every))
        con.print(f"stage-game NashConv / ε: searched every {nash_every} rounds from round {nash_every // 2} "
                  f"({n_search} per episode; --nash-every 0 turns it off)")
    ev = run_evaluation(policies, SCENARIOS[scenario], overrides, episodes, list(range(seed, seed + n_seeds)),
                        pricing, bound=bound, progress=lambda name, s: con.print(f"  done: {name}, seed {s}"),
                        nash_every=nash_every, br_iterations=br_iterations)
    _print_table(con, ev, skip=("killed_tasks",))
    if out is not None:
        summary, episodes_csv = write(ev, out)
        con.print(f"wrote {summary} and {episodes_csv}")


@app.command()
def train(
    scenario: Annotated[str, typer.Option(help="Scenario: edge or economy.")] = "edge",
    algo: Annotated[str, typer.Option(help="Learner: maddpg (edge); eqmarl or sarl (economy).")] = "maddpg",
    steps: Annotated[int | None, typer.Option(help="Training steps (economy; default 3000).")] = None,
    countries: Annotated[int, typer.Option(help="Countries per economy (economy).")] = 10,
    wdi: Annotated[str | None, typer.Option(help="World Bank data for the economy (tidy CSV, bulk folder, "
                                            "'live'; default: the synthetic panel).")] = None,
    users: Annotated[int, typer.Option(help="User agents N.")] = 200,
    edges: Annotated[int, typer.Option(help="Edge servers.")] = 5,
    episode_rounds: Annotated[int, typer.Option(help="Rounds per training episode.")] = 200,
    rounds: Annotated[int | None, typer.Option(help="Training rounds (default 5000; with --resume: the run's own).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of everything in the run.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Run folder.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the run in this folder exactly where its last "
                                                "checkpoint left it.")] = None,
    critic: Annotated[str, typer.Option(help="pooled (N-independent), full (N ≤ 10) or local (IDDPG).")] = "pooled",
    eval_every: Annotated[int, typer.Option(help="Evaluate the greedy actors every this many rounds (economy: "
                                            "steps; 0 = never there).")] = 100,
    eval_episodes: Annotated[int, typer.Option(help="Episodes per periodic evaluation.")] = 2,
    final_episodes: Annotated[int, typer.Option(help="Episodes of the final evaluation (summary.json).")] = 5,
    checkpoint_every: Annotated[int, typer.Option(help="Checkpoint every this many rounds.")] = 500,
    tensorboard: Annotated[bool, typer.Option(help="Also log to DIR/tensorboard (needs tensorboard).")] = False,
    hp: Annotated[list[str] | None, typer.Option("--hp", help="Override a learner setting: --hp actor_lr=3e-4. "
                                                 "Repeatable.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train a learner on a scenario into a run folder (metrics.csv, checkpoints/, summary.json)."""
    from marlloc.algos import ALGOS, ECONOMY_ALGOS
    from marlloc.envs import make
    from marlloc.evaluation import SCENARIOS

    resumes_economy = (resume is not None and (resume / "config.json").is_file()
                       and json.loads((resume / "config.json").read_text()).get("algo") in ECONOMY_ALGOS)
    if scenario == "economy" or resumes_economy:
        _train_economy(algo, steps, countries, wdi, seed, out, resume, hp, config, set_, checkpoint_every,
                       final_episodes, eval_every)
        return
    if algo not in ALGOS:
        raise ConfigError(f"--algo must be one of {', '.join(ALGOS)}, got {algo!r}")
    if scenario not in SCENARIOS or scenario != "edge":
        raise ConfigError(f"--scenario must be edge for {algo}, got {scenario!r}")
    cfg_cls, train_fn = ALGOS[algo]
    if resume is not None:
        saved = resume / "config.json"
        if not saved.is_file():
            raise ConfigError(f"--resume must name a run folder with config.json, got {str(resume)!r}")
        run = json.loads(saved.read_text())
        algo_cfg = from_dict(cfg_cls, run["algo_config"])
        env_cfg, seed, out = run["env_config"], run["seed"], resume
        rounds = rounds if rounds is not None else run["rounds"]
        opts = run["run"]  # the run's own evaluation and checkpoint cadence
        eval_every, eval_episodes = opts["eval_every_rounds"], opts["eval_episodes"]
        checkpoint_every, final_episodes = opts["checkpoint_every_rounds"], opts["final_episodes"]
    else:
        if out is None:
            raise ConfigError("--out must name the run folder (or use --resume DIR); e.g. --out runs/maddpg-200")
        if (out / "checkpoints" / "last.pt").exists():
            raise ConfigError(f"{out} already holds a run; continue it with --resume {out} or pick another --out")
        fields = {f for f in cfg_cls.__dataclass_fields__}
        overrides = {"critic": critic, **_parse_sets(hp, "--hp")}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ConfigError(f"--hp field {unknown[0]!r} is not a {algo} setting; valid: {', '.join(sorted(fields))}")
        algo_cfg = from_dict(cfg_cls, overrides)
        env_cfg = to_dict(make(SCENARIOS[scenario], **{"n_users": users, "n_edges": edges,
                                                       "episode_rounds": episode_rounds,
                                                       **_overrides(config, set_)}).config)
        rounds = 5000 if rounds is None else rounds
    note = lambda row: f"eval utility {row['eval/system_utility']:.3f}" if "eval/system_utility" in row else None  # noqa: E731
    with _progress(f"{algo} on {scenario}", rounds, note) as progress:
        summary = train_fn(algo_cfg, env_cfg, rounds, seed, out, eval_every_rounds=eval_every,
                           eval_episodes=eval_episodes, checkpoint_every_rounds=checkpoint_every,
                           resume=resume is not None, final_episodes=final_episodes, tensorboard=tensorboard,
                           progress=progress)
    m = summary["policies"][algo]
    typer.echo(f"{algo}: system utility {m['system_utility']['mean']:.3f}, "
               f"utility / LP bound {m['utility_vs_bound']['mean']:.3f}, avg QoE {m['avg_qoe']['mean']:.3f}; "
               f"run folder {out}")


def _train_economy(algo, steps, countries, wdi, seed, out, resume, hp, config, set_, checkpoint_every,
                   final_episodes, eval_every) -> None:
    """``marlloc train --scenario economy``: eqmarl or sarl into a run folder (same conventions as MADDPG)."""
    from marlloc.algos import ECONOMY_ALGOS
    from marlloc.algos.eqmarl import train as train_eqmarl
    from marlloc.envs import make

    if resume is not None:
        saved = resume / "config.json"
        if not saved.is_file():
            raise ConfigError(f"--resume must name a run folder with config.json, got {str(resume)!r}")
        run = json.loads(saved.read_text())
        algo, seed, out, env_cfg = run["algo"], run["seed"], resume, run["env_config"]
        cfg_cls = ECONOMY_ALGOS[algo][0]
        algo_cfg = from_dict(cfg_cls, run["algo_config"])
        steps = steps if steps is not None else run["steps"]
        opts = run["run"]
        final_episodes, checkpoint_every = opts["eval_episodes"], opts["checkpoint_every"]
        eval_every = opts.get("eval_rollout_every", 0)  # runs from before the periodic evaluation had none
    else:
        if algo not in ECONOMY_ALGOS:
            raise ConfigError(f"--algo must be one of {', '.join(ECONOMY_ALGOS)} for the economy, got {algo!r}")
        if out is None:
            raise ConfigError("--out must name the run folder (or use --resume DIR); e.g. --out runs/eqmarl")
        if (out / "checkpoints" / "last.pt").exists():
            raise ConfigError(f"{out} already holds a run; continue it with --resume {out} or pick another --out")
        cfg_cls, fixed = ECONOMY_ALGOS[algo]
        fields = set(cfg_cls.__dataclass_fields__)
        overrides = {**_parse_sets(hp, "--hp"), **fixed}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ConfigError(f"--hp field {unknown[0]!r} is not a {algo} setting; valid: {', '.join(sorted(fields))}")
        algo_cfg = from_dict(cfg_cls, overrides)
        env_cfg = to_dict(make("economy_v0", **{"n_countries": countries, **({"wdi": wdi} if wdi else {}),
                                               **_overrides(config, set_)}).config)
        steps = 3000 if steps is None else steps
    note = lambda row: f"Δπ {row['charts/delta_pi']:.4f}" if "charts/delta_pi" in row else None  # noqa: E731
    with _progress(f"{algo} on economy", steps, note) as progress:
        summary = train_eqmarl(algo_cfg, "economy_v0", env_cfg, steps, seed, out, algo=algo,
                               eval_episodes=final_episodes, checkpoint_every=checkpoint_every,
                               eval_rollout_every=eval_every, resume=resume is not None, progress=progress)
    conv = summary["convergence"]
    when = "not converged (censored)" if conv["censored"] else f"converged at step {conv['step']} ({conv['wall_s']:.0f} s)"
    typer.echo(f"{algo}: utility {summary['eval']['economy/utility']:.3f}, Gini {summary['eval']['economy/gini']:.3f}, "
               f"{when}; Q-game NashConv {summary['q_game']['eq/nash_conv']:.3g}; run folder {out}")


@app.command("export")
def export_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="A training checkpoint, e.g. DIR/checkpoints/last.pt.")],
    out: Annotated[Path, typer.Option(help="Folder for user.pt2 and provider.pt2.")],
) -> None:
    """Export trained actors (torch.export) for decentralised execution without marlloc's training code."""
    from marlloc.algos.maddpg import export

    if not checkpoint.is_file():
        raise ConfigError(f"checkpoint must be an existing file, got {str(checkpoint)!r}")
    for f in export(checkpoint, out):
        typer.echo(f"wrote {f}")


@app.command("envs")
def list_envs() -> None:
    """List registered environments with their roles, observation sizes and action spaces."""
    from marlloc.envs import ENVS, make

    for env_id in sorted(ENVS):
        env = make(env_id)
        typer.echo(f"{env_id}  (state {env.state_dim})")
        for r in env.roles.values():
            acts = ", ".join(f"{k}={v}" for k, v in r.actions.items())
            typer.echo(f"  {r.name}: {r.n_agents} agents, obs {r.obs_dim}, actions {acts}")


data_app = typer.Typer(no_args_is_help=True, help="Inspect the World Bank (WDI) data behind the economy scenario.")
app.add_typer(data_app, name="data")


def _parse_years(text: str | None) -> tuple[int, int] | list[int] | None:
    """--years: 2000:2022 (inclusive range), 2010 (one year) or 2000,2010,2020 (a list)."""
    if text is None:
        return None
    try:
        if ":" in text:
            first, last = text.split(":")
            return int(first), int(last)
        return [int(year) for year in text.split(",")]
    except ValueError:
        raise ConfigError(f"--years must look like 2000:2022, 2010 or 2000,2010, got {text!r}; "
                          "e.g. --years 2000:2022") from None


@data_app.command("inspect")
def data_inspect(
    source: Annotated[str, typer.Argument(help="A tidy CSV, a folder (or file) of World Bank API_*.csv bulk "
                                          "files, 'live' for the World Bank API, or 'synthetic'.")],
    indicators: Annotated[str | None, typer.Option(help="Comma-separated WDI codes, e.g. "
                                                   "NY.GDP.PCAP.KD,SP.POP.GROW (default: all known).")] = None,
    years: Annotated[str | None, typer.Option(help="Years: 2000:2022 (inclusive), 2010, or 2000,2010.")] = None,
    countries: Annotated[Path | None, typer.Option(help="Country metadata CSV: iso3,country_name,region,"
                                                   "income_group.")] = None,
    base_url: Annotated[str | None, typer.Option(help="World Bank API base URL (with 'live').")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache folder of raw API responses "
                                                   "(default $MARLLOC_CACHE or ~/.cache/marlloc/wdi).")] = None,
    refresh: Annotated[bool, typer.Option(help="Download again even when the API response is cached.")] = False,
) -> None:
    """Load a WDI panel and print its source, vintage and per-indicator coverage."""
    import logging

    from rich.console import Console
    from rich.table import Table

    from marlloc.data.worldbank import DEFAULT_BASE_URL, load_wdi, synthetic_wdi, wdi_coverage

    con = Console(width=max(Console().width, 120))
    # The loader logs what it drops (aggregates, empty rows, years); show that as notes, on stdout so that
    # stderr keeps only the one-line error.
    notes = logging.getLogger("marlloc.data")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("note: %(message)s"))
    level = notes.level
    notes.addHandler(handler)
    notes.setLevel(logging.INFO)
    try:
        codes = [c.strip() for c in indicators.split(",") if c.strip()] if indicators else None
        if source == "synthetic":
            frame = synthetic_wdi()
            if codes or years:
                raise ConfigError("--indicators and --years do not apply to 'synthetic'; drop them")
        else:
            frame = load_wdi(source, codes, _parse_years(years), countries=countries, cache_dir=cache_dir,
                             base_url=base_url or DEFAULT_BASE_URL, refresh=refresh)
    finally:
        notes.removeHandler(handler)
        notes.setLevel(level)
    con.print(f"source: {frame.attrs['source']}")
    if frame.attrs.get("note"):
        con.print(f"[bold red]{frame.attrs['note']}[/]")
    con.print(f"{frame['iso3'].nunique()} economies, years {frame['year'].min()}–{frame['year'].max()}, "
              f"{len(frame)} country-years")
    coverage = wdi_coverage(frame)
    table = Table(title="coverage over the economy × year grid")
    for name, justify in (("code", "left"), ("name", "left"), ("vintage", "left"), ("countries", "right"),
                          ("years", "right"), ("values", "right"), ("missing", "right")):
        table.add_column(name, justify=justify)
    for row in coverage.itertuples(index=False):
        span = "—" if row.countries == 0 else f"{row.first_year}–{row.last_year}"
        derived = " (derived)" if row.code in frame.attrs.get("derived", []) else ""
        table.add_row(row.code, row.name + derived, str(frame.attrs["vintage"].get(row.code, "")),
                      str(row.countries), span, str(row.values), f"{row.missing_share:.1%}")
    con.print(table)


BackendOpt = Annotated[str, typer.Option(help="local (one run at a time, in this process), process (--workers runs "
                                         "at a time, one process each) or ray (each run a Ray task; pip install "
                                         "'marlloc[ray]').")]
WorkersOpt = Annotated[int | None, typer.Option(help="Runs at a time with --backend process (default: the number "
                                                "of cores).")]
AddressOpt = Annotated[str | None, typer.Option(help="ray: join this cluster (auto, or HOST:PORT of ray start "
                                                "--head); default: start a local Ray instance.")]
NumCpusOpt = Annotated[int | None, typer.Option(help="ray: CPUs of the local Ray instance (default: every core).")]
RetriesOpt = Annotated[int, typer.Option(help="ray: retries of a run whose worker died.")]
CpusPerRunOpt = Annotated[float, typer.Option(help="ray: CPUs each run declares (and its torch threads).")]
MemPerRunOpt = Annotated[float, typer.Option(help="ray: memory each run declares, GB.")]
GpusPerRunOpt = Annotated[float, typer.Option(help="ray: GPUs each run declares; > 0 trains on cuda.")]
ShipOpt = Annotated[bool, typer.Option(help="ray: ship run folders through Ray's object store (no shared "
                                       "filesystem between nodes).")]
EnvOpt = Annotated[list[str] | None, typer.Option("--env", help="Environment override for every run, e.g. "
                                                  "--env wdi=../shared/data/worldbank/wdi_snapshot.csv "
                                                  "(values parsed as JSON, else as text). Repeatable.")]


def _ray_options(backend, address, num_cpus, retries, cpus_per_run, memory_gb_per_run, gpus_per_run, ship):
    from marlloc.experiments.ray_backend import RayOptions

    given = address is not None or num_cpus is not None or ship or gpus_per_run > 0
    if given and backend != "ray":
        raise ConfigError(f"--address, --num-cpus, --ship and --gpus-per-run must come with --backend ray, got "
                          f"--backend {backend}; add --backend ray")
    return RayOptions(address, num_cpus, cpus_per_run, memory_gb_per_run, gpus_per_run, retries, ship)


@app.command()
def reproduce(
    name: Annotated[str | None, typer.Argument(help="Experiment to reproduce (see --list).")] = None,
    quick: Annotated[bool, typer.Option(help="The CI-sized variant: tiny scales, few steps (minutes).")] = False,
    seeds: Annotated[int, typer.Option(help="Seeds per method (training and evaluation).")] = 5,
    out: Annotated[Path | None, typer.Option(help="Folder for runs, tables, figures and report.html "
                                             "(default runs/reproduce-NAME[-quick]).")] = None,
    backend: BackendOpt = "local",
    workers: WorkersOpt = None,
    list_: Annotated[bool, typer.Option("--list", help="List every experiment with its run count and its "
                                        "estimated full-size wall time on this machine.")] = False,
    env: EnvOpt = None,
    address: AddressOpt = None,
    num_cpus: NumCpusOpt = None,
    retries: RetriesOpt = 3,
    cpus_per_run: CpusPerRunOpt = 1.0,
    memory_gb_per_run: MemPerRunOpt = 1.0,
    gpus_per_run: GpusPerRunOpt = 0.0,
    ship: ShipOpt = False,
) -> None:
    """Reproduce a seed paper's experiment: runs (skipping complete ones), tables, figures, report.html."""
    from rich.console import Console

    con = Console(width=max(Console().width, 120))
    if list_:
        _list_specs(con, seeds)
        return
    if name is None:
        raise ConfigError("reproduce needs an experiment NAME, got none; see marlloc reproduce --list")
    ray = _ray_options(backend, address, num_cpus, retries, cpus_per_run, memory_gb_per_run, gpus_per_run, ship)
    _experiment(con, name, quick, seeds, out, backend, workers, _parse_sets(env, "--env"), {}, ray)


@app.command()
def sweep(
    spec: Annotated[str, typer.Argument(help="A sweep file (YAML: experiment, spec fields, seeds; see "
                                        "docs/distributed.md) or an experiment name (see reproduce --list).")],
    quick: Annotated[bool, typer.Option(help="Start from the experiment's --quick variant.")] = False,
    seeds: Annotated[int | None, typer.Option(help="Seeds per configuration (default: the file's, else 5).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: the file's out, else "
                                             "runs/sweep-NAME).")] = None,
    backend: BackendOpt = "ray",
    workers: WorkersOpt = None,
    env: EnvOpt = None,
    address: AddressOpt = None,
    num_cpus: NumCpusOpt = None,
    retries: RetriesOpt = 3,
    cpus_per_run: CpusPerRunOpt = 1.0,
    memory_gb_per_run: MemPerRunOpt = 1.0,
    gpus_per_run: GpusPerRunOpt = 0.0,
    ship: ShipOpt = False,
) -> None:
    """Run a sweep (seeds × scales × methods, or a hyper-parameter grid) on Ray by default; same folders,
    tables and report as reproduce, with the best configuration per metric for a grid."""
    from rich.console import Console

    from marlloc.experiments import specs

    con = Console(width=max(Console().width, 120))
    if spec in specs.SPECS:
        d = {"experiment": spec, "quick": quick, "seeds": 5, "out": f"runs/sweep-{spec}{'-quick' if quick else ''}",
             "spec": {}, "env": {}}
    else:
        d = specs.load_sweep(spec)
        d["quick"] = d["quick"] or quick
    ray = _ray_options(backend, address, num_cpus, retries, cpus_per_run, memory_gb_per_run, gpus_per_run, ship)
    _experiment(con, d["experiment"], d["quick"], seeds or d["seeds"], out or Path(d["out"]), backend, workers,
                {**d["env"], **_parse_sets(env, "--env")}, d["spec"], ray)


def _experiment(con, name, quick, seeds, out, backend, workers, env, fields, ray) -> None:
    """Run an experiment with a progress bar over its runs, print its tables and the report's path."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from marlloc.experiments import reproduce as run_reproduce
    from marlloc.experiments import specs

    spec = specs.get(name, quick, env, fields)  # checked before the bar starts
    n_runs = len({r.id for r in spec.runs(seeds)})
    con.print(f"{name}{' (quick)' if quick else ''}: {n_runs} runs over {seeds} seed(s), backend {backend}")
    live = {"done": 0, "running": 0, "failed": 0, "retried": 0, "skipped": 0}
    with Progress(TextColumn("[bold]runs"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[note]}"),
                  console=con, transient=False) as bar:
        task = bar.add_task("runs", total=n_runs, note="")

        def progress(event, run, detail):
            if event == "skip":  # complete before: off the bar's total, so the ETA is about the work left
                live["skipped"] += 1
                bar.update(task, total=n_runs - live["skipped"])
            elif event == "start":
                live["running"] += 1
            elif event == "retry":
                live["retried"] += 1
                bar.console.print(f"  retry: {run.id} (its worker died)", markup=False)
            elif event in ("done", "fail"):
                live["running"] -= 1
                live["done" if event == "done" else "failed"] += 1
                if detail:
                    bar.console.print(f"  failed: {run.id}: {detail}", markup=False)
            elif event == "blocked":
                live["failed"] += 1
            finished = live["done"] + live["failed"]
            bar.update(task, completed=finished, note=" · ".join(f"{k} {v}" for k, v in live.items()))

        try:
            res = run_reproduce(name, quick, seeds, out, backend, workers, progress, env, ray, fields)
        except KeyboardInterrupt:
            bar.stop()
            con.print(f"interrupted: {live['done']} runs finished now (and {live['skipped']} before) are complete "
                      f"in {out or 'the output folder'}; run the same command again to do the rest")
            raise typer.Exit(130) from None
    for _, md, _ in res["tables"]:
        if md.stem.startswith(name) and not md.stem.endswith("-cost"):
            con.print(md.read_text(), markup=False, highlight=False)
    o = res["outcome"]
    con.print(f"runs: {len(o.done)} done now, {len(o.skipped)} already complete, {len(o.failed)} failed, "
              f"{len(o.blocked)} blocked, {sum(o.retried.values())} retried")
    for rid, why in o.failed.items():
        con.print(f"  failed: {rid}: {why}", markup=False)
    con.print(f"report: {res['report']}")
    if o.failed or o.blocked:
        raise typer.Exit(1)


def _list_specs(con, seeds: int) -> None:
    from rich.table import Table

    from marlloc.experiments import specs

    table = Table(title=f"experiments ({seeds} seeds; estimates from unit costs measured on this machine)")
    for col in ("name", "paper", "what", "runs", "estimated wall time", "quick runs"):
        table.add_column(col)
    for name in specs.SPECS:
        full, quick = specs.get(name), specs.get(name, quick=True)
        est = specs.estimate_s(full, seeds)
        table.add_row(name, f"seed {full.paper}", (type(full).__doc__ or "").splitlines()[0],
                      str(len({r.id for r in full.runs(seeds)})), _duration(est), str(len({r.id for r in quick.runs(1)})))
    con.print(table)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@app.command()
def report(out: Annotated[Path, typer.Argument(help="A folder written by marlloc reproduce.")]) -> None:
    """Rebuild tables, figures and report.html of DIR from its run folders (runs nothing)."""
    from marlloc.experiments import build_report

    res = build_report(out)
    typer.echo(f"{len(res['tables'])} tables, {len(res['figures'])} figures; report: {res['report']}")


def main(argv: list[str] | None = None) -> int:
    """Run the app; a marlloc error, or a path the system refuses, becomes one line on stderr and exit
    code 2."""
    try:
        app(args=argv, prog_name="marlloc")
    except MarllocError as e:
        typer.echo(f"error: {e}", err=True)
        return 2
    except OSError as e:  # what check_out_dir cannot foresee (a full disk, a race); results are written atomically
        where = f" for {e.filename!r}" if e.filename else ""
        typer.echo(f"error: {e.strerror or e}{where}; check that path (an --out folder must be creatable and "
                   "writable), or pick another", err=True)
        return 2
    except SystemExit as e:  # typer's normal way out, carrying the exit code
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
