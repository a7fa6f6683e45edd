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
def test_fit_then_encode_npy_and_mat_to_packed_codes(tmp_path, extension, capsys):
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
    code = main(
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
    assert code == 2 and "choose one as" in capsys.readouterr().err
    if extension == ".skops":
        # Deflated: a skops schema is JSON text, most of a small model's file (a default DJSRH
        # Wiki model: 5.7 MB stored, 4.1 MB deflated).
        import zipfile

        with zipfile.ZipFile(model) as archive:
            assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}


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


# ---- a command line that behaves like a tool ----

BAD_CALLS = {
    "benchmark --bits abc": (2, "argument --bits: expected comma-separated positive integers"),
    "benchmark --bits ''": (2, "argument --bits: expected comma-separated positive integers"),
    "benchmark --seeds 0": (2, "argument --seeds: expected a positive integer"),
    "benchmark --top-k none": (2, "argument --top-k"),
    "benchmark --methods cca-itq --set nope=1": (2, "no method of .'cca-itq'. has a parameter"),
    "benchmark --methods cca-itq --set n_iter=-1": (2, "'n_iter' parameter of CCAITQHasher"),
    "benchmark --methods cca-itq --set n_iter": (2, "expected PARAM=VALUE"),
    "benchmark --methods cca-itq --output OUT/x.txt": (2, "--output must end in .json or .csv"),
    "benchmark --data missing.mat --methods cca-itq": (1, "No such dataset file: missing.mat"),
    "fit --method dbrc --output OUT/nowhere/m.skops": (2, "the folder .* does not exist"),
    "fit --method dbrc --output OUT/m.txt": (2, "--output must end in .skops or .joblib"),
    "fit --method nope --output m.skops": (2, "argument --method: invalid choice"),
    "encode --model OUT/none.skops --input x.npy --output c.npz": (2, "does not exist"),
    "index --codes OUT/none.npz --output i.skops": (2, "--codes '.*none.npz' does not exist"),
    "search --queries q.npz --output r.csv": (
        2,
        "one of the arguments --index --database is required",
    ),
    "search --database OUT/none.npz --queries OUT/none.npz --output OUT/r.csv": (
        2,
        "--queries .* does not exist",
    ),
    "search --index i.skops --queries q.npz --radius 1 --k 2 --output r.csv": (
        2,
        "argument --k: not allowed with argument --radius",
    ),
    "evaluate --queries OUT/none.npz --database OUT/none.npz": (2, "does not exist"),
}


@pytest.mark.parametrize("call", list(BAD_CALLS))
def test_bad_arguments_get_one_line_and_an_exit_code(call, tmp_path, capsys):
    import re
    import shlex

    code, message = BAD_CALLS[call]
    argv = shlex.split(call.replace("OUT", str(tmp_path)))
    try:
        result = main(argv)
    except SystemExit as exit_:  # argparse's own usage errors
        result = exit_.code
    err = capsys.readouterr().err
    assert result == code
    assert re.search(message, err), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_outputs_are_checked_before_any_training(tmp_path, monkeypatch, capsys):
    from sklearn_xmh import benchmark

    monkeypatch.setattr(benchmark, "fit_method", lambda *a, **k: pytest.fail("trained"))
    assert main(["fit", "--method", "dbrc", "--output", str(tmp_path / "no" / "m.skops")]) == 2


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["benchmark", "--data", str(tmp_path / "none.mat"), "--methods", "cca-itq", "--debug"])


def test_set_and_verbose_reach_the_estimator(tmp_path, capsys):
    import skops.io as sio

    from sklearn_xmh import trusted_types

    model = tmp_path / "m.skops"
    argv = ["fit", "--method", "dbrc", "--bits", "8", "--set", "max_epochs=2"]
    assert (
        main([*argv, "--set", "dbrc:hidden_layer_sizes=(16,)", "-v", "--output", str(model)]) == 0
    )
    assert "epoch" in capsys.readouterr().err  # the progress bar
    hasher = sio.load(model, trusted=trusted_types())  # the bar is not kept in the file
    assert hasher.max_epochs == 2 and hasher.hidden_layer_sizes == (16,)
    assert len(hasher.history_) == 2 and hasher.callbacks is None


def test_a_single_seed_has_no_spread_and_devices_are_named(capsys):
    assert main(["benchmark", "--methods", "cca-itq", "--bits", "8", "--device", "meta"]) == 0
    captured = capsys.readouterr()
    assert "±" not in captured.out and "cca-itq has no device" in captured.err


def test_encode_writes_exactly_the_path_it_is_given(tmp_path):
    import numpy as np

    from sklearn_xmh.benchmark import _synthetic

    model = tmp_path / "m.joblib"
    main(["fit", "--method", "cca-itq", "--bits", "12", "--output", str(model)])
    np.save(tmp_path / "x.npy", _synthetic()["X_image_query"])
    for name in ("codes.npz", "codes.npy"):
        assert (
            main(
                [
                    "encode",
                    "--model",
                    str(model),
                    "--input",
                    str(tmp_path / "x.npy"),
                    "--output",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "codes.npy",
        "codes.npz",
        "m.joblib",
        "x.npy",
    ]
    with np.load(tmp_path / "codes.npz") as archive:
        assert int(archive["n_bits"]) == 12 and str(archive["code_format"]) == "packed"
        np.testing.assert_array_equal(archive["codes"], np.load(tmp_path / "codes.npy"))


def test_npy_bits_read_as_packed_are_refused(tmp_path, capsys):
    import numpy as np

    bits = np.random.default_rng(0).integers(0, 2, (20, 16)).astype(np.uint8)
    np.save(tmp_path / "bits.npy", bits)
    argv = ["index", "--codes", str(tmp_path / "bits.npy"), "--output", str(tmp_path / "i.skops")]
    assert main(argv) == 2 and "pass --code-format bits" in capsys.readouterr().err
    assert main([*argv, "--code-format", "bits"]) == 0


def test_warmup_compiles_the_kernels(capsys):
    assert main(["warmup"]) == 0
    assert "the Hamming kernels are ready" in capsys.readouterr().err


def test_the_readme_walk_on_wiki(tmp_path, monkeypatch, capsys):
    """fit -> encode -> index -> search -> evaluate, as the README shows it (2 epochs)."""
    import csv

    from .conftest import shared_file

    wiki = shared_file("wiki", "wikiData.mat")
    monkeypatch.setenv("XMH_DATA", str(wiki.parents[1]))
    monkeypatch.chdir(tmp_path)
    for call in (
        "fit --data wiki --method djsrh --bits 64 --set max_epochs=2 --output djsrh.skops",
        f"encode --model djsrh.skops --input {wiki}:T_tr --view text --output texts.npz",
        f"encode --model djsrh.skops --input {wiki}:I_te --view image --output images.npz",
        "index --codes texts.npz --output texts.index.skops",
        "search --index texts.index.skops --queries images.npz --k 10 --output neighbours.csv",
        f"evaluate --queries images.npz --database texts.npz --query-labels {wiki}:L_te "
        f"--database-labels {wiki}:L_tr --top-k 50",
    ):
        assert main(call.split()) == 0, capsys.readouterr().err
    rows = list(csv.DictReader(open("neighbours.csv")))
    assert len(rows) == 693 * 10 and rows[0].keys() == {"query", "rank", "index", "distance"}
    out = capsys.readouterr().out
    assert "693 queries, 2173 database items, 64 bits" in out and "| mAP@50 | P@10 | P@100 |" in out
