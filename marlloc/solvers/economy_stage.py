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
  bound is raised to its fairest choice (``relaxed_`` counts such blocks over the LP rounds,
  ``relaxed_countries_`` [E, C] marks them) rather than failing.
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
from marlloc.core.protocol import action_grid

ORDER = ("government", "firm", "consumer")


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
        self.cands = {r: action_grid(env.roles[r], env.device) for r in ORDER}
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
        self.relaxed_countries_ = np.zeros((env.n_envs, env.n_countries), dtype=bool)
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
        """One linearised LP for every (env, country) block, solved as one HiGHS model. Every block
        has the same sparsity pattern, so the pattern is built once and tiled over the B = E·C blocks."""
        E, C, H = env.n_envs, env.n_countries, env.n_households
        B = E * C
        slots = list(stage.slots())
        tables = {rs: stage.deviations(acts, *rs) for rs in slots}
        sizes = [len(stage.cands[r]) for r, _ in slots]
        pos = np.concatenate([[0], np.cumsum(sizes)])                         # column offset of each slot
        n_z = int(pos[-1])
        gini_on = self.gini_max is not None
        pairs = np.array(list(itertools.combinations(range(H), 2)), dtype=int).reshape(-1, 2) if gini_on else None
        n_pairs = len(pairs) if gini_on else 0
        n_var = n_z + n_pairs
        block = np.arange(B)[:, None]

        def blocks_of(t: Tensor) -> np.ndarray:  # [E, J, C, ...] → [B, J, ...]
            return t.transpose(1, 2).reshape(B, t.shape[1], *t.shape[3:]).double().cpu().numpy()

        # objective: the change of country welfare when the slot's agent alone switches to j
        value = np.concatenate([blocks_of(tables[rs]["welfare"]) for rs in slots], 1)      # [B, n_z]
        value -= base_w.reshape(B, 1).double().cpu().numpy()
        cost = np.concatenate([-value, np.zeros((B, n_pairs))], 1).reshape(-1)
        # one candidate per agent: Σ_j z_ij = 1
        slot_of = np.repeat(np.arange(len(slots)), sizes)
        eq_rows = (block * len(slots) + slot_of).reshape(-1)
        eq_cols = (block * n_var + np.arange(n_z)).reshape(-1)
        # the capital pool: Σ_firms q_j z_ij ≤ K (row 0 of each block's inequalities)
        firm = np.concatenate([np.arange(pos[i], pos[i + 1]) for i, (r, _) in enumerate(slots) if r == "firm"])
        q = (env._levels[stage.cands["firm"][:, 0]] * env.q_max).double().cpu().numpy()
        n_ub = 1 + (2 * n_pairs + 1 if gini_on else 0)
        rows = [np.repeat(block * n_ub, len(firm), 1)]
        cols = [block * n_var + firm]
        vals = [np.broadcast_to(np.tile(q, len(firm) // len(q)), (B, len(firm)))]
        b_ub = np.zeros((B, n_ub))
        b_ub[:, 0] = env._exogenous(env._s)["pool"].reshape(B).double().cpu().numpy()
        if gini_on:
            # ±(y_h − y_h') − d_hh' ≤ 0 per pair, then Σ d − g·H·Σ_h y_h ≤ 0, with g no lower than the fairest
            # pure choice of the country's government (else the LP would be infeasible): counted in relaxed_
            y = blocks_of(tables[("government", 0)]["income"])                            # [B, Jg, H]
            Jg = y.shape[1]
            gov = np.arange(pos[0], pos[1])                                               # the government slot
            g_min = self._gini(y).min(1)
            g_eff = np.maximum(self.gini_max, g_min + 1e-9)
            self.relaxed_ += int((g_eff > self.gini_max).sum())
            self.relaxed_countries_ |= (g_eff > self.gini_max).reshape(E, C)
            diff = y[:, :, pairs[:, 0]] - y[:, :, pairs[:, 1]]                            # [B, Jg, P]
            for sign, first in ((1.0, 1), (-1.0, 2)):
                r_ = block[:, :, None] * n_ub + first + 2 * np.arange(n_pairs)            # [B, 1, P]
                rows += [np.broadcast_to(r_, (B, Jg, n_pairs)), np.broadcast_to(r_[:, 0], (B, n_pairs))]
                cols += [np.broadcast_to((block * n_var + gov)[:, :, None], (B, Jg, n_pairs)),
                         block * n_var + n_z + np.arange(n_pairs)]
                vals += [sign * diff, np.full((B, n_pairs), -1.0)]
            last = block * n_ub + n_ub - 1
            rows += [np.repeat(last, Jg + n_pairs, 1)]
            cols += [np.concatenate([block * n_var + gov, block * n_var + n_z + np.arange(n_pairs)], 1)]
            vals += [np.concatenate([-g_eff[:, None] * H * y.sum(2), np.ones((B, n_pairs))], 1)]
        flat = lambda parts: np.concatenate([np.asarray(x).reshape(-1) for x in parts])  # noqa: E731
        A_ub = sp.csr_matrix((flat(vals), (flat(rows), flat(cols))), shape=(B * n_ub, B * n_var))
        A_eq = sp.csr_matrix((np.ones(len(eq_rows)), (eq_rows, eq_cols)), shape=(B * len(slots), B * n_var))
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub.reshape(-1), A_eq=A_eq, b_eq=np.ones(B * len(slots)),
                      bounds=(0, None), method="highs")
        if res.status != 0:
            raise MarllocError(f"the planner's LP failed ({res.message}); please report this with the config")
        z = res.x.reshape(B, n_var)
        new = {r: {c: a.clone() for c, a in comps.items()} for r, comps in acts.items()}
        for i, (r, s_) in enumerate(slots):
            zs = z[:, pos[i]:pos[i + 1]]
            j = zs.argmax(1)
            if r == "government" and gini_on:
                j = self._fair_choice(y, value[:, pos[i]:pos[i + 1]], zs, j)
            pick = stage.cands[r][torch.as_tensor(j, device=env.device)].view(E, C, -1)
            who = stage.agents(r, s_)
            for m, c in enumerate(stage.comps[r]):
                new[r][c][:, who] = pick[..., m]
        return new

    @staticmethod
    def _gini(y: np.ndarray) -> np.ndarray:
        """Gini over the last axis (equal-mass groups), for every leading index."""
        H = y.shape[-1]
        return np.abs(y[..., :, None] - y[..., None, :]).sum((-1, -2)) / (2 * H * np.maximum(y.sum(-1), 1e-12))

    def _fair_choice(self, y: np.ndarray, value: np.ndarray, z: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Rounding the government's mixed LP choice can break the Gini bound: keep the LP's pick
        where its incomes satisfy it, else the best-valued pure candidate that does (LP support
        first). ``y`` [B, J, H] incomes, ``value``/``z`` [B, J], ``j`` [B] the LP's picks."""
        gini = self._gini(y)                                                          # [B, J]
        ok = gini <= np.maximum(self.gini_max, gini.min(1, keepdims=True)) + 1e-9
        support = ok & (z > 1e-9)
        pool = np.where(support.any(1, keepdims=True), support, ok)
        best = np.where(pool, value, -np.inf).argmax(1)
        return np.where(ok[np.arange(len(j)), j], j, best)


__all__ = ["BestResponseResult", "EconomyPlanner", "EconomyStage"]
