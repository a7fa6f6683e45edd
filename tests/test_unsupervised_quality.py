"""DJSRH and UGACH at default settings against CCA-ITQ on Wiki, in both directions (mAP@50)."""

import numpy as np
import pytest

from sklearn_xmh import CCAITQHasher
from sklearn_xmh.datasets import load_mat_dataset
from sklearn_xmh.djsrh import DJSRHHasher
from sklearn_xmh.metrics import mean_average_precision
from sklearn_xmh.ugach import UGACHHasher

from .conftest import shared_file

N_BITS = 32
DIRECTIONS = {"i2t": 0, "t2i": 1}


@pytest.fixture(scope="module")
def wiki():
    return load_mat_dataset(shared_file("wiki", "wikiData.mat"))


def _wiki_map50(hasher, data):
    """Fit on the 2,173 training pairs (no labels); the 693 test pairs query them."""
    hasher.fit(data.X_image_train, data.X_text_train)
    scores = []
    for query, database in (
        (hasher.transform(data.X_image_query), hasher.transform_text(data.X_text_train)),
        (hasher.transform_text(data.X_text_query), hasher.transform(data.X_image_train)),
    ):
        scores.append(
            mean_average_precision(query, database, data.labels_query, data.labels_train, top_k=50)
        )
    return np.array(scores)


@pytest.fixture(scope="module")
def scores(wiki):
    """mAP@50 (I->T, T->I) of each method at defaults, one seed; fitted once for all tests."""
    return {
        name: _wiki_map50(cls(N_BITS, random_state=0), wiki)
        for name, cls in (("cca-itq", CCAITQHasher), ("djsrh", DJSRHHasher), ("ugach", UGACHHasher))
    }


UGACH_T2I = pytest.mark.xfail(
    strict=True,
    reason="UGACH's defaults (chosen by unlabelled CV) reach about 0.36 T->I mAP@50 on Wiki, "
    "below CCA-ITQ's 0.44; see benchmarks/results_quality.md",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, direction",
    [
        ("djsrh", "i2t"),
        ("djsrh", "t2i"),
        ("ugach", "i2t"),
        pytest.param("ugach", "t2i", marks=UGACH_T2I),
    ],
)
def test_defaults_beat_cca_itq_on_wiki(method, direction, scores):
    column = DIRECTIONS[direction]
    assert scores[method][column] > scores["cca-itq"][column], scores
