"""Shared helpers: the code formats, validation of views and labels, persistence of torch
modules, and the registry of estimators.

The public names are :func:`~sklearn_xmh.utils.discovery.all_estimators`, also importable from
:mod:`sklearn_xmh`, and :func:`~sklearn_xmh.convert_codes`. Everything else here is the
package's internal API: documented, used across the package, not promised to users.
"""
