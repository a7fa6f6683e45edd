"""The registry of the library's hashers, keyed by their command-line names."""


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
    from ..baselines import CCAITQHasher
    from ..chn import CHNHasher
    from ..dbrc import DBRCHasher
    from ..djsrh import DJSRHHasher
    from ..ugach import UGACHHasher

    return sorted(
        {
            "cca-itq": CCAITQHasher,
            "chn": CHNHasher,
            "dbrc": DBRCHasher,
            "djsrh": DJSRHHasher,
            "ugach": UGACHHasher,
        }.items()
    )
