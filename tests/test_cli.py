"""The ``tpviz`` command and the lazy namespace it relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tpviz
from tpviz.cli import COMMANDS, main

BIN = Path(sys.executable).parent


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    return out.stdout.strip()


def test_import_tpviz_and_the_cli_pull_in_neither_torch_nor_matplotlib():
    code = ("import sys, tpviz, tpviz.cli; tpviz.cli.build_parser(); "
            "print(sorted(m for m in ('torch', 'matplotlib', 'numpy') if m in sys.modules))")
    assert _python(code) == "[]"


def test_every_public_name_resolves_to_its_module_s_object():
    import importlib

    for name, module in tpviz._LAZY.items():
        assert getattr(tpviz, name) is getattr(importlib.import_module(f"tpviz.{module}"), name), name
    assert set(tpviz.__all__) <= set(dir(tpviz))
    assert tpviz.check.saliency.__module__ == "tpviz.check" and callable(tpviz.widgets.explorer)
    with pytest.raises(AttributeError, match="no attribute 'saliency_map'"):
        tpviz.saliency_map  # noqa: B018


def test_the_type_checking_imports_name_exactly_the_lazy_names():
    """``__init__`` lists each name twice (for __getattr__ and for type checkers): the lists must agree."""
    import ast

    tree = ast.parse(Path(tpviz.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported = {(imp.module, alias.name) for imp in block.body if isinstance(imp, ast.ImportFrom) for alias in imp.names}
    assert imported == {(module, name) for name, module in tpviz._LAZY.items()}


def test_console_script_and_python_m_list_the_commands():
    script = BIN / "tpviz"
    assert script.exists(), f"{script} is missing: reinstall the project (`make test` does it when pyproject changes)"
    for command in ([str(script), "--help"], [sys.executable, "-m", "tpviz", "--help"]):
        out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
        for name in COMMANDS:
            assert name in out, f"{command}: {name} missing from\n{out}"


def test_an_input_error_is_one_line_on_stderr_with_exit_code_2(capsys: pytest.CaptureFixture[str]):
    assert main(["figures", "--models", "squeezenet1_1,vgg16,alexnet", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tpviz figures: error: --models takes one or two different model names")
    assert "Traceback" not in err and not Path("unused").exists()


def test_a_device_that_does_not_exist_fails_before_anything_is_written(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]):
    assert main(["figures", "--device", "tpu", "--out", str(tmp_path / "figs")]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err and not (tmp_path / "figs").exists()


def test_an_unknown_command_is_argparse_s_usage_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        main(["figure"])
    assert exit_.value.code == 2 and "invalid choice: 'figure'" in capsys.readouterr().err
