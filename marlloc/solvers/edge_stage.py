"""The edge market's stage game at the current state: unilateral deviation gains, NashConv and ε.

Estimate 2 of ``shared/design/game-theory.md``: a grid search over one agent's action with
everyone else frozen, done as batched what-if steps of copies of the batch
(:meth:`~marlloc.envs.edge.market.EdgeMarket.select`), one deviating agent per copy.

Users (a one-round stage game: a user's reward is booked in the round it decides)
    ``n_users`` users with a decision this round (pending) are sampled per environment, uniformly
    without replacement, from the stage's own seeded generator. Each is tried on every candidate
    — every node × ``bid_levels`` bid fractions ``linspace(0, 1, bid_levels)`` of its budget,
    running locally once (the bid is then unused), every node at exactly its quote (the cheapest
    admissible bid, which the grid would miss by up to a grid step) and, as the last candidate,
    the action its policy chose — with every other user's and provider's action frozen. The sampled users of
    one *slot* (the s-th sampled user of every environment) deviate together, in different
    copies of their own environment; within a copy only one user deviates, since two deviating
    users at the same node would see each other. δ_user = max over candidates of its reward −
    its reward under the chosen joint action (from a separate what-if step of the chosen
    profile, so a negative value would expose a mismatch between the copies; it cannot arise
    otherwise, the chosen action being a candidate). Exact for the stage game up to the bid grid.

Providers (a two-round lookahead, undiscounted)
    A provider's ``price`` takes effect next round, so a one-round stage game cannot see it.
    Provider p's payoff for a candidate price π' is r_p(t) + r_p(t + 1): round t is played with
    the chosen joint action except that p posts π' (nothing in round t depends on the posted
    price, so r_p(t) is the same for every candidate); round t + 1 is played with every agent's
    *policy* frozen — the policies are queried on the observations of round t + 1, which show
    π' to the users — and the round t + 1 rewards are summed with round t's. Candidates:
    ``price_levels`` fractions ``linspace(0, 1, price_levels)`` of price_max, the same on the
    three components (``per_component=False``, the default: ``price_levels`` candidates) or
    every combination (``per_component=True``: ``price_levels³``), plus the chosen price.
    δ_provider = max over candidates − the two-round sum under the chosen price, with common
    random numbers: every candidate continues from one what-if round t, so round t + 1 meets
    the same arrivals, and a stochastic policy (one with a generator ``g``: ``random``, trained
    users with stochastic execution) is queried once per candidate with its generator restored
    to the same state (and left as it was afterwards). A policy whose decisions couple the
    environments of its batch (``batch_coupled``: ``optimum``, one MILP with a shared gap and
    time limit) is queried once per candidate on a batch of E copies, like the real batch;
    other deterministic policies (``greedy``, ``sequential_greedy``, the providers' pricing
    rules) once on all copies, bound to the copies' state. A grid price that the provider
    already posts in every environment is not replayed (it scores as the chosen price). Effects
    beyond round t + 1 (tasks admitted at t + 1 hold capacity for their duration) are not
    counted. In the last round of an episode no price takes effect again: δ_provider = 0.

Aggregates (:class:`StageGains`), per environment:

- ``nash_conv_sampled`` = Σ_providers δ + Σ_sampled users δ — the sum over the agents searched;
- ``nash_conv`` = Σ_providers δ + (A / S)·Σ_sampled users δ with A active users and S = min(A,
  n_users) sampled: an unbiased estimate of the full Σ_i δ_i (users without a decision this round
  have δ = 0 exactly). It is an estimate from a sample, not the full sum;
- ``epsilon`` = max over providers and *sampled* users of δ: a lower bound of the max over all agents;
- ``epsilon_rel`` = max over the same agents of δ_i ÷ the payoff range of i's role: the largest
  minus the smallest payoff that the role's searched agents could get over all their candidates
  at this state (a role with a zero range contributes 0). Users' and providers' payoffs have
  different scales, so each is divided by its own role's range.

Cost: one what-if step of E·S·(M·(bid_levels + 1) + 2) copies for the users (592 per environment
at the defaults and M = 6) and, for the providers, a what-if round t + 1 of E·(1 + M·J) copies with
the policies queried on them (31 per environment at the defaults); batches above ``max_copies``
are split. At 200 users and 5 environments one search takes about 0.3 s with ``random``,
``greedy`` or ``sequential_greedy`` and about 1.5 s with ``optimum``, whose MILP is solved again
for every provider candidate (our measurements, 2 shared CPU cores).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import torch
from torch import Tensor

from marlloc.core.config import check
from marlloc.core.protocol import Step
from marlloc.policies import QUOTE_MARGIN


@dataclass(frozen=True)
class StageGains:
    """Deviation gains of one stage search; E environments, S user slots, M providers."""

    user: Tensor            # [E, S] δ of the sampled users (0 in empty slots; negatives kept)
    user_index: Tensor      # [E, S] long, the sampled users (−1 = empty slot)
    provider: Tensor        # [E, M] δ of every provider (two-round lookahead)
    n_active: Tensor        # [E] users with a decision this round
    user_range: Tensor      # [E] payoff range of the users' candidates (max − min)
    provider_range: Tensor  # [E] payoff range of the providers' candidates (two-round sums)

    @property
    def nash_conv_sampled(self) -> Tensor:
        return self.provider.sum(1) + self.user.sum(1)

    @property
    def nash_conv(self) -> Tensor:
        n_sampled = (self.user_index >= 0).sum(1).clamp_min(1)
        return self.provider.sum(1) + self.user.sum(1) * self.n_active / n_sampled

    @property
    def epsilon_user(self) -> Tensor:
        return self.user.max(1).values

    @property
    def epsilon_provider(self) -> Tensor:
        return self.provider.max(1).values

    @property
    def epsilon(self) -> Tensor:
        return torch.maximum(self.epsilon_user, self.epsilon_provider)

    @property
    def epsilon_rel(self) -> Tensor:
        rel = lambda eps, rng: torch.where(rng > 0, eps / rng.clamp_min(1e-12), 0.0)  # noqa: E731
        return torch.maximum(rel(self.epsilon_user, self.user_range), rel(self.epsilon_provider, self.provider_range))


class EdgeStage:
    """Stage-game deviation gains of ``edge_market_v0`` at the batch's current state; see the module
    docstring. The batch itself, and the policies, are left untouched."""

    def __init__(self, env, n_users: int = 8, bid_levels: int = 11, price_levels: int = 5,
                 per_component: bool = False, seed: int = 0, max_copies: int = 4096):
        check(isinstance(n_users, int) and n_users >= 1, "n_users", "be an integer ≥ 1", n_users, "try n_users=8")
        check(isinstance(bid_levels, int) and bid_levels >= 2, "bid_levels", "be an integer ≥ 2", bid_levels,
              "try bid_levels=11")
        check(isinstance(price_levels, int) and price_levels >= 2, "price_levels", "be an integer ≥ 2",
              price_levels, "try price_levels=5")
        check(isinstance(max_copies, int) and max_copies >= 1, "max_copies", "be an integer ≥ 1", max_copies,
              "try max_copies=4096")
        self.env, self.n_users, self.max_copies = env, n_users, max_copies
        dev, M = env.device, env.n_nodes
        self.g = torch.Generator(device=dev).manual_seed(seed)
        # user candidates: node j with bid fraction b for every (j, b), then local once
        bids = torch.linspace(0, 1, bid_levels, device=dev)
        self.cand_node = torch.cat([torch.arange(M, device=dev).repeat_interleave(bid_levels),
                                    torch.tensor([M], device=dev)])                      # [C0]
        self.cand_bid = torch.cat([bids.repeat(M), torch.zeros(1, device=dev)])          # [C0]
        levels = torch.linspace(0, 1, price_levels, device=dev)
        if per_component:
            self.price_grid = torch.tensor(list(itertools.product(levels.tolist(), repeat=3)), device=dev)
        else:
            self.price_grid = levels[:, None].expand(-1, 3).contiguous()                 # [J, 3]

    # --- users --------------------------------------------------------------------------------
    def sample_users(self) -> Tensor:
        """[E, S] users with a decision this round, sampled without replacement (−1 = empty slot)."""
        env = self.env
        s, E, N, S = env._s, env.n_envs, env.n_users, self.n_users
        idx, env_a = s.pending_idx, s.pending_env
        # a random order within each environment: sort by environment + a uniform key in [0, 1)
        key = env_a.double() + torch.rand(idx.numel(), generator=self.g, dtype=torch.float64, device=env.device)
        order = key.argsort()
        idx, env_a = idx[order], env_a[order]
        counts = torch.bincount(env_a, minlength=E)
        pos = torch.arange(idx.numel(), device=env.device) - (counts.cumsum(0) - counts)[env_a]
        keep = pos < S
        users = torch.full((E, S), -1, dtype=torch.long, device=env.device)
        users[env_a[keep], pos[keep]] = idx[keep] - env_a[keep] * N
        return users

    def user_candidates(self, actions: dict, users: Tensor) -> tuple[Tensor, Tensor]:
        """Node ``[E, S, C]`` and bid fraction ``[E, S, C]`` of every candidate of the sampled users:
        the grid, then every node at its quote (the cheapest admissible bid, which the grid
        would miss), then the chosen action. Empty slots get the chosen action throughout."""
        env, dev = self.env, self.env.device
        s, (E, S), M = env._s, users.shape, env.n_nodes
        who = users.clamp(min=0)
        env_a = torch.arange(E, device=dev).repeat_interleave(S)                           # [E·S]
        flat = env_a * env.n_users + who.reshape(-1)
        quote = env.quotes(s.prices, env_a, s.task_type.view(-1)[flat])                    # [E·S, M]
        at_quote = (quote / s.budget.view(-1)[flat, None].clamp_min(1e-12) * (1 + QUOTE_MARGIN)).clamp(0, 1)
        chosen_node = actions["user"]["node"].gather(1, who)[..., None]                    # [E, S, 1]
        chosen_bid = actions["user"]["bid"][..., 0].gather(1, who)[..., None]
        node = torch.cat([self.cand_node.expand(E, S, -1), torch.arange(M, device=dev).expand(E, S, M),
                          chosen_node.to(self.cand_node.dtype)], 2)
        bid = torch.cat([self.cand_bid.expand(E, S, -1), at_quote.view(E, S, M), chosen_bid], 2)
        empty = (users < 0)[..., None]
        return torch.where(empty, chosen_node, node), torch.where(empty, chosen_bid, bid)

    def user_deviations(self, actions: dict, users: Tensor) -> Tensor:
        """Own reward ``[E, S, C]`` of each sampled user on every candidate of
        :meth:`user_candidates` (the chosen action last, ``C = n_nodes · (bid_levels + 1) + 2``),
        everyone else's action frozen. Empty slots play the chosen profile."""
        E, S = users.shape
        C = self.cand_node.numel() + self.env.n_nodes + 1
        per = max(1, self.max_copies // (E * C))  # slots per what-if batch, to bound memory
        return torch.cat([self._user_chunk(actions, users[:, a:a + per]) for a in range(0, S, per)], 1)

    def _user_chunk(self, actions: dict, users: Tensor) -> Tensor:
        """:meth:`user_deviations` for some slots, in one what-if batch of copies ``[E, S, C]``."""
        env, dev = self.env, self.env.device
        node, bid = self.user_candidates(actions, users)                                   # [E, S, C]
        E, S, C = node.shape
        K = E * S * C
        sub = env.select(torch.arange(E, device=dev).repeat_interleave(S * C))
        acts = {r: {c: a.repeat_interleave(S * C, 0) for c, a in comps.items()} for r, comps in actions.items()}
        node, bid = node.reshape(K), bid.reshape(K)
        who = users.clamp(min=0)
        rows = torch.arange(K, device=dev)
        cols = who.repeat_interleave(C, 1).reshape(K)
        acts["user"]["node"][rows, cols] = node.to(acts["user"]["node"].dtype)
        acts["user"]["bid"][rows, cols, 0] = bid
        st = sub.step(acts, check=False)
        return st.reward["user"][rows, cols].view(E, S, C)

    # --- providers ----------------------------------------------------------------------------
    def provider_deviations(self, actions: dict, policies: dict) -> Tensor:
        """Two-round payoff ``[E, M, J + 1]`` of each provider on every candidate price, the
        chosen price last; everything else frozen (actions this round, policies next round)."""
        env, dev = self.env, self.env.device
        E, M, J = env.n_envs, env.n_nodes, len(self.price_grid)
        base = env.select(torch.arange(E, device=dev))
        r1 = base.step(actions, check=False).reward["provider"]                          # [E, M]
        if base._s.round >= env.config.episode_rounds:  # no round in which a new price applies
            return r1[..., None].expand(E, M, J + 1).clone()
        per = max(1, (self.max_copies // E - 1) // J)  # providers per what-if batch, to bound memory
        parts = [self._provider_chunk(base, actions, policies, torch.arange(a, min(M, a + per), device=dev))
                 for a in range(0, M, per)]
        return r1[..., None] + torch.cat([torch.cat([o, ch[..., None]], 2) for o, ch in parts], 1)

    def _provider_chunk(self, base, actions: dict, policies: dict, provs: Tensor) -> tuple[Tensor, Tensor]:
        """Round t + 1 rewards of the providers ``provs`` ([P]) on every grid price ``[E, P, J]``
        and under the chosen prices ``[E, P]``, from one what-if batch (so each provider's
        baseline comes from the same batch as its deviations)."""
        env, dev = self.env, self.env.device
        E, M, J, P = env.n_envs, env.n_nodes, len(self.price_grid), provs.numel()
        chosen = actions["provider"]["price"].float()                                     # [E, M, 3]
        # a grid price that the provider already posts in every environment would replay block 0
        # (always so under fixed pricing): only the other (provider, price) pairs get copies
        same = (chosen[:, provs, None, :] == self.price_grid[None, None]).all(3).all(0)   # [P, J]
        pp, jj = (~same).nonzero(as_tuple=True)                                           # [K] each
        K = pp.numel()
        B = 1 + K                                         # copies [B, E]: block 0 the chosen prices
        price = chosen.repeat(B, 1, 1).view(B, E, M, 3)
        blocks = torch.arange(1, B, device=dev)
        price[blocks, :, provs[pp]] = self.price_grid[jj][:, None, :]
        sub = base.select(torch.arange(E, device=dev).repeat(B))
        step = sub.post_prices(price.view(B * E, M, 3))
        r2 = sub.step(self._frozen(policies, sub, step, B), check=False).reward["provider"].view(B, E, M)
        own = r2[0][:, provs, None].expand(E, P, J).clone()                              # [E, P, J]
        own[:, pp, jj] = r2[blocks, :, provs[pp]].T
        return own, r2[0][:, provs]

    def _frozen(self, policies: dict, sub, step: Step, n_blocks: int) -> dict:
        """The policies' actions on the copies ``[n_blocks · E]`` (see the module docstring)."""
        E = self.env.n_envs
        out = {}
        for role, p in policies.items():
            g = getattr(p, "g", None)
            if isinstance(g, torch.Generator):
                state, parts = g.get_state(), []
                for b in range(n_blocks):  # common random numbers: the same draws in every block
                    g.set_state(state)
                    parts.append(p.act(_block(step, b, E)))
                g.set_state(state)
                out[role] = {c: torch.cat([pt[c] for pt in parts]) for c in parts[0]}
            elif getattr(p, "batch_coupled", False):
                # one query per block of E copies, bound to it: the batch the policy meets for real
                q, parts = copy.deepcopy(p, memo={id(self.env): self.env}), []
                for b in range(n_blocks):
                    q.env = sub.select(torch.arange(b * E, (b + 1) * E, device=sub.device))
                    parts.append(q.act(_block(step, b, E)))
                out[role] = {c: torch.cat([pt[c] for pt in parts]) for c in parts[0]}
            else:
                # bound to the copies (centralised policies read the environment's state); a deep
                # copy, so that nothing the policy keeps changes
                out[role] = copy.deepcopy(p, memo={id(self.env): sub}).act(step)
        return out

    # --- aggregates ---------------------------------------------------------------------------
    def gains(self, actions: dict, policies: dict) -> StageGains:
        """Deviation gains at the current state for the joint action ``actions`` that ``policies``
        (one per role, as for :func:`marlloc.policies.act`) chose."""
        env, dev = self.env, self.env.device
        E = env.n_envs
        users = self.sample_users()
        base = env.select(torch.arange(E, device=dev)).step(actions, check=False).reward["user"]   # [E, N]
        own_u = self.user_deviations(actions, users)                                     # [E, S, C]
        valid = users >= 0
        delta_u = torch.where(valid, own_u.max(2).values - base.gather(1, users.clamp(min=0)), 0.0)
        own_p = self.provider_deviations(actions, policies)                              # [E, M, J + 1]
        delta_p = own_p.max(2).values - own_p[..., -1]
        span = lambda x, m: (x.masked_fill(~m, -torch.inf).amax((1, 2))                 # noqa: E731
                             - x.masked_fill(~m, torch.inf).amin((1, 2))).nan_to_num(0.0, 0.0, 0.0).clamp_min(0)
        return StageGains(
            user=delta_u, user_index=users, provider=delta_p,
            n_active=torch.bincount(env._s.pending_env, minlength=E).to(delta_u.dtype),
            user_range=span(own_u, valid[..., None].expand_as(own_u)),
            provider_range=span(own_p, torch.ones_like(own_p, dtype=torch.bool)),
        )

    def nash_conv(self, actions: dict, policies: dict) -> tuple[Tensor, Tensor]:
        """(NashConv estimate, ε) per environment ``[E]``; see :class:`StageGains` for what each is."""
        g = self.gains(actions, policies)
        return g.nash_conv, g.epsilon


def _block(step: Step, b: int, E: int) -> Step:
    """Environments ``[b·E, (b + 1)·E)`` of a step over copies laid out ``[blocks, E]``."""
    sl = slice(b * E, (b + 1) * E)
    return Step(obs={r: v[sl] for r, v in step.obs.items()}, reward={r: v[sl] for r, v in step.reward.items()},
                active={r: v[sl] for r, v in step.active.items()}, done={r: v[sl] for r, v in step.done.items()},
                state=step.state[sl], terminated=step.terminated[sl], truncated=step.truncated[sl], info={})


__all__ = ["EdgeStage", "StageGains"]
