"""Keeping what the explorer shows: a ``Shot`` (picture, parameters, the code that reproduces it) written as a PNG
with its parameters drawn along its bottom edge and in its metadata (PNG text chunks ``Description``, ``Parameters``
as JSON, ``Source``), never over an existing file unless the student confirms; and the ``Saver`` controls."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as w
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from ..errors import TpvizError
from ..files.read import user_path
from ..files.write import atomic_path
from ..plots.style import RANDOM_COLOR
from .curve import font

DEFAULT_FOLDER = "figures/"
CAPTION, WARNING = (70, 70, 70), RANDOM_COLOR


@dataclass(frozen=True)
class Shot:
    """One save: ``picture`` (parameters drawn on it), ``params`` (for the metadata), ``code`` (reproduces it) and
    ``name`` (the file name, from the parameters)."""

    picture: Image.Image
    params: dict[str, object]
    code: str
    name: str


def captioned(picture: Image.Image, lines: Sequence[tuple[str, bool]]) -> Image.Image:
    """``picture`` over its caption: each line (text, in red?) wrapped to the picture's width, on white."""
    small = font(13)
    wrapped = [(part, red) for text, red in lines for part in _wrap(text, small, picture.width - 8)]
    height = picture.height + 6 + 17 * len(wrapped)
    out = Image.new("RGB", (picture.width, height), "white")
    out.paste(picture.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(out)
    for i, (text, red) in enumerate(wrapped):
        draw.text((4, picture.height + 4 + 17 * i), text, fill=WARNING if red else CAPTION, font=small)
    return out


def side_by_side(pictures: Sequence[Image.Image], *, gap: int = 8) -> Image.Image:
    """The pictures in a row, tops aligned, on white."""
    width = sum(p.width for p in pictures) + gap * (len(pictures) - 1)
    out = Image.new("RGB", (width, max(p.height for p in pictures)), "white")
    x = 0
    for p in pictures:
        out.paste(p, (x, 0))
        x += p.width + gap
    return out


def description(params: dict[str, object]) -> str:
    """The one-line text of the parameters, as ``tpviz.save_figure`` writes it: "k=v  ·  k=v"."""
    return "  ·  ".join(f"{k}={v}" for k, v in params.items() if not isinstance(v, (dict, list)))


def file_name(params: dict[str, object]) -> str:
    """A file name from the parameters, e.g. "snail_SqueezeNet_noise_lr5_L2-0.001_200it.png" (safe characters)."""
    parts = [params.get("class"), params.get("model"), params.get("start")]
    vary = params.get("vary")
    for knob, short in (("lr", "lr{}"), ("l2_reg", "L2-{}"), ("iterations", "{}it")):
        parts.append(f"{knob.split('_')[0]}-row" if knob == vary else short.format(_g(params.get(knob))))
    if params.get("compare"):
        parts.append("vs-" + str(params["compare"]["model"]))  # type: ignore[index]
    if vary:
        parts.append("filmstrip")
    return re.sub(r"[^A-Za-z0-9.+_-]+", "-", "_".join(str(p) for p in parts if p is not None)).strip("-") + ".png"


def write_png(shot: Shot, folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``shot`` as ``folder/shot.name`` with its parameters and code in the PNG's text chunks; the path.

    Raises:
        InputError: the file exists and ``overwrite`` is False, or the folder cannot be written.
    """
    target = user_path(folder, "the save folder") / shot.name
    info = PngInfo()
    info.add_text("Description", description(shot.params))
    info.add_text("Parameters", json.dumps(shot.params, default=str))
    info.add_text("Source", shot.code)
    info.add_text("Software", "tpviz explorer")
    with atomic_path(target, "saved picture", overwrite=overwrite,
                     overwrite_hint="press the button again to replace it") as tmp:
        shot.picture.save(tmp, format="PNG", pnginfo=info)
    return target


class Saver:
    """The save controls: ``folder`` (a ``Text``), ``what`` (image or filmstrip), the ``button`` and its ``output``
    (where it says what it wrote and prints the code that reproduces it).

    ``make(what)`` builds the ``Shot`` of the view on display. A file that exists is never replaced on the first
    press: the button turns into "overwrite?" and only a second press, for the same file, replaces it.
    """

    def __init__(self, make: Callable[[str], Shot]) -> None:
        self._make = make
        self._pending: Path | None = None
        self.folder = w.Text(value=DEFAULT_FOLDER, description="save to folder", placeholder=DEFAULT_FOLDER,
                             style={"description_width": "100px"}, layout=w.Layout(width="340px"))
        self.what = w.ToggleButtons(options=[("image", "image"), ("filmstrip", "filmstrip")], value="image",
                                    description="save what", tooltips=["the image(s) on display", "the filmstrip row"],
                                    style={"description_width": "70px", "button_width": "80px"},
                                    layout=w.Layout(width="300px", flex="0 0 auto"))
        self.button = w.Button(description="save PNG", icon="save",
                               tooltip="write the current view as a PNG with its parameters, and print its code")
        self.output = w.Output()
        for control, name in ((self.folder, "save-folder"), (self.what, "save-what"), (self.button, "save"),
                              (self.output, "save-output")):
            control.add_class(f"tpviz-{name}")
        self.button.on_click(lambda _: self.save())
        self.folder.observe(lambda _: self.reset(), names="value")
        self.what.observe(lambda _: self.reset(), names="value")
        row = w.HBox([self.folder, self.what, self.button], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = w.VBox([row, self.output])

    def save(self) -> Path | None:
        """What a press does: write the file (or ask first when it exists); the path written, or None."""
        self.output.outputs = ()
        try:
            shot = self._make(self.what.value)
            target = user_path(self.folder.value, "the save folder") / shot.name
            if os.path.lexists(target) and self._pending != target:
                self._pending = target
                self.button.description, self.button.button_style = "overwrite?", "warning"
                self.button.tooltip = f"{target} exists: press again to replace it"
                self.output.append_stdout(f"{target} exists already: press 'overwrite?' to replace it, or choose "
                                          "another folder\n")
                return None
            path = write_png(shot, self.folder.value, overwrite=self._pending == target)
        except Exception as err:  # noqa: BLE001 - a button has nowhere to raise to: said in the widget
            self.reset()
            hint = "" if isinstance(err, TpvizError) else " (a bug in tpviz: please report it with this line)"
            self.output.append_stderr(f"could not save: {type(err).__name__}: {err}{hint}\n")
            return None
        self.reset()
        self.output.append_stdout(f"wrote {path}\n# to compute it again:\n{shot.code}\n")
        return path

    def reset(self) -> None:
        """Forget a pending "overwrite?" (the view, folder or choice changed)."""
        self._pending = None
        self.button.description, self.button.button_style = "save PNG", ""
        self.button.tooltip = "write the current view as a PNG with its parameters, and print its code"


def _wrap(text: str, face: object, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}".strip()
        if line and face.getlength(trial) > width:  # type: ignore[attr-defined]
            lines.append(line)
            trial = word
        line = trial
    return [*lines, line]


def _g(value: object) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)
