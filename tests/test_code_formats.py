"""Code formats are read from dtype and shape, never guessed from values: one rule across the
metrics, the index, convert_codes and the scorers."""

import numpy as np
import pytest

from sklearn_xmh import HammingIndex, convert_codes
from sklearn_xmh.metrics import hamming_distances, mean_average_precision
from sklearn_xmh.utils._codes import infer_code_format


@pytest.fixture
def codes():
    rng = np.random.default_rng(0)
    return rng.integers(0, 2, (20, 32)).astype(np.uint8), rng.integers(0, 3, 20)


def test_the_rule_reads_dtype_and_shape_only():
    bits = np.zeros((3, 32), np.uint8)
    assert infer_code_format(bits) == "bits"
    assert infer_code_format(np.full((3, 32), 200, np.uint8)) == "bits"  # values do not matter
    assert infer_code_format(np.zeros((3, 4), np.uint8), n_bits=32) == "packed"
    assert infer_code_format(np.zeros((3, 32), np.float32)) == "signed"
    assert infer_code_format(np.zeros((3, 32), bool)) == "bits"


def test_a_stray_value_in_bits_is_an_error_that_names_it(codes):
    bits, labels = codes
    stray = bits.copy()
    stray[3, 7] = 2
    message = r"Bit codes must hold only 0 and 1; found 2 at row 3, column 7.*code_format='packed'"
    with pytest.raises(ValueError, match=message):
        mean_average_precision(stray, bits, labels, labels)
    with pytest.raises(ValueError, match=r"found 2 at row 3, column 7"):
        mean_average_precision(bits, stray, labels, labels)
    with pytest.raises(ValueError, match=r"found 2 at row 3, column 7"):
        HammingIndex().fit(stray)
    with pytest.raises(ValueError, match=r"found 2 at row 3, column 7"):
        convert_codes(stray, "signed")
    signed = convert_codes(bits, "signed")
    signed[0, 1] = 0.5
    with pytest.raises(ValueError, match=r"Signed codes must hold only -1 and \+1; found 0.5"):
        convert_codes(signed, "bits")


def test_packed_codes_are_told_apart_by_their_width_beside_bits(codes):
    bits, labels = codes
    packed = np.packbits(bits, axis=1)
    expected = mean_average_precision(bits, bits, labels, labels)
    assert mean_average_precision(packed, bits, labels, labels) == expected
    assert mean_average_precision(bits, packed, labels, labels) == expected
    # Both packed: the widths are equal, so the format is declared.
    assert mean_average_precision(packed, packed, labels, labels, code_format="packed") == expected
    np.testing.assert_array_equal(hamming_distances(packed, bits), hamming_distances(bits, bits))


def test_an_index_takes_queries_in_any_format(codes):
    bits, _ = codes
    index = HammingIndex().fit(bits)
    expected = index.kneighbors(bits, n_neighbors=3)
    for query in (np.packbits(bits, axis=1), convert_codes(bits, "signed")):
        for got, want in zip(index.kneighbors(query, n_neighbors=3), expected):
            np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="have 16 bits, expected n_bits=32"):
        index.kneighbors(bits[:, :16])
    # A declared format holds for the fitted codes and the queries alike.
    packed = np.packbits(bits, axis=1)
    packed_index = HammingIndex(code_format="packed", n_bits=32).fit(packed)
    np.testing.assert_array_equal(packed_index.kneighbors(packed, 3)[1], expected[1])
    with pytest.raises(ValueError, match="Packed query codes have 32 bytes per row"):
        packed_index.kneighbors(bits, 3)


def test_codes_without_bits_are_rejected(codes):
    _, labels = codes
    empty = np.zeros((20, 0), np.uint8)
    with pytest.raises(ValueError, match="have no bits"):
        mean_average_precision(empty, empty, labels, labels)
