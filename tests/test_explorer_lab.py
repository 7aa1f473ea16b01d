"""The explorer's filmstrip, curve, compare panel, off-grid rule and save button, driven from Python as a browser
would: press buttons, move sliders, read the widgets back (tiny models, a 2 x 2 x 2 grid: milliseconds)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import ipywidgets as w
import numpy as np
import torch
from PIL import Image

import tpviz
from tpviz.plots.style import RANDOM_COLOR
from tpviz.widgets import Explorer, explorer, png, saving
from tpviz.widgets.curve import curve_png

from .conftest import TinyConv
from .test_invariants import _assert_same, _snapshot
from .test_widgets import _one_thread, sweeps  # noqa: F401 - fixtures: one thread (autouse), the sweeps

GRID = {"lr": (1, 3), "l2_reg": (1e-4, 1e-1), "iterations": (2, 4), "size": 16, "max_jitter": 2}


def make(models=None, **kw) -> Explorer:
    """Synchronous (``background=False``) unless asked: each grid is computed in the call that needs it."""
    models = {"a": TinyConv(seed=1), "b": TinyConv(seed=2)} if models is None else models
    return explorer(models, **{"classes": [1, 2], "background": False, **GRID, **kw})


def grid_of(model: torch.nn.Module, target: int = 1) -> tpviz.Sweep:
    return tpviz.sweep(model, target, lr=list(GRID["lr"]), l2_reg=list(GRID["l2_reg"]),
                       iterations=list(GRID["iterations"]), size=16, max_jitter=2)


def outlined(ex: Explorer) -> list[int]:
    """The indices of the filmstrip's thumbnails drawn as current (outline and class)."""
    marked = [i for i, t in enumerate(ex.filmstrip.thumbs) if "tpviz-current" in t.box._dom_classes]
    assert marked == [i for i, t in enumerate(ex.filmstrip.thumbs) if t.box.layout.border.startswith("3px solid #")]
    return marked


def text(output: w.Output) -> str:
    return "".join(o.get("text", "") for o in output.outputs)



def test_the_filmstrip_follows_the_knob_last_moved_with_the_current_setting_outlined():
    ex, model = make({"a": TinyConv(seed=1)}), TinyConv(seed=1)
    ex.refresh()
    grid = grid_of(model)
    assert ex.filmstrip.knob == "lr" and ex.filmstrip.values == [1, 3] and outlined(ex) == [1]  # lr 3 on display
    ex.l2_reg.value = 0.1
    assert ex.last_knob == ex.filmstrip.knob == "l2_reg" and ex.filmstrip.values == [1e-4, 0.1] and outlined(ex) == [1]
    assert [t.button.description for t in ex.filmstrip.thumbs] == ["L2=0.0001", "L2=0.1"]
    for i, l2 in enumerate(GRID["l2_reg"]):  # each thumbnail is its grid cell's image, at the other sliders' setting
        assert ex.filmstrip.thumbs[i].image.value == png(grid.image(lr=3, l2_reg=l2, iterations=4), size=112)
    ex.iterations.value = 2
    assert ex.filmstrip.knob == "iterations" and ex.filmstrip.values == [2, 4] and outlined(ex) == [0]
    assert "at lr=3 · L2=0.1" in ex.filmstrip.label.value


def test_pressing_a_thumbnail_shows_its_setting_without_computing(sweeps):  # noqa: F811 - the fixture
    ex = make({"a": TinyConv(seed=1)})
    ex.refresh()
    ex.l2_reg.value = 0.1
    assert outlined(ex) == [1]
    ex.filmstrip.thumbs[0].button.click()
    assert ex.current.l2_reg == 1e-4 and ex.l2_reg.value == 1e-4 and "L2=0.0001" in ex.title.value
    assert outlined(ex) == [0] and ex.filmstrip.knob == "l2_reg", "a press selects; it does not change the row's knob"
    assert ex.filmstrip.thumbs[0].button.button_style == "info" and ex.filmstrip.thumbs[1].button.button_style == ""
    assert sweeps == [1], "grid cells are served from the grid"


def test_the_curve_is_p_target_and_score_over_the_grids_snapshots():
    models = {"a": TinyConv(seed=1)}
    ex = make(models)
    ex.refresh()
    ex.iterations.value = 2
    grid = grid_of(models["a"])
    p, score = grid.target_probability[1, 0].tolist(), grid.score[1, 0].tolist()
    assert ex.curve.value == curve_png([2, 4], p, score, current=2, target="goldfish")
    assert f"score = {grid.score[1, 0, 0].item():.3g}" in ex.title.value
    before = ex.curve.value
    ex.iterations.value = 4
    assert ex.curve.value != before and ex.curve.value == curve_png([2, 4], p, score, current=4, target="goldfish")



def test_compare_shows_the_same_setting_for_the_second_model_with_its_own_prediction(sweeps):  # noqa: F811
    models = {"a": TinyConv(seed=1), "b": TinyConv(seed=2)}
    ex = make(models)
    ex.refresh()
    assert ex.compare.panel.layout.display == "none" and not ex.compare.toggle.disabled
    ex.compare.toggle.value = True
    assert ex.compare.panel.layout.display == "flex"
    grids = {name: grid_of(m) for name, m in models.items()}
    for setting in ({"lr": 3, "l2_reg": 1e-4, "iterations": 4}, {"lr": 1, "l2_reg": 1e-4, "iterations": 4}):
        ex.lr.value = setting["lr"]
        at = grids["b"].index(**setting)
        b = ex.compare.view
        assert (b.model, b.lr, b.l2_reg, b.iterations) == ("b", setting["lr"], 1e-4, 4)
        assert b.predicted == int(grids["b"].predicted[at]) and ex.current.predicted == int(grids["a"].predicted[at])
        assert ex.compare.image.value == png(grids["b"].image(**setting), size=448)
        assert ex.image.value == png(grids["a"].image(**setting), size=448)
        predicted = tpviz.class_name(b.predicted)
        assert "· b ·" in ex.compare.title.value and f"predicted: <b>{predicted}</b> {b.probability:.2f}" in \
            ex.compare.title.value and "· a ·" in ex.title.value
    assert sweeps == [1, 1], "one grid per model, then lookups"
    ex.show(lr=2)  # off the grid: the second model's is computed on demand too
    alone = tpviz.class_visualization(models["b"], 1, lr=2, l2_reg=1e-4, iterations=4, size=16, max_jitter=2)
    assert not ex.compare.view.on_grid and torch.equal(ex.compare.view.image, alone.images)
    ex.compare.toggle.value = False
    assert ex.compare.panel.layout.display == "none"


def test_a_random_weights_model_says_so_in_red_in_its_panel():
    vgg = TinyConv(seed=2)
    vgg.tpviz_info = tpviz.ModelInfo("vgg16", "random", "test")  # what load_model(weights="random") sets
    ex = make({"SqueezeNet": TinyConv(seed=1), "VGG16": vgg})
    ex.refresh()
    ex.compare.toggle.value = True
    assert f'color:{RANDOM_COLOR}' in ex.compare.title.value and "RANDOM WEIGHTS" in ex.compare.title.value
    assert "RANDOM WEIGHTS" not in ex.title.value


def test_with_one_model_compare_is_disabled_and_says_why():
    ex = make({"a": TinyConv(seed=1)})
    assert ex.compare.toggle.disabled and "two models" in ex.compare.toggle.tooltip


def test_compare_in_the_background_fills_in_when_the_second_grid_is_ready():
    ex = make(background=True)
    ex.refresh()
    ex.wait(timeout=60)
    ex.compare.toggle.value = True
    ex.wait(timeout=60)
    try:
        assert ex.compare.view is not None and ex.compare.view.model == "b" and "· b ·" in ex.compare.title.value
        assert ex.cached == [("a", "goldfish", "noise"), ("b", "goldfish", "noise")]
        ex.show(lr=2)
        ex.wait(timeout=60)
        assert (ex.current.lr, ex.compare.view.lr, ex.compare.view.model, ex.compare.view.on_grid) == (2, 2, "b", False)
    finally:
        ex.close()



def test_off_the_grid_the_sliders_are_off_a_badge_names_the_knob_and_the_boxes_are_the_source():
    ex = make({"a": TinyConv(seed=1)})
    ex.refresh()
    ex.l2_reg.value = 0.1
    view = ex.show(lr=2)  # notebook 03's live.show(lr=LR + 1)
    assert not view.on_grid and view.lr == 2 and "lr=2 " in ex.title.value
    assert all(s.disabled for s in (ex.lr, ex.l2_reg, ex.iterations))
    assert not ex.lr.readout, "the lr slider cannot show 2: it shows no number"
    assert ex.l2_reg.readout and ex.l2_reg.value == 0.1 and ex.iterations.readout and ex.iterations.value == 4
    assert "off grid: lr=2<" in ex.badge.value and not ex.back.disabled
    assert "tpviz-source" in ex._source._dom_classes and ex._source.layout.border
    assert (ex.custom_lr.value, ex.custom_l2_reg.value, ex.custom_iterations.value) == (2, 0.1, 4)
    assert outlined(ex) == [], "no thumbnail is the picture"
    ex.back.click()
    assert ex.current.on_grid and (ex.current.lr, ex.current.l2_reg) == (ex.lr.value, 0.1)
    assert not any(s.disabled for s in (ex.lr, ex.l2_reg, ex.iterations)) and ex.lr.readout and ex.back.disabled
    assert ex.badge.value == "" and "tpviz-source" not in ex._source._dom_classes and not ex._source.layout.border


def test_off_grid_knobs_that_are_grid_values_move_their_sliders():
    ex = make({"a": TinyConv(seed=1)})
    ex.refresh()
    ex.custom_lr.value, ex.custom_l2_reg.value, ex.custom_iterations.value = 1, 0.1, 3
    ex.compute.click()
    assert (ex.current.lr, ex.current.l2_reg, ex.current.iterations, ex.current.on_grid) == (1, 0.1, 3, False)
    assert (ex.lr.value, ex.l2_reg.value) == (1, 0.1) and ex.lr.readout and ex.l2_reg.readout
    assert not ex.iterations.readout and "off grid: 3 it." in ex.badge.value
    ex.filmstrip.thumbs[1].button.click()  # a thumbnail goes back to the grid too
    assert ex.current.on_grid and not ex.lr.disabled and ex.badge.value == ""


def test_a_late_off_grid_picture_of_another_grid_is_kept_not_shown():
    ex = make({"a": TinyConv(seed=1)})
    ex.refresh()
    late = ex._compute_off_grid(("a", 2, "noise"), 2.0, 1e-4, 4)  # what a queued job finishing late displays
    shown = ex.current
    ex._display(late)
    assert ex.current is shown and ex.badge.value == "" and not ex.lr.disabled


# -- saving -------------------------------------------------------------------------------------------------------


def test_save_writes_the_view_with_its_parameters_and_refuses_to_overwrite(tmp_path: Path):
    model = TinyConv(seed=1)
    ex = make({"a": model})
    ex.saver.folder.value = str(tmp_path / "figures")
    assert ex.saver.save() is None and "nothing to save yet" in text(ex.saver.output)
    ex.refresh()
    view = ex.show(lr=2)
    path = ex.saver.save()
    assert path == tmp_path / "figures" / "goldfish_a_noise_lr2_L2-0.0001_4it.png" and path.is_file()
    with Image.open(path) as saved:
        meta = dict(saved.text)
        assert saved.size[0] == 448 and saved.size[1] > 448, "the parameters are drawn below the image"
        assert np.array_equal(np.asarray(saved.convert("RGB"))[:448], np.asarray(Image.open(io.BytesIO(ex.image.value))))
    params = json.loads(meta["Parameters"])
    assert {k: params[k] for k in ("class", "model", "start", "lr", "l2_reg", "iterations", "seed", "on_grid")} == \
        {"class": "goldfish", "model": "a", "start": "noise", "lr": 2, "l2_reg": 1e-4, "iterations": 4, "seed": 0,
         "on_grid": False}
    assert params["predicted"] == tpviz.class_name(view.predicted) and "lr=2" in meta["Description"]
    code = meta["Source"]
    assert "tpviz.class_visualization(model, 'goldfish', lr=2, l2_reg=0.0001, iterations=4, max_jitter=2, seed=0, " \
           "size=16)" in code and code in text(ex.saver.output)
    scope = {"MODEL": model}
    exec(code.replace("model = ...", "model = MODEL"), scope)  # the printed code runs, with the model filled in
    assert torch.equal(scope["result"].images, view.image), "the code computes the same image"
    before = path.read_bytes()
    ex.show(lr=2)  # same view
    assert ex.saver.save() is None and path.read_bytes() == before, "an existing file is never replaced at once"
    assert ex.saver.button.description == "overwrite?" and "exists already" in text(ex.saver.output)
    assert ex.saver.save() == path, "the second press confirms"
    assert ex.saver.button.description == "save PNG"
    ex.saver.save()
    ex.saver.folder.value = str(tmp_path / "figures") + "/"  # any change forgets the question
    assert ex.saver.button.description == "save PNG"


def test_save_the_filmstrip_and_the_compared_pair(tmp_path: Path):
    ex = make()
    ex.saver.folder.value = str(tmp_path)
    ex.refresh()
    ex.l2_reg.value = 0.1
    ex.saver.what.value = "filmstrip"
    path = ex.saver.save()
    params = json.loads(Image.open(path).text["Parameters"])
    assert path.name.endswith("filmstrip.png") and params["vary"] == "l2_reg" and params["l2_reg"] == [1e-4, 0.1]
    assert "tpviz.sweep(model, 'goldfish', lr=3, l2_reg=[0.0001, 0.1], iterations=4" in Image.open(path).text["Source"]
    ex.saver.what.value = "image"
    ex.compare.toggle.value = True
    path = ex.saver.save()
    with Image.open(path) as saved:
        params = json.loads(saved.text["Parameters"])
        assert saved.size[0] > 2 * 448 and params["compare"]["model"] == "b" and path.name.endswith("_vs-b.png")
        assert params["compare"]["predicted"] == tpviz.class_name(ex.compare.view.predicted)
        assert "other_model_result = tpviz.class_visualization(other_model" in saved.text["Source"]


def test_a_folder_that_cannot_be_written_is_said_in_the_widget(tmp_path: Path, monkeypatch):
    (tmp_path / "file").write_text("x")
    ex = make({"a": TinyConv(seed=1)})
    ex.refresh()
    ex.saver.folder.value = str(tmp_path / "file")
    assert ex.saver.save() is None and text(ex.saver.output).startswith("could not save: InputError:")
    monkeypatch.setattr(saving, "write_png", lambda *a, **k: 1 / 0)  # not a tpviz error: said too, never raised
    ex.saver.folder.value = str(tmp_path)
    assert ex.saver.save() is None and text(ex.saver.output).startswith("could not save: ZeroDivisionError:")
    assert "Traceback" not in text(ex.saver.output) and "please report" in text(ex.saver.output)


# -- labels, keyboard, invariants ---------------------------------------------------------------------------------


def tree(widget: w.Widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from tree(child)


def test_every_control_has_a_label_a_screen_reader_can_read():
    ex = make()
    ex.refresh()
    controls = [x for x in tree(ex.widget) if isinstance(x, (w.ValueWidget, w.Button))
                and not isinstance(x, (w.HTML, w.Label, w.Image, w.IntProgress))]
    assert len(controls) >= 16
    unnamed = [type(c).__name__ for c in controls if not (c.description or getattr(c, "tooltip", None))]
    assert not unnamed, f"controls without a description: {unnamed}"
    buttons = [t.button for t in ex.filmstrip.thumbs] + [ex.saver.button, ex.compare.toggle]
    assert all(isinstance(b, (w.Button, w.ToggleButton)) for b in buttons), "native buttons: Tab and Enter reach them"
    assert "goldfish by a" in ex.image.tooltip, "each image says what it shows (its title, in ipywidgets 8)"
    assert [t.image.tooltip for t in ex.filmstrip.thumbs] == ["learning rate 1", "learning rate 3"]
    modules = {x._model_module for x in tree(ex.widget)} | {x._view_module for x in tree(ex.widget)}
    assert modules <= {"@jupyter-widgets/controls", "@jupyter-widgets/output", "@jupyter-widgets/base"}


def test_the_explorer_leaves_the_models_as_found(tmp_path: Path):
    models = {"a": TinyConv(seed=1), "b": TinyConv(seed=2)}
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    before = {k: _snapshot(m, x) for k, m in models.items()}
    ex = make(models, starts={"noise": None, "x": x})
    ex.refresh()
    ex.compare.toggle.value = True
    ex.l2_reg.value = 0.1
    ex.filmstrip.thumbs[0].button.click()
    ex.show(lr=2)
    ex.start.value = "x"
    ex.saver.folder.value = str(tmp_path)
    ex.saver.save()
    for k, m in models.items():
        _assert_same(before[k], _snapshot(m, x))


def test_on_a_cpu_the_grid_is_computed_a_few_settings_at_a_time(monkeypatch):
    """Memory: the explorer's default batch on a CPU is small (README, Speed: peak RSS of SqueezeNet's grid)."""
    import tpviz.widgets.live as live
    from tpviz.widgets.factory import CPU_BATCH, default_batch

    assert default_batch({"a": TinyConv()}) == CPU_BATCH == 4
    assert default_batch({"a": TinyConv().to("meta")}) == 32
    batches, real = [], live.sweep_grid
    monkeypatch.setattr(live, "sweep_grid", lambda *a, **k: batches.append(k["batch_size"]) or real(*a, **k))
    ex = explorer(TinyConv(), classes=[1], lr=[1, 2, 3], l2_reg=[1e-4, 1e-2, 1], iterations=[2], size=16,
                  max_jitter=2, background=False)
    try:
        ex.refresh()
    finally:
        ex.close()
    assert batches and set(batches) == {CPU_BATCH}
