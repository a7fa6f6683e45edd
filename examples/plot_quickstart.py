"""
==========
Quickstart
==========

Fit a cross-modal hasher on paired image and text features, encode each view into the shared
Hamming space, and retrieve texts for image queries by Hamming ranking.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from sklearn_xmh import DJSRHHasher
from sklearn_xmh.datasets import make_cross_modal
from sklearn_xmh.metrics import hamming_distances, mean_average_precision

data = make_cross_modal(n_samples=1200, random_state=0)
train, query = slice(0, 1000), slice(1000, None)

# %%
# Fit on the training pairs: the image view goes in ``X``, the text view in the ``y`` slot.
# 50 epochs keep the example quick; the default, 200, is the reference's schedule on Wiki.
hasher = DJSRHHasher(n_bits=32, hidden_layer_sizes=(512,), max_epochs=50, random_state=0)
hasher.fit(data.X_image[train], data.X_text[train])

image_codes = hasher.transform(data.X_image[query])  # (200, 32) uint8 bits
text_codes = hasher.transform_text(data.X_text[train])  # the same Hamming space
print(image_codes.shape, image_codes.dtype)

# %%
# Image -> text retrieval, scored by mAP@50 with shared labels as relevance.
score = mean_average_precision(
    image_codes, text_codes, data.labels[query], data.labels[train], top_k=50
)
print(f"image->text mAP@50: {score:.3f}")

# %%
# Relevant texts sit closer to their image queries than irrelevant ones.
distances = hamming_distances(image_codes, text_codes)
relevant = (data.labels[query] @ data.labels[train].T) > 0
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.arange(0, 34) - 0.5
ax.hist(distances[~relevant], bins=bins, density=True, alpha=0.6, label="no shared label")
ax.hist(distances[relevant], bins=bins, density=True, alpha=0.6, label="shared label")
ax.set_xlabel("Hamming distance, image query to text")
ax.set_ylabel("density")
ax.legend()
fig.tight_layout()
plt.show()
