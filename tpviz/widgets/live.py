"""A live class-visualization explorer for JupyterLab, made of standard ipywidgets only.

``from tpviz.widgets import explorer``. The sliders index into sweep grids computed once and cached, so
scrubbing is instant; a new model, class or start image computes its grid: the setting on screen first, the
rest on a worker thread (``background.py``) in the order ``cells.Plan`` keeps, the kernel free meanwhile. A
setting outside the grid is computed on demand. Errors are shown in the widget.
(``import tpviz`` does not import ipywidgets; this module does.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from itertools import product

import torch
from torch import nn

from ..algorithms.ascent import AscentSettings
from ..algorithms.classviz import Init, visualize
from ..algorithms.inputs import model_device
from ..algorithms.sweeps import sweep_grid
from ..errors import InputError
from ..imagenet.classes import class_index, class_name
from ..plots.style import model_label
from .background import Cancelled, Job, Worker
from .cells import Block, Key, Plan
from .controls import Controls
from .status import StatusArea
from .view import View, grid_index, png, title_html


class Explorer(Controls, StatusArea):
    """Sliders for learning rate, L2 and iterations, dropdowns for model, class and start image, and the image.

    Build it with ``explorer(...)``; show it as a cell's last expression (or ``display(ex)``). Attributes
    are the controls (``model``, ``target``, ``start``, ``lr``, ``l2_reg``, ``iterations``; off the grid:
    ``custom_lr``, ``custom_l2_reg``, ``custom_iterations`` and the ``compute`` button), the ``image``
    (PNG bytes), its ``title``, the ``progress`` bar with its ``status`` line, the ``errors`` output, and
    ``widget``, the whole box. ``current`` is the ``View`` on display (None before the first compute).
    With ``background`` grids fill in on a worker thread: ``wait()`` waits for it, ``close()`` stops it.
    """

    def __init__(self, models: dict[str, nn.Module], targets: list[int], starts: dict[str, Init], *,
                 grid: dict[str, list], settings: AscentSettings, batch_size: int, display_size: int,
                 background: bool = False) -> None:
        self._models, self._starts, self._grid, self._settings = models, starts, grid, settings
        self._batch_size, self._display_size, self._background = batch_size, display_size, background
        self._plan = Plan(grid["lr"], grid["l2_reg"])
        self._jobs: list[Job] = []  # off-grid settings, before the plan's blocks
        self._worker = Worker(self._next_job, on_error=self._report_error, on_interrupt=self._interrupted)
        self._off_grid: dict[tuple[Key, float, float, int], View] = {}
        self._pictures: dict[tuple, bytes] = {}  # PNGs encoded once: a computed cell answers at once
        self._quiet, self._inline = False, False
        self.current: View | None = None

        self._build(models, targets, starts, grid, display_size)
        for control in (self.model, self.target, self.start, self.lr, self.l2_reg, self.iterations):
            control.observe(self._on_change, names="value")
        self.compute.on_click(lambda _: self._guard(self._compute_custom))
        self.widget.observe(lambda change: change["new"] is None and self._worker.stop(timeout=0), names="comm")

    @property
    def cached(self) -> list[tuple[str, str, str]]:
        """The (model, class name, start) grids computed so far, in order."""
        with self._worker.lock:
            return [(m, class_name(t), s) for m, t, s in self._plan.parts if self._plan.complete((m, t, s))]

    def wait(self, timeout: float | None = None) -> View | None:
        """Block until the background work is done (or ``timeout`` s); the ``View`` on display. An interrupt
        (Ctrl-C, the kernel's stop button) while waiting stops the work too."""
        self._block(timeout)
        return self.current

    def _block(self, timeout: float | None = None, until: Callable[[], bool] | None = None) -> None:
        try:
            self._worker.wait(timeout, until=until)
        except KeyboardInterrupt:
            self._worker.interrupt()
            raise

    def close(self) -> None:
        """Stop the background work and close the widget."""
        self._worker.stop()
        self.widget.close()

    def refresh(self) -> View | None:
        """Show the controls' setting, computing its grid first if it is not cached. Errors are shown, not raised."""
        return self._guard(self._show_grid)

    def show(self, *, lr: float | None = None, l2_reg: float | None = None, iterations: int | None = None,
             model: str | None = None, target: int | str | None = None, start: str | None = None) -> View | None:
        """Show one setting as if the controls were moved there (None: leave that control as it is).

        A setting in the grid moves the sliders; one outside it is computed on demand with
        ``tpviz.class_visualization`` (progress bar), cached, and shown with the sliders left where they
        are. Bad arguments raise a ``tpviz.InputError``; a failed computation is shown in the widget.
        Returns the ``View`` on display (None after an error); in the background mode it waits for it.
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
        view = self.refresh() if at is not None else \
            self._guard(lambda: self._show_off_grid(float(lr), float(l2_reg), int(iterations)))
        if view is None and self._background:  # from code: wait until it is on display (or failed)
            self._block(until=lambda: bool(self.errors.outputs) or self._showing(lr, l2_reg, iterations))
            view = self.current if self._showing(lr, l2_reg, iterations) else None
        return view

    def _showing(self, lr: float, l2_reg: float, iterations: int) -> bool:
        v = self.current
        return v is not None and (v.model, v.target, v.start) == self._key() and math.isclose(v.lr, lr) and \
            math.isclose(v.l2_reg, l2_reg) and v.iterations == int(iterations)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
        if self.current is None:  # the first grid is computed once the progress bar is on screen
            self._inline = self._background and not self._worker.alive
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

    def _key(self) -> Key:
        return self.model.value, self.target.value, self.start.value

    def _show_grid(self) -> View | None:
        key, pair = self._key(), (self.lr.value, self.l2_reg.value)
        with self._worker.lock:
            grid = self._plan.find(key, *pair)
            if not self._plan.complete(key):
                self._plan.want(key, pair, split=self._background)
                running = self._plan.running
                if running is not None and running.key != key:
                    self._worker.cancel()  # a new model, class or start goes first
        if self._background and self._inline and grid is None:  # first display: the setting on screen here
            self._inline = self._background = False  # (the main thread is torch's fastest: algorithms/openmp.py);
            try:  # the worker has not started: never two computations at once
                self._fill(self._plan.next())  # type: ignore[arg-type]
            finally:
                self._background = True
            grid = self._plan.find(key, *pair)
        if self._background:
            self._worker.wake()
        elif grid is None:
            while (block := self._plan.next()) is not None:
                self._fill(block)
            grid = self._plan.find(key, *pair)
        if grid is None:
            return self._waiting(key)
        at = grid.index(lr=self.lr.value, l2_reg=self.l2_reg.value, iterations=self.iterations.value)
        assert at is not None, "the sliders hold grid values only"
        view = View(image=grid.images[at].unsqueeze(0), model=key[0], target=key[1], start=key[2],
                    lr=self.lr.value, l2_reg=self.l2_reg.value, iterations=self.iterations.value,
                    predicted=int(grid.predicted[at]), probability=float(grid.probability[at]), score=float(grid.score[at]),
                    target_probability=float(grid.target_probability[at]), on_grid=True)
        self.custom_lr.value, self.custom_l2_reg.value, self.custom_iterations.value = view.lr, view.l2_reg, view.iterations
        return self._display(view)

    def _fill(self, block: Block) -> None:
        """Compute one block of settings (one sweep) and keep it; on the worker thread, show what it made."""
        name, target, start = block.key
        self._busy(f"computing {class_name(target)} on {name} from {start}: {len(block.pairs)} of "
                   f"{len(self._plan.lrs) * len(self._plan.l2s)} settings, up to {max(self._grid['iterations'])} "
                   "iterations" + (" (in the background: the kernel is free)" if self._background else ""))
        model = self._models[name]
        growing = None
        if not self._background and len(block.pairs) == 1:  # the first image, in the displaying cell
            ((lr, l2_reg),) = block.pairs
            growing = self._growing(block.key, lr=lr, l2_reg=l2_reg, total=max(self._grid["iterations"]),
                                    random=model_label(model)[1])
        try:
            part = sweep_grid(model, target, self._settings, lrs=list(block.lrs), l2s=list(block.l2s),
                              iterations=self._grid["iterations"], init=self._init(start, model),
                              batch_size=self._batch_size, progress=self._tick, on_step=growing)
        except Cancelled:
            with self._worker.lock:
                self._plan.requeue(block)
            raise
        except BaseException:
            with self._worker.lock:
                self._plan.finish(block, None)
            raise
        with self._worker.lock:
            self._plan.finish(block, part)
        if self._background:  # encode its images now, on the worker, not when a slider asks for one
            for (i, lr), (j, l2), (k, its) in product(*(enumerate(v) for v in (part.lr, part.l2_reg, part.iterations))):
                self._pictures.setdefault((*block.key, lr, l2, its, True),
                                          png(part.images[i, j, k][None], size=self._display_size))
        if self._background and block.key == self._key():  # what is on screen may be ready now
            self._guard(self._show_grid)
        elif self._background and self.current is not None:  # another grid's block: the status says so no more
            self._ready()

    def _next_job(self) -> Job | None:
        """The worker's next job (called under its lock): an off-grid setting, else the plan's next block."""
        if self._jobs:
            return self._jobs.pop(0)
        block = self._plan.next()
        return None if block is None else partial(self._fill, block)

    def _show_off_grid(self, lr: float, l2_reg: float, iterations: int) -> View | None:
        key = self._key()
        self.custom_lr.value, self.custom_l2_reg.value, self.custom_iterations.value = lr, l2_reg, iterations
        view = self._off_grid.get((key, lr, l2_reg, iterations))
        if view is not None:
            return self._display(view)
        if not self._background:
            return self._display(self._compute_off_grid(key, lr, l2_reg, iterations))
        with self._worker.lock:  # first in line; shown when done
            self._jobs.append(lambda: self._guard(lambda: self._display(
                self._compute_off_grid(key, lr, l2_reg, iterations))))
        self._worker.wake()
        return None

    def _compute_off_grid(self, key: Key, lr: float, l2_reg: float, iterations: int) -> View:
        name, target, start = key
        self._busy(f"computing {class_name(target)} on {name} from {start} at lr={lr:g}, L2={l2_reg:g}, "
                   f"{iterations} iterations (outside the grid)")
        model = self._models[name]
        result = visualize(model, target, self._settings.but(lr=lr, l2_reg=l2_reg, iterations=iterations),
                           init=self._init(start, model), progress=self._tick)
        view = View(image=result.images, model=name, target=target, start=start, lr=lr, l2_reg=l2_reg,
                    iterations=iterations, predicted=int(result.predicted[0]), score=float(result.score[0]),
                    probability=float(result.probability[0]),
                    target_probability=float(result.target_probability[0]), on_grid=False)
        self._off_grid[(key, lr, l2_reg, iterations)] = view
        return view

    def _compute_custom(self) -> View | None:
        return self.show(lr=self.custom_lr.value, l2_reg=self.custom_l2_reg.value,
                         iterations=self.custom_iterations.value)

    def _init(self, start: str, model: nn.Module) -> Init:
        init = self._starts[start]
        device = model_device(model)
        return init.to(device) if isinstance(init, torch.Tensor) and device is not None else init

    def _display(self, view: View) -> View:
        picture = (view.model, view.target, view.start, view.lr, view.l2_reg, view.iterations, view.on_grid)
        if picture not in self._pictures:
            self._pictures[picture] = png(view.image, size=self._display_size)
        self.image.value = self._pictures[picture]
        self.title.value = title_html(view, random=model_label(self._models[view.model])[1])
        self.current = view
        self._ready()
        return view

    def _ready(self) -> None:
        key = self._key()
        with self._worker.lock:
            done, all_ = self._plan.computed(key), len(self._plan.lrs) * len(self._plan.l2s)
        if done < all_:  # background: the rest of the grid is still computing
            self.status.value = (f"{done} of {all_} settings computed; the others are computing in the background "
                                 "(the kernel is free: sliders and cells work meanwhile)")
            return
        self.progress.value = self.progress.max
        self.progress.bar_style = "success"
        self.status.value = f"ready: {len(self.cached)} grid(s) cached, {len(self._off_grid)} setting(s) off the grid"

    def _interrupted(self) -> None:
        """A kernel interrupt stopped the background work (on the worker thread): forget the plan, say so."""
        with self._worker.lock:
            self._plan.todo, self._jobs = [], []
        self._report("interrupted: the grid stopped filling in; move a control to go on\n")
