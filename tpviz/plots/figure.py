"""Figures: the TP's image-over-saliency layout, and saving any figure with its parameters on it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

from ..errors import InputError
from ..imagenet.images import deprocess
from ..imagenet.models import model_info

RANDOM_COLOR = "red"


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


def model_label(model: nn.Module) -> tuple[str, bool]:
    """A model's name (``load_model``'s, else its class name) and whether it has random weights."""
    info = model_info(model)
    return (type(model).__name__, False) if info is None else (info.name, info.random)


def name_model(ax: Axes, name: str, random: bool, *, axis: str = "y") -> None:
    """Label an axis with a model's name (a row's y label, or an image's x label); in red with
    "RANDOM WEIGHTS" under it when the model has random weights."""
    label = ax.set_ylabel if axis == "y" else ax.set_xlabel
    label(f"{name}\nRANDOM WEIGHTS" if random else name, fontsize=8, color=RANDOM_COLOR if random else "black")


def warn_random(fig: Figure, named: Sequence[tuple[str, bool]], what: str, *, context: str | None = None) -> None:
    """The figure's title: ``random_warning`` in bold red when a model has random weights, over ``context``
    (e.g. the class and settings), if any."""
    warning = random_warning(named, what)
    text = "\n".join(t for t in (warning, context) if t)
    if text:
        fig.suptitle(text, fontsize=10, color=RANDOM_COLOR if warning else "black",
                     fontweight="bold" if warning else "normal")


def bare(axes: np.ndarray) -> None:
    """No ticks on these axes (an array of them, as plt.subplots gives): they show images."""
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])


def random_warning(named: Sequence[tuple[str, bool]], what: str) -> str | None:
    """The red title for figures with random-weights models, from ``model_label`` pairs; None when there are none.

    E.g. "RANDOM WEIGHTS (vgg16): these maps are meaningless" for ``what="maps"``.
    """
    names = list(dict.fromkeys(name for name, rnd in named if rnd))
    return f"RANDOM WEIGHTS ({', '.join(names)}): these {what} are meaningless" if names else None


def save_figure(fig: Figure, path: str | os.PathLike, *, params: Mapping[str, object], overwrite: bool = False,
                dpi: int = 110) -> Path:
    """Save ``fig`` as an image with ``params`` written along its bottom edge (and in the PNG's metadata).

    Refuses to replace an existing file unless ``overwrite=True``. Returns the path written. (A figure
    from ``plot_saliency`` with a random-weights model already says so in red in its title.)
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError(f"{str(path)!r} exists already; pass overwrite=True to replace it, or choose another name")
    text = "  ·  ".join(f"{k}={v}" for k, v in params.items())
    # Below everything already drawn (axis labels, model names), so that the tight bounding box grows to hold it.
    bottom = fig.get_tightbbox().y0 / fig.get_figheight()
    label = fig.text(0.5, bottom - 0.01, text, ha="center", va="top", fontsize=7, wrap=True, color="dimgray")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        metadata = {"Description": text} if path.suffix.lower() == ".png" else None
        fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.15, metadata=metadata)
    finally:
        label.remove()
    return path
