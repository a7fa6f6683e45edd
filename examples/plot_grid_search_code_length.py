"""
================================
Grid search over the code length
================================

A hasher is a scikit-learn estimator, so :class:`~sklearn.model_selection.GridSearchCV` tunes
it with no wrapper: the text view travels in the ``y`` slot and is split together with the
image view. The scorer is the library's Hamming-ranking mAP; without labels it scores pair
retrieval (each query's own pair is its one relevant item), so this search never sees labels.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_xmh import DJSRHHasher
from sklearn_xmh.datasets import make_cross_modal
from sklearn_xmh.metrics import hamming_map_scorer

data = make_cross_modal(n_samples=900, random_state=0)

hasher = DJSRHHasher(hidden_layer_sizes=(256,), max_epochs=20, random_state=0)
search = GridSearchCV(
    hasher,
    {"n_bits": [8, 16, 32, 64]},
    scoring=hamming_map_scorer(top_k=50),
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(data.X_image, data.X_text)
print("best code length:", search.best_params_["n_bits"])

# %%
results = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(
    results["param_n_bits"].astype(int),
    results["mean_test_score"],
    yerr=results["std_test_score"],
    marker="o",
)
ax.set_xscale("log", base=2)
ax.set_xlabel("n_bits")
ax.set_ylabel("pair-retrieval mAP@50 (3-fold CV)")
fig.tight_layout()
plt.show()
