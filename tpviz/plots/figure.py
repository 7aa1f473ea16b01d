"""Helpers every figure uses (bare image axes, model names, the red random-weights title), and saving a
figure with its parameters on it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import InputError
from .style import RANDOM_COLOR, random_warning


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
