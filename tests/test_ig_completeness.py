"""Integrated gradients' completeness (exact on a linear model, approached with more steps on a nonlinear one),
and the progress of SmoothGrad and integrated gradients."""

from __future__ import annotations

import pytest
import torch

import tpviz

from .conftest import Linear, TinyConv


@pytest.mark.parametrize("steps", [1, 5])
def test_linear_model_is_complete_with_any_number_of_steps(steps):
    model, x = Linear(), torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    base = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    ig = tpviz.integrated_gradients(model, x, [1, 2, 3], baseline=base, steps=steps)
    total, gap = tpviz.ig_completeness(model, x, [1, 2, 3], ig, baseline=base)
    with torch.no_grad():
        expected = (model(x) - model(base)).gather(1, torch.tensor([[1], [2], [3]]))[:, 0]
    torch.testing.assert_close(gap, expected)
    torch.testing.assert_close(total, gap, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ig.sum(dim=1).flatten(1).sum(dim=1), total, rtol=1e-5, atol=1e-5)  # signed view


def test_nonlinear_gap_shrinks_with_more_steps():
    model = TinyConv().eval().double()
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(6)).double()
    gaps = []
    for steps in (1, 64):
        total, gap = tpviz.ig_completeness(model, x, 2, tpviz.integrated_gradients(model, x, 2, steps=steps))
        gaps.append((total - gap).abs().max().item())
    assert gaps[1] < gaps[0] and gaps[1] < 1e-3


def test_attributions_of_the_wrong_shape_are_refused():
    model, x = Linear(), torch.randn(2, 3, 8, 8)
    with pytest.raises(tpviz.InputError, match="attributions"):
        tpviz.ig_completeness(model, x, 1, torch.zeros(2, 8, 8))


@pytest.mark.parametrize("name", ["smoothgrad", "integrated_gradients"])
def test_progress_callable_counts_every_copy(name):
    seen: list[tuple[int, int]] = []
    knobs = {"samples": 5} if name == "smoothgrad" else {"steps": 5}
    getattr(tpviz, name)(Linear(), torch.randn(2, 3, 8, 8), 1, batch_size=3,
                         progress=lambda done, total: seen.append((done, total)), **knobs)
    assert seen[-1] == (10, 10) and [d for d, _ in seen] == sorted(d for d, _ in seen)
