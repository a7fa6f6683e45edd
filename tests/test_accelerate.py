"""Multi-process training through skorch's AccelerateMixin: two CPU processes (gloo) launched with
torchrun, each ending with the same fitted model and the usual API."""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sklearn_xmh import UGACHHasher

from .conftest import FAST_PARAMS

pytest.importorskip("accelerate")

SCRIPT = """
import pickle, sys
import numpy as np
from accelerate import Accelerator
from sklearn_xmh import CHNHasher, DBRCHasher, DJSRHHasher
from sklearn_xmh.datasets import make_cross_modal

out = sys.argv[1]
accelerator = Accelerator(cpu=True)
data = make_cross_modal(n_samples=400, n_image_features=20, n_text_features=12, random_state=0)
results = {"world_size": accelerator.num_processes}
for hasher in (
    DBRCHasher(16, hidden_layer_sizes=(32,), max_epochs=3, accelerator=accelerator, random_state=0),
    DJSRHHasher(16, hidden_layer_sizes=(32,), max_epochs=3,
                accelerator=accelerator, random_state=0),
    CHNHasher(16, hidden_layer_sizes=(32,), max_epochs=3,
              accelerator=accelerator, random_state=0),
):
    hasher.fit(data.X_image, data.X_text, labels=data.labels)
    name = type(hasher).__name__
    results[name] = {
        "image": hasher.transform(data.X_image),
        "text": hasher.text_encoder_.transform(data.X_text),
        "epochs": len(hasher.history_),
        "batches": hasher.history_[-1, "train_batch_count"],
        "score": hasher.score(data.X_image, data.X_text, labels=data.labels),
    }
    if accelerator.is_main_process:
        loaded = pickle.loads(pickle.dumps(hasher.set_params(accelerator=None)))
        results[name]["pickled"] = loaded.transform(data.X_image)
with open(f"{out}/rank{accelerator.process_index}.pkl", "wb") as f:
    pickle.dump(results, f)
"""


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("accelerate")
    script = out / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(script),
        str(out),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return [pickle.loads((out / f"rank{rank}.pkl").read_bytes()) for rank in (0, 1)]


@pytest.mark.parametrize("name", ["DBRCHasher", "DJSRHHasher", "CHNHasher"])
def test_two_processes_train_one_model_with_the_usual_api(ranks, name):
    first, second = ranks[0][name], ranks[1][name]
    assert ranks[0]["world_size"] == ranks[1]["world_size"] == 2
    # Gradients are averaged over the processes: both end with the same weights, hence codes.
    np.testing.assert_array_equal(first["image"], second["image"])
    np.testing.assert_array_equal(first["text"], second["text"])
    assert first["image"].shape == (400, 16) and first["image"].dtype == np.uint8
    assert first["epochs"] == 3
    # Each process ran half of each epoch: 200 of the 400 pairs, in batches of the method's
    # size (DBRC 64, DJSRH 32 with the last short batch dropped, CHN 128), where one process
    # alone would run 7, 12 and 4.
    assert first["batches"] == {"DBRCHasher": 4, "DJSRHHasher": 6, "CHNHasher": 2}[name]
    np.testing.assert_array_equal(first["pickled"], first["image"])
    assert first["score"] > 0.2


def test_ugach_rejects_an_accelerator_clearly(data):
    from accelerate import Accelerator

    hasher = UGACHHasher(**FAST_PARAMS["ugach"], accelerator=Accelerator(cpu=True))
    with pytest.raises(ValueError, match="UGACHNet cannot train through accelerate"):
        hasher.fit(data.X_image, data.X_text)
    assert not hasattr(hasher, "net_")
