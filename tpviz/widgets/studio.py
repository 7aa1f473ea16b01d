"""The explorer students use: the live sliders of ``live.Explorer`` with a larger image, its curve over the
iterations, the filmstrip, the compare panel and the save controls, and one rule that keeps the controls in
agreement with the picture.

The off-grid rule: a picture outside the grid (``show(lr=6)``, the *compute* button) comes from the boxes
"outside the grid", which are outlined as its source; the sliders are disabled (greyed), those whose value the
picture has move to it, the others hide their number, and a badge names what is off the grid ("off grid: lr=6").
*back to the grid* (or a filmstrip thumbnail, or ``show`` with grid values) shows the sliders' setting again and
enables them.
"""

from __future__ import annotations

import io
from functools import partial
from itertools import product

import ipywidgets as w
from PIL import Image

from ..algorithms.sweeps import Sweep
from ..errors import InputError
from ..imagenet.classes import class_name
from ..plots.style import model_label
from .cells import Key
from .compare import ComparePanel
from .curve import curve_png
from .filmstrip import Filmstrip, knob_text
from .live import Explorer as Sliders
from .saving import Saver, Shot
from .shots import KNOBS, filmstrip_shot, image_shot
from .view import View, grid_index, png

SOURCE_BORDER, BADGE_COLOR = "2px solid #d95319", "#d95319"


def grid_view(part: Sweep, key: Key, *, lr: float, l2_reg: float, iterations: int) -> View | None:
    """The ``View`` of one setting of a computed part of grid ``key`` (None when the part does not hold it)."""
    at = part.index(lr=lr, l2_reg=l2_reg, iterations=iterations)
    if at is None:
        return None
    return View(image=part.images[at].unsqueeze(0), model=key[0], target=key[1], start=key[2], lr=lr, l2_reg=l2_reg,
                iterations=iterations, predicted=int(part.predicted[at]), probability=float(part.probability[at]),
                target_probability=float(part.target_probability[at]), on_grid=True, score=float(part.score[at]))


class Explorer(Sliders):
    """``live.Explorer`` plus: ``curve`` (p(target) and score over the iterations of the setting on display),
    ``filmstrip`` (the grid's row along ``last_knob``, the knob last moved), ``compare`` (a second model beside
    the first), ``saver`` (save the view as a PNG), and the off-grid ``badge`` with its ``back`` button (the
    module's docstring gives the rule). Build it with ``explorer(...)``.
    """

    def __init__(self, *args: object, thumb_size: int = 112, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._thumb_size = thumb_size
        self._thumbs: dict[tuple[Key, float, float, int], bytes] = {}
        self._asked: set[tuple[Key, float, float, int]] = set()  # off-grid settings queued for the second model
        self.last_knob = "lr"
        self.sliders = {"lr": self.lr, "l2_reg": self.l2_reg, "iterations": self.iterations}
        self.badge = w.HTML(value="")
        self.back = w.Button(description="back to the grid", disabled=True, icon="undo",
                             tooltip="show the sliders' setting again (the sliders work again)")
        self.back.on_click(lambda _: self.refresh())
        self.curve = w.Image(format="png", width=320, height=150)
        self.filmstrip = Filmstrip(thumb_size=thumb_size, on_select=self._select)
        self.compare = ComparePanel(list(self._models), display_size=self._display_size)
        for control in (self.compare.toggle, self.compare.other):
            control.observe(lambda _: self._guard(self._update_compare), names="value")
        self.saver = Saver(self._shot)
        for control, name in ((self.badge, "off-grid"), (self.back, "back"), (self.curve, "curve")):
            control.add_class(f"tpviz-{name}")
        children = list(self.widget.children)
        self._source = next(c for c in children if isinstance(c, w.HBox) and self.custom_lr in c.children)
        self._source.add_class("tpviz-source-box")
        head, status = children[0], next(c for c in children if isinstance(c, w.HBox) and self.status in c.children)
        picture = w.VBox([self.title, self.image, w.HTML("p(target) and score over the iterations (the grid's "
                                                         "snapshots of this setting):"), self.curve])
        sliders = w.VBox([self.lr, self.l2_reg, self.iterations], layout=w.Layout(flex="0 0 auto"))
        self.widget.children = [head, w.HBox([sliders, w.VBox([self.badge, self.back], layout=w.Layout(width="360px"))]),
                                self._source, status, self.compare.widget, w.HBox([picture, self.compare.panel]),
                                self.filmstrip.widget, self.saver.widget, self.errors]

    # -- what moves the picture ---------------------------------------------------------------------------------

    def _on_change(self, change: dict) -> None:
        owner = change.get("owner") if isinstance(change, dict) else None
        if not self._quiet:
            self.last_knob = next((k for k, s in self.sliders.items() if s is owner), self.last_knob)
        super()._on_change(change)

    def _select(self, knob: str, value: float) -> None:
        """A filmstrip thumbnail was pressed: show its setting (the other knobs as the sliders hold them)."""
        setting = {k: s.value for k, s in self.sliders.items()} | {knob: value}
        self._guard(lambda: self.show(**setting))

    def _display(self, view: View) -> View:
        if not view.on_grid and view_key(view) != self._key():
            return view  # an off-grid job finished after the controls moved to another grid: cached, not shown
        super()._display(view)
        self.image.tooltip = f"{class_name(view.target)} by {view.model}, {knob_text('lr', view.lr)}, " \
                             f"{knob_text('l2_reg', view.l2_reg)}, {view.iterations} iterations"
        self._agree(view)
        self._update_curve(view)
        self._update_filmstrip(view)
        self._update_compare()
        self.saver.reset()
        return view

    def _fill(self, block) -> None:  # noqa: ANN001 - cells.Block
        super()._fill(block)
        with self._worker.lock:
            part = self._plan.find(block.key, block.lrs[0], block.l2s[0])
        if self._background and part is not None:  # its thumbnails now, on the worker, not when the row asks
            for lr, l2, its in product(part.lr, part.l2_reg, part.iterations):
                self._thumb(grid_view(part, block.key, lr=lr, l2_reg=l2, iterations=its))
        if self._background and self.compare.on and self.current is not None and block.key == self._compare_key():
            self._guard(self._update_compare)
        elif self._background and block.key == self._key() and self.current is not None:
            self._guard(lambda: self._update_filmstrip(self.current))  # type: ignore[arg-type]

    # -- keeping the controls in agreement with the picture -----------------------------------------------------

    def _agree(self, view: View) -> None:
        """Apply the off-grid rule (module docstring) for ``view``."""
        off = [] if view.on_grid else [k for k in KNOBS if grid_index(self._grid, **{k: getattr(view, k)}) is None]
        with self._silently():
            for knob, slider in self.sliders.items():
                if not view.on_grid and knob not in off:
                    slider.value = self._grid[knob][grid_index(self._grid, **{knob: getattr(view, knob)})[knob]]
                slider.disabled = not view.on_grid
                slider.readout = knob not in off
        names = ", ".join(knob_text(k, getattr(view, k)) for k in off)
        self.badge.value = "" if view.on_grid else (
            f'<span style="color:{BADGE_COLOR}"><b>off grid: {names}</b></span><br>from the boxes "outside the grid" '
            "(outlined); the sliders are off until <i>back to the grid</i>")
        self.back.disabled = view.on_grid
        self._source.layout.border = "" if view.on_grid else SOURCE_BORDER
        (self._source.remove_class if view.on_grid else self._source.add_class)("tpviz-source")

    # -- the curve, the filmstrip, the second model -------------------------------------------------------------

    def _part(self, key: Key, lr: float, l2_reg: float) -> Sweep | None:
        with self._worker.lock:
            return self._plan.find(key, lr, l2_reg)

    def _update_curve(self, view: View) -> None:
        part = self._part(view_key(view), view.lr, view.l2_reg) if view.on_grid else None
        at = None if part is None else part.index(lr=view.lr, l2_reg=view.l2_reg, iterations=view.iterations)
        if part is None or at is None:  # off the grid: the final image only
            its, p, score = [view.iterations], [view.target_probability], [view.score]
        else:
            its, p, score = part.iterations, part.target_probability[at[:2]].tolist(), part.score[at[:2]].tolist()
        self.curve.value = curve_png(its, p, score, current=view.iterations, target=class_name(view.target))

    def _row(self, view: View, knob: str) -> list[tuple[float, View | None]]:
        """The grid's values along ``knob`` at the sliders' other knobs, each with its view (None: not computed)."""
        fixed = {k: s.value for k, s in self.sliders.items()}
        key, row = view_key(view), []
        for value in self._grid[knob]:
            setting = fixed | {knob: value}
            part = self._part(key, setting["lr"], setting["l2_reg"])
            row.append((value, None if part is None else grid_view(part, key, **setting)))
        return row

    def _update_filmstrip(self, view: View) -> None:
        knob = self.last_knob
        row = self._row(view, knob)
        on = view.on_grid and all(getattr(view, k) == s.value for k, s in self.sliders.items())
        current = next((i for i, (v, _) in enumerate(row) if v == getattr(view, knob)), None) if on else None
        fixed = " · ".join(knob_text(k, s.value) for k, s in self.sliders.items() if k != knob)
        self.filmstrip.update(knob, [v for v, _ in row], [self._thumb(c) for _, c in row], current, fixed=fixed)

    def _picture(self, view: View) -> bytes:
        """``view``'s PNG at the display size, encoded once (``live.Explorer``'s cache)."""
        at = (*view_key(view), view.lr, view.l2_reg, view.iterations, view.on_grid)
        if at not in self._pictures:
            self._pictures[at] = png(view.image, size=self._display_size)
        return self._pictures[at]

    def _thumb(self, view: View | None) -> bytes | None:
        """A grid cell's thumbnail, scaled down from its PNG at the display size (nearest neighbour), cached."""
        if view is None:
            return None
        at = (view_key(view), view.lr, view.l2_reg, view.iterations)
        if at not in self._thumbs:
            self._thumbs[at] = shrink(self._picture(view), self._thumb_size)
        return self._thumbs[at]

    def _compare_key(self) -> Key | None:
        view = self.current
        return None if view is None else (self.compare.other.value, view.target, view.start)

    def _update_compare(self) -> None:
        view, key = self.current, self._compare_key()
        if not self.compare.on or view is None or key is None:
            self.compare.hide()
            return
        random = model_label(self._models[key[0]])[1]
        other = self._other_view(key, view)
        self.compare.show(other, None if other is None else self._picture(other), random=random,
                          waiting="not computed yet: it appears here when it is (in the background: sliders and "
                          "cells work meanwhile)")
        if not self._background:
            self._ready()

    def _other_view(self, key: Key, view: View) -> View | None:
        """The second model's view of ``view``'s setting; computed now (synchronous) or queued (None meanwhile)."""
        setting = {"lr": view.lr, "l2_reg": view.l2_reg, "iterations": view.iterations}
        if not view.on_grid:
            at = (key, view.lr, view.l2_reg, view.iterations)
            cached = self._off_grid.get(at)
            if cached is not None or not self._background:
                return cached or self._compute_off_grid(*at)
            if at not in self._asked:  # once, however often the panel is redrawn meanwhile
                self._asked.add(at)
                with self._worker.lock:
                    self._jobs.append(partial(self._guard, partial(self._other_off_grid, key, view)))
                self._worker.wake()
            return None
        part = self._part(key, view.lr, view.l2_reg)
        if part is None:
            with self._worker.lock:
                self._plan.want(key, (view.lr, view.l2_reg), split=self._background)
            if self._background:
                self._worker.wake()
                return None
            while (block := self._plan.next()) is not None:
                self._fill(block)
            part = self._part(key, view.lr, view.l2_reg)
        return None if part is None else grid_view(part, key, **setting)

    def _other_off_grid(self, key: Key, view: View) -> None:
        self._compute_off_grid(key, view.lr, view.l2_reg, view.iterations)
        if self.current is view:
            self._update_compare()
        self._ready()

    # -- saving ---------------------------------------------------------------------------------------------------

    def _shot(self, what: str) -> Shot:
        """The ``Shot`` the save button writes: the image(s) on display, or the filmstrip."""
        view = self.current
        if view is None:
            raise InputError("nothing to save yet: display the explorer (or call refresh()) first")
        common = {"settings": self._settings, "models": self._models, "starts": self._starts}
        if what == "filmstrip":
            row = self._row(view, self.last_knob)
            missing = [knob_text(self.last_knob, v) for v, c in row if c is None]
            if missing:
                raise InputError(f"the filmstrip is not computed yet ({', '.join(missing)}): save it once its "
                                 "thumbnails are shown, or save the image")
            return filmstrip_shot(view, self.last_knob, row, size=max(self._thumb_size, 112), **common)  # type: ignore[arg-type]
        other = self.compare.view if self.compare.on else None
        same = other is not None and all(getattr(other, k) == getattr(view, k) for k in (*KNOBS, "target", "start"))
        return image_shot([view, other] if same else [view], size=self._display_size, **common)  # type: ignore[list-item]


def view_key(view: View) -> Key:
    return view.model, view.target, view.start


def shrink(picture: bytes, size: int) -> bytes:
    """A PNG scaled to ``size`` x ``size`` by nearest neighbour (a thumbnail of an upscaled image: its pixels)."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(picture)).resize((size, size), Image.Resampling.NEAREST).save(buffer, format="PNG",
                                                                                         compress_level=1)
    return buffer.getvalue()
