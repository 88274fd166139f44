"""Edge market ``edge_market_v0``: the cloud-edge-end learning-service market of seed 000.

=====================  ==========================================================================
Agents                 ``user_0..user_{N-1}`` (role ``user``), ``provider_0..provider_{M-1}``
                       (role ``provider``; provider 0 is the cloud, 1..E the edges), M = E + 1
User action            ``node`` ∈ {0..M-1, M = run locally} (Discrete(M+1)); ``bid`` ∈ [0, 1] as a
                       fraction of the task's budget (Box(0, 1, (1,)))
Provider action        ``price`` ∈ [0, 1]³ as fractions of price_max for (compute, storage,
                       bandwidth); posted for the **next** round (see "One round")
User observation       ``12 + T + 4M`` floats (41 at T = 5 types, M = 6), :data:`USER_OBS` below: task demand (4),
                       type one-hot, L_max, work and data sizes, budget, terminal (compute, access),
                       quotes / budget (M), last-round utilisation (M), failed flags (M), and
                       log(estimated latency / L_max) on every node and locally (M + 1)
Provider observation   23 floats, :data:`PROVIDER_OBS`: available / capacity (4), failed, tasks
                       in flight, last round's requests (count, demand (4), mean and max bid/quote),
                       admitted count, revenue, own posted prices (3), own capacity and RTT
Global state           every provider observation, per-target choice counts and bid shares
                       (M + 1 each, local included), round fraction: ``23M + 2(M + 1) + 1``
Active                 users with a new task this round; providers whose node is up
Done (agent)           a provider whose node failed until the episode end
Episode                ``episode_rounds`` rounds, then every environment truncates together
=====================  ==========================================================================

Arguments: :class:`~marlloc.envs.edge.config.EdgeMarketConfig` (fields ``n_users``, ``n_edges``,
capacities with units in their names, task catalogue, prices, reward weights, events, optional
EUA topology and arrival trace, ``device``). ``make("edge_market_v0", n_users=500)`` works.

Sources of the defaults: node capacities and terminals from seed 000 §4.1; cloud RTT 60 ms and
edge RTT 5 ms from EdgeCloudSim/PureEdgeSim defaults; EUA Melbourne coverage radius 150 m and
MAN detour 10 ms from the EUA papers; the task catalogue from ``shared/design/edge-market.md``
(model-training compute lowered to 40 TFLOPS, see ``config.py``).

One round
---------
1. **Prices.** Quotes use the prices posted in the previous step (reference prices at reset):
   q_ij = price_j · D_i · duration_i with D = (compute, storage, up + down bandwidth). A
   provider's ``price`` action takes effect next round, so users always see the quotes they
   pay against and one ``step`` carries both roles' actions (a posted-price market).
2. **Choices.** An active user picks a target and bids b_i = bid · budget_i.
3. **Admission.** At an up node, requests with b_i ≥ q_ij are admissible and are admitted in
   descending b_i / q_ij (ties: lower user index first) while the four-dimensional capacity,
   counting tasks in flight, holds; admission stops at the first request that does not fit
   (a prefix rule: a cheaper small task never jumps a dearer large one). Admitted tasks pay
   their bid and hold D_i for ``duration`` rounds. Other requests, and requests to a failed
   node, run locally (counted as rejected).
4. **Latency.** Work-conserving shares: a task on j gets rate c_i · C_j(t) / Σc over tasks on j
   (≥ its demand while admission holds), likewise up/down bandwidth, capped by the user's
   access link: L = RTT + in/up + work/compute + out/down; locally L = work / local compute.
   The four components are in ``info``.
5. **QoE** (eq. 1.4) = α·log(L_max / max(L, 1 ms)) − β·cost/budget; normalised QoE =
   clip(QoE / (α·log(L_max / L_best)), 0, 1), with L_best the task's latency alone on the best
   node (or locally) at zero cost: 1 there, 0 at or beyond L_max (0 when even L_best misses).
6. **Rewards.** User (eq. 1.17): QoE − η·cost/budget for active users; a user whose task in
   flight dies with its node gets −failure_penalty. Provider (eq. 1.18 + overload):
   μ·util + (1 − μ)·revenue / revenue_scale − ν·1[util > threshold], with util the mean over the
   four dimensions of min(used / capacity, 1) and revenue_scale = reference prices × capacity
   (one round of a full node at reference prices). Revenue is the whole bid, booked at admission.
7. **Arrivals.** Tasks finish after ``duration`` rounds (local ones too: a user runs one task at a
   time); an idle user gets a new task with probability min(1, arrival_prob · m(t)), where m(t)
   is the burst factor times the optional trace multiplier.

Events (burst, node_failure, bandwidth_fluctuation) are drawn at reset (a random failing
edge per environment); bursts become an arrival multiplier ``[n_envs, rounds]``, failures and
fluctuations a capacity factor ``[n_envs, M, 4]`` computed each round.

Version history: v0 (this file).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from marlloc.core import units
from marlloc.core.errors import MarllocError
from marlloc.core.protocol import Box, Discrete, MarkovGame, RoleSpec, Step, validate_actions
from marlloc.core.seeding import numpy_rng, torch_rng
from marlloc.envs.edge.config import BandwidthFluctuation, Burst, EdgeMarketConfig, NodeFailure

DIMS = ("compute", "storage", "uplink", "downlink")

PROVIDER_OBS = (
    "avail_compute", "avail_storage", "avail_uplink", "avail_downlink", "failed", "in_flight",
    "requests", "req_compute", "req_storage", "req_uplink", "req_downlink", "mean_bid_quote",
    "max_bid_quote", "admitted", "revenue", "price_compute", "price_storage", "price_bandwidth",
    "log_cap_compute", "log_cap_storage", "log_cap_uplink", "log_cap_downlink", "rtt",
)
MAX_RATIO = 10.0  # bid/quote and latency ratios are clipped here in observations


def user_obs_names(n_types: int, n_nodes: int) -> tuple[str, ...]:
    """Names of the user observation features, in order (see the spec sheet)."""
    task = ["demand_compute", "demand_storage", "demand_uplink", "demand_downlink",
            *(f"type_{i}" for i in range(n_types)), "log_latency_max", "log_work", "log_in", "log_out"]
    per_node = [f"{k}_{j}" for k in ("quote_over_budget", "util", "failed") for j in range(n_nodes)]
    est = [f"log_latency_ratio_{j}" for j in range(n_nodes)] + ["log_latency_ratio_local"]
    return (*task, "budget_factor", "local_compute", "access", *per_node, *est)


@dataclass
class EdgeState:
    """Everything that changes within an episode. E = n_envs, N users, M nodes, T task types."""

    round: int
    task_type: Tensor      # [E, N] long, type of the user's current (or last) task
    budget: Tensor         # [E, N] credits of the current task
    budget_factor: Tensor  # [E, N] budget / reference quote (observed)
    pending: Tensor        # [E, N] bool, a new task awaits the user's decision (active)
    remaining: Tensor      # [E, N] long, rounds left of the task in flight (0 = idle)
    host: Tensor           # [E, N] long, node hosting the task in flight; M = local or none
    used: Tensor           # [E, M, 5] float64 demand in flight per node (4 dims) and task count
    prices: Tensor         # [E, M, 3] credits per unit-round in force this round
    pending_idx: Tensor    # [A] long, flat (env * N + user) indices of the pending users
    pending_env: Tensor    # [A] long, their environment
    threshold: Tensor      # [E, N] float64 cumulative hazard at which an idle user next arrives
    hazard: Tensor         # [E, R + 1] float64 cumulative arrival hazard, hazard[:, t + 1] after round t
    util: Tensor           # [E, M] last round's utilisation (published)
    req_stats: Tensor      # [E, M, 9] last round's request statistics (provider observation)
    arrival_mult: Tensor   # [E, R] arrival multiplier per round
    cap_events: list       # (start, end, effect): a failure mask [E, M] or a bandwidth series
    done_from: Tensor      # [E, M] long, round from which the provider is out for good (R = never)


class EdgeMarket(MarkovGame):
    """Batched edge market; see the module docstring for the spec sheet."""

    config_class = EdgeMarketConfig

    # per-user details in ``info`` come as compact rows over the users that decided this round,
    # ``info["user/index"]`` holding their flat index env * N + user
    compact_info = {"user": (
        "user/target", "user/host", "user/admitted", "user/bid", "user/quote", "user/cost",
        "user/latency_ms", "user/latency_prop_ms", "user/latency_up_ms", "user/latency_compute_ms",
        "user/latency_down_ms", "user/deadline_met", "user/qoe", "user/qoe_norm",
    )}

    def __init__(self, config: EdgeMarketConfig | None = None, **overrides):
        cfg = self._configure(config, overrides)
        N, M, T = cfg.n_users, cfg.n_nodes, len(cfg.tasks)
        self.n_users, self.n_nodes, self.n_types = N, M, T
        self._build_scenario()

        self.roles = {
            "user": RoleSpec("user", N, len(user_obs_names(T, M)),
                             {"node": Discrete(M + 1), "bid": Box(0.0, 1.0, (1,))},
                             user_obs_names(T, M)),
            "provider": RoleSpec("provider", M, len(PROVIDER_OBS), {"price": Box(0.0, 1.0, (3,))},
                                 PROVIDER_OBS),
        }
        self.state_dim = M * len(PROVIDER_OBS) + 2 * (M + 1) + 1
        # where the parts of the global state sit: provider observations, this round's per-target
        # choice shares and bid shares (local last), and the round fraction
        P = M * len(PROVIDER_OBS)
        self.state_layout = {"providers": slice(0, P), "choices": slice(P, P + M + 1),
                             "bids": slice(P + M + 1, P + 2 * (M + 1)), "round": slice(P + 2 * (M + 1), P + 2 * M + 3)}
        self._s: EdgeState | None = None

    # --- scenario: fixed by scenario_seed ---------------------------------------------------
    def _build_scenario(self) -> None:
        cfg, dev = self.config, self.device
        N, M = cfg.n_users, cfg.n_nodes
        rng = numpy_rng(cfg.scenario_seed, "scenario")
        n_edges = cfg.n_edges
        u = lambda lo_hi, n: rng.uniform(lo_hi[0], lo_hi[1], n)  # noqa: E731
        bw = u(cfg.edge_bandwidth_mbps, n_edges)
        cap = np.zeros((M, 4))
        cap[0] = (cfg.cloud_compute_tflops, cfg.cloud_storage_gb, cfg.cloud_bandwidth_mbps, cfg.cloud_bandwidth_mbps)
        cap[1:, 0], cap[1:, 1] = u(cfg.edge_compute_tflops, n_edges), u(cfg.edge_storage_gb, n_edges)
        cap[1:, 2] = cap[1:, 3] = bw
        local = u(cfg.user_compute_tflops, N)
        self.user_storage_gb = u(cfg.user_storage_gb, N)  # drawn as in seed 000 §4.1; not a constraint
        access = u(cfg.user_access_mbps, N)
        rtt_node = np.r_[cfg.cloud_rtt_ms, np.full(n_edges, cfg.edge_rtt_ms)]          # [M]
        rtt = np.tile(rtt_node, (N, 1))                                                   # [N, M]
        if cfg.sites_csv is not None:
            from marlloc.data.topology import pick_topology

            _, _, dist = pick_topology(cfg.sites_csv, cfg.users_csv, n_edges, N, rng)
            rtt[:, 1:] += np.where(dist > cfg.coverage_radius_m, cfg.man_extra_rtt_ms, 0.0)

        tasks = cfg.tasks
        f64 = dict(dtype=torch.float64, device=dev)
        self.cap0 = torch.tensor(cap, dtype=torch.float32, device=dev)                    # [M, 4]
        self.rtt_ms = torch.tensor(rtt, dtype=torch.float32, device=dev)                  # [N, M]
        self.local_tflops = torch.tensor(local, dtype=torch.float32, device=dev)          # [N]
        self.access_mbps = torch.tensor(access, dtype=torch.float32, device=dev)          # [N]
        demand = torch.tensor([t.demand for t in tasks], **f64)                           # [T, 4]
        # demand plus a column of ones, so one index_add counts tasks in flight too
        self.demand5 = torch.cat([demand, torch.ones(len(tasks), 1, **f64)], 1)           # [T, 5]
        self.duration = torch.tensor([t.duration_rounds for t in tasks], dtype=torch.long, device=dev)
        # per-type attributes gathered once per step: one index_select instead of nine
        self.task_tab = torch.tensor(
            [[t.compute_tflops, t.in_mbps, t.out_mbps, t.work_tflop, t.in_mbit, t.out_mbit,
              t.latency_max_ms, t.alpha, t.duration_rounds] for t in tasks],
            dtype=torch.float32, device=dev)                                              # [T, 9]
        self.share_cdf = torch.tensor(np.cumsum([t.share for t in tasks]), dtype=torch.float32, device=dev)
        self.share_cdf[-1] = 1.0 + 1e-6  # a uniform draw can never fall past the last type
        ref = torch.tensor(cfg.reference_price, **f64)
        self.ref_price = ref.float()                                                      # [3]
        self.price_max = ref.float() * cfg.price_max_factor                               # [3]
        # units of D priced per round: (compute, storage, up + down)
        self.priced_units = torch.stack([demand[:, 0], demand[:, 1], demand[:, 2] + demand[:, 3]], 1).float()
        self.ref_quote = (self.priced_units @ self.ref_price) * self.duration.float()     # [T]
        cap_priced = torch.stack([self.cap0[:, 0], self.cap0[:, 1], self.cap0[:, 2] + self.cap0[:, 3]], 1)
        self.revenue_scale = cap_priced @ self.ref_price                                  # [M]

        # best achievable latency of each (user, type): alone on a node at full capacity, or local
        tt = self.task_tab
        up = torch.minimum(self.cap0[None, :, 2], self.access_mbps[:, None])             # [N, M]
        dn = torch.minimum(self.cap0[None, :, 3], self.access_mbps[:, None])
        on_node = (self.rtt_ms[:, None, :] + units.transfer_ms(tt[None, :, 4, None], up[:, None])
                   + units.compute_ms(tt[None, :, 3, None], self.cap0[None, None, :, 0])
                   + units.transfer_ms(tt[None, :, 5, None], dn[:, None]))                # [N, T, M]
        at_home = units.compute_ms(tt[None, :, 3], self.local_tflops[:, None])           # [N, T]
        self.latency_best_ms = torch.minimum(on_node.amin(2), at_home)                   # [N, T]

        # static part of the user observation, per type
        T = len(tasks)
        ref_cap = torch.tensor([100.0, 100.0, 1000.0, 1000.0], device=dev)
        self.type_obs = torch.cat([
            demand.float() / ref_cap,
            torch.eye(T, device=dev),
            torch.log10(tt[:, [6]]) / 4,
            torch.log10(tt[:, [3, 4, 5]] + 1e-3) / 3,
        ], 1)                                                                             # [T, 8 + T]
        self.user_feats = torch.stack([self.local_tflops / 5.0, self.access_mbps / 500.0], 1)  # [N, 2]
        self.provider_feats = torch.cat([torch.log10(self.cap0) / 6,
                                         torch.tensor(rtt_node, dtype=torch.float32, device=dev)[:, None] / 100.0],
                                        1)                                                # [M, 5]

        # real bandwidth-factor series of fluctuation events, loaded once
        self._fluct_series: dict[int, Tensor | None] = {}
        for i, ev in enumerate(cfg.events):
            if isinstance(ev, BandwidthFluctuation):
                series = None
                if ev.trace_csv is not None:
                    from marlloc.data.traces import fluctuation_factor, load_series

                    series = torch.tensor(fluctuation_factor(load_series(ev.trace_csv, ev.trace_column), ev.amplitude),
                                          dtype=torch.float32, device=dev)
                self._fluct_series[i] = series

        self._trace = None
        if cfg.arrival_trace_csv is not None:
            from marlloc.data.traces import load_series, rate_multiplier

            self._trace = torch.tensor(rate_multiplier(load_series(cfg.arrival_trace_csv, cfg.arrival_trace_column)),
                                       dtype=torch.float32, device=dev)

    # --- reset --------------------------------------------------------------------------------
    def reset(self, n_envs: int = 1, seed: int | None = None) -> Step:
        if not isinstance(n_envs, int) or n_envs < 1:
            raise MarllocError(f"n_envs must be an integer ≥ 1, got {n_envs!r}; try n_envs=1")
        cfg, dev = self.config, self.device
        seed = 0 if seed is None else int(seed)
        self._seed = seed
        self.n_envs = E = n_envs
        N, M = self.n_users, self.n_nodes
        self._g_arrivals = torch_rng(seed, "arrivals", dev)
        self._g_events = torch_rng(seed, "events", dev)
        arrival_mult, cap_events, done_from = self._schedule_events(E)
        # cumulative arrival hazard: an idle user arrives once H(t) passes its Exp(1) threshold,
        # which is exactly a Bernoulli(p(t)) draw per idle round (p capped below 1)
        p = (cfg.arrival_prob * arrival_mult.double()).clamp(max=1 - 1e-6)
        hazard = torch.cat([torch.zeros(E, 1, dtype=torch.float64, device=dev), (-torch.log1p(-p)).cumsum(1)], 1)
        zeros = torch.zeros(E, N, dtype=torch.long, device=dev)
        self._s = s = EdgeState(
            round=0,
            task_type=zeros.clone(),
            budget=torch.zeros(E, N, device=dev),
            budget_factor=torch.zeros(E, N, device=dev),
            pending=torch.zeros(E, N, dtype=torch.bool, device=dev),
            pending_idx=torch.zeros(0, dtype=torch.long, device=dev),
            pending_env=torch.zeros(0, dtype=torch.long, device=dev),
            remaining=zeros.clone(),
            host=torch.full((E, N), M, dtype=torch.long, device=dev),
            threshold=hazard[:, :1] + self._exp1(E * N).view(E, N),
            hazard=hazard,
            used=torch.zeros(E, M, 5, dtype=torch.float64, device=dev),
            prices=self.ref_price.expand(E, M, 3).clone(),
            util=torch.zeros(E, M, device=dev),
            req_stats=torch.zeros(E, M, 9, device=dev),
            arrival_mult=arrival_mult,
            cap_events=cap_events,
            done_from=done_from,
        )
        D = self.roles["user"].obs_dim
        # two observation buffers used in turn: a step's observations stay valid through the
        # next step, so (obs, next_obs) pairs need no copy; only changed rows are rewritten
        self._obs_bufs = [torch.zeros(E * N, D, device=dev) for _ in range(2)]
        self._obs_rows = [s.pending_idx, s.pending_idx]
        self._obs_turn = 0
        self._arrive(s)
        zero_r = {"user": torch.zeros(E, N, device=dev), "provider": torch.zeros(E, M, device=dev)}
        no = torch.zeros(E, dtype=torch.bool, device=dev)
        return self._observe(s, zero_r, no, {})

    def _exp1(self, n: int) -> Tensor:
        """n Exp(1) draws (float64) from the arrivals stream."""
        u = torch.rand(n, generator=self._g_arrivals, dtype=torch.float64, device=self.device)
        return -torch.log1p(-u)

    def _schedule_events(self, E: int) -> tuple[Tensor, list, Tensor]:
        """Arrival multiplier per round ``[E, R]``, capacity events (applied per round by
        :meth:`_cap_factor`, so memory does not grow with the horizon) and ``done_from``."""
        cfg, dev, g = self.config, self.device, self._g_events
        M, R = self.n_nodes, cfg.episode_rounds
        arrival = torch.ones(E, R, device=dev)
        if self._trace is not None:
            L = self._trace.numel()
            off = (torch.full((E,), cfg.arrival_trace_offset, dtype=torch.long, device=dev)
                   if cfg.arrival_trace_offset is not None
                   else torch.randint(L, (E,), generator=g, device=dev))
            rows = (off[:, None] + torch.arange(R, device=dev)) % L  # wrap: traces may be shorter
            arrival = arrival * self._trace[rows]
        cap_events = []
        done_from = torch.full((E, M), R, dtype=torch.long, device=dev)
        for i, ev in enumerate(cfg.events):
            end = R if ev.rounds is None else min(R, ev.start_round + ev.rounds)
            if isinstance(ev, Burst):
                arrival[:, ev.start_round:end] *= ev.factor
            elif isinstance(ev, NodeFailure):
                if ev.node is not None:
                    node = torch.full((E,), ev.node, dtype=torch.long, device=dev)
                elif cfg.n_edges > 0:
                    node = 1 + torch.randint(cfg.n_edges, (E,), generator=g, device=dev)
                else:
                    node = torch.zeros(E, dtype=torch.long, device=dev)
                hit = torch.zeros(E, M, dtype=torch.bool, device=dev)
                hit[torch.arange(E, device=dev), node] = True
                cap_events.append((ev.start_round, end, hit))
                if end == R and ev.start_round < R:
                    done_from = torch.where(hit, done_from.clamp(max=ev.start_round), done_from)
            else:  # BandwidthFluctuation
                nodes = torch.zeros(M, dtype=torch.bool, device=dev)
                nodes[list(ev.nodes) if ev.nodes is not None else slice(1, None)] = True
                cap_events.append((ev.start_round, end, (self._fluct_series[i], nodes, ev)))
        return arrival, cap_events, done_from

    def _cap_factor(self, t: int) -> Tensor:
        """[E, M, 4] capacity multiplier in round t: 0 on failed nodes, bandwidth factors."""
        f = torch.ones(self.n_envs, self.n_nodes, 4, device=self.device)
        for start, end, effect in self._s.cap_events:
            if not start <= t < end:
                continue
            if isinstance(effect, Tensor):  # node failure
                f = f.masked_fill(effect[..., None], 0.0)
            else:
                series, nodes, ev = effect
                if series is not None:
                    x = float(series[(t - start) % series.numel()])
                else:
                    x = 1 - ev.amplitude * (1 + math.sin(2 * math.pi * (t - start) / ev.period_rounds)) / 2
                f[:, nodes, 2:] *= x
        return f

    # --- step -----------------------------------------------------------------------------------
    def step(self, actions: dict[str, dict[str, Tensor]], check: bool = True) -> Step:
        """Play one round. ``check=False`` skips action validation (trusted learners)."""
        s = self._s
        if s is None:
            raise MarllocError("call reset() before step()")
        cfg, dev = self.config, self.device
        E, N, M, R = self.n_envs, self.n_users, self.n_nodes, cfg.episode_rounds
        if s.round >= R:
            raise MarllocError(f"the episode ended after {R} rounds; call reset() to start another")
        if check:
            validate_actions(self.roles, actions, E)
        t = s.round
        ua, pa = actions["user"], actions["provider"]
        cap = self.cap0 * self._cap_factor(t)                                             # [E, M, 4]
        up_now = cap[:, :, 0] > 0                                                         # [E, M]

        # --- tasks in flight on a node that just failed die with it (rare) ---
        killed = torch.zeros(0, dtype=torch.long, device=dev)
        newly_failed = self._newly_failed(t, up_now)
        if bool(newly_failed.any()):
            on_failed = torch.cat([newly_failed, newly_failed.new_zeros(E, 1)], 1).gather(1, s.host)
            killed = on_failed.view(-1).nonzero().squeeze(1)
            s.remaining.view(-1)[killed] = 0
            s.host.view(-1)[killed] = M
            # they may draw a new task from the next round on
            s.threshold.view(-1)[killed] = s.hazard[killed // N, t + 1] + self._exp1(killed.numel())
            s.used[newly_failed] = 0.0  # every task there died

        # --- the A users with a decision this round (compacted once, at arrival) ---
        act, env_a, user_a = s.pending_idx, s.pending_env, s.pending_idx - s.pending_env * N
        type_a = s.task_type.view(-1).index_select(0, act)
        node_a = ua["node"].reshape(-1).index_select(0, act).long()
        budget_a = s.budget.view(-1).index_select(0, act)
        bid_a = ua["bid"].reshape(-1).index_select(0, act) * budget_a
        tt = self.task_tab.index_select(0, type_a)                                        # [A, 9]

        # --- requests and quotes ---
        up_pad = torch.cat([up_now, up_now.new_zeros(E, 1)], 1)                         # [E, M+1]
        requested = node_a < M
        req = requested & up_pad.view(-1)[env_a * (M + 1) + node_a]
        node_c = node_a.clamp(max=M - 1)
        quote_a = self.quotes(s.prices, env_a, type_a).gather(1, node_c[:, None]).squeeze(1)

        # --- admission: per node, descending bid/quote, prefix that fits on all four dims ---
        cand = (req & (bid_a >= quote_a)).nonzero().squeeze(1)                            # [K]
        grp = env_a.index_select(0, cand) * M + node_a.index_select(0, cand)
        qc, bc = quote_a.index_select(0, cand).double(), bid_a.index_select(0, cand).double()
        # quote/(quote+bid) ascending == bid/quote descending; it lies in [0, 0.5] so adding
        # the node group keeps groups apart; a stable sort breaks ties by user index
        order = torch.sort(grp.double() + qc / (qc + bc).clamp_min(1e-30), stable=True).indices
        cand, grp = cand.index_select(0, order), grp.index_select(0, order)
        d = self.demand5.index_select(0, type_a.index_select(0, cand))                   # [K, 5] float64
        cum = d[:, :4].cumsum(0)
        counts = torch.bincount(grp, minlength=E * M)
        first = (counts.cumsum(0) - counts).clamp(max=max(cand.numel() - 1, 0))
        base = (cum - d[:, :4]).index_select(0, first) if cand.numel() else cum.new_zeros(E * M, 4)
        within = cum - base.index_select(0, grp)  # demand of the group up to and including this one
        free = (cap.double() - s.used[..., :4]).view(E * M, 4)
        ok = (within <= free.index_select(0, grp) + 1e-9).all(1)
        adm, adm_grp = cand[ok], grp[ok]
        admitted_a = torch.zeros_like(req)
        admitted_a[adm] = True
        host_a = torch.where(admitted_a, node_a, M)
        cost_a = torch.where(admitted_a, bid_a, 0.0)
        s.used = s.used.view(E * M, 5).index_add(0, adm_grp, d[ok]).view(E, M, 5)

        # --- latency: work-conserving shares of the current capacity, access link cap ---
        used32 = s.used[..., :4].float()
        share = torch.where(used32 > 0, cap / used32.clamp_min(1e-30), 0.0)              # [E, M, 4]
        hc = host_a.clamp(max=M - 1)
        sh = share.view(E * M, 4).index_select(0, env_a * M + hc)                         # [A, 4]
        acc = self.access_mbps.index_select(0, user_a)
        rate_c = torch.where(admitted_a, tt[:, 0] * sh[:, 0], self.local_tflops.index_select(0, user_a))
        rate_up = torch.minimum(tt[:, 1] * sh[:, 2], acc).clamp_min(1e-9)
        rate_dn = torch.minimum(tt[:, 2] * sh[:, 3], acc).clamp_min(1e-9)
        lat_compute = units.compute_ms(tt[:, 3], rate_c)
        lat_up = torch.where(admitted_a, units.transfer_ms(tt[:, 4], rate_up), 0.0)
        lat_down = torch.where(admitted_a, units.transfer_ms(tt[:, 5], rate_dn), 0.0)
        lat_prop = torch.where(admitted_a, self.rtt_ms.view(-1)[user_a * M + hc], 0.0)
        latency = lat_prop + lat_up + lat_compute + lat_down

        # --- QoE and rewards ---
        lmax, alpha = tt[:, 6], tt[:, 7]
        cost_share = cost_a / budget_a.clamp_min(1e-12)
        qoe = alpha * torch.log(lmax / latency.clamp_min(1.0)) - cfg.beta * cost_share
        best = self.latency_best_ms.view(-1)[user_a * self.n_types + type_a]
        qoe_norm = (qoe / (alpha * torch.log(lmax / best.clamp_min(1.0)))).clamp(0, 1)
        qoe_norm = torch.where(best < lmax, qoe_norm, 0.0)
        r_user = torch.zeros(E * N, device=dev)
        r_user[act] = qoe - cfg.eta * cost_share
        r_user[killed] = -cfg.failure_penalty

        revenue = torch.zeros(E * M, device=dev).index_add_(0, adm_grp, bid_a.index_select(0, adm)).view(E, M)
        util = torch.where(cap > 0, used32 / cap.clamp_min(1e-30), 0.0).clamp(max=1).mean(2)  # [E, M]
        live = s.done_from > t                                                            # [E, M]
        r_prov = (cfg.mu * util + (1 - cfg.mu) * revenue / self.revenue_scale
                  - cfg.nu * (util > cfg.overload_threshold).float()) * live.float()

        # --- this round's request statistics, observed by providers next round ---
        rq = req.nonzero().squeeze(1)
        g_rq = env_a.index_select(0, rq) * M + node_a.index_select(0, rq)
        ratio = (bid_a.index_select(0, rq) / quote_a.index_select(0, rq).clamp_min(1e-12)).clamp(max=MAX_RATIO)
        stats = torch.zeros(E * M, 9, device=dev)
        stats[:, 0].index_add_(0, g_rq, torch.ones_like(ratio))
        stats[:, 1:5].index_add_(0, g_rq, self.demand5.index_select(0, type_a.index_select(0, rq))[:, :4].float())
        stats[:, 5].index_add_(0, g_rq, ratio)
        stats[:, 6].scatter_reduce_(0, g_rq, ratio, "amax")
        stats[:, 7].index_add_(0, adm_grp, torch.ones(adm.numel(), device=dev))
        stats = stats.view(E, M, 9)
        n_req = stats[..., 0].clone()
        stats[..., 0] /= N
        stats[..., 1:5] /= self.cap0
        stats[..., 5] /= n_req.clamp_min(1)
        stats[..., 7] /= N
        stats[..., 8] = revenue / self.revenue_scale

        # --- per-choice counts and bid shares of every target (local included), for critics ---
        targets = torch.zeros(E * (M + 1), 2, device=dev)
        tbin = env_a * (M + 1) + node_a
        targets[:, 0].index_add_(0, tbin, torch.full_like(bid_a, 1.0 / N))
        targets[:, 1].index_add_(0, tbin, bid_a)
        targets = targets.view(E, M + 1, 2).transpose(1, 2).reshape(E, 2 * (M + 1))
        budget_sum = torch.zeros(E, device=dev).index_add_(0, env_a, budget_a)
        targets[:, M + 1:] /= budget_sum[:, None].clamp_min(1e-12)

        # --- details of the users who decided (compact rows; see USER_INFO) ---
        info = {
            "user/index": act, "user/env": env_a, "user/type": type_a,
            "user/target": node_a, "user/host": host_a, "user/requested": requested,
            "user/admitted": admitted_a, "user/bid": bid_a, "user/quote": quote_a,
            "user/cost": cost_a, "user/budget": budget_a,
            "user/latency_ms": latency, "user/latency_prop_ms": lat_prop, "user/latency_up_ms": lat_up,
            "user/latency_compute_ms": lat_compute, "user/latency_down_ms": lat_down,
            "user/latency_max_ms": lmax, "user/deadline_met": latency <= lmax,
            "user/qoe": qoe, "user/qoe_norm": qoe_norm,
            "user/killed": killed,
            "provider/utilisation": util, "provider/revenue": revenue,
            "provider/overloaded": util > cfg.overload_threshold, "provider/up": up_now,
            "provider/live": live,
            "provider/used": used32, "provider/capacity": cap, "provider/prices": s.prices,
            "provider/free_before": free.view(E, M, 4),
        }

        # --- advance: post next prices, finish tasks, draw next round's arrivals ---
        s.prices = pa["price"].float() * self.price_max
        s.util, s.req_stats = util, stats
        s.remaining.view(-1)[act] = self.duration.index_select(0, type_a)
        s.host.view(-1)[act] = host_a
        finished = (s.remaining == 1).view(-1).nonzero().squeeze(1)
        fin_host = s.host.view(-1).index_select(0, finished)
        on_node = fin_host < M
        fin_bins = (finished // N * M + fin_host)[on_node]
        s.used = s.used.view(E * M, 5).index_add(
            0, fin_bins, self.demand5.index_select(0, s.task_type.view(-1)[finished[on_node]]), alpha=-1.0
        ).view(E, M, 5)
        s.used[..., 4].round_()  # the task count is an integer; sums of demands stay float64
        s.used.clamp_(min=0.0)
        s.remaining.sub_(1).clamp_(min=0)
        s.host.view(-1)[finished] = M
        s.round = t + 1
        truncated = torch.full((E,), s.round >= R, dtype=torch.bool, device=dev)
        if s.round < R:
            # a user whose task ended this round may draw a new one from the next round on
            s.threshold.view(-1)[finished] = s.hazard[:, t + 1].index_select(0, finished // N) + self._exp1(finished.numel())
            self._arrive(s)
        else:
            s.pending = torch.zeros_like(s.pending)
            s.pending_idx = s.pending_env = s.pending_idx[:0]
        return self._observe(s, {"user": r_user.view(E, N), "provider": r_prov}, truncated, info, targets)

    def _newly_failed(self, t: int, up: Tensor) -> Tensor:
        """[E, M] nodes down in round t that were up in round t − 1."""
        if t == 0:
            return torch.zeros_like(up)
        return ~up & (self._cap_factor(t - 1)[..., 0] > 0)

    def _arrive(self, s: EdgeState) -> None:
        """Idle users whose arrival threshold the cumulative hazard has passed get a new task;
        only they draw a type and a budget, so the cost beyond two compares grows with the
        arrivals, not with N."""
        t = s.round
        s.pending = (s.remaining == 0) & (s.hazard[:, t + 1, None] >= s.threshold)
        idx = s.pending.view(-1).nonzero().squeeze(1)
        u = torch.rand(2, idx.numel(), generator=self._g_arrivals, device=self.device)
        typ = torch.searchsorted(self.share_cdf, u[0])
        lo, hi = self.config.budget_factor
        factor = lo + (hi - lo) * u[1]
        s.pending_idx, s.pending_env = idx, idx // self.n_users
        s.task_type.view(-1)[idx] = typ
        s.budget_factor.view(-1)[idx] = factor
        s.budget.view(-1)[idx] = self.ref_quote.index_select(0, typ) * factor
        # the next idle spell of these users starts after their task; thresholds are redrawn then
        s.threshold.view(-1)[idx] = math.inf

    # --- estimates shared by observations, policies and the optimum ---------------------------
    def quotes(self, prices: Tensor, env_a: Tensor, type_a: Tensor) -> Tensor:
        """[A, M] quotes q_ij = price_j · D_i · duration_i of tasks (env_a, type_a)."""
        E, M = prices.shape[:2]
        per_type = (prices[:, None] * self.priced_units[None, :, None]).sum(3) * self.task_tab[:, 8, None]  # [E, T, M]
        return per_type.reshape(E * self.n_types, M).index_select(0, env_a * self.n_types + type_a)

    def latency_estimate(self, cap: Tensor, used: Tensor, env_a: Tensor, user_a: Tensor, type_a: Tensor) -> Tensor:
        """[A, M + 1] latency (ms) each task would see on every node, joining its load ``used``
        alone (work-conserving rate C·d / (used + d), access link cap), and locally (last
        column); ``inf`` on nodes that are down. Never above the latency the task really
        gets, since the real load also holds the other newcomers of the round."""
        E, M, T = cap.shape[0], self.n_nodes, self.n_types
        tt = self.task_tab
        dem = self.demand5[:, :4].float()                                                 # [T, 4]
        rate = cap[:, None] * dem[None, :, None] / (used[:, None] + dem[None, :, None]).clamp_min(1e-30)
        comp = units.compute_ms(tt[None, :, 3, None], rate[..., 0].clamp_min(1e-9))
        comp = torch.where(cap[:, None, :, 0] > 0, comp, math.inf)                         # [E, T, M]
        up_ms = units.transfer_ms(tt[None, :, 4, None], rate[..., 2].clamp_min(1e-9))
        dn_ms = units.transfer_ms(tt[None, :, 5, None], rate[..., 3].clamp_min(1e-9))
        tab = torch.cat([comp, up_ms, dn_ms], 2).view(E * T, 3 * M)
        c, up, dn = tab.index_select(0, env_a * T + type_a).view(-1, 3, M).unbind(1)      # [A, M] each
        ut = tt.index_select(0, type_a)                                                   # [A, 9]
        acc = self.access_mbps.index_select(0, user_a)[:, None]
        est = (c + torch.maximum(up, units.transfer_ms(ut[:, 4:5], acc))
               + torch.maximum(dn, units.transfer_ms(ut[:, 5:6], acc)) + self.rtt_ms.index_select(0, user_a))
        local = units.compute_ms(ut[:, 3:4], self.local_tflops.index_select(0, user_a)[:, None])
        return torch.cat([est, local], 1)

    # --- observations -----------------------------------------------------------------------
    def _observe(self, s: EdgeState, reward: dict[str, Tensor], truncated: Tensor,
                 info: dict[str, Tensor], targets: Tensor | None = None) -> Step:
        """Fresh observations; user rows are computed only for users with a new task (the
        others observe zeros: they have nothing to decide)."""
        cfg, dev = self.config, self.device
        E, N, M = self.n_envs, self.n_users, self.n_nodes
        t = min(s.round, cfg.episode_rounds - 1)
        cap = self.cap0 * self._cap_factor(t)                                             # [E, M, 4]
        failed = (cap[..., 0] <= 0).float()                                               # [E, M]
        used = s.used[..., :4].float()
        idx, env_a = s.pending_idx, s.pending_env
        user_a = idx - env_a * N
        type_a = s.task_type.view(-1).index_select(0, idx)
        est = self.latency_estimate(cap, used, env_a, user_a, type_a)                     # [A, M+1]
        lmax = self.task_tab.index_select(0, type_a)[:, 6:7]
        log_ratio = torch.log(est / lmax).clamp(-MAX_RATIO, MAX_RATIO)
        q = self.quotes(s.prices, env_a, type_a)                                          # [A, M]
        rows = torch.cat([
            self.type_obs.index_select(0, type_a),
            s.budget_factor.view(-1).index_select(0, idx)[:, None],
            self.user_feats.index_select(0, user_a),
            (q / s.budget.view(-1).index_select(0, idx)[:, None].clamp_min(1e-12)).clamp(max=MAX_RATIO),
            s.util.index_select(0, env_a),
            failed.index_select(0, env_a),
            log_ratio,
        ], 1)
        self._obs_turn ^= 1
        buf = self._obs_bufs[self._obs_turn]
        if buf is None:  # a what-if copy (select) allocates a buffer only when it first observes
            buf = self._obs_bufs[self._obs_turn] = torch.zeros(E * N, rows.shape[1], device=dev)
        buf.index_fill_(0, self._obs_rows[self._obs_turn], 0.0)
        buf.index_copy_(0, idx, rows)
        self._obs_rows[self._obs_turn] = idx
        obs_user = buf.view(E, N, -1)

        avail = (cap - used).clamp(min=0) / self.cap0
        obs_prov = torch.cat([
            avail, failed[..., None], (s.used[..., 4:5].float() / N), s.req_stats,
            s.prices / self.price_max, self.provider_feats.expand(E, M, 5),
        ], 2)
        done_prov = (s.done_from <= s.round) & (s.done_from < cfg.episode_rounds)
        if targets is None:
            targets = torch.zeros(E, 2 * (M + 1), device=dev)
        state = torch.cat([obs_prov.reshape(E, -1), targets,
                           torch.full((E, 1), s.round / cfg.episode_rounds, device=dev)], 1)
        no = torch.zeros(E, dtype=torch.bool, device=dev)
        return Step(
            obs={"user": obs_user, "provider": obs_prov},
            reward=reward,
            active={"user": s.pending, "provider": (failed == 0) & ~done_prov},
            done={"user": torch.zeros(E, N, dtype=torch.bool, device=dev), "provider": done_prov},
            state=state,
            terminated=no,
            truncated=truncated,
            info=info,
        )

    # --- what-if copies ---------------------------------------------------------------------------
    def select(self, idx: Tensor) -> EdgeMarket:
        """A new batch holding copies of this batch's environments ``idx`` (``[K]`` long, repeats
        allowed) in their current state: what-if steps for deviation searches, leaving this batch
        untouched. Config, scenario tensors and role specs are read-only and shared; the state, the
        observation buffers and the arrivals generator are the copy's own (the generator starts
        from this batch's state, so ``select(arange(E))`` steps exactly like this batch). A copy
        cannot be checkpointed: its schedules are not those of any reset seed."""
        s = self._s
        if s is None:
            raise MarllocError("call reset() before select()")
        idx = torch.as_tensor(idx, dtype=torch.long, device=self.device)
        N = self.n_users
        other = copy.copy(self)
        other.n_envs = idx.numel()
        take = {k: getattr(s, k).index_select(0, idx) for k in (
            "task_type", "budget", "budget_factor", "pending", "remaining", "host", "threshold", "hazard",
            "used", "prices", "util", "req_stats", "arrival_mult", "done_from")}
        pending_idx = take["pending"].view(-1).nonzero().squeeze(1)
        # failure masks [E, M] follow their environments; bandwidth series are global
        events = [(a, b, e.index_select(0, idx) if isinstance(e, Tensor) else e) for a, b, e in s.cap_events]
        other._s = EdgeState(round=s.round, pending_idx=pending_idx, pending_env=pending_idx // N,
                             cap_events=events, **take)
        other._g_arrivals = torch.Generator(device=self.device)
        other._g_arrivals.set_state(self._g_arrivals.get_state())
        # observation buffers are allocated at first use (see _observe): a what-if copy that
        # steps once needs one, and its K·N rows are the bulk of its memory
        other._obs_bufs = [None, None]
        other._obs_rows = [pending_idx[:0], pending_idx[:0]]
        other._obs_turn = 0
        return other

    def post_prices(self, price: Tensor) -> Step:
        """Replace the prices posted for the coming round by ``price`` (``[E, M, 3]`` fractions of
        price_max, like the providers' ``price`` action of the last step) and return the current
        observations under them; rewards are zero and ``info`` empty, since nothing is played.
        The what-if of providers having posted other prices: a provider's price deviation
        changes nothing else in the round it is posted (see "One round")."""
        s = self._s
        if s is None:
            raise MarllocError("call reset() before post_prices()")
        E, N, M = self.n_envs, self.n_users, self.n_nodes
        s.prices = price.float() * self.price_max
        zero = {"user": torch.zeros(E, N, device=self.device), "provider": torch.zeros(E, M, device=self.device)}
        truncated = torch.full((E,), s.round >= self.config.episode_rounds, dtype=torch.bool, device=self.device)
        return self._observe(s, zero, truncated, {})

    # --- checkpointing ------------------------------------------------------------------------
    _DYNAMIC = ("task_type", "budget", "budget_factor", "pending", "pending_idx", "pending_env", "remaining",
                "host", "threshold", "used", "prices", "util", "req_stats")

    def state_dict(self) -> dict:
        """Everything needed to continue this batch exactly (tensors and ints only, so it loads
        with ``torch.load(weights_only=True)``); schedules are rebuilt from the reset seed."""
        s = self._s
        if s is None:
            raise MarllocError("call reset() before state_dict()")
        return {
            "seed": self._seed, "n_envs": self.n_envs, "round": s.round,
            **{k: getattr(s, k).clone() for k in self._DYNAMIC},
            "g_arrivals": self._g_arrivals.get_state(), "g_events": self._g_events.get_state(),
            "obs_turn": self._obs_turn, "obs_rows": [r.clone() for r in self._obs_rows],
            "obs_bufs": [b.clone() for b in self._obs_bufs],
        }

    def load_state_dict(self, d: dict) -> None:
        """Continue from :meth:`state_dict` (same config)."""
        self.reset(n_envs=int(d["n_envs"]), seed=int(d["seed"]))
        s = self._s
        s.round = int(d["round"])
        for k in self._DYNAMIC:
            setattr(s, k, d[k].to(self.device).clone())
        self._g_arrivals.set_state(d["g_arrivals"])
        self._g_events.set_state(d["g_events"])
        self._obs_turn = int(d["obs_turn"])
        self._obs_rows = [r.to(self.device).clone() for r in d["obs_rows"]]
        self._obs_bufs = [b.to(self.device).clone() for b in d["obs_bufs"]]

    # --- analysis -------------------------------------------------------------------------------
    def steady_state_demand(self) -> dict[str, Tensor]:
        """Expected demand in flight at the mean arrival rate (no events), by Little's law.

        A user alternates idle spells ((1 − p)/p rounds on average) and tasks (mean duration
        d̄), so it starts p / (1 − p + p·d̄) tasks a round; demand of type τ in flight is
        N · that rate · share_τ · duration_τ · D_τ. Returns ``arrivals_per_round``, the
        ``edge_tier`` and ``all`` demand in flight ``[4]``, and ``edge_capacity`` ``[4]``."""
        cfg, p = self.config, self.config.arrival_prob
        share = torch.tensor([t.share for t in cfg.tasks], dtype=torch.float64)
        dur = self.duration.double().cpu()
        rate = cfg.n_users * p / (1 - p + p * float((share * dur).sum()))
        per_type = rate * (share * dur)[:, None] * self.demand5[:, :4].cpu()             # [T, 4]
        edge_tier = torch.tensor([t.tier == "edge" for t in cfg.tasks])
        return {
            "arrivals_per_round": torch.tensor(rate),
            "edge_tier": per_type[edge_tier].sum(0),
            "all": per_type.sum(0),
            "edge_capacity": self.cap0[1:].double().cpu().sum(0),
        }

    def coming_round(self) -> tuple[Tensor, Tensor, Tensor]:
        """State the coming round's decisions meet: capacity ``[E, M, 4]``, demand in flight
        ``[E, M, 5]`` after tasks on a node failing this round have died, and their count ``[E]``."""
        s = self._s
        if s is None:
            raise MarllocError("call reset() before asking about the coming round")
        t = s.round
        cap = self.cap0 * self._cap_factor(t)
        used = s.used.clone()
        newly = self._newly_failed(t, cap[..., 0] > 0)
        n_killed = (used[..., 4] * newly).sum(1)
        used[newly] = 0.0
        return cap, used, n_killed

    def round_instance(self, deadline_filter: bool = True, strict: bool = False):
        """The coming round as a :class:`~marlloc.solvers.optimum.RoundInstance` (see there).

        ``strict=False`` (for the upper bound) allows everything the environment admits, up to
        its 1e-9 tolerance; ``strict=True`` (for a policy applying the answer) keeps a 1e-6
        margin on capacity and budgets so that the environment admits what the solver chose
        despite float rounding and the solver's own tolerances."""
        from marlloc.solvers.optimum import RoundInstance

        s, cfg = self._s, self.config
        cap, used, n_killed = self.coming_round()
        E, N, M, t = self.n_envs, self.n_users, self.n_nodes, s.round
        up = cap[..., 0] > 0
        idx, env_a = s.pending_idx, s.pending_env
        user_a = idx - env_a * N
        type_a = s.task_type.view(-1).index_select(0, idx)
        tt = self.task_tab.index_select(0, type_a).double()
        budget = s.budget.view(-1).index_select(0, idx).double()
        lat = self.latency_estimate(cap, used[..., :4].float(), env_a, user_a, type_a).double()  # [K, M+1]
        quote = self.quotes(s.prices, env_a, type_a).double()                             # [K, M]
        lmax, alpha = tt[:, 6], tt[:, 7]

        n_dec = torch.bincount(env_a, minlength=E).double()
        live = s.done_from > t                                                            # [E, M]
        w_u = cfg.user_weight / n_dec.clamp_min(1)                                        # [E]
        w_p = cfg.provider_weight / live.sum(1).double().clamp_min(1)                     # [E]
        wu_k, wp_k = w_u[env_a, None], w_p[env_a, None]
        cap64 = cap.double()
        demand = self.demand5.index_select(0, type_a)[:, :4]                              # [K, 4]
        util_gain = torch.where(cap64[env_a] > 0, demand[:, None] / cap64[env_a].clamp_min(1e-30), 0.0).mean(2)
        rs = self.revenue_scale.double()
        scored = live & up                                                                # nodes whose reward can change
        # the payment enters linearly: take the end of [quote, budget] that the objective prefers
        slope = -(cfg.beta + cfg.eta) * wu_k / budget[:, None] + (1 - cfg.mu) * wp_k * scored[env_a] / rs
        pay = torch.where(slope > 0, budget[:, None].expand_as(quote), quote)
        gain = alpha[:, None] * torch.log(lmax[:, None] / lat.clamp_min(1.0))              # [K, M+1]
        coef = wu_k * gain
        coef[:, :M] += -(cfg.beta + cfg.eta) * wu_k * pay / budget[:, None] + wp_k * scored[env_a] * (
            cfg.mu * util_gain + (1 - cfg.mu) * pay / rs)
        feasible = torch.ones_like(coef, dtype=torch.bool)
        margin = 1e-6 if strict else 0.0
        feasible[:, :M] = up[env_a] & (quote <= budget[:, None] * (1 - margin))
        if deadline_filter:
            feasible[:, :M] &= lat[:, :M] <= lmax[:, None]

        util0 = torch.where(cap64 > 0, used[..., :4] / cap64.clamp_min(1e-30), 0.0).clamp(max=1).mean(2)  # [E, M]
        const = -cfg.failure_penalty * n_killed * w_u + w_p * (cfg.mu * util0 * live).sum(1)
        # a live node that is down scores 0 and no z; an up one carries its overload variable
        penalty = torch.where(scored, cfg.nu * w_p[:, None], 0.0)
        free = (cap64 - used[..., :4]).clamp(min=0)
        free = free * (1 - margin) - margin if strict else free + 1e-9
        np_ = lambda x: x.detach().cpu().numpy()  # noqa: E731
        return RoundInstance(
            n_envs=E, n_nodes=M, task_env=np_(env_a), task_index=np_(idx), coef=np_(coef), feasible=np_(feasible),
            payment=np_(pay), budget=np_(budget), demand=np_(demand), free=np_(free.clamp(min=0)),
            util_gain=np_(util_gain), util0=np_(util0), overload_penalty=np_(penalty),
            threshold=cfg.overload_threshold, const=np_(const),
            util_max=np_(torch.full_like(util0, 1.0 + 1e-6)),  # capacity caps every dimension
        )
