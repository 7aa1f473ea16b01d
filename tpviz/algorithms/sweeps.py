"""Section 3's sweeps: many class-visualization settings computed as one batch, iteration counts as snapshots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import torch
from torch import nn

from .classviz import Init, _ascend, _check_knobs, _evaluate, start_image
from ..errors import InputError
from .inputs import as_labels, check_device, check_positive, model_device
from .scope import frozen_eval

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Sweep:
    """Class visualizations over a grid of learning rates x L2 weights, each seen after several iteration counts.

    Attributes:
        lr, l2_reg, iterations: the grid's values, in the order given.
        images: (len(lr), len(l2_reg), len(iterations), 3, H, W) model inputs.
        score, target_probability, predicted, probability: (len(lr), len(l2_reg), len(iterations)).
        target: the class index.
        params: the other knobs, for captions.
    """

    lr: list[float]
    l2_reg: list[float]
    iterations: list[int]
    images: torch.Tensor
    score: torch.Tensor
    target_probability: torch.Tensor
    predicted: torch.Tensor
    probability: torch.Tensor
    target: int
    params: dict[str, object] = field(default_factory=dict)

    def index(self, *, lr: float, l2_reg: float, iterations: int) -> tuple[int, int, int] | None:
        """The grid position of a setting, or None when it is not in the grid (floats compared to 1e-9)."""
        try:
            return (_position(self.lr, lr), _position(self.l2_reg, l2_reg), self.iterations.index(int(iterations)))
        except ValueError:
            return None

    def image(self, *, lr: float, l2_reg: float, iterations: int) -> torch.Tensor:
        """The model input (1, 3, H, W) of one setting of the grid."""
        at = self.index(lr=lr, l2_reg=l2_reg, iterations=iterations)
        if at is None:
            raise InputError(f"lr={lr}, l2_reg={l2_reg}, iterations={iterations} is not in this sweep's grid "
                             f"(lr {self.lr}, l2_reg {self.l2_reg}, iterations {self.iterations}); "
                             "compute it with tpviz.class_visualization")
        return self.images[at].unsqueeze(0)


def sweep(model: nn.Module, target: int | str, *, lr: float | Sequence[float] = 5.0,
          l2_reg: float | Sequence[float] = 1e-3, iterations: int | Sequence[int] = 200, init: Init = None,
          blur_every: int | None = 10, blur_sigma: float = 0.5, max_jitter: int = 16, seed: int = 0,
          size: int = 224, batch_size: int = 32, progress: Progress | None = None) -> Sweep:
    """Class visualizations of one class over the grid ``lr`` x ``l2_reg`` x ``iterations``, computed as batches.

    Every (lr, l2_reg) pair is one sample of a batch (``batch_size`` at most at a time) with its own step
    length and L2 weight; all start from the same image and share the jitter sequence of ``seed``, so each
    sample is what ``class_visualization`` gives for that setting alone (equal up to float rounding, which
    the chaotic ascent amplifies over many iterations). The iteration counts are snapshots of one run to the
    largest. ``progress(done, total)`` is called after each iteration of each batch.
    """
    lrs, l2s, its = _values(lr, "lr", float), _values(l2_reg, "l2_reg", float), _values(iterations, "iterations", int)
    knobs: dict[str, Any] = {"blur_every": blur_every, "blur_sigma": blur_sigma, "max_jitter": max_jitter, "seed": seed}
    _check_knobs(lr=lrs, l2_reg=l2s, iterations=its, size=size, **knobs)
    check_positive(batch_size, "batch_size", integer=True)
    label, start = _start(model, target, init, seed=seed, size=size)
    settings = list(product(lrs, l2s))
    steps, chunks = max(its), range(0, len(settings), batch_size)
    shots = []
    with frozen_eval(model):
        for c, first in enumerate(chunks):

            def tick(i: int, _: torch.Tensor, c: int = c) -> None:
                if progress is not None:
                    progress(c * steps + i, steps * len(chunks))

            part = _grow(model, start, label, settings[first:first + batch_size], iterations=steps, snapshots=its,
                         callback=tick, knobs=knobs)
            shots.append(torch.stack(part, dim=1))  # (batch, I, 3, H, W)
        return _result(model, torch.cat(shots), label, lrs, l2s, its, batch_size=batch_size,
                       params=_params(init, knobs))


def axis_sweeps(model: nn.Module, target: int | str, *, lr: Sequence[float] = (1.0, 3.0, 5.0, 7.0, 9.0),
                l2_reg: Sequence[float] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0),
                iterations: Sequence[int] = (100, 200, 300, 400, 500), base_lr: float = 5.0,
                base_l2_reg: float = 1e-3, base_iterations: int = 200, init: Init = None, blur_every: int | None = 10,
                blur_sigma: float = 0.5, max_jitter: int = 16, seed: int = 0, size: int = 224,
                progress: Progress | None = None) -> dict[str, Sweep]:
    """The TP's Figures 5–7 in one batch: each knob varied alone around a base setting.

    Returns {"lr": lr varied at (base_l2_reg, base_iterations), "l2_reg": L2 varied at (base_lr,
    base_iterations), "iterations": iterations varied at (base_lr, base_l2_reg)}, each a one-axis ``Sweep``.
    Settings the three lines share are computed once, and each image stops at the iterations it needs
    (the base setting runs on to the largest count, seen at each): with the TP's values, 9 images instead
    of 15 runs. Each image is what ``class_visualization`` gives for its setting alone, up to float rounding
    (batches of different sizes use different kernels, and the chaotic ascent amplifies the difference).
    """
    lrs, l2s, its = _values(lr, "lr", float), _values(l2_reg, "l2_reg", float), _values(iterations, "iterations", int)
    knobs: dict[str, Any] = {"blur_every": blur_every, "blur_sigma": blur_sigma, "max_jitter": max_jitter, "seed": seed}
    _check_knobs(lr=[*lrs, base_lr], l2_reg=[*l2s, base_l2_reg], iterations=[*its, base_iterations], size=size,
                 **knobs)
    label, start = _start(model, target, init, seed=seed, size=size)
    lines = {"lr": ([((v, base_l2_reg), base_iterations) for v in lrs], (lrs, [base_l2_reg], [base_iterations])),
             "l2_reg": ([((base_lr, v), base_iterations) for v in l2s], ([base_lr], l2s, [base_iterations])),
             "iterations": ([((base_lr, base_l2_reg), k) for k in its], ([base_lr], [base_l2_reg], its))}
    stop: dict[tuple[float, float], int] = {}  # each distinct setting runs to the largest count a line needs
    for setting, k in (pair for line, _ in lines.values() for pair in line):
        stop[setting] = max(stop.get(setting, 0), k)
    settings, counts = list(stop), sorted({k for line, _ in lines.values() for _, k in line})
    steps = max(stop.values())
    with frozen_eval(model):
        shots = _grow(model, start, label, settings, iterations=steps, snapshots=counts,
                      stop=torch.tensor(list(stop.values()), device=start.device), knobs=knobs,
                      callback=None if progress is None else lambda i, _: progress(i, steps))
        return {name: _result(model, torch.stack([shots[counts.index(k)][settings.index(setting)]
                                                  for setting, k in line]), label, *values,
                              batch_size=len(settings), params=_params(init, knobs))
                for name, (line, values) in lines.items()}


def _start(model: nn.Module, target: int | str, init: Init, *, seed: int, size: int) -> tuple[int, torch.Tensor]:
    """The class index and the one start image (1, 3, size, size) of a sweep, on the model's device."""
    device = model_device(model) or torch.device("cpu")
    label = int(as_labels(target, 1, device=device, name="target")[0])
    start = start_image(init, seed=seed, size=size, device=device)
    check_device(model, start, name="init")
    if start.shape[0] != 1:
        raise InputError(f"a sweep starts from one image (1, 3, H, W), got init of shape {tuple(start.shape)}")
    return label, start


def _grow(model: nn.Module, start: torch.Tensor, label: int, settings: list[tuple[float, float]], *, iterations: int,
          snapshots: Sequence[int], knobs: dict, callback: Callable[[int, torch.Tensor], None] | None,
          stop: torch.Tensor | None = None) -> list[torch.Tensor]:
    """One batch: the (lr, l2_reg) ``settings`` grown from ``start``; the images (S, 3, H, W) at each snapshot."""
    n = len(settings)
    _, shots = _ascend(model, start.expand(n, *start.shape[1:]),
                       torch.full((n,), label, dtype=torch.long, device=start.device),
                       lr=torch.tensor([s[0] for s in settings], device=start.device, dtype=start.dtype),
                       l2_reg=torch.tensor([s[1] for s in settings], device=start.device, dtype=start.dtype),
                       iterations=iterations, snapshots=snapshots, stop=stop, callback=callback, **knobs)
    return shots


def _result(model: nn.Module, images: torch.Tensor, label: int, lrs: list[float], l2s: list[float], its: list[int],
            *, batch_size: int, params: dict[str, object]) -> Sweep:
    """A Sweep from its images in grid order (lr, l2_reg, iterations), evaluated ``batch_size`` at a time."""
    grid = (len(lrs), len(l2s), len(its))
    flat = images.reshape(-1, *images.shape[-3:])
    labels = torch.full((flat.shape[0],), label, dtype=torch.long, device=flat.device)
    parts = [_evaluate(model, flat[i:i + batch_size], labels[i:i + batch_size])
             for i in range(0, flat.shape[0], batch_size)]
    sc, tp, pred, prob = (torch.cat([p[k] for p in parts]).view(grid) for k in range(4))
    return Sweep(lr=lrs, l2_reg=l2s, iterations=its, images=flat.view(*grid, *flat.shape[1:]), score=sc,
                 target_probability=tp, predicted=pred, probability=prob, target=label, params=params)


def _params(init: Init, knobs: dict) -> dict[str, object]:
    return {**knobs, "init": "noise" if init is None else "image"}


def _values(value: float | Sequence[float], name: str, kind: type) -> list:
    values = [value] if isinstance(value, (int, float)) else list(value)
    if not values:
        raise InputError(f"{name} has no values: give one value or a non-empty list")
    if kind is int and any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
        raise InputError(f"{name} must be ints, got {values}")
    if kind is float and any(isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer))
                             for v in values):
        raise InputError(f"{name} must be numbers, got {values}")
    out = [kind(v) for v in values]
    if len(set(out)) != len(out):
        raise InputError(f"{name} has repeated values: {out}")
    return out


def _position(values: list[float], value: float) -> int:
    for i, v in enumerate(values):
        if abs(v - value) <= 1e-9 * max(1.0, abs(v)):
            return i
    raise ValueError(value)
