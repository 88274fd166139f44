"""G6: users choose among parallel nodes of cost c_j(x_j) = a_j·x_j + b_j — Wardrop (non-atomic) and atomic.

Equilibrium (both read ``shared/design/game-theory.md``): every used node has the same cost
λ = (D + Σ_used b_j/a_j)/Σ_used 1/a_j, x_j = (λ − b_j)/a_j, nodes with b_j ≥ λ stay unused. The
social optimum is the same with a_j → 2a_j (marginal cost); the price of anarchy is ≤ 4/3.
"""

from __future__ import annotations

import numpy as np

from marlloc.core.config import check
from marlloc.games.base import Game, number, one_hot, vector, water_fill


def _nodes(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = vector(a, "a", "give one slope > 0 per node, e.g. a=(1, 2, 4)", strict=True)
    b = vector(b, "b", "give one free-flow cost ≥ 0 per node, e.g. b=(0, 1, 5)")
    check(a.size == b.size, "b", f"hold one entry per node (len(a) = {a.size})", tuple(b.tolist()),
          "give a and b the same length")
    return a, b


class Wardrop(Game):
    """Non-atomic routing: a continuum of users of total mass D splits over the nodes.

    **Players.** The users form K traffic classes of mass D/K each (``n_classes``, default 1).
    Class c's block is its flow ``f_c`` over the M nodes (``[K·M]`` in all, class after class); the
    loads are x = Σ_c f_c. A class's payoff is minus its users' total cost, −Σ_j f_cj·c_j(x).

    **Deviations are by one infinitesimal user.** A user moving alone does not change the loads,
    so the deviation gain of class c is the sum of its users' individual gains,
    δ_c = Σ_j f_cj·(c_j(x) − min_k c_k(x)) (:meth:`deviation_gains`); NashConv = Σ_c δ_c is the
    Wardrop gap, zero exactly at a Wardrop equilibrium. A class's best response is what its users
    do when each best-responds alone: the Wardrop split of its mass against the other classes'
    traffic (not the class's cost-minimising split, which would be a coordinated group deviation).
    Sequential best responses over classes descend Beckmann's potential Σ_j ∫_0^{x_j} c_j.

    The equilibrium loads are unique; :meth:`equilibrium` gives every class the same share of them
    and :meth:`equilibrium_error` compares loads. Payoff range: D·(max a·D + max b), the cost of all
    traffic on the worst node.
    """

    name = "wardrop"

    def __init__(self, a=(1.0, 2.0, 4.0), b=(0.0, 1.0, 5.0), demand: float = 3.0, n_classes: int = 1):
        self.a, self.b = _nodes(a, b)
        self.demand = number(demand, "demand", "try demand=3 (the users' total mass)")
        check(isinstance(n_classes, (int, np.integer)) and not isinstance(n_classes, bool) and n_classes >= 1,
              "n_classes", "be an integer ≥ 1", n_classes, "try n_classes=1")
        self.n_nodes, self.n_classes = self.a.size, int(n_classes)
        self.mass = self.demand / self.n_classes
        super().__init__((self.n_nodes,) * self.n_classes, 0.0, self.mass)
        self.roles = {"class": tuple(range(self.n_classes))}

    def action_names(self, i):
        return tuple(f"flow_{j}" for j in range(self.n_nodes))

    def _flows(self, profile) -> np.ndarray:
        prof = np.asarray(profile, dtype=float)
        return prof.reshape((*prof.shape[:-1], self.n_classes, self.n_nodes))

    def loads(self, profile) -> np.ndarray:
        """x_j = Σ_c f_cj, ``[..., M]``."""
        return self._flows(profile).sum(-2)

    def costs(self, loads) -> np.ndarray:
        return self.a * np.asarray(loads, dtype=float) + self.b

    def payoffs(self, profile):
        f = self._flows(profile)
        return -(f * self.costs(f.sum(-2))[..., None, :]).sum(-1)

    def deviation_gains(self, profile) -> np.ndarray:
        """δ_c = Σ_j f_cj·(c_j(x) − min_k c_k(x)): the class's users deviating one at a time."""
        f = self._flows(profile)
        c = self.costs(f.sum(-2))
        return (f * (c - c.min(-1, keepdims=True))[..., None, :]).sum(-1)

    def best_responses(self, profile):
        f = self._flows(profile)
        background = f.sum(-2, keepdims=True) - f                                   # [..., K, M]
        br = water_fill(self.b + self.a * background, self.a, self.mass)
        return br.reshape((*br.shape[:-2], self.dim))

    def initial_profile(self):
        """Every class on node 0."""
        return np.tile(one_hot(0, self.n_nodes) * self.mass, self.n_classes)

    def equilibrium_loads(self) -> np.ndarray:
        return water_fill(self.b, self.a, self.demand)

    def optimal_loads(self) -> np.ndarray:
        """The social optimum: the Wardrop split for marginal costs 2a_j·x_j + b_j."""
        return water_fill(self.b, 2 * self.a, self.demand)

    def equilibrium(self):
        return np.tile(self.equilibrium_loads() / self.n_classes, self.n_classes)

    def equilibrium_error(self, profile):
        ref = self.equilibrium_loads()
        return float(np.max(np.abs(self.loads(profile) - ref)) / np.max(np.abs(ref)))

    def cost_level(self) -> float:
        """λ, the common cost of the used nodes at equilibrium."""
        x = self.equilibrium_loads()
        return float(self.costs(x)[x > 0].mean())

    def payoff_range(self):
        return float(self.demand * (self.a.max() * self.demand + self.b.max()))

    def welfare(self, profile):
        x = self.loads(profile)
        return -(x * self.costs(x)).sum(-1)

    def optimum(self):
        x = self.optimal_loads()
        return float(-(x * self.costs(x)).sum())

    def price_of_anarchy(self) -> float:
        """Equilibrium cost ÷ optimal cost (≤ 4/3 for linear costs)."""
        return float(self.welfare(self.equilibrium()) / self.optimum())


class AtomicCongestion(Game):
    """Atomic routing: N users, each of weight w, pick one node each; a user's payoff is −(a_j·w·n_j + b_j).

    **Players.** Each user is a player; its block is the node index it picks (a float holding an
    integer, ``0..M−1``), so a profile is ``[N]`` node indices. Pure strategies only (``finite``);
    damped updates do not apply. ``demand`` is the users' total weight: with ``n_users=None`` it
    must be an integer and every user weighs 1; otherwise each of the ``n_users`` weighs
    demand/n_users (as n_users grows the loads approach the Wardrop split).

    A potential game (Rosenthal): Φ = Σ_j Σ_{l=1}^{n_j} (a_j·w·l + b_j) drops by exactly a user's
    gain whenever it switches, so sequential best responses terminate at a pure Nash equilibrium.
    Best responses keep the current node on ties. :meth:`equilibrium` fills the nodes greedily, each
    next user joining the node that is cheapest after it joins (it minimises Φ); pure equilibria are
    generally not unique, so :meth:`equilibrium_error` compares loads. Payoff range: max a·w·N + max b.
    """

    name = "congestion_atomic"
    finite = True
    convex = False

    def __init__(self, a=(1.0, 2.0, 4.0), b=(0.0, 1.0, 5.0), demand: float = 3.0, n_users: int | None = None):
        self.a, self.b = _nodes(a, b)
        self.demand = number(demand, "demand", "try demand=3")
        if n_users is None:
            check(float(demand).is_integer(), "demand", "be a whole number of users when n_users is not given",
                  demand, "round it or pass n_users")
            n_users = int(demand)
        check(isinstance(n_users, (int, np.integer)) and not isinstance(n_users, bool) and n_users >= 1, "n_users",
              "be an integer ≥ 1", n_users, "try n_users=3")
        self.n_nodes, self.n_users = self.a.size, int(n_users)
        self.weight = self.demand / self.n_users
        super().__init__((1,) * self.n_users, 0.0, self.n_nodes - 1)
        self.n_actions = (self.n_nodes,) * self.n_users
        self.roles = {"user": tuple(range(self.n_users))}

    def action_names(self, i):
        return ("node",)

    def pure_profile(self, actions) -> np.ndarray:
        """The profile of pure actions ``[..., N]`` (node indices)."""
        return np.asarray(actions, dtype=float)

    def counts(self, profile) -> np.ndarray:
        """Users per node, ``[..., M]``."""
        return one_hot(np.rint(profile).astype(int), self.n_nodes).sum(-2)

    def payoffs(self, profile):
        node = np.rint(np.asarray(profile, dtype=float)).astype(int)
        cost = self.a * self.weight * self.counts(profile) + self.b                 # [..., M]
        return -np.take_along_axis(cost, node, -1)

    def best_responses(self, profile):
        node = np.rint(np.asarray(profile, dtype=float)).astype(int)
        mine = one_hot(node, self.n_nodes)                                          # [..., N, M]
        join = self.a * self.weight * (self.counts(profile)[..., None, :] - mine + 1) + self.b
        best = join.argmin(-1)
        stay = np.take_along_axis(join, node[..., None], -1)[..., 0] <= join.min(-1)
        return np.where(stay, node, best).astype(float)

    def potential(self, profile) -> np.ndarray:
        n = self.counts(profile)
        return (self.a * self.weight * n * (n + 1) / 2 + self.b * n).sum(-1)

    def _greedy(self, marginal) -> np.ndarray:
        """Users 0, 1, ... join, one at a time, the node of least ``marginal(n_j)`` (lowest index on ties)."""
        n = np.zeros(self.n_nodes)
        nodes = np.empty(self.n_users)
        for u in range(self.n_users):
            j = int(np.argmin(marginal(n)))
            nodes[u], n[j] = j, n[j] + 1
        return nodes

    def equilibrium(self):
        return self._greedy(lambda n: self.a * self.weight * (n + 1) + self.b)

    def equilibrium_error(self, profile):
        ref = self.counts(self.equilibrium())
        return float(np.max(np.abs(self.counts(profile) - ref)) / np.max(ref))

    def payoff_range(self):
        return float(self.a.max() * self.weight * self.n_users + self.b.max())

    def welfare(self, profile):
        return self.payoffs(profile).sum(-1) * self.weight

    def optimum(self):
        # the total cost's increment when a node's n-th user joins, a·w·(2n − 1) + b, grows with n
        best = self._greedy(lambda n: self.a * self.weight * (2 * n + 1) + self.b)
        return float(self.welfare(best))


__all__ = ["AtomicCongestion", "Wardrop"]
