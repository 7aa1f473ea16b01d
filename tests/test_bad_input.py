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


# -- issue 14's examples: silently wrong before, a clear error (or a right result) now ---------------------------

def _pixels255(n: int = 1, size: int = 8) -> torch.Tensor:
    """The most common student mistake: 0-255 floats where model inputs belong."""
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * 255


@pytest.mark.parametrize("call", [
    lambda m, x: tpviz.saliency_maps(m, x, 0),
    lambda m, x: tpviz.pgd(m, x, 1, eps=2 / 255, steps=1),
    lambda m, x: tpviz.fooling_image(m, x, 1, max_iter=1),
    lambda m, x: tpviz.class_visualization(m, 1, init=x, size=8, max_jitter=2, iterations=1),
], ids=["saliency", "pgd", "fooling", "classviz-init"])
@pytest.mark.parametrize("scale", [255.0, 10.0], ids=["0-255", "x10"])
def test_images_in_the_wrong_units_are_refused_with_the_fix(tiny, call, scale):
    x = _pixels255() * (scale / 255) * (1 if scale == 255 else 3)
    with pytest.raises(tpviz.InputError, match=r"far outside what a normalised image can be.*tpviz.preprocess"):
        call(tiny, x)


def test_normalised_images_and_noise_starts_are_accepted(tiny):
    x = tpviz.preprocess(np.full((1, 8, 8, 3), 255, np.uint8))  # the brightest pixel: the range's upper edge
    assert tpviz.saliency_maps(tiny, x, 0).shape == (1, 8, 8)
    noise = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 1.5
    assert tpviz.class_visualization(tiny, 1, init=noise, size=8, max_jitter=2, iterations=1).images.shape == (1, 3, 8, 8)


@pytest.mark.parametrize("call, match", [
    (lambda m, x: tpviz.fooling_image(m, x, 1, lr=float("inf")), "lr must be a positive number.*not a finite"),
    (lambda m, x: tpviz.fooling_image(m, x, 1, lr=float("nan")), "lr must be a positive number.*not a finite"),
    (lambda m, x: tpviz.class_visualization(m, 1, l2_reg=float("inf"), size=8, max_jitter=2), "l2_reg.*not a finite"),
    (lambda m, x: tpviz.class_visualization(m, 1, lr=1e300, size=8, max_jitter=2), "lr.*far too large"),
    (lambda m, x: tpviz.smoothgrad(m, x, 0, noise=float("inf")), "noise.*not a finite"),
    (lambda m, x: tpviz.pgd(m, x, 1, eps=float("nan")), "eps must be in pixel units"),
    (lambda m, x: tpviz.class_visualization(m, 1, seed=2**64, size=8, max_jitter=2), "seed must be"),
    (lambda m, x: tpviz.class_visualization(m, 1, snapshots="ab", size=8, max_jitter=2), "snapshots must be"),
    (lambda m, x: tpviz.class_visualization(m, 1, callback=5, size=8, max_jitter=2), "callback must be a function"),
    (lambda m, x: tpviz.class_visualization(m, 1, size="8", max_jitter=2), "size must be"),
    (lambda m, x: tpviz.saliency_maps(m, x, 2**63), "far outside any model's classes"),
    (lambda m, x: tpviz.fooling_image(m, x, 1, progress="yes"), "progress must be True"),
], ids=["lr-inf", "lr-nan", "l2-inf", "lr-huge", "noise-inf", "eps-nan", "seed-2^64", "snapshots-str",
        "callback-int", "size-str", "label-2^63", "progress-str"])
def test_non_finite_and_mistyped_knobs_are_named(tiny, call, match):
    with pytest.raises(tpviz.InputError, match=match):
        call(tiny, torch.zeros(1, 3, 8, 8))


def test_numpy_scalars_and_0d_tensors_are_numbers(tiny):
    a = tpviz.class_visualization(tiny, np.int64(1), lr=np.float32(2.0), l2_reg=torch.tensor(1e-3),
                                  iterations=torch.tensor(2), size=8.0, max_jitter=np.int64(2), seed=np.uint8(3))
    b = tpviz.class_visualization(tiny, 1, lr=2.0, l2_reg=1e-3, iterations=2, size=8, max_jitter=2, seed=3)
    torch.testing.assert_close(a.images, b.images)


def test_a_model_with_nan_weights_gives_an_error_not_a_nan_figure(tiny):
    with torch.no_grad():
        tiny.features[0].weight[0, 0, 0, 0] = float("nan")  # as a weights file holding one NaN would
    for call in (lambda: tpviz.saliency_maps(tiny, torch.zeros(1, 3, 8, 8), 0),
                 lambda: tpviz.class_visualization(tiny, 0, size=8, max_jitter=2, iterations=2),
                 lambda: tpviz.fooling_image(tiny, torch.zeros(1, 3, 8, 8), 1, max_iter=2)):
        with pytest.raises(tpviz.InputError, match="NaN or infinite.*weights"):
            call()


def test_a_float64_input_is_named_as_a_dtype_mismatch_not_a_shape(tiny):
    with pytest.raises(tpviz.InputError, match=r"x is float64 but the model's weights are float32.*x.to\(torch.float32\)"):
        tpviz.saliency_maps(tiny, torch.zeros(1, 3, 8, 8, dtype=torch.float64), 0)


def test_inside_inference_mode_gradients_still_work(tiny):
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    expected = tpviz.saliency_maps(tiny, x, 0)
    with torch.inference_mode():
        inside = tpviz.saliency_maps(tiny, x, 0)
        grown = tpviz.class_visualization(tiny, 0, size=8, max_jitter=2, iterations=1)
    torch.testing.assert_close(inside, expected)
    assert grown.images.shape == (1, 3, 8, 8)


@pytest.mark.parametrize("model", ["squeezenet1_1", None, 3], ids=["str", "None", "int"])
def test_a_model_that_is_not_a_model_is_named(model):
    for call in (lambda: tpviz.saliency_maps(model, torch.zeros(1, 3, 8, 8), 0),
                 lambda: tpviz.class_visualization(model, 0, size=8, max_jitter=2, iterations=1),
                 lambda: tpviz.fgsm(model, torch.zeros(1, 3, 8, 8), 1, eps=2 / 255)):
        with pytest.raises(tpviz.InputError, match=r"model must be a torch model \(nn.Module\).*tpviz.load_model"):
            call()


def test_counts_given_as_whole_floats_or_numpy_ints_are_used_as_ints(tiny):
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    ref = tpviz.smoothgrad(tiny, x, 0, samples=2, batch_size=2)
    torch.testing.assert_close(tpviz.smoothgrad(tiny, x, 0, samples=2.0, batch_size=np.int64(2)), ref)
    torch.testing.assert_close(tpviz.integrated_gradients(tiny, x, 0, steps=3.0),
                               tpviz.integrated_gradients(tiny, x, 0, steps=3))
