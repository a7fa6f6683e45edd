"""
==============================================
Supervised CHN, with labels routed as metadata
==============================================

:class:`~sklearn_xmh.CHNHasher` learns from labels: an image and a text are similar when they
share one. The labels are metadata, not a target, so in model selection they travel through
scikit-learn's metadata routing to both ``fit`` and the scorer. The unsupervised methods accept
the same routed labels and ignore them, so one search setup serves every hasher.

We use Wiki when ``../shared/data`` holds it, otherwise synthetic data.
"""

# %%
from pathlib import Path

import sklearn
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_xmh import CHNHasher, DJSRHHasher
from sklearn_xmh.datasets import load_mat_dataset, make_cross_modal
from sklearn_xmh.metrics import hamming_map_scorer, mean_average_precision

# The shared data folder sits next to the checkout (sphinx-gallery runs examples from examples/).
HERE = Path(__file__).parent if "__file__" in globals() else Path.cwd()
WIKI = HERE.resolve().parents[1] / "shared" / "data" / "wiki" / "wikiData.mat"
if WIKI.exists():
    data = load_mat_dataset(WIKI)
else:
    synthetic = make_cross_modal(n_samples=2000, random_state=0)
    train, query = slice(0, 1600), slice(1600, None)
    data = {
        "name": "synthetic",
        **{
            f"X_image_{part}": synthetic.X_image[rows]
            for part, rows in (("train", train), ("query", query))
        },
        **{
            f"X_text_{part}": synthetic.X_text[rows]
            for part, rows in (("train", train), ("query", query))
        },
        **{
            f"labels_{part}": synthetic.labels[rows]
            for part, rows in (("train", train), ("query", query))
        },
    }
print("data:", data["name"])

# %%
# Tune CHN's margin by 3-fold CV on the training pairs only, labels routed to fit and score.
sklearn.set_config(enable_metadata_routing=True)
chn = CHNHasher(n_bits=32, random_state=0).set_fit_request(labels=True)
scorer = hamming_map_scorer(top_k=50).set_score_request(labels=True)
search = GridSearchCV(
    chn, {"margin": [0.1, 0.3, 0.5]}, scoring=scorer, cv=KFold(3, shuffle=True, random_state=0)
)
search.fit(data["X_image_train"], data["X_text_train"], labels=data["labels_train"])
print("best margin:", search.best_params_["margin"])
sklearn.set_config(enable_metadata_routing=False)

# %%
# Against an unsupervised method on the held-out queries.
djsrh = DJSRHHasher(n_bits=32, max_epochs=20, random_state=0)
djsrh.fit(data["X_image_train"], data["X_text_train"])
for name, hasher in (("CHN (tuned)", search.best_estimator_), ("DJSRH", djsrh)):
    scores = [
        mean_average_precision(
            query, database, data["labels_query"], data["labels_train"], top_k=50
        )
        for query, database in (
            (hasher.transform(data["X_image_query"]), hasher.transform_text(data["X_text_train"])),
            (hasher.transform_text(data["X_text_query"]), hasher.transform(data["X_image_train"])),
        )
    ]
    print(f"{name:12s} mAP@50 image->text {scores[0]:.3f}  text->image {scores[1]:.3f}")
