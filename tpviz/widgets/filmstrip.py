"""The explorer's filmstrip: the row of the grid along the knob last moved, the setting on display outlined, each
thumbnail an image over a button that selects it (Tab reaches the buttons; Enter or Space presses them)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from functools import cache

import ipywidgets as w
from PIL import Image

KNOB_NAMES = {"lr": "learning rate", "l2_reg": "L2 weight", "iterations": "iterations"}
OUTLINE, NO_OUTLINE = "3px solid #d95319", "3px solid transparent"


def knob_text(knob: str, value: float) -> str:
    """How a thumbnail's button names its value: "lr=5", "L2=0.001", "200 it."."""
    return {"lr": f"lr={value:g}", "l2_reg": f"L2={value:g}", "iterations": f"{int(value)} it."}[knob]


class Filmstrip:
    """``label`` (what the row varies), then one ``Thumb`` per grid value; ``widget`` holds them.

    ``update(knob, values, images, current)`` redraws it: ``images[i]`` is the PNG of ``values[i]`` (None: not
    computed yet), ``current`` the index outlined (None: the picture is off the grid). A button press calls
    ``on_select(knob, value)``.
    """

    def __init__(self, *, thumb_size: int, on_select: Callable[[str, float], None]) -> None:
        self._thumb_size, self._on_select = thumb_size, on_select
        self.knob: str | None = None
        self.values: list[float] = []
        self.current: int | None = None
        self.label = w.HTML(value="")
        self.thumbs: list[Thumb] = []
        self.row = w.HBox([], layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox([self.label, self.row])
        self.widget.add_class("tpviz-filmstrip")

    def update(self, knob: str, values: Sequence[float], images: Sequence[bytes | None], current: int | None,
               *, fixed: str) -> None:
        """Show the row along ``knob`` (``fixed``: the other knobs' values, for the label)."""
        if knob != self.knob or len(values) != len(self.thumbs):
            old, self.thumbs = self.thumbs, [Thumb(self._thumb_size, self._select) for _ in values]
            self.row.children = [t.box for t in self.thumbs]
            for thumb in old:
                thumb.close()
        self.knob, self.values, self.current = knob, list(values), current
        where = "" if current is not None else " · <b>the picture is off the grid</b>: none outlined"
        self.label.value = (f"<b>along the {KNOB_NAMES[knob]}</b> (the knob last moved) at {fixed}{where} · "
                            "press a thumbnail's button to show it")
        for i, (thumb, value, image) in enumerate(zip(self.thumbs, values, images)):
            thumb.show(knob, value, image, outlined=i == current)

    def _select(self, thumb: Thumb) -> None:
        if self.knob is not None and thumb in self.thumbs:
            self._on_select(self.knob, self.values[self.thumbs.index(thumb)])


class Thumb:
    """One thumbnail: ``image`` over the ``button`` that selects it, in ``box`` (outlined when current)."""

    def __init__(self, size: int, on_press: Callable[[Thumb], None]) -> None:
        self.image = w.Image(format="png", width=size, height=size)
        self.button = w.Button(description="", layout=w.Layout(width=f"{size}px"))
        self.button.on_click(lambda _: on_press(self))
        self.box = w.VBox([self.image, self.button], layout=w.Layout(border=NO_OUTLINE, padding="2px", margin="2px"))
        self.box.add_class("tpviz-thumb")
        self.button.add_class("tpviz-thumb-button")

    def show(self, knob: str, value: float, image: bytes | None, *, outlined: bool) -> None:
        text = knob_text(knob, value)
        self.image.value = image if image is not None else placeholder()
        self.image.tooltip = f"{KNOB_NAMES[knob]} {value:g}" + ("" if image is not None else ": not computed yet")
        self.button.description = text + ("" if image is not None else " …")
        self.button.tooltip = (f"show {KNOB_NAMES[knob]} {value:g}" + ("" if image is not None else
                               " (not computed yet)") + (" (on display)" if outlined else ""))
        self.button.button_style = "info" if outlined else ""
        self.box.layout.border = OUTLINE if outlined else NO_OUTLINE
        (self.box.add_class if outlined else self.box.remove_class)("tpviz-current")

    def close(self) -> None:
        for widget in (self.image, self.button, self.box):
            widget.close()


@cache
def placeholder() -> bytes:
    """A light grey PNG: a thumbnail not computed yet."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (225, 225, 225)).save(buffer, format="PNG")
    return buffer.getvalue()
