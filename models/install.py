"""The install command to print in a hint, matching how saliency-cam itself was installed.

``pip install 'saliency-cam[export]'`` is only right for an install from a package
index. From a clone (``pip install -e .``) the extra must come from that folder, and
``pip`` on PATH may belong to another environment than the one running saliency-cam,
so the hint names this interpreter (``/path/.venv/bin/python -m pip``). pip records
where a package came from in its ``direct_url.json`` (PEP 610); that is what is read.

>>> install_command("export")                                  # doctest: +SKIP
"/home/me/saliency-cam/.venv/bin/python -m pip install -e '/home/me/saliency-cam[export]'"
>>> install_command(packages="onnxruntime-directml", replace="onnxruntime")  # doctest: +SKIP
'/usr/bin/python3 -m pip uninstall -y onnxruntime && /usr/bin/python3 -m pip install ...'
"""

from __future__ import annotations

import functools
import json
import shlex
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

DISTRIBUTION = "saliency-cam"

#: What exporting needs beyond the runtime (the export extra); here, below every layer
#: that names the extra in a hint (``saliency_cam.export`` re-exports it).
EXPORT_MODULES: tuple[str, ...] = ("tensorflow", "tf2onnx", "onnx", "requests")


def missing_modules(names: tuple[str, ...]) -> list[str]:
    """Which of the modules ``names`` cannot be imported here (not installed, or a
    broken install), without importing them.

    >>> missing_modules(("json", "no_such_module_here"))
    ['no_such_module_here']
    """
    import importlib.util

    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a half-removed package
            found = False
        if not found:
            missing.append(name)
    return missing


@dataclass(frozen=True)
class InstallOrigin:
    """Where this saliency-cam came from: ``index`` (PyPI or a mirror), ``editable``
    (``pip install -e DIR``), ``local`` (a folder or wheel file) or ``url`` (VCS or
    archive URL); ``location`` is that folder, file or URL."""

    kind: str
    location: str = ""


@functools.lru_cache(maxsize=1)
def install_origin() -> InstallOrigin:
    """Read pip's record of how saliency-cam was installed (index when nothing says
    otherwise, e.g. not installed at all or installed by a tool without PEP 610)."""
    # A source checkout's own saliency_cam.egg-info (left by a build) can be found before
    # the installed dist-info when the checkout is the working directory: ask all of them.
    for dist in metadata.distributions(name=DISTRIBUTION):
        text = dist.read_text("direct_url.json")
        if text:
            return origin_from_direct_url(text)
    return InstallOrigin("index")


def origin_from_direct_url(text: str | None) -> InstallOrigin:
    """Parse a PEP 610 ``direct_url.json`` document into an :class:`InstallOrigin`."""
    if not text:
        return InstallOrigin("index")
    try:
        record = json.loads(text)
        url = str(record["url"])
    except (ValueError, KeyError, TypeError):
        return InstallOrigin("index")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = unquote(parsed.path)
        if record.get("dir_info", {}).get("editable"):
            return InstallOrigin("editable", path)
        return InstallOrigin("local", path)
    if "vcs_info" in record:
        return InstallOrigin("url", f"{record['vcs_info'].get('vcs', 'git')}+{url}")
    return InstallOrigin("url", url)


def pip_command() -> str:
    """``<this interpreter> -m pip``: installs into the environment running saliency-cam."""
    return f"{shlex.quote(sys.executable)} -m pip"


def install_command(
    extra: str | None = None,
    *,
    packages: str | None = None,
    replace: str | None = None,
    origin: InstallOrigin | None = None,
) -> str:
    """The command that adds ``extra`` of saliency-cam (or the plain ``packages``) to
    the running environment, after uninstalling ``replace`` when given (for packages
    that cannot sit side by side, e.g. onnxruntime and onnxruntime-gpu)."""
    pip = pip_command()
    if packages is not None:
        target = packages
    else:
        origin = origin or install_origin()
        target = _requirement(extra, origin)
    command = f"{pip} install {target}"
    if replace:
        command = f"{pip} uninstall -y {replace} && {command}"
    return command


def _requirement(extra: str | None, origin: InstallOrigin) -> str:
    suffix = f"[{extra}]" if extra else ""
    if origin.kind == "editable":
        return "-e " + shlex.quote(f"{origin.location}{suffix}")
    if origin.kind == "local":
        location = origin.location
        if Path(location).suffix == ".whl":
            return shlex.quote(f"{DISTRIBUTION}{suffix} @ file://{location}")
        return shlex.quote(f"{location}{suffix}")
    if origin.kind == "url":
        return shlex.quote(f"{DISTRIBUTION}{suffix} @ {origin.location}")
    return shlex.quote(f"{DISTRIBUTION}{suffix}")
