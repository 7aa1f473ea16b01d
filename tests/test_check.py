"""tpviz.check: each self-check passes correct implementations and names the slip of typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tpviz
import tpviz.check as check

# -- implementations a student might write -------------------------------------------------------------------


def _grad(model, x, labels, objective=None):
    """d sum_i objective / d x on a copy of x, and the copy."""
    leaf = x.detach().clone().requires_grad_(True)
    scores = model(leaf)
    total = scores.gather(1, labels.view(-1, 1)).sum() if objective is None else objective(scores, labels)
    (g,) = torch.autograd.grad(total, leaf)
    return g


def _unit(g):
    return g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def saliency_right(model, x, y):
    return _grad(model, x, y).abs().amax(dim=1)


def saliency_backward_then_clean(model, x, y):
    """.backward() on a copy, the weights' gradients removed afterwards: correct and clean."""
    leaf = x.detach().clone().requires_grad_(True)
    model(leaf).gather(1, y.view(-1, 1)).sum().backward()
    model.zero_grad(set_to_none=True)
    return leaf.grad.abs().amax(dim=1)


def saliency_cs231n(model, x, y):
    """CS231n's helper: requires_grad on the caller's x and .backward() on an unfrozen model."""
    x.requires_grad_()
    scores = model(x).gather(1, y.view(-1, 1)).squeeze()
    scores.backward(torch.ones_like(scores))
    return x.grad.data.abs().max(dim=1)[0]


def fooling_right(model, x, target, lr):
    return (x + lr * _unit(_grad(model, x, target))).detach()


def fooling_right_clamped(model, x, target, lr):
    return tpviz.clamp_pixels(fooling_right(model, x, target, lr))


def fooling_right_in_place_on_a_copy(model, x, target, lr):
    g = _grad(model, x, target)
    new = x.clone()
    with torch.no_grad():
        new += lr * g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return new


def classviz_right(model, img, target, lr, l2_reg):
    leaf = img.detach().clone().requires_grad_(True)
    objective = model(leaf).gather(1, target.view(-1, 1)).sum() - l2_reg * leaf.pow(2).sum()
    (g,) = torch.autograd.grad(objective, leaf)
    return (img + lr * _unit(g)).detach()


def classviz_right_clamped(model, img, target, lr, l2_reg):
    return tpviz.clamp_pixels(classviz_right(model, img, target, lr, l2_reg))


# -- shared helpers ------------------------------------------------------------------------------------------


def run(check_fn, fn):
    result = check_fn(fn, quiet=True)
    assert isinstance(result, check.CheckResult)
    return result


def assert_passes(check_fn, fn):
    result = run(check_fn, fn)
    assert result.passed and result.written and result.messages == (), result.verdict
    assert bool(result) is True


def assert_fails_with(check_fn, fn, *fragments):
    """The check fails, with exactly one message per fragment, each containing its fragment(s), in order."""
    result = run(check_fn, fn)
    assert not result.passed and not bool(result), result.verdict
    assert result.written
    assert len(result.messages) == len(fragments), result.verdict
    for message, fragment in zip(result.messages, fragments):
        for part in (fragment,) if isinstance(fragment, str) else fragment:
            assert part in message, f"{part!r} not in {message!r}"
    return result


# -- saliency ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [saliency_right, saliency_backward_then_clean, tpviz.saliency_maps],
                         ids=["autograd.grad", "backward-then-clean", "tpviz.saliency_maps"])
def test_saliency_passes_correct_implementations(fn):
    assert_passes(check.saliency, fn)


def _saliency(reduce, objective=None, sign=1.0):
    return lambda model, x, y: sign * reduce(_grad(model, x, y, objective))


SALIENCY_SLIPS = {
    "missing abs": (_saliency(lambda g: g.amax(dim=1)), ("The absolute value is missing", "grad.abs().amax(dim=1)")),
    "abs after max": (_saliency(lambda g: g.amax(dim=1).abs()), "The absolute value comes too late"),
    "sum over channels": (_saliency(lambda g: g.abs().sum(dim=1)),
                          ("You summed |gradient| over the colour channels", "max over them")),
    "mean over channels": (_saliency(lambda g: g.abs().mean(dim=1)), ("You averaged |gradient|", "max over them")),
    "abs of sum": (_saliency(lambda g: g.sum(dim=1).abs()), "You summed the signed gradient"),
    "norm over channels": (_saliency(lambda g: g.norm(dim=1)), "Euclidean norm over the colour channels"),
    "opposite sign": (_saliency(lambda g: g.abs().amax(dim=1), sign=-1.0), "opposite sign"),
    "per channel": (_saliency(lambda g: g.abs()), ("|gradient| for each colour channel, shape (N, 3, H, W)",
                                                   "reduce the channels with the max")),
    "raw gradient": (_saliency(lambda g: g), ("raw gradient, shape (N, 3, H, W)", "absolute value")),
    "batch-mean loss": (_saliency(lambda g: g.abs().amax(dim=1), lambda s, y: F.cross_entropy(s, y)),
                        ("batch-mean cross-entropy loss", "raw score of class y")),
    "log-softmax": (_saliency(lambda g: g.abs().amax(dim=1), lambda s, y: F.log_softmax(s, 1).gather(1, y[:, None]).sum()),
                    "log-probability (log-softmax) of class y"),
    "probability": (_saliency(lambda g: g.abs().amax(dim=1), lambda s, y: F.softmax(s, 1).gather(1, y[:, None]).sum()),
                    "softmax probability of class y"),
    "predicted class": (_saliency(lambda g: g.abs().amax(dim=1), lambda s, y: s.max(dim=1).values.sum()),
                        "the class the model predicts"),
    "scores[:, y]": (_saliency(lambda g: g.abs().amax(dim=1), lambda s, y: s[:, y].sum()), "N×N block"),
    "all scores": (_saliency(lambda g: g.abs().amax(dim=1), lambda s, y: s.sum()), "sum of all class scores"),
    "two slips": (_saliency(lambda g: g.sum(dim=1).abs(), lambda s, y: s[:, y].sum()),
                  "N×N block", "You summed the signed gradient"),
    "scaled per image": (lambda m, x, y: (lambda s: s / s.flatten(1).amax(dim=1).view(-1, 1, 1))(saliency_right(m, x, y)),
                         ("multiplied by a factor per image", "without rescaling")),
    "keepdim": (_saliency(lambda g: g.abs().amax(dim=1, keepdim=True)), ("(N, 1, H, W)", "keepdim")),
    "keepdim and no abs": (_saliency(lambda g: g.amax(dim=1, keepdim=True)), "keepdim", "The absolute value is missing"),
    "max gives a pair": (lambda m, x, y: _grad(m, x, y).abs().max(dim=1), "(values, indices)"),
    "numpy": (lambda m, x, y: saliency_right(m, x, y).numpy(), "numpy array"),
    "float64": (lambda m, x, y: saliency_right(m, x, y).double(), ("torch.float64", "keep x's dtype")),
    "long": (lambda m, x, y: saliency_right(m, x, y).long(), "dtype torch.int64"),
    "other device": (lambda m, x, y: saliency_right(m, x, y).to("meta"), "is on meta, but x is on cpu"),
    "still in the graph": (lambda m, x, y: (x.detach().clone().requires_grad_(True) * 0).sum(1) + saliency_right(m, x, y),
                           "still requires grad"),
    "None": (lambda m, x, y: None, "returned None: did you forget the `return` line?"),
    "a list": (lambda m, x, y: [saliency_right(m, x, y)], "returned a list of 1 item(s)"),
    "a number": (lambda m, x, y: 3.0, "returned a float, not a torch tensor"),
    "one image": (lambda m, x, y: saliency_right(m, x, y)[0], ("shape (8, 8)", "keep the batch axis")),
    "NaN": (lambda m, x, y: saliency_right(m, x, y) / 0 * 0, "NaN or infinite values"),
    "zeros": (lambda m, x, y: torch.zeros(x.shape[0], *x.shape[2:]), "all zeros"),
    "something else": (lambda m, x, y: saliency_right(m, x, y) + 0.01 * torch.arange(8.0), "matches none of the typical slips"),
}


@pytest.mark.parametrize("name", sorted(SALIENCY_SLIPS))
def test_saliency_names_the_slip(name):
    fn, *fragments = SALIENCY_SLIPS[name]
    assert_fails_with(check.saliency, fn, *fragments)


def test_saliency_cs231n_helper_side_effects():
    assert_fails_with(check.saliency, saliency_cs231n,
                      ("switched on requires_grad on the caller's x", "x.detach().clone().requires_grad_(True)"),
                      ("left .grad on the model's parameters", "torch.autograd.grad"))


def test_saliency_mutated_input():
    def fn(model, x, y):
        out = saliency_right(model, x, y)
        x.mul_(2)
        return out

    assert_fails_with(check.saliency, fn, "changed x in place")


# -- side effects, errors and misuse (through the saliency check; all checks share the runner) -----------------


def _with(effect):
    def fn(model, x, y):
        out = saliency_right(model, x, y)
        effect(model, x)
        return out
    return fn


def _hook(model, x):
    model[0].register_forward_hook(lambda *a: None)


SIDE_EFFECTS = {
    "train mode": (lambda m, x: m.train(), "changed the model's training mode"),
    "frozen weights": (lambda m, x: m.requires_grad_(False), "changed requires_grad of the model's parameters"),
    "changed weights": (lambda m, x: m[0].weight.data.zero_(), "changed the model's weights"),
    "model to float64": (lambda m, x: m.double(), "changed the model's weights"),
    "model to another device": (lambda m, x: m.to("meta"), "changed the model's weights"),
    "hook": (_hook, "left hooks registered on the model"),
    "grad switched off": (lambda m, x: torch.set_grad_enabled(False), "torch.set_grad_enabled(False)"),
    "replaced layer": (lambda m, x: m.__setitem__(0, nn.Identity()), "changed the model itself"),
    "resized x": (lambda m, x: x.resize_(1, 3, 2, 2), "changed x in place"),
}


@pytest.mark.parametrize("name", sorted(SIDE_EFFECTS))
def test_side_effects_are_named(name):
    effect, fragment = SIDE_EFFECTS[name]
    assert_fails_with(check.saliency, _with(effect), fragment)
    assert torch.is_grad_enabled()


def test_not_written_yet(capsys):
    def my_saliency(model, x, y):
        raise NotImplementedError("write your saliency maps here")

    result = check.saliency(my_saliency)
    assert not result.passed and not result.written
    assert result.messages == ("Your function raised NotImplementedError (write your saliency maps here): write "
                               "your code in the cell, in place of the `raise NotImplementedError(...)` line, then "
                               "run the cell again.",)
    out = capsys.readouterr().out
    assert out.startswith("saliency: NOT WRITTEN YET. Your function raised NotImplementedError")
    assert repr(result) == "CheckResult('saliency': not written yet)"


@pytest.mark.parametrize("check_fn", [check.saliency, check.fooling_step, check.class_visualization_step])
def test_every_check_reports_not_written_without_raising(check_fn):
    def stub(*args):
        raise NotImplementedError("write your code here")

    result = run(check_fn, stub)
    assert not result.written and "write your code here" in result.messages[0]


def test_not_implemented_inside_torch_is_an_error_not_a_stub():
    def my_saliency(model, x, y):
        x.to("meta").tolist()  # torch raises NotImplementedError: cannot copy out of a meta tensor
        return saliency_right(model, x, y)

    result = run(check.saliency, my_saliency)
    assert result.written and not result.passed
    assert result.messages[0].startswith("Your function raised NotImplementedError: ")


def test_exception_shows_type_message_and_line():
    def my_saliency(model, x, y):
        scale = 0
        return saliency_right(model, x, y) / (1 // scale)

    (message,) = assert_fails_with(check.saliency, my_saliency, "ZeroDivisionError").messages
    assert message.startswith("Your function raised ZeroDivisionError: integer division or modulo by zero (line ")
    assert "in my_saliency: `return saliency_right(model, x, y) / (1 // scale)`)" in message


def test_exception_hint_for_a_tensor_without_grad():
    def my_saliency(model, x, y):
        (g,) = torch.autograd.grad(model(x).gather(1, y.view(-1, 1)).sum(), x)  # x does not require grad
        return g.abs().amax(dim=1)

    assert_fails_with(check.saliency, my_saliency, ("raised RuntimeError", "x.detach().clone().requires_grad_(True)"))


def test_wrong_signature():
    assert_fails_with(check.saliency, lambda model, x: x,
                      ("takes <lambda>(model, x), but the check calls it as fn(model, x, y)", "in this order"))


@pytest.mark.parametrize("check_fn", [check.saliency, check.fooling_step, check.class_visualization_step])
@pytest.mark.parametrize("thing", [None, "my_saliency", torch.zeros(2)], ids=["None", "str", "tensor"])
def test_misuse_raises_input_error(check_fn, thing):
    with pytest.raises(tpviz.InputError, match=r"needs your function itself, e\.g\. tpviz\.check\.\w+\(my_\w+\) "
                                               r"\(its name, without parentheses"):
        check_fn(thing)


def test_verdicts_are_printed(capsys):
    check.saliency(saliency_right)
    assert capsys.readouterr().out.startswith("saliency: PASSED. Your maps equal tpviz.saliency_maps")
    check.saliency(SALIENCY_SLIPS["missing abs"][0])
    out = capsys.readouterr().out
    assert out.startswith("saliency: NOT RIGHT YET (1 problem)\n  - The absolute value is missing")
    check.saliency(saliency_right, quiet=True)
    assert capsys.readouterr().out == ""


def test_checks_leave_global_state_alone():
    rng = torch.get_rng_state()
    for check_fn, fn in ((check.saliency, saliency_right), (check.fooling_step, fooling_right),
                         (check.class_visualization_step, classviz_right)):
        run(check_fn, fn)
    assert torch.equal(rng, torch.get_rng_state())
    assert torch.is_grad_enabled()


def test_checks_are_repeatable():
    fn = SALIENCY_SLIPS["something else"][0]
    assert run(check.saliency, fn) == run(check.saliency, fn)


def test_check_survives_hostile_functions():
    """A function that wrecks what it is given, or returns something odd, gets a verdict, never a crash."""
    def wreck(model, x, y):
        for p in model.parameters():
            p.data = torch.zeros(1)
        model.train()
        x.resize_(0)
        return np.array(["not", "numbers"])

    class Odd(torch.Tensor):
        pass

    for fn in (wreck, lambda m, x, y: Odd(), lambda m, x, y: torch.zeros(0), lambda m, x, y: (1, 2),
               lambda m, x, y: torch.zeros(4, 8, 8, dtype=torch.complex64)):
        result = run(check.saliency, fn)
        assert not result.passed and result.messages


# -- fooling step --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [fooling_right, fooling_right_clamped, fooling_right_in_place_on_a_copy],
                         ids=["plain", "clamped", "in-place-on-a-copy"])
def test_fooling_step_passes_correct_implementations(fn):
    assert_passes(check.fooling_step, fn)


def test_fooling_step_reference_is_the_unclamped_formula():
    """The check's images stay inside the pixel range, so the clamp of tpviz.fooling_image never binds."""
    model, x, target, _ = check.make_bench(2)
    step = tpviz.fooling_image(model, x, target, lr=check.LR, max_iter=1).images
    assert torch.allclose(step, fooling_right(model, x, target, check.LR), atol=1e-6)
    assert not torch.equal(step, x)


def _fooling(direction, objective=None, *, sign=1.0, lr_used=None, form="image"):
    def fn(model, x, target, lr):
        step = sign * (lr if lr_used is None else lr_used) * direction(_grad(model, x, target, objective))
        return {"image": x + step, "step": step, "clamp": (x + step).clamp(0, 1)}[form].detach()
    return fn


FOOLING_SLIPS = {
    "no normalisation": (_fooling(lambda g: g), "The normalisation is missing"),
    "opposite sign": (_fooling(_unit, sign=-1.0), "goes down the target's score"),
    "batch norm": (_fooling(lambda g: g / g.norm()), "norm of the whole batch's gradient"),
    "FGSM sign": (_fooling(torch.sign), "sign of the gradient (that is FGSM's step)"),
    "L-inf norm": (_fooling(lambda g: g / g.flatten(1).abs().amax(1).view(-1, 1, 1, 1)), "L-infinity norm"),
    "squared norm": (_fooling(lambda g: g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1) ** 2), "squared norm"),
    "lr ignored": (_fooling(_unit, lr_used=1.0), "ignores lr"),
    "step only": (_fooling(_unit, form="step"), "returned the step itself"),
    "clamp to [0, 1]": (_fooling(_unit, form="clamp"), ("clamped the result to [0, 1]", "tpviz.clamp_pixels")),
    "loss gradient": (_fooling(_unit, lambda s, t: -F.cross_entropy(s, t)), "log-probability (log-softmax) of the target"),
    "targeted FGSM": (_fooling(torch.sign, lambda s, t: F.cross_entropy(s, t), sign=-1.0),
                      "log-probability", "sign of the gradient"),
    "scores[:, target]": (_fooling(_unit, lambda s, t: s[:, t].sum()), "N×N block"),
    "wrong length": (_fooling(_unit, lr_used=1.5), "wrong length: each image's step must have L2 norm lr = 0.5"),
    "map": (lambda m, x, t, lr: fooling_right(m, x, t, lr).amax(dim=1), "expected the new image, shaped like x"),
    "unchanged": (lambda m, x, t, lr: x.clone(), "returned x unchanged"),
    "two steps": (lambda m, x, t, lr: fooling_right(m, fooling_right(m, x, t, lr), t, lr),
                  ("one step of tpviz.fooling_image", "one step only")),
}


@pytest.mark.parametrize("name", sorted(FOOLING_SLIPS))
def test_fooling_step_names_the_slip(name):
    fn, *fragments = FOOLING_SLIPS[name]
    assert_fails_with(check.fooling_step, fn, *fragments)


def test_fooling_step_cs231n_style_in_place_update():
    """Right values, but x updated in place (and its requires_grad switched on), weights' .grad left behind,
    and a result still attached to the graph."""
    def fn(model, x, target, lr):
        x.requires_grad_()
        model(x)[torch.arange(len(target)), target].sum().backward()
        with torch.no_grad():
            x += lr * x.grad / x.grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        return x

    assert_fails_with(check.fooling_step, fn, "still requires grad", "changed x in place",
                      "switched on requires_grad on the caller's x", "left .grad on the model's parameters")


def test_fooling_step_in_place_on_the_input():
    def fn(model, x, target, lr):
        step = lr * _unit(_grad(model, x, target))
        return x.add_(step)

    assert_fails_with(check.fooling_step, fn, ("changed x in place", "x.add_(...)"))


# -- class-visualization step ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [classviz_right, classviz_right_clamped], ids=["plain", "clamped"])
def test_class_visualization_step_passes_correct_implementations(fn):
    assert_passes(check.class_visualization_step, fn)


def _classviz(penalty, *, normalise=_unit, sign=1.0, after=False):
    def fn(model, img, target, lr, l2_reg):
        g = _grad(model, img, target)
        if after:
            return (img + lr * normalise(g) - 2 * l2_reg * img).detach()
        return (img + sign * lr * normalise(g + penalty(img, l2_reg))).detach()
    return fn


CLASSVIZ_SLIPS = {
    "no L2": (_classviz(lambda x, lam: 0 * x), ("The L2 penalty is missing", "g - 2 * l2_reg * img")),
    "L2 plus": (_classviz(lambda x, lam: 2 * lam * x), "The penalty's gradient has the wrong sign"),
    "no factor 2": (_classviz(lambda x, lam: -lam * x), "lacks the factor 2"),
    "norm not squared": (_classviz(lambda x, lam: -lam * x / x.flatten(1).norm(dim=1).view(-1, 1, 1, 1)),
                         "You penalised ||img|| instead of ||img||²"),
    "penalty after normalising": (_classviz(None, after=True), "after normalising the gradient"),
    "penalty after normalising, times lr": (lambda m, img, t, lr, l2: (img + lr * (_unit(_grad(m, img, t)) - 2 * l2 * img)).detach(),
                                            "after normalising the gradient"),
    "no normalisation": (_classviz(lambda x, lam: -2 * lam * x, normalise=lambda g: g), "The normalisation is missing"),
    "descent": (_classviz(lambda x, lam: -2 * lam * x, sign=-1.0), "goes down the objective (img - ...)"),
    "no L2, no normalisation": (_classviz(lambda x, lam: 0 * x, normalise=lambda g: g),
                                ("The L2 penalty is missing",), ("The normalisation is missing",)),
    "with jitter": (lambda m, img, t, lr, l2: classviz_right(m, img.roll(1, dims=3), t, lr, l2).roll(-1, dims=3),
                    ("one iteration of tpviz.class_visualization", "no jitter")),
}


@pytest.mark.parametrize("name", sorted(CLASSVIZ_SLIPS))
def test_class_visualization_step_names_the_slip(name):
    fn, *fragments = CLASSVIZ_SLIPS[name]
    assert_fails_with(check.class_visualization_step, fn, *fragments)


def test_class_visualization_step_mutated_input():
    def fn(model, img, target, lr, l2_reg):
        new = classviz_right(model, img, target, lr, l2_reg)
        img.copy_(new)
        return img

    assert_fails_with(check.class_visualization_step, fn, ("changed img in place", "img.add_(...)"))
