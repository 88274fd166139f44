"""A trained approximate best response: a **lower bound** on one agent's deviation gain δ_i.

Estimate 3 of ``shared/design/game-theory.md``: when the exact deviation search is a stage-game
figure only (it ignores what a deviation does to later steps), train a deviation over whole
episodes and measure what it gains. One agent deviates; everyone else keeps playing the frozen
joint policy π_−i (with parameter sharing, only the deviating agent's copy of its role's policy
changes — never the whole role, which would be a group deviation, not a Nash check).

- **Return.** J_i = agent i's mean reward per step over an episode (undiscounted, the unit of the
  economy's utility), for every environment of a batch.
- **Deviator.** A policy network over agent i's own observation (one categorical per discrete
  action component; ``Policy`` of :mod:`marlloc.algos.eqmarl`). When π is a trained eqmarl/sarl
  policy, the deviator starts as a copy of the agent's role network, so it starts at δ ≈ 0 and
  can only climb from there; otherwise it starts fresh.
- **Training.** REINFORCE with a per-step baseline (the batch mean of the reward-to-go at that
  step), ``iterations`` batches of ``n_envs`` episodes, Adam, small entropy bonus. Training
  episodes take the learners' episode seeds (``algos.common.episode_seed``), hashed from ``seed``,
  so they are not the evaluation seed (a clash has odds of about 1 in 2³¹ per batch).
- **Evaluation.** The deviator plays its mode (a best response may be deterministic) on the
  shared evaluation seeds (``eval_episodes`` environments reset with ``eval_seed``), against the
  same π_−i as the baseline run; the paired per-episode differences give the gain's mean and 95 %
  CI (Student t). A negative mean is kept, not clipped: it says the budget found nothing.

Because the deviator is limited by its budget, architecture and optimiser, the gain is a lower
bound on δ_i, never an estimate of it; it is reported as ``trained_br_gain (lower bound)``.
Only discrete action components are supported (the economy and the one-shot games); the edge
market's bids are continuous, and its stage-game search covers them on a grid.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch

from marlloc.core.config import check
from marlloc.core.errors import ConfigError
from marlloc.core.protocol import Discrete


@dataclass(frozen=True)
class TrainedBestResponse:
    role: str
    agent: int                # index within the role
    base: dict                # aggregate of J_i under π (mean, std, ci95, n)
    deviation: dict           # aggregate of J_i when agent i plays the trained deviator
    gain: dict                # aggregate of the paired differences: a lower bound on δ_i
    iterations: int
    wall_s: float
    note: str = "lower bound on the deviation gain δ_i (trained best response, fixed budget)"


def trained_best_response(env, make_policy, role: str, agent: int, *, iterations: int = 30, n_envs: int = 8,
                          eval_episodes: int = 8, eval_seed: int = 10_000, seed: int = 0, lr: float = 3e-3,
                          entropy_coef: float = 1e-3, hidden: tuple[int, ...] = (64, 32)) -> TrainedBestResponse:
    """Train a deviation for agent ``agent`` of ``role`` against the frozen joint policy.

    ``make_policy(env)`` builds the joint policy (a callable ``step -> actions``); it is called
    afresh for every batch of episodes, so warm-started baselines start every episode alike.
    """
    from marlloc.algos.common import episode_seed
    from marlloc.algos.eqmarl import Policy
    from marlloc.evaluation import aggregate

    spec = env.roles.get(role)
    if spec is None:
        raise ConfigError(f"role must be one of {', '.join(env.roles)}, got {role!r}")
    check(isinstance(agent, int) and 0 <= agent < spec.n_agents, "agent", f"be an index in [0, {spec.n_agents})",
          agent, "try agent=0")
    check(isinstance(iterations, int) and iterations >= 1, "iterations", "be an integer ≥ 1", iterations,
          "try iterations=30")
    if not all(isinstance(sp, Discrete) for sp in spec.actions.values()):
        raise ConfigError(f"a trained best response needs discrete actions; {role} has "
                          f"{', '.join(f'{k}={v}' for k, v in spec.actions.items())}")
    comps, sizes = list(spec.actions), [sp.n for sp in spec.actions.values()]
    t0 = time.perf_counter()
    gen = torch.Generator(device=env.device).manual_seed(seed)
    learned = getattr(getattr(make_policy(env), "learner", None), "pi", None)
    if learned is not None:  # start from the agent's own (shared) network: δ starts at 0
        dev = copy.deepcopy(learned[role])
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            dev = Policy(spec.obs_dim, hidden, tuple(sizes)).to(env.device)
    opt = torch.optim.Adam(dev.parameters(), lr=lr)

    def episode(policy, n: int, ep_seed: int, deviate: bool, greedy: bool):
        """One batch of episodes; returns agent i's rewards [T, n] and, when sampling, log-probs and entropies."""
        step = env.reset(n_envs=n, seed=ep_seed)
        rewards, logps, ents = [], [], []
        while not bool(step.truncated.all() | step.terminated.all()):
            actions = policy(step)
            if deviate:
                logits = dev(step.obs[role][:, agent])
                if greedy:
                    picks = [lg.argmax(-1) for lg in logits]
                else:
                    dists = [torch.distributions.Categorical(logits=lg) for lg in logits]
                    picks = [torch.multinomial(d.probs, 1, generator=gen)[:, 0] for d in dists]
                    logps.append(sum(d.log_prob(p) for d, p in zip(dists, picks, strict=True)))
                    ents.append(sum(d.entropy() for d in dists))
                actions = {r: dict(a) for r, a in actions.items()}
                for c, p in zip(comps, picks, strict=True):
                    actions[role][c] = actions[role][c].clone()
                    actions[role][c][:, agent] = p
            step = env.step(actions, check=False)
            rewards.append(step.reward[role][:, agent].double())
        return torch.stack(rewards), logps, ents

    for it in range(iterations):  # the learners' training-episode seeds, drawn apart from eval_seed
        r, logps, ents = episode(make_policy(env), n_envs, episode_seed(seed, it), True, False)
        togo = r.flip(0).cumsum(0).flip(0)                        # [T, n] reward-to-go
        adv = (togo - togo.mean(1, keepdim=True)) / (togo.std() + 1e-8)
        loss = -(torch.stack(logps) * adv.float()).mean() - entropy_coef * torch.stack(ents).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with torch.no_grad():
        base = episode(make_policy(env), eval_episodes, eval_seed, False, True)[0].mean(0)   # [n] J_i
        dev_j = episode(make_policy(env), eval_episodes, eval_seed, True, True)[0].mean(0)
    return TrainedBestResponse(role, agent, aggregate(base.tolist()), aggregate(dev_j.tolist()),
                               aggregate((dev_j - base).tolist()), iterations, time.perf_counter() - t0)


__all__ = ["TrainedBestResponse", "trained_best_response"]
