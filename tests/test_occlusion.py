"""tpviz.occlusion: on a linear model the drop is exactly the patch's contribution; a nonlinear model agrees
with a one-patch-at-a-time loop; bad knobs are refused."""

from __future__ import annotations

import pytest
import torch

import tpviz

from .conftest import Linear, TinyConv


def _contribution(model: Linear, x: torch.Tensor, y: int, r: int, c: int, p: int, value: float) -> torch.Tensor:
    """What greying out the patch removes from a linear score: sum over the patch of W[y] * (x - value)."""
    return (model.w(y)[:, r:r + p, c:c + p] * (x[:, r:r + p, c:c + p] - value)).sum()


@pytest.mark.parametrize("value", [0.0, -0.7])
def test_linear_drop_is_the_patch_contribution(value):
    model, x = Linear(), torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    maps = tpviz.occlusion(model, x, [3, 7], patch=4, stride=4, value=value, batch_size=3)
    assert maps.shape == (2, 8, 8)
    for i, y in enumerate([3, 7]):
        for r in (0, 4):
            for c in (0, 4):
                expected = _contribution(model, x[i], y, r, c, 4, value)
                torch.testing.assert_close(maps[i, r:r + 4, c:c + 4], expected.expand(4, 4), rtol=1e-5, atol=1e-5)


def test_overlapping_patches_average_the_drops_that_cover_a_pixel():
    model, x = Linear(), torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(6))
    maps = tpviz.occlusion(model, x, 2, patch=4, stride=3)  # starts 0, 3 and 4 (the last one added)
    starts = [0, 3, 4]
    total, count = torch.zeros(8, 8), torch.zeros(8, 8)
    for r in starts:
        for c in starts:
            total[r:r + 4, c:c + 4] += _contribution(model, x[0], 2, r, c, 4, 0.0)
            count[r:r + 4, c:c + 4] += 1
    torch.testing.assert_close(maps[0], total / count, rtol=1e-5, atol=1e-5)


def test_nonlinear_model_matches_a_loop():
    model, x = TinyConv().eval(), torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(7))
    maps = tpviz.occlusion(model, x, [1, 4], patch=5, stride=5, batch_size=5)
    with torch.no_grad():
        for i, y in enumerate([1, 4]):
            base = model(x[i:i + 1])[0, y]
            for r in (0, 5):
                for c in (0, 5):
                    hidden = x[i:i + 1].clone()
                    hidden[..., r:r + 5, c:c + 5] = 0
                    torch.testing.assert_close(maps[i, r, c], base - model(hidden)[0, y], rtol=1e-5, atol=1e-5)


def test_batch_size_does_not_change_the_result():
    model, x = TinyConv().eval(), torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(8))
    a = tpviz.occlusion(model, x, 1, patch=4, stride=2, batch_size=1)
    b = tpviz.occlusion(model, x, 1, patch=4, stride=2, batch_size=100)
    torch.testing.assert_close(a, b)


def test_progress_callable_sees_every_occluded_copy():
    seen: list[tuple[int, int]] = []
    tpviz.occlusion(Linear(), torch.randn(2, 3, 8, 8), 1, patch=4, stride=4, batch_size=3,
                    progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (8, 8) and all(t == 8 for _, t in seen)


@pytest.mark.parametrize("knobs", [{"patch": 0}, {"patch": 9}, {"patch": 2.5}, {"stride": 0}, {"value": float("nan")},
                                   {"batch_size": 0}, {"patch": True}, {"progress": "yes"}])
def test_bad_knobs_are_refused(knobs):
    with pytest.raises(tpviz.InputError):
        tpviz.occlusion(Linear(), torch.randn(1, 3, 8, 8), 1, **knobs)
