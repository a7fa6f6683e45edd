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


OPEN_UGACH = pytest.mark.xfail(
    strict=True,
    reason="With its generator playing (policy entropy 0.56 of uniform), UGACH's adversarial "
    "negatives lower its Wiki mAP@50 to about 0.14 I->T and 0.20 T->I, below CCA-ITQ; the "
    "discriminator alone reaches 0.28 / 0.37 (docs/mechanisms.rst)",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, direction",
    [
        ("dbrc", "i2t"),
        ("dbrc", "t2i"),
        ("djsrh", "i2t"),
        ("djsrh", "t2i"),
        pytest.param("ugach", "i2t", marks=OPEN_UGACH),
        pytest.param("ugach", "t2i", marks=OPEN_UGACH),
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


OPEN_DBRC_SATURATION = pytest.mark.xfail(
    strict=True,
    reason="At the cross-validated alpha_learning_rate=1e-2, 88% of DBRC's outputs saturate on "
    "Wiki (goal 90%); 3e-2 reaches 95% but scores lower in CV (docs/mechanisms.rst)",
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "method, figure, goal",
    [
        pytest.param("dbrc", "saturation", 0.9, marks=OPEN_DBRC_SATURATION),
        ("dbrc", "alpha_mean", 5.0),
        ("djsrh", "saturation", 0.85),
        ("djsrh", "alpha", 14.0),
    ],
)
def test_each_mechanism_works_at_default_settings(wiki_map50, method, figure, goal):
    # ATanh adapts and ends (nearly) binary; DJSRH's schedule reaches sqrt(200) and saturates.
    wiki_map50[method]
    assert wiki_map50.health[method][figure] >= goal, wiki_map50.health[method]


@pytest.mark.slow
def test_ugach_generator_plays_at_default_settings(wiki_map50):
    wiki_map50["ugach"]
    health = wiki_map50.health["ugach"]
    assert health.policy_entropy_ratio <= 0.8, health
