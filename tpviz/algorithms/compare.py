"""Section 2's comparison table: the naive fooling images, FGSM and PGD at equal L∞ budgets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from .. import validate
from ..errors import InputError
from .attacks import AttackResult, check_eps, fgsm, fooling_image, pgd
from .inputs import Labels, as_labels, check_label_range
from .progress import Progress, check_progress, reporting

Row = dict[str, str | float]
# The naive method's L∞ is measured in float32: a budget of 2 levels must not reject 2.0000002.
_LINF_SLACK = 1e-4


def compare_attacks(model: nn.Module, x: torch.Tensor, target: Labels, *,
                    eps: Sequence[float] = (1 / 255, 2 / 255, 4 / 255), lr: float = 1.0, max_iter: int = 100,
                    steps: int = 10, seed: int = 0, naive: AttackResult | None = None, labels: Labels | None = None,
                    progress: Progress = False) -> list[Row]:
    """Naive vs FGSM vs PGD towards ``target``, one row per (budget, method), budgets in the order given.

    x (N, 3, H, W) model inputs, target one class or N classes (as for ``tpviz.fooling_image``). FGSM and
    PGD (``steps`` steps, random start drawn with ``seed``) run once per budget. The naive method has no
    budget: it runs once, unbounded (``lr``, ``max_iter``), and at each budget counts as a success only the
    images it fooled *within the budget* (fooled and L∞ distance <= eps); its iterations, L2 and PSNR are
    means over all images, whatever their distance.

    Args:
        eps: L∞ budgets in pixel units of the 0–1 image, e.g. (1/255, 2/255, 4/255).
        naive: ``tpviz.fooling_image(model, x, target, ...)`` if you have it already: not run again.
        labels: the images' true classes: adds untargeted FGSM and PGD rows per budget ("fgsm-untargeted",
            "pgd-untargeted"), whose success is "no longer predicted as the label", towards any class
            (Goodfellow et al., 2015; targeted attacks as in Kurakin et al., 2017).
        progress: True for a progress bar, or a function ``progress(done, total)`` over the attack runs.

    Returns:
        One dict per row with keys method ("naive", "fgsm", "pgd", and the untargeted ones), eps (in 0–255 levels, e.g. 2.0),
        success_rate, survives_saving_rate (still a success once rounded to 8-bit pixels), mean_iterations,
        mean_l2 (0–255 levels) and mean_psnr (dB, over images that changed). ``format_table`` prints them.
    """
    budgets = _check_budgets(eps)
    steps = validate.count(steps, "steps")  # before the naive run, which may take a while
    check_progress(progress)
    if labels is not None:
        labels = as_labels(labels, x.shape[0], device=x.device, name="labels")
    runs = (naive is None) + len(budgets) * (2 if labels is None else 4)
    rows: list[Row] = []
    with reporting(progress, runs, desc="attacks") as update:
        done = 0
        if naive is None:
            naive = fooling_image(model, x, target, lr=lr, max_iter=max_iter)
            done += 1
            update(done)
        else:
            _check_naive(naive, x, target)
        for e in budgets:
            within = naive.linf <= e * 255 * (1 + _LINF_SLACK)
            rows.append(_row(naive, e, success=naive.success & within, saved=naive.survives_saving & within))
            for run in _bounded_runs(model, x, target, labels, e, steps, seed):
                rows.append(_row(run, e, success=run.success, saved=run.survives_saving))
                done += 1
                update(done)
    return rows


def _bounded_runs(model: nn.Module, x: torch.Tensor, target: Labels, labels: torch.Tensor | None, eps: float,
                  steps: int, seed: int) -> Iterator[AttackResult]:
    """FGSM and PGD towards ``target`` within ``eps``, then, when ``labels`` are given, away from them."""
    yield fgsm(model, x, target, eps=eps)
    yield pgd(model, x, target, eps=eps, steps=steps, seed=seed)
    if labels is not None:
        yield replace(fgsm(model, x, eps=eps, label=labels), method="fgsm-untargeted")
        yield replace(pgd(model, x, eps=eps, steps=steps, seed=seed, label=labels), method="pgd-untargeted")


def random_targets(labels: torch.Tensor | np.ndarray | Sequence[int], *, seed: int = 0,
                   num_classes: int = 1000) -> torch.Tensor:
    """labels (N,) -> LongTensor (N,): for each image a class drawn uniformly among the ``num_classes``
    classes other than its label. Deterministic for a given ``seed``; on the labels' device (tensor) or the CPU.
    """
    if isinstance(labels, (int, str)) or (isinstance(labels, (torch.Tensor, np.ndarray)) and labels.ndim != 1):
        raise InputError("labels must be one class index per image, a sequence or 1-D tensor (N,), "
                         f"got {labels!r:.60}")
    num_classes = validate.count(num_classes, "num_classes", low=2, high=2**31, hint="(ImageNet: 1000)")
    seed = validate.seed(seed)
    device = labels.device if isinstance(labels, torch.Tensor) else torch.device("cpu")
    y = as_labels(labels, len(labels), device=torch.device("cpu"), name="labels")
    check_label_range(y, num_classes, name="labels")
    draw = torch.randint(0, num_classes - 1, y.shape, generator=torch.Generator().manual_seed(seed))
    return (draw + (draw >= y).long()).to(device)  # skip over the label: uniform over the other classes


def format_table(rows: Sequence[Mapping[str, object]]) -> str:
    """Rows (dicts with the same keys, e.g. from ``compare_attacks``) -> an aligned plain-text table:
    a header line, a rule, then one line per row. Text is left-aligned, numbers right-aligned, floats
    with two decimals."""
    if not rows:
        raise InputError("format_table got no rows; pass the list compare_attacks returns")
    keys = list(rows[0])
    for i, row in enumerate(rows):
        if list(row) != keys:
            raise InputError(f"row {i} has keys {list(row)}, but row 0 has {keys}: all rows need the same keys")
    cells = [[_cell(row[k]) for k in keys] for row in rows]
    numeric = [all(isinstance(row[k], (int, float)) for row in rows) for k in keys]
    widths = [max(len(k), *(len(c[j]) for c in cells)) for j, k in enumerate(keys)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(keys), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def _row(result: AttackResult, eps: float, *, success: torch.Tensor, saved: torch.Tensor) -> Row:
    means = result.summary()
    return {"method": result.method, "eps": round(eps * 255, 4), "success_rate": success.float().mean().item(),
            "survives_saving_rate": saved.float().mean().item(), "mean_iterations": means["mean_iterations"],
            "mean_l2": means["mean_l2"], "mean_psnr": means["mean_psnr"]}


def _check_naive(naive: AttackResult, x: torch.Tensor, target: Labels) -> None:
    if not isinstance(naive, AttackResult) or naive.method != "naive":
        raise InputError("naive must be what tpviz.fooling_image returned for the same x and target")
    n = naive.images.shape[0]
    if x.shape[0] not in (1, n) or naive.target is None or \
            not torch.equal(naive.target.cpu(), as_labels(target, n, device=torch.device("cpu"), name="target")):
        raise InputError("naive was computed for other images or targets: pass the result of "
                         "tpviz.fooling_image(model, x, target) with this x and target, or leave naive out")


def _check_budgets(eps: object) -> list[float]:
    if isinstance(eps, np.ndarray) and eps.ndim == 1:
        eps = eps.tolist()
    if isinstance(eps, (int, float)) or not isinstance(eps, Sequence) or len(eps) == 0:
        raise InputError(f"eps must be a non-empty sequence of L∞ budgets, e.g. eps=(1/255, 2/255); got {eps!r}. "
                         "For one budget write eps=(2/255,)")
    for e in eps:
        check_eps(e, "eps")
    return [float(e) for e in eps]


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if np.isfinite(value) else str(value)
    return str(value)
