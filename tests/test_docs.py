"""The documentation builds with warnings as errors (sphinx-build -W). The examples are run by
test_examples.py, so the gallery is rendered here without executing them again."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_sphinx_build_has_no_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
        pytest.importorskip(module, reason="the [docs] extra is not installed")
    # Build from a copy: autosummary and sphinx-gallery write generated pages into the sources.
    for folder in ("docs", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-D",
        "plot_gallery=0",
        str(tmp_path / "docs"),
        str(tmp_path / "html"),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "html" / "api.html").exists()
