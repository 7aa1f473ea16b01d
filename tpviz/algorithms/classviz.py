"""Section 3: class visualization: gradient ascent on the image to maximise a class score."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch import nn

from .. import validate
from ..course import TP
from ..errors import InputError
from ..imagenet.images import fit_image, preprocess
from .ascent import AscentSettings, ascend, check_snapshots, evaluate
from .inputs import Labels, broadcast_labels, check_device, check_images, model_device
from .measure import pixel_distances
from .progress import Progress, check_progress, reporting
from .scope import frozen_eval

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
        linf, l2, psnr: (N,) how far each image moved from its start, in 0-255 pixel levels (max |.|,
            Euclidean norm, PSNR in dB), as for adversarial examples.
        snapshots: iteration count -> the images (N, 3, H, W) after that many iterations.
        params: the knobs used, for captions.
    """

    images: torch.Tensor
    target: torch.Tensor
    score: torch.Tensor
    target_probability: torch.Tensor
    predicted: torch.Tensor
    probability: torch.Tensor
    linf: torch.Tensor
    l2: torch.Tensor
    psnr: torch.Tensor
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)


def class_visualization(model: nn.Module, target: Labels, *, init: Init = None, lr: float = TP.lr,
                        l2_reg: float = TP.l2_reg, iterations: int = TP.iterations, blur_every: int | None = 10,
                        blur_sigma: float = 0.5, max_jitter: int = 16, seed: int = TP.seed, size: int = 224,
                        clamp: bool = True, snapshots: Sequence[int] = (), callback: Callback | None = None,
                        progress: Progress = False) -> ClassVisualization:
    """Grow images that maximise ``score_target(img) - l2_reg * ||img||²`` by normalised gradient ascent.

    Each iteration: roll the image by a random offset of 0..max_jitter pixels right and down, step by
    ``lr * g / ||g||`` (g the objective's gradient, per image), roll back, clamp to the valid pixel range
    (unless ``clamp=False``), and every ``blur_every`` iterations (None: never) blur with a Gaussian of
    ``blur_sigma`` pixels.

    Args:
        model: a classifier returning scores (N, K); left exactly as it was found.
        target: one class (index or name), or one per image: N images are grown at once.
        init: None to start from Gaussian noise (one draw from ``seed``, shared by all images), or a
            start image: model inputs (1 or N, 3, size, size), uint8 pixels (size, size, 3), or a PIL image
            (converted to RGB, resized and centre-cropped).
        lr, l2_reg, iterations: step length (model-input units), L2 weight, number of steps (the TP's
            setting by default: ``tpviz.course.TP``).
        seed: makes the noise and the jitter repeatable.
        snapshots: iteration counts at which to keep a copy of the images.
        callback: called as ``callback(iteration, images)`` after each iteration.
        progress: True for a progress bar, or a function ``progress(done, total)``.

    Returns a ``ClassVisualization``. Reference: Simonyan et al., ICLR Workshop 2014; Yosinski et al., 2015
    (blur and L2); jitter comes from Mordvintsev et al.'s DeepDream, 2015.
    """
    settings = AscentSettings(lr=lr, l2_reg=l2_reg, iterations=iterations, blur_every=blur_every,
                              blur_sigma=blur_sigma, max_jitter=max_jitter, seed=seed, size=size, clamp=clamp)
    return visualize(model, target, settings, init=init, snapshots=snapshots, callback=callback, progress=progress)


def visualize(model: nn.Module, target: Labels, settings: AscentSettings, *, init: Init = None,
              snapshots: Sequence[int] = (), callback: Callback | None = None,
              progress: Progress = False) -> ClassVisualization:
    """``class_visualization`` with its knobs as one ``AscentSettings``."""
    if callback is not None and not callable(callback):
        raise InputError(f"callback must be a function callback(iteration, images), got {type(callback).__name__}")
    check_progress(progress)
    s = settings
    device = model_device(model) or torch.device("cpu")
    start = start_image(init, seed=s.seed, size=s.size, device=device)
    check_device(model, start, name="init")
    start, labels = broadcast_labels(start, target, name="target")
    n = start.shape[0]
    keep = check_snapshots(snapshots, s.iterations)
    with frozen_eval(model), reporting(progress, s.iterations, desc="class visualization") as update:

        def on_step(t: int, images: torch.Tensor) -> None:
            update(t)
            if callback is not None:
                callback(t, images)

        images, shots = ascend(model, start, labels, s, lr=torch.full((n,), s.lr, device=device),
                               l2_reg=torch.full((n,), s.l2_reg, device=device), snapshots=keep, on_step=on_step)
        sc, tp, pred, prob = evaluate(model, images, labels)
    linf, l2, psnr = pixel_distances(images, start)
    return ClassVisualization(images=images, target=labels, score=sc, target_probability=tp, predicted=pred,
                              probability=prob, linf=linf, l2=l2, psnr=psnr, snapshots=dict(zip(keep, shots)),
                              params={**s.knobs(), "init": "noise" if init is None else "image"})


def start_image(init: Init, *, seed: int = TP.seed, size: int = 224, device: torch.device | str | None = None) -> torch.Tensor:
    """The start of a class visualization as model inputs (1 or N, 3, size, size).

    None: standard Gaussian noise drawn with ``seed`` (CS231n's start). A tensor must already be model
    inputs of that size; uint8 pixels (size, size, 3) are normalised; a PIL image is converted to RGB,
    resized and centre-cropped to ``size``.
    """
    seed, size = validate.seed(seed), validate.count(size, "size", low=8, high=4096)
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
