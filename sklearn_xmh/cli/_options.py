"""The options the ``xmh`` subcommands share: argument types (each raises
:class:`argparse.ArgumentTypeError`, a usage error), the common parsers, and the estimators'
parameters from ``--set``."""

import argparse
import ast
import sys

from ._files import CODE_FORMATS, UsageError

DATA_HELP = (
    "'synthetic' (embedded), a short name of a release in the data folder ($XMH_DATA, default "
    "~/xmh_data): 'wiki', 'uci', 'uci-pixels'; or a Wiki/UCI .mat file, or a DCMH file or prefix"
)
MODEL_FILES = (".skops", ".joblib", ".pkl")


def method_names():
    from ..utils.discovery import all_estimators

    return [name for name, _ in all_estimators()]


# ---- argument types: each raises argparse.ArgumentTypeError, a usage error (exit code 2) ----


def positive_ints(text):
    """``"16,32"`` as ``[16, 32]``."""
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 16,32, got {text!r}"
        )
    return values


def positive_int(text):
    """``"16"`` as ``16``."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def top_k(text):
    return None if text == "all" else positive_int(text)


def method_list(text):
    names = method_names()
    items = [item.strip() for item in text.split(",") if item.strip()]
    if items == ["all"]:
        return names
    unknown = sorted(set(items) - set(names))
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"unknown methods {unknown or [text]}; choose from {names}"
        )
    return items


def setting(text):
    """``[METHOD:]PARAM=VALUE`` as ``(method or None, param, value)``; VALUE is read as a Python
    literal (``5``, ``1e-3``, ``(512,)``, ``True``, ``None``) or else kept as a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"expected PARAM=VALUE or METHOD:PARAM=VALUE, got {text!r}"
        )
    key, raw = text.split("=", 1)
    method, _, param = key.rpartition(":")
    if not param.isidentifier():
        raise argparse.ArgumentTypeError(f"{param!r} is not a parameter name (in {text!r})")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return method or None, param, value


# ---- shared options ----


def subcommand(commands, common, name, *, help, description):
    """A subcommand's parser, with the common options and every default shown in --help."""
    return commands.add_parser(
        name,
        parents=[common],
        help=help,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def add_training_options(command):
    command.add_argument("--data", default="synthetic", help=DATA_HELP)
    command.add_argument("--device", default="cpu", help="torch device of the deep methods")
    command.add_argument(
        "--set",
        dest="settings",
        action="append",
        type=setting,
        default=[],
        metavar="[METHOD:]PARAM=VALUE",
        help="an estimator parameter, repeatable (e.g. max_epochs=5, dbrc:batch_size=32)",
    )
    command.add_argument(
        "--n-query", type=positive_int, default=2000, help="queries of a DCMH split (seed 0)"
    )
    command.add_argument(
        "--n-train", type=positive_int, default=10000, help="training pairs of a DCMH split"
    )


def method_params(methods, settings, verbose):
    """Each method's parameters from ``--set``, checked by the estimators themselves before
    any work (an unknown parameter or a bad value is a usage error)."""
    from sklearn.utils._param_validation import InvalidParameterError

    from ..utils.discovery import all_estimators

    classes = dict(all_estimators())
    params = {method: {} for method in methods}
    for target, param, value in settings:
        if target is not None and target not in params:
            raise UsageError(
                f"--set {target}:{param}: {target} is not among the methods {methods}."
            )
        takers = [
            m for m in ([target] if target else methods) if param in classes[m]().get_params()
        ]
        if not takers:
            raise UsageError(f"--set {param}: no method of {methods} has a parameter {param!r}.")
        for method in takers:
            params[method][param] = value
    for method, values in params.items():
        estimator = classes[method]().set_params(**values)
        try:
            estimator._validate_params()
        except InvalidParameterError as exc:
            raise UsageError(f"--set for {method}: {exc}") from None
        if verbose and "callbacks" in estimator.get_params():
            from ..nn import EpochProgressBar

            callbacks = [*(values.get("callbacks") or []), ("progress", EpochProgressBar(method))]
            values["callbacks"] = callbacks
    return params


def say_no_device(methods, device):
    """Say which methods ignore ``--device``."""
    from ..utils.discovery import all_estimators

    if device == "cpu":
        return
    classes = dict(all_estimators())
    for method in methods:
        if "device" not in classes[method]().get_params():
            print(f"xmh: {method} has no device: it fits on the CPU.", file=sys.stderr)


def add_codes_format_options(command):
    command.add_argument(
        "--code-format",
        choices=CODE_FORMATS,
        default="packed",
        help="format of codes in .npy/.mat files (a .npz from xmh encode says its own)",
    )
    command.add_argument("--n-bits", type=positive_int, help="code length of packed .npy codes")
