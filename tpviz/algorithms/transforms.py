"""The image transforms of class visualization: small pure functions on model inputs (N, C, H, W)."""

from __future__ import annotations

import torch

from .. import validate
from ..errors import InputError
from ..imagenet.images import check_images, pixel_bounds


def jitter(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Roll (N, C, H, W) images ``dx`` pixels right and ``dy`` down, wrapping around; ``jitter(·, -dx, -dy)``
    undoes it exactly."""
    x = _batch(x)
    dx, dy = validate.number(dx, "dx", integer=True), validate.number(dy, "dy", integer=True)
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3)) if dx or dy else x


def gaussian_kernel(sigma: float, *, truncate: float = 4.0) -> torch.Tensor:
    """The normalised 1-D Gaussian (2r+1,), r = round(truncate·sigma), as scipy's ``gaussian_filter1d`` uses."""
    radius = int(truncate * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of (N, C, H, W) with a separable Gaussian of standard deviation ``sigma`` pixels.

    Borders are mirrored with the edge pixel repeated (``d c b a | a b c d``), like scipy.ndimage's default
    ``mode="reflect"`` that CS231n's blur used. ``sigma <= 0`` returns ``x`` unchanged.
    """
    x, sigma = _batch(x), validate.number(sigma, "sigma", high=100, hint="(pixels)")
    if sigma <= 0:
        return x
    weights = gaussian_kernel(sigma).tolist()
    r = (len(weights) - 1) // 2
    if r == 0:
        return x
    return _blur_axis(_blur_axis(x, weights, r, dim=3), weights, r, dim=2)


def clamp_pixels(x: torch.Tensor) -> torch.Tensor:
    """Clamp ImageNet-normalised inputs (N, 3, H, W) to the values of pixels 0–255 in each channel."""
    x = check_images(x, pixels=False)
    lo, hi = pixel_bounds(x)
    return x.clamp(lo, hi)


def _blur_axis(x: torch.Tensor, weights: list[float], r: int, *, dim: int) -> torch.Tensor:
    """Correlate ``x`` with ``weights`` (2r+1,) along ``dim``: a weighted sum of shifted views of the padded
    image (for a 5-tap kernel, much faster on a CPU than a depthwise convolution)."""
    padded = _symmetric_pad(x, r, dim=dim)
    size = x.shape[dim]
    out = padded.narrow(dim, 0, size) * weights[0]
    for k in range(1, len(weights)):
        out.add_(padded.narrow(dim, k, size), alpha=weights[k])
    return out


def _symmetric_pad(x: torch.Tensor, r: int, *, dim: int) -> torch.Tensor:
    """Pad ``r`` values on both sides of ``dim`` by mirroring with the edge repeated (any r, even > size)."""
    size = x.shape[dim]
    j = torch.arange(-r, size + r, device=x.device) % (2 * size)
    return x.index_select(dim, torch.where(j < size, j, 2 * size - 1 - j))


def _batch(x: object) -> torch.Tensor:
    """``x`` if it is a float tensor of images (N, C, H, W), else an InputError."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"x must be a float tensor of images (N, C, H, W), got {shape}")
    return x
