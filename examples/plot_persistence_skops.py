"""
===============================
Saving models safely with skops
===============================

``joblib`` and ``pickle`` files run code when they are loaded: only load ones you trust. skops
files rebuild nothing but the types you allow. :func:`sklearn_xmh.trusted_types` lists the
library's own; a model holding anything else (a custom tower class, say) must be checked and
trusted explicitly.
"""

# %%
import tempfile
from pathlib import Path

import numpy as np
import skops.io as sio

from sklearn_xmh import DBRCHasher, trusted_types
from sklearn_xmh.datasets import make_cross_modal

data = make_cross_modal(n_samples=600, random_state=0)
hasher = DBRCHasher(n_bits=32, hidden_layer_sizes=(128,), max_epochs=10, random_state=0)
hasher.fit(data.X_image, data.X_text)

folder = Path(tempfile.mkdtemp())
sio.dump(hasher, folder / "hasher.skops")
# A text-query service needs only the text encoder.
sio.dump(hasher.text_encoder_, folder / "text_encoder.skops")

# %%
# What would loading build? Everything must be in the trusted list.
untrusted = sio.get_untrusted_types(file=folder / "hasher.skops")
print("types in the file:", len(untrusted), "all trusted:", set(untrusted) <= set(trusted_types()))

loaded = sio.load(folder / "hasher.skops", trusted=trusted_types())
text_encoder = sio.load(folder / "text_encoder.skops", trusted=trusted_types())
print(
    "same image codes:",
    np.array_equal(loaded.transform(data.X_image), hasher.transform(data.X_image)),
)
print(
    "same text codes:",
    np.array_equal(text_encoder.transform(data.X_text), hasher.transform_text(data.X_text)),
)
for path in folder.iterdir():
    print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")
