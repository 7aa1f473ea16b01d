"""Figures for section 3: one row of class visualizations along a sweep (the TP's Figures 5–7), or side by side."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import nn

from ..algorithms.classviz import ClassVisualization
from ..algorithms.sweeps import Sweep
from ..errors import InputError
from ..imagenet.classes import class_name
from ..imagenet.images import deprocess
from .figure import bare, name_model, warn_random
from .style import model_label

AXES = ("lr", "l2_reg", "iterations")


def plot_sweep(sweep: Sweep, *, vary: str = "lr", model: nn.Module | None = None, scale: float = 2.2) -> Figure:
    """One row of a sweep's images along ``vary``, the other two knobs held at their first value.

    Each image is titled with its value ("lr=3", "L2=0.01", "200 iterations") over the model's predicted
    class and probability; the figure's title names the class and the held values.

    Args:
        sweep: what ``tpviz.sweep`` returns, e.g. ``tpviz.sweep(model, "snail", lr=[1, 3, 5, 7, 9])``.
        vary: the knob along the row: "lr", "l2_reg" or "iterations".
        model: the model the sweep ran on: names it in the title, in red with "RANDOM WEIGHTS" when it
            has random weights.
    """
    if not isinstance(sweep, Sweep):
        raise InputError(f"sweep must be what tpviz.sweep returns, got {type(sweep).__name__}")
    if vary not in AXES:
        raise InputError(f"vary must be one of {', '.join(map(repr, AXES))}, got {vary!r}")
    values = getattr(sweep, vary)
    held = {k: getattr(sweep, k)[0] for k in AXES if k != vary}
    fig, axes = plt.subplots(1, len(values), figsize=(scale * len(values), scale + 0.7), squeeze=False)
    for j, value in enumerate(values):
        i = tuple(j if k == vary else 0 for k in AXES)  # the grid is (lr, l2_reg, iterations)
        ax = axes[0, j]
        ax.imshow(deprocess(sweep.images[i]))
        ax.set_title(f"{_knob(vary, value)}\n{class_name(int(sweep.predicted[i]))} {float(sweep.probability[i]):.2f}",
                     fontsize=9)
    bare(axes)
    named = [model_label(model)] if model is not None else []
    context = " · ".join([class_name(sweep.target), *(name for name, _ in named),
                          *(_knob(k, v) for k, v in held.items())])
    warn_random(fig, named, "images", context=context)
    fig.tight_layout()
    return fig


def plot_class_visualization(results: ClassVisualization | Sequence[ClassVisualization], *,
                             titles: Sequence[str] | None = None,
                             models: nn.Module | Sequence[nn.Module] | None = None, scale: float = 2.6) -> Figure:
    """A row of class visualizations: every image of every result, each titled with its target class and
    that class's probability (under ``titles`` when given).

    Args:
        results: a ClassVisualization (``tpviz.class_visualization``) or a list of them, e.g. SqueezeNet's
            and VGG16's snails.
        titles: one title per image, in order (e.g. "from noise", "from hay").
        models: the model behind each result (or one for all): named under its images, in red with
            "RANDOM WEIGHTS" (and in the figure's title) when it has random weights.
    """
    runs = [results] if isinstance(results, ClassVisualization) else list(results)
    if not runs or not all(isinstance(r, ClassVisualization) for r in runs):
        raise InputError("results must be a ClassVisualization or a non-empty list of them "
                         "(what tpviz.class_visualization returns)")
    mods = [] if models is None else [models] * len(runs) if isinstance(models, nn.Module) else list(models)
    if mods and len(mods) != len(runs):
        raise InputError(f"{len(mods)} models for {len(runs)} results: give one model per result, in the same order")
    images = [(r, k, mods[n] if mods else None) for n, r in enumerate(runs) for k in range(r.images.shape[0])]
    if titles is not None and len(titles) != len(images):
        raise InputError(f"{len(titles)} titles for {len(images)} images: give one title per image")
    fig, axes = plt.subplots(1, len(images), figsize=(scale * len(images), scale + 0.8), squeeze=False)
    for j, (r, k, model) in enumerate(images):
        ax = axes[0, j]
        ax.imshow(deprocess(r.images[k]))
        caption = f"{class_name(int(r.target[k]))} {float(r.target_probability[k]):.2f}"
        ax.set_title(caption if titles is None else f"{titles[j]}\n{caption}", fontsize=9)
        if model is not None:
            name_model(ax, *model_label(model), axis="x")
    bare(axes)
    warn_random(fig, [model_label(m) for m in mods], "images")
    fig.tight_layout()
    return fig


def _knob(name: str, value: float) -> str:
    """A knob's caption: "lr=3", "L2=0.01", "200 iterations"."""
    if name == "iterations":
        return f"{int(value)} iterations"
    return f"{'L2' if name == 'l2_reg' else name}={value:g}"

