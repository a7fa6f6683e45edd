"""hamming_map_scorer in model selection, with and without routed labels."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, normalize

from sklearn_xmh import CCAITQHasher, DBRCHasher
from sklearn_xmh.metrics import cross_modal_map, hamming_map_scorer, mean_average_precision
from sklearn_xmh.neighbors import feature_neighbors

CV = KFold(3, shuffle=True, random_state=0)


def manual_cv_scores(estimator, data, scorer_kwargs, with_labels):
    """The scorer's value on each fold, recomputed by hand with cross_modal_map."""
    scores = []
    for train, test in CV.split(data.X_image):
        fitted = sklearn.clone(estimator).fit(data.X_image[train], data.X_text[train])
        labels = data.labels[test] if with_labels else None
        scores.append(
            cross_modal_map(fitted, data.X_image[test], data.X_text[test], labels, **scorer_kwargs)
        )
    return np.array(scores)


def test_scorer_equals_hasher_score(data):
    hasher = CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)
    scorer = hamming_map_scorer()
    assert scorer(hasher, data.X_image, data.X_text) == pytest.approx(
        hasher.score(data.X_image, data.X_text)
    )
    with_labels = scorer(hasher, data.X_image, data.X_text, labels=data.labels)
    assert with_labels == pytest.approx(hasher.score(data.X_image, data.X_text, labels=data.labels))
    assert with_labels != pytest.approx(scorer(hasher, data.X_image, data.X_text))
    i2t = hamming_map_scorer("i2t")(hasher, data.X_image, data.X_text)
    t2i = hamming_map_scorer("t2i")(hasher, data.X_image, data.X_text)
    assert (i2t + t2i) / 2 == pytest.approx(scorer(hasher, data.X_image, data.X_text))


def test_grid_search_with_routed_labels(data):
    scorer_kwargs = {"direction": "i2t", "top_k": 20}
    with sklearn.config_context(enable_metadata_routing=True):
        hasher = CCAITQHasher(n_bits=16, random_state=0).set_fit_request(labels=False)
        scorer = hamming_map_scorer(**scorer_kwargs, relevance="labels")
        scorer.set_score_request(labels=True)
        search = GridSearchCV(hasher, {"n_bits": [8, 16]}, scoring=scorer, cv=CV)
        search.fit(data.X_image, data.X_text, labels=data.labels)
    expected = manual_cv_scores(
        CCAITQHasher(n_bits=16, random_state=0), data, scorer_kwargs, with_labels=True
    )
    got = [search.cv_results_[f"split{i}_test_score"][1] for i in range(3)]
    np.testing.assert_allclose(got, expected)


def test_grid_search_without_labels_scores_pairs(data):
    scorer_kwargs = {"direction": "both", "top_k": None}
    search = GridSearchCV(
        CCAITQHasher(random_state=0), {"n_bits": [16]}, scoring=hamming_map_scorer(), cv=CV
    )
    search.fit(data.X_image, data.X_text)
    expected = manual_cv_scores(
        CCAITQHasher(n_bits=16, random_state=0), data, scorer_kwargs, with_labels=False
    )
    got = [search.cv_results_[f"split{i}_test_score"][0] for i in range(3)]
    np.testing.assert_allclose(got, expected)


def test_labels_relevance_without_routing_raises(data):
    search = GridSearchCV(
        CCAITQHasher(random_state=0),
        {"n_bits": [8]},
        scoring=hamming_map_scorer(relevance="labels"),
        cv=CV,
        error_score="raise",
    )
    with pytest.raises(ValueError, match="received no labels"):
        search.fit(data.X_image, data.X_text)


def test_set_score_request_needs_routing():
    with pytest.raises(RuntimeError, match="metadata routing"):
        hamming_map_scorer().set_score_request(labels=True)


def test_unrequested_labels_are_rejected_by_routing(data):
    with sklearn.config_context(enable_metadata_routing=True):
        hasher = CCAITQHasher(n_bits=8, random_state=0).set_fit_request(labels=False)
        with pytest.raises(Exception, match="labels"):
            cross_validate(
                hasher,
                data.X_image,
                data.X_text,
                scoring=hamming_map_scorer(),
                cv=CV,
                params={"labels": data.labels},
            )


def test_multi_metric_dict_with_deep_hasher(data):
    hasher = DBRCHasher(
        n_bits=8, hidden_layer_sizes=(16, 8), max_epochs=2, batch_size=32, random_state=0
    )
    scoring = {
        "map_i2t": hamming_map_scorer("i2t"),
        "map50_t2i": hamming_map_scorer("t2i", top_k=50, relevance="labels"),
        "map_pairs": hamming_map_scorer(relevance="pairs"),
    }
    with sklearn.config_context(enable_metadata_routing=True):
        hasher.set_fit_request(labels=False)
        scoring["map_i2t"].set_score_request(labels=True)
        scoring["map50_t2i"].set_score_request(labels=True)
        scoring["map_pairs"].set_score_request(labels=False)
        result = cross_validate(
            hasher,
            data.X_image,
            data.X_text,
            scoring=scoring,
            cv=CV,
            params={"labels": data.labels},
        )
    for key in ["test_map_i2t", "test_map50_t2i", "test_map_pairs"]:
        assert result[key].shape == (3,)
        assert np.all((result[key] >= 0) & (result[key] <= 1))
    # label relevance is far easier than finding the one paired item
    assert result["test_map_i2t"].mean() > result["test_map_pairs"].mean()


def test_pipeline_with_scaler(data):
    pipe = make_pipeline(StandardScaler(), CCAITQHasher(n_bits=16, random_state=0))
    result = cross_validate(
        pipe, data.X_image, data.X_text, scoring=hamming_map_scorer(top_k=30), cv=CV
    )
    assert result["test_score"].shape == (3,)
    pipe.fit(data.X_image, data.X_text)
    hasher = pipe[-1]
    image_codes = hasher.transform(pipe[0].transform(data.X_image))
    text_codes = hasher.transform_text(data.X_text)
    from sklearn_xmh.metrics import mean_average_precision

    expected = np.mean(
        [
            mean_average_precision(image_codes, text_codes, top_k=30),
            mean_average_precision(text_codes, image_codes, top_k=30),
        ]
    )
    assert hamming_map_scorer(top_k=30)(pipe, data.X_image, data.X_text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"direction": "x2y"},
        {"top_k": 0},
        {"ties": "first"},
        {"relevance": "all"},
        {"relevance": "neighbors", "n_neighbors": 0},
    ],
)
def test_scorer_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        hamming_map_scorer(**kwargs)


@pytest.mark.parametrize("relevance", ["auto", "neighbors"])
def test_scorer_requires_text_view(data, relevance):
    hasher = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_image, data.X_text)
    with pytest.raises(ValueError, match="text view"):
        hamming_map_scorer(relevance=relevance)(hasher, data.X_image, None)


# ---- relevance="neighbors": an unlabelled criterion richer than pair retrieval ----


def test_feature_neighbors_hold_each_pair_and_its_nearest_pairs(data):
    neighbors = feature_neighbors(data.X_image, data.X_text, n_neighbors=7)
    assert sp.issparse(neighbors) and neighbors.format == "csr"
    assert neighbors.shape == (240, 240) and neighbors.dtype == bool and neighbors.nnz == 240 * 7
    np.testing.assert_array_equal(neighbors.sum(axis=1), 7)
    assert neighbors.diagonal().all()
    # By hand: the joint space of standardised, L2-normalised views.
    joint = np.hstack(
        [normalize(StandardScaler().fit_transform(v)) for v in (data.X_image, data.X_text)]
    )
    np.testing.assert_array_equal(neighbors.toarray(), _neighbors_of(joint, 7))


def test_feature_neighbors_keep_a_duplicated_pair_its_own_neighbour(data):
    X_image = np.vstack([data.X_image, data.X_image[:1]])
    X_text = np.vstack([data.X_text, data.X_text[:1]])
    neighbors = feature_neighbors(X_image, X_text, n_neighbors=1)
    assert neighbors.diagonal().all()
    neighbors = feature_neighbors(X_image, X_text, n_neighbors=2)
    assert neighbors[0, 240] and neighbors[240, 0]
    assert feature_neighbors(X_image[:3], X_text[:3], n_neighbors=50).toarray().all()


def test_feature_neighbors_accept_sparse_and_nd_views(data):
    text = np.abs(data.X_text)
    # A sparse view is scaled without centring, then normalised, like a dense one otherwise.
    joint = np.hstack(
        [
            normalize(StandardScaler().fit_transform(data.X_image)),
            normalize(StandardScaler(with_mean=False).fit_transform(text)),
        ]
    )
    np.testing.assert_array_equal(
        feature_neighbors(data.X_image, sp.csr_matrix(text), n_neighbors=5).toarray(),
        _neighbors_of(joint, 5),
    )
    dense = feature_neighbors(data.X_image, text, n_neighbors=5).toarray()
    images = data.X_image.reshape(240, 4, 5)
    np.testing.assert_array_equal(feature_neighbors(images, text, n_neighbors=5).toarray(), dense)
    with pytest.raises(ValueError, match="same pairs"):
        feature_neighbors(data.X_image, data.X_text[:10])


def _neighbors_of(joint, k):
    distances = ((joint[:, None, :] - joint[None, :, :]) ** 2).sum(axis=-1)
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]
    neighbors = np.zeros((len(joint), len(joint)), dtype=bool)
    neighbors[np.arange(len(joint))[:, None], nearest] = True
    return neighbors


class RandomCodes(CCAITQHasher):
    """Codes that carry no information about the inputs."""

    def transform(self, X):
        return np.random.default_rng(0).integers(0, 2, (len(X), self.n_bits), dtype=np.uint8)

    def transform_text(self, X):
        return np.random.default_rng(1).integers(0, 2, (len(X), self.n_bits), dtype=np.uint8)


@pytest.mark.parametrize("direction", ["both", "i2t", "t2i"])
def test_neighbors_scorer_ranks_a_fitted_hasher_above_random_codes(data, direction):
    scorer = hamming_map_scorer(direction, relevance="neighbors", n_neighbors=10)
    fitted = CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)
    informed = scorer(fitted, data.X_image, data.X_text)
    chance = scorer(RandomCodes(n_bits=16), data.X_image, data.X_text)
    assert 0 < chance < 0.15 < informed <= 1


def test_neighbors_scorer_equals_map_against_feature_neighbors(data):
    hasher = CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)
    neighbors = feature_neighbors(data.X_image, data.X_text, n_neighbors=10)
    # As dense multi-hot labels (240 classes, four label words per item).
    items = np.eye(240, dtype=bool)
    dense = neighbors.toarray()
    image, text = hasher.transform(data.X_image), hasher.transform_text(data.X_text)
    expected = [
        mean_average_precision(image, text, dense, items, top_k=30),
        mean_average_precision(text, image, dense, items, top_k=30),
    ]
    scorer = hamming_map_scorer(top_k=30, relevance="neighbors", n_neighbors=10)
    assert scorer(hasher, data.X_image, data.X_text) == pytest.approx(np.mean(expected))
    assert "n_neighbors=10" in repr(scorer)


def test_neighbors_scorer_in_grid_search_ignores_routed_labels(data):
    scorer = hamming_map_scorer(relevance="neighbors", n_neighbors=10)
    search = GridSearchCV(CCAITQHasher(random_state=0), {"n_bits": [8, 16]}, scoring=scorer, cv=CV)
    search.fit(data.X_image, data.X_text)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = hamming_map_scorer(relevance="neighbors", n_neighbors=10)
        routed.set_score_request(labels=True)
        hasher = CCAITQHasher(random_state=0).set_fit_request(labels=False)
        with_labels = GridSearchCV(hasher, {"n_bits": [8, 16]}, scoring=routed, cv=CV)
        with_labels.fit(data.X_image, data.X_text, labels=data.labels)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], with_labels.cv_results_["mean_test_score"]
    )
    assert search.cv_results_["mean_test_score"][1] > 0.15
