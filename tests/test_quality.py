"""DBRC at default settings against the CCA-ITQ floor on real data (EVALUATION.md protocol)."""

import pytest

from sklearn_xmh.cli import run_benchmark
from sklearn_xmh.datasets import load_mat_dataset

from .conftest import shared_file


@pytest.fixture(scope="module")
def wiki_map50():
    """mAP@50 per (method, direction) at 32 bits, seed 0; fitted once for both tests."""
    data = load_mat_dataset(shared_file("wiki", "wikiData.mat"))
    records = run_benchmark(data, ["cca-itq", "dbrc"], [32], seeds=1, top_k=50)
    return {(r["method"], r["direction"]): r["map"] for r in records}


@pytest.mark.slow
def test_dbrc_beats_cca_itq_on_wiki_text_to_image(wiki_map50):
    assert wiki_map50["dbrc", "t2i"] > wiki_map50["cca-itq", "t2i"], wiki_map50


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="Open: DBRC's defaults (chosen by unlabelled CV on the training pairs) reach about "
    "0.23 I->T mAP@50 on Wiki at 32 bits, below CCA-ITQ's 0.251.",
)
def test_dbrc_beats_cca_itq_on_wiki_image_to_text(wiki_map50):
    assert wiki_map50["dbrc", "i2t"] > wiki_map50["cca-itq", "i2t"], wiki_map50
