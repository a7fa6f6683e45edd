"""The ``xmh`` subcommands over codes: ``index``, ``search``, ``evaluate`` and ``warmup``; for
each, one function that adds its parser and one that runs it."""

import sys
import time

import numpy as np

from ._files import (
    UsageError,
    check_input,
    check_output,
    load_model,
    read_array,
    read_codes,
    save_model,
    write_neighbors,
    write_records,
)
from ._options import (
    MODEL_FILES,
    add_codes_format_options,
    positive_int,
    positive_ints,
    subcommand,
    top_k,
)
from ._warmup import COMPILING, notice_if_slow, warm_up


def add_index(commands, common):
    command = subcommand(
        commands,
        common,
        "index",
        help="build a Hamming index over encoded codes",
        description="Build a HammingIndex over database codes and save it.",
    )
    command.add_argument("--codes", required=True, help="database codes: .npz, .npy or .mat:NAME")
    add_codes_format_options(command)
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
    command = subcommand(
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
    add_codes_format_options(command)
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
    command = subcommand(
        commands,
        common,
        "evaluate",
        help="score query codes against database codes",
        description="mAP and precision@k of query codes against database codes, an item being "
        "relevant when it shares a label with the query (its own pair without labels).",
    )
    command.add_argument("--queries", required=True, help="query codes: .npz, .npy or .mat:NAME")
    command.add_argument("--database", required=True, help="database codes, as --queries")
    add_codes_format_options(command)
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
    command = subcommand(
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


COMMANDS = (add_index, add_search, add_evaluate, add_warmup)
