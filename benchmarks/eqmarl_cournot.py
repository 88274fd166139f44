"""Known answer for eqmarl: does the learned joint action reach the Cournot equilibrium?

Trains ``eqmarl`` on ``cournot_v0`` (G1: a = 100, b = 2, costs (10, 12, 15, 20), four firms,
1,001 quantity levels over [0, a/b], price floored at zero) and compares the greedy joint action
with the closed form q* ≈ (10.7, 9.7, 8.2, 5.7). Target (issue 6): every firm within 1 % of q*.
Also reported: ε and NashConv of the learned profile in the true game (deviation against the
analytic best response over the continuous action set, from the environment's ``info``), and the
wall time. One level of the grid is 0.05, i.e. 0.9 % of the smallest firm's q*: the target asks for
the exact grid level or its neighbour.

The settings (``CONFIG``) differ from the economy's defaults where a 1,001-level grid needs it,
each documented on its ``EqmarlConfig`` field: a cubic-spline action basis (local, so the price
floor's kink does not bend the fit at the optimum), exploration moves within ±5 % of the range
with ε ending at 0.2 (dense data where the slope must be right; splines keep a local fit well
conditioned, where a global polynomial was not), q_lr decayed to 1 % at the end, and a larger
batch with 4 Q updates per step and 16 environments. What we measured with other settings is in
``docs/eqmarl.md``.

Usage::

    python benchmarks/eqmarl_cournot.py                # full run (5,000 steps, about 4 minutes)
    python benchmarks/eqmarl_cournot.py --quick --json # smoke test (not expected to pass)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

import numpy as np
import torch
from _common import clean, table, verdict

from marlloc.algos.eqmarl import Eqmarl, EqmarlConfig, GreedyPolicy, train
from marlloc.envs import make
from marlloc.games import cournot

CONFIG = dict(q_basis="spline", q_knots=16, q_lr_end=0.01, explore_width=0.1, eps_end=0.2, n_envs=16,
              batch_size=256, updates_per_step=4, warmup_steps=20, anneal_steps=300, solver_envs=1, eval_every=20)
TARGET = 0.01  # largest relative error of a firm's quantity


def run(steps: int, seed: int, overrides: dict | None = None) -> dict:
    cfg = EqmarlConfig(**{**CONFIG, **(overrides or {})})
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        summary = train(cfg, "cournot_v0", {}, steps, seed, out, eval_episodes=1, checkpoint_every=steps)
        wall = time.perf_counter() - t0
        ck = torch.load(f"{out}/checkpoints/last.pt", weights_only=True)
    env = make("cournot_v0")
    learner = Eqmarl(env, cfg)
    learner.load_state_dict(ck["learner"])
    st = env.reset(1, seed=0)
    after = env.step(GreedyPolicy(learner)(st))
    game = cournot(env.config.a, env.config.b, env.config.costs)
    q = after.info["player/action_value"][0].double().numpy()
    qstar = game.equilibrium()
    rel = (q - qstar) / qstar
    return {"steps": steps, "seed": seed, "wall_s": wall, "learned": q.tolist(), "closed_form": qstar.tolist(),
            "rel_error": rel.tolist(), "max_rel_error": float(np.abs(rel).max()),
            "joint_rel_error": float(np.linalg.norm(q - qstar) / np.linalg.norm(qstar)),
            "epsilon": float(after.info["game/epsilon"][0]), "nash_conv": float(after.info["game/nash_conv"][0]),
            "epsilon_rel": float(after.info["game/epsilon"][0]) / game.payoff_range(),
            "q_game_nash_conv": summary["q_game"]["eq/nash_conv"], "convergence": summary["convergence"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds")
    ap.add_argument("--quick", action="store_true", help="40 steps: a smoke test, not a measurement")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--hp", action="append", default=[], help="override a CONFIG setting: --hp eps_end=0.2")
    a = ap.parse_args(argv)
    steps = 40 if a.quick else a.steps
    overrides = {k: json.loads(v) for k, _, v in (h.partition("=") for h in a.hp)}
    results = [run(steps, int(s), overrides) for s in a.seeds.split(",")]
    ok = None if a.quick else all(r["max_rel_error"] <= TARGET for r in results)
    if a.json:
        print(json.dumps(clean({"torch_threads": torch.get_num_threads(), "target": TARGET, "pass": ok,
                                "runs": results})))
        return 0
    print(f"eqmarl on cournot_v0, {steps} steps, torch threads {torch.get_num_threads()}")
    table(("seed", "learned q", "rel. error per firm", "ε", "ε / payoff range", "wall s"),
          [(str(r["seed"]), " ".join(f"{v:.2f}" for v in r["learned"]),
            " ".join(f"{v:+.2%}" for v in r["rel_error"]), f"{r['epsilon']:.4f}", f"{r['epsilon_rel']:.1e}",
            f"{r['wall_s']:.0f}") for r in results])
    print(f"closed form q* = {' '.join(f'{v:.2f}' for v in results[0]['closed_form'])}; "
          f"target: every firm within {TARGET:.0%}: {verdict(ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
