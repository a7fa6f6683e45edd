"""Sphinx configuration of the sklearn_xmh documentation."""

import sklearn_xmh

project = "sklearn_xmh"
author = "the sklearn_xmh developers"
copyright = "2026, the sklearn_xmh developers"
release = version = sklearn_xmh.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
# The metadata-request setters scikit-learn generates on every estimator are documented there.
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": "set_fit_request, set_score_request, set_transform_request",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Class pages document the class and its own members (autodoc), without autosummary tables of
# every member inherited from torch.nn.Module, some of which are annotations it cannot import.
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py.md5"]

html_theme = "pydata_sphinx_theme"
html_title = "sklearn_xmh"
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "reference_url": {"sklearn_xmh": None},
}
