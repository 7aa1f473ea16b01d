"""The image transforms of class visualization: small pure functions on model inputs (N, C, H, W)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._images import pixel_bounds


def jitter(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Roll (N, C, H, W) images ``dx`` pixels right and ``dy`` down, wrapping around; ``jitter(·, -dx, -dy)``
    undoes it exactly."""
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
    if sigma <= 0:
        return x
    k = gaussian_kernel(sigma).to(x.dtype).to(x.device)
    r = (k.numel() - 1) // 2
    if r == 0:
        return x
    c = x.shape[1]
    out = _symmetric_pad(x, r, dim=3)
    out = F.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = _symmetric_pad(out, r, dim=2)
    return F.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def clamp_pixels(x: torch.Tensor) -> torch.Tensor:
    """Clamp ImageNet-normalised inputs (N, 3, H, W) to the values of pixels 0–255 in each channel."""
    lo, hi = pixel_bounds(x)
    return torch.maximum(torch.minimum(x, hi), lo)


def _symmetric_pad(x: torch.Tensor, r: int, *, dim: int) -> torch.Tensor:
    """Pad ``r`` values on both sides of ``dim`` by mirroring with the edge repeated (any r, even > size)."""
    size = x.shape[dim]
    j = torch.arange(-r, size + r, device=x.device) % (2 * size)
    return x.index_select(dim, torch.where(j < size, j, 2 * size - 1 - j))
