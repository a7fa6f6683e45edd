"""Datasets: a seeded synthetic paired two-view generator, the loaders of the public ``.mat``
releases, and the DCMH query/database/training split."""

from ._mat import load_mat_dataset
from ._samples_generator import make_cross_modal
from ._split import split_query_database

__all__ = ["load_mat_dataset", "make_cross_modal", "split_query_database"]
