"""tpviz.linearity: exact on a linear model, first-order for small eps on a nonlinear one."""

from __future__ import annotations

import pytest
import torch

import tpviz
from tpviz.imagenet.images import pixel_scale

from .conftest import Linear, TinyConv


def test_linear_model_scores_exactly_on_the_prediction():
    model, x = Linear(), torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    lin = tpviz.linearity(model, x, [4, 9], eps=(1 / 255, 4 / 255))
    assert lin.measured.shape == lin.predicted.shape == (2, 2)
    for i, y in enumerate([4, 9]):
        l1 = (model.w(y) * 255 / pixel_scale(x)[0]).abs().sum()  # ||W[y] / std||_1: the pixel-unit gradient
        torch.testing.assert_close(lin.predicted[i], l1 * torch.tensor([1 / 255, 4 / 255]))
    torch.testing.assert_close(lin.measured, lin.predicted, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(lin.score, model(x).gather(1, torch.tensor([[4], [9]]))[:, 0])


def test_nonlinear_model_is_first_order_for_a_tiny_step():
    model, x = TinyConv().eval(), torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(2)).double()
    model.double()
    lin = tpviz.linearity(model, x, 3, eps=(1e-7,))
    torch.testing.assert_close(lin.measured, lin.predicted, rtol=1e-3, atol=1e-12)


@pytest.mark.parametrize("eps", [(), 2 / 255, (0.0,), (2.0,), ("a",), (float("nan"),)])
def test_bad_budgets_are_refused(eps):
    with pytest.raises(tpviz.InputError):
        tpviz.linearity(Linear(), torch.randn(1, 3, 8, 8), 1, eps=eps)
