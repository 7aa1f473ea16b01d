"""The explorer's controls: the standard ipywidgets it is made of, each tagged ``tpviz-<name>`` for the browser
test, laid out in one box (a base class of ``Explorer``, which observes them)."""

from __future__ import annotations

import ipywidgets as w
from torch import nn

from ..algorithms.classviz import Init
from ..imagenet.classes import class_name
from .view import nearest_value


class Controls:
    """The dropdowns, sliders, off-grid boxes, progress bar, status, title, image, errors, and ``widget``."""

    model: w.Dropdown
    target: w.Dropdown
    start: w.Dropdown
    lr: w.SelectionSlider
    l2_reg: w.SelectionSlider
    iterations: w.SelectionSlider
    custom_lr: w.FloatText
    custom_l2_reg: w.FloatText
    custom_iterations: w.IntText
    compute: w.Button
    progress: w.IntProgress
    status: w.Label
    title: w.HTML
    image: w.Image
    errors: w.Output
    widget: w.VBox

    def _build(self, models: dict[str, nn.Module], targets: list[int], starts: dict[str, Init],
               grid: dict[str, list], display_size: int) -> None:
        wide = {"description_width": "100px"}
        self.model = w.Dropdown(options=list(models), description="model", style=wide)
        self.target = w.Dropdown(options=[(class_name(i), i) for i in targets], description="class", style=wide)
        self.start = w.Dropdown(options=list(starts), description="start image", style=wide)
        self.lr, self.l2_reg, self.iterations = (
            w.SelectionSlider(options=[(f"{v:g}", v) for v in grid[k]], value=nearest_value(grid[k], k),
                              description=label, continuous_update=True, style=wide, layout=w.Layout(width="480px"))
            for k, label in (("lr", "learning rate"), ("l2_reg", "L2"), ("iterations", "iterations")))
        self.custom_lr = w.FloatText(value=self.lr.value, description="lr", style={"description_width": "30px"},
                                     layout=w.Layout(width="130px"))
        self.custom_l2_reg = w.FloatText(value=self.l2_reg.value, description="L2",
                                         style={"description_width": "30px"}, layout=w.Layout(width="130px"))
        self.custom_iterations = w.IntText(value=self.iterations.value, description="iterations",
                                           style={"description_width": "70px"}, layout=w.Layout(width="160px"))
        self.compute = w.Button(description="compute", tooltip="compute this setting (it need not be in the grid)")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="progress", style=wide)
        self.status = w.Label(value="not computed yet: display the explorer")
        self.title = w.HTML(value="")
        self.image = w.Image(format="png", width=display_size, height=display_size)
        self.errors = w.Output()
        for control, name in ((self.model, "model"), (self.target, "class"), (self.start, "start"),
                              (self.lr, "lr"), (self.l2_reg, "l2"), (self.iterations, "iterations"),
                              (self.custom_lr, "custom-lr"), (self.custom_l2_reg, "custom-l2"),
                              (self.custom_iterations, "custom-iterations"), (self.compute, "compute"),
                              (self.progress, "progress"), (self.status, "status"), (self.title, "title"),
                              (self.image, "image"), (self.errors, "errors")):
            control.add_class(f"tpviz-{name}")
        off_grid = w.HBox([w.Label("outside the grid:"), self.custom_lr, self.custom_l2_reg, self.custom_iterations,
                           self.compute])
        self.widget = w.VBox([w.HBox([self.model, self.target, self.start]), self.lr, self.l2_reg, self.iterations,
                              off_grid, w.HBox([self.progress, self.status]), self.title, self.image, self.errors])
        self.widget.add_class("tpviz-explorer")
