"""The README's python blocks run as written, top to bottom in one session."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks may write files (a saved model)
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", text, re.S | re.M)
    assert blocks, "the README has no python quickstart"
    session = {}
    for indent, block in blocks:
        block = "\n".join(line[len(indent) :] for line in block.splitlines())
        exec(compile(block, str(README), "exec"), session)
    # The quickstart prints an image-to-text mAP@50 on learnable synthetic data.
    assert float(capsys.readouterr().out.split()[-1]) > 0.5
