"""Market games G1–G5 of ``shared/design/game-theory.md``: Cournot, Bertrand, Kelly, Stackelberg, Fisher.

Every game's profile is a 1-D float array (see :mod:`marlloc.games.base`); payoffs and best
responses take batches ``[..., dim]``. Notation: Q_{-i}, S_{-i}, P_{-i} are totals over everyone but i.
"""

from __future__ import annotations

import numpy as np

from marlloc.core.config import check
from marlloc.games.base import Game, number, vector


# --- G1 ----------------------------------------------------------------------------------------
class Cournot(Game):
    """G1: firms choose quantities q_i ∈ [0, a/b]; price P = max(0, a − bQ); profit (P − c_i)·q_i.

    - BR: q_i = max(0, (a − c_i − b·Q_{-i}) / (2b)).
    - NE: the active firms are the cheapest m with c_i < P* = (a + Σ_active c)/(m + 1);
      q_i* = (P* − c_i)/b = (a − (m+1)c_i + Σ_active c)/((m+1)b), π_i* = b·q_i*²; the others produce 0.
    - Welfare: consumer value ∫_0^Q P − Σ c_i q_i; optimum (a − c_min)²/(2b) (price at the lowest cost).
    - Payoff range: the monopoly profit a²/(4b) at zero cost.
    """

    name = "cournot"

    def __init__(self, a: float = 100.0, b: float = 2.0, costs=(10.0, 12.0, 15.0, 20.0)):
        self.a = number(a, "a", "try a=100 (the price at zero output)")
        self.b = number(b, "b", "try b=2 (the slope of inverse demand)")
        self.costs = vector(costs, "costs", "give one unit cost ≥ 0 per firm, e.g. costs=(10, 12, 15, 20)")
        n = self.costs.size
        super().__init__((1,) * n, 0.0, self.a / self.b)
        self.roles = {"player": tuple(range(n))}

    def action_names(self, i):
        return ("quantity",)

    def price(self, profile) -> np.ndarray:
        return np.maximum(0.0, self.a - self.b * np.asarray(profile, dtype=float).sum(-1))

    def payoffs(self, profile):
        q = np.asarray(profile, dtype=float)
        return (self.price(q)[..., None] - self.costs) * q

    def best_responses(self, profile):
        q = np.asarray(profile, dtype=float)
        others = q.sum(-1, keepdims=True) - q
        return np.clip((self.a - self.costs - self.b * others) / (2 * self.b), 0.0, self.a / self.b)

    def equilibrium(self):
        order = np.argsort(self.costs, kind="stable")
        q = np.zeros(self.n_players)
        for m in range(self.n_players, 0, -1):  # drop the dearest firm while it would not produce
            active = order[:m]
            price = (self.a + self.costs[active].sum()) / (m + 1)
            if self.costs[order[m - 1]] < price:
                q[active] = (price - self.costs[active]) / self.b
                break
        return q

    def payoff_range(self):
        return self.a**2 / (4 * self.b)

    def welfare(self, profile):
        q = np.asarray(profile, dtype=float)
        Q = np.minimum(q.sum(-1), self.a / self.b)  # beyond a/b the price is 0 and extra units add no value
        return self.a * Q - self.b * Q**2 / 2 - (self.costs * q).sum(-1)

    def optimum(self):
        return max(0.0, self.a - self.costs.min()) ** 2 / (2 * self.b)


# --- G2 ----------------------------------------------------------------------------------------
class Bertrand(Game):
    """G2: providers set prices p_i ∈ [0, p_max]; demand q_i = α − β·p_i + γ·P_{-i}; profit (p_i − c_i)·q_i.

    Demand is linear as written (not clipped at 0), as in the closed form. Requires 2β > (n − 1)γ
    (the best-response map is then a contraction in the sum norm) and a positive margin p_i* > c_i
    for every provider.

    - BR: p_i = (α + β·c_i + γ·P_{-i}) / (2β).
    - NE: Σp* = (nα + βΣc)/(2β − (n−1)γ); p_i* = (α + β·c_i + γΣp*)/(2β + γ).
    - p_max = 2(α + β·max c)/(2β − (n−1)γ): every best response to prices in [0, p_max] stays inside.
    - Payoff range: the larger of α²/(4β) (a monopoly's profit at zero cost) and the largest NE profit.
    """

    name = "bertrand"

    def __init__(self, alpha: float = 10.0, beta: float = 2.0, gamma: float = 0.5, costs=(1.0, 2.0, 3.0)):
        self.alpha = number(alpha, "alpha", "try alpha=10 (demand at zero prices)")
        self.beta = number(beta, "beta", "try beta=2 (own-price sensitivity)")
        self.gamma = number(gamma, "gamma", "try gamma=0.5 (cross-price sensitivity)", strict=False)
        self.costs = vector(costs, "costs", "give one unit cost ≥ 0 per provider, e.g. costs=(1, 2, 3)")
        n = self.costs.size
        self.slack = 2 * self.beta - (n - 1) * self.gamma
        check(self.slack > 0, "gamma", f"satisfy 2β > (n − 1)γ (2β = {2 * self.beta:g}, n − 1 = {n - 1})", gamma,
              f"try gamma < {2 * self.beta / max(n - 1, 1):g}")
        self.p_max = 2 * (self.alpha + self.beta * self.costs.max()) / self.slack
        super().__init__((1,) * n, 0.0, self.p_max)
        self.roles = {"player": tuple(range(n))}
        p = self.equilibrium()
        check(bool((p > self.costs).all()), "costs", "leave every provider a positive margin at the equilibrium "
              f"prices {np.round(p, 4).tolist()}", tuple(self.costs.tolist()), "lower the costs or raise alpha")

    def action_names(self, i):
        return ("price",)

    def payoffs(self, profile):
        p = np.asarray(profile, dtype=float)
        others = p.sum(-1, keepdims=True) - p
        return (p - self.costs) * (self.alpha - self.beta * p + self.gamma * others)

    def best_responses(self, profile):
        p = np.asarray(profile, dtype=float)
        others = p.sum(-1, keepdims=True) - p
        return np.clip((self.alpha + self.beta * self.costs + self.gamma * others) / (2 * self.beta), 0.0, self.p_max)

    def equilibrium(self):
        n = self.costs.size
        total = (n * self.alpha + self.beta * self.costs.sum()) / self.slack
        return (self.alpha + self.beta * self.costs + self.gamma * total) / (2 * self.beta + self.gamma)

    def payoff_range(self):
        return max(self.alpha**2 / (4 * self.beta), float(self.payoffs(self.equilibrium()).max()))


# --- G3 ----------------------------------------------------------------------------------------
class Kelly(Game):
    """G3: users bid b_i ∈ [0, v_max·C] for a node's capacity C; x_i = C·b_i/(δ + Σb); u_i = v_i·x_i − b_i.

    δ ≥ 0 is the node's reserve (the share δ/(δ + Σb) stays unallocated). With δ = 0 at least two
    users must value the node, or no equilibrium exists.

    - BR: b_i = max(0, √(v_i·C·T_{-i}) − T_{-i}) with T_{-i} = δ + S_{-i}. When T_{-i} = 0 the supremum
      v_i·C is not attained (any positive bid wins everything); the best response is then the bid
      1e-9·v_i·C, which gets within that fraction of it.
    - NE: T = δ + S*; active users = the largest prefix by value with v_i·C > T; H = Σ_active 1/(v_i·C);
      δ = 0: T = (m − 1)/H; δ > 0: T = [(m − 1) + √((m − 1)² + 4Hδ)]/(2H); b_i* = T − T²/(v_i·C),
      x_i* = C − T/v_i.
    - Welfare Σ v_i·x_i (bids are transfers); optimum v_max·C; efficiency ≥ 3/4 when δ = 0.
    - Payoff range: v_max·C.

    Sequential best responses can cycle: when one user outbids another's whole value v_j·C, the other
    drops out, the lone bidder's best response collapses towards δ, and the other returns (e.g.
    v = (1.6, 0.14), C = 4.77: a 3-cycle). Damped updates converge there (tested).
    """

    name = "kelly"
    TINY_BID = 1e-9

    def __init__(self, values=(3.0, 2.0, 1.5, 0.4), capacity: float = 1.0, reserve: float = 0.0):
        self.values = vector(values, "values", "give one value ≥ 0 per user, e.g. values=(3, 2, 1.5, 0.4)")
        self.capacity = number(capacity, "capacity", "try capacity=1")
        self.reserve = number(reserve, "reserve", "try reserve=0", strict=False)
        check(self.reserve > 0 or int((self.values > 0).sum()) >= 2, "values",
              "hold at least two positive values when reserve = 0 (a lone bidder has no best bid)",
              tuple(self.values.tolist()), "add a user or set reserve > 0")
        n = self.values.size
        super().__init__((1,) * n, 0.0, self.values.max() * self.capacity)
        self.roles = {"player": tuple(range(n))}

    def action_names(self, i):
        return ("bid",)

    def allocation(self, profile) -> np.ndarray:
        bids = np.asarray(profile, dtype=float)
        total = self.reserve + bids.sum(-1, keepdims=True)
        return np.where(total > 0, self.capacity * bids / np.where(total > 0, total, 1.0), 0.0)

    def payoffs(self, profile):
        return self.values * self.allocation(profile) - np.asarray(profile, dtype=float)

    def best_responses(self, profile):
        bids = np.asarray(profile, dtype=float)
        rest = self.reserve + bids.sum(-1, keepdims=True) - bids
        vc = self.values * self.capacity
        br = np.maximum(0.0, np.sqrt(vc * rest) - rest)
        br = np.where(rest > 0, br, self.TINY_BID * vc)
        return np.clip(br, 0.0, self.high)

    def equilibrium(self):
        order = np.argsort(-self.values, kind="stable")
        vc = self.values[order] * self.capacity
        bids = np.zeros(self.n_players)
        for m in range(int((vc > 0).sum()), 0, -1):
            H = (1.0 / vc[:m]).sum()
            d = self.reserve
            T = (m - 1) / H if d == 0 else ((m - 1) + np.sqrt((m - 1) ** 2 + 4 * H * d)) / (2 * H)
            if vc[m - 1] > T:
                bids[order[:m]] = T - T**2 / vc[:m]
                break
        return bids

    def payoff_range(self):
        return float(self.values.max() * self.capacity)

    def welfare(self, profile):
        return (self.values * self.allocation(profile)).sum(-1)

    def optimum(self):
        return float(self.values.max() * self.capacity)


# --- G4 ----------------------------------------------------------------------------------------
class StackelbergPrice(Game):
    """G4: a node (player 0, the leader) posts a price p ∈ [0, max w]; users 1..n demand x_i ∈ [0, C].

    - Users: u_i = w_i·log(1 + x_i) − p·x_i; BR x_i(p) = clip(w_i/p − 1, 0, C) (C at p = 0).
    - Leader: it commits to p before the users move, so its payoff is its profit against the users'
      best responses, (p − κ)·min(C, Σ_i x_i(p)) — it never sells more than its capacity. A profile
      (p, x) is a Stackelberg equilibrium iff its NashConv is 0 (the users' deviation gains are taken
      at the posted p; the leader's over every price it could post).
    - Closed form: for each active set A (the m users of largest w, W = Σ_A w) the best price on the
      interval where exactly A buys is the larger of the clearing price W/(C + m) and the interior
      price √(κW/m), clipped to the interval; the leader takes the best of the ≤ n + 1 candidates
      (the profit has kinks where a user enters: the tests keep a grid-search reference).
    - Welfare Σ w_i·log(1 + x_i) − κ·Σx (payments are transfers); optimum: the same users served at
      the price max(κ, clearing price).
    - Payoff range: max w·C.
    """

    name = "stackelberg"

    def __init__(self, weights=(5.0, 3.0, 2.0, 0.5), capacity: float = 4.0, marginal_cost: float = 0.0):
        self.weights = vector(weights, "weights", "give one weight > 0 per user, e.g. weights=(5, 3, 2, 0.5)",
                              strict=True)
        self.capacity = number(capacity, "capacity", "try capacity=4")
        self.marginal_cost = number(marginal_cost, "marginal_cost", "try marginal_cost=0", strict=False)
        n = self.weights.size
        super().__init__((1,) * (n + 1), 0.0, np.concatenate([[self.weights.max()], np.full(n, self.capacity)]))
        self.roles = {"leader": (0,), "follower": tuple(range(1, n + 1))}
        self.price_ = self._optimal_price()

    def action_names(self, i):
        return ("price",) if i == 0 else ("demand",)

    def demand(self, price) -> np.ndarray:
        """The users' best-response demands ``[..., n]`` at ``price`` ``[...]``."""
        p = np.asarray(price, dtype=float)[..., None]
        safe = np.where(p > 0, p, 1.0)
        return np.where(p > 0, np.clip(self.weights / safe - 1.0, 0.0, self.capacity), self.capacity)

    def leader_profit(self, price) -> np.ndarray:
        p = np.asarray(price, dtype=float)
        return (p - self.marginal_cost) * np.minimum(self.capacity, self.demand(p).sum(-1))

    def payoffs(self, profile):
        prof = np.asarray(profile, dtype=float)
        p, x = prof[..., 0], prof[..., 1:]
        users = self.weights * np.log1p(x) - p[..., None] * x
        return np.concatenate([self.leader_profit(p)[..., None], users], -1)

    def best_responses(self, profile):
        prof = np.asarray(profile, dtype=float)
        leader = np.full((*prof.shape[:-1], 1), self.price_)
        return np.concatenate([leader, self.demand(prof[..., 0])], -1)

    def _optimal_price(self) -> float:
        w = np.sort(self.weights)[::-1]
        C, kappa = self.capacity, self.marginal_cost
        edges = np.concatenate([w, [0.0]])
        best_p, best = float(w[0]), 0.0  # at p ≥ max w nobody buys
        for m in range(1, w.size + 1):  # on [w_(m+1), w_(m)] exactly the m largest users buy
            W, lo, hi = w[:m].sum(), edges[m], edges[m - 1]
            cand = np.clip(max(W / (C + m), np.sqrt(kappa * W / m)), lo, hi)
            for p in (cand, lo, hi):
                if p > 0 and (v := float(self.leader_profit(p))) > best:
                    best_p, best = float(p), v
        return best_p

    def equilibrium(self):
        return np.concatenate([[self.price_], self.demand(self.price_)])

    def payoff_range(self):
        return float(self.weights.max() * self.capacity)

    def welfare(self, profile):
        x = np.asarray(profile, dtype=float)[..., 1:]
        return (self.weights * np.log1p(x)).sum(-1) - self.marginal_cost * x.sum(-1)

    def optimum(self):
        w = np.sort(self.weights)[::-1]
        mu = self.marginal_cost
        if mu <= 0 or self.demand(mu).sum() > self.capacity:  # capacity binds: serve at the clearing price
            edges = np.concatenate([w, [0.0]])
            for m in range(1, w.size + 1):
                mu = w[:m].sum() / (self.capacity + m)
                if edges[m] <= mu <= edges[m - 1]:
                    break
        x = self.demand(mu)
        return float((self.weights * np.log1p(x)).sum() - self.marginal_cost * x.sum())


# --- G5 ----------------------------------------------------------------------------------------
class FisherCobbDouglas(Game):
    """G5: a Fisher market with Cobb–Douglas consumers, played by the consumers and a price-setting market.

    n consumers with budgets B_i and exponents a_ij (each row normalised to sum to 1: a Cobb–Douglas
    utility is unchanged by a power), m goods of unit supply.

    - Consumer i (players 0..n−1) chooses spending bids b_ij ∈ [0, B_i] on every good (block of m).
      Bids beyond the budget are scaled down to it (b̃_i = b_i·min(1, B_i/Σ_j b_ij)); at the posted
      prices p it receives x_ij = b̃_ij/p_j and its payoff is its utility u_i = Π_j x_ij^{a_ij}.
      BR: b_ij = a_ij·B_i (the Cobb–Douglas demand; dominant: it does not depend on p).
    - The market (player n) posts prices p_j ∈ [p_lo, p_hi] (block of m); payoff Σ_j (S_j·log p_j − p_j)
      with S_j = Σ_i b̃_ij the money bid on good j. BR: p_j = S_j, the price that clears unit
      supply; its deviation gain is Σ_j KL-type terms S_j·log(S_j/p_j) − S_j + p_j ≥ 0.
    - NE = the competitive equilibrium: p_j* = Σ_i a_ij·B_i, x_ij* = a_ij·B_i/p_j*
      (:meth:`kkt_residual` checks budgets, clearing and optimality to 1e-12).
    - p_hi = ΣB (all money on one good), p_lo = min(10⁻³·ΣB, p*_min/2) > 0 keeps log p finite.
    - Payoff range: max(1, ΣB).
    """

    name = "fisher"

    def __init__(self, budgets=(1.0, 2.0, 3.0), exponents=((0.5, 0.3, 0.2), (0.2, 0.5, 0.3), (0.3, 0.3, 0.4))):
        self.budgets = vector(budgets, "budgets", "give one budget > 0 per consumer, e.g. budgets=(1, 2, 3)",
                              strict=True)
        try:
            A = np.asarray(exponents, dtype=float)
        except (TypeError, ValueError):
            A = np.full((1, 1), np.nan)
        n = self.budgets.size
        fix = "give one row of m exponents ≥ 0 per consumer"
        check(A.ndim == 2 and A.shape[0] == n and A.shape[1] >= 1 and bool(np.isfinite(A).all()), "exponents",
              f"be an {n} × m table (one row per consumer)", exponents, fix)
        check(bool((A >= 0).all() and (A.sum(1) > 0).all()), "exponents", "be ≥ 0 with a positive sum in every row",
              exponents, fix)
        check(bool((A.sum(0) > 0).all()), "exponents", "give every good a positive exponent for some consumer",
              exponents, "drop the goods nobody wants")
        self.exponents = A / A.sum(1, keepdims=True)
        self.n_consumers, self.n_goods = n, A.shape[1]
        self.prices_ = self.exponents.T @ self.budgets                      # p_j* = Σ_i a_ij·B_i
        self.p_hi = float(self.budgets.sum())
        self.p_lo = float(min(1e-3 * self.p_hi, self.prices_.min() / 2))
        m = self.n_goods
        low = np.concatenate([np.zeros(n * m), np.full(m, self.p_lo)])
        high = np.concatenate([np.repeat(self.budgets, m), np.full(m, self.p_hi)])
        super().__init__((m,) * n + (m,), low, high)
        self.roles = {"consumer": tuple(range(n)), "market": (n,)}

    def action_names(self, i):
        word = "spend" if i < self.n_consumers else "price"
        return tuple(f"{word}_{j}" for j in range(self.n_goods))

    def _parts(self, profile):
        prof = np.asarray(profile, dtype=float)
        n, m = self.n_consumers, self.n_goods
        bids = prof[..., : n * m].reshape((*prof.shape[:-1], n, m))
        total = bids.sum(-1, keepdims=True)
        scale = np.where(total > self.budgets[:, None], self.budgets[:, None] / np.where(total > 0, total, 1.0), 1.0)
        return bids * scale, prof[..., n * m:]

    def allocation(self, profile) -> np.ndarray:
        """x_ij = b̃_ij / p_j, ``[..., n, m]``."""
        bids, prices = self._parts(profile)
        return bids / prices[..., None, :]

    def payoffs(self, profile):
        bids, prices = self._parts(profile)
        utility = np.prod((bids / prices[..., None, :]) ** self.exponents, -1)
        spent = bids.sum(-2)
        market = (spent * np.log(prices) - prices).sum(-1)
        return np.concatenate([utility, market[..., None]], -1)

    def best_responses(self, profile):
        bids, _ = self._parts(profile)
        batch = bids.shape[:-2]
        demand = np.broadcast_to((self.exponents * self.budgets[:, None]).reshape(-1),
                                 (*batch, self.n_consumers * self.n_goods))
        prices = np.clip(bids.sum(-2), self.p_lo, self.p_hi)
        return np.concatenate([demand, prices], -1)

    def equilibrium(self):
        return np.concatenate([(self.exponents * self.budgets[:, None]).reshape(-1), self.prices_])

    def kkt_residual(self, profile) -> float:
        """Largest violation of the market-equilibrium conditions, relative to the budgets.

        Budgets spent (Σ_j p_j·x_ij = B_i), markets clear (Σ_i x_ij = 1) and every consumer's bundle
        is optimal at the prices (a_ij/x_ij = p_j/B_i, i.e. a_ij·B_i = p_j·x_ij, the bang-per-buck
        condition of the Eisenberg–Gale program).
        """
        x = self.allocation(profile)
        _, p = self._parts(profile)
        B = self.budgets
        spend = (p[..., None, :] * x).sum(-1)
        return float(max(np.abs(spend - B).max() / B.max(), np.abs(x.sum(-2) - 1).max(),
                         np.abs(self.exponents * B[:, None] - p[..., None, :] * x).max() / B.max()))

    def payoff_range(self):
        return max(1.0, float(self.budgets.sum()))


__all__ = ["Bertrand", "Cournot", "FisherCobbDouglas", "Kelly", "StackelbergPrice"]
