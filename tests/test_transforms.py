"""The class-visualization transforms, each checked exactly on a tiny tensor."""

from __future__ import annotations

import math

import pytest
import torch

import tpviz


def grid3() -> torch.Tensor:
    return torch.arange(9.0).view(1, 1, 3, 3)


def test_jitter_rolls_right_and_down_and_wraps():
    out = tpviz.jitter(grid3(), 1, 2)
    # dx=1 moves columns right (last column wraps to the front); dy=2 moves rows down by two
    expected = torch.tensor([[5.0, 3, 4], [8, 6, 7], [2, 0, 1]]).view(1, 1, 3, 3)
    assert torch.equal(out, expected)


@pytest.mark.parametrize("dx, dy", [(0, 0), (1, 0), (0, 2), (2, 1), (3, 3), (-1, 2)])
def test_jitter_is_undone_exactly(dx, dy):
    x = torch.randn(2, 3, 5, 4)
    assert torch.equal(tpviz.jitter(tpviz.jitter(x, dx, dy), -dx, -dy), x)


def test_jitter_does_not_modify_its_input():
    x = grid3()
    tpviz.jitter(x, 1, 1)
    assert torch.equal(x, grid3())


def hand_blur_1d(row: list[float], sigma: float) -> list[float]:
    """scipy.ndimage.gaussian_filter1d(row, sigma, mode="reflect", truncate=4), written out by hand."""
    radius = int(4 * sigma + 0.5)
    w = [math.exp(-0.5 * (t / sigma) ** 2) for t in range(-radius, radius + 1)]
    w = [v / sum(w) for v in w]
    n = len(row)

    def at(i: int) -> float:  # d c b a | a b c d
        i = i % (2 * n)
        return row[i] if i < n else row[2 * n - 1 - i]

    return [sum(w[k] * at(i + k - radius) for k in range(len(w))) for i in range(n)]


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])  # 2.0: the kernel (radius 8) is wider than the image
def test_gaussian_blur_matches_the_hand_computed_separable_filter(sigma):
    x = grid3()
    rows = [hand_blur_1d([float(v) for v in r], sigma) for r in x[0, 0].tolist()]
    cols = [hand_blur_1d([rows[i][j] for i in range(3)], sigma) for j in range(3)]
    expected = torch.tensor([[cols[j][i] for j in range(3)] for i in range(3)]).view(1, 1, 3, 3)
    torch.testing.assert_close(tpviz.gaussian_blur(x, sigma), expected, rtol=0, atol=1e-5)


def test_gaussian_blur_keeps_constants_and_channels_apart():
    x = torch.stack([torch.full((4, 5), 2.0), torch.full((4, 5), -1.0), torch.full((4, 5), 0.5)]).unsqueeze(0)
    torch.testing.assert_close(tpviz.gaussian_blur(x, 0.5), x)
    assert torch.equal(tpviz.gaussian_blur(x, 0.0), x)


def test_gaussian_blur_preserves_the_mean_and_smooths():
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    y = tpviz.gaussian_blur(x, 1.0)
    torch.testing.assert_close(y.mean(dim=(2, 3)), x.mean(dim=(2, 3)), rtol=0, atol=1e-5)  # symmetric borders
    assert float(y.std()) < float(x.std())


def test_clamp_pixels_is_the_normalised_0_255_range():
    mean = torch.tensor(tpviz.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(tpviz.IMAGENET_STD).view(1, 3, 1, 1)
    x = torch.tensor([-10.0, 0.0, 10.0]).view(1, 1, 1, 3).expand(1, 3, 1, 3)
    out = tpviz.clamp_pixels(x)
    pixels = out * std + mean
    torch.testing.assert_close(pixels[..., 0], torch.zeros(1, 3, 1))
    torch.testing.assert_close(pixels[..., 2], torch.ones(1, 3, 1))
    torch.testing.assert_close(out[..., 1], x[..., 1])
