"""Section 3's sweeps: many class-visualization settings computed as one batch, iteration counts as snapshots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product

import torch
from torch import nn

from .. import validate
from ..course import TP
from ..errors import InputError
from .ascent import AscentSettings, ascend, check_iterations, check_l2_reg, check_lr, evaluate
from .classviz import Init, start_image
from .inputs import as_labels, check_device, model_device
from .progress import Progress, check_progress, reporting
from .scope import frozen_eval


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
            return (grid_position(self.lr, lr), grid_position(self.l2_reg, l2_reg),
                    self.iterations.index(int(iterations)))
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


def sweep(model: nn.Module, target: int | str, *, lr: float | Sequence[float] = TP.lr,
          l2_reg: float | Sequence[float] = TP.l2_reg, iterations: int | Sequence[int] = TP.iterations,
          init: Init = None, blur_every: int | None = 10, blur_sigma: float = 0.5, max_jitter: int = 16,
          seed: int = TP.seed, size: int = 224, clamp: bool = True, batch_size: int = 32,
          progress: Progress = False) -> Sweep:
    """Class visualizations of one class over the grid ``lr`` x ``l2_reg`` x ``iterations``, computed as batches.

    Every (lr, l2_reg) pair is one sample of a batch (``batch_size`` at most at a time) with its own step
    length and L2 weight; all start from the same image and share the jitter sequence of ``seed``, so each
    sample is what ``class_visualization`` gives for that setting alone (equal up to float rounding, which
    the chaotic ascent amplifies over many iterations). The iteration counts are snapshots of one run to the
    largest. ``progress``: True for a bar, or ``progress(done, total)`` after each iteration of each batch.
    """
    lrs, l2s, its = grid_values(lr, l2_reg, iterations)
    settings = AscentSettings(lr=lrs[0], l2_reg=l2s[0], iterations=max(its), blur_every=blur_every,
                              blur_sigma=blur_sigma, max_jitter=max_jitter, seed=seed, size=size, clamp=clamp)
    return sweep_grid(model, target, settings, lrs=lrs, l2s=l2s, iterations=its, init=init,
                      batch_size=batch_size, progress=progress)


def sweep_grid(model: nn.Module, target: int | str, settings: AscentSettings, *, lrs: list[float],
               l2s: list[float], iterations: list[int], init: Init = None, batch_size: int = 32,
               progress: Progress = False, on_step: Callable[[int, torch.Tensor], None] | None = None) -> Sweep:
    """``sweep`` with checked grid values (``grid_values``) and the other knobs as one ``AscentSettings``
    (its lr, l2_reg and iterations are ignored: the grid's are used). ``on_step(t, images)`` is called after
    each iteration t of each batch, with the batch's images so far (B, 3, H, W), in ``product(lrs, l2s)`` order."""
    batch_size = validate.count(batch_size, "batch_size")
    check_progress(progress)
    label, start = _start(model, target, init, settings)
    pairs = list(product(lrs, l2s))
    steps, chunks = max(iterations), range(0, len(pairs), batch_size)
    run = settings.but(iterations=steps)
    shots = []
    with frozen_eval(model), reporting(progress, steps * len(chunks), desc="sweep") as update:
        for c, first in enumerate(chunks):
            def step(i: int, images: torch.Tensor, c: int = c) -> None:
                update(c * steps + i)
                if on_step is not None:
                    on_step(i, images)

            part = _grow(model, start, label, pairs[first:first + batch_size], run, snapshots=iterations, on_step=step)
            shots.append(torch.stack(part, dim=1))  # (batch, I, 3, H, W)
        return _result(model, torch.cat(shots), label, lrs, l2s, iterations, batch_size=batch_size,
                       params=_shared_knobs(init, settings))


def axis_sweeps(model: nn.Module, target: int | str, *, lr: Sequence[float] = TP.lrs,
                l2_reg: Sequence[float] = TP.l2s, iterations: Sequence[int] = TP.iteration_counts,
                base_lr: float = TP.lr, base_l2_reg: float = TP.l2_reg, base_iterations: int = TP.iterations,
                init: Init = None, blur_every: int | None = 10, blur_sigma: float = 0.5, max_jitter: int = 16,
                seed: int = TP.seed, size: int = 224, clamp: bool = True, progress: Progress = False) -> dict[str, Sweep]:
    """The TP's Figures 5–7 in one batch: each knob varied alone around a base setting.

    Returns {"lr": lr varied at (base_l2_reg, base_iterations), "l2_reg": L2 varied at (base_lr,
    base_iterations), "iterations": iterations varied at (base_lr, base_l2_reg)}, each a one-axis ``Sweep``.
    Settings the three lines share are computed once, and each image stops at the iterations it needs
    (the base setting runs on to the largest count, seen at each): with the TP's values, 9 images instead
    of 15 runs. Each image is what ``class_visualization`` gives for its setting alone, up to float rounding
    (batches of different sizes use different kernels, and the chaotic ascent amplifies the difference).
    """
    lrs, l2s, its = grid_values(lr, l2_reg, iterations)
    base = AscentSettings(lr=base_lr, l2_reg=base_l2_reg, iterations=base_iterations, blur_every=blur_every,
                          blur_sigma=blur_sigma, max_jitter=max_jitter, seed=seed, size=size, clamp=clamp)
    check_progress(progress)
    label, start = _start(model, target, init, base)
    lines = {"lr": ([((v, base.l2_reg), base.iterations) for v in lrs], (lrs, [base.l2_reg], [base.iterations])),
             "l2_reg": ([((base.lr, v), base.iterations) for v in l2s], ([base.lr], l2s, [base.iterations])),
             "iterations": ([((base.lr, base.l2_reg), k) for k in its], ([base.lr], [base.l2_reg], its))}
    stop: dict[tuple[float, float], int] = {}  # each distinct setting runs to the largest count a line needs
    for setting, k in (pair for line, _ in lines.values() for pair in line):
        stop[setting] = max(stop.get(setting, 0), k)
    pairs, counts = list(stop), sorted({k for line, _ in lines.values() for _, k in line})
    run = base.but(iterations=max(stop.values()))
    with frozen_eval(model), reporting(progress, run.iterations, desc="axis sweeps") as update:
        shots = _grow(model, start, label, pairs, run, snapshots=counts,
                      stop=torch.tensor(list(stop.values()), device=start.device), on_step=lambda i, _: update(i))
        return {name: _result(model, torch.stack([shots[counts.index(k)][pairs.index(pair)] for pair, k in line]),
                              label, *values, batch_size=len(pairs), params=_shared_knobs(init, base))
                for name, (line, values) in lines.items()}


def grid_values(lr: object, l2_reg: object, iterations: object) -> tuple[list[float], list[float], list[int]]:
    """Each knob's grid values (one number or a list of distinct ones), checked as ``AscentSettings`` checks them."""
    return ([check_lr(v) for v in validate.values(lr, "lr")],
            [check_l2_reg(v) for v in validate.values(l2_reg, "l2_reg")],
            [check_iterations(v) for v in validate.values(iterations, "iterations", integer=True)])


def grid_position(values: list[float], value: float) -> int:
    """The index of ``value`` in ``values``, floats compared to 1e-9 relative; ValueError when absent."""
    for i, v in enumerate(values):
        if abs(v - value) <= 1e-9 * max(1.0, abs(v)):
            return i
    raise ValueError(value)


def _start(model: nn.Module, target: int | str, init: Init, settings: AscentSettings) -> tuple[int, torch.Tensor]:
    """The class index and the one start image (1, 3, size, size) of a sweep, on the model's device."""
    device = model_device(model) or torch.device("cpu")
    label = int(as_labels(target, 1, device=device, name="target")[0])
    start = start_image(init, seed=settings.seed, size=settings.size, device=device)
    check_device(model, start, name="init")
    if start.shape[0] != 1:
        raise InputError(f"a sweep starts from one image (1, 3, H, W), got init of shape {tuple(start.shape)}")
    return label, start


def _grow(model: nn.Module, start: torch.Tensor, label: int, pairs: list[tuple[float, float]],
          settings: AscentSettings, *, snapshots: Sequence[int], on_step: Callable[[int, torch.Tensor], None],
          stop: torch.Tensor | None = None) -> list[torch.Tensor]:
    """One batch: the (lr, l2_reg) ``pairs`` grown from ``start``; the images (S, 3, H, W) at each snapshot."""
    n = len(pairs)
    _, shots = ascend(model, start.expand(n, *start.shape[1:]),
                      torch.full((n,), label, dtype=torch.long, device=start.device), settings,
                      lr=torch.tensor([p[0] for p in pairs], device=start.device, dtype=start.dtype),
                      l2_reg=torch.tensor([p[1] for p in pairs], device=start.device, dtype=start.dtype),
                      snapshots=snapshots, stop=stop, on_step=on_step)
    return shots


def _result(model: nn.Module, images: torch.Tensor, label: int, lrs: list[float], l2s: list[float], its: list[int],
            *, batch_size: int, params: dict[str, object]) -> Sweep:
    """A Sweep from its images in grid order (lr, l2_reg, iterations), evaluated ``batch_size`` at a time."""
    grid = (len(lrs), len(l2s), len(its))
    flat = images.reshape(-1, *images.shape[-3:])
    labels = torch.full((flat.shape[0],), label, dtype=torch.long, device=flat.device)
    parts = [evaluate(model, flat[i:i + batch_size], labels[i:i + batch_size])
             for i in range(0, flat.shape[0], batch_size)]
    sc, tp, pred, prob = (torch.cat([p[k] for p in parts]).view(grid) for k in range(4))
    return Sweep(lr=lrs, l2_reg=l2s, iterations=its, images=flat.view(*grid, *flat.shape[1:]), score=sc,
                 target_probability=tp, predicted=pred, probability=prob, target=label, params=params)


def _shared_knobs(init: Init, settings: AscentSettings) -> dict[str, object]:
    """The knobs every setting of a sweep shares, for captions (its own lr, L2 and iterations are the grid's)."""
    knobs = {k: v for k, v in settings.knobs().items() if k not in ("lr", "l2_reg", "iterations", "size")}
    return {**knobs, "init": "noise" if init is None else "image"}
