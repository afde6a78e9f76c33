"""Where models and downloaded weights live on disk."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

#: Overrides the models directory (ONNX variants + manifest.json).
MODELS_DIR_ENV = "SALIENCY_CAM_MODELS_DIR"
#: Overrides the cache of downloaded published weights.
CACHE_DIR_ENV = "SALIENCY_CAM_CACHE_DIR"


def models_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The models directory: ``explicit``, else ``$SALIENCY_CAM_MODELS_DIR``, else the
    platform user cache (``~/.cache/saliency-cam/models`` on Linux)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir("saliency-cam")) / "models"


def weights_cache_dir() -> Path:
    """Cache for downloaded published weights (``$SALIENCY_CAM_CACHE_DIR`` overrides)."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir("saliency-cam")) / "weights"


#: Overrides the runtime cache (TensorRT engines, ``--backend auto`` measurements).
RUNTIME_CACHE_ENV = "SALIENCY_CAM_RUNTIME_CACHE"


def runtime_cache_dir() -> Path:
    """Cache of things the runtime measured or built on this machine
    (``$SALIENCY_CAM_RUNTIME_CACHE`` overrides; ``~/.cache/saliency-cam/runtime`` on Linux)."""
    env = os.environ.get(RUNTIME_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir("saliency-cam")) / "runtime"
