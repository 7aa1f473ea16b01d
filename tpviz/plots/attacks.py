"""Figures for section 2: the TP's Figure 3 (original, adversarial, difference) and where the perturbation lives."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from ..algorithms.attacks import AttackResult
from ..errors import InputError
from ..imagenet.classes import class_name
from ..imagenet.images import deprocess, pixel_scale
from .figure import bare, name_model, warn_random
from .style import model_label

COLUMNS = 4


def plot_attack(x: torch.Tensor, results: AttackResult | Sequence[AttackResult], *,
                models: nn.Module | Sequence[nn.Module] | None = None, index: int = 0, magnify: float = 10,
                original_title: str | None = None, scale: float = 2.4) -> Figure:
    """The TP's Figure 3 for image ``index``: one row per result (e.g. SqueezeNet then VGG16), four columns:
    the original, the adversarial image (titled with its predicted class and probability), the difference
    stretched to fill the grey range, and the difference ×``magnify`` (0.5 = unchanged).

    Args:
        x: the original model inputs (N, 3, H, W) the results attacked, or the one image (1, 3, H, W)
            they pushed towards N targets.
        results: an AttackResult, or a list of them (one row each).
        models: the model behind each result: names the row, and a model on random weights is marked in
            red on its row and in the figure's title. Default: rows named by the attack method.
        index: which image of the results to show.
        magnify: the factor of the last column, in 0–1 pixel units.
        original_title: title of the original (e.g. its true class name); default "original".
    """
    rows = [results] if isinstance(results, AttackResult) else list(results)
    mods = [] if models is None else [models] if isinstance(models, nn.Module) else list(models)
    if not rows or not all(isinstance(r, AttackResult) for r in rows):
        raise InputError("results must be an AttackResult or a non-empty list of them "
                         "(what tpviz.fooling_image, fgsm and pgd return)")
    if mods and len(mods) != len(rows):
        raise InputError(f"{len(mods)} models for {len(rows)} results: give one model per result, in the same order")
    if not isinstance(magnify, (int, float)) or isinstance(magnify, bool) or not magnify > 0:
        raise InputError(f"magnify must be a positive number, got {magnify!r}")
    pairs = [_pair(x, r, index) for r in rows]
    named = [model_label(m) for m in mods] or [(r.method, False) for r in rows]
    fig, axes = plt.subplots(len(rows), COLUMNS, figsize=(scale * COLUMNS, scale * len(rows)), squeeze=False)
    for r, (result, (orig, adv), (name, rnd)) in enumerate(zip(rows, pairs, named)):
        delta = _delta(orig, adv)  # (H, W, 3) in 0–1 pixel units
        peak = float(np.abs(delta).max())
        stretched = 0.5 + delta / (2 * peak) if peak > 0 else np.full_like(delta, 0.5)
        panels = [(deprocess(orig), original_title if original_title is not None else "original"),
                  (deprocess(adv), f"{class_name(int(result.predicted[index]))} "
                                   f"{float(result.probability[index]):.2f}"),
                  (stretched, f"difference (max {peak * 255:.1f}/255)"),
                  (np.clip(0.5 + magnify * delta, 0, 1), f"difference ×{magnify:g}")]
        for ax, (image, title) in zip(axes[r], panels):
            ax.imshow(image)
            ax.set_title(title, fontsize=9)
        name_model(axes[r, 0], name, rnd)
    bare(axes)
    warn_random(fig, named, "predictions")
    fig.tight_layout()
    return fig


def plot_perturbation(x: torch.Tensor, result: AttackResult, saliency: torch.Tensor, *, index: int = 0,
                      alpha: float = 0.5, scale: float = 3.0) -> Figure:
    """Where the perturbation lives, for image ``index``: |difference| (max over channels), the saliency map,
    and both over the grey image (red: perturbation, green: saliency, yellow: both), titled with the
    Pearson correlation of |difference| and saliency over pixels.

    Args:
        x: the original model inputs (N, 3, H, W), or the one image (1, 3, H, W) the result attacked.
        result: an AttackResult on x.
        saliency: saliency maps (N, H, W) of the same images (``tpviz.saliency_maps``), or (1, H, W).
        alpha: opacity of the colour overlay on the grey image, between 0 and 1.
    """
    if not isinstance(result, AttackResult):
        raise InputError("result must be one AttackResult (what tpviz.fooling_image, fgsm and pgd return)")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise InputError(f"alpha must be a number between 0 and 1, got {alpha!r}")
    orig, adv = _pair(x, result, index)
    change = np.abs(_delta(orig, adv)).max(axis=2) * 255  # (H, W) in 0–255 levels
    if not isinstance(saliency, torch.Tensor) or saliency.ndim != 3 or saliency.shape[0] not in (1, len(result)) \
            or tuple(saliency.shape[1:]) != change.shape:
        shape = tuple(saliency.shape) if isinstance(saliency, torch.Tensor) else type(saliency).__name__
        raise InputError(f"saliency must be maps (N, H, W) = ({len(result)}, {change.shape[0]}, {change.shape[1]}) "
                         f"for the result's images (or one map (1, H, W)), got {shape}; "
                         "compute them with tpviz.saliency_maps(model, x, labels)")
    sal = saliency[index if saliency.shape[0] > 1 else 0].detach().float().cpu().numpy()
    r = _pearson(change, sal)
    gray = deprocess(orig).mean(axis=2) / 255
    colour = np.stack([_unit(change), _unit(sal), np.zeros_like(sal)], axis=2)
    overlay = np.clip((1 - alpha) * gray[..., None] + alpha * colour, 0, 1)
    fig, axes = plt.subplots(1, 3, figsize=(3 * scale, scale + 0.4), squeeze=False)
    panels = [(change, "hot", f"|difference| (max {change.max():.1f}/255)"), (sal, "hot", "saliency"),
              (overlay, None, "red: difference, green: saliency")]
    for ax, (image, cmap, title) in zip(axes[0], panels):
        ax.imshow(image, cmap=cmap)
        ax.set_title(title, fontsize=9)
    bare(axes)
    corr = "undefined (a constant map)" if np.isnan(r) else f"{r:.2f}"
    fig.suptitle(f"{result.method}: perturbation vs saliency, Pearson r = {corr}", fontsize=10)
    fig.tight_layout()
    return fig


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two same-shaped maps over their pixels; nan when either is constant."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def _pair(x: torch.Tensor, result: AttackResult, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The original and adversarial model inputs (3, H, W) of image ``index``, checked against each other."""
    n = len(result)
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"x must be the original model inputs (N, 3, H, W) that were attacked, got {shape}")
    if x.shape[0] not in (1, n) or x.shape[2:] != result.images.shape[2:]:
        raise InputError(f"x has shape {tuple(x.shape)} but the result holds {tuple(result.images.shape)}: "
                         "pass the same x you gave the attack")
    if isinstance(index, bool) or not isinstance(index, int) or not -n <= index < n:
        raise InputError(f"index {index!r} is out of range for a result of {n} images")
    return x[index if x.shape[0] > 1 else 0].detach(), result.images[index].detach()


def _delta(orig: torch.Tensor, adv: torch.Tensor) -> np.ndarray:
    """adv - orig (3, H, W) model inputs -> (H, W, 3) in 0–1 pixel units (float, not rounded to 8 bits)."""
    scale = pixel_scale(orig)[0] / 255
    return ((adv.to(orig.device) - orig) * scale).permute(1, 2, 0).float().cpu().numpy()


def _unit(a: np.ndarray) -> np.ndarray:
    """Scale a non-negative map to 0–1 by its 99th percentile (one hot pixel should not dim the rest)."""
    top = float(np.quantile(a, 0.99)) or float(a.max())
    return np.clip(a / top, 0, 1) if top > 0 else np.zeros_like(a)

