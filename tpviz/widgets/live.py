"""A live class-visualization explorer for JupyterLab, made of standard ipywidgets only.

``from tpviz.widgets import explorer``. The sliders index into a precomputed sweep grid, so scrubbing is
instant; a new model, class or start image computes its grid once (with a progress bar) and caches it; a
setting outside the grid is computed on demand, also with the progress bar. Errors are shown in the widget.
(``import tpviz`` does not import ipywidgets; this module does.)
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import ipywidgets as w
import torch
from torch import nn

from .. import validate
from ..algorithms.ascent import AscentSettings
from ..algorithms.classviz import Init, start_image, visualize
from ..algorithms.inputs import model_device
from ..algorithms.sweeps import Sweep, grid_values, sweep_grid
from ..course import TP
from ..errors import InputError, TpvizError
from ..imagenet.classes import class_index, class_name
from ..plots.style import RANDOM_COLOR, model_label
from .view import View, check_classes, check_models, grid_index, nearest_value, png, title_html

GridKey = tuple[str, int, str]  # (model, class index, start)


class Explorer:
    """Sliders for learning rate, L2 and iterations, dropdowns for model, class and start image, and the image.

    Build it with ``explorer(...)``; show it as a cell's last expression (or ``display(ex)``). Attributes
    are the controls (``model``, ``target``, ``start``, ``lr``, ``l2_reg``, ``iterations``; off the grid:
    ``custom_lr``, ``custom_l2_reg``, ``custom_iterations`` and the ``compute`` button), the ``image``
    (PNG bytes), its ``title``, the ``progress`` bar with its ``status`` line, the ``errors`` output, and
    ``widget``, the whole box. ``current`` is the ``View`` on display (None before the first compute).
    """

    def __init__(self, models: dict[str, nn.Module], targets: list[int], starts: dict[str, Init], *,
                 grid: dict[str, list], settings: AscentSettings, batch_size: int, display_size: int) -> None:
        self._models, self._starts, self._grid, self._settings = models, starts, grid, settings
        self._batch_size, self._display_size = batch_size, display_size
        self._grids: dict[GridKey, Sweep] = {}
        self._off_grid: dict[tuple[GridKey, float, float, int], View] = {}
        self._quiet = False
        self.current: View | None = None

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
        for control in (self.model, self.target, self.start, self.lr, self.l2_reg, self.iterations):
            control.observe(self._on_change, names="value")
        self.compute.on_click(lambda _: self._guard(self._compute_custom))
        off_grid = w.HBox([w.Label("outside the grid:"), self.custom_lr, self.custom_l2_reg, self.custom_iterations,
                           self.compute])
        self.widget = w.VBox([w.HBox([self.model, self.target, self.start]), self.lr, self.l2_reg, self.iterations,
                              off_grid, w.HBox([self.progress, self.status]), self.title, self.image, self.errors])
        self.widget.add_class("tpviz-explorer")

    @property
    def cached(self) -> list[tuple[str, str, str]]:
        """The (model, class name, start) grids computed so far, in order."""
        return [(m, class_name(t), s) for m, t, s in self._grids]

    def refresh(self) -> View | None:
        """Show the controls' setting, computing its grid first if it is not cached. Errors are shown, not raised."""
        return self._guard(self._show_grid)

    def show(self, *, lr: float | None = None, l2_reg: float | None = None, iterations: int | None = None,
             model: str | None = None, target: int | str | None = None, start: str | None = None) -> View | None:
        """Show one setting as if the controls were moved there (None: leave that control as it is).

        A setting in the grid moves the sliders; one outside it is computed on demand with
        ``tpviz.class_visualization`` (progress bar), cached, and shown with the sliders left where they
        are. Bad arguments raise a ``tpviz.InputError``; a failed computation is shown in the widget.
        Returns the ``View`` on display (None after an error).
        """
        names = {"model": (model, list(self._models)), "start": (start, list(self._starts))}
        for what, (value, options) in names.items():
            if value is not None and value not in options:
                raise InputError(f"{what} {value!r} is not one of this explorer's: {options}; "
                                 f"build it with {what}s={{...}} to add it")
        cls = None if target is None else class_index(target)
        if cls is not None and cls not in [v for _, v in self.target.options]:
            raise InputError(f"class {class_name(cls)!r} is not one of this explorer's classes "
                             f"{[label for label, _ in self.target.options]}; build it with classes=[...] to add it")
        lr = self.lr.value if lr is None else lr
        l2_reg = self.l2_reg.value if l2_reg is None else l2_reg
        iterations = self.iterations.value if iterations is None else iterations
        self._settings.but(lr=lr, l2_reg=l2_reg, iterations=iterations)  # checks them
        at = grid_index(self._grid, lr=lr, l2_reg=l2_reg, iterations=iterations)
        with self._silently():
            self.model.value = self.model.value if model is None else model
            self.start.value = self.start.value if start is None else start
            self.target.value = self.target.value if cls is None else cls
            if at is not None:
                for slider, (k, i) in zip((self.lr, self.l2_reg, self.iterations), at.items()):
                    slider.value = self._grid[k][i]
        if at is not None:
            return self.refresh()
        return self._guard(lambda: self._show_off_grid(float(lr), float(l2_reg), int(iterations)))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        if self.current is None:  # the first grid is computed once the progress bar is on screen
            self.refresh()

    # -- internals -------------------------------------------------------------------------------------------

    def _on_change(self, _: dict) -> None:
        if not self._quiet:
            self.refresh()

    @contextmanager
    def _silently(self) -> Iterator[None]:
        """Move several controls without each move triggering a computation."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _key(self) -> GridKey:
        return self.model.value, self.target.value, self.start.value

    def _show_grid(self) -> View:
        key = self._key()
        grid = self._grids.get(key)
        if grid is None:
            grid = self._compute_grid(key)
        at = grid.index(lr=self.lr.value, l2_reg=self.l2_reg.value, iterations=self.iterations.value)
        assert at is not None, "the sliders hold grid values only"
        view = View(image=grid.images[at].unsqueeze(0), model=key[0], target=key[1], start=key[2],
                    lr=self.lr.value, l2_reg=self.l2_reg.value, iterations=self.iterations.value,
                    predicted=int(grid.predicted[at]), probability=float(grid.probability[at]),
                    target_probability=float(grid.target_probability[at]), on_grid=True)
        self.custom_lr.value, self.custom_l2_reg.value, self.custom_iterations.value = view.lr, view.l2_reg, view.iterations
        return self._display(view)

    def _compute_grid(self, key: GridKey) -> Sweep:
        name, target, start = key
        settings = len(self._grid["lr"]) * len(self._grid["l2_reg"])
        self._busy(f"computing {class_name(target)} on {name} from {start}: {settings} settings, "
                   f"up to {max(self._grid['iterations'])} iterations")
        model = self._models[name]
        grid = sweep_grid(model, target, self._settings, lrs=self._grid["lr"], l2s=self._grid["l2_reg"],
                          iterations=self._grid["iterations"], init=self._init(start, model),
                          batch_size=self._batch_size, progress=self._tick)
        self._grids[key] = grid
        return grid

    def _show_off_grid(self, lr: float, l2_reg: float, iterations: int) -> View:
        key = self._key()
        self.custom_lr.value, self.custom_l2_reg.value, self.custom_iterations.value = lr, l2_reg, iterations
        view = self._off_grid.get((key, lr, l2_reg, iterations))
        if view is None:
            name, target, start = key
            self._busy(f"computing {class_name(target)} on {name} from {start} at lr={lr:g}, L2={l2_reg:g}, "
                       f"{iterations} iterations (outside the grid)")
            model = self._models[name]
            result = visualize(model, target, self._settings.but(lr=lr, l2_reg=l2_reg, iterations=iterations),
                               init=self._init(start, model), progress=self._tick)
            view = View(image=result.images, model=name, target=target, start=start, lr=lr, l2_reg=l2_reg,
                        iterations=iterations, predicted=int(result.predicted[0]),
                        probability=float(result.probability[0]),
                        target_probability=float(result.target_probability[0]), on_grid=False)
            self._off_grid[(key, lr, l2_reg, iterations)] = view
        return self._display(view)

    def _compute_custom(self) -> View | None:
        return self.show(lr=self.custom_lr.value, l2_reg=self.custom_l2_reg.value,
                         iterations=self.custom_iterations.value)

    def _init(self, start: str, model: nn.Module) -> Init:
        init = self._starts[start]
        device = model_device(model)
        return init.to(device) if isinstance(init, torch.Tensor) and device is not None else init

    def _display(self, view: View) -> View:
        self.image.value = png(view.image, size=self._display_size)
        self.title.value = title_html(view, random=model_label(self._models[view.model])[1])
        self.current = view
        self._ready()
        return view

    def _busy(self, text: str) -> None:
        self.status.value = text
        self.progress.bar_style = "info"
        self.progress.value = 0

    def _tick(self, done: int, total: int) -> None:
        self.progress.max = max(1, total)
        self.progress.value = done

    def _ready(self) -> None:
        self.progress.value = self.progress.max
        self.progress.bar_style = "success"
        self.status.value = f"ready: {len(self._grids)} grid(s) cached, {len(self._off_grid)} setting(s) off the grid"

    def _guard(self, action: Callable[[], View | None]) -> View | None:
        """Run ``action``; show any error (or an interrupt) in the widget instead of raising it."""
        self.errors.outputs = ()
        try:
            return action()
        except KeyboardInterrupt:
            self._report("interrupted: nothing was cached for this setting; move a control to try again\n")
        except TpvizError as err:
            self._report(f"{type(err).__name__}: {err}\n")
        except Exception as err:  # a widget callback has nowhere to raise to: show the traceback
            self._report("".join(traceback.format_exception(type(err), err, err.__traceback__)))
        return None

    def _report(self, text: str) -> None:
        self.progress.bar_style = "danger"
        self.status.value = "error: see the message below"
        self.title.value = (f'<span style="color:{RANDOM_COLOR}"><b>could not compute this setting</b>: '
                            "the image below is the previous one</span>")
        self.errors.append_stderr(text)


def explorer(models: nn.Module | Mapping[str, nn.Module], *, classes: int | str | Sequence[int | str] = ("snail",),
             starts: Mapping[str, Init] | None = None, lr: Sequence[float] = TP.lrs,
             l2_reg: Sequence[float] = TP.l2s, iterations: Sequence[int] = TP.iteration_counts,
             blur_every: int | None = 10, blur_sigma: float = 0.5, max_jitter: int = 16, seed: int = TP.seed,
             size: int = 224, batch_size: int = 32, display_size: int | None = None) -> Explorer:
    """A live explorer of class visualizations: sliders over the grid ``lr`` x ``l2_reg`` x ``iterations``.

    Each (model, class, start) grid is one ``tpviz.sweep`` (all settings as batches, the iteration counts
    as snapshots of one run), computed when first needed with a progress bar and then cached, so moving a
    slider is instant. The "outside the grid" boxes compute any other setting on demand. Nothing is computed
    until the explorer is displayed (a cell's last expression, or ``display``) or ``refresh``/``show`` is
    called, so that the progress bar is on screen while the first grid is computed.

    Args:
        models: a model, or names -> models for the model dropdown (e.g. ``{"SqueezeNet": sq, "VGG16": vgg}``).
        classes: the class dropdown's classes, names or indices (e.g. ``["snail", "tarantula"]``).
        starts: names -> start images for the start dropdown: None for noise (drawn with ``seed``) or one
            image as model inputs (1, 3, size, size) (e.g. ``{"noise": None, "hay": x_hay}``). Default: noise.
        lr, l2_reg, iterations: the grid's values, one slider each; the sliders start at the TP's setting
            (lr 5, L2 1e-3, 200 iterations) or the grid value nearest to it.
        blur_every, blur_sigma, max_jitter, seed, size: as for ``tpviz.class_visualization``.
        batch_size: at most this many settings are computed at once.
        display_size: the image's size on screen in pixels (nearest-neighbour upscaling); default: ``size``
            times the smallest factor that reaches 224.

    Returns an ``Explorer``. Costs about len(lr)·len(l2_reg)·max(iterations) image-iterations per grid.
    """
    named = check_models(models)
    targets = check_classes(classes)
    starts = {"noise": None} if starts is None else dict(starts)
    lrs, l2s, its = grid_values(lr, l2_reg, iterations)
    grid = {"lr": lrs, "l2_reg": l2s, "iterations": its}
    settings = AscentSettings(lr=lrs[0], l2_reg=l2s[0], iterations=max(its), blur_every=blur_every,
                              blur_sigma=blur_sigma, max_jitter=max_jitter, seed=seed, size=size)
    batch_size = validate.count(batch_size, "batch_size")
    size = settings.size
    display_size = size * math.ceil(224 / size) if display_size is None else \
        validate.count(display_size, "display_size", high=4096)
    if not starts or not all(isinstance(k, str) for k in starts):
        raise InputError("starts must map names to start images, e.g. {'noise': None, 'hay': x_hay}")
    for name, init in starts.items():
        x = start_image(init, seed=seed, size=size, device=init.device if isinstance(init, torch.Tensor) else None)
        if x.shape[0] != 1:
            raise InputError(f"start {name!r} holds {x.shape[0]} images {tuple(x.shape)}: give one image "
                             f"(1, 3, {size}, {size}), e.g. x[:1]")
    return Explorer(named, targets, starts, grid=grid, settings=settings, batch_size=batch_size,
                    display_size=display_size)


