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
- **Continuous components.** A ``Box`` component (the edge market's bids and prices) is searched
  on a grid: one categorical per scalar element (factorised, so a provider's three prices are
  three heads, not one product head) over ``box_levels`` evenly spaced values from low to high,
  plus one more choice, "the value π plays" — without it a deviator could not repeat a greedy
  user's bid (its exact quote), and every grid bid below the quote is refused. The grid is one
  more reason the gain is a lower bound.
- **Training.** REINFORCE with a per-step baseline (the batch mean of the reward-to-go at that
  step), ``iterations`` batches of ``n_envs`` episodes, Adam, small entropy bonus. Training
  episodes take the learners' episode seeds (``algos.common.episode_seed``), hashed from ``seed``,
  so they are not the evaluation seed (a clash has odds of about 1 in 2³¹ per batch).
- **A floor.** Without a trained network to copy, a second network imitates agent i's own
  actions under π (cross-entropy on one batch of episodes; a Box element's target is "the value
  π plays") and is a candidate in the selection below, so the result is not worse than about
  δ = 0 merely because REINFORCE from scratch did not get there (measured on the edge market with
  20 users: against greedy users the trained deviator alone ended 0.05 per step below them).
  Training does not start from the imitation: a near-deterministic start stops exploring (on
  Cournot against a fixed profile it then found none of a known gain).
- **Selection.** The imitation, the starting network and every ``validate_every``-th iterate
  play their mode on ``n_envs`` validation episodes (their own seed, apart from training and
  evaluation); the best is kept. Selecting on validation episodes, never on the evaluation ones,
  keeps the evaluated gain unbiased — REINFORCE on the edge market is noisy enough that the last
  iterate is often worse than an earlier one.
- **Evaluation.** The deviator plays its mode (a best response may be deterministic) on the
  shared evaluation seeds (``eval_episodes`` environments reset with ``eval_seed``), against the
  same π_−i as the baseline run; the paired per-episode differences give the gain's mean and 95 %
  CI (Student t). A negative mean is kept, not clipped: it says the budget found nothing.

Because the deviator is limited by its budget, architecture, optimiser and grid, the gain is a
lower bound on δ_i, never an estimate of it; evaluations report it as ``br_gain_lower_bound/ROLE``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch

from marlloc.core.config import check
from marlloc.core.errors import ConfigError
from marlloc.core.protocol import Box, Discrete


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
                          entropy_coef: float = 1e-3, hidden: tuple[int, ...] = (64, 32),
                          box_levels: int = 11, imitation_steps: int = 200,
                          validate_every: int = 10) -> TrainedBestResponse:
    """Train a deviation for agent ``agent`` of ``role`` against the frozen joint policy.

    ``make_policy(env)`` builds the joint policy (a callable ``step -> actions``); it is called
    afresh for every batch of episodes, so warm-started baselines start every episode alike.
    """
    from marlloc.algos.common import episode_seed
    from marlloc.algos.eqmarl import Policy
    from marlloc.core.seeding import numpy_rng
    from marlloc.evaluation import aggregate

    spec = env.roles.get(role)
    if spec is None:
        raise ConfigError(f"role must be one of {', '.join(env.roles)}, got {role!r}")
    check(isinstance(agent, int) and 0 <= agent < spec.n_agents, "agent", f"be an index in [0, {spec.n_agents})",
          agent, "try agent=0")
    check(isinstance(iterations, int) and iterations >= 1, "iterations", "be an integer ≥ 1", iterations,
          "try iterations=30")
    check(isinstance(validate_every, int) and validate_every >= 1, "validate_every", "be an integer ≥ 1",
          validate_every, "try validate_every=10")
    check(isinstance(box_levels, int) and box_levels >= 2, "box_levels", "be an integer ≥ 2", box_levels,
          "try box_levels=11")
    # one categorical head per discrete component and per scalar element of a Box component
    sizes = [n for sp in spec.actions.values()
             for n in ([sp.n] if isinstance(sp, Discrete) else [box_levels + 1] * math.prod(sp.shape))]
    t0 = time.perf_counter()
    gen = torch.Generator(device=env.device).manual_seed(seed)
    learned = getattr(getattr(make_policy(env), "learner", None), "pi", None)
    warm = learned is not None and all(isinstance(sp, Discrete) for sp in spec.actions.values())
    if warm:
        dev = copy.deepcopy(learned[role])  # start from the agent's own (shared) network: δ starts at 0
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            dev = Policy(spec.obs_dim, hidden, tuple(sizes)).to(env.device)
    opt = torch.optim.Adam(dev.parameters(), lr=lr)

    def episode(policy, n: int, ep_seed: int, deviate: bool, greedy: bool, record: list | None = None):
        """One batch of episodes; returns agent i's rewards [T, n] and, when sampling, log-probs and
        entropies; ``record`` collects agent i's (observation, picks) under π."""
        step = env.reset(n_envs=n, seed=ep_seed)
        rewards, logps, ents = [], [], []
        while not bool(step.truncated.all() | step.terminated.all()):
            actions = policy(step)
            if record is not None:
                record.append((step.obs[role][:, agent].clone(), _as_picks(spec, actions[role], agent, box_levels)))
            if deviate:
                logits = dev(step.obs[role][:, agent].clone())  # the edge market reuses its obs buffers
                if greedy:
                    picks = [lg.argmax(-1) for lg in logits]
                else:
                    dists = [torch.distributions.Categorical(logits=lg) for lg in logits]
                    picks = [torch.multinomial(d.probs, 1, generator=gen)[:, 0] for d in dists]
                    logps.append(sum(d.log_prob(p) for d, p in zip(dists, picks, strict=True)))
                    ents.append(sum(d.entropy() for d in dists))
                actions = {r: dict(a) for r, a in actions.items()}
                actions[role].update(_as_actions(spec, picks, actions[role], agent, box_levels))
            step = env.step(actions, check=False)
            rewards.append(step.reward[role][:, agent].double())
        return torch.stack(rewards), logps, ents

    val_seed = int(numpy_rng(seed, "trained_br_validation").integers(2**31))
    best, best_j = None, -math.inf

    def keep_if_best():
        nonlocal best, best_j
        with torch.no_grad():
            j = float(episode(make_policy(env), n_envs, val_seed, True, True)[0].mean())
        if j > best_j:
            best, best_j = copy.deepcopy(dev.state_dict()), j

    if not warm:  # the imitation candidate (module docstring), trained on a copy, validated first
        fresh = copy.deepcopy(dev.state_dict())
        seen: list = []
        with torch.no_grad():
            episode(make_policy(env), n_envs, episode_seed(seed, 0), False, True, record=seen)
        obs = torch.cat([o for o, _ in seen])
        targets = [torch.cat([p[k] for _, p in seen]) for k in range(len(sizes))]
        bc = torch.optim.Adam(dev.parameters(), lr=1e-2)
        for _ in range(imitation_steps):
            loss = sum(torch.nn.functional.cross_entropy(lg, t) for lg, t in zip(dev(obs), targets, strict=True))
            bc.zero_grad(set_to_none=True)
            loss.backward()
            bc.step()
        keep_if_best()
        dev.load_state_dict(fresh)
    keep_if_best()
    for it in range(iterations):  # the learners' training-episode seeds, drawn apart from eval_seed
        r, logps, ents = episode(make_policy(env), n_envs, episode_seed(seed, it + 1), True, False)
        togo = r.flip(0).cumsum(0).flip(0)                        # [T, n] reward-to-go
        adv = (togo - togo.mean(1, keepdim=True)) / (togo.std() + 1e-8)
        loss = -(torch.stack(logps) * adv.float()).mean() - entropy_coef * torch.stack(ents).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (it + 1) % validate_every == 0 or it + 1 == iterations:
            keep_if_best()
    dev.load_state_dict(best)

    with torch.no_grad():
        base = episode(make_policy(env), eval_episodes, eval_seed, False, True)[0].mean(0)   # [n] J_i
        dev_j = episode(make_policy(env), eval_episodes, eval_seed, True, True)[0].mean(0)
    return TrainedBestResponse(role, agent, aggregate(base.tolist()), aggregate(dev_j.tolist()),
                               aggregate((dev_j - base).tolist()), iterations, time.perf_counter() - t0)


def _as_picks(spec, current: dict, agent: int, box_levels: int) -> list:
    """Agent ``agent``'s actions under π as head indices (a Box element: "the value π plays")."""
    picks = []
    for c, sp in spec.actions.items():
        a = current[c][:, agent]
        if isinstance(sp, Box):
            picks += [torch.full((a.shape[0],), box_levels, dtype=torch.long, device=a.device)] * math.prod(sp.shape)
        else:
            picks.append(a.long())
    return picks


def _as_actions(spec, picks: list, current: dict, agent: int, box_levels: int) -> dict:
    """The role's action dict with agent ``agent``'s components replaced by the deviator's picks
    (a Box element's pick k < box_levels is the value low + (high − low)·k / (box_levels − 1);
    k = box_levels keeps π's value)."""
    out, i = {}, 0
    for c, sp in spec.actions.items():
        a = current[c].clone()
        if isinstance(sp, Box):
            k = math.prod(sp.shape)
            pick = torch.stack(picks[i:i + k], -1)                                      # [E, k]
            grid = sp.low + (sp.high - sp.low) * pick.to(a.dtype) / (box_levels - 1)
            own = a[:, agent].reshape(-1, k)
            a[:, agent] = torch.where(pick == box_levels, own, grid).reshape(-1, *sp.shape)
            i += k
        else:
            a[:, agent] = picks[i]
            i += 1
        out[c] = a
    return out


__all__ = ["TrainedBestResponse", "trained_best_response"]
