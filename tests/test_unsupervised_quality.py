"""DJSRH and UGACH at default settings beat CCA-ITQ on Wiki, in both directions (mAP@50)."""

import numpy as np
import pytest

from sklearn_xmh import CCAITQHasher
from sklearn_xmh.datasets import load_mat_dataset
from sklearn_xmh.djsrh import DJSRHHasher
from sklearn_xmh.metrics import mean_average_precision
from sklearn_xmh.ugach import UGACHHasher

from .conftest import shared_file

N_BITS = 32


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
            mean_average_precision(
                query, database, data.labels_query, data.labels_train, top_k=50
            )
        )
    return np.array(scores)


@pytest.fixture(scope="module")
def cca_itq(wiki):
    return _wiki_map50(CCAITQHasher(N_BITS, random_state=0), wiki)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [DJSRHHasher, UGACHHasher], ids=["djsrh", "ugach"])
def test_defaults_beat_cca_itq_on_wiki_in_both_directions(cls, wiki, cca_itq):
    scores = _wiki_map50(cls(N_BITS, random_state=0), wiki)
    # I->T and T->I each above the linear baseline.
    assert (scores > cca_itq).all(), f"{cls.__name__} {scores} vs CCA-ITQ {cca_itq}"
