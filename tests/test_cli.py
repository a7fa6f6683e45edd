"""The xmh command line."""

import json

import pytest

from sklearn_xmh.cli import main


def test_benchmark_prints_table_and_writes_records(tmp_path, capsys):
    output = tmp_path / "result.json"
    main(
        [
            "benchmark",
            "--methods",
            "cca-itq",
            "--bits",
            "8,16",
            "--seeds",
            "2",
            "--output",
            str(output),
        ]
    )
    table = capsys.readouterr().out
    assert "| cca-itq |" in table and "I→T 8" in table and "T→I 16" in table
    records = json.loads(output.read_text())["results"]
    assert len(records) == 2 * 2 * 2  # bits x seeds x directions
    assert {r["direction"] for r in records} == {"i2t", "t2i"}
    # The synthetic default is learnable: far above the chance level of about 0.25.
    assert min(r["map"] for r in records) > 0.5


def test_benchmark_rejects_unknown_method(capsys):
    with pytest.raises(SystemExit):
        main(["benchmark", "--methods", "nope"])
    assert "unknown methods ['nope']" in capsys.readouterr().err


@pytest.mark.parametrize("extension", [".skops", ".joblib"])
def test_fit_then_encode_npy_and_mat_to_packed_codes(tmp_path, extension):
    import numpy as np
    from scipy.io import savemat

    from sklearn_xmh.benchmark import _synthetic

    model = tmp_path / f"model{extension}"
    main(["fit", "--method", "cca-itq", "--bits", "12", "--output", str(model)])
    data = _synthetic()
    np.save(tmp_path / "texts.npy", data["X_text_query"])
    savemat(tmp_path / "images.mat", {"I_te": data["X_image_query"], "other": np.zeros(1)})
    main(
        [
            "encode",
            "--model",
            str(model),
            "--input",
            str(tmp_path / "texts.npy"),
            "--view",
            "text",
            "--output",
            str(tmp_path / "text_codes.npy"),
        ]
    )
    main(
        [
            "encode",
            "--model",
            str(model),
            "--input",
            str(tmp_path / "images.mat"),
            "--key",
            "I_te",
            "--output",
            str(tmp_path / "image_codes.npy"),
        ]
    )
    from sklearn_xmh import CCAITQHasher

    reference = CCAITQHasher(12, random_state=0, code_format="packed")
    reference.fit(data["X_image_train"], data["X_text_train"])
    text_codes = np.load(tmp_path / "text_codes.npy")
    assert text_codes.shape == (500, 2) and text_codes.dtype == np.uint8
    np.testing.assert_array_equal(text_codes, reference.transform_text(data["X_text_query"]))
    np.testing.assert_array_equal(
        np.load(tmp_path / "image_codes.npy"), reference.transform(data["X_image_query"])
    )
    with pytest.raises(SystemExit, match="choose one with --key"):
        main(
            [
                "encode",
                "--model",
                str(model),
                "--input",
                str(tmp_path / "images.mat"),
                "--output",
                str(tmp_path / "x.npy"),
            ]
        )


def test_benchmark_on_a_dcmh_layout_with_curves(tmp_path, capsys):
    import numpy as np
    from scipy.io import savemat

    from sklearn_xmh.datasets import make_cross_modal

    data = make_cross_modal(n_samples=400, random_state=0)
    for suffix, key, value in (
        ("iall", "IAll", data.X_image),
        ("yall", "YAll", data.X_text),
        ("lall", "LAll", data.labels),
    ):
        savemat(tmp_path / f"toy-{suffix}.mat", {key: value})
    output, plot = tmp_path / "result.json", tmp_path / "curves.png"
    main(
        [
            "benchmark",
            "--data",
            str(tmp_path / "toy"),
            "--methods",
            "cca-itq,chn",
            "--bits",
            "8,16",
            "--n-query",
            "100",
            "--n-train",
            "200",
            "--output",
            str(output),
            "--plot",
            str(plot),
        ]
    )
    assert "## toy" in capsys.readouterr().out
    records = json.loads(output.read_text())["results"]
    assert {(r["method"], r["n_bits"]) for r in records} == {
        (m, b) for m in ("cca-itq", "chn") for b in (8, 16)
    }
    assert plot.stat().st_size > 10_000
    assert np.isfinite([r["map"] for r in records]).all()


def test_benchmark_writes_csv_records(tmp_path):
    import csv

    output = tmp_path / "result.csv"
    main(["benchmark", "--methods", "cca-itq", "--bits", "8", "--output", str(output)])
    rows = list(csv.DictReader(output.open()))
    assert [row["direction"] for row in rows] == ["i2t", "t2i"]
    assert set(rows[0]) == {"method", "n_bits", "direction", "map", "top_k", "seed", "fit_seconds"}
    assert 0.5 < float(rows[0]["map"]) <= 1.0
