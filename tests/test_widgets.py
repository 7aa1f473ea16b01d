"""The class-visualization explorer, driven from Python as a browser would: move a control, read the image and title."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import ipywidgets as w
import numpy as np
import pytest
import torch
from PIL import Image

import tpviz
import tpviz.widgets.live as widgets
from tpviz.widgets import explorer

from .conftest import TinyConv
from .test_invariants import _assert_same, _snapshot

# A tiny grid on a tiny model: every compute takes milliseconds. TinyConv has 7 classes (1 "goldfish",
# 2 "great white shark"); the sliders start at the grid values nearest the TP's lr 5, L2 1e-3, 200 iterations.
GRID = {"lr": (1, 3), "l2_reg": (1e-4, 1e-1), "iterations": (2, 4), "size": 16, "max_jitter": 2}
KNOBS = {"size": 16, "max_jitter": 2}


def make(model: torch.nn.Module | None = None, **kw) -> widgets.Explorer:
    """Synchronous unless ``background=True``: each grid is computed in the call that needs it."""
    return explorer(TinyConv() if model is None else model, **{"classes": [1, 2], "background": False, **GRID, **kw})


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from threads, and a busy 2-core machine makes each threaded op cost ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def sweeps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The class of every grid the explorer computes."""
    calls: list[int] = []
    real = widgets.sweep_grid

    def counting(model, target, *a, **kw):
        calls.append(target)
        return real(model, target, *a, **kw)

    monkeypatch.setattr(widgets, "sweep_grid", counting)
    return calls


def shown(ex: widgets.Explorer) -> np.ndarray:
    """The Image widget's PNG, decoded and scaled back down to the model's pixels (H, W, 3)."""
    pixels = np.asarray(Image.open(io.BytesIO(ex.image.value)).convert("RGB"))
    step = pixels.shape[0] // KNOBS["size"]
    return pixels[::step, ::step]


def errors(ex: widgets.Explorer) -> str:
    return "".join(o.get("text", "") for o in ex.errors.outputs)


def test_first_grid_is_computed_once_shown_and_the_progress_bar_fills(sweeps):
    ex = make()
    assert ex.current is None and sweeps == [] and ex.image.value == b""
    view = ex.refresh()
    assert sweeps == [1] and view is ex.current and view.on_grid
    assert (view.lr, view.l2_reg, view.iterations) == (3, 1e-4, 4)
    assert ex.progress.max > 1 and ex.progress.value == ex.progress.max and ex.progress.bar_style == "success"
    assert bytes(ex.image.value).startswith(b"\x89PNG") and errors(ex) == ""
    assert "goldfish" in ex.title.value and "lr=3 · L2=0.0001 · 4 iterations" in ex.title.value


@pytest.mark.parametrize(("slider", "value", "caption"),
                         [("lr", 1, "lr=1"), ("l2_reg", 0.1, "L2=0.1"), ("iterations", 2, "2 iterations")])
def test_moving_a_slider_changes_the_image_and_title_without_computing(sweeps, slider, value, caption):
    ex = make()
    ex.refresh()
    before = (ex.image.value, ex.title.value)
    getattr(ex, slider).value = value
    assert ex.image.value != before[0] and ex.title.value != before[1]
    assert caption in ex.title.value and getattr(ex.current, slider) == value
    assert sweeps == [1], "a grid value must be served from the grid, not recomputed"


def test_the_image_is_the_sweeps_image_upscaled():
    model = TinyConv()
    ex = make(model)
    ex.refresh()
    ex.lr.value, ex.l2_reg.value, ex.iterations.value = 1, 0.1, 2
    grid = tpviz.sweep(model, 1, lr=[1, 3], l2_reg=[1e-4, 1e-1], iterations=[2, 4], **KNOBS)
    assert Image.open(io.BytesIO(ex.image.value)).size == (448, 448)  # 16 px x 28, nearest neighbour
    assert np.array_equal(shown(ex), tpviz.deprocess(grid.image(lr=1, l2_reg=0.1, iterations=2))[0])
    assert ex.image.format == "png" and ex.image.width == "448"


def test_a_new_class_recomputes_and_switching_back_is_cached(sweeps):
    ex = make()
    ex.refresh()
    first = ex.image.value
    ex.target.value = 2
    assert sweeps == [1, 2] and ex.image.value != first and "great white shark" in ex.title.value
    ex.target.value = 1
    assert sweeps == [1, 2] and ex.image.value == first
    assert ex.cached == [("TinyConv", "goldfish", "noise"), ("TinyConv", "great white shark", "noise")]


def test_model_and_start_dropdowns_compute_their_own_grids(sweeps):
    photo = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    ex = make({"a": TinyConv(seed=1), "b": TinyConv(seed=2)}, starts={"noise": None, "photo": photo})
    ex.refresh()
    images = {ex.image.value}
    ex.model.value = "b"
    images.add(ex.image.value)
    ex.start.value = "photo"
    images.add(ex.image.value)
    assert len(images) == 3 and sweeps == [1, 1, 1]
    assert ex.cached == [("a", "goldfish", "noise"), ("b", "goldfish", "noise"), ("b", "goldfish", "photo")]
    assert "b · from photo" in ex.title.value


def test_show_moves_several_controls_with_one_compute(sweeps):
    ex = make()
    view = ex.show(target="great white shark", lr=1, iterations=2)
    assert sweeps == [2] and (view.target, view.lr, view.iterations) == (2, 1, 2) and view.on_grid
    assert (ex.target.value, ex.lr.value, ex.iterations.value) == (2, 1, 2)


def test_a_setting_outside_the_grid_is_computed_on_demand_and_cached(sweeps, monkeypatch):
    model = TinyConv()
    ex = make(model)
    ex.refresh()
    runs: list[float] = []
    real = widgets.visualize
    monkeypatch.setattr(widgets, "visualize", lambda *a, **kw: runs.append(a[2].lr) or real(*a, **kw))
    ex.custom_lr.value = 2.0
    ex.compute.click()
    view = ex.current
    assert runs == [2.0] and not view.on_grid and ex.lr.value == 3, "the sliders stay on the grid"
    assert "lr=2 · L2=0.0001 · 4 iterations (outside the grid" in ex.title.value
    assert ex.progress.value == ex.progress.max == 4 and ex.progress.bar_style == "success"
    expected = tpviz.class_visualization(model, 1, lr=2.0, l2_reg=1e-4, iterations=4, **KNOBS)
    assert np.array_equal(shown(ex), tpviz.deprocess(expected.images)[0])
    ex.lr.value = 1
    assert ex.show(lr=2.0).on_grid is False and runs == [2.0], "a second look is served from the cache"
    ex.custom_lr.value = 1.0  # a grid value typed in the boxes moves the slider instead
    ex.compute.click()
    assert ex.current.on_grid and ex.lr.value == 1 and runs == [2.0] and sweeps == [1]


def test_bad_arguments_to_show_raise_and_bad_boxes_are_shown():
    ex = make()
    with pytest.raises(tpviz.InputError, match="not one of this explorer's classes"):
        ex.show(target="snail")
    with pytest.raises(tpviz.InputError, match="model 'vgg' is not one of"):
        ex.show(model="vgg")
    with pytest.raises(tpviz.InputError, match="lr must be a positive number"):
        ex.show(lr=-1)
    ex.custom_iterations.value = 0
    ex.compute.click()  # from the widget: shown, not raised
    assert errors(ex) == "InputError: iterations must be a positive int, got 0\n"
    ex.refresh()
    assert errors(ex) == "" and ex.progress.bar_style == "success", "the next good action clears the message"


@pytest.mark.parametrize(("kw", "match"), [
    ({"classes": ["snial"]}, "unknown ImageNet class 'snial'.*snail"),
    ({"classes": []}, "classes is empty"),
    ({"classes": [1, "goldfish"]}, "same class twice"),
    ({"lr": []}, "lr has no values"),
    ({"l2_reg": [-1]}, "l2_reg must be a number >= 0"),
    ({"max_jitter": 16}, "max_jitter=16 is not smaller than the image"),
    ({"starts": {"two": torch.zeros(2, 3, 16, 16)}}, "start 'two' holds 2 images"),
    ({"starts": {"small": torch.zeros(1, 3, 8, 8)}}, "init is 8x8 pixels but size=16"),
    ({"display_size": 0}, "display_size"),
])
def test_invalid_arguments_raise_input_errors(kw, match):
    with pytest.raises(tpviz.InputError, match=match):
        make(**kw)


def test_models_must_be_a_model_or_a_dict_of_them():
    with pytest.raises(tpviz.InputError, match="non-empty dict"):
        explorer({}, **GRID)
    with pytest.raises(tpviz.InputError, match="map str names to torch models"):
        explorer({"a": "squeezenet"}, **GRID)


class Broken(TinyConv):
    """A model with a bug (an error tpviz cannot explain)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ZeroDivisionError("boom")


def test_an_error_during_compute_is_shown_in_the_widget_not_raised(sweeps):
    ex = make({"ok": TinyConv(), "broken": Broken()})
    ex.refresh()
    good = ex.image.value
    ex.model.value = "broken"  # an observer: raising here would vanish into the kernel's log
    assert "ZeroDivisionError: boom" in errors(ex) and "Traceback" in errors(ex)
    assert ex.progress.bar_style == "danger" and ex.status.value.startswith("error")
    assert "could not compute" in ex.title.value and ex.image.value == good
    assert ex.cached == [("ok", "goldfish", "noise")], "a failed grid is not cached"
    ex.model.value = "ok"
    assert errors(ex) == "" and ex.progress.bar_style == "success"


def test_a_tpviz_error_is_shown_as_its_message(monkeypatch):
    def refuse(*_, **__):
        raise tpviz.InputError("init is on cpu but the model is on cuda: move it")

    monkeypatch.setattr(widgets, "sweep_grid", refuse)
    ex = make()
    assert ex.refresh() is None
    assert errors(ex) == "InputError: init is on cpu but the model is on cuda: move it\n"


def test_random_weights_are_said_in_red():
    model = TinyConv()
    model.tpviz_info = tpviz.ModelInfo("tiny", "random", "test")  # what load_model(weights="random") sets
    ex = make(model)
    ex.refresh()
    assert 'color:red' in ex.title.value and "RANDOM WEIGHTS" in ex.title.value and "· tiny ·" in ex.title.value
    plain = make()
    plain.refresh()
    assert "RANDOM WEIGHTS" not in plain.title.value


def test_displaying_computes_the_first_grid_once(sweeps, capsys):
    ex = make()
    ex._ipython_display_()
    ex._ipython_display_()
    assert sweeps == [1] and ex.current is not None


def test_standard_widgets_a_browser_test_can_find():
    ex = make()
    assert (ex.lr.description, ex.l2_reg.description, ex.iterations.description) == ("learning rate", "L2", "iterations")
    for control, name in ((ex.lr, "tpviz-lr"), (ex.l2_reg, "tpviz-l2"), (ex.iterations, "tpviz-iterations"),
                          (ex.image, "tpviz-image"), (ex.widget, "tpviz-explorer"), (ex.progress, "tpviz-progress")):
        assert name in control._dom_classes
    assert isinstance(ex.image, w.Image) and isinstance(ex.lr, w.SelectionSlider)
    assert ex.lr.continuous_update, "grid values are instant: the image follows the slider while dragging"

    def tree(widget):
        yield widget
        for child in getattr(widget, "children", ()):
            yield from tree(child)

    modules = {x._model_module for x in tree(ex.widget)} | {x._view_module for x in tree(ex.widget)}
    assert modules <= {"@jupyter-widgets/controls", "@jupyter-widgets/output", "@jupyter-widgets/base"}


def test_the_explorer_leaves_the_model_and_start_image_as_found():
    model = TinyConv()
    model.eval()
    model.drop.train()
    model.head.weight.requires_grad_(False)
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    before = _snapshot(model, x)
    ex = make(model, starts={"noise": None, "x": x})
    ex.refresh()
    ex.lr.value = 1
    ex.start.value = "x"
    ex.target.value = 2
    ex.show(lr=2.0)
    _assert_same(before, _snapshot(model, x))


def test_import_tpviz_does_not_import_ipywidgets():
    package = Path(tpviz.__file__).parent
    for path in package.rglob("*.py"):
        if "widgets" in path.relative_to(package).parts:
            continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported |= {(node.module or "").split(".")[0]} | {a.name for a in node.names if node.level}
        assert not imported & {"ipywidgets", "widgets"}, f"{path} imports ipywidgets or tpviz.widgets"
