"""The DCMH protocol's seeded split into queries, a retrieval database and training pairs."""

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "data": [dict],
        "n_query": [Interval(Integral, 1, None, closed="left")],
        "n_train": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def split_query_database(data, *, n_query=2000, n_train=10000, random_state=None):
    """Split a DCMH-layout dataset into queries, a retrieval database and a training set.

    The DCMH protocol on MIRFlickr-25K and NUS-WIDE: ``n_query`` random pairs are the queries,
    all the others form the database, and the training pairs are ``n_train`` random pairs drawn
    from the database.

    Parameters
    ----------
    data : Bunch or dict
        ``X_image``, ``X_text`` and ``labels`` of the same length, as
        :func:`load_mat_dataset` returns for the DCMH layout.
    n_query : int, default=2000
        Number of queries.
    n_train : int or None, default=10000
        Number of training pairs drawn from the database; None takes the whole database.
    random_state : int, RandomState instance or None, default=None
        Seeds the split.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        ``X_image_{part}``, ``X_text_{part}``, ``labels_{part}`` and ``index_{part}`` (rows of
        ``data``) for each part in ``query``, ``database`` and ``train``, and ``name``.

    Examples
    --------
    >>> from sklearn_xmh.datasets import make_cross_modal, split_query_database
    >>> data = make_cross_modal(n_samples=500, random_state=0)
    >>> split = split_query_database(data, n_query=100, n_train=200, random_state=0)
    >>> split.X_image_query.shape[0], split.X_image_database.shape[0], split.X_text_train.shape[0]
    (100, 400, 200)
    """
    missing = [key for key in ("X_image", "X_text", "labels") if key not in data]
    if missing:
        raise ValueError(
            f"data must hold X_image, X_text and labels (a DCMH layout from load_mat_dataset); "
            f"missing {missing}, found {sorted(data)}."
        )
    n_samples = len(data["labels"])
    lengths = {key: len(data[key]) for key in ("X_image", "X_text", "labels")}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"X_image, X_text and labels must have the same length, got {lengths}.")
    if n_query >= n_samples:
        raise ValueError(f"n_query={n_query} leaves no database: the data has {n_samples} pairs.")
    n_database = n_samples - n_query
    if n_train is not None and n_train > n_database:
        raise ValueError(
            f"n_train={n_train} is larger than the database ({n_database} pairs after "
            f"{n_query} queries); pass a smaller n_train, or None for the whole database."
        )
    rng = check_random_state(random_state)
    order = rng.permutation(n_samples)
    index = {"query": np.sort(order[:n_query]), "database": np.sort(order[n_query:])}
    train = (
        index["database"]
        if n_train is None
        else rng.choice(index["database"], size=n_train, replace=False)
    )
    index["train"] = np.sort(train)
    split = Bunch(name=data.get("name", "data"))
    for part, rows in index.items():
        split[f"index_{part}"] = rows
        for key in ("X_image", "X_text", "labels"):
            split[f"{key}_{part}"] = np.asarray(data[key])[rows]
    return split
