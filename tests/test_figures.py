"""``tpviz figures``: the gallery page, the output folder's safety, and one real run in fast mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tpviz import InputError
from tpviz.cli import main
from tpviz.cli.figures import MARKER, mark_folder, parse_models, prepare_folder
from tpviz.cli.gallery import RANDOM_NOTE, Entry, render_gallery
from tpviz.cli.stages import describe_settings, stages
from tpviz.course import TP, TP_FAST

EXPECTED = ["figure01_saliency_squeezenet1_1", "figure02_saliency_vgg16", "figure03_fooling", "table_attacks",
            "figure04_class_from_noise", "figure05_sweep_learning_rate", "figure06_sweep_iterations", "figure07_sweep_l2",
            "figure08_class_from_photo", "figure09_compare_from_noise", "figure10_compare_from_photo"]


def test_gallery_entry_is_exact_and_escaped():
    entry = Entry("3", "Fool <b>", "a & b", {"target": "<script>alert(1)</script>"}, ["vgg16"], "f\".png", None, 1.25)
    page = render_gallery([entry], title="T", summary={"command": "tpviz figures"})
    assert ('<figure id="figure-3">\n<img src="f&quot;.png" alt="Figure 3: Fool &lt;b&gt;">\n'
            "<figcaption><strong>Figure 3. Fool &lt;b&gt;.</strong> a &amp; b\n"
            f'<p class="random">vgg16: {RANDOM_NOTE}.</p>\n'
            '<dl class="params"><dt>target</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>'
            "<dt>computed in</dt><dd>1.2 s (this stage)</dd></dl></figcaption>\n</figure>") in page
    assert "<script>" not in page and '<dl class="params"><dt>command</dt><dd>tpviz figures</dd></dl>' in page


def test_gallery_says_random_weights_once_at_the_top_and_on_each_figure_that_uses_them():
    real = Entry("1", "Saliency", "c", {}, [], "a.png")
    fake = Entry("2", "Saliency", "c", {}, ["vgg16"], "b.png")
    table = Entry("table", "Table", "c", {}, [], None, "method eps\nnaive 1 <")
    page = render_gallery([real, fake, table], title="T", summary={}, random_models=["vgg16"])
    assert page.count('class="random"') == 2  # the note at the top, and Figure 2's
    assert '<p class="random">vgg16: RANDOM WEIGHTS' in page.split('<figure id="figure-1">')[0]
    assert RANDOM_NOTE not in page.split('<figure id="figure-1">')[1].split('<figure id="figure-2">')[0]
    assert '<figure id="table">\n<pre>method eps\nnaive 1 &lt;</pre>' in page


def test_models_option():
    assert parse_models(" squeezenet1_1 , vgg16 ") == ["squeezenet1_1", "vgg16"]
    for bad in ("", "a,b,c", "vgg16,vgg16"):
        with pytest.raises(InputError, match="one or two different model names"):
            parse_models(bad)


def test_folder_of_someone_else_is_refused_untouched(tmp_path: Path):
    (tmp_path / "essay.txt").write_text("my work")
    with pytest.raises(InputError, match="--force"):
        prepare_folder(tmp_path, force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["essay.txt"]
    assert prepare_folder(tmp_path, force=True) == tmp_path
    assert not (tmp_path / MARKER).exists(), "the marker comes with the first figure saved, never before"
    assert (tmp_path / "essay.txt").read_text() == "my work"


def test_folder_made_by_figures_is_reused_and_a_file_is_refused(tmp_path: Path):
    out = prepare_folder(tmp_path / "new" / "figs", force=False)
    mark_folder(out)  # what a run does once it has saved its first figure
    (out / "figure01_saliency_squeezenet1_1.png").write_bytes(b"old")
    assert prepare_folder(out, force=False) == out
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        prepare_folder(tmp_path / "file", force=False)


def test_fast_settings_shrink_work_but_keep_every_figure():
    full, fast = TP, TP_FAST
    assert fast.iterations < full.iterations and fast.table_images < full.table_images
    assert (len(fast.lrs), len(fast.l2s), len(fast.iteration_counts)) == (3, 2, 2)
    assert fast.lr in fast.lrs  # notebook 03 compares Figure 4 with Figure 5's image at the TP's lr, also in fast mode
    assert "eps=1/255, 2/255, 4/255" in describe_settings(full) and "lrs=1, 3, 5, 7, 9" in describe_settings(full)
    assert [label for label, _ in stages([object()])][-1].startswith("Figure 8")
    assert [label for label, _ in stages([object(), object()])][-1].startswith("Figures 9-10")


@pytest.mark.slow
def test_fast_run_writes_every_figure_table_and_the_gallery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]):
    from tpviz.imagenet.data import val_file_on_disk

    if val_file_on_disk() is None:
        pytest.skip("imagenet_val_25.npz is not on this machine (set TPVIZ_DATA_DIR)")
    monkeypatch.setenv("TPVIZ_ALLOW_RANDOM_WEIGHTS", "1")  # VGG16 (and SqueezeNet without its weights) on random ones
    out = tmp_path / "figures"
    assert main(["figures", "--fast", "--out", str(out), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "[1/7] Figures 1-2: saliency maps" in err and "[7/7] Figures 9-10" in err and err.count("done in") == 7
    manifest = json.loads((out / "manifest.json").read_text())
    assert [Path(f["file"]).stem if f["file"] else "table_attacks" for f in manifest["figures"]] == EXPECTED
    page = (out / "index.html").read_text()
    for name in EXPECTED:
        if name.startswith("figure"):
            png = Image.open(out / f"{name}.png")
            assert png.size[0] > 200 and "model" in png.info["Description"], name
            assert f'src="{name}.png"' in page
    assert "FAST (fewer iterations" in page and "tpviz figures --out" in page
    random = {f["number"] for f in manifest["figures"] if f["random_models"]}
    assert {"2", "3", "9", "10"} <= random, "VGG16 runs on random weights here: its figures must say so"
    table = (out / "table_attacks.txt").read_text()
    assert [line.split()[0] for line in table.splitlines()[-9:]] == ["naive", "fgsm", "pgd"] * 3


def test_each_stage_is_saved_when_done_so_an_interrupted_run_keeps_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import matplotlib.pyplot as plt
    import numpy as np

    from tpviz.cli.figures import make_all
    from tpviz.cli.stages import Artifact
    from tpviz.imagenet.data import ImageNetVal

    from .conftest import TinyConv

    def first(run, update):
        update(1, 1)
        return [Artifact("figure01_x", "1", "First", "made", {"lr": 5}, run.models, figure=plt.figure(figsize=(2, 2)))]

    def second(run, update):
        raise KeyboardInterrupt

    monkeypatch.setattr("tpviz.cli.stages.stages", lambda models: [("one", first), ("two", second)])
    monkeypatch.setattr("tpviz.imagenet.models.load_model", lambda name, device: TinyConv())
    images = np.zeros((2, 8, 8, 3), np.uint8)
    monkeypatch.setattr("tpviz.imagenet.data.load_imagenet_val", lambda: ImageNetVal(images, np.zeros(2, np.int64), ["a", "b"]))
    with pytest.raises(KeyboardInterrupt):
        make_all(tmp_path, ["tiny"], device="cpu", fast=True, command="tpviz figures --fast")
    assert Image.open(tmp_path / "figure01_x.png").info["Description"] == "lr=5"
    page = (tmp_path / "index.html").read_text()
    assert 'src="figure01_x.png"' in page and "(so far: 1 of 2 stages)" in page
    assert [f["file"] for f in json.loads((tmp_path / "manifest.json").read_text())["figures"]] == ["figure01_x.png"]


@pytest.mark.parametrize("fast", [False, True], ids=["full", "fast"])
def test_settings_are_the_notebooks_parameters(fast: bool):
    """tpviz figures makes the notebooks' figures: its settings must be their parameters cells' values."""
    import types

    from .test_notebook_format import by_name, load, parameters_cell, source

    def parameters(name: str) -> dict:
        stub = types.SimpleNamespace(fast_mode=lambda: fast)
        code = source(parameters_cell(load(by_name(name)))).replace("import tpviz\n", "")
        values: dict = {"tpviz": stub}
        exec(code, values)
        return values

    s = TP_FAST if fast else TP
    nb01, nb02, nb03 = parameters("01"), parameters("02"), parameters("03")
    assert (s.images, s.smoothgrad_samples, s.ig_steps, s.occlusion_patch, s.occlusion_stride) == (
        nb01["N_IMAGES"], nb01["SMOOTHGRAD_SAMPLES"], nb01["IG_STEPS"], nb01["OCCLUSION_PATCH"], nb01["OCCLUSION_STRIDE"])
    assert s.fool_lr == nb02["LR"] and list(s.seeds) == nb03["SEEDS"]
    assert (s.fool_image, s.fool_target, s.fool_max_iter, s.compare_fool_max_iter) == (
        nb02["IMAGE"], nb02["TARGET"], nb02["MAX_ITER"], nb02["VGG_MAX_ITER"])
    assert (s.table_images, s.epsilons, s.pgd_steps) == (nb02["N_IMAGES"], nb02["EPSILONS"], nb02["PGD_STEPS"])
    assert (s.target, s.lr, s.l2_reg, s.iterations, s.seed) == (
        nb03["TARGET"], nb03["LR"], nb03["L2_REG"], nb03["ITERATIONS"], nb03["SEED"])
    assert (list(s.lrs), list(s.iteration_counts), list(s.l2s), s.compare_iterations) == (
        nb03["LRS"], nb03["ITERATION_COUNTS"], nb03["L2S"], nb03["VGG_ITERATIONS"])
    assert (list(s.explorer_lrs), list(s.explorer_l2s), list(s.explorer_iterations)) == (
        nb03["EXPLORER_LRS"], nb03["EXPLORER_L2S"], nb03["EXPLORER_ITERATIONS"])
