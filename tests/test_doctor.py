"""``tpviz doctor``: each check on a machine where that thing is right, and where it is wrong."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import pytest

import tpviz.cli.doctor as doctor
from tpviz.cli import main
from tpviz.imagenet.data import VAL_FILE


@pytest.fixture
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty weights folder and an empty torch hub: no weights anywhere."""
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(folder))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return folder


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("TPVIZ_DATA_DIR", str(folder))
    monkeypatch.setattr("tpviz.imagenet.data.repo_data_dir", lambda: tmp_path / "repo-data")
    return folder


def test_python_version():
    assert doctor.check_python((3, 11, 7))[0].status == "ok"
    (old,) = doctor.check_python((3, 9, 18))
    assert (old.status, old.detail.split()[0]) == ("FAIL", "3.9.18")
    assert "Python 3.10 or newer" in old.fix


def test_missing_packages_are_named_with_the_fix():
    def version_of(name: str) -> str:
        if name in ("ipywidgets", "nbval"):
            raise metadata.PackageNotFoundError(name)
        return "1.0"

    ok, missing = doctor.check_packages(version_of)
    assert ok.status == "ok" and "torch 1.0" in ok.detail and "ipywidgets" not in ok.detail
    assert (missing.status, missing.detail, missing.fix) == ("FAIL", "not installed: ipywidgets", doctor.SETUP_FIX)


def test_missing_extras_are_warnings_naming_the_extra():
    """Colab or a JupyterHub has its own Jupyter: the kit runs without the lab and grade extras."""
    def version_of(name: str) -> str:
        if name in ("jupyterlab_widgets", "mistune"):
            raise metadata.PackageNotFoundError(name)
        return "1.0"

    ok, lab, grade = doctor.check_packages(version_of)
    assert ok.status == "ok"
    assert (lab.status, lab.topic, lab.detail.split(";")[0]) == ("warn", "extra [lab]", "not installed: jupyterlab_widgets")
    assert lab.fix.startswith('pip install "tpviz[lab]"')
    assert (grade.status, grade.topic) == ("warn", "extra [grade]") and "tpviz grade" in grade.detail


def test_on_colab_the_widget_front_end_is_colab_s(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    (found,) = doctor.check_widget_frontend([tmp_path])
    assert found.status == "ok" and "Colab" in found.detail


def test_the_doctor_checks_every_dependency_pyproject_declares():
    import re

    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    declared = {re.match(r"[A-Za-z0-9_.-]+", req).group(0).lower() for req in pyproject["project"]["dependencies"]}
    assert declared <= set(doctor.REQUIRED), f"add {sorted(declared - set(doctor.REQUIRED))} to _doctor.REQUIRED"


def test_every_package_is_found_in_this_environment():
    assert [f.status for f in doctor.check_packages()] == ["ok"]
    assert [f.status for f in doctor.check_torch()] == ["ok"]


def test_widget_front_end(tmp_path: Path):
    (missing,) = doctor.check_widget_frontend([tmp_path])
    assert missing.status == "FAIL" and "Error displaying widget" in missing.detail and "jupyterlab_widgets" in missing.fix
    manager = tmp_path / "@jupyter-widgets" / "jupyterlab-manager"
    manager.mkdir(parents=True)
    (manager / "package.json").write_text("{}")
    (found,) = doctor.check_widget_frontend([tmp_path / "elsewhere", tmp_path])
    assert found.status == "ok" and str(tmp_path) in found.detail
    assert doctor.check_widget_frontend()[0].status == "ok", "this environment's JupyterLab lacks the widget front end"


def test_widget_versions_that_do_not_match(tmp_path: Path):
    versions = {"ipywidgets": "8.1.9", "jupyterlab_widgets": "1.1.0"}
    (bad,) = doctor.check_widget_frontend([tmp_path], versions.__getitem__)
    assert bad.status == "FAIL" and "ipywidgets 8.1.9 and jupyterlab_widgets 1.1.0 do not match" in bad.detail
    assert "'jupyterlab_widgets>=3'" in bad.fix
    versions["jupyterlab_widgets"] = "3.0.17"
    assert "is not installed where JupyterLab looks" in doctor.check_widget_frontend([tmp_path], versions.__getitem__)[0].detail


def test_weights_found_missing_and_offline(no_weights: Path):
    (missing,) = doctor.check_weights("squeezenet1_1")
    assert missing.status == "warn"
    assert "download.pytorch.org/models/squeezenet1_1" in missing.detail and "5 MB" in missing.detail
    assert str(no_weights / "squeezenet1_1_imagenet.pth") in missing.fix
    assert doctor.check_weights("squeezenet1_1", offline=True)[0].status == "FAIL"
    import torch
    import torchvision

    torch.save(torchvision.models.squeezenet1_1().state_dict(), no_weights / "squeezenet1_1_imagenet.pth")
    (found,) = doctor.check_weights("squeezenet1_1", offline=True)  # the doctor loads what it approves
    assert found.status == "ok" and str(no_weights) in found.detail


@pytest.mark.parametrize("where", ["local", "hub"])
def test_a_folder_where_the_weights_file_should_be_is_a_fail_with_the_fix(no_weights: Path, where: str):
    from tpviz.imagenet.weights import hub_cache_path, weights_url

    path = no_weights / "squeezenet1_1_imagenet.pth" if where == "local" else \
        hub_cache_path(weights_url("squeezenet1_1"))
    path.mkdir(parents=True)
    (bad,) = doctor.check_weights("squeezenet1_1")
    assert bad.status == "FAIL" and f"{str(path)!r} is a folder, not a file" in bad.detail
    assert bad.fix.startswith(f"remove or rename the folder {path}")


def test_weights_folder_that_does_not_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("TPVIZ_WEIGHTS_DIR", str(tmp_path / "nope"))
    (bad,) = doctor.check_weights("vgg16")
    assert bad.status == "FAIL" and "not a folder" in bad.detail and "TPVIZ_WEIGHTS_DIR" in bad.fix


def test_sample_images_missing_damaged_and_present(no_data: Path, monkeypatch: pytest.MonkeyPatch):
    (missing,) = doctor.check_sample_images()
    assert missing.status == "warn" and "cs231n" in missing.detail and "TPVIZ_DATA_DIR" in missing.fix
    assert doctor.check_sample_images(offline=True)[0].status == "FAIL"
    (no_data / VAL_FILE).write_bytes(b"not the file")
    (damaged,) = doctor.check_sample_images()
    assert damaged.status == "FAIL" and "damaged" in damaged.detail and f"delete {no_data / VAL_FILE}" in damaged.fix
    monkeypatch.setattr("tpviz.imagenet.data.VAL_SHA256", hashlib.sha256(b"not the file").hexdigest())  # as if it were
    assert doctor.check_sample_images()[0] == doctor.Finding("ok", "sample images", str(no_data / VAL_FILE))


def test_environment_knobs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TPVIZ_ALLOW_RANDOM_WEIGHTS", raising=False)
    monkeypatch.delenv("TPVIZ_FAST", raising=False)
    assert doctor.check_environment() == []
    monkeypatch.setenv("TPVIZ_ALLOW_RANDOM_WEIGHTS", "1")
    monkeypatch.setenv("TPVIZ_FAST", "1")
    assert [(f.status, f.topic) for f in doctor.check_environment()] == [
        ("warn", "TPVIZ_ALLOW_RANDOM_WEIGHTS"), ("warn", "TPVIZ_FAST")]


def test_device_line_names_cores_and_threads():
    import os

    import torch

    (device,) = doctor.check_device()
    assert device.status == "ok" and f"{os.cpu_count()} CPU cores" in device.detail
    assert f"torch uses {torch.get_num_threads()} threads" in device.detail


def test_a_crashing_check_is_a_failure_not_a_crash(monkeypatch: pytest.MonkeyPatch):
    def broken() -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "check_device", broken)
    findings = doctor.diagnose()
    assert findings[-1] == doctor.Finding("FAIL", "broken", "RuntimeError: boom", doctor.SETUP_FIX)
    assert doctor.exit_code(findings) == 1


def test_render_puts_each_fix_on_its_problem_s_line_and_a_verdict_last():
    findings = [doctor.Finding("ok", "python", "3.11", "never shown"), doctor.Finding("warn", "w", "careful", "do x"),
                doctor.Finding("FAIL", "f", "broken", "do y")]
    assert doctor.render(findings).splitlines() == [
        "  ok  python: 3.11", "warn  w: careful -> fix: do x", "FAIL  f: broken -> fix: do y",
        "tpviz doctor: the kit cannot run here: 1 problem(s) to fix (the FAIL lines above)"]
    assert doctor.render(findings[:2]).splitlines()[-1] == "tpviz doctor: the kit can run here (1 warning(s))"


def test_command_exit_codes(no_weights: Path, no_data: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["doctor"]) == 0  # nothing local, but it can all be downloaded: warnings only
    out = capsys.readouterr().out
    assert "warn  weights squeezenet1_1" in out and out.rstrip().endswith("warning(s))")
    assert main(["doctor", "--offline"]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("FAIL  weights squeezenet1_1"))
    assert "-> fix: connect to the internet once" in line
