"""Section 1: which pixels drive a class score: saliency maps, SmoothGrad, integrated gradients."""

from __future__ import annotations

import torch
from torch import nn

from ._errors import InputError
from ._gradients import input_gradient
from ._inputs import Labels, as_labels, check_device, check_images, check_positive
from ._scope import frozen_eval


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
        grad, _ = input_gradient(model, x, labels)
    return grad.abs().amax(dim=1)


def smoothgrad(model: nn.Module, x: torch.Tensor, y: Labels, *, samples: int = 25, noise: float = 0.15,
               seed: int = 0, batch_size: int = 25) -> torch.Tensor:
    """SmoothGrad maps (N, H, W): the saliency map averaged over ``samples`` noisy copies of each image.

    The noise is Gaussian with standard deviation ``noise`` times each image's value range; ``seed``
    makes it repeatable. ``batch_size`` bounds how many noisy images go through the model at once.

    Reference: Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017.
    """
    x, labels = _prepare(model, x, y)
    check_positive(samples, "samples", integer=True)
    check_positive(batch_size, "batch_size", integer=True)
    if not noise >= 0:
        raise InputError(f"noise must be >= 0 (a fraction of the image's value range, e.g. 0.15), got {noise!r}")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    sigma = noise * (x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3)))  # (N,)
    reps = x.repeat_interleave(samples, dim=0)  # (N*S, 3, H, W), image-major
    reps_labels = labels.repeat_interleave(samples)
    reps_sigma = sigma.repeat_interleave(samples).view(-1, 1, 1, 1)
    total = torch.zeros(x.shape[0] * samples, *x.shape[2:], dtype=x.dtype, device=x.device)
    with frozen_eval(model):
        for start in range(0, reps.shape[0], batch_size):
            part = reps[start:start + batch_size]
            # one draw per noisy copy, so the noise does not depend on how the work is split
            draws = torch.stack([torch.randn(part.shape[1:], generator=gen, device=x.device, dtype=x.dtype)
                                 for _ in range(part.shape[0])])
            noisy = part + reps_sigma[start:start + batch_size] * draws
            grad, _ = input_gradient(model, noisy, reps_labels[start:start + batch_size])
            total[start:start + batch_size] = grad.abs().amax(dim=1)
    return total.view(x.shape[0], samples, *x.shape[2:]).mean(dim=1)


def integrated_gradients(model: nn.Module, x: torch.Tensor, y: Labels, *, baseline: torch.Tensor | None = None,
                         steps: int = 32, batch_size: int = 32) -> torch.Tensor:
    """Integrated gradients (N, 3, H, W): (x - baseline) times the mean gradient along the straight path.

    Signed, per channel; the attributions of an image add up to score_y(x) - score_y(baseline) (up to
    the ``steps``-point midpoint rule). ``baseline`` (N or 1, 3, H, W) defaults to zeros, i.e. the mean
    ImageNet colour for normalised inputs. For a map like ``saliency_maps``, take ``.abs().amax(dim=1)``.

    Reference: Sundararajan et al., "Axiomatic Attribution for Deep Networks", ICML 2017.
    """
    x, labels = _prepare(model, x, y)
    check_positive(steps, "steps", integer=True)
    check_positive(batch_size, "batch_size", integer=True)
    base = torch.zeros_like(x) if baseline is None else _check_baseline(baseline, x)
    alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps  # midpoint rule
    mean_grad = torch.zeros_like(x)
    with frozen_eval(model):
        for i in range(x.shape[0]):
            path = base[i] + alphas.view(-1, 1, 1, 1) * (x[i] - base[i])  # (steps, 3, H, W)
            for start in range(0, steps, batch_size):
                chunk = path[start:start + batch_size]
                grad, _ = input_gradient(model, chunk, labels[i].repeat(chunk.shape[0]))
                mean_grad[i] += grad.sum(dim=0) / steps
    return (x - base) * mean_grad


def _check_baseline(baseline: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    baseline = check_images(baseline, name="baseline")
    if baseline.shape[1:] != x.shape[1:] or baseline.shape[0] not in (1, x.shape[0]):
        raise InputError(f"baseline must have shape (1 or {x.shape[0]}, {', '.join(map(str, x.shape[1:]))}), "
                         f"got {tuple(baseline.shape)}")
    if baseline.device != x.device:
        raise InputError(f"baseline is on {baseline.device} but x is on {x.device}: move it with baseline.to(x.device)")
    return baseline.expand_as(x)
