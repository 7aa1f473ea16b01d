"""Section 3's sweeps: many class-visualization settings computed as one batch, iteration counts as snapshots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import torch
from torch import nn

from ._classviz import Init, _ascend, _check_knobs, _evaluate, start_image
from ._errors import InputError
from ._inputs import as_labels, check_device, check_positive, model_device
from ._scope import frozen_eval

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
    _check_knobs(lr=lrs, l2_reg=l2s, iterations=its, blur_every=blur_every, blur_sigma=blur_sigma,
                 max_jitter=max_jitter, size=size)
    check_positive(batch_size, "batch_size", integer=True)
    device = model_device(model) or torch.device("cpu")
    label = int(as_labels(target, 1, device=device, name="target")[0])
    start = _one_start(model, init, seed=seed, size=size, device=device)
    settings = list(product(lrs, l2s))
    steps, chunks = max(its), range(0, len(settings), batch_size)
    total = steps * len(chunks)
    shots_by_chunk, evals = [], []
    with frozen_eval(model):
        for c, first in enumerate(chunks):
            part = settings[first:first + batch_size]
            m = len(part)
            labels = torch.full((m,), label, dtype=torch.long, device=device)

            def tick(i: int, _: torch.Tensor, c: int = c) -> None:
                if progress is not None:
                    progress(c * steps + i, total)

            _, shots = _ascend(model, start.expand(m, *start.shape[1:]), labels,
                               lr=torch.tensor([s[0] for s in part], device=device, dtype=start.dtype),
                               l2_reg=torch.tensor([s[1] for s in part], device=device, dtype=start.dtype),
                               iterations=steps, blur_every=blur_every, blur_sigma=blur_sigma,
                               max_jitter=max_jitter, seed=seed, snapshots=its, callback=tick)
            stacked = torch.stack(shots, dim=1)  # (m, I, 3, H, W)
            shots_by_chunk.append(stacked)
            evals.append(_evaluate(model, stacked.flatten(0, 1), labels.repeat_interleave(len(its))))
    images = torch.cat(shots_by_chunk).view(len(lrs), len(l2s), len(its), *start.shape[1:])
    grid = (len(lrs), len(l2s), len(its))
    sc, tp, pred, prob = (torch.cat([e[k] for e in evals]).view(grid) for k in range(4))
    return Sweep(lr=lrs, l2_reg=l2s, iterations=its, images=images, score=sc, target_probability=tp, predicted=pred,
                 probability=prob, target=label,
                 params={"blur_every": blur_every, "blur_sigma": blur_sigma, "max_jitter": max_jitter, "seed": seed,
                         "init": "noise" if init is None else "image"})


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
    _check_knobs(lr=[*lrs, base_lr], l2_reg=[*l2s, base_l2_reg], iterations=[*its, base_iterations],
                 blur_every=blur_every, blur_sigma=blur_sigma, max_jitter=max_jitter, size=size)
    device = model_device(model) or torch.device("cpu")
    label = int(as_labels(target, 1, device=device, name="target")[0])
    start = _one_start(model, init, seed=seed, size=size, device=device)
    lines = {"lr": [((v, base_l2_reg), base_iterations) for v in lrs],
             "l2_reg": [((base_lr, v), base_iterations) for v in l2s],
             "iterations": [((base_lr, base_l2_reg), k) for k in its]}
    stop: dict[tuple[float, float], int] = {}
    for setting, k in (pair for line in lines.values() for pair in line):
        stop[setting] = max(stop.get(setting, 0), k)
    settings = list(stop)
    row = {setting: i for i, setting in enumerate(settings)}
    counts = sorted({k for line in lines.values() for _, k in line})
    n, steps = len(settings), max(stop.values())
    labels = torch.full((n,), label, dtype=torch.long, device=device)
    with frozen_eval(model):
        _, shots = _ascend(model, start.expand(n, *start.shape[1:]), labels,
                           lr=torch.tensor([s[0] for s in settings], device=device, dtype=start.dtype),
                           l2_reg=torch.tensor([s[1] for s in settings], device=device, dtype=start.dtype),
                           iterations=steps, blur_every=blur_every, blur_sigma=blur_sigma, max_jitter=max_jitter,
                           seed=seed, snapshots=counts, stop=torch.tensor([stop[s] for s in settings], device=device),
                           callback=None if progress is None else lambda i, _: progress(i, steps))
        picked = {name: torch.stack([shots[counts.index(k)][row[setting]] for setting, k in line])
                  for name, line in lines.items()}
        evals = {name: _evaluate(model, images, labels[:1].expand(images.shape[0])) for name, images in picked.items()}
    shape = {"lr": (len(lrs), 1, 1), "l2_reg": (1, len(l2s), 1), "iterations": (1, 1, len(its))}
    axes = {"lr": (lrs, [base_l2_reg], [base_iterations]), "l2_reg": ([base_lr], l2s, [base_iterations]),
            "iterations": ([base_lr], [base_l2_reg], its)}
    params: dict[str, object] = {"blur_every": blur_every, "blur_sigma": blur_sigma, "max_jitter": max_jitter, "seed": seed,
              "init": "noise" if init is None else "image"}
    return {name: Sweep(lr=axes[name][0], l2_reg=axes[name][1], iterations=axes[name][2],
                        images=picked[name].view(*shape[name], *start.shape[1:]),
                        score=evals[name][0].view(shape[name]), target_probability=evals[name][1].view(shape[name]),
                        predicted=evals[name][2].view(shape[name]), probability=evals[name][3].view(shape[name]),
                        target=label, params=params)
            for name in lines}


def _one_start(model: nn.Module, init: Init, *, seed: int, size: int, device: torch.device) -> torch.Tensor:
    start = start_image(init, seed=seed, size=size, device=device)
    check_device(model, start, name="init")
    if start.shape[0] != 1:
        raise InputError(f"a sweep starts from one image (1, 3, H, W), got init of shape {tuple(start.shape)}")
    return start


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
