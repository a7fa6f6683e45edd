"""hamming_map_scorer in model selection, with and without routed labels."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_xmh import CCAITQHasher, DBRCHasher
from sklearn_xmh.metrics import cross_modal_map, hamming_map_scorer

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
    hasher = DBRCHasher(n_bits=8, hidden_sizes=(16, 8), max_epochs=2, batch_size=32, random_state=0)
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
    "kwargs", [{"direction": "x2y"}, {"top_k": 0}, {"ties": "first"}, {"relevance": "all"}]
)
def test_scorer_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        hamming_map_scorer(**kwargs)


def test_scorer_requires_text_view(data):
    hasher = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_image, data.X_text)
    with pytest.raises(ValueError, match="text view"):
        hamming_map_scorer()(hasher, data.X_image, None)
