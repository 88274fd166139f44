"""The per-round centralised optimum of the edge market: a MILP over task → node-or-local.

Given a round's state (tasks in flight, posted prices, the new tasks and their budgets), choose
for every new task i one option j (a node, or local) and a payment, to maximise the round's
system utility (eq. 1.10 with the weights normalised by counts, exactly as the environment and
:class:`~marlloc.metrics.EdgeEpisodeMetrics` score it):

    max  Σ_ij c_ij x_ij − Σ_j p_j z_j + const
    s.t. Σ_j x_ij = 1                                     every task gets one option
         Σ_i D_id x_ij ≤ free_jd                          four dimensions, tasks in flight counted
         Σ_i u_ij x_ij − U_j z_j ≤ θ − util0_j            z_j = 1 when node j's utilisation > θ
         x, z ∈ {0, 1}  (the LP relaxation: [0, 1])

c_ij holds the user's reward (QoE at the task's latency estimate minus (β + η)·payment/budget,
weighted ω_u / decisions) and the provider's (μ · utilisation added + (1 − μ) · payment /
revenue_scale, weighted ω_r / live providers); the payment, anywhere in [quote, budget], enters
linearly, so the better end is chosen in closed form. z_j carries the overload penalty ν; its
big-M U_j is the most node j's utilisation can exceed θ by (≤ 1 − θ in the market, where
capacity caps every dimension), the tightest value that keeps the relaxation a bound.

Latency is the **newcomer estimate**: the rate a task would get joining the node's load in
flight alone (``EdgeMarket.latency_estimate``). The real rate is never higher, because the
round's other newcomers share the node too. So for any allocation the environment admits, the
MILP's value of it is ≥ what the environment pays out, and the LP relaxation (without the
deadline filter) is an **upper bound on the round's system utility under every policy**.

``deadline_filter=True`` (default for the ``optimum`` policy) drops offloading options whose
estimate misses L_max (eq. 1.12); running locally stays allowed. The evaluation bound is built
without the filter so it bounds policies that do offload late tasks.

Solver: HiGHS through ``scipy.optimize.milp``; the model is built from sparse arrays. All
environments of a batch go into one block-diagonal model, and per-environment objective values
are read off the solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp


@dataclass
class RoundInstance:
    """One round of a batch of E edge markets with K new tasks and M nodes (numpy arrays)."""

    n_envs: int
    n_nodes: int
    task_env: np.ndarray       # [K] int, environment of each task
    task_index: np.ndarray     # [K] int, flat env * N + user of each task
    coef: np.ndarray           # [K, M + 1] objective coefficient of each option (local last)
    feasible: np.ndarray       # [K, M + 1] bool, option allowed (up, affordable, deadline filter)
    payment: np.ndarray        # [K, M] credits paid if offloaded there (the better end of [quote, budget])
    budget: np.ndarray         # [K] credits
    demand: np.ndarray         # [K, 4] (TFLOPS, GB, Mbit/s up, Mbit/s down)
    free: np.ndarray           # [E, M, 4] capacity left after the tasks in flight (≥ 0)
    util_gain: np.ndarray      # [K, M] utilisation a task adds to a node (mean over dims of D / capacity)
    util0: np.ndarray          # [E, M] utilisation of the tasks in flight
    overload_penalty: np.ndarray  # [E, M] objective cost of z_j (0: node not scored)
    threshold: float           # θ, overload threshold
    const: np.ndarray          # [E] constant part of the round's system utility
    util_max: np.ndarray | None = None  # [E, M] highest reachable utilisation (None: util0 + every gain)

    @property
    def n_tasks(self) -> int:
        return int(self.task_env.shape[0])


STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


class AssignmentOptimum:
    """sklearn-shaped MILP (or LP relaxation, ``relax=True``) of a :class:`RoundInstance`.

    After ``solve``: ``assignment_`` [K] (node index, M = local; −1 if unsolved),
    ``payment_`` [K] credits (0 locally), ``objective_`` (sum over environments),
    ``objective_per_env_`` [E], ``bound_`` (HiGHS's dual bound; equals the objective for the
    LP), ``gap_`` (relative), ``status_`` ("optimal", "time_limit", "infeasible", "empty", ...),
    ``solve_time_s_`` (model build + solve), ``x_`` (the solution vector over options).
    """

    def __init__(self, time_limit_s: float = 10.0, mip_gap: float = 1e-4, relax: bool = False):
        self.time_limit_s = time_limit_s
        self.mip_gap = mip_gap
        self.relax = relax

    def solve(self, inst: RoundInstance) -> AssignmentOptimum:
        t0 = time.perf_counter()
        E, M, K = inst.n_envs, inst.n_nodes, inst.n_tasks
        # --- variables: one per allowed (task, option), then one z per scored node ---
        ti, oj = np.nonzero(inst.feasible)                                                # [V]
        V = ti.size
        zs = np.flatnonzero(inst.overload_penalty.reshape(-1) > 0)                          # scored (env, node)
        n_var = V + zs.size
        c = np.concatenate([-inst.coef[ti, oj], inst.overload_penalty.reshape(-1)[zs]])    # milp minimises

        rows, cols, vals, lo, hi = [], [], [], [], []
        # every task takes exactly one option
        rows.append(ti), cols.append(np.arange(V)), vals.append(np.ones(V))
        lo.append(np.ones(K)), hi.append(np.ones(K))
        r0 = K
        # capacity of (env, node, dim): row r0 + (e * M + j) * 4 + d
        on_node = oj < M
        v_node = np.flatnonzero(on_node)
        e_v, j_v = inst.task_env[ti[v_node]], oj[v_node]
        for d in range(4):
            rows.append(r0 + (e_v * M + j_v) * 4 + d), cols.append(v_node), vals.append(inst.demand[ti[v_node], d])
        lo.append(np.full(E * M * 4, -np.inf)), hi.append(inst.free.reshape(-1))
        r1 = r0 + E * M * 4
        # overload rows of scored nodes: Σ u x − U z ≤ θ − util0, U the largest possible excess
        z_row = np.full(E * M, -1)
        z_row[zs] = np.arange(zs.size)
        g_v = e_v * M + j_v
        gain_v = inst.util_gain[ti[v_node], j_v]
        reach = inst.util0.reshape(-1).copy()
        np.add.at(reach, g_v, gain_v)
        if inst.util_max is not None:
            reach = np.minimum(reach, inst.util_max.reshape(-1))
        big_m = np.maximum(reach[zs] - inst.threshold, 1e-9)
        keep = z_row[g_v] >= 0
        rows.append(r1 + z_row[g_v[keep]]), cols.append(v_node[keep]), vals.append(gain_v[keep])
        rows.append(r1 + np.arange(zs.size)), cols.append(V + np.arange(zs.size)), vals.append(-big_m)
        lo.append(np.full(zs.size, -np.inf)), hi.append(inst.threshold - inst.util0.reshape(-1)[zs])
        n_row = r1 + zs.size

        if K == 0 and zs.size == 0:
            x = np.zeros(0)
            self._finish(inst, x, ti, oj, zs, "empty", 0.0, t0)
            return self
        A = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_var))
        res = milp(
            c,
            constraints=LinearConstraint(A, np.concatenate(lo), np.concatenate(hi)),
            integrality=np.zeros(n_var) if self.relax else np.ones(n_var),
            bounds=Bounds(0, 1),
            options={"time_limit": self.time_limit_s, "mip_rel_gap": self.mip_gap, "disp": False},
        )
        status = STATUS.get(res.status, "error")
        if res.x is None:
            self._finish(inst, None, ti, oj, zs, status, np.nan, t0)
            return self
        gap = 0.0 if self.relax else float(getattr(res, "mip_gap", 0.0) or 0.0)
        self._finish(inst, res.x, ti, oj, zs, "empty" if K == 0 else status, gap, t0,
                     dual=None if self.relax else getattr(res, "mip_dual_bound", None))
        return self

    def _finish(self, inst, x, ti, oj, zs, status, gap, t0, dual=None) -> None:
        E, M, K = inst.n_envs, inst.n_nodes, inst.n_tasks
        self.status_ = status
        self.gap_ = gap
        self.x_ = x
        if x is None:
            self.assignment_ = np.full(K, -1)
            self.payment_ = np.zeros(K)
            self.objective_per_env_ = np.full(E, np.nan)
            self.objective_ = self.bound_ = np.nan
            self.solve_time_s_ = time.perf_counter() - t0
            return
        V = ti.size
        xv, zv = x[:V], x[V:]
        per_env = inst.const.astype(float).copy()
        np.add.at(per_env, inst.task_env[ti], inst.coef[ti, oj] * xv)
        np.add.at(per_env, zs // M, -inst.overload_penalty.reshape(-1)[zs] * zv)
        self.objective_per_env_ = per_env
        self.objective_ = float(per_env.sum())
        # the chosen option of each task (for an LP, its largest share)
        best = np.full(K, -1.0)
        choice = np.full(K, -1)
        order = np.argsort(xv, kind="stable")  # ascending: the largest share of each task is written last
        best[ti[order]] = xv[order]
        choice[ti[order]] = oj[order]
        self.assignment_ = choice
        on = (choice >= 0) & (choice < M)
        self.payment_ = np.where(on, inst.payment[np.arange(K), np.minimum(choice, M - 1)], 0.0)
        self.bound_ = self.objective_ if dual is None else float(-dual + inst.const.sum())
        self.solve_time_s_ = time.perf_counter() - t0
