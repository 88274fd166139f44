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
def demo(
    users: Annotated[int, typer.Option(help="User agents N.")] = 200,
    edges: Annotated[int, typer.Option(help="Edge servers.")] = 5,
    rounds: Annotated[int, typer.Option(help="Rounds per episode.")] = 200,
    envs: Annotated[int, typer.Option(help="Environments run side by side (one episode each).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of arrivals and events.")] = 0,
    policies: Annotated[str, typer.Option(help="Comma-separated user policies.")] = "random,greedy_latency",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Step the edge market with baseline user policies (reference prices) and print metrics."""
    from rich.console import Console
    from rich.table import Table

    from marlloc.envs import make
    from marlloc.evaluation import rollout
    from marlloc.metrics import EdgeEpisodeMetrics
    from marlloc.policies import joint

    overrides = {"n_users": users, "n_edges": edges, "episode_rounds": rounds, **_overrides(config, set_)}
    env = make("edge_market_v0", **overrides)
    names = [p.strip() for p in policies.split(",") if p.strip()]
    runs = {name: joint(env, name, "fixed", seed) for name in names}  # validates every name first
    con = Console()
    dem = env.steady_state_demand()
    ratio = (dem["edge_tier"] / dem["edge_capacity"]).tolist()
    con.print(f"edge_market_v0: {env.n_users} users, {env.n_nodes} nodes (cloud + {env.n_nodes - 1} edges), "
              f"{rounds} rounds × {envs} envs, seed {seed}")
    con.print(f"steady state: {float(dem['arrivals_per_round']):.1f} tasks/round; edge-tier demand / edge capacity "
              f"(compute, storage, up, down) = " + ", ".join(f"{r:.2f}" for r in ratio))
    results = {name: rollout(env, pol, envs, seed) for name, pol in runs.items()}
    table = Table(title="edge market: mean ± std over environments (providers post reference prices)")
    table.add_column("metric")
    for name in results:
        table.add_column(name, justify="right")
    for k in [k for k in EdgeEpisodeMetrics.KEYS if k != "killed_tasks"]:
        table.add_row(k, *(f"{float(m[k].mean()):.3f} ± {float(m[k].std(unbiased=False)):.3f}" for m in results.values()))
    table.add_row("wall_s", *(f"{m['wall_s']:.2f}" for m in results.values()))
    con.print(table)


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
