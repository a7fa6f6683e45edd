"""Each method at default settings against the others on Wiki (EVALUATION.md protocol): mAP@50 at
32 bits, seed 0, 2,173 training pairs as database and 693 test pairs as queries."""

import pytest

UNSUPERVISED = ("dbrc", "djsrh", "ugach")


def _scores(wiki_map50, methods):
    return {method: wiki_map50[method] for method in methods}


def _beats(wiki_map50, method, other, direction):
    assert wiki_map50[method][direction] > wiki_map50[other][direction], _scores(
        wiki_map50, (method, other)
    )


OPEN_UGACH_T2I = pytest.mark.xfail(
    strict=True,
    reason="UGACH as its official code trains it (the generator's softmax over its sampled "
    "negatives, near-uniform: policy entropy 1.00 of uniform) scores 0.276 I->T but 0.373 T->I on "
    "Wiki at seed 0, below CCA-ITQ's 0.440 T->I; the discriminator alone is no better (0.374 over "
    "seeds 0-1, docs/mechanisms.rst)",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, direction",
    [
        ("dbrc", "i2t"),
        ("dbrc", "t2i"),
        ("djsrh", "i2t"),
        ("djsrh", "t2i"),
        ("ugach", "i2t"),
        pytest.param("ugach", "t2i", marks=OPEN_UGACH_T2I),
    ],
)
def test_unsupervised_defaults_beat_cca_itq(wiki_map50, method, direction):
    _beats(wiki_map50, method, "cca-itq", direction)


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["i2t", "t2i"])
def test_supervised_chn_clearly_beats_every_unsupervised_method(wiki_map50, direction):
    # "Clearly": by at least 0.02 mAP@50 over the best unsupervised method.
    best = max(wiki_map50[method][direction] for method in UNSUPERVISED)
    assert wiki_map50["chn"][direction] > best + 0.02, _scores(wiki_map50, ("chn", *UNSUPERVISED))


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, figure, goal",
    [
        ("dbrc", "alpha_mean", 5.0),
        ("djsrh", "saturation", 0.85),
        ("djsrh", "alpha", 14.0),
    ],
)
def test_each_mechanism_works_at_default_settings(wiki_map50, method, figure, goal):
    # ATanh's scales grow under their penalty's gradient; DJSRH's schedule reaches sqrt(200) and
    # saturates. DBRC's saturation is reported, not held to a goal: without the batch
    # normalisation the paper does not have, the network shrinks h as alpha grows (docs).
    wiki_map50[method]
    assert wiki_map50.health[method][figure] >= goal, wiki_map50.health[method]


@pytest.mark.slow
def test_ugach_reports_its_generator_over_the_reference_pool(wiki_map50):
    # The health figures are reported, never forced: the reference's generator stays near
    # uniform (docs/mechanisms.rst). What must hold is that they are measured over the
    # reference's pool of n / 50 candidates and are proper ratios.
    wiki_map50["ugach"]
    health = wiki_map50.health["ugach"]
    assert health["pool_size"] == wiki_map50.data.X_image_train.shape[0] // 50, health
    assert 0.0 < health["policy_entropy_ratio"] <= 1.0 + 1e-9, health
    assert 0.0 <= health["generator_positive_rate"] <= 1.0, health
