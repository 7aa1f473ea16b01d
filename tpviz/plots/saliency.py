"""The TP's Figures 1-2: a row of images over one row of saliency maps per model."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ..errors import InputError
from ..imagenet.images import deprocess
from .figure import bare, name_model, warn_random
from .style import model_label


def plot_saliency(images: np.ndarray | torch.Tensor, maps: torch.Tensor | Sequence[torch.Tensor], *,
                  titles: Sequence[str] | None = None, models: nn.Module | Sequence[nn.Module] | None = None,
                  row_labels: Sequence[str] | None = None, cmap: str = "hot", scale: float = 2.2) -> Figure:
    """The TP's Figure 1/2 layout: a row of images over one row of saliency maps per model.

    Args:
        images: uint8 pixels (N, H, W, 3) or model inputs (N, 3, H, W).
        maps: saliency maps (N, H, W), or a list of them (one row each, e.g. SqueezeNet then VGG16).
        titles: one title per column (e.g. class names).
        models: the model behind each row of maps: names the row, and a model on random weights is
            marked in red on its row and in the figure's title.
        row_labels: a label per row of maps (e.g. "SmoothGrad"); default: the models' names.
    """
    pixels = deprocess(images) if isinstance(images, torch.Tensor) and images.is_floating_point() else np.asarray(images)
    rows = [maps] if isinstance(maps, torch.Tensor) else list(maps)
    mods = [] if models is None else [models] if isinstance(models, nn.Module) else list(models)
    n = pixels.shape[0]
    if any(m.ndim != 3 or m.shape[0] != n for m in rows):
        raise InputError(f"each row of maps must be (N, H, W) with N = {n} images, got "
                         f"{[tuple(m.shape) for m in rows]}")
    if titles is not None and len(titles) != n:
        raise InputError(f"{len(titles)} titles for {n} images")
    if mods and len(mods) != len(rows):
        raise InputError(f"{len(mods)} models for {len(rows)} rows of maps")
    if row_labels is not None and len(row_labels) != len(rows):
        raise InputError(f"{len(row_labels)} row labels for {len(rows)} rows of maps")
    fig, axes = plt.subplots(1 + len(rows), n, figsize=(scale * n, scale * (1 + len(rows))), squeeze=False)
    for j in range(n):
        axes[0, j].imshow(pixels[j])
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize=9)
        for r, m in enumerate(rows):
            axes[r + 1, j].imshow(m[j].detach().float().cpu().numpy(), cmap=cmap)
    bare(axes)
    named = [model_label(m) for m in mods]
    is_random = [rnd for _, rnd in named] or [False] * len(rows)
    labels = list(row_labels) if row_labels is not None else [name for name, _ in named]
    for r, label in enumerate(labels):
        name_model(axes[r + 1, 0], label, is_random[r])
    warn_random(fig, named, "maps")
    fig.tight_layout()
    return fig
