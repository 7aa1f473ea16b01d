"""The TP's figures 1–10 and the attack table, made with exactly the library calls the notebooks make.

Nothing here writes files: each stage returns ``Artifact``s (a matplotlib figure or a text table, with its
caption and parameters); ``tpviz figures`` saves them and writes the gallery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import nn

from ..algorithms.attacks import fooling_image
from ..algorithms.classviz import ClassVisualization, class_visualization
from ..algorithms.compare import compare_attacks, format_table, random_targets
from ..algorithms.saliency import saliency_maps
from ..algorithms.sweeps import axis_sweeps
from ..course import CourseSettings
from ..imagenet.classes import class_name
from ..imagenet.data import ImageNetVal
from ..imagenet.models import describe_model
from ..plots.attacks import plot_attack
from ..plots.classviz import plot_class_visualization, plot_sweep
from ..plots.saliency import plot_saliency
from ..plots.style import model_label
from .progress import Update


@dataclass
class Artifact:
    """One output: a figure (saved as ``<name>.png``) or a text table (``<name>.txt``), described."""

    name: str
    number: str  # "1".."10", or "table"
    title: str
    caption: str
    params: dict[str, object]
    models: list[nn.Module]
    figure: Figure | None = None
    table: str | None = None

    @property
    def random_models(self) -> list[str]:
        """Names of the models in this artifact that run on random weights."""
        return [name for name, random in map(model_label, self.models) if random]


@dataclass
class StageInputs:
    """What the stages share: the models (the first plays SqueezeNet's part, a second VGG16's), the data,
    the settings, and the class visualizations Figures 8-10 reuse (set by the stages of Figures 4 and 8)."""

    models: list[nn.Module]
    val: ImageNetVal
    x: torch.Tensor  # (25, 3, 224, 224) model inputs of ``val``
    settings: CourseSettings
    from_noise: ClassVisualization | None = None
    from_photo: ClassVisualization | None = None

    @property
    def main(self) -> nn.Module:
        return self.models[0]

    @property
    def other(self) -> nn.Module | None:
        return self.models[1] if len(self.models) > 1 else None


Stage = Callable[[StageInputs, Update], list[Artifact]]


def saliency_stage(run: StageInputs, progress: Update) -> list[Artifact]:
    """Figures 1 and 2: saliency maps of each model on the first images of the validation set."""
    n = run.settings.images
    images, labels, names = run.val.images[:n], run.val.labels[:n], run.val.names[:n]
    out = []
    for i, model in enumerate(run.models):
        progress(i, len(run.models))
        maps = saliency_maps(model, run.x[:n], labels)
        out.append(Artifact(
            f"figure{i + 1:02d}_saliency_{_arch(model)}", str(i + 1), f"Saliency maps, {_arch(model)}",
            "max over colour channels of |d score / d pixel| for each image's true class: the brighter, the more "
            "a small change of that pixel moves the score.",
            {"model": describe_model(model), "images": ", ".join(names)}, [model],
            figure=plot_saliency(images, maps, titles=names, models=model)))
    progress(len(run.models), len(run.models))
    return out


def fooling_stage(run: StageInputs, progress: Update) -> list[Artifact]:
    """Figure 3: the naive fooling image, Tibetan mastiff -> bulbul, with the difference x10."""
    s, i = run.settings, run.settings.fool_image
    x0 = run.x[i:i + 1]
    steps = [s.fool_max_iter, s.compare_fool_max_iter]
    results = []
    for k, model in enumerate(run.models):
        progress(k, len(run.models))
        results.append(fooling_image(model, x0, s.fool_target, lr=s.fool_lr, max_iter=steps[k]))
    progress(len(run.models), len(run.models))
    outcome = "; ".join(
        f"{_arch(m)}: {'fooled' if r.success[0] else 'NOT fooled'} in {int(r.iterations[0])} steps, "
        f"p={r.probability[0]:.2f}, L-inf {r.linf[0]:.1f} levels" for m, r in zip(run.models, results))
    return [Artifact(
        "figure03_fooling", "3", f"Fooling image: {run.val.names[i]} -> {s.fool_target}",
        "the TP's naive method (normalised gradient ascent on the target score, stopped once fooled): original, "
        f"fooling image, difference, difference x10. {outcome}.",
        {"models": ", ".join(map(describe_model, run.models)), "image": run.val.names[i], "target": s.fool_target,
         "max_iter": ", ".join(map(str, steps[:len(run.models)]))}, list(run.models),
        figure=plot_attack(x0, results, models=run.models, original_title=f"{run.val.names[i]} (original)"))]


def table_stage(run: StageInputs, progress: Update) -> list[Artifact]:
    """The naive method vs FGSM vs PGD on the validation images, each to a random target class."""
    s, n = run.settings, run.settings.table_images
    targets = random_targets(run.val.labels[:n], seed=s.table_seed)
    progress(0, 1)
    rows = compare_attacks(run.main, run.x[:n], targets, eps=s.epsilons, max_iter=s.fool_max_iter, steps=s.pgd_steps)
    progress(1, 1)
    return [Artifact(
        "table_attacks", "table", "Naive method vs FGSM vs PGD",
        f"{n} validation images, each to a random other class; success rate, still fooled once saved as 8-bit "
        "pixels, and distances in 0-255 levels per L-inf budget (the unbounded naive method counts at a budget "
        "only when it stayed within it).",
        {"model": describe_model(run.main), "images": n, "eps": ", ".join(f"{e * 255:g}/255" for e in s.epsilons),
         "pgd_steps": s.pgd_steps, "max_iter": s.fool_max_iter, "targets": f"random_targets(seed={s.table_seed})"},
        [run.main], table=format_table(rows))]


def noise_stage(run: StageInputs, progress: Update) -> list[Artifact]:
    """Figure 4: the target class grown from noise."""
    s = run.settings
    snail = class_visualization(run.main, s.target, **_knobs(s), iterations=s.iterations,
                                callback=lambda t, _: progress(t, s.iterations))
    run.from_noise = snail
    return [Artifact(
        "figure04_class_from_noise", "4", f"{s.target.capitalize()} from noise",
        f"gradient ascent on the {s.target} score from seeded noise, with L2 penalty, jitter and blur; "
        f"{_verdict(snail)}.", {"model": describe_model(run.main), **_caption_params(s, s.iterations)}, [run.main],
        figure=plot_class_visualization(snail, titles=[f"from noise, {s.iterations} iterations"], models=run.main))]


def sweeps_stage(run: StageInputs, progress: Update) -> list[Artifact]:
    """Figures 5-7: the learning rate, the iterations and the L2 weight, each varied alone (one batch)."""
    s = run.settings
    lines = axis_sweeps(run.main, s.target, lr=list(s.lrs), l2_reg=list(s.l2s), iterations=list(s.iteration_counts),
                        base_lr=s.lr, base_l2_reg=s.l2_reg, base_iterations=s.iterations, seed=s.seed,
                        progress=progress)
    held = {"model": describe_model(run.main), "class": s.target, "seed": s.seed}
    what = {"lr": ("5", "learning_rate", "Learning rate", {"lr": list(s.lrs), "l2_reg": s.l2_reg,
                                                                "iterations": s.iterations}),
            "iterations": ("6", "iterations", "Iterations", {"lr": s.lr, "l2_reg": s.l2_reg,
                                                            "iterations": list(s.iteration_counts)}),
            "l2_reg": ("7", "l2", "L2 weight", {"lr": s.lr, "l2_reg": list(s.l2s), "iterations": s.iterations})}
    return [Artifact(
        f"figure{int(num):02d}_sweep_{slug}", num, f"{title} sweep",
        f"{s.target} from the same noise and jitter, only the {title.lower()} varying.",
        {**held, **knobs}, [run.main], figure=plot_sweep(lines[vary], vary=vary, model=run.main))
        for vary, (num, slug, title, knobs) in what.items()]


def photo_stage(run: StageInputs, progress: Update) -> list[Artifact]:
    """Figure 8: the target class grown from the hay photo (validation image 0), beside the noise start."""
    s = run.settings
    hay = class_visualization(run.main, s.target, init=run.x[:1], **_knobs(s), iterations=s.iterations,
                              callback=lambda t, _: progress(t, s.iterations))
    run.from_photo = hay
    photo = run.val.names[0]
    return [Artifact(
        "figure08_class_from_photo", "8", f"{s.target.capitalize()} from {photo}",
        f"the same ascent started from the {photo} photo instead of noise; {_verdict(hay)}.",
        {"model": describe_model(run.main), "start": photo, **_caption_params(s, s.iterations)}, [run.main],
        figure=plot_class_visualization([_done(run.from_noise, "Figure 4"), hay], titles=["from noise", f"from {photo}"],
                                        models=run.main))]


def compare_stage(run: StageInputs, progress: Update) -> list[Artifact]:
    """Figures 9-10: figures 4 and 8 made again with the second model, beside the first."""
    s, other = run.settings, run.other
    assert other is not None, "compare_stage needs two models"
    n = s.compare_iterations
    photo = run.val.names[0]
    starts = (("noise", "noise", None, _done(run.from_noise, "Figure 4")),
              ("photo", photo, run.x[:1], _done(run.from_photo, "Figure 8")))
    out = []
    for k, (key, start, init, mine) in enumerate(starts):
        result = class_visualization(other, s.target, init=init, **_knobs(s), iterations=n,
                                     callback=_offset(progress, k * n, 2 * n))
        number = 9 + k
        out.append(Artifact(
            f"figure{number:02d}_compare_from_{key}", str(number), f"{s.target.capitalize()} from {start}: "
            f"{_arch(run.main)} vs {_arch(other)}",
            f"{_arch(run.main)}: {_verdict(mine)}; {_arch(other)}: {_verdict(result)}.",
            {"models": f"{describe_model(run.main)}, {describe_model(other)}", "start": start,
             **_caption_params(s, f"{s.iterations}, {n}")}, [run.main, other],
            figure=plot_class_visualization([mine, result], titles=[f"{s.iterations} iterations", f"{n} iterations"],
                                            models=[run.main, other])))
    return out


# Settings only the notebooks use (SmoothGrad, IG, occlusion, the seed row): not part of the figures' caption.
NOT_IN_FIGURES = ("smoothgrad_samples", "ig_steps", "occlusion_patch", "occlusion_stride", "seeds")


def describe_settings(s: CourseSettings) -> str:
    """The settings on one line, budgets in 0-255 levels (``eps=1/255, 2/255``)."""
    def show(key: str, value: object) -> str:
        if key == "epsilons":
            return "eps=" + ", ".join(f"{e * 255:g}/255" for e in value)  # type: ignore[attr-defined]
        if isinstance(value, tuple):
            return f"{key}=" + ", ".join(f"{v:g}" for v in value)
        return f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"

    return "; ".join(show(f.name, getattr(s, f.name)) for f in fields(s) if f.name not in NOT_IN_FIGURES and not f.name.startswith("explorer_"))


def stages(models: Sequence[nn.Module]) -> list[tuple[str, Stage]]:
    """The stages to run for one model (Figures 1, 3-8 and the table) or two (all of them), in order."""
    two = len(models) > 1
    out: list[tuple[str, Stage]] = [
        ("Figures 1-2: saliency maps" if two else "Figure 1: saliency maps", saliency_stage),
        ("Figure 3: fooling image", fooling_stage),
        ("Table: naive vs FGSM vs PGD", table_stage),
        ("Figure 4: class visualization from noise", noise_stage),
        ("Figures 5-7: learning rate, iterations, L2 sweeps", sweeps_stage),
        ("Figure 8: class visualization from a photo", photo_stage),
    ]
    if two:
        out.append(("Figures 9-10: the second model", compare_stage))
    return out


def _arch(model: nn.Module) -> str:
    return model_label(model)[0]


def _knobs(s: CourseSettings) -> dict[str, Any]:
    return {"lr": s.lr, "l2_reg": s.l2_reg, "seed": s.seed}


def _offset(progress: Update, done: int, total: int) -> Callable[[int, torch.Tensor], None]:
    """A class_visualization callback that reports its iterations as ``done + t`` of ``total``."""
    return lambda t, _: progress(done + t, total)


def _caption_params(s: CourseSettings, iterations: object) -> dict[str, object]:
    return {"class": s.target, "lr": s.lr, "l2_reg": s.l2_reg, "iterations": iterations, "seed": s.seed}


def _verdict(result: ClassVisualization) -> str:
    p = float(result.target_probability[0])
    return f"classified as {class_name(int(result.predicted[0]))}, p({class_name(int(result.target[0]))}) = {p:.2f}"


def _done(result: ClassVisualization | None, stage: str) -> ClassVisualization:
    """A result an earlier stage made; ``stages`` runs that stage first."""
    assert result is not None, f"the stage of {stage} must run first"
    return result
