"""How far an image moved: distances in 0-255 pixel levels, shared by the attacks and class visualization."""

from __future__ import annotations

import torch

from ..imagenet.images import pixel_scale


def pixel_distances(images: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(L∞, L2, PSNR in dB) of ``images - reference`` (N, 3, H, W) model inputs, each (N,), in 0-255 pixel levels.

    PSNR is inf for an unchanged image. ``reference`` may be one image (1, 3, H, W) for all.
    """
    delta = ((images - reference) * pixel_scale(images)).flatten(1)
    mse = delta.pow(2).mean(dim=1)
    psnr = torch.where(mse > 0, 10 * torch.log10(255.0**2 / mse.clamp_min(1e-30)), torch.full_like(mse, float("inf")))
    return delta.abs().amax(dim=1), delta.norm(dim=1), psnr
