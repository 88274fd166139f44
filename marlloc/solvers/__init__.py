"""Solvers: the per-round centralised optimum (MILP) and its LP relaxation (the upper bound)."""

from marlloc.solvers.equilibrium import (
    EquilibriumResult,
    KnapsackSolution,
    best_response_dynamics,
    fictitious_play,
    fractional_knapsack,
    minimax_lp,
)
from marlloc.solvers.optimum import AssignmentOptimum, RoundInstance

__all__ = [
    "AssignmentOptimum",
    "EquilibriumResult",
    "KnapsackSolution",
    "RoundInstance",
    "best_response_dynamics",
    "fictitious_play",
    "fractional_knapsack",
    "minimax_lp",
]
