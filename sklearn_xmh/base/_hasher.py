"""The base class of every hasher: two views in, one Hamming space out.

:class:`BaseCrossModalHasher` owns validation of the two views, per-view preprocessing, the
standalone encoders, ``transform`` / ``transform_text`` / ``score``, the constraints of the
parameters every hasher shares, and the tags (supervision is ``hasher_tags.supervised``).

Hooks, called in this order by :meth:`BaseCrossModalHasher.fit`, each with what it decides on:

- ``_check_params()``: checks of the parameters that constraints cannot state;
- ``_prepare_labels(labels, n_samples)``: the labels training receives (None for unsupervised
  methods, which never see them);
- ``_check_training_views(image, text)``: method-specific checks of the training views;
- ``_training_inputs(X, y)``: further inputs a loss reads (DJSRH's affinity features);
- ``_training_device()``: where the towers train and encode (the CPU for a linear method);
- ``_fit_towers(image, text, labels, random_state, device=device, **inputs)``: learn the two
  hash functions.
"""

import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import partial
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Tags, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._encoders import ModalityEncoder, fit_preprocessor, make_preprocessor
from ..utils._codes import CODE_FORMATS
from ..utils._validation import check_int_parameters, check_labels
from ..utils._views import TrainingView, is_sparse, read_block, validate_view, validate_views


@dataclass(slots=True)
class HasherTags:
    """The tags of a cross-modal hasher.

    Parameters
    ----------
    supervised : bool, default=False
        Whether ``fit`` requires ``labels`` (routed as metadata); an unsupervised hasher
        never sees them.
    """

    supervised: bool = False


@dataclass(slots=True)
class CrossModalTags(Tags):
    """scikit-learn's :class:`~sklearn.utils.Tags` with the hasher's own, ``hasher_tags``."""

    hasher_tags: HasherTags = field(default_factory=HasherTags)


@contextmanager
def restored_on_error(estimator):
    """Put back every attribute of ``estimator`` if the block raises: a failed call never leaves a
    half-updated model behind."""
    state = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(state)
        raise


class BaseCrossModalHasher(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of the cross-modal hashers.

    ``fit(X, y)`` takes the image view as ``X`` and the text view as ``y``, so that scikit-learn's
    model selection slices the two views together. ``transform`` encodes images, ``transform_text``
    encodes texts, into one Hamming space.

    Subclasses implement :meth:`_fit_towers`, which learns the two hash functions from the
    preprocessed views, and may override the hooks :meth:`_prepare_labels`,
    :meth:`_check_training_views`, :meth:`_training_inputs` and :meth:`_training_device`.
    Supervised subclasses set the tag ``hasher_tags.supervised``.

    Examples
    --------
    >>> from sklearn_xmh import BaseCrossModalHasher, all_estimators
    >>> all(issubclass(cls, BaseCrossModalHasher) for _, cls in all_estimators())
    True
    """

    _parameter_constraints: dict = {
        "n_bits": [Interval(Integral, 1, None, closed="left")],
        "image_preprocessor": [HasMethods(["fit", "transform"]), StrOptions({"passthrough"}), None],
        "text_preprocessor": [HasMethods(["fit", "transform"]), StrOptions({"passthrough"}), None],
        "code_format": [StrOptions(set(CODE_FORMATS))],
        "random_state": ["random_state"],
    }

    def _check_params(self):
        """Hook: checks of the parameters that their constraints cannot state."""
        check_int_parameters(self)

    def _prepare_labels(self, labels, n_samples):
        """Hook: the labels that :meth:`_fit_towers` receives.

        Unsupervised methods never see labels (None); a supervised method gets them checked,
        and raises when they are missing.
        """
        if not self.__sklearn_tags__().hasher_tags.supervised:
            return None
        return check_labels(labels, n_samples, required=True, estimator=self)

    def _check_training_views(self, image, text):
        """Hook: method-specific checks of the training views, two
        :class:`~sklearn_xmh.utils._views.TrainingView` (preprocessed batches); raise ValueError."""

    def _training_inputs(self, X, y):
        """Hook: further training inputs, from the views as given (wrap them in a
        :class:`~sklearn_xmh.utils._views.TrainingView` without preprocessor to read their rows).

        They reach :meth:`_fit_towers` as keyword arguments; a deep hasher's loss finds them
        in its batches beside the preprocessed views (DJSRH's affinity reads the features as
        given, while its towers read them standardised).
        """
        return {}

    def _training_device(self):
        """Hook: the torch device the towers train on and encode on; ``"cpu"`` here."""
        return "cpu"

    @abstractmethod
    def _fit_towers(self, image, text, labels, random_state, *, device, **inputs):
        """Learn the hash functions; return ``(image_tower, text_tower)``.

        ``image`` and ``text`` are :class:`~sklearn_xmh.utils._views.TrainingView` objects,
        which read preprocessed float32 batches (CSR for a sparse view) and can
        :meth:`~sklearn_xmh.utils._views.TrainingView.materialize` the whole view; ``labels``
        is what :meth:`_prepare_labels` returned, ``device`` what :meth:`_training_device`
        returned and ``inputs`` what :meth:`_training_inputs` returned. Each tower maps a batch
        of preprocessed rows to real pre-binarisation outputs ``(n, n_bits)`` whose signs are
        the bits.
        """

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, labels=None):
        """Learn hash functions for the image view ``X`` and the text view ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_image_features)
            Image view.
        y : {array-like, sparse matrix} of shape (n_samples, n_text_features)
            Text view, paired row by row with ``X``. Required despite its slot: it sits where
            scikit-learn's model selection slices it together with ``X``.
        labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class ids or multi-hot labels. Used by supervised methods only; unsupervised methods
            ignore them, so one routed ``labels`` can feed any hasher. Route it with
            ``set_fit_request(labels=True)`` under metadata routing.

        Returns
        -------
        self : object
            The fitted hasher.
        """
        with restored_on_error(self):
            self._check_params()
            X, y = validate_views(self, X, y, allow_nd=self._allow_nd())
            labels = self._prepare_labels(labels, X.shape[0])
            random_state = check_random_state(self.random_state)
            self.image_preprocessor_ = fit_preprocessor(
                make_preprocessor(self.image_preprocessor, sparse=is_sparse(X)), X
            )
            self.text_preprocessor_ = fit_preprocessor(
                make_preprocessor(self.text_preprocessor, sparse=is_sparse(y)), y
            )
            # The views stay as given (sparse stays sparse, out-of-core stays on disk); the
            # towers read them a batch at a time through the fitted preprocessors.
            image = TrainingView(X, self.image_preprocessor_)
            text = TrainingView(y, self.text_preprocessor_)
            self._check_training_views(image, text)
            inputs = self._training_inputs(X, y)
            device = self._training_device()
            towers = self._fit_towers(image, text, labels, random_state, device=device, **inputs)
            self.image_encoder_, self.text_encoder_ = (
                self._make_encoder(tower, view, modality, device)
                for tower, view, modality in zip(towers, (image, text), ("image", "text"))
            )
            self.n_text_features_in_ = y.shape[1]
        self._warn_if_degenerate(X, y)
        return self

    def _warn_if_degenerate(self, X, y, n_rows=256):
        """Warn when the fitted model gives every training pair's view the same code: one
        training pair, a constant view, or a network that collapsed."""
        if X.shape[0] < 2:
            warnings.warn(
                f"{type(self).__name__} was fitted on a single pair: it gives every input the "
                "same code. Fit on many pairs.",
                UserWarning,
                stacklevel=3,
            )
            return
        rows = min(X.shape[0], n_rows)
        for view, data, encode in (("image", X, self.transform), ("text", y, self.transform_text)):
            sample = read_block(data, 0, rows)
            codes = encode(sample)
            if not (codes == codes[:1]).all():
                continue
            if is_sparse(sample):
                sample = sample.tocsr()
                constant = (sample != sample[np.zeros(rows, dtype=np.intp)]).nnz == 0
            else:
                constant = (sample == sample[:1]).all()
            reason = (
                f"the {view} view's first {rows} training rows are identical"
                if constant
                else (
                    "the training collapsed (check hidden_layer_sizes, the learning rate and "
                    "weight_decay)"
                )
            )
            warnings.warn(
                f"{type(self).__name__} gives all of the first {rows} training pairs the same "
                f"{view} code: {reason}.",
                UserWarning,
                stacklevel=3,
            )

    def _make_encoder(self, tower, view, modality, device):
        """The fitted encoder of one view: its tower behind its frozen preprocessor, built from
        what ``fit`` already checked (no second validation)."""
        preprocessor = FrozenEstimator(view.preprocessor)
        encoder = ModalityEncoder(
            tower,
            preprocessor=preprocessor,
            modality=modality,
            code_format=self.code_format,
            device=device,
        )
        return encoder._fitted(
            preprocessor, view.sample_shape, sparse=is_sparse(view.X), n_bits=self.n_bits
        )

    def _allow_nd(self):
        return (False, False)

    def transform(self, X):
        """Encode images to binary codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_image_features)
            Image view.

        Returns
        -------
        codes : ndarray
            Image codes in ``code_format``: ``(n_samples, n_bits)`` uint8 bits or float32 signs,
            or ``(n_samples, ceil(n_bits / 8))`` packed bytes.
        """
        check_is_fitted(self)
        validate = partial(
            validate_view, self, view="image", reset=False, allow_nd=self._allow_nd()[0]
        )
        return self.image_encoder_._encode(X, validate, self.code_format)

    def transform_text(self, X):
        """Encode texts to binary codes in the same Hamming space as :meth:`transform`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_text_features)
            Text view.

        Returns
        -------
        codes : ndarray
            Text codes in ``code_format``.
        """
        check_is_fitted(self)
        encoder = self.text_encoder_
        validate = partial(
            validate_view, encoder, view="text", reset=False, allow_nd=self._allow_nd()[1]
        )
        return encoder._encode(X, validate, self.code_format)

    def score(self, X, y=None, *, labels=None, sample_weight=None):
        """Mean of image-to-text and text-to-image mAP@all on ``(X, y)``.

        Each image of ``X`` queries the texts of ``y`` and each text queries the images, by Hamming
        ranking with stable ties. An item is relevant when it shares a label with the query, or,
        without ``labels``, when it is the query's own pair.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_image_features)
            Image view.
        y : {array-like, sparse matrix} of shape (n_samples, n_text_features)
            Text view.
        labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class ids or multi-hot labels; None scores pair retrieval.
        sample_weight : None
            Accepted because ``Pipeline.score`` forwards ``sample_weight=None``; weighted
            retrieval scores are not defined, so any other value raises.

        Returns
        -------
        score : float
        """
        from ..metrics import cross_modal_map

        if sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__}.score does not support sample_weight: mAP weighs every "
                "query equally. Pass sample_weight=None."
            )
        return cross_modal_map(self, X, y, labels=labels)

    @property
    def _n_features_out(self):
        return -(-self.n_bits // 8) if self.code_format == "packed" else self.n_bits

    def __sklearn_tags__(self):
        base = super().__sklearn_tags__()
        shared = {tag.name: getattr(base, tag.name) for tag in fields(base)}
        tags = CrossModalTags(**shared, hasher_tags=HasherTags())
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.transformer_tags.preserves_dtype = []
        tags.input_tags.sparse = True
        return tags
