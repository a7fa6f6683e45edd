"""The ``xmh`` subcommands that train: ``benchmark``, ``fit`` and ``encode`` (with a saved
model); for each, one function that adds its parser and one that runs it."""

import sys

from ._files import (
    check_input,
    check_output,
    load_model,
    read_array,
    save_model,
    write_codes,
    write_records,
)
from ._options import (
    MODEL_FILES,
    add_training_options,
    method_list,
    method_names,
    method_params,
    positive_int,
    positive_ints,
    say_no_device,
    subcommand,
    top_k,
)
from ._warmup import warm_up_in_background

# ---- benchmark ----


def add_benchmark(commands, common):
    names = method_names()
    command = subcommand(
        commands,
        common,
        "benchmark",
        help="print a paper-style mAP table",
        description="Fit every method at every code length and seed on a dataset's training "
        "pairs, and print image-to-text and text-to-image mAP of its queries.",
    )
    add_training_options(command)
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
    params = method_params(args.methods, args.settings, args.verbose)
    say_no_device(args.methods, args.device)
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
    """The benchmark's curves of the longest code, written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from ..benchmark import database_part
    from ..plotting import benchmark_curves_figure

    labels = data["labels_query"], database_part(data, "labels")
    fig = benchmark_curves_figure(curves, *labels, title=f"{data['name']}, {n_bits} bits")
    fig.savefig(path, dpi=120)
    print(f"curves written to {path}", file=sys.stderr)


# ---- fit ----


def add_fit(commands, common):
    command = subcommand(
        commands,
        common,
        "fit",
        help="train one model and save it",
        description="Train one method on a dataset's training pairs and save the model.",
    )
    add_training_options(command)
    command.add_argument("--method", required=True, choices=method_names())
    command.add_argument("--bits", type=positive_int, default=64, help="code length")
    command.add_argument("--seed", type=int, default=0, help="random_state")
    command.add_argument(
        "--output", required=True, help="model file: .skops (safe to share), .joblib or .pkl"
    )
    command.set_defaults(run=run_fit)


def run_fit(args):
    from ..benchmark import fit_method, load_benchmark_data

    check_output(args.output, MODEL_FILES, "--output")
    params = method_params([args.method], args.settings, args.verbose)[args.method]
    say_no_device([args.method], args.device)
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
    command = subcommand(
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


COMMANDS = (add_benchmark, add_fit, add_encode)
