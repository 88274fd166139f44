"""Two-player matrix (bimatrix) games: the controls battle of the sexes, biased RPS and Shapley's game.

**Profile.** The concatenation of the two mixed strategies, ``[x_row (m), y_column (n)]``; a pure
action is a one-hot block. :meth:`MatrixGame.split` gives ``(x, y)`` back and :meth:`MatrixGame.join`
builds a profile from them. Payoffs are x·A·y and x·B·y; a best response is the pure action of
largest expected payoff (the lowest index on ties), as a one-hot block.
"""

from __future__ import annotations

import itertools

import numpy as np

from marlloc.core.config import check
from marlloc.games.base import Game, one_hot


class MatrixGame(Game):
    """A bimatrix game (A, B): the row player gets A[r, c], the column player B[r, c].

    :meth:`equilibrium` enumerates supports of equal size, largest first, and returns the first
    Nash equilibrium found — the fully mixed one when it exists (for battle of the sexes the mixed
    equilibrium rather than a pure one). Payoff range: max − min over both matrices.
    """

    finite = True
    mixed = True

    def __init__(self, A, B, name: str = "matrix", labels: tuple[str, ...] | None = None):
        self.A, self.B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
        check(self.A.ndim == 2 and self.A.shape == self.B.shape and bool(np.isfinite(self.A).all())
              and bool(np.isfinite(self.B).all()), "B", f"be a finite matrix shaped like A {list(self.A.shape)}",
              self.B.shape, "give both players' payoffs for every (row, column) pair")
        self.name = name
        m, n = self.A.shape
        super().__init__((m, n), 0.0, 1.0)
        self.n_actions = (m, n)
        self.labels = labels
        self.roles = {"player": (0, 1)} if m == n else {"row": (0,), "column": (1,)}
        total = self.A + self.B
        self.constant_sum = bool(np.allclose(total, total.flat[0]))
        self._eq: np.ndarray | None = None

    def action_names(self, i):
        return ("action",)

    def pure_profile(self, actions) -> np.ndarray:
        """The profile of pure actions ``[..., 2]`` (row index, column index)."""
        a = np.asarray(actions)
        return np.concatenate([one_hot(a[..., 0], self.n_actions[0]), one_hot(a[..., 1], self.n_actions[1])], -1)

    def initial_profile(self):
        """Row on its first action, column on its second: a pure, miscoordinated profile.

        Not the diagonal (0, 0): in Shapley's game, fictitious play from a diagonal profile meets exact
        ties that land it on the equilibrium after a few steps, a knife edge; from any other pure
        profile it cycles (NashConv ≈ 0.28 of the payoff range).
        """
        return self.pure_profile(np.array([0, min(1, self.n_actions[1] - 1)]))

    def payoffs(self, profile):
        x, y = self.split(profile)
        return np.stack([np.einsum("...i,ij,...j->...", x, self.A, y), np.einsum("...i,ij,...j->...", x, self.B, y)], -1)

    def best_responses(self, profile):
        x, y = self.split(profile)
        row = one_hot((y @ self.A.T).argmax(-1), self.n_actions[0])
        col = one_hot((x @ self.B).argmax(-1), self.n_actions[1])
        return np.concatenate([row, col], -1)

    def equilibrium(self):
        if self._eq is None:
            self._eq = self._support_enumeration()
        return self._eq.copy()

    def _support_enumeration(self, tol: float = 1e-12) -> np.ndarray:
        m, n = self.n_actions
        for k in range(min(m, n), 0, -1):
            for rows in itertools.combinations(range(m), k):
                for cols in itertools.combinations(range(n), k):
                    y = _indifferent(self.A[np.ix_(rows, cols)])        # makes the row player indifferent
                    x = _indifferent(self.B[np.ix_(rows, cols)].T)      # makes the column player indifferent
                    if x is None or y is None or x.min() < -tol or y.min() < -tol:
                        continue
                    xf, yf = np.zeros(m), np.zeros(n)
                    xf[list(rows)], yf[list(cols)] = np.clip(x, 0, None), np.clip(y, 0, None)
                    xf, yf = xf / xf.sum(), yf / yf.sum()
                    ay, bx = self.A @ yf, xf @ self.B
                    if ay.max() <= xf @ ay + tol and bx.max() <= bx @ yf + tol:
                        return np.concatenate([xf, yf])
        raise NotImplementedError(f"{self.name}: no equilibrium with supports of equal size (degenerate game)")

    def payoff_range(self):
        return float(max(self.A.max(), self.B.max()) - min(self.A.min(), self.B.min()))


def _indifferent(M: np.ndarray) -> np.ndarray | None:
    """The mixture z (Σz = 1) with M·z constant, or None when singular."""
    k = M.shape[0]
    lhs = np.block([[M, -np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
    rhs = np.concatenate([np.zeros(k), [1.0]])
    try:
        sol = np.linalg.solve(lhs, rhs)
    except np.linalg.LinAlgError:
        return None
    return sol[:k]


def battle_of_the_sexes() -> MatrixGame:
    """Rows/columns (Opera, Football); A = [[2, 0], [0, 1]], B = [[1, 0], [0, 2]].

    Pure equilibria (Opera, Opera) and (Football, Football); the mixed one is x = (2/3, 1/3),
    y = (1/3, 2/3). (OpenSpiel's ``matrix_bos`` uses 3/2 instead of 2/1, whose mixed NE is (3/5, 2/5).)
    """
    return MatrixGame([[2, 0], [0, 1]], [[1, 0], [0, 2]], "battle_of_the_sexes", ("opera", "football"))


def biased_rps() -> MatrixGame:
    """OpenSpiel's ``matrix_brps`` (Bošanský et al. 2016, Fig. 7): zero-sum, A = [[0, −25, 50], [25, 0, −5], [−50, 5, 0]].

    Unique equilibrium: both players (1/16, 10/16, 5/16), value 0.
    """
    A = np.array([[0, -25, 50], [25, 0, -5], [-50, 5, 0]], dtype=float)
    return MatrixGame(A, -A, "biased_rps", ("rock", "paper", "scissors"))


def shapley() -> MatrixGame:
    """Shapley's game (OpenSpiel ``matrix_shapleys_game``): A = [[0, 0, 1], [1, 0, 0], [0, 1, 0]], B = [[0, 1, 0], [0, 0, 1], [1, 0, 0]].

    General-sum; unique equilibrium (1/3, 1/3, 1/3) for both; fictitious play cycles around it
    with ever longer runs and does not converge — the negative control.
    """
    A = [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    B = [[0, 1, 0], [0, 0, 1], [1, 0, 0]]
    return MatrixGame(A, B, "shapley", ("rock", "paper", "scissors"))


__all__ = ["MatrixGame", "battle_of_the_sexes", "biased_rps", "shapley"]
