"""The economy's stage game at the current state: exact unilateral deviations, NashConv, best-response
dynamics (the non-cooperative game-theory baseline) and the centralised and Gini-constrained LPs.

The stage game of ``economy_v0`` at a state is the one-step game whose payoffs are the step
rewards (R − C)·D. Countries do not interact, so the agents in the same *slot* of every country
(the government; firm f; consumer group h) can deviate at once without seeing each other: one
batched what-if step of J copies of the batch (J = the slot's candidate actions, 11 or 121) gives
every candidate's exact payoff for all of them (:meth:`EconomyStage.deviations`). Ten slots
cover the 100 default agents, about 220 copies per environment.

- :meth:`EconomyStage.nash_conv`: deviation gains δ_i = max_a r_i(a, a_−i) − r_i(a), exact for the
  stage game on the action grid (``shared/design/game-theory.md``, estimate 2); NashConv = Σ δ_i and
  ε = max δ_i per environment.
- :meth:`EconomyStage.best_response_dynamics`: Gauss–Seidel over slots (every country's slot agent
  moves at once — valid since countries are independent) until a full sweep changes nothing (a
  pure Nash equilibrium of the stage game on the grid, NashConv 0) or ``max_iter`` sweeps, when
  non-convergence is reported with the NashConv reached. An agent moves only when its gain
  exceeds ``tol`` (relative to the payoff scale), which makes cycling through ties impossible.
- :class:`EconomyPlanner`: the centralised baseline of seed 004 §3.8 as sequential linear
  programming. Around the current profile a, each agent's candidate values v_ij = W_c(a_i → j) − W_c(a)
  — the change of its country's total reward (welfare) when it alone switches to j — make the
  stage objective separable; the LP (HiGHS, one block per environment × country) maximises
  Σ v_ij·z_ij over z ≥ 0 with Σ_j z_ij = 1 per agent and the capital pool Σ_firms q_j·z_ij ≤ K. Each
  agent takes its largest z; the step repeats from the new profile while the true welfare rises
  (``max_rounds``). ``gini_max`` adds the Pareto baseline's fairness constraint on the consumer
  groups' incomes, which depend linearly on the government's choice:
  Σ_{h<h'} |y_h − y_h'| ≤ gini_max · H · Σ_h y_h, linearised with one auxiliary variable per pair.
  Where even the government's fairest choice exceeds ``gini_max`` in a country, that country's
  bound is raised to its fairest choice (``relaxed_`` counts such blocks) rather than failing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import linprog
from torch import Tensor

from marlloc.core.config import check
from marlloc.core.errors import MarllocError

ORDER = ("government", "firm", "consumer")


def candidates(env, role: str) -> Tensor:
    """Every joint action of one agent of ``role``: ``[J, n_components]`` levels (row-major)."""
    sizes = [sp_.n for sp_ in env.roles[role].actions.values()]
    return torch.tensor(list(itertools.product(*[range(k) for k in sizes])), dtype=torch.long, device=env.device)


@dataclass(frozen=True)
class BestResponseResult:
    actions: dict            # the profile reached, role → component → [E, N_r]
    iterations: int          # full sweeps done
    converged: bool          # a sweep changed nothing
    nash_conv: Tensor        # [E] NashConv of the profile reached
    epsilon: Tensor          # [E] largest deviation gain


class EconomyStage:
    """Exact one-step deviation payoffs of ``economy_v0`` at the batch's current state."""

    def __init__(self, env):
        self.env = env
        self.per_country = {"government": 1, "firm": env.n_firms, "consumer": env.n_households}
        self.cands = {r: candidates(env, r) for r in ORDER}
        self.comps = {r: list(env.roles[r].actions) for r in ORDER}

    def slots(self):
        for r in ORDER:
            for s in range(self.per_country[r]):
                yield r, s

    def agents(self, role: str, slot: int) -> Tensor:
        return slot + torch.arange(self.env.n_countries, device=self.env.device) * self.per_country[role]

    def welfare(self, reward: dict[str, Tensor], E: int) -> Tensor:
        """Total reward per country ``[E, C]`` from per-role rewards ``[E, N_r]``."""
        C = self.env.n_countries
        return sum(reward[r].view(E, C, -1).sum(-1) for r in ORDER)

    def play(self, actions: dict) -> dict[str, Tensor]:
        """Rewards and info of one what-if step of the profile (the batch is left untouched)."""
        E = self.env.n_envs
        st = self.env.select(torch.arange(E, device=self.env.device)).step(actions, check=False)
        return {"reward": st.reward, "welfare": self.welfare(st.reward, E), "income": st.info["consumer/income"]}

    def deviations(self, actions: dict, role: str, slot: int) -> dict[str, Tensor]:
        """Every candidate of the (role, slot) agents, others fixed: own reward, country welfare and
        consumer incomes, each ``[E, J, C, ...]``."""
        env, dev = self.env, self.env.device
        E, C, J = env.n_envs, env.n_countries, len(self.cands[role])
        sub = env.select(torch.arange(E, device=dev).repeat_interleave(J))
        acts = {r: {c: a.repeat_interleave(J, 0).clone() for c, a in comps.items()} for r, comps in actions.items()}
        who = self.agents(role, slot)
        for k, c in enumerate(self.comps[role]):
            acts[role][c][:, who] = self.cands[role][:, k].repeat(E)[:, None]
        st = sub.step(acts, check=False)
        return {"own": st.reward[role].view(E, J, -1)[:, :, who],
                "welfare": self.welfare(st.reward, E * J).view(E, J, C),
                "income": st.info["consumer/income"].view(E, J, C, -1)}

    def index_of(self, actions: dict, role: str, who: Tensor) -> Tensor:
        """Candidate index ``[E, C]`` of the agents ``who`` in the profile."""
        idx = torch.zeros(self.env.n_envs, len(who), dtype=torch.long, device=self.env.device)
        for c, k in zip(self.comps[role], [sp_.n for sp_ in self.env.roles[role].actions.values()], strict=True):
            idx = idx * k + actions[role][c][:, who]
        return idx

    def gains(self, actions: dict) -> dict[str, Tensor]:
        """Deviation gains δ_i ``[E, N_r]`` per role (negative values kept: they would expose a bug)."""
        base = self.play(actions)["reward"]
        out = {r: torch.zeros_like(base[r]) for r in ORDER}
        for r, s in self.slots():
            who = self.agents(r, s)
            dv = self.deviations(actions, r, s)
            out[r][:, who] = dv["own"].max(1).values - base[r][:, who]
        return out

    def nash_conv(self, actions: dict) -> tuple[Tensor, Tensor]:
        """(NashConv, ε) per environment ``[E]`` of the stage game at the profile."""
        g = torch.cat(list(self.gains(actions).values()), 1)
        return g.sum(1), g.max(1).values

    def payoff_scale(self, actions: dict) -> float:
        return float(torch.cat([v.abs().reshape(-1) for v in self.play(actions)["reward"].values()]).mean()) + 1e-12

    def best_response_dynamics(self, actions: dict, max_iter: int = 50, tol: float = 1e-6) -> BestResponseResult:
        """Gauss–Seidel best responses over slots from ``actions`` (see the module docstring)."""
        check(isinstance(max_iter, int) and max_iter >= 1, "max_iter", "be an integer ≥ 1", max_iter, "try 50")
        acts = {r: {c: a.clone() for c, a in comps.items()} for r, comps in actions.items()}
        eps = tol * self.payoff_scale(acts)
        converged, it = False, 0
        while it < max_iter and not converged:
            it += 1
            changed = False
            for r, s in self.slots():
                who = self.agents(r, s)
                own = self.deviations(acts, r, s)["own"]                         # [E, J, C]
                cur = own.gather(1, self.index_of(acts, r, who)[:, None]).squeeze(1)
                best_val, best = own.max(1)
                move = best_val > cur + eps
                if bool(move.any()):
                    changed = True
                    for k, c in enumerate(self.comps[r]):
                        new = self.cands[r][:, k][best]
                        acts[r][c][:, who] = torch.where(move, new, acts[r][c][:, who])
            converged = not changed
        nc, e = self.nash_conv(acts)
        return BestResponseResult(acts, it, converged, nc, e)


class EconomyPlanner:
    """Sequential LP of the stage welfare (the centralised baseline); ``gini_max`` makes it the
    Pareto baseline with a Gini constraint on consumer incomes. sklearn-shaped: settings in the
    constructor, work in :meth:`solve`, results in attributes ending in ``_``."""

    def __init__(self, gini_max: float | None = None, max_rounds: int = 5):
        check(gini_max is None or 0 <= gini_max <= 1, "gini_max", "lie in [0, 1] or be None", gini_max,
              "try gini_max=0.3")
        self.gini_max, self.max_rounds = gini_max, max_rounds

    def solve(self, env, actions: dict) -> EconomyPlanner:
        stage = EconomyStage(env)
        acts = {r: {c: a.clone() for c, a in comps.items()} for r, comps in actions.items()}
        best_w = stage.play(acts)["welfare"]                                      # [E, C]
        self.rounds_, self.relaxed_ = 0, 0
        for _ in range(self.max_rounds):
            new = self._lp_step(env, stage, acts, best_w)
            w = stage.play(new)["welfare"]
            better = w > best_w + 1e-9 * best_w.abs().clamp_min(1)                # per env × country
            if not bool(better.any()):
                break
            self.rounds_ += 1
            for r in ORDER:
                per = self.env_country_mask(env, r, better)
                for c in acts[r]:
                    acts[r][c] = torch.where(per, new[r][c], acts[r][c])
            best_w = torch.where(better, w, best_w)
        self.actions_, self.welfare_ = acts, best_w
        return self

    @staticmethod
    def env_country_mask(env, role: str, mask: Tensor) -> Tensor:
        """A per-(env, country) mask ``[E, C]`` spread to the role's agents ``[E, N_r]``."""
        n = env.roles[role].n_agents // env.n_countries
        return mask.repeat_interleave(n, 1)

    def _lp_step(self, env, stage: EconomyStage, acts: dict, base_w: Tensor) -> dict:
        """One linearised LP for every (env, country) block, solved as one HiGHS model."""
        E, C = env.n_envs, env.n_countries
        # candidate values per agent: v[(r, s)] [E, J, C]; pool use per firm candidate; incomes per gov candidate
        tables = {(r, s): stage.deviations(acts, r, s) for r, s in stage.slots()}
        q_of = {j: float(lv) for j, lv in enumerate(env._levels[stage.cands["firm"][:, 0]] * env.q_max)}
        pool = env._exogenous(env._s)["pool"]                                     # [E, C]
        H = env.n_households
        cols, blocks = [], []                     # variable layout per block: slot candidates in order
        for r, s in stage.slots():
            cols.append((r, s, len(stage.cands[r])))
        n_z = sum(j for *_, j in cols)
        n_pairs = H * (H - 1) // 2 if self.gini_max is not None else 0
        n_var = n_z + n_pairs
        c_all, A_ub, b_ub, A_eq, b_eq = [], [], [], [], []
        row_ub = row_eq = 0
        for e in range(E):
            for k in range(C):
                off = len(blocks) * n_var
                blocks.append((e, k))
                obj = np.zeros(n_var)
                pos = 0
                gov_pos = None
                for r, s, J in cols:
                    v = (tables[(r, s)]["welfare"][e, :, k] - base_w[e, k]).double().cpu().numpy()
                    obj[pos:pos + J] = v
                    A_eq.append(([row_eq] * J, list(range(off + pos, off + pos + J)), [1.0] * J))
                    b_eq.append(1.0)
                    row_eq += 1
                    if r == "government":
                        gov_pos = pos
                    pos += J
                # the capital pool: Σ_firms q_j z_ij ≤ K
                idx, val = [], []
                pos = 0
                for r, _s, J in cols:
                    if r == "firm":
                        idx += list(range(off + pos, off + pos + J))
                        val += [q_of[j] for j in range(J)]
                    pos += J
                A_ub.append(([row_ub] * len(idx), idx, val))
                b_ub.append(float(pool[e, k]))
                row_ub += 1
                if self.gini_max is not None:
                    y = tables[("government", 0)]["income"][e, :, k].double().cpu().numpy()   # [J_gov, H]
                    Jg = y.shape[0]
                    gz = list(range(off + gov_pos, off + gov_pos + Jg))
                    pairs = list(itertools.combinations(range(H), 2))
                    for p, (h1, h2) in enumerate(pairs):
                        d = off + n_z + p
                        diff = y[:, h1] - y[:, h2]
                        for sign in (1.0, -1.0):          # ±(y_h1 − y_h2) − d ≤ 0
                            A_ub.append(([row_ub] * (Jg + 1), [*gz, d], [*list(sign * diff), -1.0]))
                            b_ub.append(0.0)
                            row_ub += 1
                    # Σ d − g·H·Σ_h y_h ≤ 0, with g no lower than the fairest pure choice of this
                    # country's government (else the LP would be infeasible): counted in relaxed_
                    tot = y.sum(1)
                    g_min = float((np.abs(y[:, :, None] - y[:, None, :]).sum((1, 2)) / (2 * H * tot)).min())
                    g_eff = max(self.gini_max, g_min + 1e-9)
                    self.relaxed_ += int(g_eff > self.gini_max)
                    A_ub.append(([row_ub] * (Jg + n_pairs), gz + list(range(off + n_z, off + n_z + n_pairs)),
                                 list(-g_eff * H * tot) + [1.0] * n_pairs))
                    b_ub.append(0.0)
                    row_ub += 1
                c_all.append(-obj)
        n_total = n_var * len(blocks)

        def mat(parts, n_rows):
            r = np.concatenate([np.asarray(p[0]) for p in parts]) if parts else np.zeros(0)
            c = np.concatenate([np.asarray(p[1]) for p in parts]) if parts else np.zeros(0)
            v = np.concatenate([np.asarray(p[2], dtype=float) for p in parts]) if parts else np.zeros(0)
            return sp.csr_matrix((v, (r, c)), shape=(n_rows, n_total))

        res = linprog(np.concatenate(c_all), A_ub=mat(A_ub, row_ub), b_ub=np.array(b_ub), A_eq=mat(A_eq, row_eq),
                      b_eq=np.array(b_eq), bounds=(0, None), method="highs")
        if res.status != 0:
            raise MarllocError(f"the planner's LP failed ({res.message}); please report this with the config")
        z = res.x.reshape(len(blocks), n_var)
        new = {r: {c: a.clone() for c, a in comps.items()} for r, comps in acts.items()}
        for b, (e, k) in enumerate(blocks):
            pos = 0
            for r, s, J in cols:
                j = int(np.argmax(z[b, pos:pos + J]))
                if r == "government" and self.gini_max is not None:
                    j = self._fair_choice(tables[(r, s)], e, k, z[b, pos:pos + J], j)
                i = s + k * stage.per_country[r]
                for m, c in enumerate(stage.comps[r]):
                    new[r][c][e, i] = stage.cands[r][j, m]
                pos += J
        return new

    def _fair_choice(self, table: dict, e: int, k: int, z: np.ndarray, j: int) -> int:
        """Rounding the government's mixed LP choice can break the Gini bound: keep the LP's pick
        if its incomes satisfy it, else the best-valued pure candidate that does (LP support first)."""
        y = table["income"][e, :, k].double()                                     # [J, H]
        H = y.shape[1]
        gini = (y[:, :, None] - y[:, None, :]).abs().sum((1, 2)) / (2 * H * y.sum(1).clamp_min(1e-12))
        ok = (gini <= max(self.gini_max, float(gini.min())) + 1e-9).cpu().numpy()
        if ok[j]:
            return j
        value = table["welfare"][e, :, k].double().cpu().numpy()
        for pool in (ok & (z > 1e-9), ok):
            if pool.any():
                return int(np.flatnonzero(pool)[np.argmax(value[pool])])
        return j


__all__ = ["BestResponseResult", "EconomyPlanner", "EconomyStage", "candidates"]
