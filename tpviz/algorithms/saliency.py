"""Section 1: which pixels drive a class score: saliency maps, SmoothGrad, integrated gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from .. import validate
from ..errors import InputError
from . import layout
from .gradients import finite_result, forward, input_gradient, score
from .head import only_classes
from .inputs import Labels, as_labels, check_device, check_images
from .progress import Progress, reporting
from .scope import frozen_eval


def _prepare(model: nn.Module, x: torch.Tensor, y: Labels) -> tuple[torch.Tensor, torch.Tensor]:
    x = check_images(x)
    check_device(model, x)
    return x, as_labels(y, x.shape[0], device=x.device)


def saliency_maps(model: nn.Module, x: torch.Tensor, y: Labels) -> torch.Tensor:
    """Saliency maps (N, H, W): max over colour channels of |d score_y / d x|.

    Args:
        model: a classifier returning scores (N, K); left exactly as it was found.
        x: model inputs (N, 3, H, W), e.g. from ``tpviz.preprocess``; not modified.
        y: the class of each image: LongTensor (N,), a list of indices or names, or one int/name for all.

    Reference: Simonyan et al., "Deep Inside Convolutional Networks", ICLR Workshop 2014.
    """
    x, labels = _prepare(model, x, y)
    with frozen_eval(model):
        grad, logits = input_gradient(layout.runner(model), x, labels)  # fastest layout; model unchanged
    finite_result(logits, "model's scores")
    return finite_result(grad.abs().amax(dim=1), "saliency maps")


def _gradients_of_copies(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, copies: int, batch_size: int,
                         make: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], progress: Progress = False,
                         desc: str = "") -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """For ``copies`` variants of each image, in batches of ``batch_size`` across images: yield
    (image index (B,), input gradient (B, 3, H, W)) of each image's own class score.

    ``make(image_index, copy_index)`` builds the (B, 3, H, W) variants; call inside ``frozen_eval``.
    """
    total = x.shape[0] * copies
    fast, index = only_classes(layout.runner(model), labels)  # fastest layout, only the labels' scores
    with reporting(progress, total, desc=desc) as update:
        for start in range(0, total, batch_size):
            flat = torch.arange(start, min(start + batch_size, total), device=x.device)
            image, copy = flat // copies, flat % copies
            grad, _ = input_gradient(fast, make(image, copy), index[image])
            yield image, grad
            update(int(flat[-1]) + 1)


def smoothgrad(model: nn.Module, x: torch.Tensor, y: Labels, *, samples: int = 25, noise: float = 0.15,
               seed: int = 0, batch_size: int = 25, progress: Progress = False) -> torch.Tensor:
    """SmoothGrad maps (N, H, W): the saliency map averaged over ``samples`` noisy copies of each image.

    The noise is Gaussian with standard deviation ``noise`` times each image's value range; ``seed``
    makes it repeatable. ``batch_size`` bounds how many noisy images go through the model at once.
    ``progress``: True for a progress bar, or a function ``progress(done, total)`` over the noisy copies.

    Reference: Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017.
    """
    x, labels = _prepare(model, x, y)
    samples, batch_size = validate.count(samples, "samples"), validate.count(batch_size, "batch_size")
    noise = validate.number(noise, "noise", low=0, high=100, hint="(a fraction of the image's value range, e.g. 0.15)")
    gen = torch.Generator(device=x.device).manual_seed(validate.seed(seed))
    sigma = noise * (x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3)))  # (N,)

    def noisy(image: torch.Tensor, copy: torch.Tensor) -> torch.Tensor:
        # one draw per copy, in order, so the noise does not depend on how the work is split
        draws = torch.stack([torch.randn(x.shape[1:], generator=gen, device=x.device, dtype=x.dtype) for _ in image])
        return x[image] + sigma[image].view(-1, 1, 1, 1) * draws

    total = torch.zeros(x.shape[0], *x.shape[2:], dtype=x.dtype, device=x.device)
    with frozen_eval(model):
        for image, grad in _gradients_of_copies(model, x, labels, samples, batch_size, noisy, progress, "SmoothGrad"):
            total.index_add_(0, image, grad.abs().amax(dim=1))
    return finite_result(total / samples, "SmoothGrad maps")


def integrated_gradients(model: nn.Module, x: torch.Tensor, y: Labels, *, baseline: torch.Tensor | None = None,
                         steps: int = 32, batch_size: int = 32, progress: Progress = False) -> torch.Tensor:
    """Integrated gradients (N, 3, H, W): (x - baseline) times the mean gradient along the straight path.

    Signed, per channel; the attributions of an image add up to score_y(x) - score_y(baseline) (up to
    the ``steps``-point midpoint rule). ``baseline`` (N or 1, 3, H, W) defaults to zeros, i.e. the mean
    ImageNet colour for normalised inputs. For a map like ``saliency_maps``, take ``.abs().amax(dim=1)``
    (which drops the sign and breaks the sum); ``.sum(dim=1)`` keeps both. ``ig_completeness`` checks the
    sum. ``progress``: True for a progress bar, or a function ``progress(done, total)`` over the path points.

    Reference: Sundararajan et al., "Axiomatic Attribution for Deep Networks", ICML 2017.
    """
    x, labels = _prepare(model, x, y)
    steps, batch_size = validate.count(steps, "steps"), validate.count(batch_size, "batch_size")
    base = torch.zeros_like(x) if baseline is None else _check_baseline(baseline, x)
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps  # midpoint rule

    def on_path(image: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        return base[image] + alphas[step].view(-1, 1, 1, 1) * (x[image] - base[image])

    grad_sum = torch.zeros_like(x)
    with frozen_eval(model):
        for image, grad in _gradients_of_copies(model, x, labels, steps, batch_size, on_path, progress,
                                                "integrated gradients"):
            grad_sum.index_add_(0, image, grad)
    return finite_result((x - base) * grad_sum / steps, "integrated gradients")


def ig_completeness(model: nn.Module, x: torch.Tensor, y: Labels, attributions: torch.Tensor, *,
                    baseline: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Completeness of integrated gradients: (sum of each image's attributions (N,), score_y(x) -
    score_y(baseline) (N,)). Equal for exact integrated gradients; the gap measures the ``steps``
    approximation. ``attributions`` (N, 3, H, W) as ``integrated_gradients`` returned them for the same
    x, y and baseline.

    Reference: Sundararajan et al., "Axiomatic Attribution for Deep Networks", ICML 2017 (completeness axiom).
    """
    x, labels = _prepare(model, x, y)
    if not isinstance(attributions, torch.Tensor) or attributions.shape != x.shape:
        shape = tuple(attributions.shape) if isinstance(attributions, torch.Tensor) else type(attributions).__name__
        raise InputError(f"attributions must be integrated_gradients(model, x, y) of shape {tuple(x.shape)}, got {shape}")
    base = torch.zeros_like(x) if baseline is None else _check_baseline(baseline, x)
    with frozen_eval(model), torch.no_grad():
        fast = layout.runner(model)  # the layout integrated_gradients ran in
        gap = score(forward(fast, x), labels) - score(forward(fast, base), labels)
    return attributions.flatten(1).sum(dim=1), gap


def _check_baseline(baseline: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    baseline = check_images(baseline, name="baseline")
    if baseline.shape[1:] != x.shape[1:] or baseline.shape[0] not in (1, x.shape[0]):
        raise InputError(f"baseline must have shape (1 or {x.shape[0]}, {', '.join(map(str, x.shape[1:]))}), "
                         f"got {tuple(baseline.shape)}")
    if baseline.device != x.device:
        raise InputError(f"baseline is on {baseline.device} but x is on {x.device}: move it with baseline.to(x.device)")
    return baseline.expand_as(x)
