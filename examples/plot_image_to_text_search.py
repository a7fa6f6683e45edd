"""
========================================
Image -> text search with a HammingIndex
========================================

Encode a text database once, index its packed codes with :class:`~sklearn_xmh.HammingIndex`,
and answer image queries with the nearest texts. A precision-recall curve over Hamming radii
shows the quality of the whole ranking.
"""

# %%
import matplotlib.pyplot as plt

from sklearn_xmh import CCAITQHasher, DBRCHasher, HammingIndex
from sklearn_xmh.datasets import make_cross_modal
from sklearn_xmh.plotting import RetrievalCurveDisplay

data = make_cross_modal(n_samples=1500, random_state=0)
train, query = slice(0, 1200), slice(1200, None)
hashers = {
    "CCA-ITQ": CCAITQHasher(n_bits=32, random_state=0),
    "DBRC": DBRCHasher(n_bits=32, hidden_layer_sizes=(256,), max_epochs=20, random_state=0),
}
for hasher in hashers.values():
    hasher.fit(data.X_image[train], data.X_text[train])

# %%
# The index stores the texts' packed codes; each image query gets its 5 nearest texts.
hasher = hashers["DBRC"]
index = HammingIndex().fit(hasher.transform_text(data.X_text[train]))
distances, neighbors = index.kneighbors(hasher.transform(data.X_image[query][:3]), n_neighbors=5)
for i, (dist, rows) in enumerate(zip(distances, neighbors)):
    shared = (data.labels[train][rows] @ data.labels[query][i]) > 0
    print(
        f"image {i}: texts {rows.tolist()} at distances {dist.tolist()}, relevant {shared.tolist()}"
    )

# %%
# Precision against recall as the Hamming radius grows, for both hashers.
fig, ax = plt.subplots(figsize=(5, 4))
for name, hasher in hashers.items():
    RetrievalCurveDisplay.from_codes(
        hasher.transform(data.X_image[query]),
        hasher.transform_text(data.X_text[train]),
        data.labels[query],
        data.labels[train],
        kind="pr",
        name=name,
        ax=ax,
    )
ax.set_title("image -> text, 32 bits")
fig.tight_layout()
plt.show()
