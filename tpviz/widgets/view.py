"""What the explorer shows and how: the ``View`` on display, its PNG, its title, and the checks of
``explorer``'s arguments. No ipywidgets here."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image
from torch import nn

from ..algorithms.sweeps import grid_position
from ..course import TP
from ..errors import InputError
from ..imagenet.classes import class_index, class_name
from ..imagenet.images import deprocess
from ..plots.style import RANDOM_COLOR, model_label

TP_SETTING = {"lr": TP.lr, "l2_reg": TP.l2_reg, "iterations": TP.iterations}  # where the sliders start, or the nearest grid value


@dataclass(frozen=True)
class View:
    """What the explorer shows: one class visualization and the setting that made it.

    Attributes:
        image: the model input (1, 3, H, W).
        model, start: the names chosen in the model and start dropdowns.
        target: the class index; lr, l2_reg, iterations: the knobs.
        predicted, probability: the model's top class on ``image`` and its probability.
        target_probability: the probability of ``target``.
        on_grid: True when served from a sweep grid, False when computed on demand.
        score: the target's unnormalised score on ``image`` (nan when not known).
    """

    image: torch.Tensor = field(repr=False, compare=False)
    model: str
    target: int
    start: str
    lr: float
    l2_reg: float
    iterations: int
    predicted: int
    probability: float
    target_probability: float
    on_grid: bool
    score: float = math.nan


def png(image: torch.Tensor, *, size: int | None = None) -> bytes:
    """One model input (1, 3, H, W) -> PNG bytes, upscaled to ``size`` x ``size`` by nearest neighbour."""
    picture = Image.fromarray(deprocess(image)[0])
    if size is not None and picture.size != (size, size):
        picture = picture.resize((size, size), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)  # 8x faster than the default 6 on these, as small
    return buffer.getvalue()


def check_models(models: nn.Module | Mapping[str, nn.Module]) -> dict[str, nn.Module]:
    if isinstance(models, nn.Module):
        return {model_label(models)[0]: models}
    if not isinstance(models, Mapping) or not models:
        raise InputError("models must be a model or a non-empty dict of names -> models, "
                         "e.g. {'SqueezeNet': squeezenet, 'VGG16': vgg}")
    bad = [k for k, m in models.items() if not isinstance(k, str) or not isinstance(m, nn.Module)]
    if bad:
        raise InputError(f"models must map str names to torch models; check the entries {bad}")
    return dict(models)


def check_classes(classes: int | str | Sequence[int | str]) -> list[int]:
    many = [classes] if isinstance(classes, (int, str)) else list(classes)
    if not many:
        raise InputError("classes is empty: give at least one class name or index, e.g. classes=['snail']")
    targets = [class_index(c) for c in many]
    repeated = sorted({class_name(t) for t in targets if targets.count(t) > 1})
    if repeated:
        raise InputError(f"classes names the same class twice: {repeated}; give each class once")
    return targets


def nearest_value(values: list, knob: str) -> float | int:
    """The grid value nearest the TP's setting of ``knob`` (in log scale for L2)."""
    goal = TP_SETTING[knob]
    if knob == "l2_reg":
        return min(values, key=lambda v: abs(math.log10(v / goal)) if v > 0 else math.inf)
    return min(values, key=lambda v: abs(v - goal))


def grid_index(grid: dict[str, list], **setting: float) -> dict[str, int] | None:
    """The position of each knob's value in the grid (floats compared to 1e-9), or None when one is off it."""
    try:
        return {knob: grid_position(grid[knob], value) for knob, value in setting.items()}
    except ValueError:
        return None


def title_html(view: View, *, random: bool) -> str:
    name = html.escape(class_name(view.target))
    knobs = f"lr={view.lr:g} · L2={view.l2_reg:g} · {view.iterations} iterations"
    where = "" if view.on_grid else " (outside the grid, computed on demand)"
    text = (f"<b>{name}</b> · {html.escape(view.model)} · from {html.escape(view.start)} · {knobs}{where}<br>"
            f"predicted: <b>{html.escape(class_name(view.predicted))}</b> {view.probability:.2f} · "
            f"p({name}) = {view.target_probability:.2f}")
    if not math.isnan(view.score):
        text += f" · score = {view.score:.3g}"
    return text + _random_warning() if random else text


def growing_html(key: tuple[str, int, str], *, lr: float, l2_reg: float, done: int, total: int, random: bool) -> str:
    """The title while the setting on screen is still being computed: which setting, and how far it is."""
    name, target, start = key
    text = (f"<b>{html.escape(class_name(target))}</b> · {html.escape(name)} · from {html.escape(start)} · "
            f"lr={lr:g} · L2={l2_reg:g} · <b>growing: {done} of {total} iterations</b> (the image so far; the "
            "sliders work once it is done)")
    return text + _random_warning() if random else text


def _random_warning() -> str:
    return (f'<br><span style="color:{RANDOM_COLOR}"><b>RANDOM WEIGHTS: this model was not trained, '
            "its images are meaningless</b></span>")
