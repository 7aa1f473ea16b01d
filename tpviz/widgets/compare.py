"""The explorer's compare panel: the same setting for a second model beside the first, with its own prediction
(and, for a model on random weights, the red warning its title carries)."""

from __future__ import annotations

import ipywidgets as w

from ..imagenet.classes import class_name
from .view import View, png, title_html


class ComparePanel:
    """``toggle`` (compare on or off), ``other`` (the second model), and the second ``image`` with its ``title``.

    ``widget`` holds the controls; ``panel`` (the second picture) is hidden while ``toggle`` is off. With one
    model there is nothing to compare: the toggle is disabled and says so.
    """

    def __init__(self, models: list[str], *, display_size: int) -> None:
        others = models[1:]
        self.toggle = w.ToggleButton(value=False, description="compare models", icon="columns",
                                     tooltip="show the same setting for a second model beside the first"
                                     if others else "give the explorer two models to compare them",
                                     disabled=not others)
        self.other = w.Dropdown(options=models, value=others[0] if others else models[0], description="with model",
                                style={"description_width": "80px"}, disabled=not others)
        self.title = w.HTML(value="")
        self.image = w.Image(format="png", width=display_size, height=display_size)
        self.panel = w.VBox([self.title, self.image], layout=w.Layout(display="none", margin="0 0 0 12px"))
        self.widget = w.HBox([self.toggle, self.other])
        for control, name in ((self.toggle, "compare"), (self.other, "compare-model"), (self.title, "compare-title"),
                              (self.image, "compare-image"), (self.panel, "compare-panel")):
            control.add_class(f"tpviz-{name}")
        self.view: View | None = None

    @property
    def on(self) -> bool:
        return bool(self.toggle.value)

    def show(self, view: View | None, picture: bytes | None, *, random: bool, waiting: str = "") -> None:
        """Show ``view`` (the second model's) and its ``picture`` (PNG), or say what it waits for (``waiting``)
        and keep the last image."""
        self.panel.layout.display = "flex" if self.on else "none"
        if view is None:
            self.title.value = f"<b>{self.other.value}</b>: {waiting}"
            return
        self.view = view
        self.title.value = title_html(view, random=random)
        self.image.tooltip = f"{class_name(view.target)} by {view.model}, lr={view.lr:g}, L2={view.l2_reg:g}, " \
                             f"{view.iterations} iterations"
        self.image.value = picture if picture is not None else png(view.image, size=int(self.image.width))

    def hide(self) -> None:
        self.panel.layout.display = "none"

