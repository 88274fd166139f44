"""The ``marlloc`` command: a thin shell over the library.

Every error a user can cause prints one line (``error: <rule>, got <value>; <fix>``) and exits
with code 2; ``--help`` works on every command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from marlloc.core.errors import ConfigError, MarllocError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Heterogeneous resource allocation with game-theoretic multi-agent RL.")

SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override a config field: --set arrival_prob=0.3 "
                                                   "(values parsed as JSON, else as text). Repeatable.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="JSON file of environment config fields.")]


def _overrides(config: Path | None, sets: list[str] | None) -> dict:
    out: dict = {}
    if config is not None:
        try:
            out.update(json.loads(config.read_text()))
        except FileNotFoundError:
            raise ConfigError(f"--config must name an existing JSON file, got {str(config)!r}; check the path") from None
        except json.JSONDecodeError as e:
            raise ConfigError(f"--config {config} is not valid JSON ({e.msg} at line {e.lineno}); fix the file") from None
    for item in sets or []:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"--set must look like field=value, got {item!r}; e.g. --set arrival_prob=0.3")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


@app.command()
def evaluate(
    scenario: Annotated[str, typer.Option(help="Scenario: edge.")] = "edge",
    users: Annotated[int, typer.Option(help="User agents N.")] = 200,
    edges: Annotated[int, typer.Option(help="Edge servers.")] = 5,
    rounds: Annotated[int, typer.Option(help="Rounds per episode.")] = 200,
    policies: Annotated[str, typer.Option(help="Comma-separated user policies: random, greedy, "
                                          "sequential_greedy, optimum.")] = "random,greedy,sequential_greedy,optimum",
    pricing: Annotated[str, typer.Option(help="Providers' pricing: fixed, cost_plus, random.")] = "fixed",
    episodes: Annotated[int, typer.Option(help="Episodes per seed (run side by side).")] = 5,
    seed: Annotated[int, typer.Option(help="First evaluation seed.")] = 0,
    n_seeds: Annotated[int, typer.Option("--seeds", help="Number of evaluation seeds (seed, seed+1, ...).")] = 1,
    out: Annotated[Path | None, typer.Option(help="Folder for summary.json and episodes.csv.")] = None,
    bound: Annotated[bool, typer.Option(help="Compute the per-round LP upper bound.")] = True,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Evaluate policies on fixed seeds; print a table, optionally write summary.json + episodes.csv."""
    from rich.console import Console
    from rich.table import Table

    from marlloc.envs import make
    from marlloc.evaluation import SCENARIOS, write
    from marlloc.evaluation import evaluate as run_evaluation

    if scenario not in SCENARIOS:
        raise ConfigError(f"--scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if n_seeds < 1:
        raise ConfigError(f"--seeds must be ≥ 1, got {n_seeds}; try --seeds 1")
    overrides = {"n_users": users, "n_edges": edges, "episode_rounds": rounds, **_overrides(config, set_)}
    env = make(SCENARIOS[scenario], **overrides)  # validates the config before any run
    con = Console(width=max(Console().width, 120))  # the table stays readable in narrow or captured output
    dem = env.steady_state_demand()
    ratio = (dem["edge_tier"] / dem["edge_capacity"]).tolist()
    con.print(f"{SCENARIOS[scenario]}: {env.n_users} users, {env.n_nodes} nodes (cloud + {env.n_nodes - 1} edges), "
              f"{rounds} rounds, {episodes} episodes × {n_seeds} seed(s) from {seed}, pricing {pricing}")
    con.print(f"steady state: {float(dem['arrivals_per_round']):.1f} tasks/round; edge-tier demand / edge capacity "
              f"(compute, storage, up, down) = " + ", ".join(f"{r:.2f}" for r in ratio))
    ev = run_evaluation(policies, SCENARIOS[scenario], overrides, episodes, list(range(seed, seed + n_seeds)),
                        pricing, bound=bound, progress=lambda name, s: con.print(f"  done: {name}, seed {s}"))
    table = Table(title="mean ± half-width of the 95 % CI over episodes (our simulator)")
    table.add_column("metric")
    for name in ev.policies:
        table.add_column(name, justify="right")
    first = next(iter(ev.policies.values()))
    for k in [k for k in first if k not in ("wall_s", "killed_tasks")]:
        cells = []
        for agg in ev.policies.values():
            m, (lo, hi) = agg[k]["mean"], agg[k]["ci95"]
            cells.append("n/a" if m is None else f"{m:.3f} ± {(hi - lo) / 2:.3f}")
        table.add_row(k, *cells)
    table.add_row("wall_s", *(f"{agg['wall_s']:.1f}" for agg in ev.policies.values()))
    con.print(table)
    if out is not None:
        summary, episodes_csv = write(ev, out)
        con.print(f"wrote {summary} and {episodes_csv}")


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


def main(argv: list[str] | None = None) -> int:
    """Run the app; a marlloc error becomes one line on stderr and exit code 2."""
    try:
        app(args=argv, prog_name="marlloc")
    except MarllocError as e:
        typer.echo(f"error: {e}", err=True)
        return 2
    except SystemExit as e:  # typer's normal way out, carrying the exit code
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
