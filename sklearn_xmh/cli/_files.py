"""The command line's files: features and labels in, codes, models and results out.

Codes written by ``xmh encode`` to a ``.npz`` file carry their format and length with them, so
the commands that read them never guess; codes in a ``.npy`` file are read in the format the
caller declares (packed by default, as ``xmh encode`` writes them).
"""

import json
import os
import re
from pathlib import Path

import numpy as np

from ..utils._codes import CODE_FORMATS, check_codes
from ..utils._persistence import UntrustedTypesError, save_model
from ..utils._persistence import load_model as load_saved_model


class UsageError(ValueError):
    """A command-line argument that cannot work: reported with exit code 2, before any work."""


_MAT_KEY = re.compile(r"^(?P<path>.*\.mat):(?P<key>[^/\\:]+)$")


def split_key(spec):
    """``"file.mat:KEY"`` as ``(path, key)``; any other spec as ``(spec, None)``."""
    match = _MAT_KEY.match(str(spec))
    return (match["path"], match["key"]) if match else (str(spec), None)


def check_input(spec, suffixes, what):
    """The path of an input file that exists, with one of ``suffixes``."""
    path, _ = split_key(spec)
    if Path(path).suffix not in suffixes:
        raise UsageError(f"{what} must be a {' or '.join(suffixes)} file, got {path!r}.")
    if not Path(path).is_file():
        raise UsageError(f"{what} {path!r} does not exist (or is not a file).")
    return path


def check_output(path, suffixes, what):
    """An output path that can be written, checked before any work is done."""
    path = Path(path)
    if path.suffix not in suffixes:
        raise UsageError(f"{what} must end in {' or '.join(suffixes)}, got {str(path)!r}.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(
            f"cannot write {what} {str(path)!r}: the folder {str(folder)!r} does not exist."
        )
    if path.is_dir():
        raise UsageError(f"cannot write {what} {str(path)!r}: it is a folder.")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {what} {str(path)!r}: the folder is not writable.")
    return path


def read_array(spec, what, key=None):
    """An array from a ``.npy`` file (memory-mapped: read in batches) or a ``.mat`` variable."""
    path, spec_key = split_key(spec)
    key = spec_key or key
    if path.endswith(".npy"):
        return np.load(path, mmap_mode="r")
    from ..datasets._mat import read_mat

    variables = read_mat(path)
    if key is None:
        if len(variables) != 1:
            raise UsageError(
                f"{path} holds {sorted(variables)}: choose one as {path}:NAME (or --key NAME)."
            )
        (key,) = variables
    if key not in variables:
        raise UsageError(f"{path} has no variable {key!r}; found {sorted(variables)}.")
    return variables[key]


def read_codes(spec, code_format="packed", n_bits=None):
    """Codes and their length: a ``.npz`` from ``xmh encode`` says its own format; a ``.npy``
    or ``.mat`` array is read as ``code_format``. Returns ``(codes, code_format, n_bits)``."""
    path, _ = split_key(spec)
    if path.endswith(".npz"):
        with np.load(path) as archive:
            if "codes" not in archive:
                raise UsageError(f"{path} holds no codes; write codes with xmh encode.")
            return archive["codes"], str(archive["code_format"]), int(archive["n_bits"])
    codes = np.asarray(read_array(spec, "codes"))
    if code_format == "packed" and codes.dtype == np.uint8 and codes.size and codes.max() <= 1:
        raise UsageError(
            f"{path} holds only 0s and 1s, which look like bits rather than packed bytes; pass "
            "--code-format bits (or write the codes with xmh encode to a .npz file)."
        )
    _, length = check_codes(codes, code_format=code_format, n_bits=n_bits, name=f"codes of {path}")
    return codes, code_format, length


def write_codes(path, codes, code_format, n_bits, **meta):
    """Codes to exactly ``path``: a ``.npz`` with their format and length, or a ``.npy``."""
    with open(path, "wb") as stream:
        if str(path).endswith(".npz"):
            np.savez(stream, codes=codes, code_format=code_format, n_bits=n_bits, **meta)
        else:
            np.save(stream, codes)


def load_model(path):
    """A saved model or index (see :func:`~sklearn_xmh.utils._persistence.load_model`); a
    ``.skops`` file with types the library does not trust is a usage error."""
    try:
        return load_saved_model(path)
    except UntrustedTypesError as exc:
        raise UsageError(str(exc)) from None


def write_records(records, path):
    """Records as JSON ``{"results": [...]}``, or one CSV row each for a ``.csv`` path."""
    with open(path, "w", newline="") as stream:
        if str(path).endswith(".csv"):
            import csv

            writer = csv.DictWriter(stream, fieldnames=list(records[0]) if records else [])
            writer.writeheader()
            writer.writerows(records)
        else:
            json.dump({"results": records}, stream, indent=1)


def write_neighbors(path, indices, distances):
    """Search results: ``.npz`` (``indices``, ``distances``, and ``offsets`` for a radius
    search), or one ``query, rank, index, distance`` record per neighbour in CSV or JSON."""
    ragged = isinstance(indices, np.ndarray) and indices.dtype == object
    if str(path).endswith(".npz"):
        with open(path, "wb") as stream:
            if ragged:
                offsets = np.concatenate([[0], np.cumsum([len(row) for row in indices])])
                np.savez(
                    stream,
                    indices=np.concatenate(list(indices)) if len(indices) else np.zeros(0, int),
                    distances=np.concatenate(list(distances))
                    if len(distances)
                    else np.zeros(0, int),
                    offsets=offsets,
                )
            else:
                np.savez(stream, indices=indices, distances=distances)
        return
    records = [
        {"query": q, "rank": rank, "index": int(i), "distance": int(d)}
        for q, (row, dist) in enumerate(zip(indices, distances))
        for rank, (i, d) in enumerate(zip(row, dist))
    ]
    write_records(records, path)


__all__ = [
    "CODE_FORMATS",
    "UsageError",
    "check_input",
    "check_output",
    "load_model",
    "read_array",
    "read_codes",
    "save_model",
    "split_key",
    "write_codes",
    "write_neighbors",
    "write_records",
]
