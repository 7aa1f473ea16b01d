"""Section 2 attacks against closed forms on a linear model, and their contracts (bounds, batching, metrics)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import tpviz

from .conftest import Linear, TinyConv

STD = torch.tensor(tpviz.IMAGENET_STD).view(1, 3, 1, 1)


def small_images(n: int, size: int = 8, seed: int = 0) -> torch.Tensor:
    """Inputs well inside the valid pixel range, so clamping never binds."""
    return 0.1 * torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def soft(linear: Linear) -> Linear:
    """Shrink the weights so the softmax is far from saturated (its gradient then has no float cancellation)."""
    with torch.no_grad():
        linear.fc.weight.mul_(0.02)
        linear.fc.bias.zero_()
    return linear


def other_class(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """For each image, a class the model does not predict (its lowest-scored one)."""
    with torch.no_grad():
        return model(x).argmin(dim=1)


def test_first_naive_step_is_the_normalised_weight_row(linear: Linear):
    x = small_images(3)
    target = other_class(linear, x)
    result = tpviz.fooling_image(linear, x, target, lr=0.05, max_iter=1)
    for i, t in enumerate(target.tolist()):
        w = linear.w(t)
        torch.testing.assert_close(result.images[i], x[i] + 0.05 * w / w.norm(), rtol=0, atol=1e-6)
    assert result.iterations.tolist() == [1, 1, 1]


def test_targeted_fgsm_direction_is_the_closed_form(linear: Linear):
    linear, x = soft(linear), small_images(3)
    target = other_class(linear, x)
    eps = 2 / 255
    result = tpviz.fgsm(linear, x, target, eps=eps)
    W = linear.fc.weight.detach()  # (K, D)
    with torch.no_grad():
        p = F.softmax(linear(x), dim=1)  # (N, K)
    # d log p_t / dx = W[t] - sum_c p_c W[c]
    direction = (W[target] - p @ W).view_as(x).sign()
    torch.testing.assert_close(result.images, x + eps / STD * direction, rtol=0, atol=1e-6)


def test_untargeted_fgsm_moves_away_from_the_prediction(linear: Linear):
    linear, x = soft(linear), small_images(3)
    eps = 1 / 255
    result = tpviz.fgsm(linear, x, eps=eps)
    W = linear.fc.weight.detach()
    with torch.no_grad():
        logits = linear(x)
    p, y = F.softmax(logits, dim=1), logits.argmax(dim=1)
    direction = (p @ W - W[y]).view_as(x).sign()  # d CE(y) / dx
    torch.testing.assert_close(result.images, x + eps / STD * direction, rtol=0, atol=1e-6)
    assert torch.equal(result.label, y)
    assert result.target is None


@pytest.mark.parametrize("seed", range(8))
def test_pgd_stays_in_the_eps_ball_and_the_pixel_range(seed: int):
    g = torch.Generator().manual_seed(seed)
    model = TinyConv(seed=seed)
    # raw pixels 0..255 including the extremes, so the pixel-range clamp binds
    pixels = torch.randint(0, 256, (4, 10, 10, 3), generator=g, dtype=torch.uint8)
    pixels[0] = 0
    pixels[1] = 255
    x = tpviz.preprocess(pixels.numpy())
    eps = float(torch.randint(1, 16, (1,), generator=g)) / 255
    target = torch.randint(0, 7, (4,), generator=g)
    result = tpviz.pgd(model, x, target, eps=eps, steps=5, seed=seed)
    pixels_adv = (result.images * STD + torch.tensor(tpviz.IMAGENET_MEAN).view(1, 3, 1, 1))
    pixels_x = x * STD + torch.tensor(tpviz.IMAGENET_MEAN).view(1, 3, 1, 1)
    assert float((pixels_adv - pixels_x).abs().max()) <= eps + 1e-6
    assert float(pixels_adv.min()) >= -1e-6 and float(pixels_adv.max()) <= 1 + 1e-6
    assert float(result.linf.max()) <= eps * 255 + 1e-4


def test_already_adversarial_succeeds_at_zero_iterations(tiny: TinyConv):
    x = torch.randn(3, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        predicted = tiny.eval()(x).argmax(dim=1)
    for attack in (lambda: tpviz.fooling_image(tiny, x, predicted),
                   lambda: tpviz.pgd(tiny, x, predicted, eps=4 / 255),
                   lambda: tpviz.fgsm(tiny, x, predicted, eps=4 / 255)):
        result = attack()
        assert result.success.all() and (result.iterations == 0).all()
        assert torch.equal(result.images, x)
        assert (result.linf == 0).all() and torch.isinf(result.psnr).all()


def test_naive_failure_is_reported_not_looped(linear: Linear):
    x = small_images(2)
    target = other_class(linear, x)
    result = tpviz.fooling_image(linear, x, target, lr=1e-4, max_iter=3)
    assert not result.success.any()
    assert result.iterations.tolist() == [3, 3]
    assert result.summary()["success_rate"] == 0.0


def test_one_image_many_targets_equals_separate_calls(tiny: TinyConv):
    x = torch.randn(1, 3, 10, 10, generator=torch.Generator().manual_seed(2))
    targets = [0, 3, 5, 6]
    batched = tpviz.fooling_image(tiny, x, targets, lr=0.5, max_iter=20)
    assert batched.images.shape == (4, 3, 10, 10)
    for i, t in enumerate(targets):
        alone = tpviz.fooling_image(tiny, x, t, lr=0.5, max_iter=20)
        torch.testing.assert_close(batched.images[i], alone.images[0], rtol=0, atol=1e-5)
        assert batched.iterations[i] == alone.iterations[0]
        assert batched.success[i] == alone.success[0]


def test_finished_images_stop_changing(linear: Linear):
    """Each image stops when it is fooled: more iterations allowed do not move a finished image."""
    x = small_images(4)
    target = other_class(linear, x)
    short = tpviz.fooling_image(linear, x, target, lr=0.5, max_iter=200)
    assert short.success.all() and len(set(short.iterations.tolist())) > 1, "want different stopping times"
    longer = tpviz.fooling_image(linear, x, target, lr=0.5, max_iter=400)
    assert torch.equal(short.images, longer.images)
    assert torch.equal(short.iterations, longer.iterations)


def test_metrics_are_in_pixel_levels_and_predictions_match_the_images(tiny: TinyConv):
    x = torch.randn(3, 3, 10, 10, generator=torch.Generator().manual_seed(4))
    result = tpviz.pgd(tiny, x, [1, 2, 3], eps=3 / 255, steps=4)
    delta = ((result.images - x) * STD * 255).flatten(1)
    torch.testing.assert_close(result.linf, delta.abs().amax(dim=1))
    torch.testing.assert_close(result.l2, delta.norm(dim=1))
    mse = delta.pow(2).mean(dim=1)
    torch.testing.assert_close(result.psnr, 10 * torch.log10(255**2 / mse))
    with torch.no_grad():
        probs = F.softmax(tiny.eval()(result.images), dim=1)
        saved = tiny(tpviz.quantize(result.images)).argmax(dim=1)
    torch.testing.assert_close(result.probability, probs.max(dim=1).values)
    assert torch.equal(result.predicted, probs.argmax(dim=1))
    assert torch.equal(result.success, result.predicted == torch.tensor([1, 2, 3]))
    assert torch.equal(result.survives_saving, saved == torch.tensor([1, 2, 3]))


def test_until_saved_keeps_going_until_the_rounded_image_fools(linear: Linear):
    """An 8-bit image a hair's breadth from the boundary: a sub-level step fools the model, but rounding
    to 8 bits takes the image back to x, so only until_saved gives an image that stays fooled once saved."""
    linear = soft(linear)
    pixels = torch.randint(0, 256, (1, 8, 8, 3), generator=torch.Generator().manual_seed(5), dtype=torch.uint8)
    x = tpviz.preprocess(pixels.numpy())
    with torch.no_grad():
        top2 = linear(x)[0].topk(2)
        linear.fc.bias[top2.indices[1]] += top2.values[0] - top2.values[1] - 1e-4  # target just below the top
    target = int(top2.indices[1])
    plain = tpviz.fooling_image(linear, x, target, lr=0.01, max_iter=500)
    assert plain.success.all() and plain.iterations.item() == 1
    assert float(plain.linf) < 0.5 and torch.equal(tpviz.quantize(plain.images), x)
    assert not plain.survives_saving.any()
    saved = tpviz.fooling_image(linear, x, target, lr=0.01, max_iter=500, until_saved=True)
    assert saved.success.all() and saved.survives_saving.all()
    assert saved.iterations.item() > plain.iterations.item()
    with torch.no_grad():
        assert int(linear(tpviz.quantize(saved.images)).argmax()) == target


def test_pgd_is_deterministic_for_a_seed(tiny: TinyConv):
    x = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(6))
    a = tpviz.pgd(tiny, x, [1, 2], eps=8 / 255, steps=3, seed=3)
    b = tpviz.pgd(tiny, x, [1, 2], eps=8 / 255, steps=3, seed=3)
    c = tpviz.pgd(tiny, x, [1, 2], eps=8 / 255, steps=3, seed=4)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, c.images)


ATTACKS = {
    "fooling_image": lambda m, x, t, **kw: tpviz.fooling_image(m, x, t, max_iter=2, **kw),
    "fgsm": lambda m, x, t, **kw: tpviz.fgsm(m, x, t, **{"eps": 2 / 255, **kw}),
    "pgd": lambda m, x, t, **kw: tpviz.pgd(m, x, t, **{"eps": 2 / 255, "steps": 2, **kw}),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("target, match", [
    (10, r"outside 0–9"),
    ([1, 2, 3], "3 labels for 4 images"),
    ("bulbull", "Did you mean.*bulbul"),
    (-2, "negative"),
])
def test_bad_targets(linear: Linear, images8: torch.Tensor, name, target, match):
    with pytest.raises(tpviz.InputError, match=match):
        ATTACKS[name](linear, images8, target)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_nan_image(linear: Linear, name):
    with pytest.raises(tpviz.InputError, match="NaN"):
        ATTACKS[name](linear, torch.full((1, 3, 8, 8), float("nan")), 1)


@pytest.mark.parametrize("kw, match", [
    ({"eps": 0}, "eps must be in pixel units.*2/255"),
    ({"eps": -0.1}, "eps must be in pixel units"),
    ({"eps": 1.0}, "eps must be in pixel units"),
    ({"eps": 8}, "eps must be in pixel units.*got 8"),
    ({"eps": "2/255"}, "eps must be in pixel units.*got '2/255'"),
    ({"alpha": 0.0}, "alpha must be in pixel units"),
    ({"steps": 0}, "steps must be a positive int"),
    ({"steps": 2.5}, "steps must be a positive int"),
])
def test_bad_pgd_knobs(linear: Linear, images8: torch.Tensor, kw, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.pgd(linear, images8, 1, **{"eps": 2 / 255, **kw})


@pytest.mark.parametrize("kw, match", [
    ({"lr": 0}, "lr must be a positive number"),
    ({"max_iter": 0}, "max_iter must be a positive int"),
])
def test_bad_naive_knobs(linear: Linear, images8: torch.Tensor, kw, match):
    with pytest.raises(tpviz.InputError, match=match):
        tpviz.fooling_image(linear, images8, 1, **kw)


def test_target_and_label_together_is_an_error(linear: Linear, images8: torch.Tensor):
    with pytest.raises(tpviz.InputError, match="either target=.*or label="):
        tpviz.pgd(linear, images8, 1, eps=2 / 255, label=2)
