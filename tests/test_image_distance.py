"""tpviz.image_distance: distances between two images in 0-255 pixel levels, checked by hand."""

from __future__ import annotations

import math

import pytest
import torch

import tpviz
from tpviz.imagenet.images import pixel_scale


def test_one_pixel_moved_by_known_levels():
    a = torch.zeros(1, 3, 4, 4)
    b = a.clone()
    step = 1 / pixel_scale(a).flatten()  # one 0-255 level per channel, in model-input units
    b[0, 0, 1, 2] += 3 * step[0]
    b[0, 2, 0, 0] -= 4 * step[2]
    d = tpviz.image_distance(a, b)
    assert d["linf"] == pytest.approx(4, rel=1e-5) and d["l2"] == pytest.approx(5, rel=1e-5)  # 3-4-5
    assert d["psnr_dB"] == pytest.approx(10 * math.log10(255**2 / (25 / 48)), rel=1e-5)  # MSE over 3 x 4 x 4
    assert tpviz.image_distance(b, a) == d


def test_an_image_and_itself():
    x = torch.randn(1, 3, 5, 5)
    assert tpviz.image_distance(x, x.clone()) == {"linf": 0.0, "l2": 0.0, "psnr_dB": math.inf}


@pytest.mark.parametrize("other", [torch.zeros(2, 3, 4, 4), torch.zeros(1, 3, 5, 4)])
def test_two_images_of_one_shape_are_needed(other):
    with pytest.raises(tpviz.InputError, match=r"x\[k:k \+ 1\]"):
        tpviz.image_distance(torch.zeros(1, 3, 4, 4), other)
