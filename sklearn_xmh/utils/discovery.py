"""The registry of the library's hashers, keyed by their command-line names."""

from importlib import import_module

# Each hasher by its command-line name, as "module:class". The classes are imported when asked
# for, as scikit-learn's discovery does: utilities never import the estimators built on them.
_HASHERS = {
    "cca-itq": "sklearn_xmh.baselines:CCAITQHasher",
    "chn": "sklearn_xmh.chn:CHNHasher",
    "dbrc": "sklearn_xmh.dbrc:DBRCHasher",
    "djsrh": "sklearn_xmh.djsrh:DJSRHHasher",
    "ugach": "sklearn_xmh.ugach:UGACHHasher",
}


def all_estimators():
    """Return the public hashers as ``(name, class)`` pairs, sorted by name.

    The names are the ones the ``xmh`` command line accepts in ``--methods``.

    Returns
    -------
    estimators : list of (str, type)

    Examples
    --------
    >>> from sklearn_xmh import all_estimators
    >>> [name for name, _ in all_estimators()]
    ['cca-itq', 'chn', 'dbrc', 'djsrh', 'ugach']
    """
    estimators = []
    for name, path in sorted(_HASHERS.items()):
        module, cls = path.split(":")
        estimators.append((name, getattr(import_module(module), cls)))
    return estimators
