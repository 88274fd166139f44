"""Known answers and edge cases of the metric definitions."""

from __future__ import annotations

import pytest
import torch

from marlloc.metrics import gini, jain


def test_jain_known_values_and_edge_cases():
    assert float(jain([1, 1, 1, 1])) == pytest.approx(1.0)
    assert float(jain([1, 0, 0, 0])) == pytest.approx(0.25)  # 1/n when one gets everything
    assert float(jain([1, 2, 3])) == pytest.approx(36 / 42)
    assert float(jain([7.0])) == 1.0          # n = 1
    assert float(jain([0.0, 0.0])) == 1.0     # all zeros: documented as 1
    with pytest.raises(ValueError, match="x ≥ 0"):
        jain([1.0, -0.1])


def test_gini_known_values_and_edge_cases():
    assert float(gini([2, 2, 2])) == 0.0
    assert float(gini([0, 0, 1])) == pytest.approx(2 / 3)
    assert float(gini([0, 0, 1], normalised=True)) == pytest.approx(1.0)
    assert float(gini([1, 2, 3])) == pytest.approx(2 / 9)
    assert float(gini([5.0])) == 0.0 and float(gini([5.0], normalised=True)) == 0.0
    assert float(gini([0.0, 0.0, 0.0])) == 0.0
    with pytest.raises(ValueError):
        gini([-1.0, 1.0])
    with pytest.raises(ValueError):
        gini([float("nan"), 1.0])


def test_one_formula_for_every_n():
    """No switch of formula with n (AI Economist's jumps at n = 30): scaling the population
    by copying it leaves the Gini unchanged."""
    base = torch.tensor([0.0, 1.0, 3.0, 6.0])
    for k in (1, 7, 8, 100):
        assert float(gini(base.repeat(k))) == pytest.approx(float(gini(base)))


def test_masked_batches_equal_unmasked_subsets():
    x = torch.tensor([[1.0, 2.0, 3.0, 100.0], [0.0, 0.0, 1.0, 5.0]])
    m = torch.tensor([[1, 1, 1, 0], [0, 1, 1, 1]], dtype=torch.bool)
    torch.testing.assert_close(gini(x, m), torch.stack([gini([1.0, 2, 3]), gini([0.0, 1, 5])]))
    torch.testing.assert_close(jain(x, m), torch.stack([jain([1.0, 2, 3]), jain([0.0, 1, 5])]))
    # a masked-out negative does not raise
    assert float(jain(torch.tensor([-1.0, 2.0]), torch.tensor([False, True]))) == 1.0
