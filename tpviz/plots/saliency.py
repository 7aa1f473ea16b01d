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

SIGNED_CMAP = "bwr"
SIGNED_PERCENTILE = 99
SCALES = {"panel": "colour scale: each map from 0 to its own maximum (compare patterns, not brightness)",
          "row": "colour scale: one per row (brightness compares along a row, not between rows)",
          "figure": "colour scale: one for all maps (brightness compares everywhere)"}


def _limits(arrays: list[np.ndarray], signed: list[bool], colour_scale: str) -> list[np.ndarray]:
    """Per row, the (N,) |value| each panel's colours stretch to, for the chosen colour scale: a map's maximum,
    or for a signed map the 99th percentile of |value| (a few extreme pixels would wash the rest out to white)."""
    panel = [np.percentile(np.abs(a).reshape(a.shape[0], -1), SIGNED_PERCENTILE, axis=1) if sign
             else np.abs(a).reshape(a.shape[0], -1).max(axis=1) for a, sign in zip(arrays, signed)]
    if colour_scale == "panel":
        return panel
    if colour_scale == "row":
        return [np.full_like(p, p.max()) for p in panel]
    overall = max(p.max() for p in panel)
    return [np.full_like(p, overall) for p in panel]


def plot_saliency(images: np.ndarray | torch.Tensor, maps: torch.Tensor | Sequence[torch.Tensor], *,
                  titles: Sequence[str] | None = None, models: nn.Module | Sequence[nn.Module] | None = None,
                  row_labels: Sequence[str] | None = None, cmap: str = "hot", scale: float = 2.2,
                  colour_scale: str = "panel") -> Figure:
    """The TP's Figure 1/2 layout: a row of images over one row of saliency maps per model.

    Args:
        images: uint8 pixels (N, H, W, 3) or model inputs (N, 3, H, W).
        maps: saliency maps (N, H, W), or a list of them (one row each, e.g. SqueezeNet then VGG16).
        titles: one title per column (e.g. class names).
        models: the model behind each row of maps: names the row, and a model on random weights is
            marked in red on its row and in the figure's title.
        row_labels: a label per row of maps (e.g. "SmoothGrad"); default: the models' names.
        colour_scale: "panel" (each map from 0 to its own maximum: patterns compare, brightness does not),
            "row" (one scale per row) or "figure" (one scale for every map). The figure's title says which.
            A row with negative values (signed attributions) is drawn in blue-white-red, symmetric around 0,
            stretched to the 99th percentile of |value| instead of the maximum.
    """
    if colour_scale not in SCALES:
        raise InputError(f"colour_scale must be one of {', '.join(map(repr, SCALES))}, got {colour_scale!r}")
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
    arrays = [m.detach().float().cpu().numpy() for m in rows]
    signed = [bool((a < 0).any()) for a in arrays]
    top = _limits(arrays, signed, colour_scale)
    fig, axes = plt.subplots(1 + len(rows), n, figsize=(scale * n, scale * (1 + len(rows))), squeeze=False)
    for j in range(n):
        axes[0, j].imshow(pixels[j])
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize=9)
        for r, a in enumerate(arrays):
            v = max(float(top[r][j]), 1e-30)
            axes[r + 1, j].imshow(a[j], cmap=SIGNED_CMAP if signed[r] else cmap, vmin=-v if signed[r] else 0, vmax=v)
    bare(axes)
    named = [model_label(m) for m in mods]
    is_random = [rnd for _, rnd in named] or [False] * len(rows)
    labels = list(row_labels) if row_labels is not None else [name for name, _ in named]
    for r, label in enumerate(labels):
        name_model(axes[r + 1, 0], label, is_random[r])
    note = SCALES[colour_scale] + (f"; signed rows (to the {SIGNED_PERCENTILE}th percentile of |value|): red raises "
                                   "the score, blue lowers it" if any(signed) else "")
    warn_random(fig, named, "maps", context=note)
    fig.tight_layout()
    return fig
