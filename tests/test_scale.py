"""Scale and trust: streaming encode, bounded memory, GPU-to-CPU loading, interrupted training,
and dask (ParallelPostFit, joblib's dask backend)."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from skorch.callbacks import Callback

from sklearn_xmh import CCAITQHasher, DBRCHasher

from .conftest import FAST_PARAMS, fast_estimators

ESTIMATORS = fast_estimators()
IDS = [type(est).__name__ for est in ESTIMATORS]


def fast_dbrc(**params):
    return DBRCHasher(**{**FAST_PARAMS["dbrc"], "random_state": 0, **params})


# ---- streaming encode ----


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_batched_encoding_of_memmap_and_dask_input_matches_in_memory(estimator, data, tmp_path):
    da = pytest.importorskip("dask.array")
    hasher = estimator.fit(data.X_image, data.X_text, labels=data.labels)
    expected = hasher.transform(data.X_image), hasher.transform_text(data.X_text)
    for encoder in (hasher.image_encoder_, hasher.text_encoder_):
        encoder.set_params(batch_size=37)  # 240 rows: 7 batches, the last one short
    path = tmp_path / "images.f32"
    mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=data.X_image.shape)
    mapped[:] = data.X_image
    np.testing.assert_array_equal(hasher.transform(mapped), expected[0])
    np.testing.assert_array_equal(hasher.transform(da.from_array(data.X_image, 50)), expected[0])
    np.testing.assert_array_equal(hasher.transform_text(da.from_array(data.X_text)), expected[1])
    np.testing.assert_array_equal(hasher.text_encoder_.transform(data.X_text), expected[1])
    # A bad value in a late batch is still found and named.
    bad = data.X_text.copy()
    bad[-1, 0] = np.inf
    with pytest.raises(ValueError, match="Text view \\(y\\).*infinity"):
        hasher.transform_text(bad)


MEMORY_SCRIPT = """
import sys
import numpy as np
from sklearn_xmh import DBRCHasher

path, n_rows, n_features = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, n_features))
hasher = DBRCHasher(n_bits=32, hidden_layer_sizes=(64,), max_epochs=1, random_state=0)
hasher.fit(np.asarray(X[:500]), np.asarray(X[:500, :16]))

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak resident size (VmHWM) to the current one
before = status("VmRSS:")
codes = hasher.transform(X)
assert codes.shape == (n_rows, 32)
print(status("VmHWM:") - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_encoding_a_large_memmap_keeps_memory_bounded(tmp_path):
    n_rows, n_features = 200_000, 512
    path = tmp_path / "big.f32"
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:  # written in blocks, never whole in memory
        for _ in range(n_rows // 10_000):
            f.write(rng.standard_normal((10_000, n_features), dtype=np.float32).tobytes())
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(MEMORY_SCRIPT),
            str(path),
            str(n_rows),
            str(n_features),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    growth = int(done.stdout.split()[-1])
    input_bytes = n_rows * n_features * 4
    # The mapped input itself may become resident; beyond it, only a few batches.
    assert growth < input_bytes + 200 * 2**20, (growth / 2**20, input_bytes / 2**20)


# ---- loading a GPU-fitted model on a CPU-only machine ----


def test_a_cuda_fitted_model_loads_and_encodes_on_cpu_with_a_warning(data):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("simulates a machine without CUDA")
    hasher = fast_dbrc().fit(data.X_image, data.X_text)
    expected = hasher.transform(data.X_image), hasher.transform_text(data.X_text)
    # The state a CUDA fit leaves: every device attribute names the GPU. (Our pickles always
    # hold CPU tensors, see ModalityEncoder.__getstate__, so this is what a file from a GPU
    # machine contains.)
    hasher.device_ = hasher.net_.device = "cuda"
    hasher.image_encoder_.device_ = hasher.text_encoder_.device_ = "cuda:0"
    blob = pickle.dumps(hasher)
    with pytest.warns(UserWarning, match="fitted on a 'cuda' device.*loaded on the CPU"):
        loaded = pickle.loads(blob)
    assert loaded.device_ == loaded.image_encoder_.device_ == loaded.text_encoder_.device_ == "cpu"
    np.testing.assert_array_equal(loaded.transform(data.X_image), expected[0])
    np.testing.assert_array_equal(loaded.transform_text(data.X_text), expected[1])


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(), reason="needs a CUDA device to fit on"
)
def test_a_model_fitted_on_cuda_pickles_to_cpu_tensors(data):
    hasher = fast_dbrc(device="cuda").fit(data.X_image, data.X_text)
    state = hasher.image_encoder_.__getstate__()["tower_"]  # plain data: numpy weights

    def arrays(state):
        yield from state["parameters"].values()
        yield from state["buffers"].values()
        for child in state["modules"].values():
            yield from arrays(child)

    assert all(isinstance(a, np.ndarray) for a in arrays(state))
    codes = hasher.transform(data.X_image)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(hasher)).transform(data.X_image), codes)


# ---- interrupted training ----


class InterruptAfter(Callback):
    """Press Ctrl-C at the end of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    "estimator", [est for est in ESTIMATORS if "callbacks" in est.get_params()], ids=str
)
def test_ctrl_c_leaves_a_usable_model_at_the_last_epoch_and_warm_start_resumes(estimator, data):
    hasher = estimator.set_params(max_epochs=5, callbacks=[InterruptAfter(2)])
    hasher.fit(data.X_image, data.X_text, labels=data.labels)
    assert len(hasher.history_) == 2
    assert hasher.transform(data.X_image).shape == (240, 8)
    # Resume from there: warm_start continues the same network for max_epochs more.
    hasher.set_params(warm_start=True, max_epochs=2, callbacks=None)
    hasher.fit(data.X_image, data.X_text, labels=data.labels)
    assert len(hasher.history_) == 4


def test_ctrl_c_in_a_linear_fit_leaves_the_previous_model(data, monkeypatch):
    hasher = CCAITQHasher(8, random_state=0).fit(data.X_image, data.X_text)
    codes = hasher.transform(data.X_image)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(hasher), "_fit_towers", interrupted)
    with pytest.raises(KeyboardInterrupt):
        hasher.fit(data.X_image[:100], data.X_text[:100])
    np.testing.assert_array_equal(hasher.transform(data.X_image), codes)


# ---- dask ----


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_parallel_post_fit_encodes_dask_arrays_exactly_on_a_cluster(dask_client, data):
    da = pytest.importorskip("dask.array")
    from dask_ml.wrappers import ParallelPostFit

    hasher = fast_dbrc().fit(data.X_image, data.X_text)
    images = da.from_array(data.X_image, chunks=(60, -1))
    texts = da.from_array(data.X_text, chunks=(60, -1))
    codes = ParallelPostFit(hasher).transform(images).compute()
    np.testing.assert_array_equal(codes, hasher.transform(data.X_image))
    text_codes = ParallelPostFit(hasher.text_encoder_).transform(texts).compute()
    np.testing.assert_array_equal(text_codes, hasher.transform_text(data.X_text))


def test_grid_search_runs_on_the_dask_joblib_backend(dask_client, data):
    import joblib
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(fast_dbrc(), {"n_bits": [8, 16]}, cv=2, n_jobs=2)
    with joblib.parallel_config(backend="dask"):
        search.fit(data.X_image, data.X_text)
    local = GridSearchCV(fast_dbrc(), {"n_bits": [8, 16]}, cv=2).fit(data.X_image, data.X_text)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
