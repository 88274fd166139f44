"""Why eqmarl's policies keep moving (Δπ) on the economy: the Q game's equilibrium sits on action
value differences smaller than the Q estimate's own noise.

Loads an eqmarl checkpoint, solves the Q stage game at the states of its last step (as the policy
update does), and prints per role, over agents:

- the spread of the target network's Q over the agent's actions, and the gap between its best and
  second-best action: the margin the equilibrium's near-pure choice rests on;
- how often the online and target networks agree on that best action, and the median
  |Q_online − Q_target|: two estimates of the same values one Polyak average apart, so their
  disagreement is a floor on the estimate's noise;
- the equilibrium's largest probability per agent (p*), and the policy's (π).

When the gap is far below |Q_online − Q_target| and the two networks disagree on the best action,
p* flips between near-tied actions from one update to the next, and the policy, pulled toward it,
does not settle. Findings: ``docs/eqmarl.md``.

Usage::

    python benchmarks/eqmarl_q_noise.py RUN/checkpoints/last.pt [--json]
    python benchmarks/eqmarl_q_noise.py --quick --json   # smoke test: a 60-step run on 2 countries
"""

from __future__ import annotations

import argparse
import json
import tempfile

import torch
from _common import clean, table

from marlloc.algos.eqmarl import Eqmarl, EqmarlConfig, train
from marlloc.core.config import from_dict
from marlloc.envs import make


def diagnose(path: str, envs: int = 4) -> dict:
    ck = torch.load(path, weights_only=True)
    cfg = from_dict(EqmarlConfig, ck["algo_config"])
    env = make(ck["env_id"], **ck["env_config"])
    learner = Eqmarl(env, cfg, ck["seed"])
    learner.load_state_dict(ck["learner"])
    obs = {r: o[:envs] for r, o in ck["step"]["obs"].items()}
    p, stats = learner.equilibrium(obs)
    abar = learner.mean_field({r: p[r] @ learner.grids[r].norm for r in p})
    roles = {}
    with torch.no_grad():
        for r, grid in learner.grids.items():
            q_targ = learner.q_targ[r](obs[r], abar[r], grid.basis)                      # [E, N_r, J]
            q_online = learner.q[r](obs[r], abar[r], grid.basis)
            top = q_targ.sort(-1, descending=True).values
            pi = grid.joint_probs(learner.probs(r, obs[r]))
            roles[r] = {"actions": q_targ.shape[-1],
                        "q_range_median": float((top[..., 0] - top[..., -1]).median()),
                        "best_second_gap_median": float((top[..., 0] - top[..., 1]).median()),
                        "argmax_agreement": float((q_targ.argmax(-1) == q_online.argmax(-1)).float().mean()),
                        "online_target_diff_median": float((q_targ - q_online).abs().median()),
                        "p_star_max_prob": float(p[r].max(-1).values.mean()),
                        "pi_max_prob": float(pi.max(-1).values.mean())}
    return {"checkpoint": path, "step": ck["t"], "roles": roles, "q_game": stats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?", help="an eqmarl checkpoint (RUN/checkpoints/last.pt)")
    ap.add_argument("--quick", action="store_true", help="train a 60-step run on 2 countries first (smoke test)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args()
    if not args.quick and not args.checkpoint:
        ap.error("give a checkpoint, e.g. runs/eqmarl-s0/checkpoints/last.pt, or --quick")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.checkpoint
        if args.quick:
            cfg = EqmarlConfig(n_envs=2, warmup_steps=10, eval_every=20, solver_iters=5)
            train(cfg, "economy_v0", {"n_countries": 2}, 60, 0, tmp, eval_episodes=1, checkpoint_every=60,
                  eval_rollout_every=0)
            path = f"{tmp}/checkpoints/last.pt"
        out = diagnose(path)
    if args.json:
        print(json.dumps(clean(out)))
        return
    print(f"{out['checkpoint']} at step {out['step']}; Q game: {out['q_game']}")
    table(("role", "actions", "Q range", "best − second", "online = target argmax", "|Q online − Q target|",
           "p* max prob", "π max prob"),
          [(r, str(v["actions"]), f"{v['q_range_median']:.4f}", f"{v['best_second_gap_median']:.4f}",
            f"{v['argmax_agreement']:.2f}", f"{v['online_target_diff_median']:.4f}", f"{v['p_star_max_prob']:.2f}",
            f"{v['pi_max_prob']:.2f}") for r, v in out["roles"].items()])
    print("medians over agents (Q in reward-scale units); agreement and max probabilities are means")


if __name__ == "__main__":
    main()
