"""The package version, from one place: ``pyproject.toml``'s ``[project] version``,
as the installed metadata reports it (``saliency_cam.__version__``, the server's
``/v1/info`` and the API docs all read it here).

>>> VERSION.count(".") >= 1
True
"""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("saliency-cam")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "0+unknown"
