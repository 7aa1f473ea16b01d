"""The Figure 1/2 layout and saving figures with their parameters written on them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

import tpviz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _data(n=3):
    images = np.random.default_rng(0).integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)
    maps = torch.rand(n, 16, 16)
    return images, maps


def test_image_row_over_saliency_row_with_titles():
    images, maps = _data()
    fig = tpviz.plot_saliency(images, maps, titles=["hay", "quail", "bear"])
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_title() for ax in axes[0]] == ["hay", "quail", "bear"]
    assert np.array_equal(axes[0, 1].images[0].get_array(), images[1])
    np.testing.assert_allclose(axes[1, 2].images[0].get_array(), maps[2].numpy())
    assert axes[1, 0].images[0].get_cmap().name == "hot"


def test_model_inputs_are_shown_as_pixels():
    images, maps = _data()
    fig = tpviz.plot_saliency(tpviz.preprocess(images), maps)
    assert np.array_equal(fig.axes[0].images[0].get_array(), images[0])


def test_one_row_per_model_and_random_weights_in_red(capsys):
    images, maps = _data(2)
    rnd = tpviz.load_model("squeezenet1_0", weights="random", device="cpu")
    plain = torch.nn.Linear(2, 2)
    fig = tpviz.plot_saliency(images, [maps, maps], models=[plain, rnd])
    axes = np.array(fig.axes).reshape(3, 2)
    assert axes[2, 0].get_ylabel() == "squeezenet1_0\nRANDOM WEIGHTS" and axes[2, 0].yaxis.label.get_color() == "red"
    assert axes[1, 0].get_ylabel() == "Linear" and axes[1, 0].yaxis.label.get_color() == "black"
    assert "RANDOM WEIGHTS (squeezenet1_0)" in fig._suptitle.get_text() and fig._suptitle.get_color() == "red"


def test_row_labels_name_the_rows_and_the_title_only_says_the_colour_scale_without_random_weights():
    images, maps = _data(2)
    fig = tpviz.plot_saliency(images, [maps, maps], row_labels=["saliency", "SmoothGrad"])
    assert [fig.axes[2].get_ylabel(), fig.axes[4].get_ylabel()] == ["saliency", "SmoothGrad"]
    assert fig._suptitle.get_text().startswith("colour scale:") and fig._suptitle.get_color() == "black"
    with pytest.raises(tpviz.InputError, match="1 row labels for 2 rows"):
        tpviz.plot_saliency(images, [maps, maps], row_labels=["x"])


def test_mismatched_sizes_are_clear_errors():
    images, maps = _data()
    with pytest.raises(tpviz.InputError, match="2 titles for 3 images"):
        tpviz.plot_saliency(images, maps, titles=["a", "b"])
    with pytest.raises(tpviz.InputError, match="N = 3"):
        tpviz.plot_saliency(images, maps[:2])


def test_save_figure_writes_parameters_and_never_overwrites_by_accident(tmp_path):
    images, maps = _data()
    fig = tpviz.plot_saliency(images, maps)
    path = tpviz.save_figure(fig, tmp_path / "out" / "fig1.png", params={"model": "squeezenet1_1", "images": 3})
    assert Image.open(path).text["Description"] == "model=squeezenet1_1  ·  images=3"
    assert not any(t.get_text().startswith("model=") for t in fig.texts), "the label was left on the figure"
    first = path.read_bytes()
    with pytest.raises(tpviz.InputError, match="overwrite=True"):
        tpviz.save_figure(fig, path, params={"x": 1})
    assert path.read_bytes() == first
    tpviz.save_figure(fig, path, params={"x": 1}, overwrite=True)
    assert Image.open(path).text["Description"] == "x=1"


def test_parameters_are_drawn_on_the_image(tmp_path):
    fig = plt.figure(figsize=(3, 1))
    blank = tpviz.save_figure(fig, tmp_path / "blank.png", params={})
    fig2 = plt.figure(figsize=(3, 1))
    labelled = tpviz.save_figure(fig2, tmp_path / "label.png", params={"lr": 5, "l2": 0.001})
    a = np.asarray(Image.open(blank).convert("L"), dtype=float)
    b = np.asarray(Image.open(labelled).convert("L"), dtype=float)
    assert (b < 200).sum() > (a < 200).sum() + 20, "no text was drawn"


def test_importing_tpviz_does_not_import_matplotlib():
    import os
    import subprocess
    import sys

    code = "import sys, tpviz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.stdout.strip() == "False"


def test_save_figure_works_on_a_bare_canvas_as_in_jupyter_s_inline_backend(tmp_path):
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))  # what the inline backend hands out: a FigureCanvasBase, without get_renderer
    fig.add_subplot().set_xlabel("model name")
    assert type(fig.canvas) is FigureCanvasBase
    path = tpviz.save_figure(fig, tmp_path / "f.png", params={"lr": 5})
    assert Image.open(path).info["Description"] == "lr=5"
