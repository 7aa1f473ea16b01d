"""Bad input to the algorithms: a clear tpviz error that says what to do, before torch internals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tpviz


@pytest.mark.parametrize("x, match", [
    (np.zeros((2, 224, 224, 3), dtype=np.uint8), "numpy array.*tpviz.preprocess"),
    (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), "float tensor.*raw pixels.*tpviz.preprocess"),
    (torch.zeros(3, 8, 8), r"unsqueeze\(0\)"),
    (torch.zeros(2, 8, 8, 3), "channels-last"),
    (torch.zeros(2, 1, 8, 8), r"\(N, 3, H, W\)"),
    (torch.zeros(0, 3, 8, 8), "empty"),
    (torch.full((1, 3, 8, 8), float("nan")), "NaN"),
])
@pytest.mark.parametrize("fn", [tpviz.saliency_maps, tpviz.smoothgrad, tpviz.integrated_gradients])
def test_bad_images(fn, linear, x, match):
    with pytest.raises(tpviz.InputError, match=match):
        fn(linear, x, 0)


@pytest.mark.parametrize("y, match", [
    ([1, 2], "2 labels for 4 images"),
    (torch.tensor([[1, 2, 3, 4]]), r"LongTensor \(N,\)"),
    (torch.tensor([0.0, 1.0, 2.0, 3.0]), r"LongTensor \(N,\)"),
    ([0, 1, 2, 10], r"outside 0–9"),
    (-1, "negative"),
    ([0, 1, 2.5, 3], "labels are int class indices"),
    ("snial", "Did you mean"),
    ({"a": 1}, "got dict"),
])
def test_bad_labels(linear, images8, y, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.saliency_maps(linear, images8, y)


def test_labels_from_numpy_and_int32_tensors(linear, images8):
    ref = tpviz.saliency_maps(linear, images8, torch.tensor([1, 2, 3, 4]))
    torch.testing.assert_close(tpviz.saliency_maps(linear, images8, np.array([1, 2, 3, 4])), ref)
    torch.testing.assert_close(tpviz.saliency_maps(linear, images8, torch.tensor([1, 2, 3, 4], dtype=torch.int32)), ref)


def test_wrong_spatial_size_for_the_model_is_explained():
    model = tpviz.load_model("squeezenet1_1", weights="random", device="cpu")
    with pytest.raises(tpviz.InputError, match=r"cannot take input of shape \(1, 3, 8, 8\).*224"):
        tpviz.saliency_maps(model, torch.zeros(1, 3, 8, 8), 0)


def test_a_model_without_weights_is_named_as_such_not_a_device_to_move_to(linear, images8):
    meta_model = torch.nn.Linear(3, 3, device="meta")
    with pytest.raises(tpviz.InputError, match=r"'meta' device: it has shapes but no weights.*tpviz.load_model"):
        tpviz.saliency_maps(meta_model, images8, 0)


@pytest.mark.parametrize("kw, match", [({"samples": 0}, "samples"), ({"noise": -0.1}, "noise"),
                                       ({"batch_size": 0}, "batch_size"), ({"samples": 2.5}, "samples")])
def test_bad_smoothgrad_knobs(linear, images8, kw, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.smoothgrad(linear, images8, 0, **kw)


def test_bad_integrated_gradients_knobs(linear, images8):
    with pytest.raises(tpviz.InputError, match="steps"):
        tpviz.integrated_gradients(linear, images8, 0, steps=0)
    with pytest.raises(tpviz.InputError, match="baseline must have shape"):
        tpviz.integrated_gradients(linear, images8, 0, baseline=torch.zeros(2, 3, 8, 8))
