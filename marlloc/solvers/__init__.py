"""Solvers: the per-round centralised optimum (MILP) and its LP relaxation (the upper bound)."""

from marlloc.solvers.optimum import AssignmentOptimum, RoundInstance

__all__ = ["AssignmentOptimum", "RoundInstance"]
