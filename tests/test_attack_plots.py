"""The TP's Figure 3 layout (original, adversarial, difference, difference x10) and perturbation vs saliency."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import tpviz

BULBUL = 16
SIZE = 16


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _result(x: torch.Tensor, delta: torch.Tensor, predicted: list[int], probability: list[float]) -> tpviz.AttackResult:
    """An AttackResult whose images are x + delta, delta given in 0–1 pixel units (N, 3, H, W)."""
    std = torch.tensor(tpviz.IMAGENET_STD).view(1, 3, 1, 1)
    n = delta.shape[0]
    zeros = torch.zeros(n)
    return tpviz.AttackResult(
        images=x + delta / std, method="naive", target=torch.full((n,), BULBUL), label=None,
        success=torch.ones(n, dtype=torch.bool), survives_saving=torch.ones(n, dtype=torch.bool),
        iterations=torch.ones(n, dtype=torch.long), predicted=torch.tensor(predicted),
        probability=torch.tensor(probability), linf=zeros, l2=zeros, psnr=zeros)


def _images(n: int = 2) -> torch.Tensor:
    """n mid-grey-ish images as model inputs, far enough from 0 and 255 for a small change to show."""
    pixels = np.random.default_rng(0).integers(60, 200, (n, SIZE, SIZE, 3), dtype=np.uint8)
    return tpviz.preprocess(pixels)


def _one_changed_pixel(n: int = 2, level: float = 4 / 255) -> torch.Tensor:
    delta = torch.zeros(n, 3, SIZE, SIZE)
    delta[:, 1, 3, 5] = level
    return delta


def test_four_columns_titled_with_prediction_probability_and_magnified_difference():
    x = _images()
    result = _result(x, _one_changed_pixel(), predicted=[BULBUL, 0], probability=[0.523, 0.9])
    fig = tpviz.plot_attack(x, result, original_title="Tibetan mastiff")
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "Tibetan mastiff"
    assert titles[1] == "bulbul 0.52"
    assert titles[2].startswith("difference") and "4.0/255" in titles[2]
    assert titles[3] == "difference ×10"
    assert np.array_equal(fig.axes[0].images[0].get_array(), tpviz.deprocess(x)[0])
    stretched = np.asarray(fig.axes[2].images[0].get_array())
    magnified = np.asarray(fig.axes[3].images[0].get_array())
    assert stretched[3, 5, 1] == pytest.approx(1.0) and magnified[3, 5, 1] == pytest.approx(0.5 + 40 / 255, abs=1e-5)
    untouched = np.ones(stretched.shape, dtype=bool)
    untouched[3, 5, 1] = False
    assert np.allclose(stretched[untouched], 0.5) and np.allclose(magnified[untouched], 0.5, atol=1e-5)
    assert fig.axes[0].get_ylabel() == "naive" and fig._suptitle is None


def test_index_picks_the_image_and_one_image_broadcast_to_many_targets():
    x = _images(1)
    result = _result(x.expand(3, -1, -1, -1), _one_changed_pixel(3), predicted=[1, 2, BULBUL], probability=[0.1, 0.2, 0.3])
    fig = tpviz.plot_attack(x, result, index=2)
    assert fig.axes[1].get_title() == "bulbul 0.30" and fig.axes[0].get_title() == "original"


def test_one_row_per_result_and_random_weights_in_red():
    x = _images()
    rnd = tpviz.load_model("squeezenet1_1", weights="random", device="cpu")
    plain = torch.nn.Linear(2, 2)
    results = [_result(x, _one_changed_pixel(), [BULBUL, 0], [0.5, 0.5]), _result(x, -_one_changed_pixel(), [3, 0], [0.25, 0.5])]
    fig = tpviz.plot_attack(x, results, models=[plain, rnd], magnify=5)
    axes = np.array(fig.axes).reshape(2, 4)
    assert [ax.get_title() for ax in axes[:, 1]] == ["bulbul 0.50", f"{tpviz.class_name(3)} 0.25"]
    assert axes[1, 3].get_title() == "difference ×5"
    assert axes[0, 0].get_ylabel() == "Linear" and axes[0, 0].yaxis.label.get_color() == "black"
    assert axes[1, 0].get_ylabel() == "squeezenet1_1\nRANDOM WEIGHTS" and axes[1, 0].yaxis.label.get_color() == "red"
    assert "RANDOM WEIGHTS (squeezenet1_1)" in fig._suptitle.get_text() and fig._suptitle.get_color() == "red"


def test_plot_attack_bad_input_says_what_to_do():
    x = _images()
    result = _result(x, _one_changed_pixel(), [BULBUL, 0], [0.5, 0.5])
    with pytest.raises(tpviz.InputError, match="1 models for 2 results"):
        tpviz.plot_attack(x, [result, result], models=[torch.nn.Linear(2, 2)])
    with pytest.raises(tpviz.InputError, match="pass the same x you gave the attack"):
        tpviz.plot_attack(_images(3), result)
    with pytest.raises(tpviz.InputError, match="index 2 is out of range for a result of 2 images"):
        tpviz.plot_attack(x, result, index=2)
    with pytest.raises(tpviz.InputError, match="AttackResult"):
        tpviz.plot_attack(x, [])


def test_perturbation_vs_saliency_panels_and_pearson_r():
    x = _images()
    delta = torch.zeros(2, 3, SIZE, SIZE)
    delta[:, 0, :8] = 2 / 255   # the change: top half of the image
    result = _result(x, delta, [BULBUL, 0], [0.5, 0.5])
    saliency = torch.zeros(2, SIZE, SIZE)
    saliency[:, :8] = 1.0       # same place: r = 1
    fig = tpviz.plot_perturbation(x, result, saliency)
    assert len(fig.axes) == 3
    assert "Pearson r = 1.00" in fig._suptitle.get_text()
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), delta[0].abs().amax(dim=0).numpy() * 255, atol=1e-4)
    overlay = np.asarray(fig.axes[2].images[0].get_array())
    assert overlay.shape == (SIZE, SIZE, 3)
    assert overlay[0, 0, 0] > overlay[-1, -1, 0] and overlay[0, 0, 1] > overlay[-1, -1, 1]  # red and green on top
    apart = torch.zeros(2, SIZE, SIZE)
    apart[:, 8:] = 1.0          # elsewhere: r = -1
    assert "Pearson r = -1.00" in tpviz.plot_perturbation(x, result, apart, index=1)._suptitle.get_text()
    flat = tpviz.plot_perturbation(x, result, torch.ones(2, SIZE, SIZE))
    assert "undefined" in flat._suptitle.get_text()


def test_plot_perturbation_bad_input_says_what_to_do():
    x = _images()
    result = _result(x, _one_changed_pixel(), [BULBUL, 0], [0.5, 0.5])
    with pytest.raises(tpviz.InputError, match="tpviz.saliency_maps"):
        tpviz.plot_perturbation(x, result, torch.zeros(2, 8, 8))
    with pytest.raises(tpviz.InputError, match="alpha must be"):
        tpviz.plot_perturbation(x, result, torch.zeros(2, SIZE, SIZE), alpha=2)
    with pytest.raises(tpviz.InputError, match="one AttackResult"):
        tpviz.plot_perturbation(x, [result], torch.zeros(2, SIZE, SIZE))
