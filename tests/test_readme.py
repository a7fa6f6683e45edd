"""The README's quickstart runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no python quickstart"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
    # The quickstart prints an image-to-text mAP@50 on learnable synthetic data.
    assert float(capsys.readouterr().out.split()[-1]) > 0.5
