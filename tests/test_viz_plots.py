"""Section 3's figures: a row along one knob of a sweep (Figures 5–7) and class visualizations side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import tpviz

from .conftest import TinyConv

KNOBS = {"size": 16, "max_jitter": 2}  # TinyConv takes any size: tiny images, tiny runs


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from threads, and a busy 2-core machine makes each threaded op cost ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def grid() -> tpviz.Sweep:
    with torch.random.fork_rng():  # TinyConv() seeds the global RNG
        model = TinyConv()
    return tpviz.sweep(model, 1, lr=[1, 3, 5], l2_reg=[1e-3, 1e-1], iterations=[2, 4], **KNOBS)


@pytest.fixture(scope="module")
def random_model() -> torch.nn.Module:
    return tpviz.load_model("squeezenet1_1", weights="random", device="cpu")  # built, never run


def titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_sweep_along_lr_holds_the_other_knobs_at_their_first_value(grid):
    fig = tpviz.plot_sweep(grid, vary="lr")
    assert len(fig.axes) == 3
    assert [t.split("\n")[0] for t in titles(fig)] == ["lr=1", "lr=3", "lr=5"]
    for j, ax in enumerate(fig.axes):
        assert np.array_equal(ax.images[0].get_array(), tpviz.deprocess(grid.images[j, 0, 0]))
        name, prob = tpviz.class_name(int(grid.predicted[j, 0, 0])), float(grid.probability[j, 0, 0])
        assert ax.get_title().split("\n")[1] == f"{name} {prob:.2f}"
    assert fig._suptitle.get_text() == "goldfish · L2=0.001 · 2 iterations"
    assert fig._suptitle.get_color() == "black"


@pytest.mark.parametrize(("vary", "expected", "held"), [
    ("l2_reg", ["L2=0.001", "L2=0.1"], "lr=1 · 2 iterations"),
    ("iterations", ["2 iterations", "4 iterations"], "lr=1 · L2=0.001"),
])
def test_sweep_along_l2_and_iterations(grid, vary, expected, held):
    fig = tpviz.plot_sweep(grid, vary=vary, model=TinyConv())
    assert [t.split("\n")[0] for t in titles(fig)] == expected
    assert fig._suptitle.get_text() == f"goldfish · TinyConv · {held}"
    last = (0, 1, 0) if vary == "l2_reg" else (0, 0, 1)
    assert np.array_equal(fig.axes[1].images[0].get_array(), tpviz.deprocess(grid.images[last]))


def test_sweep_of_a_random_weights_model_has_a_red_title(grid, random_model):
    fig = tpviz.plot_sweep(grid, vary="lr", model=random_model)
    text = fig._suptitle.get_text()
    assert text.startswith("RANDOM WEIGHTS (squeezenet1_1): these images are meaningless\n")
    assert "squeezenet1_1 · L2=0.001" in text and fig._suptitle.get_color() == "red"


def test_sweep_bad_arguments(grid):
    with pytest.raises(tpviz.InputError, match="vary must be one of 'lr', 'l2_reg', 'iterations'"):
        tpviz.plot_sweep(grid, vary="L2")
    with pytest.raises(tpviz.InputError, match="what tpviz.sweep returns"):
        tpviz.plot_sweep(grid.images, vary="lr")


@pytest.fixture(scope="module")
def runs() -> list[tpviz.ClassVisualization]:
    with torch.random.fork_rng():
        model = TinyConv()
    return [tpviz.class_visualization(model, [1, 2], iterations=3, **KNOBS),
            tpviz.class_visualization(model, 3, iterations=3, **KNOBS)]


def test_class_visualizations_in_a_row_titled_with_class_and_probability(runs):
    fig = tpviz.plot_class_visualization(runs)
    assert len(fig.axes) == 3
    probs = [float(runs[0].target_probability[0]), float(runs[0].target_probability[1]),
             float(runs[1].target_probability[0])]
    assert titles(fig) == [f"{n} {p:.2f}" for n, p in zip(["goldfish", "great white shark", "tiger shark"], probs)]
    assert np.array_equal(fig.axes[2].images[0].get_array(), tpviz.deprocess(runs[1].images)[0])
    assert fig._suptitle is None and all(ax.get_xlabel() == "" for ax in fig.axes)


def test_class_visualizations_with_titles_and_a_random_weights_model(runs, random_model):
    fig = tpviz.plot_class_visualization(runs, titles=["a", "b", "c"], models=[TinyConv(), random_model])
    assert [t.split("\n")[0] for t in titles(fig)] == ["a", "b", "c"]
    assert titles(fig)[1].split("\n")[1].startswith("great white shark ")
    labels = [(ax.get_xlabel(), ax.xaxis.label.get_color()) for ax in fig.axes]
    assert labels == [("TinyConv", "black"), ("TinyConv", "black"), ("squeezenet1_1\nRANDOM WEIGHTS", "red")]
    assert fig._suptitle.get_text() == "RANDOM WEIGHTS (squeezenet1_1): these images are meaningless"
    assert fig._suptitle.get_color() == "red"
    one = tpviz.plot_class_visualization(runs[1], models=random_model)
    assert one.axes[0].get_xlabel() == "squeezenet1_1\nRANDOM WEIGHTS"


def test_class_visualization_bad_arguments(runs):
    with pytest.raises(tpviz.InputError, match="2 titles for 3 images"):
        tpviz.plot_class_visualization(runs, titles=["a", "b"])
    with pytest.raises(tpviz.InputError, match="1 models for 2 results"):
        tpviz.plot_class_visualization(runs, models=[TinyConv()])
    with pytest.raises(tpviz.InputError, match="non-empty list"):
        tpviz.plot_class_visualization([])
