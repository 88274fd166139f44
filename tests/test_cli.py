"""The CLI: every command has --help, errors are one line with exit code 2, commands run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from marlloc.cli import app, main

COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands]


@pytest.mark.parametrize("cmd", [*COMMANDS, None])
def test_help_on_every_command(cmd, capsys):
    assert main(([cmd] if cmd else []) + ["--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_evaluate_prints_a_metrics_table(capsys):
    assert main(["evaluate", "--users", "20", "--edges", "2", "--rounds", "15", "--episodes", "2",
                 "--policies", "random,greedy", "--nash-every", "5"]) == 0
    out = capsys.readouterr().out
    for word in ("system_utility", "jain", "random", "greedy", "edge-tier demand", "nash_conv", "epsilon_rel",
                 "searched every 5 rounds"):
        assert word in out


def test_envs_lists_every_registered_env(capsys):
    from marlloc.envs import ENVS

    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert all(env_id in out for env_id in ENVS)


@pytest.mark.parametrize("args", [
    ["evaluate", "--users", "0"],
    ["evaluate", "--set", "cloud_compute_tflops=-1"],
    ["evaluate", "--set", 'events=[{"kind": "quake", "start_round": 1}]'],
    ["evaluate", "--set", "nonsense"],
    ["evaluate", "--policies", "clairvoyant"],
    ["evaluate", "--config", "/nonexistent/cfg.json"],
    ["evaluate", "--policies", "random,clairvoyant"],
    ["evaluate", "--scenario", "moon"],
    ["evaluate", "--episodes", "0"],
    ["evaluate", "--nash-every", "-1"],
    ["evaluate", "--br-iterations", "-1"],
    ["train", "--users", "12", "--rounds", "5"],  # no --out
    ["train", "--algo", "ppo", "--out", "x"],
    ["train", "--hp", "actor_lr=-1", "--out", "x"],
    ["train", "--hp", "nonsense=1", "--out", "x"],
    ["train", "--resume", "/nonexistent/run"],
    ["evaluate", "--users", "8", "--rounds", "4", "--episodes", "1", "--out", "a-file/sub"],  # refused before it runs
    ["train", "--users", "8", "--rounds", "4", "--out", "a-file/sub"],
    ["reproduce", "edge-table1", "--quick", "--seeds", "1", "--out", "a-file/sub"],
])
def test_bad_input_is_one_line_and_exit_2(args, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not into the repo
    (tmp_path / "a-file").write_text("")  # a folder cannot be made under it, even by root
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_malformed_topology_through_the_cli(tmp_path, capsys):
    bad = tmp_path / "sites.csv"
    bad.write_text("SITE_ID,LATITUDE\n1,-37.8\n")
    assert main(["evaluate", "--set", f"sites_csv={bad}", "--set", f"users_csv={bad}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "LONGITUDE" in err


def test_console_script_has_no_traceback_and_real_exit_code():
    r = subprocess.run([sys.executable, "-m", "marlloc.cli", "evaluate", "--users", "-3"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "n_users" in r.stderr
    r = subprocess.run([sys.executable, "-m", "marlloc.cli", "evaluate", "--no-such-flag"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
