"""The ``xmh`` subcommands: for each, one function that adds its parser and one that runs it."""

import argparse
import ast
import sys
import time

import numpy as np

from ._files import (
    CODE_FORMATS,
    UsageError,
    check_input,
    check_output,
    load_model,
    read_array,
    read_codes,
    save_model,
    write_codes,
    write_neighbors,
    write_records,
)
from ._warmup import COMPILING, notice_if_slow, warm_up, warm_up_in_background

DATA_HELP = (
    "'synthetic' (embedded), a short name of a release in the data folder ($XMH_DATA, default "
    "~/xmh_data): 'wiki', 'uci', 'uci-pixels'; or a Wiki/UCI .mat file, or a DCMH file or prefix"
)
MODEL_FILES = (".skops", ".joblib", ".pkl")


def _methods():
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
    names = _methods()
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


def _subcommand(commands, common, name, *, help, description):
    """A subcommand's parser, with the common options and every default shown in --help."""
    return commands.add_parser(
        name,
        parents=[common],
        help=help,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def _add_training(command):
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


def _method_params(methods, settings, verbose):
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


def _no_device(methods, device):
    """Say which methods ignore ``--device``."""
    from ..utils.discovery import all_estimators

    if device == "cpu":
        return
    classes = dict(all_estimators())
    for method in methods:
        if "device" not in classes[method]().get_params():
            print(f"xmh: {method} has no device: it fits on the CPU.", file=sys.stderr)


# ---- benchmark ----


def add_benchmark(commands, common):
    names = _methods()
    command = _subcommand(
        commands,
        common,
        "benchmark",
        help="print a paper-style mAP table",
        description="Fit every method at every code length and seed on a dataset's training "
        "pairs, and print image-to-text and text-to-image mAP of its queries.",
    )
    _add_training(command)
    command.add_argument(
        "--methods",
        default="all",
        type=method_list,
        help=f"comma-separated, or 'all': {','.join(names)}",
    )
    command.add_argument("--bits", default="16,32", type=positive_ints, help="code lengths")
    command.add_argument("--top-k", default="50", type=top_k, help="K of mAP@K, or 'all'")
    command.add_argument("--seeds", type=positive_int, default=1, help="seeds 0..N-1 per cell")
    command.add_argument(
        "--output", help="write the per-seed records as JSON, or as CSV for a .csv path"
    )
    command.add_argument(
        "--plot", help="write PR and precision@k curves (longest code, seed 0) to this image"
    )
    command.set_defaults(run=run_benchmark)


def run_benchmark(args):
    from ..benchmark import format_table, load_benchmark_data, run_benchmark

    if args.output:
        check_output(args.output, (".json", ".csv"), "--output")
    if args.plot:
        check_output(args.plot, (".png", ".pdf", ".svg", ".jpg"), "--plot")
    params = _method_params(args.methods, args.settings, args.verbose)
    _no_device(args.methods, args.device)
    data = load_benchmark_data(args.data, n_query=args.n_query, n_train=args.n_train)
    longest, curves = max(args.bits), {}
    n_cells = len(args.methods) * len(args.bits) * args.seeds
    done = []

    def keep_codes(method, n_bits, seed, query, database):
        if args.plot and n_bits == longest and seed == 0:
            curves[method] = (query, database)

    def log(message):
        done.append(message)
        print(f"[{len(done)}/{n_cells}] {message}", file=sys.stderr, flush=True)

    compiling = warm_up_in_background()  # overlaps the fits
    records = run_benchmark(
        data,
        args.methods,
        args.bits,
        seeds=args.seeds,
        top_k=args.top_k,
        device=args.device,
        log=log,
        on_codes=keep_codes,
        params=params,
    )
    if compiling is not None:
        compiling.wait()
    print(format_table(records, title=f"## {data['name']}"))
    if args.output:
        write_records(records, args.output)
        print(f"records written to {args.output}", file=sys.stderr)
    if args.plot:
        _plot_curves(curves, data, longest, args.plot)
    return 0


def _plot_curves(curves, data, n_bits, path):
    """PR (top) and precision@k (bottom) curves, image-to-text (left) and text-to-image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..benchmark import database_part
    from ..plotting import RetrievalCurveDisplay

    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    labels = data["labels_query"], database_part(data, "labels")
    for method, (query, database) in curves.items():
        for column, (q, db) in enumerate(((query[0], database[1]), (query[1], database[0]))):
            for row, kind in enumerate(("pr", "precision_at_k")):
                RetrievalCurveDisplay.from_codes(
                    q, db, *labels, kind=kind, name=method, ax=axes[row, column]
                )
    for column, title in enumerate(("image → text", "text → image")):
        axes[0, column].set_title(f"{data['name']}, {n_bits} bits: {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"curves written to {path}", file=sys.stderr)


# ---- fit ----


def add_fit(commands, common):
    command = _subcommand(
        commands,
        common,
        "fit",
        help="train one model and save it",
        description="Train one method on a dataset's training pairs and save the model.",
    )
    _add_training(command)
    command.add_argument("--method", required=True, choices=_methods())
    command.add_argument("--bits", type=positive_int, default=64, help="code length")
    command.add_argument("--seed", type=int, default=0, help="random_state")
    command.add_argument(
        "--output", required=True, help="model file: .skops (safe to share), .joblib or .pkl"
    )
    command.set_defaults(run=run_fit)


def run_fit(args):
    from ..benchmark import fit_method, load_benchmark_data

    check_output(args.output, MODEL_FILES, "--output")
    params = _method_params([args.method], args.settings, args.verbose)[args.method]
    _no_device([args.method], args.device)
    data = load_benchmark_data(args.data, n_query=args.n_query, n_train=args.n_train)
    estimator, seconds = fit_method(
        args.method, data, args.bits, args.seed, device=args.device, params=params
    )
    if "callbacks" in params:  # the progress bar served the fit; the file need not hold it
        estimator.set_params(callbacks=None)
    print(
        f"{args.method}: {args.bits} bits fitted on {len(data['X_image_train'])} pairs of "
        f"{data['name']} in {seconds:.1f}s",
        file=sys.stderr,
    )
    save_model(estimator, args.output)
    print(f"model written to {args.output}", file=sys.stderr)
    return 0


# ---- encode ----


def add_encode(commands, common):
    command = _subcommand(
        commands,
        common,
        "encode",
        help="encode a feature file to codes",
        description="Encode the rows of a feature file with a saved model, a batch at a time.",
    )
    command.add_argument(
        "--model",
        required=True,
        help=".skops (loaded with the library's trusted types) or .joblib/.pkl (load only files "
        "you trust: joblib runs code from the file)",
    )
    command.add_argument(
        "--input", required=True, help=".npy, or .mat with its variable as FILE.mat:NAME"
    )
    command.add_argument("--key", help="variable of a .mat input (or write FILE.mat:NAME)")
    command.add_argument("--view", choices=["image", "text"], default="image")
    command.add_argument(
        "--code-format", choices=["packed", "bits"], default="packed", help="format of the codes"
    )
    command.add_argument(
        "--output",
        required=True,
        help="codes file: .npz (the codes with their format and length, which index, search "
        "and evaluate read) or .npy (the array alone)",
    )
    command.set_defaults(run=run_encode)


def run_encode(args):
    check_input(args.model, MODEL_FILES, "--model")
    check_input(args.input, (".npy", ".mat"), "--input")
    check_output(args.output, (".npz", ".npy"), "--output")
    model = load_model(args.model)
    X = read_array(args.input, "--input", key=args.key)
    model.set_params(code_format=args.code_format)
    codes = model.transform(X) if args.view == "image" else model.transform_text(X)
    write_codes(args.output, codes, args.code_format, model.n_bits, view=args.view)
    print(
        f"{codes.shape[0]} {args.view} codes of {model.n_bits} bits ({args.code_format}) "
        f"written to {args.output}",
        file=sys.stderr,
    )
    return 0


# ---- index, search, evaluate ----


def _add_codes_format(command):
    command.add_argument(
        "--code-format",
        choices=CODE_FORMATS,
        default="packed",
        help="format of codes in .npy/.mat files (a .npz from xmh encode says its own)",
    )
    command.add_argument("--n-bits", type=positive_int, help="code length of packed .npy codes")


def add_index(commands, common):
    command = _subcommand(
        commands,
        common,
        "index",
        help="build a Hamming index over encoded codes",
        description="Build a HammingIndex over database codes and save it.",
    )
    command.add_argument("--codes", required=True, help="database codes: .npz, .npy or .mat:NAME")
    _add_codes_format(command)
    command.add_argument("--algorithm", choices=["auto", "brute", "mih"], default="auto")
    command.add_argument("--output", required=True, help="index file: .skops, .joblib or .pkl")
    command.set_defaults(run=run_index)


def _index(codes_spec, args):
    from ..neighbors import HammingIndex

    codes, code_format, n_bits = read_codes(codes_spec, args.code_format, args.n_bits)
    algorithm = getattr(args, "algorithm", "auto")
    with notice_if_slow(COMPILING, after=3.0):
        warm_up()
    return HammingIndex(algorithm=algorithm, code_format=code_format, n_bits=n_bits).fit(codes)


def run_index(args):
    check_input(args.codes, (".npz", ".npy", ".mat"), "--codes")
    check_output(args.output, MODEL_FILES, "--output")
    index = _index(args.codes, args)
    save_model(index, args.output)
    print(
        f"index of {index.n_samples_fit_} codes of {index.n_bits_} bits "
        f"({index.algorithm_}) written to {args.output}",
        file=sys.stderr,
    )
    return 0


def add_search(commands, common):
    command = _subcommand(
        commands,
        common,
        "search",
        help="find the nearest database codes of query codes",
        description="k-nearest-neighbour or radius search of query codes in an index.",
    )
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", help="an index saved by xmh index")
    where.add_argument("--database", help="database codes (.npz, .npy, .mat:NAME), indexed now")
    command.add_argument("--queries", required=True, help="query codes: .npz, .npy or .mat:NAME")
    _add_codes_format(command)
    how = command.add_mutually_exclusive_group()
    how.add_argument("--k", type=positive_int, default=10, help="neighbours per query")
    how.add_argument("--radius", type=int, help="every neighbour within this Hamming distance")
    command.add_argument(
        "--output",
        required=True,
        help="results: .npz (indices, distances; offsets for a radius search), or one "
        "query,rank,index,distance row per neighbour in .csv or .json",
    )
    command.set_defaults(run=run_search)


def run_search(args):
    check_input(args.queries, (".npz", ".npy", ".mat"), "--queries")
    check_output(args.output, (".npz", ".csv", ".json"), "--output")
    if args.radius is not None and args.radius < 0:
        raise UsageError(f"--radius must be at least 0, got {args.radius}.")
    if args.index:
        check_input(args.index, MODEL_FILES, "--index")
        index = load_model(args.index)
    else:
        check_input(args.database, (".npz", ".npy", ".mat"), "--database")
        index = _index(args.database, args)
    queries, code_format, n_bits = read_codes(args.queries, args.code_format, args.n_bits)
    if n_bits != index.n_bits_:
        raise ValueError(f"the queries have {n_bits} bits, the index {index.n_bits_}.")
    from ..utils._codes import convert_codes

    # The queries in the format the index declares for its codes and queries.
    target = index.code_format or "bits"
    queries = convert_codes(queries, target, from_format=code_format, n_bits=n_bits)
    with notice_if_slow(COMPILING, after=3.0):
        if args.radius is None:
            distances, indices = index.kneighbors(
                queries, n_neighbors=min(args.k, index.n_samples_fit_)
            )
        else:
            distances, indices = index.radius_neighbors(queries, radius=args.radius)
    write_neighbors(args.output, indices, distances)
    found = sum(len(row) for row in indices)
    print(f"{found} neighbours of {len(indices)} queries written to {args.output}", file=sys.stderr)
    return 0


def add_evaluate(commands, common):
    command = _subcommand(
        commands,
        common,
        "evaluate",
        help="score query codes against database codes",
        description="mAP and precision@k of query codes against database codes, an item being "
        "relevant when it shares a label with the query (its own pair without labels).",
    )
    command.add_argument("--queries", required=True, help="query codes: .npz, .npy or .mat:NAME")
    command.add_argument("--database", required=True, help="database codes, as --queries")
    _add_codes_format(command)
    command.add_argument("--query-labels", help="labels of the queries: .npy or .mat:NAME")
    command.add_argument("--database-labels", help="labels of the database: .npy or .mat:NAME")
    command.add_argument("--top-k", default="50", type=top_k, help="K of mAP@K, or 'all'")
    command.add_argument(
        "--precision-at", type=positive_ints, default=[10, 100], help="cut-offs of precision@k"
    )
    command.add_argument("--output", help="also write the scores as JSON")
    command.set_defaults(run=run_evaluate)


def run_evaluate(args):
    from ..metrics import mean_average_precision, precision_at_k

    for spec, name in ((args.queries, "--queries"), (args.database, "--database")):
        check_input(spec, (".npz", ".npy", ".mat"), name)
    if (args.query_labels is None) != (args.database_labels is None):
        raise UsageError("give both --query-labels and --database-labels, or neither.")
    labels = [None, None]
    for i, spec in enumerate((args.query_labels, args.database_labels)):
        if spec is not None:
            check_input(spec, (".npy", ".mat"), ("--query-labels", "--database-labels")[i])
            labels[i] = np.asarray(read_array(spec, "labels"))
            if labels[i].ndim == 2 and min(labels[i].shape) == 1:
                labels[i] = labels[i].ravel()
    if args.output:
        check_output(args.output, (".json",), "--output")
    query, query_format, n_bits = read_codes(args.queries, args.code_format, args.n_bits)
    database, database_format, db_bits = read_codes(args.database, args.code_format, args.n_bits)
    if n_bits != db_bits:
        raise ValueError(f"the queries have {n_bits} bits, the database {db_bits}.")
    from ..utils._codes import convert_codes

    query = convert_codes(query, "bits", from_format=query_format, n_bits=n_bits)
    database = convert_codes(database, "bits", from_format=database_format, n_bits=n_bits)
    start = time.perf_counter()
    with notice_if_slow(COMPILING, after=3.0):
        scores = {
            "mAP@all" if args.top_k is None else f"mAP@{args.top_k}": mean_average_precision(
                query, database, *labels, top_k=args.top_k
            ),
            **{
                f"P@{k}": float(p)
                for k, p in zip(
                    args.precision_at, precision_at_k(query, database, *labels, k=args.precision_at)
                )
            },
        }
    print(f"{len(query)} queries, {len(database)} database items, {n_bits} bits")
    print("| " + " | ".join(scores) + " |\n|" + "---|" * len(scores))
    print("| " + " | ".join(f"{value:.4f}" for value in scores.values()) + " |")
    print(f"scored in {time.perf_counter() - start:.2f}s", file=sys.stderr)
    if args.output:
        write_records([{"metric": k, "score": v} for k, v in scores.items()], args.output)
    return 0


# ---- warmup ----


def add_warmup(commands, common):
    command = _subcommand(
        commands,
        common,
        "warmup",
        help="compile the Hamming kernels now, once per environment",
        description="Compile the numba kernels of every metric and search into numba's cache, "
        "so that later commands start at once.",
    )
    command.set_defaults(run=run_warmup)


def run_warmup(args):
    with notice_if_slow(COMPILING, after=1.0):
        seconds = warm_up()
    print(f"the Hamming kernels are ready ({seconds:.1f}s)", file=sys.stderr)
    return 0


COMMANDS = (add_benchmark, add_fit, add_encode, add_index, add_search, add_evaluate, add_warmup)
