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
