"""load_model: names, devices, and the weight lookup (local folder, hub cache, download), all offline."""

from __future__ import annotations

import hashlib
import shutil
import socket
from pathlib import Path

import pytest
import torch
import torchvision

import tpviz
import tpviz.imagenet.weights as _weights


def _random_state(name: str = "squeezenet1_1", seed: int = 123) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return torchvision.models.get_model(name, weights=None).state_dict()


def _same_weights(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_unknown_model_lists_known_ones_and_suggests():
    with pytest.raises(tpviz.InputError, match=r"unknown model 'vgg61'.*Did you mean.*vgg16.*Known models:.*squeezenet1_1"):
        tpviz.load_model("vgg61")


def test_unknown_weights_kind():
    with pytest.raises(tpviz.InputError, match="'imagenet' or 'random'"):
        tpviz.load_model("squeezenet1_1", weights="IMAGENET1K_V1")


def test_random_weights_are_loud_frozen_eval_and_repeatable(capsys):
    a = tpviz.load_model("squeezenet1_1", weights="random", device="cpu")
    err = capsys.readouterr().err
    assert "RANDOM WEIGHTS" in err and "MEANINGLESS" in err and "squeezenet1_1" in err
    assert not a.training and not any(m.training for m in a.modules())
    assert not any(p.requires_grad for p in a.parameters())
    assert tpviz.model_info(a).random and "RANDOM" in tpviz.describe_model(a)
    rng = torch.get_rng_state()
    b = tpviz.load_model("squeezenet1_1", weights="random", device="cpu")
    assert torch.equal(rng, torch.get_rng_state()), "building a random model consumed the global RNG"
    assert _same_weights(b, a.state_dict())


def test_local_weights_dir_comes_first(isolated_env, monkeypatch, capsys):
    state = _random_state()
    folder = isolated_env / "weights"
    folder.mkdir()
    torch.save(state, folder / "squeezenet1_1_imagenet.pth")
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    model = tpviz.load_model("squeezenet1_1", device="cpu")
    assert _same_weights(model, state)
    info = tpviz.model_info(model)
    assert info.weights == "imagenet" and "TPVIZ_WEIGHTS_DIR" in info.source
    assert "RANDOM" not in capsys.readouterr().err


def test_corrupt_local_file_is_named(isolated_env, monkeypatch):
    folder = isolated_env / "weights"
    folder.mkdir()
    (folder / "squeezenet1_1_imagenet.pth").write_bytes(b"this is not a checkpoint")
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    with pytest.raises(tpviz.WeightsError, match=r"squeezenet1_1_imagenet\.pth.*corrupt"):
        tpviz.load_model("squeezenet1_1", device="cpu")


def test_not_a_state_dict_is_named(isolated_env, monkeypatch):
    folder = isolated_env / "weights"
    folder.mkdir()
    torch.save({"epoch": 3}, folder / "squeezenet1_1_imagenet.pth")
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    with pytest.raises(tpviz.WeightsError, match="plain state_dict"):
        tpviz.load_model("squeezenet1_1", device="cpu")


def test_mismatched_architecture_is_named(isolated_env, monkeypatch):
    folder = isolated_env / "weights"
    folder.mkdir()
    torch.save(_random_state("squeezenet1_0"), folder / "squeezenet1_1_imagenet.pth")
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    with pytest.raises(tpviz.WeightsError, match=r"squeezenet1_1_imagenet\.pth.*do not fit 'squeezenet1_1'"):
        tpviz.load_model("squeezenet1_1", device="cpu")


def test_hub_cache_is_used_when_no_local_file(isolated_env):
    state = _random_state(seed=5)
    cached = _weights.hub_cache_path(_weights.weights_url("squeezenet1_1"))
    assert str(cached).startswith(str(isolated_env))
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    model = tpviz.load_model("squeezenet1_1", device="cpu")
    assert _same_weights(model, state)
    assert "hub cache" in tpviz.model_info(model).source


def _served_checkpoint(tmp: Path, state: dict) -> str:
    """A checkpoint named like torchvision's (<name>-<sha256 prefix>.pth), at a file:// URL."""
    raw = tmp / "raw.pth"
    torch.save(state, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    served = tmp / "server" / f"squeezenet1_1-{digest[:8]}.pth"
    served.parent.mkdir()
    shutil.move(raw, served)
    return served.as_uri()


def test_download_path_fetches_checks_hash_and_caches(isolated_env, monkeypatch):
    state = _random_state(seed=9)
    url = _served_checkpoint(isolated_env, state)
    monkeypatch.setattr(_weights, "weights_url", lambda arch: url)
    model = tpviz.load_model("squeezenet1_1", device="cpu", progress=False)
    assert _same_weights(model, state)
    assert tpviz.model_info(model).source == f"downloaded from {url}"
    assert _weights.hub_cache_path(url).is_file(), "the download was not cached"


def test_download_with_wrong_hash_is_refused(isolated_env, monkeypatch):
    url = _served_checkpoint(isolated_env, _random_state(seed=9))
    wrong = url.rsplit("-", 1)[0] + "-deadbeef.pth"
    Path(wrong.removeprefix("file://")).write_bytes(Path(url.removeprefix("file://")).read_bytes())
    monkeypatch.setattr(_weights, "weights_url", lambda arch: wrong)
    with pytest.raises(tpviz.WeightsError, match="hash"):
        tpviz.load_model("squeezenet1_1", device="cpu", progress=False)


def test_offline_with_nothing_found_says_what_to_put_where(isolated_env, monkeypatch):
    monkeypatch.setattr(_weights, "weights_url", lambda arch: (isolated_env / "nowhere" / "vgg16-397923af.pth").as_uri())
    with pytest.raises(tpviz.WeightsNotFoundError) as info:
        tpviz.load_model("vgg16", device="cpu", progress=False)
    msg = str(info.value)
    assert "vgg16_imagenet.pth" in msg and "TPVIZ_WEIGHTS_DIR" in msg and "vgg16-397923af.pth" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__, "torch's traceback leaks through"


def test_ci_opt_in_never_hides_a_corrupt_file(isolated_env, monkeypatch):
    folder = isolated_env / "weights"
    folder.mkdir()
    (folder / "squeezenet1_1_imagenet.pth").write_bytes(b"\x80\x02garbage")
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("TPVIZ_ALLOW_RANDOM_WEIGHTS", "1")
    with pytest.raises(tpviz.WeightsError, match="corrupt"):
        tpviz.load_model("squeezenet1_1", device="cpu")


def test_ci_opt_in_falls_back_to_random_weights_loudly(isolated_env, monkeypatch, capsys):
    monkeypatch.setattr(_weights, "weights_url", lambda arch: (isolated_env / "nowhere.pth").as_uri())
    monkeypatch.setenv("TPVIZ_ALLOW_RANDOM_WEIGHTS", "1")
    model = tpviz.load_model("squeezenet1_1", device="cpu", progress=False)
    assert tpviz.model_info(model).random
    err = capsys.readouterr().err
    assert "RANDOM WEIGHTS" in err and "TPVIZ_ALLOW_RANDOM_WEIGHTS" in err


def test_vgg16_builds_by_name_with_imagenet_class_count(capsys):
    model = tpviz.load_model("vgg16", weights="random", device="cpu")
    assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
    assert "vgg16" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(tpviz.InputError, match="CUDA is not available"):
        tpviz.load_model("squeezenet1_1", weights="random", device="cuda")
    assert tpviz.resolve_device("auto") == torch.device("cpu")


def test_unknown_device():
    with pytest.raises(tpviz.InputError, match="unknown device"):
        tpviz.resolve_device("gpu0")


def test_download_never_waits_forever_and_restores_the_socket_timeout(isolated_env, monkeypatch):
    seen = []

    def silent_network(url, **kw):
        seen.append(socket.getdefaulttimeout())
        raise TimeoutError("timed out")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", silent_network)
    before = socket.getdefaulttimeout()
    with pytest.raises(tpviz.WeightsNotFoundError, match="timed out"):
        tpviz.load_model("squeezenet1_1", device="cpu")
    assert seen == [_weights.DOWNLOAD_TIMEOUT_S] and socket.getdefaulttimeout() == before
