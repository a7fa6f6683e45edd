"""Scale: every method on NUS-WIDE-shaped synthetic data, dense and sparse text.

186,577 pairs (NUS-WIDE's size), a 500-d dense image view, and the text view either as 1,000-d
dense features or as a 20,000-word sparse bag of words (20 words per text); 81 concepts, 1 to 3
per pair. For each method and text kind, one process (so that its peak memory is its own):

- the time of one training epoch (``max_epochs=1``; UGACH's graph is timed on its own);
- the peak resident memory during ``fit``, above what the process held before it, against the
  size of the input views;
- encoding 1,000,000 further items of each view, and mAP@all of 2,000 image queries against
  the 1,000,000 encoded texts (labels shared), with the library's Hamming engine.

Run::

    python benchmarks/bench_scale.py --save scale.jsonl  # every method, both texts
    python benchmarks/bench_scale.py --methods djsrh --text sparse --n-samples 50000 \
        --no-encode
    python benchmarks/bench_scale.py --methods djsrh --text floor --n-samples 50000 \
        --no-encode                                      # the epoch without a text layer
    python benchmarks/bench_scale.py --graph-recall      # UGACH's graph: exact vs nndescent
    python benchmarks/bench_scale.py --merge scale.jsonl # the markdown table

Each case prints one JSON line (also appended to ``--save``).
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from scipy import sparse

N_PAIRS = 186_577
N_CLASSES = 81
N_WORDS = 20_000
WORDS_PER_TEXT = 20


def make_nuswide_like(n_samples, text="dense", *, random_state=0, offset=0):
    """NUS-WIDE-shaped pairs: ``(X_image, X_text, labels)``, float32, labels multi-hot (n, 81).

    A pair draws 1 to 3 of 81 concepts; its 64-d latent vector is the mean of their prototypes
    plus noise. The image view is ``tanh`` of a random map of it plus noise (500-d). A dense text
    is ``softplus`` of another map plus noise (1,000-d); a sparse text draws 20 words, 70% from
    the vocabulary of its concepts (300 favoured words each) and 30% uniformly from 20,000.
    Rows ``offset ...`` of one infinite stream, so that a database continues the training set.
    ``text="floor"`` gives a one-feature text view instead, to time the rest of an epoch.
    """
    model = np.random.default_rng(random_state)
    prototypes = model.standard_normal((N_CLASSES, 64)).astype(np.float32)
    to_image = (model.standard_normal((64, 500)) / 8).astype(np.float32)
    to_text = (model.standard_normal((64, 1000)) / 8).astype(np.float32)
    vocabulary = model.integers(0, N_WORDS, size=(N_CLASSES, 300))
    rng = np.random.default_rng([random_state, offset])
    n_labels = rng.integers(1, 4, size=n_samples)
    labels = np.zeros((n_samples, N_CLASSES), dtype=np.float32)
    picks = rng.integers(0, N_CLASSES, size=(n_samples, 3))
    for j in range(3):
        chosen = j < n_labels
        labels[np.flatnonzero(chosen), picks[chosen, j]] = 1
    latent = labels @ prototypes / labels.sum(1, keepdims=True)
    latent += 0.5 * rng.standard_normal(latent.shape, dtype=np.float32)
    X_image = np.tanh(latent @ to_image) + 0.3 * rng.standard_normal(
        (n_samples, 500), dtype=np.float32
    )
    if text == "dense":
        X_text = np.logaddexp(0, latent @ to_text) + 0.3 * rng.standard_normal(
            (n_samples, 1000), dtype=np.float32
        )
        return X_image.astype(np.float32), X_text.astype(np.float32), labels
    if text == "floor":
        # One text feature: the epoch then costs everything but the text's first layer, a floor
        # under what any sparse first layer can reach.
        return X_image.astype(np.float32), latent[:, :1].copy(), labels
    concept = picks[
        np.arange(n_samples)[:, None], rng.integers(0, n_labels[:, None], (n_samples, 1))
    ]
    topical = vocabulary[concept, rng.integers(0, 300, size=(n_samples, WORDS_PER_TEXT))]
    uniform = rng.integers(0, N_WORDS, size=(n_samples, WORDS_PER_TEXT))
    words = np.where(rng.random((n_samples, WORDS_PER_TEXT)) < 0.7, topical, uniform)
    rows = np.repeat(np.arange(n_samples), WORDS_PER_TEXT)
    X_text = sparse.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, words.ravel())), shape=(n_samples, N_WORDS)
    )
    X_text.sum_duplicates()
    return X_image.astype(np.float32), X_text, labels


def nbytes(X):
    if sparse.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


class PeakMemory:
    """Peak resident memory of this process while the block runs, sampled every 20 ms."""

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def __enter__(self):
        self.before = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def estimator(method, n_bits, graph_algorithm):
    from sklearn_xmh import CCAITQHasher, CHNHasher, DBRCHasher, DJSRHHasher, UGACHHasher

    one_epoch = {"max_epochs": 1, "random_state": 0}
    return {
        "cca-itq": lambda: CCAITQHasher(n_bits, random_state=0),
        "dbrc": lambda: DBRCHasher(n_bits, **one_epoch),
        "djsrh": lambda: DJSRHHasher(n_bits, **one_epoch),
        "ugach": lambda: UGACHHasher(
            n_bits, pretrain_epochs=1, graph_algorithm=graph_algorithm, **one_epoch
        ),
        "chn": lambda: CHNHasher(n_bits, **one_epoch),
    }[method]()


def run_case(method, text, n_samples, n_bits, encode, graph_algorithm, text_preprocessor):
    import torch

    from sklearn_xmh.metrics import mean_average_precision
    from sklearn_xmh.nn import ugach as ugach_net

    X_image, X_text, labels = make_nuswide_like(n_samples, text)
    record = {
        "method": method,
        "text": text,
        "n_samples": n_samples,
        "n_bits": n_bits,
        "threads": torch.get_num_threads(),
        "input_mb": (nbytes(X_image) + nbytes(X_text)) / 2**20,
    }
    graph_seconds = []
    build_graph = ugach_net.correlation_graph

    def timed_graph(*args, **kwargs):
        start = time.perf_counter()
        try:
            return build_graph(*args, **kwargs)
        finally:
            graph_seconds.append(time.perf_counter() - start)

    ugach_net.correlation_graph = timed_graph
    hasher = estimator(method, n_bits, graph_algorithm)
    if text_preprocessor == "maxabs":
        from sklearn.preprocessing import MaxAbsScaler

        hasher.set_params(text_preprocessor=MaxAbsScaler())
    with PeakMemory() as memory:
        start = time.perf_counter()
        hasher.fit(X_image, X_text, labels=labels)
        record["fit_s"] = time.perf_counter() - start
    record["peak_extra_mb"] = (memory.peak - memory.before) / 2**20
    record["peak_total_mb"] = memory.peak / 2**20
    if graph_seconds:
        record["graph_s"] = graph_seconds[0]
        record["graph_algorithm"] = graph_algorithm
    record["epoch_s"] = record["fit_s"] - sum(graph_seconds)
    if encode:
        del X_image, X_text
        image_s = text_s = 0.0
        codes_text, queries, query_labels, db_labels = [], None, None, []
        for block in range(10):
            Xi, Xt, lab = make_nuswide_like(100_000, text, offset=1 + block)
            start = time.perf_counter()
            codes_image = hasher.transform(Xi)
            image_s += time.perf_counter() - start
            start = time.perf_counter()
            codes_text.append(hasher.transform_text(Xt))
            text_s += time.perf_counter() - start
            db_labels.append(lab)
            if queries is None:
                queries, query_labels = codes_image[:2000], lab[:2000]
        codes_text, db_labels = np.concatenate(codes_text), np.concatenate(db_labels)
        record["encode_image_s"], record["encode_text_s"] = image_s, text_s
        start = time.perf_counter()
        record["map_i2t_1m"] = float(
            mean_average_precision(queries, codes_text, query_labels, db_labels)
        )
        record["eval_s"] = time.perf_counter() - start
    return record


def graph_recall(n_samples, text, n_queries=2000, k=5, views=("image", "text")):
    """UGACH's per-view graph: nndescent's time and its recall@k against the exact search on
    ``n_queries`` random items; the exact search's time measured on those queries, scaled."""
    from sklearn.neighbors import NearestNeighbors
    from sklearn.preprocessing import StandardScaler

    from sklearn_xmh.neighbors._graph import _nndescent_with_self

    X_image, X_text, _ = make_nuswide_like(n_samples, text)
    records = []
    for view, X in (("image", X_image), ("text", X_text)):
        if view not in views:
            continue
        X = StandardScaler(with_mean=not sparse.issparse(X)).fit_transform(X).astype(np.float32)
        start = time.perf_counter()
        approx = _nndescent_with_self(X, k, random_state=0)
        approx_s = time.perf_counter() - start
        rows = np.random.default_rng(0).choice(n_samples, n_queries, replace=False)
        start = time.perf_counter()
        exact = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X[rows], return_distance=False)
        exact_s = (time.perf_counter() - start) * n_samples / n_queries
        recall = np.mean([len(set(a) & set(e)) / k for a, e in zip(approx[rows], exact)])
        records.append(
            {
                "graph_view": f"{view} ({text})",
                "n_samples": n_samples,
                "k": k,
                "nndescent_s": approx_s,
                "exact_s_estimated": exact_s,
                "recall": float(recall),
            }
        )
    return records


def report(records):
    lines = [
        "| method | text | pairs | fit s (one epoch) | graph s | peak extra MB | input MB | "
        "extra / input | encode 1M image + text s | mAP@all I→T, 2,000 q × 1M |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if "method" not in r:
            continue
        graph = f"{r['graph_s']:.0f} ({r['graph_algorithm']})" if "graph_s" in r else "—"
        encode = (
            f"{r['encode_image_s']:.0f} + {r['encode_text_s']:.0f}"
            if "encode_image_s" in r
            else "—"
        )
        quality = f"{r['map_i2t_1m']:.3f} ({r['eval_s']:.0f} s)" if "map_i2t_1m" in r else "—"
        lines.append(
            f"| {r['method']} | {r['text']} | {r['n_samples']:,} | {r['epoch_s']:.0f} | {graph} | "
            f"{r['peak_extra_mb']:,.0f} | {r['input_mb']:,.0f} | "
            f"{r['peak_extra_mb'] / r['input_mb']:.2f} | {encode} | {quality} |"
        )
    graphs = [r for r in records if "graph_view" in r]
    if graphs:
        lines += [
            "",
            "| graph view | items | k | nndescent s | exact s (est.) | recall@k |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['graph_view']} | {r['n_samples']:,} | {r['k']} | {r['nndescent_s']:.0f} | "
            f"{r['exact_s_estimated']:.0f} | {r['recall']:.3f} |"
            for r in graphs
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="cca-itq,dbrc,djsrh,ugach,chn")
    parser.add_argument("--text", default="dense,sparse")
    parser.add_argument("--n-samples", type=int, default=N_PAIRS)
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--no-encode", action="store_true", help="skip the 1M encode and eval")
    parser.add_argument("--graph-algorithm", default="nndescent", help="UGACH's graph search")
    parser.add_argument("--text-preprocessor", default="default", choices=["default", "maxabs"])
    parser.add_argument("--graph-recall", action="store_true")
    parser.add_argument("--save", help="append each record (a JSON line) to this file")
    parser.add_argument("--merge", nargs="+", help="report the records of these files")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # method:text, run in this process
    args = parser.parse_args(argv)

    if args.merge:
        records = [
            json.loads(line)
            for path in args.merge
            for line in Path(path).read_text().split("\n")
            if line
        ]
        print(report(records))
        return
    if args.case:
        method, text = args.case.split(":")
        record = run_case(
            method,
            text,
            args.n_samples,
            args.bits,
            not args.no_encode,
            args.graph_algorithm,
            args.text_preprocessor,
        )
        print(json.dumps(record), flush=True)
        return
    if args.graph_recall:
        records = [
            r
            for i, text in enumerate(args.text.split(","))
            for r in graph_recall(
                args.n_samples, text, views=("image", "text") if i == 0 else ("text",)
            )
        ]
    else:
        records = []
        for method in args.methods.split(","):
            for text in args.text.split(","):
                command = [sys.executable, __file__, "--case", f"{method}:{text}"]
                command += ["--n-samples", str(args.n_samples), "--bits", str(args.bits)]
                command += ["--graph-algorithm", args.graph_algorithm]
                command += ["--text-preprocessor", args.text_preprocessor]
                command += ["--no-encode"] if args.no_encode else []
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode:
                    print(f"{method} / {text} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                    continue
                records.append(json.loads(done.stdout.strip().split("\n")[-1]))
                print(json.dumps(records[-1]), flush=True)
                if args.save:
                    with open(args.save, "a") as f:
                        f.write(json.dumps(records[-1]) + "\n")
    if args.graph_recall and args.save:
        with open(args.save, "a") as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))
    print(report(records))


if __name__ == "__main__":
    main()
