"""Sparse views train sparse, out-of-core views train a batch at a time, and both give the
codes of the same data in memory: SparseLinear, LazySGD, TrainingView, the approximate graph."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.preprocessing import MaxAbsScaler

from sklearn_xmh import CCAITQHasher, DJSRHHasher, UGACHHasher
from sklearn_xmh.datasets import make_cross_modal
from sklearn_xmh.neighbors import correlation_graph
from sklearn_xmh.nn import LazySGD, SparseLinear, sparse_inputs
from sklearn_xmh.utils._views import TrainingView, read_rows

from .conftest import FAST_PARAMS, fast_estimators

ESTIMATORS = fast_estimators()
IDS = [type(est).__name__ for est in ESTIMATORS]


@pytest.fixture
def bags():
    """Paired views whose text is a sparse bag of 300 words, 8 per text, tied to the labels."""
    data = make_cross_modal(n_samples=240, n_image_features=20, n_text_features=12, random_state=0)
    rng = np.random.default_rng(0)
    topic = np.argmax(data.X_text, axis=1)[:, None] * 20
    words = np.where(
        rng.random((240, 8)) < 0.7,
        topic + rng.integers(0, 20, (240, 8)),
        rng.integers(0, 300, (240, 8)),
    )
    rows = np.repeat(np.arange(240), 8)
    text = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, words.ravel())), shape=(240, 300))
    text.sum_duplicates()
    return data, text


# ---- the layer and the optimizer ----


@pytest.mark.parametrize("layout", ["csr", "coo"])
def test_sparse_linear_computes_what_linear_computes(layout):
    torch.manual_seed(0)
    linear = torch.nn.Linear(30, 5)
    layer = SparseLinear.from_linear(linear)
    x = torch.rand(4, 30) * (torch.rand(4, 30) < 0.2)
    sparse_x = x.to_sparse_csr() if layout == "csr" else x.to_sparse()
    torch.testing.assert_close(layer(sparse_x), linear(x))
    torch.testing.assert_close(layer(x), linear(x))


@pytest.mark.parametrize("kernels", ["compiled", "torch"])
@pytest.mark.parametrize("momentum, weight_decay", [(0.9, 0.05), (0.0, 0.0), (0.5, 0.0)])
def test_lazy_sgd_on_sparse_gradients_is_dense_sgd(momentum, weight_decay, kernels, monkeypatch):
    from sklearn_xmh.nn import optim

    if kernels == "torch":  # the path of GPU tensors
        monkeypatch.setattr(optim, "_compiled", lambda p, buffer: False)
    torch.manual_seed(0)
    linear = torch.nn.Linear(40, 6).double()
    layer = SparseLinear.from_linear(linear, sparse_grad=True).double()
    dense = torch.optim.SGD(
        linear.parameters(), lr=0.05, momentum=momentum, weight_decay=weight_decay
    )
    lazy = LazySGD(layer.parameters(), lr=0.05, momentum=momentum, weight_decay=weight_decay)
    for _ in range(60):
        x = torch.zeros(3, 40, dtype=torch.double)
        x.scatter_(1, torch.randint(0, 40, (3, 2)), torch.rand(3, 2, dtype=torch.double))
        for optimizer, module, batch in ((dense, linear, x), (lazy, layer, x.to_sparse_csr())):
            optimizer.zero_grad()
            (module(batch) ** 2).sum().backward()
            optimizer.step()
        assert layer.weight.grad.is_sparse
    lazy.flush()
    torch.testing.assert_close(layer.weight, linear.weight.T, rtol=0, atol=1e-12)
    torch.testing.assert_close(layer.bias, linear.bias, rtol=0, atol=1e-12)


def test_sparse_inputs_swaps_only_the_first_layer_of_default_towers():
    from sklearn_xmh.nn import DJSRHModule

    module = DJSRHModule(10, 50, 8, hidden_layer_sizes=(16,), dropout=(0.5, 0.2))
    before = module.text_net[1].weight.detach().clone()
    sparse_inputs(module, ["text"], sparse_grad=True)
    assert isinstance(module.text_net[1], SparseLinear) and module.text_net[1].sparse_grad
    assert type(module.text_net[0]).__name__ == "SparseDropout"
    torch.testing.assert_close(module.text_net[1].weight, before.T)
    assert type(module.image_net[1]) is torch.nn.Linear
    assert type(module.text_net[3]) is torch.nn.Linear


# ---- a sparse view trains sparse ----


def test_a_sparse_text_view_trains_as_its_dense_copy_would(bags):
    data, text = bags
    params = {**FAST_PARAMS["djsrh"], "text_preprocessor": MaxAbsScaler(), "random_state": 0}
    from_sparse = DJSRHHasher(**params).fit(data.X_image, text)
    from_dense = DJSRHHasher(**params).fit(data.X_image, text.toarray())
    layer = from_sparse.net_.module_.text_net[0]
    assert isinstance(layer, SparseLinear) and layer.sparse_grad
    assert isinstance(from_sparse.net_.optimizer_, LazySGD)
    assert type(from_dense.net_.module_.text_net[0]) is torch.nn.Linear
    # The same weights, batches and updates, summed in another order: the same codes, but for
    # the rare bit whose pre-activation sits at zero.
    for encode in ("transform", "transform_text"):
        X = data.X_image if encode == "transform" else text
        agreement = np.mean(getattr(from_sparse, encode)(X) == getattr(from_dense, encode)(X))
        assert agreement > 0.99, (encode, agreement)


def test_sparse_training_never_densifies_the_whole_view(bags, monkeypatch):
    data, text = bags
    densified = []
    original = sp.csr_matrix.toarray

    def recording(self, *args, **kwargs):
        densified.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", recording)
    monkeypatch.setattr(sp.csr_array, "toarray", recording, raising=False)
    for estimator in map(clone, ESTIMATORS):
        if isinstance(estimator, CCAITQHasher):
            continue  # a linear fit needs the whole view: it materialises it, by design
        estimator.set_params(text_preprocessor=MaxAbsScaler())
        estimator.fit(data.X_image, text, labels=data.labels)
        estimator.transform_text(text)
    assert not densified, densified


def test_ugach_players_read_sparse_batches(bags):
    data, text = bags
    hasher = UGACHHasher(**FAST_PARAMS["ugach"], random_state=0).fit(data.X_image, text)
    for player in (hasher.net_.module_, hasher.net_.generator_):
        assert isinstance(player.text_net[0], SparseLinear) and player.text_net[0].sparse_grad
    assert isinstance(hasher.net_.optimizer_generator_, LazySGD)
    assert hasher.transform_text(text).shape == (240, FAST_PARAMS["ugach"]["n_bits"])


# ---- out of core ----


def _out_of_core(kind, X, tmp_path):
    if kind == "memmap":
        path = tmp_path / f"view{len(list(tmp_path.glob('*.f32')))}.f32"
        mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
        mapped[:] = X
        mapped.flush()
        return np.memmap(path, dtype=np.float32, mode="r", shape=X.shape)
    if kind == "h5py":
        h5py = pytest.importorskip("h5py")
        f = h5py.File(tmp_path / "views.h5", "a")
        name = f"view{len(f)}"
        f.create_dataset(name, data=X)
        return f[name]
    da = pytest.importorskip("dask.array")
    return da.from_array(X, chunks=(50, X.shape[1]))


@pytest.mark.parametrize("kind", ["memmap", "h5py", "dask"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_out_of_core_views_train_to_the_in_memory_codes(estimator, kind, data, tmp_path):
    expected = clone(estimator).fit(data.X_image, data.X_text, labels=data.labels)
    codes = expected.transform(data.X_image), expected.transform_text(data.X_text)
    X = _out_of_core(kind, data.X_image.astype(np.float32), tmp_path)
    y = _out_of_core(kind, data.X_text.astype(np.float32), tmp_path)
    streamed = clone(estimator).fit(X, y, labels=data.labels)
    np.testing.assert_array_equal(streamed.transform(data.X_image), codes[0])
    np.testing.assert_array_equal(streamed.transform_text(data.X_text), codes[1])


def test_a_non_finite_value_in_an_out_of_core_view_is_named(data, tmp_path):
    X = data.X_image.astype(np.float32)
    X[200, 3] = np.nan
    mapped = _out_of_core("memmap", X, tmp_path)
    with pytest.raises(ValueError, match=r"Image view \(X\).*NaN.*rows 0 to 239"):
        CCAITQHasher(8).fit(mapped, data.X_text)


@pytest.mark.parametrize("kind", ["h5py", "dask"])
def test_training_view_reads_rows_in_any_order(kind, data, tmp_path):
    X = _out_of_core(kind, data.X_image.astype(np.float32), tmp_path)
    rows = np.array([7, 3, 3, 150, 0])
    np.testing.assert_array_equal(read_rows(X, rows), data.X_image.astype(np.float32)[rows])
    view = TrainingView(X)
    assert view.shape == data.X_image.shape and not view.sparse
    np.testing.assert_array_equal(view.materialize(block_size=64), data.X_image.astype(np.float32))


def test_small_dense_views_are_preprocessed_once_for_training(data, bags, monkeypatch):
    from sklearn.preprocessing import StandardScaler

    X = data.X_image.astype(np.float32)
    scaler = StandardScaler().fit(X)
    rows = np.array([5, 0, 5, 200])
    prepared = TrainingView(X, scaler).keep_prepared()
    assert prepared._prepared is not None
    np.testing.assert_array_equal(prepared.take(rows), TrainingView(X, scaler).take(rows))
    calls = []
    monkeypatch.setattr(scaler, "transform", lambda block: calls.append(block) or block)
    prepared.take(rows)
    assert not calls  # no preprocessing per batch
    # Sparse views and views over the size limit keep being read batch by batch.
    text = bags[1]
    assert TrainingView(text, MaxAbsScaler().fit(text)).keep_prepared()._prepared is None
    assert TrainingView(X, scaler).keep_prepared(max_bytes=X.nbytes - 1)._prepared is None


def test_large_views_fit_their_preprocessor_a_block_at_a_time(data, tmp_path, monkeypatch):
    from sklearn.preprocessing import StandardScaler

    from sklearn_xmh._encoders import fit_preprocessor

    X = data.X_image.astype(np.float32)
    seen = []
    monkeypatch.setattr(StandardScaler, "partial_fit", _recording(StandardScaler.partial_fit, seen))
    streamed = fit_preprocessor(StandardScaler(), X, block_size=50)
    assert seen == [50, 50, 50, 50, 40]  # never the whole view
    whole = StandardScaler().fit(X.astype(np.float64))
    np.testing.assert_allclose(streamed.mean_, whole.mean_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(streamed.var_, whole.var_, rtol=1e-5)
    # In memory or out of core, the same blocks: the very same statistics.
    mapped = fit_preprocessor(StandardScaler(), _out_of_core("memmap", X, tmp_path), block_size=50)
    np.testing.assert_array_equal(mapped.mean_, streamed.mean_)
    np.testing.assert_array_equal(mapped.var_, streamed.var_)


def _recording(method, seen):
    def partial_fit(self, X, *args, **kwargs):
        seen.append(X.shape[0])
        return method(self, X, *args, **kwargs)

    return partial_fit


def test_cca_itq_reads_its_views_a_block_at_a_time(data, monkeypatch):
    import tracemalloc

    rng = np.random.default_rng(0)
    X, Y = (rng.standard_normal((40_000, 200), dtype=np.float32) for _ in range(2))
    tracemalloc.start()
    try:
        CCAITQHasher(16, random_state=0).fit(X, Y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # No copy of the views: a float64 copy of each alone would be twice their size.
    assert peak < 1.0 * (X.nbytes + Y.nbytes)

    # Many blocks give the codes of one.
    whole = CCAITQHasher(16, random_state=0).fit(data.X_image, data.X_text)
    blocks = TrainingView.blocks
    monkeypatch.setattr(TrainingView, "blocks", lambda self, block_size=0: blocks(self, 64))
    blocked = CCAITQHasher(16, random_state=0).fit(data.X_image, data.X_text)
    np.testing.assert_allclose(blocked.correlations_, whole.correlations_, rtol=1e-10)
    np.testing.assert_array_equal(blocked.transform(data.X_image), whole.transform(data.X_image))
    np.testing.assert_array_equal(
        blocked.transform_text(data.X_text), whole.transform_text(data.X_text)
    )


# ---- the approximate graph ----


def test_nndescent_graph_recalls_the_exact_one():
    pytest.importorskip("pynndescent")
    data = make_cross_modal(n_samples=3000, n_image_features=16, n_text_features=12, random_state=0)
    exact, _ = correlation_graph(data.X_image, data.X_text, n_neighbors=5)
    approx, n_distinct = correlation_graph(
        data.X_image, data.X_text, n_neighbors=5, algorithm="nndescent", random_state=0
    )
    again, _ = correlation_graph(
        data.X_image, data.X_text, n_neighbors=5, algorithm="nndescent", random_state=0
    )
    np.testing.assert_array_equal(approx, again)
    recall = np.mean([len(set(a) & set(e)) / len(set(e)) for a, e in zip(approx, exact)])
    assert recall > 0.95, recall
    assert (approx[np.arange(3000), 0] <= approx.max(axis=1)).all()
    assert all(i in row[:k] for i, (row, k) in enumerate(zip(approx, n_distinct)))


def test_a_tower_trained_on_dense_text_encodes_sparse_text(data):
    params = {**FAST_PARAMS["djsrh"], "text_preprocessor": MaxAbsScaler(), "random_state": 0}
    hasher = DJSRHHasher(**params).fit(data.X_image, data.X_text)
    counts = sp.csr_matrix(data.X_text)
    np.testing.assert_array_equal(hasher.transform_text(counts), hasher.transform_text(data.X_text))


def test_sparse_rows_find_their_exact_neighbours_from_sparse_products():
    from sklearn.neighbors import NearestNeighbors

    from sklearn_xmh.neighbors._graph import _sparse_kneighbors_with_self

    X = sp.random(600, 80, density=0.05, format="csr", random_state=0)
    X.data = np.ceil(X.data * 3)  # counts: many exact ties
    found = _sparse_kneighbors_with_self(X, 5, block_size=128)
    # Blocks bounded by their products instead (down to one query each) find the same rows.
    for max_products in (1, 50):
        np.testing.assert_array_equal(
            _sparse_kneighbors_with_self(X, 5, max_products=max_products), found
        )
    distances, _ = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(X)
    dense = X.toarray()
    for i, row in enumerate(found):
        assert i in row
        mine = np.sort(((dense[row] - dense[i]) ** 2).sum(axis=1))
        np.testing.assert_allclose(mine, distances[i] ** 2, atol=1e-9)
