"""Signed versions of a split: each view PCA-projected and centred, as embeddings come."""

from numbers import Real

from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {"data": [dict], "variance": [Interval(Real, 0, 1, closed="right")]},
    prefer_skip_nested_validation=True,
)
def pca_views(data, *, variance=0.99):
    """A split whose views are PCA projections of the original ones: centred and signed.

    Users feed signed embeddings (centred, PCA-projected, CLIP-like) as often as non-negative
    histograms. This turns a split of the ``load_mat_dataset`` layout into such a pairing:
    each view is projected on the principal components of its *training* rows that explain
    ``variance`` of their variance, and the query rows go through the same projection. About
    half of every view's entries become negative.

    Parameters
    ----------
    data : Bunch or dict
        ``X_image_train``, ``X_text_train``, ``X_image_query``, ``X_text_query`` and the labels,
        as :func:`load_mat_dataset` returns for a split layout.
    variance : float, default=0.99
        Share of each view's training variance the kept components explain (the components
        of near-zero variance, such as the one lost to topic proportions summing to 1, go).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        The same keys, the views projected (float32), and ``name`` ending in ``-signed``.

    Examples
    --------
    >>> from sklearn_xmh.datasets import make_cross_modal, pca_views
    >>> d = make_cross_modal(n_samples=300, random_state=0)
    >>> split = dict(X_image_train=d.X_image[:200], X_text_train=d.X_text[:200],
    ...              X_image_query=d.X_image[200:], X_text_query=d.X_text[200:],
    ...              labels_train=d.labels[:200], labels_query=d.labels[200:], name="toy")
    >>> signed = pca_views(split)
    >>> bool(abs(signed.X_image_train.mean(axis=0)).max() < 1e-4), signed.name
    (True, 'toy-signed')
    """
    import numpy as np
    from sklearn.decomposition import PCA

    out = Bunch(**data)
    for view in ("image", "text"):
        pca = PCA(n_components=variance, svd_solver="full").fit(data[f"X_{view}_train"])
        for part in ("train", "query"):
            out[f"X_{view}_{part}"] = pca.transform(data[f"X_{view}_{part}"]).astype(np.float32)
    out.name = f"{data.get('name', 'data')}-signed"
    return out
