"""Every public function, method and torch building block validates its arguments the way
scikit-learn does, in imbalanced-learn's style: each parameter has a constraint, and a value
of the wrong type, or of the right type outside the valid range or options, raises
``InvalidParameterError`` naming the parameter. The estimators' own parameters are checked by
scikit-learn's ``check_param_validation`` in ``tests/test_common.py``."""

from importlib import import_module
from inspect import Parameter, signature

import numpy as np
import pytest
from sklearn.utils._param_validation import (
    InvalidParameterError,
    _InstancesOf,
    generate_invalid_param_val,
    generate_valid_param,
    make_constraint,
)

FUNCTIONS = [
    "sklearn_xmh.convert_codes",
    "sklearn_xmh.metrics.hamming_distances",
    "sklearn_xmh.metrics.average_precision_scores",
    "sklearn_xmh.metrics.mean_average_precision",
    "sklearn_xmh.metrics.precision_at_k",
    "sklearn_xmh.metrics.precision_recall_curve",
    "sklearn_xmh.metrics.precision_within_radius",
    "sklearn_xmh.metrics.cross_modal_map",
    "sklearn_xmh.metrics.hamming_map_scorer",
    "sklearn_xmh.neighbors.feature_neighbors",
    "sklearn_xmh.neighbors.correlation_graph",
    "sklearn_xmh.datasets.make_cross_modal",
    "sklearn_xmh.datasets.load_mat_dataset",
    "sklearn_xmh.datasets.split_query_database",
    "sklearn_xmh.datasets.pca_views",
    "sklearn_xmh.datasets.get_data_home",
    "sklearn_xmh.benchmark.load_benchmark_data",
    "sklearn_xmh.benchmark.fit_method",
    "sklearn_xmh.benchmark.encode_split",
    "sklearn_xmh.benchmark.run_benchmark",
    "sklearn_xmh.benchmark.format_table",
    "sklearn_xmh.inspection.mechanism_health",
    "sklearn_xmh.plotting.RetrievalCurveDisplay.from_codes",
    "sklearn_xmh.plotting.RetrievalCurveDisplay.from_estimator",
    "sklearn_xmh.plotting.benchmark_curves_figure",
    "sklearn_xmh.nn.make_mlp",
    "sklearn_xmh.nn.label_similarity",
    "sklearn_xmh.nn.cosine_max_margin",
    "sklearn_xmh.nn.quantization_loss",
    "sklearn_xmh.nn.joint_semantics_affinity",
    "sklearn_xmh.nn.triplet_hinge",
    "sklearn_xmh.nn.policy_gradient_loss",
    "sklearn_xmh.nn.accelerated",
    "sklearn_xmh.nn.register_accelerated",
    "sklearn_xmh.nn.unwrapped",
    "sklearn_xmh.nn.sparse_inputs",
]

# Torch modules and losses, validated in their ``__init__``.
CLASSES = [
    "sklearn_xmh.nn.AdaptiveTanh",
    "sklearn_xmh.nn.CHNModule",  # TwoTowers.__init__, which DJSRH and UGACH share
    "sklearn_xmh.nn.ModuleTower",
    "sklearn_xmh.nn.SparseLinear",
    "sklearn_xmh.nn.CrossModalDataset",
    "sklearn_xmh.nn.SingleViewTower",
    "sklearn_xmh.nn.DBRCModule",
    "sklearn_xmh.nn.DBRCLoss",
    "sklearn_xmh.nn.CHNLoss",
    "sklearn_xmh.nn.DJSRHLoss",
    "sklearn_xmh.nn.UGACHTripletLoss",
]

# Methods of fitted objects.
METHODS = ["kneighbors", "radius_neighbors"]


def _resolve(path):
    module_name, _, name = path.rpartition(".")
    try:
        return getattr(import_module(module_name), name)
    except ModuleNotFoundError:  # a classmethod: module.Class.method
        module_name, _, class_name = module_name.rpartition(".")
        return getattr(getattr(import_module(module_name), class_name), name)


def _valid(constraint):
    constraint = make_constraint(constraint)
    if isinstance(constraint, _InstancesOf) and constraint.type is type:
        return object
    return generate_valid_param(constraint)


def _check_validation(func, name, constraints, skip=("self", "cls")):
    parameters = [
        p
        for p in signature(func).parameters.values()
        if p.kind not in (Parameter.VAR_POSITIONAL, Parameter.VAR_KEYWORD) and p.name not in skip
    ]
    names = {p.name for p in parameters}
    assert set(constraints) == names, (
        f"{name}: parameters without a constraint {sorted(names - set(constraints))}, "
        f"constraints without a parameter {sorted(set(constraints) - names)}"
    )
    required = {
        p.name: _valid(constraints[p.name][0])
        for p in parameters
        if p.default is p.empty and constraints[p.name] != "no_validation"
    }
    bad_type = type("BadType", (), {})()
    for param in names:
        if constraints[param] == "no_validation":
            continue
        match = rf"The '{param}' parameter of .* must be .* Got .* instead."
        with pytest.raises(InvalidParameterError, match=match):
            func(**{**required, param: bad_type})
        for constraint in map(make_constraint, constraints[param]):
            try:
                bad_value = generate_invalid_param_val(constraint)
            except NotImplementedError:
                continue
            with pytest.raises(InvalidParameterError, match=match):
                func(**{**required, param: bad_value})


@pytest.mark.parametrize("path", FUNCTIONS)
def test_function_param_validation(path):
    func = _resolve(path)
    _check_validation(func, path, func._skl_parameter_constraints)


@pytest.mark.parametrize("path", CLASSES)
def test_torch_class_param_validation(path):
    cls = _resolve(path)
    _check_validation(cls, path, cls.__init__._skl_parameter_constraints)


@pytest.mark.parametrize("method", METHODS)
def test_hamming_index_method_param_validation(method):
    from sklearn_xmh import HammingIndex

    index = HammingIndex().fit(np.eye(8, dtype=np.uint8))
    bound = getattr(index, method)
    _check_validation(bound, f"HammingIndex.{method}", bound._skl_parameter_constraints)


def test_every_public_function_is_listed():
    """A new public function cannot skip validation: each public module's functions are here."""
    import inspect

    listed = set(FUNCTIONS)
    for module_name in (
        "sklearn_xmh.metrics",
        "sklearn_xmh.neighbors",
        "sklearn_xmh.datasets",
        "sklearn_xmh.nn",
        "sklearn_xmh.inspection",
    ):
        module = import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                assert f"{module_name}.{name}" in listed, f"{module_name}.{name} is not tested"
