"""Every tensor on the net's device, models that move between machines, and the CUDA checks.

CI has no GPU, so device placement is checked on the CPU with torch's ``meta`` device: a
module moved there refuses any CPU tensor ("Tensor on device cpu is not on the expected device
meta"), exactly as a CUDA module refuses one. A training step run on a meta net therefore fails
wherever a loss, a callback or a training step reads a batch input, a label, a graph or a
memory bank that stayed on the host: the crash that three of the four methods had on CUDA.
"""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from torch import nn

from sklearn_xmh import CHNHasher, DBRCHasher, DJSRHHasher, UGACHHasher
from sklearn_xmh.nn import CrossModalDataset
from sklearn_xmh.utils._views import TrainingView

from .conftest import FAST_PARAMS

DEEP = {"dbrc": DBRCHasher, "djsrh": DJSRHHasher, "chn": CHNHasher, "ugach": UGACHHasher}
VARIANTS = [
    ("dbrc", {}),
    ("dbrc", {"hash_batch_norm": True, "scaling": "nonlinear"}),
    ("djsrh", {}),
    ("chn", {}),
    ("chn", {"memory_bank": True}),
    ("ugach", {}),
    ("ugach", {"generator_objective": "pool_baseline"}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in params.items()) for name, params in VARIANTS]


def fitted(name, **params):
    return DEEP[name](**{**FAST_PARAMS[name], "random_state": 0, **params})


def on_meta(hasher, data):
    """The hasher's trained net moved to the meta device, with the inputs ``fit`` gave it (on
    the host, as the data loader hands them over)."""
    net = hasher.net_
    X = {
        "image": TrainingView(data.X_image, hasher.image_preprocessor_),
        "text": TrainingView(data.X_text, hasher.text_preprocessor_),
        **hasher._training_inputs(data.X_image, data.X_text),
    }
    labels = hasher._prepare_labels(data.labels, len(data.X_image))
    for name in net._modules:
        getattr(net, name + "_").to("meta")
    net.device = "meta"
    net.initialize_optimizer()
    return net, X, labels


@pytest.mark.parametrize("resident", [True, False], ids=["views-on-device", "views-on-host"])
@pytest.mark.parametrize("name, params", VARIANTS, ids=IDS)
def test_a_training_step_reads_every_tensor_on_the_nets_device(
    name, params, resident, data, monkeypatch
):
    if not resident:
        if name == "ugach":
            pytest.skip("UGACH reads host views by index on the host, which meta cannot copy")
        # Views too large (or sparse, or out of core) for the device: batches come from the host.
        monkeypatch.setattr(CrossModalDataset, "resident", lambda *args, **kwargs: None)
    hasher = fitted(name, **params).fit(data.X_image, data.X_text, labels=data.labels)
    net, X, labels = on_meta(hasher, data)
    with net.training_state(X, labels):
        dataset = net.get_dataset(X, labels)
        batch = next(iter(net.get_iterator(dataset, training=True)))
        losses = [net.train_step(batch)["loss"]]
        if name == "ugach":
            assert net._is_adversarial()  # the discriminator's negatives came from the generator
            losses.append(net.generator_step(batch)["loss"])
            losses.append(net.validation_step(batch)["loss"])
    assert all(loss.device.type == "meta" for loss in losses)


def test_a_batch_is_gathered_on_the_nets_device(data):
    hasher = fitted("dbrc").fit(data.X_image, data.X_text)
    net, X, labels = on_meta(hasher, data)
    dataset = net.get_dataset(X, labels)
    assert dataset.tensors is not None  # small dense views are held on the device
    batch, y = dataset[[3, 1, 4]]
    assert {t.device.type for t in (*batch.values(), y)} == {"meta"}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_a_pickled_net_keeps_no_module_outside_skorchs_device_mapping(name, data):
    # skorch loads its registered modules onto a machine without the fitting device; a module
    # pickled as a plain attribute (the instance passed as ``module``) would fail there with
    # "Attempting to deserialize object on a CUDA device".
    hasher = fitted(name).fit(data.X_image, data.X_text, labels=data.labels)
    state = hasher.net_.__getstate__()
    plain = {key for key, value in state.items() if isinstance(value, (nn.Module, torch.Tensor))}
    assert not plain
    loaded = pickle.loads(pickle.dumps(hasher))
    assert loaded.net_.module_ is loaded.net_.module  # still one object after loading
    np.testing.assert_array_equal(loaded.transform(data.X_image), hasher.transform(data.X_image))


def test_a_gpu_fitted_model_warns_once_when_it_loads_on_the_cpu(data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("simulates a machine without CUDA")
    hasher = fitted("dbrc").fit(data.X_image, data.X_text)
    hasher.device_ = hasher.net_.device = "cuda"
    hasher.image_encoder_.device_ = hasher.text_encoder_.device_ = "cuda:0"
    path = tmp_path / "model.joblib"
    joblib.dump(hasher, path)
    for load in (lambda: pickle.loads(pickle.dumps(hasher)), lambda: joblib.load(path)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            loaded = load()
        assert [str(w.message) for w in caught] == [
            "This model was fitted on a 'cuda' device, which this machine does not have: it "
            "was loaded on the CPU, and encodes there."
        ]
        assert loaded.device_ == str(loaded.net_.device) == "cpu"


def test_set_params_device_moves_a_fitted_models_encoders(data, assert_same_state):
    hasher = fitted("djsrh").fit(data.X_image, data.X_text)
    before = hasher.transform(data.X_image), hasher.transform_text(data.X_text)
    with pytest.raises(ValueError, match="device='tpu' is not a valid torch device"):
        hasher.set_params(device="tpu")
    assert hasher.device == hasher.device_ == hasher.image_encoder_.device == "cpu"
    assert_same_state(hasher, data, before)
    target = "cuda" if torch.cuda.is_available() else "cpu"
    hasher.set_params(device=target)
    assert hasher.image_encoder_.device_.startswith(target)
    assert next(hasher.text_encoder_.tower_.parameters()).device.type == target
    codes = hasher.transform(data.X_image)
    # A GPU's float arithmetic may flip the sign of an output within rounding of zero.
    assert (codes != before[0]).mean() <= 0.01


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(DEEP))
def test_every_deep_method_trains_and_encodes_on_cuda(name, data):
    hasher = fitted(name, device="cuda").fit(data.X_image, data.X_text, labels=data.labels)
    codes = hasher.transform(data.X_image)
    assert codes.shape == (240, 8) and hasher.device_.startswith("cuda")
    # warm_start continues on the device it is asked for.
    hasher.set_params(warm_start=True, device="cpu").fit(
        data.X_image, data.X_text, labels=data.labels
    )
    assert next(hasher.net_.module_.parameters()).device.type == "cpu"


# ---- the captured training step, its bookkeeping tested on the CPU ----


class _ReplaysEagerly:
    """Stands in for a CUDA graph: capturing records the step, each replay runs it."""

    def __init__(self, fn):
        self.fn, self.replays = fn, 0

    def replay(self):
        self.replays += 1
        self.fn()


@pytest.fixture
def capture_on_cpu(monkeypatch):
    """Capture applies on the CPU, with stand-ins for the two CUDA operations: whatever the
    capture path computes is then what the eager path computes, if its bookkeeping is right
    (the batches' rows and order, warm-up, the graph per variant, the short last batch, the
    epoch's loss). Returns the recorded stand-in graphs."""
    from sklearn_xmh.base import BaseDeepHasher
    from sklearn_xmh.nn import _graphs, net

    graphs = []

    def record(fn):
        graphs.append(_ReplaysEagerly(fn))
        return graphs[-1]

    def on_cpu(net_, iterator, training):
        reason = _graphs.can_capture(net_, iterator, training)
        return None if reason and reason.startswith("the device is") else reason

    monkeypatch.setattr(_graphs.CapturedStep, "_record", staticmethod(record))
    monkeypatch.setattr(_graphs.CapturedStep, "_on_side_stream", staticmethod(lambda fn, d: fn()))
    monkeypatch.setattr(net, "can_capture", on_cpu)
    monkeypatch.setattr(BaseDeepHasher, "_cuda_graph", lambda self, sparse: self.cuda_graph)
    return graphs


CAPTURED = [
    ("dbrc", {}, 1),
    ("djsrh", {}, 1),
    ("chn", {"batch_size": 32}, 1),
    ("chn", {"batch_size": 32, "memory_bank": True}, 1),
    # The discriminator's pre-training and adversarial steps, and the generator's step.
    ("ugach", {"batch_size": 16, "max_epochs": 3}, 3),
]


@pytest.mark.parametrize("name, params, n_graphs", CAPTURED, ids=[c[0] for c in CAPTURED])
def test_replayed_steps_train_exactly_as_eager_steps(name, params, n_graphs, data, request):
    eager = fitted(name, **params).fit(data.X_image, data.X_text, labels=data.labels)
    graphs = request.getfixturevalue("capture_on_cpu")
    replayed = fitted(name, **params).fit(data.X_image, data.X_text, labels=data.labels)
    assert len(graphs) == n_graphs and all(graph.replays > 0 for graph in graphs)
    np.testing.assert_array_equal(replayed.transform(data.X_image), eager.transform(data.X_image))
    np.testing.assert_array_equal(
        replayed.transform_text(data.X_text), eager.transform_text(data.X_text)
    )
    assert replayed.history_[:, "train_loss"] == eager.history_[:, "train_loss"]


def test_a_step_that_cannot_be_captured_trains_eagerly_or_raises(data, capture_on_cpu, monkeypatch):
    from sklearn_xmh.nn import _graphs

    def refuse(fn):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(_graphs.CapturedStep, "_record", staticmethod(refuse))
    with pytest.warns(RuntimeWarning, match="could not be captured.*trains eagerly"):
        hasher = fitted("dbrc").fit(data.X_image, data.X_text)
    monkeypatch.undo()
    eager = fitted("dbrc").fit(data.X_image, data.X_text)
    np.testing.assert_array_equal(hasher.transform(data.X_image), eager.transform(data.X_image))


def test_cuda_graph_true_names_what_prevents_capture(data):
    with pytest.raises(ValueError, match="cuda_graph=True.*not a CUDA device"):
        fitted("djsrh", cuda_graph=True).fit(data.X_image, data.X_text)
    hasher = fitted("djsrh", cuda_graph=True, validation_fraction=0.2, device="cpu")
    with pytest.raises(ValueError, match="validation_fraction is set"):
        hasher.fit(data.X_image, data.X_text)
    assert not hasattr(hasher, "net_")
