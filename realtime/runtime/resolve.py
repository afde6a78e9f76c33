"""The one resolver from what a caller names to an open session: a model name
(quality, dataset, trained or added model), an .onnx file recorded in a models folder,
a :class:`ResolvedModel` or a session, with everything left out taking the defaults
every door shares (``runtime/defaults.py``). Sessions are cached per process, so the
Python API's one-shot calls open each model once.

>>> session = cached_session(model="very_low", device="cpu")   # doctest: +SKIP
>>> session is cached_session(model="very_low", device="cpu")  # doctest: +SKIP
True
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.runtime.session import ResolvedModel, SaliencySession, open_session

#: What ``model=`` takes: a name (quality, dataset, trained or added model), an .onnx
#: file recorded in a models folder's manifest, a :class:`ResolvedModel`, or a session.
ModelArg = str | os.PathLike | ResolvedModel | SaliencySession
_SessionKey = tuple[Any, ...]
#: Sessions kept open for the one-shot calls, most recently used last: a few models
#: (each holds its weights, up to ~100 MB) rather than every one ever asked for.
MAX_CACHED_SESSIONS = 4
_sessions: OrderedDict[_SessionKey, SaliencySession] = OrderedDict()
_sessions_lock = threading.Lock()


def clear_session_cache() -> None:
    """Close the cached sessions (they are reopened on next use)."""
    with _sessions_lock:
        _sessions.clear()


def _model_by_file(path: Path) -> tuple[str, str, Path]:
    """(preset, precision, models folder) of an exported or added .onnx file."""
    from saliency_cam.models.manifest import Manifest

    resolved = path.resolve()
    for info in Manifest.load(resolved.parent).variants.values():
        if info.path.resolve() == resolved:
            return info.preset, info.precision, resolved.parent
    raise SaliencyCamError(
        f"{path} is not recorded in {resolved.parent}/manifest.json: pass a model name, or "
        "put the file in a models folder with 'saliency-cam models add NAME FILE.onnx'"
    )


def cached_session(
    quality: str | None = None,
    precision: str | None = None,
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
    *,
    model: ModelArg | None = None,
    backend: str | None = None,
) -> SaliencySession:
    """The session for these settings, opened once per process and then reused.

    ``model`` (a name, a recorded .onnx file or a :class:`ResolvedModel`) wins over
    ``quality``; a :class:`SaliencySession` is returned as it is.
    """
    if isinstance(model, SaliencySession):
        return model
    if isinstance(model, ResolvedModel):
        path = Path(model.file)
        quality, precision, backend = model.preset, model.precision, model.backend
        models_dir = path.parent
    elif isinstance(model, os.PathLike) or (isinstance(model, str) and model.endswith(".onnx")):
        quality, precision, models_dir = _model_by_file(Path(model))
    elif model is not None:
        if quality is not None and quality != model:
            raise SaliencyCamError("give model= or quality=, not both")
        quality = str(model)
    key = (quality, precision, device, None if models_dir is None else str(models_dir), backend)
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = open_session(
                quality, precision, device, models_dir, backend=backend
            )
            while len(_sessions) > MAX_CACHED_SESSIONS:
                _sessions.popitem(last=False)
        _sessions.move_to_end(key)
        return session
