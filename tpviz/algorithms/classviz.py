"""Section 3: class visualization: gradient ascent on the image to maximise a class score."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..errors import InputError
from .gradients import forward, input_gradient, score
from ..imagenet.images import fit_image, pixel_bounds, preprocess
from .inputs import Labels, broadcast_labels, check_device, check_images, check_positive, model_device
from .scope import frozen_eval
from .transforms import gaussian_blur, jitter

Init = torch.Tensor | np.ndarray | Image.Image | None
Callback = Callable[[int, torch.Tensor], None]


@dataclass(frozen=True)
class ClassVisualization:
    """Images grown to maximise a class score.

    Attributes:
        images: the final model inputs (N, 3, H, W).
        target: the class each image maximises (N,).
        score: the target's unnormalised score on ``images`` (N,).
        target_probability: its softmax probability (N,).
        predicted, probability: the model's top class on ``images`` and its probability (N,).
        snapshots: iteration count -> the images (N, 3, H, W) after that many iterations.
        params: the knobs used, for captions.
    """

    images: torch.Tensor
    target: torch.Tensor
    score: torch.Tensor
    target_probability: torch.Tensor
    predicted: torch.Tensor
    probability: torch.Tensor
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)


def class_visualization(model: nn.Module, target: Labels, *, init: Init = None, lr: float = 5.0,
                        l2_reg: float = 1e-3, iterations: int = 200, blur_every: int | None = 10,
                        blur_sigma: float = 0.5, max_jitter: int = 16, seed: int = 0, size: int = 224,
                        snapshots: Sequence[int] = (), callback: Callback | None = None) -> ClassVisualization:
    """Grow images that maximise ``score_target(img) - l2_reg * ||img||²`` by normalised gradient ascent.

    Each iteration: roll the image by a random offset in [0, max_jitter] (both axes), step by
    ``lr * g / ||g||`` (g the objective's gradient, per image), roll back, clamp to the valid pixel range,
    and every ``blur_every`` iterations (None: never) blur with a Gaussian of ``blur_sigma`` pixels.

    Args:
        model: a classifier returning scores (N, K); left exactly as it was found.
        target: one class (index or name), or one per image: N images are grown at once.
        init: None to start from Gaussian noise (one draw from ``seed``, shared by all images), or a
            start image: model inputs (1 or N, 3, size, size), uint8 pixels (size, size, 3), or a PIL image
            (converted to RGB, resized and centre-cropped).
        lr, l2_reg, iterations: step length (model-input units), L2 weight, number of steps.
        seed: makes the noise and the jitter repeatable.
        snapshots: iteration counts at which to keep a copy of the images.
        callback: called as ``callback(iteration, images)`` after each iteration (e.g. a progress bar).

    Returns a ``ClassVisualization``. Reference: Simonyan et al., ICLR Workshop 2014; Yosinski et al., 2015.
    """
    _check_knobs(lr=[lr], l2_reg=[l2_reg], iterations=[iterations], blur_every=blur_every,
                 blur_sigma=blur_sigma, max_jitter=max_jitter, seed=seed, size=size)
    device = model_device(model) or torch.device("cpu")
    start = start_image(init, seed=seed, size=size, device=device)
    check_device(model, start, name="init")
    start, labels = broadcast_labels(start, target, name="target")
    n = start.shape[0]
    keep = sorted({int(i) for i in snapshots})
    if any(not 0 <= i <= iterations for i in keep):
        raise InputError(f"snapshots must be iteration counts between 0 and iterations={iterations}, got {keep}")
    with frozen_eval(model):
        images, shots = _ascend(model, start, labels, lr=torch.full((n,), float(lr), device=device),
                                l2_reg=torch.full((n,), float(l2_reg), device=device), iterations=iterations,
                                blur_every=blur_every, blur_sigma=blur_sigma, max_jitter=max_jitter, seed=seed,
                                snapshots=keep, callback=callback)
        sc, tp, pred, prob = _evaluate(model, images, labels)
    return ClassVisualization(images=images, target=labels, score=sc, target_probability=tp, predicted=pred,
                              probability=prob, snapshots=dict(zip(keep, shots)),
                              params={"lr": lr, "l2_reg": l2_reg, "iterations": iterations, "blur_every": blur_every,
                                      "blur_sigma": blur_sigma, "max_jitter": max_jitter, "seed": seed,
                                      "init": "noise" if init is None else "image"})


def start_image(init: Init, *, seed: int = 0, size: int = 224, device: torch.device | str | None = None) -> torch.Tensor:
    """The start of a class visualization as model inputs (1 or N, 3, size, size).

    None: standard Gaussian noise drawn with ``seed`` (CS231n's start). A tensor must already be model
    inputs of that size; uint8 pixels (size, size, 3) are normalised; a PIL image is converted to RGB,
    resized and centre-cropped to ``size``.
    """
    if init is None:
        gen = torch.Generator().manual_seed(seed)
        return torch.randn((1, 3, size, size), generator=gen).to(device)
    if isinstance(init, Image.Image):
        return preprocess(fit_image(init, size=size, resize=None), device=device)
    if isinstance(init, np.ndarray):
        if init.dtype != np.uint8 or init.ndim not in (3, 4) or init.shape[-1] != 3:
            raise InputError(f"init as an array must be uint8 RGB pixels (H, W, 3), got dtype {init.dtype} and shape "
                             f"{init.shape}; for a photo file use init=tpviz.load_image(path)")
        x = preprocess(init, device=device)
    else:
        if isinstance(init, torch.Tensor) and init.ndim == 4 and init.shape[1] in (1, 4):
            raise InputError(f"init has {init.shape[1]} channel(s), shape {tuple(init.shape)}: class visualization "
                             "needs RGB; load photos with tpviz.load_image(path), which converts any mode to RGB")
        x = check_images(init, name="init").detach()
    if tuple(x.shape[2:]) != (size, size):
        raise InputError(f"init is {x.shape[2]}x{x.shape[3]} pixels but size={size}: load it with "
                         f"tpviz.load_image(path, size={size}), which resizes and centre-crops, or pass size=")
    return x


def _ascend(model: nn.Module, start: torch.Tensor, labels: torch.Tensor, *, lr: torch.Tensor, l2_reg: torch.Tensor,
            iterations: int, blur_every: int | None, blur_sigma: float, max_jitter: int, seed: int,
            snapshots: Sequence[int], callback: Callback | None, stop: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The loop: N images (N, 3, H, W), each with its own ``lr`` (N,) and ``l2_reg`` (N,). Inside frozen_eval.

    ``stop`` (N,) optionally ends each image after its own number of iterations (<= ``iterations``); the
    images still running are computed as one smaller batch. Returns the final images and the copies at each
    iteration count of ``snapshots`` (in that order; an image that stopped earlier keeps its last state).
    """
    rng = random.Random(seed)
    img = start.detach().clone()
    kept: dict[int, torch.Tensor] = {}
    if 0 in snapshots:
        kept[0] = img.clone()
    lo, hi = pixel_bounds(img)
    for t in range(iterations):
        dx, dy = rng.randint(0, max_jitter), rng.randint(0, max_jitter)
        run = None if stop is None or bool((stop > t).all()) else (stop > t).nonzero()[:, 0]
        cur, y, step_len, l2 = (img, labels, lr, l2_reg) if run is None else \
            (img[run], labels[run], lr[run], l2_reg[run])
        moved = jitter(cur, dx, dy)
        grad, _ = input_gradient(model, moved, y)
        grad.addcmul_(moved, l2.view(-1, 1, 1, 1), value=-2)  # + d/dx of -l2·||x||², exact
        norm = grad.flatten(1).norm(dim=1).clamp_min_(1e-12).view(-1, 1, 1, 1)
        new = jitter(moved + grad.mul_(step_len.view(-1, 1, 1, 1) / norm), -dx, -dy).clamp_(lo, hi)  # clamp_pixels
        if blur_every is not None and t % blur_every == 0:
            new = gaussian_blur(new, blur_sigma)
        if run is None:
            img = new
        else:
            img[run] = new
        if t + 1 in snapshots:
            kept[t + 1] = img.clone()
        if callback is not None:
            callback(t + 1, img)
    return img, [kept[i] for i in snapshots]


def _evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(target score, target probability, top class, top probability), each (N,)."""
    with torch.no_grad():
        logits = forward(model, images)
    probs = F.softmax(logits, dim=1)
    prob, pred = probs.max(dim=1)
    return score(logits, labels), score(probs, labels), pred, prob


def _check_knobs(*, lr: Sequence[float], l2_reg: Sequence[float], iterations: Sequence[int],
                 blur_every: int | None, blur_sigma: float, max_jitter: int, seed: int, size: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be an int, got {seed!r}")
    for v in lr:
        check_positive(v, "lr")
    for v in iterations:
        check_positive(v, "iterations", integer=True)
    for v in l2_reg:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise InputError(f"l2_reg must be a number >= 0 (0 turns the L2 penalty off), got {v!r}")
    if blur_every is not None:
        if isinstance(blur_every, bool) or not isinstance(blur_every, int) or blur_every <= 0:
            raise InputError(f"blur_every must be a positive int (blur every that many iterations), or None "
                             f"for no blur; got {blur_every!r}")
    if isinstance(blur_sigma, bool) or not isinstance(blur_sigma, (int, float)) or not blur_sigma >= 0:
        raise InputError(f"blur_sigma must be >= 0 pixels, got {blur_sigma!r}")
    check_positive(size, "size", integer=True)
    if isinstance(max_jitter, bool) or not isinstance(max_jitter, int) or max_jitter < 0:
        raise InputError(f"max_jitter must be an int >= 0 (pixels), got {max_jitter!r}")
    if max_jitter >= size:
        raise InputError(f"max_jitter={max_jitter} is not smaller than the image ({size}x{size} pixels): "
                         f"use at most {size - 1} (the TP uses 16)")
