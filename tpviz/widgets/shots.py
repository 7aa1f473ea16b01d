"""What a save writes for the explorer's view: the picture with its parameters drawn on it, the parameters for the
PNG's metadata, and the ``tpviz`` code that computes it again (``saving.Shot``). No ipywidgets."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import torch
from PIL import Image
from torch import nn

from ..algorithms.ascent import AscentSettings
from ..algorithms.classviz import Init
from ..imagenet.classes import class_name
from ..imagenet.models import model_info
from ..plots.style import model_label
from .filmstrip import knob_text
from .saving import Shot, captioned, description, file_name, side_by_side
from .view import View, png

KNOBS = ("lr", "l2_reg", "iterations")
OWN = ("lr", "l2_reg", "iterations", "seed")  # written in every call; the other knobs only when not the default


def setting_params(view: View, settings: AscentSettings, model: nn.Module) -> dict[str, object]:
    """The setting of ``view`` with every knob of the ascent, as the metadata and the caption name them."""
    random = model_label(model)[1]
    knobs = {k: v for k, v in settings.knobs().items() if k not in KNOBS}
    return {"class": class_name(view.target), "model": view.model, "random_weights": random,
            "start": view.start, "lr": view.lr, "l2_reg": view.l2_reg, "iterations": view.iterations, **knobs,
            "on_grid": view.on_grid}


def prediction(view: View) -> dict[str, object]:
    return {"predicted": class_name(view.predicted), "probability": round(view.probability, 4),
            "target_probability": round(view.target_probability, 4), "score": round(view.score, 4)}


def panel_lines(view: View, model: nn.Module) -> list[tuple[str, bool]]:
    """One panel's caption: its model and prediction, and the red warning for a model on random weights."""
    target = class_name(view.target)
    lines = [(f"{view.model}: predicted {class_name(view.predicted)} {view.probability:.2f} · p({target}) = "
              f"{view.target_probability:.2f} · score = {view.score:.3g}", False)]
    if model_label(model)[1]:
        lines.append((f"RANDOM WEIGHTS ({view.model}): this model was not trained, its images are meaningless", True))
    return lines


def image_shot(views: Sequence[View], *, settings: AscentSettings, models: Mapping[str, nn.Module],
               starts: Mapping[str, Init], size: int) -> Shot:
    """The image on display (and, comparing, the second model's beside it), each with its prediction."""
    first = views[0]
    params = setting_params(first, settings, models[first.model]) | prediction(first)
    if len(views) > 1:
        other = views[1]
        params["compare"] = {"model": other.model, "random_weights": model_label(models[other.model])[1],
                             **prediction(other)}
    panels = [captioned(_picture(v.image, size), panel_lines(v, models[v.model])) for v in views]
    picture = captioned(side_by_side(panels), [(description(params), False)])
    code = "\n".join(reproduce(v, settings=settings, model=models[v.model], start=starts[v.start], var=var)
                     for v, var in zip(views, ("model", "other_model")))
    return Shot(picture=picture, params=params, code=code, name=file_name(params))


def filmstrip_shot(view: View, knob: str, cells: Sequence[tuple[float, View]], *, settings: AscentSettings,
                   models: Mapping[str, nn.Module], starts: Mapping[str, Init], size: int) -> Shot:
    """The filmstrip: one thumbnail per value of ``knob`` (``cells``: value, its view), each with its prediction."""
    model = models[view.model]
    params = setting_params(view, settings, model)
    params.update({knob: [value for value, _ in cells], "vary": knob, "on_grid": True,
                   "predicted": [class_name(v.predicted) for _, v in cells],
                   "target_probability": [round(v.target_probability, 4) for _, v in cells]})
    panels = [captioned(_picture(v.image, size), [(knob_text(knob, value), False),
                                                  (f"{class_name(v.predicted)} {v.probability:.2f}", False)])
              for value, v in cells]
    lines = [(description(params), False)] + panel_lines(view, model)[1:]
    picture = captioned(side_by_side(panels), lines)
    code = reproduce(view, settings=settings, model=model, start=starts[view.start],
                     vary=(knob, [value for value, _ in cells]))
    return Shot(picture=picture, params=params, code=code, name=file_name(params))


def reproduce(view: View, *, settings: AscentSettings, model: nn.Module, start: Init,
              vary: tuple[str, list] | None = None, var: str = "model") -> str:
    """The code that computes ``view`` again: ``tpviz.class_visualization(...)``, or ``tpviz.sweep(...)`` over the
    values of ``vary`` (knob, values) for a filmstrip; the model is called ``var`` ("model": with the import)."""
    info = model_info(model)
    if info is None:
        load = f"{var} = ...  # your model, {view.model!r} in the explorer"
    else:
        load = f"{var} = tpviz.load_model({info.name!r}{', weights=' + repr('random') if info.random else ''})"
    lines = ["import tpviz", load] if var == "model" else [load]
    if start is not None and var == "model":
        lines.append(f"START = ...  # the start image you gave the explorer as {view.start!r} (1, 3, H, W)")
    knobs = settings.knobs() | {k: getattr(view, k) for k in KNOBS}
    defaults = AscentSettings().knobs()
    args = [f"{k}={_literal(v)}" for k, v in knobs.items() if k in OWN or v != defaults[k]]
    if vary is not None:
        knob, values = vary
        args = [f"{knob}=[{', '.join(_literal(v) for v in values)}]" if a.startswith(f"{knob}=") else a for a in args]
    init = [] if start is None else ["init=START"]
    call = "tpviz.sweep" if vary is not None else "tpviz.class_visualization"
    result = "result" if var == "model" else f"{var}_result"
    lines.append(f"{result} = {call}({var}, {class_name(view.target)!r}, {', '.join(init + args)})")
    if view.on_grid and vary is None:
        lines.append("# the explorer computed it in a batch (tpviz.sweep over its grid): the same up to float rounding,"
                     " which the ascent can amplify")
    return "\n".join(lines)


def _literal(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}" if float(f"{value:g}") == value else repr(value)
    return repr(value)


def _picture(image: torch.Tensor, size: int) -> Image.Image:
    return Image.open(io.BytesIO(png(image, size=size))).convert("RGB")
