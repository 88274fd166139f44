"""MADDPG for the edge market: shared actors per role, centralised critics, decentralised execution.

Seed 000 §3: every user and provider learns an actor from its local observation; critics see
global information during training only. What marlloc adds so that it works with hybrid actions
and hundreds to thousands of agents with competing rewards:

- **Actors, one per role, shared by its agents** (agent features are in the observation).
  User actor: a node head (logits over M nodes + local) sampled with straight-through
  Gumbel-softmax — the environment gets a hard choice, the critic's gradient flows through the
  soft one — and a bid head, (tanh + 1)/2 ∈ [0, 1], read as a markup over the chosen node's
  quote (capped at the budget; see :class:`UserActor` for why not a raw fraction of the budget).
  Provider actor: three prices, (tanh + 1)/2 of price_max.
- **Critics conditioned on the agent, with a size independent of N** (``critic="pooled"``,
  default): Q(own observation, own action, context). A user's context is the global state (every
  provider's observation, last round's per-node choice and bid shares) plus this round's
  per-node choice and bid shares of all users — the pooled summary of the others' simultaneous
  actions; in an auction with posted prices, payoffs depend on the others only through such
  aggregates. A provider's context is the global state plus every provider's posted prices (see
  :meth:`Maddpg.contexts` for why not the users' reactions).
  ``critic="full"`` is the faithful MADDPG critic (context = every agent's observation and
  action, concatenated); its input grows with N, so it is only allowed for N ≤ 10
  (``benchmarks/train_speed.py`` measures why). ``critic="local"`` (no context) is independent
  DDPG, the "without centralised training" ablation.
- **Replay of agent-transitions**: one preallocated ring buffer per role; a minibatch is random
  (round, agent) pairs, so an update costs the same at 50 or 10,000 users.
- **Discounting.** A user's action cannot change its own future: its next task arrives and lasts
  regardless of where this one ran (it is busy for the task's duration either way). Its critic
  therefore learns the immediate reward (γ = 0, a contextual bandit, no target network needed).
  Providers' prices take effect next round and shape demand: a provider's transition pairs the
  prices it posts with the reward of the round they apply to, and its critic bootstraps with
  γ = 0.95 and target networks (τ = 0.01). Episode ends are treated as terminal.
- **Exploration**, annealed linearly over ``anneal_rounds``: with probability ε a user picks a
  uniform node, bids get Gaussian noise σ_bid, prices σ_price; the Gumbel-softmax temperature
  for the gradient anneals too. The first ``warmup_rounds`` act uniformly at random.
- **Rewards are used as the environment pays them**; they are normalised by construction (QoE
  is a log latency ratio minus budget shares, provider rewards mix utilisation and revenue over
  one full round at reference prices), so no running normalisation moves the critics' targets.

Metric keys in ``metrics.csv``: ``charts/*`` (round, episode, wall time, exploration),
``losses/*`` (critic and actor losses, Q means), ``eval/*`` (the evaluation harness's metrics of
the greedy actors on fixed seeds).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from marlloc.algos.common import Replay, TrainingDiverged, mlp
from marlloc.algos.common import episode_seed as _episode_seed
from marlloc.algos.common import save_checkpoint as _save_checkpoint
from marlloc.algos.common import write_rows as _write_rows
from marlloc.core.config import check, to_dict
from marlloc.core.errors import ConfigError
from marlloc.core.protocol import Step
from marlloc.core.seeding import torch_rng
from marlloc.envs import make
from marlloc.evaluation import evaluate, rollout, write


@dataclass(frozen=True)
class MaddpgConfig:
    """MADDPG with shared actors per role and pooled centralised critics (seed 000 §4.1 defaults)."""

    hidden: tuple[int, ...] = (256, 256, 256)
    """Hidden layers of actors and critics (ReLU)."""
    actor_lr: float = 1e-4
    """Adam step size of the actors."""
    critic_lr: float = 1e-3
    """Adam step size of the critics."""
    gamma: float = 0.95
    """Discount of the providers' critic (users learn the immediate reward, see the module docstring)."""
    tau: float = 0.01
    """Soft target update rate."""
    replay_size: int = 100_000
    """Agent-transitions kept per role; older ones are overwritten."""
    batch_size: int = 256
    """Agent-transitions per update and role."""
    critic: str = "pooled"
    """"pooled" (N-independent), "full" (concatenate every agent, N ≤ 10) or "local" (IDDPG)."""
    n_envs: int = 1
    """Environments stepped side by side during training (one round = one step of all of them)."""
    warmup_rounds: int = 100
    """Rounds of uniform random actions before the actors act and updates start."""
    updates_per_round: int = 1
    """Gradient updates per round and role."""
    explore_start: float = 0.5
    """Probability that a user picks a uniform random node, at the end of warm-up."""
    explore_end: float = 0.02
    """... and after annealing."""
    markup_max: float = 1.0
    """Largest bid as a markup over the chosen node's quote (1.0: up to twice the quote)."""
    bid_noise_start: float = 0.2
    """Std of the Gaussian noise on the bid markup (in [0, 1]), at the end of warm-up."""
    bid_noise_end: float = 0.02
    """... and after annealing."""
    price_noise_start: float = 0.2
    """Std of the Gaussian noise on price fractions, at the end of warm-up."""
    price_noise_end: float = 0.02
    """... and after annealing."""
    gumbel_tau_start: float = 1.0
    """Gumbel-softmax temperature of the node head's gradient, at the start."""
    gumbel_tau_end: float = 0.3
    """... and after annealing."""
    anneal_rounds: int = 3000
    """Rounds over which exploration and temperature anneal linearly."""
    stochastic_execution: bool = True
    """Users sample their node from the policy when acting (identical users then spread over
    nodes instead of herding onto one); False takes the most likely node."""
    logit_reg: float = 1e-3
    """Penalty on squared node logits, keeping the softmax away from saturation."""
    grad_clip: float = 10.0
    """Max gradient norm per network."""
    max_loss: float = 1e6
    """A loss above this (or NaN) stops the run, keeping the last good checkpoint."""
    device: str = "cpu"
    """Torch device."""

    def __post_init__(self):
        check(self.critic in ("pooled", "full", "local"), "critic", "be 'pooled', 'full' or 'local'", self.critic,
              "use critic='pooled'")
        for name in ("actor_lr", "critic_lr", "tau", "max_loss", "grad_clip"):
            v = getattr(self, name)
            check(v > 0 and math.isfinite(v), name, "be positive", v, f"try {name}={getattr(MaddpgConfig, name)}")
        check(0 <= self.gamma < 1, "gamma", "lie in [0, 1)", self.gamma, "try gamma=0.95")
        for name in ("replay_size", "batch_size", "n_envs", "updates_per_round", "anneal_rounds"):
            v = getattr(self, name)
            check(isinstance(v, int) and v >= 1, name, "be an integer ≥ 1", v, f"try {name}={getattr(MaddpgConfig, name)}")
        check(isinstance(self.warmup_rounds, int) and self.warmup_rounds >= 0, "warmup_rounds", "be an integer ≥ 0",
              self.warmup_rounds, "try warmup_rounds=100")
        check(self.batch_size <= self.replay_size, "batch_size", "be ≤ replay_size", self.batch_size,
              "lower batch_size or raise replay_size")
        check(len(self.hidden) >= 1 and all(isinstance(h, int) and h > 0 for h in self.hidden), "hidden",
              "be a non-empty tuple of positive widths", self.hidden, "try hidden=(256, 256, 256)")


# --- networks -----------------------------------------------------------------------------------


class UserActor(nn.Module):
    """obs [B, D] -> node logits [B, M + 1] and a markup in [0, 1].

    The bid is parameterised relative to the chosen node's quote, which the observation holds:
    bid fraction = min(1, quote/budget · (1 + markup_max · markup)). A bid below the quote is
    always turned away and then runs locally, exactly like choosing local, so leaving those bids
    out loses no outcome — and it removes the cliff at bid = quote that a smooth critic cannot
    follow (an actor bidding a fraction of its budget learns to bid 0 and never gets in)."""

    def __init__(self, obs_dim: int, n_options: int, hidden: tuple[int, ...], quote_cols: list[int],
                 markup_max: float = 1.0):
        super().__init__()
        self.net = mlp(obs_dim, hidden, n_options + 1)
        self.register_buffer("quote_cols", torch.tensor(quote_cols, dtype=torch.long))
        self.markup_max = markup_max

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        out = self.net(obs)
        return out[:, :-1], (torch.tanh(out[:, -1]) + 1) / 2

    def bid(self, obs: Tensor, choice: Tensor, markup: Tensor) -> Tensor:
        """Bid fraction [B] for a (one-hot, possibly straight-through) choice [B, M + 1]."""
        q = obs.index_select(1, self.quote_cols)                                           # [B, M]
        quote = (choice[:, :-1] * q).sum(1)                                                # 0 when local
        return (quote * (1 + self.markup_max * markup) * (1 + 1e-6)).clamp(0, 1)


class ProviderActor(nn.Module):
    """obs [B, D] -> price fractions [B, 3] in [0, 1]."""

    def __init__(self, obs_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        self.net = mlp(obs_dim, hidden, 3)

    def forward(self, obs: Tensor) -> Tensor:
        return (torch.tanh(self.net(obs)) + 1) / 2


class Critic(nn.Module):
    """Q(own obs, own action, context) -> [B]."""

    def __init__(self, n_in: int, hidden: tuple[int, ...]):
        super().__init__()
        self.net = mlp(n_in, hidden, 1)

    def forward(self, obs: Tensor, action: Tensor, ctx: Tensor) -> Tensor:
        return self.net(torch.cat([obs, action, ctx], 1)).squeeze(1)


# --- the learner ------------------------------------------------------------------------------


class Maddpg:
    """Actors, critics, replay and the update for one batched edge market."""

    def __init__(self, env, cfg: MaddpgConfig, seed: int = 0):
        self.env, self.cfg = env, cfg
        dev = self.device = torch.device(cfg.device)
        M, N = env.n_nodes, env.n_users
        self.M, self.N = M, N
        du, dp = env.roles["user"].obs_dim, env.roles["provider"].obs_dim
        if cfg.critic == "full" and N > 10:
            check(False, "critic", "be 'pooled' or 'local' above 10 users ('full' concatenates every agent's "
                  "observation and action, so its input grows with N)", f"full with n_users={N}",
                  "use critic='pooled'")
        full = N * (du + M + 2) + M * (dp + 3)
        ctx_u = {"pooled": env.state_dim + 2 * (M + 1), "local": 0, "full": full}[cfg.critic]
        ctx_p = {"pooled": env.state_dim + 3 * M, "local": 0, "full": full}[cfg.critic]
        names = env.roles["user"].obs_names
        self.quote_cols = [names.index(f"quote_over_budget_{j}") for j in range(M)]
        with torch.random.fork_rng(devices=[]):  # initial weights from the run's seed, global RNG untouched
            torch.manual_seed(int(torch_rng(seed, "init").initial_seed()))
            self.actor_u = UserActor(du, M + 1, cfg.hidden, self.quote_cols, cfg.markup_max).to(dev)
            self.actor_p = ProviderActor(dp, cfg.hidden).to(dev)
            self.actor_p_targ = ProviderActor(dp, cfg.hidden).to(dev)
            self.critic_u = Critic(du + M + 2 + ctx_u, cfg.hidden).to(dev)
            self.critic_p = Critic(dp + 3 + ctx_p, cfg.hidden).to(dev)
            self.critic_p_targ = Critic(dp + 3 + ctx_p, cfg.hidden).to(dev)
        self.actor_p_targ.load_state_dict(self.actor_p.state_dict())
        self.critic_p_targ.load_state_dict(self.critic_p.state_dict())
        self.opt = {
            "actor_u": torch.optim.Adam(self.actor_u.parameters(), lr=cfg.actor_lr),
            "actor_p": torch.optim.Adam(self.actor_p.parameters(), lr=cfg.actor_lr),
            "critic_u": torch.optim.Adam(self.critic_u.parameters(), lr=cfg.critic_lr),
            "critic_p": torch.optim.Adam(self.critic_p.parameters(), lr=cfg.critic_lr),
        }
        self.replay_u = Replay(cfg.replay_size, {"obs": du, "node": 1, "bid": 1, "reward": 1, "ctx": ctx_u}, dev)
        self.replay_p = Replay(cfg.replay_size, {"obs": dp, "price": 3, "reward": 1, "ctx": ctx_p,
                                                 "next_obs": dp, "next_ctx": ctx_p, "done": 1}, dev)
        self.g = torch_rng(seed, "maddpg", dev)
        self.rounds = 0
        self.pending_p: dict[str, Tensor] | None = None  # provider transition waiting for its next context

    # --- acting ---
    def schedule(self) -> dict[str, float]:
        cfg = self.cfg
        f = min(max(self.rounds - cfg.warmup_rounds, 0) / cfg.anneal_rounds, 1.0)
        lerp = lambda a, b: a + (b - a) * f  # noqa: E731
        return {"eps": lerp(cfg.explore_start, cfg.explore_end), "bid_noise": lerp(cfg.bid_noise_start, cfg.bid_noise_end),
                "price_noise": lerp(cfg.price_noise_start, cfg.price_noise_end),
                "gumbel_tau": lerp(cfg.gumbel_tau_start, cfg.gumbel_tau_end)}

    @torch.no_grad()
    def explore(self, step: Step) -> dict[str, dict[str, Tensor]]:
        """Behaviour actions: uniform during warm-up, then the actors with annealed noise."""
        env, g, M = self.env, self.g, self.M
        if self.rounds < self.cfg.warmup_rounds:
            return env.sample_actions(g)
        sch = self.schedule()
        E, N = env.n_envs, self.N
        obs_u = step.obs["user"].reshape(E * N, -1)
        idx = step.active["user"].reshape(-1).nonzero().squeeze(1)
        node = torch.full((E * N,), M, dtype=torch.long, device=self.device)
        bid = torch.zeros(E * N, device=self.device)
        if idx.numel():
            o = obs_u[idx]
            logits, markup = self.actor_u(o)
            pick = (logits + gumbel_noise(logits.shape, g)).argmax(1)  # a sample of softmax(logits)
            rand = torch.randint(M + 1, pick.shape, generator=g, device=self.device)
            pick = torch.where(torch.rand(pick.shape, generator=g, device=self.device) < sch["eps"], rand, pick)
            markup = (markup + sch["bid_noise"] * torch.randn(markup.shape, generator=g, device=self.device)).clamp(0, 1)
            node[idx] = pick
            bid[idx] = self.actor_u.bid(o, F.one_hot(pick, M + 1).float(), markup)
        price = self.actor_p(step.obs["provider"].reshape(E * M, -1))
        price = (price + sch["price_noise"] * torch.randn(price.shape, generator=g, device=self.device)).clamp(0, 1)
        return {"user": {"node": node.view(E, N), "bid": bid.view(E, N, 1)}, "provider": {"price": price.view(E, M, 3)}}

    # --- storing ---
    def contexts(self, before: Step, after: Step, actions: dict) -> tuple[Tensor, Tensor]:
        """What the centralised critics see of a round, per role: ([E, C_user], [E, C_provider]).

        Users move simultaneously, so a user's critic sees the global state before the round and
        this round's per-node choice and bid shares of everyone. A provider's prices apply to
        the *next* round, whose users react to them: conditioning on those reactions would hide
        the demand response, so a provider's critic sees the state before its move and the
        prices all providers post at the same time (its real simultaneous opponents)."""
        E, M = self.env.n_envs, self.M
        if self.cfg.critic == "local":
            none = torch.zeros(E, 0, device=self.device)
            return none, none
        prices = actions["provider"]["price"].reshape(E, -1)
        if self.cfg.critic == "pooled":
            lay = self.env.state_layout
            this_round = after.state[:, lay["choices"].start:lay["bids"].stop]
            return torch.cat([before.state, this_round], 1), torch.cat([before.state, prices], 1)
        act = before.active["user"][..., None]
        node = F.one_hot(actions["user"]["node"], M + 1).float() * act
        users = torch.cat([before.obs["user"], node, actions["user"]["bid"] * act], 2).reshape(E, -1)
        provs = torch.cat([before.obs["provider"], actions["provider"]["price"]], 2).reshape(E, -1)
        joint = torch.cat([users, provs], 1)
        return joint, joint

    def store(self, before: Step, actions: dict, after: Step) -> None:
        E, M, N = self.env.n_envs, self.M, self.N
        ctx_u, ctx_p = self.contexts(before, after, actions)
        # users: one transition per decision, learning the immediate reward
        idx = before.active["user"].reshape(-1).nonzero().squeeze(1)
        self.replay_u.add(obs=before.obs["user"].reshape(E * N, -1)[idx],
                          node=actions["user"]["node"].reshape(-1)[idx].float(),
                          bid=actions["user"]["bid"].reshape(-1)[idx],
                          reward=after.reward["user"].reshape(-1)[idx],
                          ctx=ctx_u[idx // N])
        # providers: this round's reward is what last round's prices earned; it completes the
        # transition held since then, whose next state is this round's
        obs_p = before.obs["provider"].reshape(E * M, -1)
        ctx_p = ctx_p.repeat_interleave(M, 0)
        end = bool((after.truncated | after.terminated).all())
        if self.pending_p is not None:
            p = self.pending_p
            live = p.pop("live")
            rows = {**p, "reward": after.reward["provider"].reshape(-1)[live], "next_obs": obs_p[live],
                    "next_ctx": ctx_p[live], "done": torch.full((int(live.sum()), 1), float(end), device=self.device)}
            self.replay_p.add(**rows)
        # the prices posted now earn next round's reward; at an episode end there is none
        live = ~before.done["provider"].reshape(-1)
        self.pending_p = None if end else {"obs": obs_p[live], "price": actions["provider"]["price"].reshape(E * M, 3)[live],
                                           "ctx": ctx_p[live], "live": live}

    # --- learning ---
    def straight_through(self, logits: Tensor, tau: float) -> Tensor:
        """Gumbel-softmax sample: hard one-hot forward, soft gradient (noise from the run's generator)."""
        soft = torch.softmax((logits + gumbel_noise(logits.shape, self.g)) / tau, 1)
        hard = F.one_hot(soft.argmax(1), logits.shape[1]).to(soft.dtype)
        return hard - soft.detach() + soft

    def _clip_step(self, name: str, loss: Tensor, params) -> None:
        self.opt[name].zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        self.opt[name].step()

    def update(self) -> dict[str, float]:
        """One update of both roles from random agent-transitions; returns losses."""
        cfg, g, M = self.cfg, self.g, self.M
        out: dict[str, float] = {}
        if self.replay_u.n >= cfg.batch_size:
            b = self.replay_u.sample(cfg.batch_size, g)
            act = torch.cat([F.one_hot(b["node"][:, 0].long(), M + 1).float(), b["bid"]], 1)
            q = self.critic_u(b["obs"], act, b["ctx"])
            loss_c = F.mse_loss(q, b["reward"][:, 0])
            self._clip_step("critic_u", loss_c, self.critic_u.parameters())
            logits, markup = self.actor_u(b["obs"])
            soft = self.straight_through(logits, self.schedule()["gumbel_tau"])
            bid = self.actor_u.bid(b["obs"], soft, markup)
            q_pi = self.critic_u(b["obs"], torch.cat([soft, bid[:, None]], 1), b["ctx"])
            loss_a = -q_pi.mean() + cfg.logit_reg * (logits**2).mean()
            self._clip_step("actor_u", loss_a, self.actor_u.parameters())
            out.update({"losses/critic_user": loss_c.item(), "losses/actor_user": loss_a.item(),
                        "losses/q_user": q.mean().item()})
        if self.replay_p.n >= cfg.batch_size:
            b = self.replay_p.sample(cfg.batch_size, g)
            with torch.no_grad():
                nxt = self.critic_p_targ(b["next_obs"], self.actor_p_targ(b["next_obs"]), b["next_ctx"])
                y = b["reward"][:, 0] + cfg.gamma * (1 - b["done"][:, 0]) * nxt
            q = self.critic_p(b["obs"], b["price"], b["ctx"])
            loss_c = F.mse_loss(q, y)
            self._clip_step("critic_p", loss_c, self.critic_p.parameters())
            loss_a = -self.critic_p(b["obs"], self.actor_p(b["obs"]), b["ctx"]).mean()
            self._clip_step("actor_p", loss_a, self.actor_p.parameters())
            with torch.no_grad():
                for net, targ in ((self.actor_p, self.actor_p_targ), (self.critic_p, self.critic_p_targ)):
                    for p, pt in zip(net.parameters(), targ.parameters(), strict=True):
                        pt.lerp_(p, cfg.tau)
            out.update({"losses/critic_provider": loss_c.item(), "losses/actor_provider": loss_a.item(),
                        "losses/q_provider": q.mean().item()})
        return out

    # --- checkpoints ---
    NETS = ("actor_u", "actor_p", "actor_p_targ", "critic_u", "critic_p", "critic_p_targ")

    def state_dict(self) -> dict:
        d = {name: getattr(self, name).state_dict() for name in self.NETS}
        d["opt"] = {k: o.state_dict() for k, o in self.opt.items()}
        d["replay_u"], d["replay_p"] = self.replay_u.state_dict(), self.replay_p.state_dict()
        d["g"], d["rounds"] = self.g.get_state(), self.rounds
        d["pending_p"] = self.pending_p
        return d

    def load_state_dict(self, d: dict) -> None:
        for name in self.NETS:
            getattr(self, name).load_state_dict(d[name])
        for k, o in self.opt.items():
            o.load_state_dict(d["opt"][k])
        self.replay_u.load_state_dict(d["replay_u"])
        self.replay_p.load_state_dict(d["replay_p"])
        self.g.set_state(d["g"])
        self.rounds = int(d["rounds"])
        self.pending_p = d["pending_p"]


# --- decentralised execution ----------------------------------------------------------------


class UserDecision(nn.Module):
    """Actor-only user policy: (local observation [B, D], Gumbel noise [B, M + 1]) -> (node [B]
    long, bid fraction [B]); needs neither critics nor the environment.

    The node is argmax(logits + noise): with standard Gumbel noise it is a sample of the
    policy's softmax (stochastic execution), with zero noise its mode. Passing the noise in keeps
    the module deterministic and exportable; :func:`gumbel_noise` draws it."""

    def __init__(self, actor: UserActor):
        super().__init__()
        self.actor = actor

    def forward(self, obs: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
        logits, markup = self.actor(obs)
        node = (logits + noise).argmax(1)
        return node, self.actor.bid(obs, F.one_hot(node, logits.shape[1]).float(), markup)


def gumbel_noise(shape, g: torch.Generator) -> Tensor:
    """Standard Gumbel noise from generator ``g``."""
    return -torch.log(-torch.log(torch.rand(shape, generator=g, device=g.device).clamp_min(1e-20)))


class ProviderDecision(nn.Module):
    """Actor-only provider policy: local observation [B, D] -> price fractions [B, 3]."""

    def __init__(self, actor: ProviderActor):
        super().__init__()
        self.actor = actor

    def forward(self, obs: Tensor) -> Tensor:
        return self.actor(obs)


class _UserPolicy:
    """Role policy (``act(step)``) from a user decision module: only deciding users are computed.
    ``sample=True`` draws each node from the policy (noise from a generator seeded with
    ``seed``), ``False`` takes the mode."""

    def __init__(self, decision: nn.Module, n_nodes: int, sample: bool = True, seed: int = 0):
        self.decision, self.M, self.sample = decision, n_nodes, sample
        self.g = torch.Generator(device=next(decision.parameters()).device).manual_seed(seed)

    @torch.no_grad()
    def act(self, step: Step) -> dict[str, Tensor]:
        obs = step.obs["user"]
        E, N, _ = obs.shape
        idx = step.active["user"].reshape(-1).nonzero().squeeze(1)
        node = torch.full((E * N,), self.M, dtype=torch.long, device=obs.device)
        bid = torch.zeros(E * N, device=obs.device)
        if idx.numel():
            shape = (idx.numel(), self.M + 1)
            noise = gumbel_noise(shape, self.g) if self.sample else torch.zeros(shape, device=obs.device)
            node[idx], bid[idx] = self.decision(obs.reshape(E * N, -1)[idx], noise)
        return {"node": node.view(E, N), "bid": bid.view(E, N, 1)}


class _ProviderPolicy:
    def __init__(self, decision: nn.Module):
        self.decision = decision

    @torch.no_grad()
    def act(self, step: Step) -> dict[str, Tensor]:
        obs = step.obs["provider"]
        E, M, _ = obs.shape
        return {"price": self.decision(obs.reshape(E * M, -1)).view(E, M, 3)}


def policies(learner: Maddpg, seed: int = 0) -> dict[str, object]:
    """The learner's actors, without exploration noise, as a joint policy for the harness."""
    return {"user": _UserPolicy(UserDecision(learner.actor_u), learner.M, learner.cfg.stochastic_execution, seed),
            "provider": _ProviderPolicy(ProviderDecision(learner.actor_p))}


def load_policy(path: str | Path, env, seed: int = 0) -> dict[str, object]:
    """A joint policy from a training checkpoint (actors only), checked against ``env``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"maddpg checkpoint must be an existing file, got {str(path)!r}; "
                          "pass DIR/checkpoints/last.pt of a training run")
    ck = torch.load(path, weights_only=True, map_location=env.device)
    hidden, markup_max = tuple(ck["algo_config"]["hidden"]), ck["algo_config"]["markup_max"]
    du, dp, M = env.roles["user"].obs_dim, env.roles["provider"].obs_dim, env.n_nodes
    names = env.roles["user"].obs_names
    quote_cols = [names.index(f"quote_over_budget_{j}") for j in range(M)]
    actor_u, actor_p = UserActor(du, M + 1, hidden, quote_cols, markup_max), ProviderActor(dp, hidden)
    try:
        actor_u.load_state_dict(ck["learner"]["actor_u"])
        actor_p.load_state_dict(ck["learner"]["actor_p"])
    except RuntimeError:
        raise ConfigError(f"checkpoint {path} was trained on a market with other observation sizes "
                          f"(this one: {du} user / {dp} provider features, {M} nodes); evaluate it with its "
                          "own n_edges") from None
    sample = ck["algo_config"]["stochastic_execution"]
    return {"user": _UserPolicy(UserDecision(actor_u).to(env.device), M, sample, seed),
            "provider": _ProviderPolicy(ProviderDecision(actor_p).to(env.device))}


def export(path: str | Path, out_dir: str | Path) -> list[Path]:
    """Export a checkpoint's actors with ``torch.export`` (``user.pt2``, ``provider.pt2``):
    ``torch.export.load(f).module()`` maps ``(obs, noise)`` (users) or ``obs`` (providers) to the
    same actions as the trained policy; zero noise gives the users' most likely node."""
    ck = torch.load(Path(path), weights_only=True)
    hidden, markup_max = tuple(ck["algo_config"]["hidden"]), ck["algo_config"]["markup_max"]
    dims = ck["dims"]
    actor_u = UserActor(dims["user_obs"], dims["n_nodes"] + 1, hidden, dims["quote_cols"], markup_max)
    actor_p = ProviderActor(dims["provider_obs"], hidden)
    actor_u.load_state_dict(ck["learner"]["actor_u"])
    actor_p.load_state_dict(ck["learner"]["actor_p"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1)
    files = []
    n_opt = dims["n_nodes"] + 1
    for name, module, args, shapes in (
        ("user", UserDecision(actor_u), (torch.zeros(2, dims["user_obs"]), torch.zeros(2, n_opt)), ({0: batch}, {0: batch})),
        ("provider", ProviderDecision(actor_p), (torch.zeros(2, dims["provider_obs"]),), ({0: batch},)),
    ):
        program = torch.export.export(module.eval(), args, dynamic_shapes=shapes)
        f = out / f"{name}.pt2"
        torch.export.save(program, f)
        files.append(f)
    return files


# --- training -------------------------------------------------------------------------------


COLUMNS = ["round", "charts/episode", "charts/wall_s", "charts/eps", "charts/bid_noise", "charts/price_noise",
           "charts/gumbel_tau", "train/reward_user", "train/reward_provider", "losses/critic_user", "losses/actor_user",
           "losses/q_user", "losses/critic_provider", "losses/actor_provider", "losses/q_provider"] + [
           f"eval/{k}" for k in ("system_utility", "avg_qoe", "avg_qoe_norm", "utilisation", "jain", "gini",
                                 "deadline_rate", "rejection_rate", "revenue", "latency_ms")]


def train(cfg: MaddpgConfig, env_config: dict, rounds: int, seed: int, out: str | Path, *,
          eval_every_rounds: int = 100, eval_episodes: int = 2, eval_seed: int = 10_000,
          checkpoint_every_rounds: int = 500, resume: bool = False, final_episodes: int = 5,
          tensorboard: bool = False, progress=None) -> dict:
    """Train MADDPG on ``edge_market_v0`` for ``rounds`` rounds into the run folder ``out``.

    Writes ``config.json``, ``metrics.csv`` (rewritten atomically at every checkpoint, so it always
    matches ``checkpoints/last.pt``), ``checkpoints/last.pt`` every ``checkpoint_every_rounds``
    (networks, targets, optimisers, replay, environment state, RNG states, counters, config) and,
    at the end, ``summary.json`` from the evaluation harness (policy ``maddpg``, ``final_episodes``
    episodes on seed ``eval_seed``, with the LP bound). ``resume=True`` continues ``out`` exactly.
    """
    out = Path(out)
    ck_dir = out / "checkpoints"
    last = ck_dir / "last.pt"
    check(isinstance(rounds, int) and rounds >= 1, "rounds", "be an integer ≥ 1", rounds, "try rounds=5000")
    for name, v in (("eval_every_rounds", eval_every_rounds), ("checkpoint_every_rounds", checkpoint_every_rounds),
                    ("eval_episodes", eval_episodes)):
        check(isinstance(v, int) and v >= 1, name, "be an integer ≥ 1", v, "try 100")
    env = make("edge_market_v0", **env_config)
    eval_env = make("edge_market_v0", **env_config)
    learner = Maddpg(env, cfg, seed)
    rows: list[dict] = []
    writer = None
    if tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package; install it with "
                              "pip install 'marlloc[tensorboard]'") from None
        writer = SummaryWriter(str(out / "tensorboard"))
    if resume:
        if not last.is_file():
            raise ConfigError(f"--resume needs {last}, which does not exist; start the run without --resume")
        ck = torch.load(last, weights_only=True, map_location=learner.device)
        if ck["algo_config"] != to_dict(cfg) or ck["env_config"] != to_dict(env.config) or ck["seed"] != seed:
            raise ConfigError(f"--resume must use the run's own settings; {out}/config.json holds them")
        learner.load_state_dict(ck["learner"])
        env.load_state_dict(ck["env"])
        step = Step(info={}, **ck["step"])
        r, episode, wall0 = int(ck["round"]), int(ck["episode"]), float(ck["wall_s"])
        with open(out / "metrics.csv", newline="") as f:
            rows = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(f) if int(row["round"]) <= r]
    else:
        ck_dir.mkdir(parents=True, exist_ok=True)
        run = {"eval_every_rounds": eval_every_rounds, "eval_episodes": eval_episodes, "eval_seed": eval_seed,
               "checkpoint_every_rounds": checkpoint_every_rounds, "final_episodes": final_episodes}
        (out / "config.json").write_text(json.dumps({"algo": "maddpg", "seed": seed, "rounds": rounds, "run": run,
                                                     "algo_config": to_dict(cfg), "env_config": to_dict(env.config)},
                                                    indent=2) + "\n")
        step = env.reset(n_envs=cfg.n_envs, seed=_episode_seed(seed, 0))
        r, episode, wall0 = 0, 0, 0.0
    t0 = time.perf_counter() - wall0

    def checkpoint():
        _save_checkpoint(last, {
            "format": "marlloc-maddpg-v1", "algo_config": to_dict(cfg), "env_config": to_dict(env.config),
            "seed": seed, "round": r, "episode": episode, "wall_s": time.perf_counter() - t0,
            "dims": {"user_obs": env.roles["user"].obs_dim, "provider_obs": env.roles["provider"].obs_dim,
                     "n_nodes": env.n_nodes, "quote_cols": learner.quote_cols},
            "learner": learner.state_dict(), "env": env.state_dict(),
            "step": {"obs": step.obs, "reward": step.reward, "active": step.active, "done": step.done,
                     "state": step.state, "terminated": step.terminated, "truncated": step.truncated},
        })
        _write_rows(out / "metrics.csv", rows, COLUMNS)

    while r < rounds:
        # --- collect ---
        actions = learner.explore(step)
        nxt = env.step(actions, check=False)
        learner.store(step, actions, nxt)
        learner.rounds += 1
        r += 1
        row = {"round": r, "charts/episode": episode, **{f"charts/{k}": v for k, v in learner.schedule().items()}}
        active = step.active["user"]
        row["train/reward_user"] = float(nxt.reward["user"][active].mean()) if bool(active.any()) else 0.0
        row["train/reward_provider"] = float(nxt.reward["provider"].mean())
        # --- update ---
        if learner.rounds > cfg.warmup_rounds:
            for _ in range(cfg.updates_per_round):
                losses = learner.update()
            bad = {k: v for k, v in losses.items() if k.startswith("losses/critic") or k.startswith("losses/actor")
                   if not math.isfinite(v) or abs(v) > cfg.max_loss}
            if bad:
                k, v = next(iter(bad.items()))
                kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written yet"
                raise TrainingDiverged(f"{k} reached {v} at round {r}, so training stopped; {kept}; "
                                       "lower critic_lr and actor_lr, or grad_clip")
            row.update(losses)
        # --- evaluate ---
        if r % eval_every_rounds == 0 or r == rounds:
            ev = rollout(eval_env, policies(learner, eval_seed), eval_episodes, eval_seed)
            row.update({f"eval/{k}": float(v.mean()) for k, v in ev.items() if k != "wall_s"})
        row["charts/wall_s"] = time.perf_counter() - t0
        rows.append(row)
        if writer is not None:
            for k, v in row.items():
                if k != "round":
                    writer.add_scalar(k, v, r)
        if progress is not None:
            progress(r, row)
        # --- next round, checkpoint ---
        if bool((nxt.truncated | nxt.terminated).all()):
            episode += 1
            step = env.reset(n_envs=cfg.n_envs, seed=_episode_seed(seed, episode))
        else:
            step = nxt
        if r % checkpoint_every_rounds == 0 or r == rounds:
            checkpoint()
    if writer is not None:
        writer.close()
    ev = evaluate([f"maddpg:{last}"], "edge_market_v0", env_config, episodes=final_episodes, seeds=[eval_seed])
    write(ev, out)
    return ev.summary()
