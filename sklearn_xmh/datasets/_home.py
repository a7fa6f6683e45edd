"""Where the public releases live on this machine, and the short names of the ones the library
knows (``"wiki"``, ``"uci"``, ``"uci-pixels"``)."""

import os
from pathlib import Path

from sklearn.utils._param_validation import validate_params

# name: (file in the data folder, image view, text view)
SHORTHANDS = {
    "wiki": ("wiki/wikiData.mat", "I", "T"),
    "uci": ("uci_multifeature/uci_all.mat", "I", "T"),
    "uci-pixels": ("uci_multifeature/uci_all.mat", "P", "T"),
}


@validate_params({"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True)
def get_data_home(data_home=None):
    """The folder that holds the public releases: ``data_home``, else the ``XMH_DATA``
    environment variable, else ``~/xmh_data``.

    It holds them as the releases come: ``wiki/wikiData.mat``,
    ``uci_multifeature/uci_all.mat``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder; None reads ``XMH_DATA``.

    Returns
    -------
    data_home : pathlib.Path

    Examples
    --------
    >>> from sklearn_xmh.datasets import get_data_home
    >>> get_data_home("/data/xmh").as_posix()
    '/data/xmh'
    """
    if data_home is None:
        data_home = os.environ.get("XMH_DATA", Path("~") / "xmh_data")
    return Path(data_home).expanduser()


def resolve_shorthand(name, data_home=None):
    """``(path, image_view, text_view)`` of a short data name, or None for any other name.

    Raises
    ------
    FileNotFoundError
        When the data folder does not hold the name's file.
    """
    if name not in SHORTHANDS:
        return None
    relative, image_view, text_view = SHORTHANDS[name]
    home = get_data_home(data_home)
    path = home / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"'{name}' is the file {relative} of the data folder {home}, which does not hold it: "
            "put it there, set XMH_DATA to the folder that does, or pass the file's path."
        )
    return path, image_view, text_view
