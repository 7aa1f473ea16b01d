"""plot_saliency's colour scales (panel, row, figure), said in the title, and signed rows centred on 0."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import tpviz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _limits(fig, rows, n):
    axes = np.array(fig.axes).reshape(rows + 1, n)
    return [[axes[r + 1, j].images[0].get_clim() for j in range(n)] for r in range(rows)]


def _data():
    images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    a = torch.stack([torch.full((8, 8), 1.0), torch.full((8, 8), 3.0)])
    return images, a, 10 * a


def test_panel_scale_stretches_each_map_to_its_own_maximum():
    images, a, b = _data()
    fig = tpviz.plot_saliency(images, [a, b])
    assert _limits(fig, 2, 2) == [[(0, 1), (0, 3)], [(0, 10), (0, 30)]]
    assert "each map from 0 to its own maximum" in fig._suptitle.get_text()


def test_row_and_figure_scales_share_one_maximum():
    images, a, b = _data()
    assert _limits(tpviz.plot_saliency(images, [a, b], colour_scale="row"), 2, 2) == [[(0, 3)] * 2, [(0, 30)] * 2]
    fig = tpviz.plot_saliency(images, [a, b], colour_scale="figure")
    assert _limits(fig, 2, 2) == [[(0, 30)] * 2, [(0, 30)] * 2]
    assert "one for all maps" in fig._suptitle.get_text()


def test_signed_row_is_symmetric_and_diverging():
    images, a, _ = _data()
    signed = a.clone()
    signed[0, 0, 0] = -4.0
    fig = tpviz.plot_saliency(images, [a, signed], colour_scale="panel")
    axes = np.array(fig.axes).reshape(3, 2)
    v = float(np.percentile(signed[0].abs().numpy(), 99))  # 1 < v < 4: one extreme pixel does not set the scale
    assert 1 < v < 4 and axes[2, 0].images[0].get_clim() == pytest.approx((-v, v))
    assert axes[2, 0].images[0].get_cmap().name == "bwr"
    assert axes[1, 0].images[0].get_cmap().name == "hot"
    assert "red raises the score" in fig._suptitle.get_text()


def test_unknown_scale_is_refused():
    images, a, _ = _data()
    with pytest.raises(tpviz.InputError, match="colour_scale"):
        tpviz.plot_saliency(images, a, colour_scale="global")
