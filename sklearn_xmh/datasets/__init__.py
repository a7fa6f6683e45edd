"""Datasets: a seeded synthetic paired two-view generator, the loaders of the public ``.mat``
releases, the DCMH query/database/training split, and signed (PCA-projected) versions of a
split."""

from ._home import get_data_home
from ._mat import load_mat_dataset
from ._samples_generator import make_cross_modal
from ._signed import pca_views
from ._split import split_query_database

__all__ = [
    "get_data_home",
    "load_mat_dataset",
    "make_cross_modal",
    "pca_views",
    "split_query_database",
]
