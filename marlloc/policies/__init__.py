"""Non-learning policies for the edge market, vectorised over environments and agents.

A policy acts for one role: ``act(step) -> dict[component, Tensor]``. A joint policy is one
policy per role (:func:`joint`); registries are plain dicts, and :func:`joint` resolves names.

User policies
- ``random`` (decentralised): uniform target (every node and local) and uniform bid fraction.
- ``greedy`` (decentralised, seed 000's baseline): from its own observation only, each user
  takes the target with the best expected reward — α·log(L_max / L_est) − (β + η)·quote/budget
  for an affordable node (L_est: the latency estimate in the observation, at last round's
  published load), α·log(L_max / L_local) locally — and bids its quote. Everyone decides at
  once from the same published loads, so users herd and many are turned away.
- ``sequential_greedy`` (centralised heuristic): users in index order within each environment
  (arrivals of a round are simultaneous; index order is the queue), each picking the best
  option at the load the users before it created, among nodes where its task still fits;
  bids its quote. All its requests are admitted.
- ``optimum`` (centralised): each round, the MILP of :mod:`marlloc.solvers.optimum` solved for
  the whole batch and applied (myopic: no look-ahead). Bids the MILP's payment.

Provider policies
- ``fixed``: the reference prices, every round.
- ``cost_plus``: unit cost is taken as half the reference price and the markup grows with the
  node's own utilisation u (1 − mean available share, from its observation): price =
  reference × (0.5 + u), so an idle node charges half the reference and a full one 1.5×.
- ``random``: uniform prices in [0, price_max].
"""

from __future__ import annotations

import torch
from torch import Tensor

from marlloc.core.errors import ConfigError
from marlloc.core.protocol import MarkovGame, Step

# bid slightly above the quote so float rounding of fraction × budget never falls below it
QUOTE_MARGIN = 1e-6


def _cols(env: MarkovGame, role: str, prefix: str, n: int) -> Tensor:
    names = env.roles[role].obs_names
    return torch.tensor([names.index(f"{prefix}{j}") for j in range(n)], device=env.device)


def _bid_fraction(quote_over_budget: Tensor) -> Tensor:
    return (quote_over_budget * (1 + QUOTE_MARGIN)).clamp(0, 1)


class UniformRandom:
    """Uniform random actions for one role."""

    def __init__(self, env: MarkovGame, role: str, seed: int = 0):
        self.env, self.role = env, role
        self.g = torch.Generator(device=env.device).manual_seed(seed)

    def act(self, step: Step) -> dict[str, Tensor]:
        return self.env.sample_actions(self.g)[self.role]


class Greedy:
    """Decentralised greedy users: best expected reward from the observation, bid = quote."""

    def __init__(self, env: MarkovGame, role: str = "user", seed: int = 0):
        cfg, M = env.config, env.n_nodes
        self.cost_weight = cfg.beta + cfg.eta
        local = env.roles[role].obs_names.index("log_latency_ratio_local")
        self.est = torch.cat([_cols(env, role, "log_latency_ratio_", M), torch.tensor([local], device=env.device)])
        self.quote = _cols(env, role, "quote_over_budget_", M)
        self.failed = _cols(env, role, "failed_", M)
        self.type = _cols(env, role, "type_", env.n_types)
        self.alpha = torch.tensor([t.alpha for t in cfg.tasks], device=env.device)

    def act(self, step: Step) -> dict[str, Tensor]:
        obs = step.obs["user"]
        alpha = obs.index_select(2, self.type) @ self.alpha                                # [E, N]
        q = obs.index_select(2, self.quote)                                               # [E, N, M]
        value = -alpha[..., None] * obs.index_select(2, self.est)                          # [E, N, M+1]
        value[..., :-1] -= self.cost_weight * q
        blocked = (q > 1) | (obs.index_select(2, self.failed) > 0)  # unaffordable or down: runs locally
        value[..., :-1] = value[..., :-1].masked_fill(blocked, -torch.inf)
        node = value.argmax(2)
        q_pad = torch.cat([q, torch.zeros_like(q[..., :1])], 2)
        return {"node": node, "bid": _bid_fraction(q_pad.gather(2, node[..., None]))}


class SequentialGreedy:
    """Centralised: users one at a time in index order, each at the load the previous created."""

    def __init__(self, env: MarkovGame, role: str = "user", seed: int = 0):
        self.env = env
        self.cost_weight = env.config.beta + env.config.eta

    def act(self, step: Step) -> dict[str, Tensor]:
        env = self.env
        s, E, N, M, dev = env._s, env.n_envs, env.n_users, env.n_nodes, env.device
        cap, used, _ = env.coming_round()
        used = used[..., :4].clone()                                                      # [E, M, 4] float64
        node = torch.full((E, N), M, dtype=torch.long, device=dev)
        bid = torch.zeros(E, N, 1, device=dev)
        idx, env_a = s.pending_idx, s.pending_env
        if idx.numel() == 0:
            return {"node": node, "bid": bid}
        # position of each pending user within its environment's queue (idx is sorted)
        counts = torch.bincount(env_a, minlength=E)
        pos = torch.arange(idx.numel(), device=dev) - (counts.cumsum(0) - counts)[env_a]
        type_a = s.task_type.view(-1).index_select(0, idx)
        demand = env.demand5.index_select(0, type_a)[:, :4]                              # [A, 4] float64
        budget = s.budget.view(-1).index_select(0, idx)
        quote = env.quotes(s.prices, env_a, type_a)                                       # [A, M]
        alpha = env.task_tab.index_select(0, type_a)[:, 7]
        lmax = env.task_tab.index_select(0, type_a)[:, 6]
        up = cap[..., 0] > 0
        for k in range(int(counts.max())):  # the queue is sequential by definition; envs are a batch axis
            sel = (pos == k).nonzero().squeeze(1)
            e = env_a[sel]
            lat = env.latency_estimate(cap[e], used[e].float(), torch.arange(sel.numel(), device=dev),
                                       idx[sel] - e * N, type_a[sel])                    # [k, M+1]
            value = alpha[sel, None] * torch.log(lmax[sel, None] / lat.clamp_min(1.0))
            value[:, :M] -= self.cost_weight * quote[sel] / budget[sel, None]
            fits = (used[e] + demand[sel, None] <= cap[e].double()).all(2)
            ok = fits & up[e] & (quote[sel] <= budget[sel, None])
            value[:, :M] = value[:, :M].masked_fill(~ok, -torch.inf)
            choice = value.argmax(1)
            on = choice < M
            used[e[on], choice[on]] += demand[sel[on]]
            node.view(-1)[idx[sel]] = choice
            q = torch.cat([quote[sel], torch.zeros_like(quote[sel, :1])], 1).gather(1, choice[:, None])
            bid.view(-1)[idx[sel]] = _bid_fraction(q[:, 0] / budget[sel])
        return {"node": node, "bid": bid}


class Optimum:
    """Centralised: the per-round MILP assignment and payments, applied in the environment."""

    # one MILP for the whole batch, with a relative gap and a time limit shared by all its
    # environments: what it decides for one environment depends on the others in the batch, so
    # what-if searches query it on batches shaped like the real one (see solvers.edge_stage)
    batch_coupled = True

    def __init__(self, env: MarkovGame, role: str = "user", seed: int = 0, time_limit_s: float = 10.0,
                 mip_gap: float = 1e-4, deadline_filter: bool = True):
        from marlloc.solvers.optimum import AssignmentOptimum

        self.env = env
        self.solver = AssignmentOptimum(time_limit_s=time_limit_s, mip_gap=mip_gap)
        self.deadline_filter = deadline_filter
        self.last = None

    def act(self, step: Step) -> dict[str, Tensor]:
        env = self.env
        E, N, M, dev = env.n_envs, env.n_users, env.n_nodes, env.device
        inst = env.round_instance(deadline_filter=self.deadline_filter, strict=True)
        self.last = sol = self.solver.solve(inst)
        node = torch.full((E * N,), M, dtype=torch.long, device=dev)
        bid = torch.zeros(E * N, device=dev)
        if inst.n_tasks and sol.x_ is not None:
            flat = torch.as_tensor(inst.task_index, device=dev)
            node[flat] = torch.as_tensor(sol.assignment_, device=dev)
            bid[flat] = _bid_fraction(torch.as_tensor(sol.payment_ / inst.budget, dtype=torch.float32, device=dev))
        return {"node": node.view(E, N), "bid": bid.view(E, N, 1)}


class FixedPrices:
    """Providers: the reference prices, every round."""

    def __init__(self, env: MarkovGame, role: str = "provider", seed: int = 0):
        self.env = env
        self.frac = 1.0 / env.config.price_max_factor

    def act(self, step: Step) -> dict[str, Tensor]:
        E, M = self.env.n_envs, self.env.n_nodes
        return {"price": torch.full((E, M, 3), self.frac, device=self.env.device)}


class CostPlus:
    """Providers: reference × (0.5 + own utilisation), from the provider's observation."""

    def __init__(self, env: MarkovGame, role: str = "provider", seed: int = 0):
        names = env.roles[role].obs_names
        self.avail = torch.tensor([names.index(f"avail_{d}") for d in ("compute", "storage", "uplink", "downlink")],
                                  device=env.device)
        self.frac = 1.0 / env.config.price_max_factor

    def act(self, step: Step) -> dict[str, Tensor]:
        u = 1 - step.obs["provider"].index_select(2, self.avail).mean(2, keepdim=True)      # [E, M, 1]
        return {"price": (self.frac * (0.5 + u)).expand(-1, -1, 3).clamp(0, 1).contiguous()}


USER_POLICIES = {"random": UniformRandom, "greedy": Greedy, "sequential_greedy": SequentialGreedy,
                 "optimum": Optimum}
PROVIDER_POLICIES = {"fixed": FixedPrices, "cost_plus": CostPlus, "random": UniformRandom}


# trained policies: "<algo>:<checkpoint path>", acting for every role they learned
TRAINED = {"maddpg": "marlloc.algos.maddpg"}


def check_names(users: list[str], pricing: str) -> None:
    """One-line errors for unknown policy names, before anything runs."""
    for name in users:
        algo, sep, path = name.partition(":")
        if sep and algo in TRAINED and path:
            continue
        if name not in USER_POLICIES:
            raise ConfigError(f"unknown user policy {name!r}; choose one of: {', '.join(USER_POLICIES)}, "
                              f"or {'|'.join(TRAINED)}:CHECKPOINT")
    if pricing not in PROVIDER_POLICIES:
        raise ConfigError(f"unknown pricing {pricing!r}; choose one of: {', '.join(PROVIDER_POLICIES)}")


def joint(env: MarkovGame, user: str, provider: str = "fixed", seed: int = 0) -> dict[str, object]:
    """One policy per role of the edge market, by registry name; a trained policy
    (``maddpg:DIR/checkpoints/last.pt``) brings its own providers, so ``provider`` is ignored."""
    check_names([user], provider)
    algo, sep, path = user.partition(":")
    if sep:
        import importlib

        return importlib.import_module(TRAINED[algo]).load_policy(path, env)
    return {"user": USER_POLICIES[user](env, "user", seed), "provider": PROVIDER_POLICIES[provider](env, "provider", seed + 1)}


def act(policies: dict[str, object], step: Step) -> dict[str, dict[str, Tensor]]:
    return {role: p.act(step) for role, p in policies.items()}
