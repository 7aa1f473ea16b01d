"""How far an image moved: distances in 0-255 pixel levels, shared by the attacks and class visualization."""

from __future__ import annotations

import torch

from ..errors import InputError
from ..imagenet.images import check_images, pixel_scale


def pixel_distances(images: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(L∞, L2, PSNR in dB) of ``images - reference`` (N, 3, H, W) model inputs, each (N,), in 0-255 pixel levels.

    PSNR is inf for an unchanged image. ``reference`` may be one image (1, 3, H, W) for all.
    """
    delta = ((images - reference) * pixel_scale(images)).flatten(1)
    mse = delta.pow(2).mean(dim=1)
    psnr = torch.where(mse > 0, 10 * torch.log10(255.0**2 / mse.clamp_min(1e-30)), torch.full_like(mse, float("inf")))
    return delta.abs().amax(dim=1), delta.norm(dim=1), psnr


def image_distance(a: object, b: object) -> dict[str, float]:
    """How far apart two images are: {"linf", "l2" (0-255 pixel levels), "psnr_dB"} for model inputs
    ``a`` and ``b`` of the same shape (1, 3, H, W) (images a class visualization left unclamped are allowed).
    """
    a_, b_ = check_images(a, name="a", pixels=False), check_images(b, name="b", pixels=False)
    if a_.shape != b_.shape or a_.shape[0] != 1:
        raise InputError(f"image_distance compares two images of one shape (1, 3, H, W), got {tuple(a_.shape)} "
                         f"and {tuple(b_.shape)}; pick one image of a batch with x[k:k + 1]")
    linf, l2, psnr = pixel_distances(*(t.detach().cpu().double() for t in (a_, b_)))  # one image: cheap, exact
    return {"linf": float(linf[0]), "l2": float(l2[0]), "psnr_dB": float(psnr[0])}
