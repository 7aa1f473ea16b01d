"""``explorer(...)``: check the arguments and build an ``Explorer`` (tpviz/widgets/live.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .. import validate
from ..algorithms.ascent import AscentSettings
from ..algorithms.classviz import Init, start_image
from ..algorithms.sweeps import grid_values
from ..course import TP
from ..errors import InputError
from .studio import Explorer
from .view import check_classes, check_models

# Settings computed at once on a CPU: at 4, SqueezeNet's TP grid peaks at 0.88 GB instead of 1.04 GB at 8 (the
# 8 settings after the first in one batch), but fills in ~70 s instead of ~53 s (README, Speed): memory first on a
# laptop; explorer(..., batch_size=8) trades it back.
CPU_BATCH = 4


def explorer(models: nn.Module | Mapping[str, nn.Module], *, classes: int | str | Sequence[int | str] = ("snail",),
             starts: Mapping[str, Init] | None = None, lr: Sequence[float] = TP.lrs,
             l2_reg: Sequence[float] = TP.l2s, iterations: Sequence[int] = TP.iteration_counts,
             blur_every: int | None = 10, blur_sigma: float = 0.5, max_jitter: int = 16, seed: int = TP.seed,
             size: int = 224, batch_size: int | None = None, display_size: int | None = None,
             background: bool = True) -> Explorer:
    """A live explorer of class visualizations: sliders over the grid ``lr`` x ``l2_reg`` x ``iterations``.

    Each (model, class, start) grid is computed as ``tpviz.sweep``s (settings as batches, the iteration counts
    as snapshots of one run) when first needed, and cached, so moving a slider to a computed setting is
    instant. With ``background=True`` the setting on screen is computed first, alone (a few seconds), and shown;
    the rest of the grid fills in on a worker thread while the kernel stays free; a setting not computed yet
    says so and appears when ready; a new model, class or start goes first in line. ``background=False``
    computes each grid at once, blocking (what the tests drive). The "outside the grid" boxes compute any
    other setting on demand; off the grid the sliders are greyed and a badge names the knob (``studio.py``
    gives the rule). Under the image: its curve over the iterations, the filmstrip (the grid's row along the
    knob last moved; a thumbnail's button shows it), a "compare models" toggle (the second model beside the
    first) and "save PNG" (the view with its parameters, never over a file without asking, and the code that
    computes it again). Nothing is computed until the explorer is displayed (a cell's last expression,
    or ``display``) or ``refresh``/``show`` is called. ``Explorer.wait()`` blocks until the work is done;
    ``Explorer.close()`` (or a kernel interrupt while the kernel is idle) stops it.

    Args:
        models: a model, or names -> models for the model dropdown (e.g. ``{"SqueezeNet": sq, "VGG16": vgg}``).
        classes: the class dropdown's classes, names or indices (e.g. ``["snail", "tarantula"]``).
        starts: names -> start images for the start dropdown: None for noise (drawn with ``seed``) or one
            image as model inputs (1, 3, size, size) (e.g. ``{"noise": None, "hay": x_hay}``). Default: noise.
        lr, l2_reg, iterations: the grid's values, one slider each; the sliders start at the TP's setting
            (lr 5, L2 1e-3, 200 iterations) or the grid value nearest to it.
        blur_every, blur_sigma, max_jitter, seed, size: as for ``tpviz.class_visualization``.
        batch_size: at most this many settings are computed at once; default ``CPU_BATCH`` on a CPU (peak memory
            under 1 GB for SqueezeNet's grid: ``benchmarks/bench_classviz.py``), 32 elsewhere.
        display_size: the image's size on screen in pixels (nearest-neighbour upscaling); default: ``size``
            times the smallest factor that reaches 448 (448 for the TP's 224: readable on a laptop).

    Returns an ``Explorer``. Costs about len(lr)·len(l2_reg)·max(iterations) image-iterations per grid.
    """
    named = check_models(models)
    targets = check_classes(classes)
    starts = {"noise": None} if starts is None else dict(starts)
    lrs, l2s, its = grid_values(lr, l2_reg, iterations)
    grid = {"lr": lrs, "l2_reg": l2s, "iterations": its}
    settings = AscentSettings(lr=lrs[0], l2_reg=l2s[0], iterations=max(its), blur_every=blur_every,
                              blur_sigma=blur_sigma, max_jitter=max_jitter, seed=seed, size=size)
    batch_size = default_batch(named) if batch_size is None else validate.count(batch_size, "batch_size")
    size = settings.size
    display_size = size * math.ceil(448 / size) if display_size is None else \
        validate.count(display_size, "display_size", high=4096)
    if not starts or not all(isinstance(k, str) for k in starts):
        raise InputError("starts must map names to start images, e.g. {'noise': None, 'hay': x_hay}")
    for name, init in starts.items():
        x = start_image(init, seed=seed, size=size, device=init.device if isinstance(init, torch.Tensor) else None)
        if x.shape[0] != 1:
            raise InputError(f"start {name!r} holds {x.shape[0]} images {tuple(x.shape)}: give one image "
                             f"(1, 3, {size}, {size}), e.g. x[:1]")
    return Explorer(named, targets, starts, grid=grid, settings=settings, batch_size=batch_size,
                    display_size=display_size, background=validate.flag(background, "background"))




def default_batch(models: Mapping[str, nn.Module]) -> int:
    """``CPU_BATCH`` when any model runs on a CPU (memory is the laptop's), else 32."""
    devices = {p.device.type for m in models.values() for p in list(m.parameters())[:1]}
    return CPU_BATCH if not devices or "cpu" in devices else 32
