"""Conversions between the three binary code formats.

Every consumer of codes (estimators, metrics, the index, the scorers) goes through this module, so a
code is the same code whatever format it arrives in:

- ``"bits"``: ``uint8`` values in {0, 1}, shape ``(n, n_bits)``;
- ``"signed"``: ``float32`` values in {-1, +1}, shape ``(n, n_bits)``;
- ``"packed"``: :func:`numpy.packbits` rows, ``uint8``, shape ``(n, ceil(n_bits / 8))``.

Bit ``1`` corresponds to sign ``+1``, and a pre-binarisation value of exactly 0 maps to ``+1``.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

CODE_FORMATS = ("bits", "signed", "packed")


def binarize(values, code_format="bits"):
    """Turn real-valued pre-binarisation outputs into codes of ``code_format``.

    Parameters
    ----------
    values : array-like of shape (n_samples, n_bits)
        Real-valued outputs of a hash layer. Values ``>= 0`` become bit 1 (sign +1).
    code_format : {"bits", "signed", "packed"}, default="bits"
        The format of the returned codes.

    Returns
    -------
    codes : ndarray
        The codes in ``code_format``.
    """
    bits = (np.asarray(values) >= 0).astype(np.uint8)
    return convert_codes(bits, code_format, from_format="bits")


def infer_code_format(codes, n_bits=None):
    """The format of ``codes``, from their dtype and shape alone (never from their values, so
    that a stray value cannot change how an array is read).

    - a floating array is ``"signed"`` (it must hold -1 and +1);
    - a ``uint8`` array exactly ``ceil(n_bits / 8)`` wide, when ``n_bits`` is known and differs
      from that width, is ``"packed"``;
    - any other boolean or integer array is ``"bits"`` (it must hold 0 and 1).

    Packed codes whose width does not tell them apart (``n_bits`` unknown, or equal widths on
    both sides of a comparison) must be declared with ``code_format="packed"``.
    """
    codes = np.asarray(codes)
    kind = codes.dtype.kind
    if kind == "f":
        return "signed"
    if kind not in "biu":
        raise ValueError(
            f"Cannot interpret an array of dtype {codes.dtype} as binary codes; expected uint8 "
            "bits or packed bytes, or float32 signed codes."
        )
    if (
        codes.dtype == np.uint8
        and n_bits is not None
        and codes.ndim == 2
        and codes.shape[1] == -(-n_bits // 8) != n_bits
    ):
        return "packed"
    return "bits"


def _check_values(codes, bad, rule, hint):
    """Raise naming the first value that breaks ``rule`` (where ``bad`` is True), and a hint."""
    if bad.any():
        row, column = np.unravel_index(int(np.argmax(bad)), bad.shape)
        value = codes[row, column].item()
        raise ValueError(f"{rule}; found {value!r} at row {row}, column {column}. {hint}")


def check_codes(codes, *, code_format=None, n_bits=None, name="codes"):
    """Validate binary codes and return them as ``(bits, n_bits)``.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_bits) or (n_samples, n_bytes)
        Codes in any of the three formats.
    code_format : {"bits", "signed", "packed"} or None, default=None
        The format of ``codes``; ``None`` reads it from the dtype and shape
        (:func:`infer_code_format`).
    n_bits : int or None, default=None
        The code length. Required to unpack ``"packed"`` codes whose length is not a multiple of 8.
    name : str, default="codes"
        How error messages refer to ``codes``.

    Returns
    -------
    bits : ndarray of shape (n_samples, n_bits), dtype uint8
    n_bits : int
    """
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {codes.shape}.")
    if codes.shape[1] == 0:
        raise ValueError(f"{name} have no bits: got shape {codes.shape}.")
    fmt = infer_code_format(codes, n_bits) if code_format is None else code_format
    if fmt not in CODE_FORMATS:
        raise ValueError(f"code_format must be one of {CODE_FORMATS}, got {fmt!r}.")
    if fmt == "packed":
        if codes.dtype != np.uint8:
            raise ValueError(f"Packed {name} must have dtype uint8, got {codes.dtype}.")
        width = codes.shape[1] * 8 if n_bits is None else n_bits
        if not 0 < width <= codes.shape[1] * 8 or -(-width // 8) != codes.shape[1]:
            raise ValueError(
                f"Packed {name} have {codes.shape[1]} bytes per row, which cannot hold "
                f"n_bits={width}."
            )
        return np.unpackbits(codes, axis=1, count=width), width
    if fmt == "signed":
        _check_values(
            codes,
            np.abs(codes) != 1,
            f"Signed {name} must hold only -1 and +1",
            "Floating codes are read as signed: pass bits as uint8.",
        )
        bits = (codes > 0).astype(np.uint8)
    else:
        _check_values(
            codes,
            (codes != 0) & (codes != 1),
            f"Bit {name} must hold only 0 and 1",
            "Packed codes (np.packbits rows) must be declared: code_format='packed'.",
        )
        bits = codes.astype(np.uint8, copy=False)
    if n_bits is not None and bits.shape[1] != n_bits:
        raise ValueError(f"{name} have {bits.shape[1]} bits, expected n_bits={n_bits}.")
    return bits, bits.shape[1]


@validate_params(
    {
        "codes": ["array-like"],
        "to": [StrOptions({"bits", "signed", "packed"})],
        "from_format": [StrOptions({"bits", "signed", "packed"}), None],
        "n_bits": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def convert_codes(codes, to, *, from_format=None, n_bits=None):
    """Convert ``codes`` to the format ``to``.

    Parameters
    ----------
    codes : array-like
        Codes in any of the three formats.
    to : {"bits", "signed", "packed"}
        The target format.
    from_format : {"bits", "signed", "packed"} or None, default=None
        The format of ``codes``; ``None`` reads it from their dtype and shape: floating codes
        are signed, and integer ones bits unless ``n_bits`` says they are packed (see
        :func:`~sklearn_xmh.utils._codes.infer_code_format`).
    n_bits : int or None, default=None
        The code length, needed to unpack packed codes whose length is not a multiple of 8.

    Returns
    -------
    codes : ndarray
        The same codes in format ``to``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh import convert_codes
    >>> bits = np.array([[1, 0, 1, 1, 0, 0, 0, 0, 1]], dtype=np.uint8)
    >>> convert_codes(bits, "packed")
    array([[176, 128]], dtype=uint8)
    >>> convert_codes(bits, "signed")[0, :3]
    array([ 1., -1.,  1.], dtype=float32)
    """
    bits, _ = check_codes(codes, code_format=from_format, n_bits=n_bits)
    if to == "bits":
        return bits
    if to == "signed":
        return bits.astype(np.float32) * 2 - 1
    return np.packbits(bits, axis=1)


def check_packed(codes, *, code_format=None, n_bits=None, name="codes"):
    """Validate binary codes and return them packed, as ``(packed, n_bits)``.

    Packed input is checked and kept as it is (its padding bits cleared if any are set), never
    unpacked: a database of millions of packed codes costs no more than its own bytes.

    Returns
    -------
    packed : ndarray of shape (n_samples, ceil(n_bits / 8)), dtype uint8
    n_bits : int
    """
    codes = np.asarray(codes)
    fmt = (
        infer_code_format(codes, n_bits) if code_format is None and codes.ndim == 2 else code_format
    )
    if fmt != "packed" or codes.ndim != 2 or codes.dtype != np.uint8:
        bits, n_bits = check_codes(codes, code_format=code_format, n_bits=n_bits, name=name)
        return np.packbits(bits, axis=1), n_bits
    width = codes.shape[1] * 8 if n_bits is None else n_bits
    if not 0 < width <= codes.shape[1] * 8 or -(-width // 8) != codes.shape[1]:
        raise ValueError(
            f"Packed {name} have {codes.shape[1]} bytes per row, which cannot hold n_bits={width}."
        )
    codes = np.ascontiguousarray(codes)
    padding = np.uint8((1 << (8 * codes.shape[1] - width)) - 1)
    if padding and np.any(codes[:, -1] & padding):
        codes = codes.copy()
        codes[:, -1] &= ~padding
    return codes, width
