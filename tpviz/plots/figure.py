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
from ..files.read import user_path
from ..files.write import atomic_path
from ..validate import flag, number
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

    A name without a suffix gets ``.png`` ("dir/report" -> "dir/report.png"); any other suffix must be a format
    matplotlib writes (.png, .pdf, .svg, .jpg...). Refuses to replace an existing file unless ``overwrite=True``.
    The file appears complete or not at all: it is written beside its name, then moved into place. Returns the
    path written (``~`` expanded). (A figure from ``plot_saliency`` with a random-weights model already says so
    in red in its title.)

    Raises:
        InputError: not a figure, an unknown suffix, an existing file, a folder that cannot be written.
    """
    if not isinstance(fig, Figure):
        raise InputError(f"save_figure expects a matplotlib Figure (what the tpviz.plot_* functions return), "
                         f"got {type(fig).__name__}")
    if not isinstance(params, Mapping):
        raise InputError(f"params must be a dict of the settings to write on the figure, got {type(params).__name__}")
    dpi = number(dpi, "dpi", low=10, high=1200, hint="(110 by default)")
    target, fmt = _figure_path(fig, path)
    text = "  ·  ".join(f"{k}={v}" for k, v in params.items())
    with atomic_path(target, "figure file", overwrite=flag(overwrite, "overwrite")) as tmp:
        # Below everything already drawn (axis labels, model names), so that the tight bounding box grows to hold it.
        bottom = fig.get_tightbbox().y0 / fig.get_figheight()
        label = fig.text(0.5, bottom - 0.01, text, ha="center", va="top", fontsize=7, wrap=True, color="dimgray")
        try:
            metadata = {"Description": text} if fmt == "png" else None
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.15, metadata=metadata)
        finally:
            label.remove()
    return target


def _figure_path(fig: Figure, path: str | os.PathLike) -> tuple[Path, str]:
    """The file ``save_figure`` writes for ``path`` (".png" added to a name without a suffix) and its format."""
    target = user_path(path, "save_figure's path")
    formats = fig.canvas.get_supported_filetypes()
    if target.is_dir() or not target.name:
        raise InputError(f"save_figure's path {str(target)!r} is a folder: give a file name, e.g. "
                         f"{str(target / 'figure.png')!r}")
    if not target.suffix:
        target = target.with_name(target.name + ".png")
    fmt = target.suffix[1:].lower()
    if fmt not in formats:
        raise InputError(f"save_figure cannot write {str(target)!r}: {target.suffix!r} is not an image format "
                         f"matplotlib writes. End the name with .png (or {', '.join('.' + f for f in sorted(formats))})")
    return target, fmt
