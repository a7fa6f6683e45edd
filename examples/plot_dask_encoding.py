"""
==================
Encoding with dask
==================

A dask array encodes block by block on a cluster with ``map_blocks``: each block of rows maps
to a block of ``n_bits`` codes, which ``chunks`` declares, so that the lazy array has the codes'
shape and can be sliced before it is computed. The text view goes through the standalone
``hasher.text_encoder_``. The codes are exactly those of a local call.

:class:`dask_ml.wrappers.ParallelPostFit` encodes the same codes, but its lazy array keeps the
input's width (it cannot know the codes'): compute it before slicing it.

A local cluster of threads stands in for a real one here; on a single machine dask adds
overhead (see ``benchmarks/results_encode.md``), its use is spreading work over machines.
"""

# %%
import dask.array as da
import numpy as np
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
        codes = {"dtype": np.uint8, "chunks": (images.chunks[0], (hasher.n_bits,))}
        image_codes = images.map_blocks(hasher.transform, **codes)
        text_codes = texts.map_blocks(hasher.text_encoder_.transform, **codes)
        print(image_codes)  # lazy: a (20000, 64) dask array of codes
        print(image_codes[:2, :8].compute())  # a slice computes only its block
        image_codes, text_codes = da.compute(image_codes, text_codes)

print(
    "identical to local encoding:",
    np.array_equal(image_codes, hasher.transform(data.X_image)),
    np.array_equal(text_codes, hasher.transform_text(data.X_text)),
)
