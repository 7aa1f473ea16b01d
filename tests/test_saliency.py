"""Section 1 algorithms against oracles: closed forms on a linear model, autograd on a tiny conv net."""

from __future__ import annotations

import pytest
import torch

import tpviz


def test_linear_saliency_is_abs_weight_row_max_over_channels(linear, images8):
    y = torch.tensor([0, 3, 9, 3])
    maps = tpviz.saliency_maps(linear, images8, y)
    assert maps.shape == (4, 8, 8)
    for i, label in enumerate(y.tolist()):
        expected = linear.w(label).abs().amax(dim=0)
        torch.testing.assert_close(maps[i], expected, rtol=0, atol=1e-6)


def test_one_label_for_all_images_equals_per_image_labels(linear, images8):
    torch.testing.assert_close(tpviz.saliency_maps(linear, images8, 5),
                               tpviz.saliency_maps(linear, images8, [5, 5, 5, 5]))


def _reference_saliency(model, x, y):
    """The 3-line autograd reference, one image at a time."""
    maps = []
    for xi, yi in zip(x, y):
        xi = xi[None].clone().requires_grad_(True)
        model(xi)[0, yi].backward()
        maps.append(xi.grad.abs().max(dim=1).values[0])
    return torch.stack(maps)


def test_tiny_conv_net_matches_autograd_reference(tiny):
    x = torch.randn(5, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3, 6])
    ours = tpviz.saliency_maps(tiny, x, y)
    ref_model = type(tiny)()
    ref_model.load_state_dict(tiny.state_dict())
    ref_model.eval()
    torch.testing.assert_close(ours, _reference_saliency(ref_model, x, y), rtol=1e-5, atol=1e-7)


def test_batched_equals_one_by_one(tiny):
    x = torch.randn(6, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    batched = tpviz.saliency_maps(tiny, x, y)
    single = torch.cat([tpviz.saliency_maps(tiny, x[i:i + 1], y[i:i + 1]) for i in range(6)])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-7)


def test_class_names_are_accepted_as_labels():
    # names map to ImageNet indices, so use a 1000-class model
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 1000))
    x = torch.randn(2, 3, 4, 4)
    snail = tpviz.class_index("snail")
    torch.testing.assert_close(tpviz.saliency_maps(model, x, ["snail", "snail"]),
                               tpviz.saliency_maps(model, x, torch.tensor([snail, snail])))


def test_smoothgrad_of_linear_model_is_the_saliency(linear, images8):
    # The gradient of a linear model is the same at every point, so averaging over noise changes nothing.
    sg = tpviz.smoothgrad(linear, images8, 2, samples=6, noise=0.3, batch_size=5)
    torch.testing.assert_close(sg, tpviz.saliency_maps(linear, images8, 2), rtol=0, atol=1e-6)


def test_smoothgrad_without_noise_is_the_saliency(tiny):
    x = torch.randn(3, 3, 10, 10, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(tpviz.smoothgrad(tiny, x, [0, 1, 2], samples=3, noise=0.0),
                               tpviz.saliency_maps(tiny, x, [0, 1, 2]), rtol=1e-5, atol=1e-7)


def test_smoothgrad_is_repeatable_and_seed_dependent(tiny):
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(4))
    a = tpviz.smoothgrad(tiny, x, 1, samples=4, seed=7)
    assert torch.equal(a, tpviz.smoothgrad(tiny, x, 1, samples=4, seed=7))
    assert not torch.allclose(a, tpviz.smoothgrad(tiny, x, 1, samples=4, seed=8))
    # batch_size only changes how the work is split, not the result
    torch.testing.assert_close(a, tpviz.smoothgrad(tiny, x, 1, samples=4, seed=7, batch_size=3))


def test_integrated_gradients_of_linear_model_is_exact(linear, images8):
    base = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    ig = tpviz.integrated_gradients(linear, images8, 4, baseline=base, steps=3)
    torch.testing.assert_close(ig, (images8 - base) * linear.w(4), rtol=1e-5, atol=1e-6)


def test_integrated_gradients_completeness_on_a_nonlinear_net(tiny):
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(6))
    ig = tpviz.integrated_gradients(tiny, x, [2, 5], steps=256, batch_size=64)
    tiny.eval()
    with torch.no_grad():
        gap = tiny(x)[[0, 1], [2, 5]] - tiny(torch.zeros_like(x))[[0, 1], [2, 5]]
    torch.testing.assert_close(ig.sum(dim=(1, 2, 3)), gap, rtol=2e-3, atol=2e-4)
    tiny.train()


@pytest.mark.parametrize("fn", [tpviz.saliency_maps, tpviz.smoothgrad, tpviz.integrated_gradients])
def test_results_do_not_depend_on_train_mode(fn, tiny):
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(9))
    tiny.eval()
    in_eval = fn(tiny, x, [1, 2])
    tiny.train()  # Dropout active: a naive implementation would give a different, random answer
    torch.testing.assert_close(fn(tiny, x, [1, 2]), in_eval)


def test_works_inside_no_grad_and_on_inference_tensors(tiny):
    with torch.inference_mode():
        x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(10))
    ref = tpviz.saliency_maps(tiny, x.clone(), 1)
    with torch.no_grad():
        torch.testing.assert_close(tpviz.saliency_maps(tiny, x, 1), ref)
