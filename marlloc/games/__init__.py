"""Ground-truth games with closed-form equilibria (``shared/design/game-theory.md``, G1–G6 and controls).

Each constructor builds a small numpy game object; the defaults are the design's worked examples.

====================================  ===================================================================
``cournot(a, b, costs)``              G1: firms choose quantities; P = a − bQ
``bertrand(alpha, beta, gamma, costs)``  G2: differentiated prices; q_i = α − βp_i + γP_{-i}
``kelly(values, capacity, reserve)``  G3: proportional-share bids for one node's capacity
``stackelberg_price(weights, capacity, marginal_cost)``  G4: a node prices, users choose demand
``fisher_cobb_douglas(budgets, exponents)``  G5: Cobb–Douglas consumers and a price-setting market
``congestion(a, b, demand, atomic)``  G6: Wardrop (non-atomic classes) or atomic users on parallel nodes
``battle_of_the_sexes()``             control: coordination, mixed NE (2/3, 1/3)
``biased_rps()``                      control: zero-sum, NE (1/16, 10/16, 5/16)
``shapley()``                         negative control: fictitious play does not converge
====================================  ===================================================================

Every game has ``n_players``, ``payoffs(profile)``, ``best_response(i, profile)`` (analytic),
``best_responses(profile)`` (all players at once), ``equilibrium()``, ``payoff_range()``, action
bounds ``low``/``high`` and, where meaningful, ``welfare(profile)`` and ``optimum()``. A profile is a
1-D float array, player after player (:mod:`marlloc.games.base`); matrix games concatenate the two
mixed strategies (:mod:`marlloc.games.matrix`). ``GAMES`` maps a name to its constructor.

``python -m marlloc.games`` prints how closely the solvers reach every closed form.
"""

from __future__ import annotations

from marlloc.games.base import Game
from marlloc.games.congestion import AtomicCongestion, Wardrop
from marlloc.games.markets import Bertrand, Cournot, FisherCobbDouglas, Kelly, StackelbergPrice
from marlloc.games.matrix import MatrixGame, battle_of_the_sexes, biased_rps, shapley


def cournot(a: float = 100.0, b: float = 2.0, costs=(10.0, 12.0, 15.0, 20.0)) -> Cournot:
    """G1 Cournot competition (see :class:`~marlloc.games.markets.Cournot`)."""
    return Cournot(a, b, costs)


def bertrand(alpha: float = 10.0, beta: float = 2.0, gamma: float = 0.5, costs=(1.0, 2.0, 3.0)) -> Bertrand:
    """G2 differentiated Bertrand competition (see :class:`~marlloc.games.markets.Bertrand`)."""
    return Bertrand(alpha, beta, gamma, costs)


def kelly(values=(3.0, 2.0, 1.5, 0.4), capacity: float = 1.0, reserve: float = 0.0) -> Kelly:
    """G3 Kelly proportional-share mechanism (see :class:`~marlloc.games.markets.Kelly`)."""
    return Kelly(values, capacity, reserve)


def stackelberg_price(weights=(5.0, 3.0, 2.0, 0.5), capacity: float = 4.0,
                      marginal_cost: float = 0.0) -> StackelbergPrice:
    """G4 a node's posted price and its users' demands (see :class:`~marlloc.games.markets.StackelbergPrice`)."""
    return StackelbergPrice(weights, capacity, marginal_cost)


def fisher_cobb_douglas(budgets=(1.0, 2.0, 3.0),
                        exponents=((0.5, 0.3, 0.2), (0.2, 0.5, 0.3), (0.3, 0.3, 0.4))) -> FisherCobbDouglas:
    """G5 Fisher market with Cobb–Douglas consumers (see :class:`~marlloc.games.markets.FisherCobbDouglas`)."""
    return FisherCobbDouglas(budgets, exponents)


def congestion(a=(1.0, 2.0, 4.0), b=(0.0, 1.0, 5.0), demand: float = 3.0, atomic: bool = False,
               n_classes: int = 1, n_users: int | None = None) -> Wardrop | AtomicCongestion:
    """G6 routing over parallel nodes of cost a_j·x_j + b_j.

    ``atomic=False``: :class:`~marlloc.games.congestion.Wardrop`, a continuum of users of mass
    ``demand`` in ``n_classes`` classes (the players). ``atomic=True``:
    :class:`~marlloc.games.congestion.AtomicCongestion`, each user a player picking one node
    (``demand`` whole users of weight 1, or ``n_users`` users of weight demand/n_users).
    """
    if atomic:
        return AtomicCongestion(a, b, demand, n_users)
    return Wardrop(a, b, demand, n_classes)


GAMES = {
    "cournot": cournot,
    "bertrand": bertrand,
    "kelly": kelly,
    "stackelberg_price": stackelberg_price,
    "fisher_cobb_douglas": fisher_cobb_douglas,
    "congestion": congestion,
    "battle_of_the_sexes": battle_of_the_sexes,
    "biased_rps": biased_rps,
    "shapley": shapley,
}

__all__ = [
    "GAMES",
    "AtomicCongestion",
    "Bertrand",
    "Cournot",
    "FisherCobbDouglas",
    "Game",
    "Kelly",
    "MatrixGame",
    "StackelbergPrice",
    "Wardrop",
    "battle_of_the_sexes",
    "bertrand",
    "biased_rps",
    "congestion",
    "cournot",
    "fisher_cobb_douglas",
    "kelly",
    "shapley",
    "stackelberg_price",
]
