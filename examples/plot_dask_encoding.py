"""
==================
Encoding with dask
==================

:class:`dask_ml.wrappers.ParallelPostFit` encodes a dask array block by block on a cluster. It
only calls ``transform``, which is why each fitted hasher also exposes standalone encoders: the
text view goes through ``hasher.text_encoder_``. The codes are exactly those of a local call.

A local cluster of threads stands in for a real one here; on a single machine dask adds
overhead (see ``benchmarks/results_encode.md``), its use is spreading work over machines.
"""

# %%
import dask.array as da
import numpy as np
from dask_ml.wrappers import ParallelPostFit
from distributed import Client, LocalCluster

from sklearn_xmh import CCAITQHasher
from sklearn_xmh.datasets import make_cross_modal

data = make_cross_modal(n_samples=20_000, random_state=0)
hasher = CCAITQHasher(n_bits=64, random_state=0).fit(data.X_image[:5000], data.X_text[:5000])

with LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
) as cluster:
    with Client(cluster) as client:
        images = da.from_array(data.X_image, chunks=(5000, -1))
        texts = da.from_array(data.X_text, chunks=(5000, -1))
        image_codes = ParallelPostFit(hasher).transform(images)
        text_codes = ParallelPostFit(hasher.text_encoder_).transform(texts)
        print(image_codes)  # lazy: a dask array of codes
        image_codes, text_codes = da.compute(image_codes, text_codes)

print(
    "identical to local encoding:",
    np.array_equal(image_codes, hasher.transform(data.X_image)),
    np.array_equal(text_codes, hasher.transform_text(data.X_text)),
)
