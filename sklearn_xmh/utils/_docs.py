"""Docstring pieces that several classes share, written once."""

# Parameter descriptions shared by the hashers, written once: a docstring names them as
# ``%(n_bits)s`` or ``%(deep_parameters)s`` and :func:`fill_doc` puts them in.
_SHARED_DOCS = {
    "n_bits": """n_bits : int, default=64
        Code length.""",
    "preprocessor_parameters": """image_preprocessor, text_preprocessor : transformer, \
"passthrough" or None, default=None
        Per-view preprocessing fitted on the training view; None standardises (without
        centring a sparse view).
    code_format : {"bits", "signed", "packed"}, default="bits"
        Format of the codes returned by :meth:`transform` and :meth:`transform_text`.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
        Seeds every random draw of ``fit`` (initial weights or rotation, batch order,
        dropout, sampling); torch's global generator is left as it was. Pass an int for
        reproducible fits.""",
    "device_parameters": """device : str, default="cpu"
        Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``. On a fitted
        model, ``set_params(device=...)`` moves its encoders there.
    cuda_graph : {"auto"} or bool, default="auto"
        On a CUDA device, capture the whole training step (forward, loss, backward, optimizer)
        once as a CUDA graph and replay it for every batch, with the views held on the device
        and batches gathered there by index. ``"auto"`` does so where it applies: dense
        in-memory views that fit in half the device's free memory, no ``validation_fraction``,
        no ``accelerator``, no callback with batch hooks and ``verbose < 2`` (batch hooks
        are not called under replay), a step that can be captured (else a RuntimeWarning, and the
        eager step). True raises where it does not apply; False always steps eagerly. The CPU
        always steps eagerly.
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's :class:`~skorch.hf.AccelerateMixin`: data-parallel training
        over several processes, or mixed precision, as the accelerator is configured. Launch the
        script with ``torchrun`` or ``accelerate launch``; each process trains on its share of
        every epoch and all end with the same fitted model. The accelerator then chooses the
        device, and ``device`` is ignored.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks.
    validation_fraction : float or None, default=None
        Fraction of the training pairs held out for a validation loss (the training loss on
        the held-out pairs, which needs no labels) with early stopping; None trains on all
        pairs for ``max_epochs``.
    n_iter_no_change : int, default=10
        Early-stopping patience in epochs, with ``validation_fraction``. Training then keeps the
        weights of the epoch with the lowest validation loss, as scikit-learn's MLP does.
    warm_start : bool, default=False
        Continue training the previous network on the next ``fit``.
    verbose : int, default=0
        0 is silent, 1 prints skorch's epoch log, 2 adds a progress bar.""",
    "module_parameters": """image_module, text_module : torch.nn.Module class or instance, \
default=None
        A network that replaces the view's default feature MLP, for example a CNN on raw pixels;
        its output is flattened and mapped by a linear layer to the width where the method's
        default network ends (see the method's notes). With a custom module the view may have
        more than two axes: each sample reaches the module in its original shape. An instance
        is copied at each fit.
    **kwargs : dict
        ``image_module__<name>`` / ``text_module__<name>`` arguments of the module classes, in
        skorch's style; they are parameters like any other (``get_params``, ``GridSearchCV``).""",
    "codes_parameters": """query_codes, db_codes : array-like
        Codes of the queries and of the database, in any code format (see
        :func:`sklearn_xmh.convert_codes`).
    query_labels, db_labels : {array-like, sparse matrix} of shape (n,) or (n, n_classes), \
default=None
        Class ids or multi-hot labels, dense or sparse. An item is relevant when it shares a
        label with the query; when both are None, only the query's own pair (same row
        index) is relevant.""",
    "scoring_parameters": """direction : {"both", "i2t", "t2i"}, default="both"
        Which retrieval task to score; ``"both"`` averages the two.
    top_k : int or None, default=None
        None for mAP@all, else mAP@K.
    ties : {"stable", "random", "expected"}, default="stable"
        See :func:`mean_average_precision`.""",
    "format_parameters": """code_format : {"bits", "signed", "packed"} or None, default=None
        Format of both code arrays; None reads each array's from its dtype and shape, never
        its values: floating codes are signed, integer ones bits, and a uint8 array exactly
        wide enough to hold the other array's codes packed is packed (packed codes on both
        sides must be declared).
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.""",
    "deep_attributes": """history_ : skorch.History
        Per-epoch training log.
    image_encoder_, text_encoder_ : ModalityEncoder
        Standalone fitted encoders of each view.
    image_preprocessor_, text_preprocessor_ : transformer
        The fitted per-view preprocessors.
    device_ : str
        The resolved torch device.
    n_features_in_ : int
        Number of image features.
    n_text_features_in_ : int
        Number of text features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Image feature names, when ``X`` has string column names.""",
}


# Every deep hasher's shared parameters, in their order in its signature.
_SHARED_DOCS["deep_parameters"] = "\n    ".join(
    _SHARED_DOCS[name]
    for name in (
        "preprocessor_parameters",
        "device_parameters",
        "random_state",
        "module_parameters",
    )
)


def fill_doc(cls):
    """Decorator of a class or function: put the shared parameter descriptions into its
    docstring."""
    doc = cls.__doc__
    for name, text in _SHARED_DOCS.items():
        doc = doc.replace(f"%({name})s", text)
    cls.__doc__ = doc
    return cls
