"""Inference backends behind :class:`~saliency_cam.realtime.runtime.session.SaliencySession`:
``onnxruntime`` (always installed) and ``openvino`` (the ``openvino`` extra). ``auto``
measures the installed ones once per machine (``runtime/autoselect.py``).

>>> check_backend(" OpenVINO ")
'openvino'
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.runtime.backends.base import Engine, EngineOptions
from saliency_cam.realtime.runtime.providers import ProviderChoice

BACKENDS: tuple[str, ...] = ("auto", "onnxruntime", "openvino")


def check_backend(name: str) -> str:
    """Normalise a ``--backend`` value."""
    value = name.strip().lower()
    if value not in BACKENDS:
        raise SaliencyCamError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    return value


def installed_backends() -> list[str]:
    """Backends whose package is importable here, onnxruntime first."""
    have = ["onnxruntime"]
    if importlib.util.find_spec("openvino") is not None:
        have.append("openvino")
    return have


def open_engine(
    backend: str,
    path: Path,
    choice: ProviderChoice,
    options: EngineOptions,
    *,
    device: str = "auto",
    model_sha: str = "",
) -> Engine:
    """Load ``path`` on ``backend`` (``onnxruntime`` or ``openvino``)."""
    if backend == "openvino":
        from saliency_cam.realtime.runtime.backends.openvino import OpenVinoEngine

        return OpenVinoEngine(path, device, options)
    if backend == "onnxruntime":
        if options.precision == "bf16":
            raise SaliencyCamError(
                "bf16 runs on --backend openvino only (CPUs with AVX512_BF16/AMX)"
            )
        from saliency_cam.realtime.runtime.backends.onnxruntime import OnnxRuntimeEngine

        return OnnxRuntimeEngine(path, choice, options, model_sha=model_sha)
    raise SaliencyCamError(f"backend {backend!r} cannot open a model directly (resolve auto first)")


__all__ = [
    "BACKENDS",
    "Engine",
    "EngineOptions",
    "check_backend",
    "installed_backends",
    "open_engine",
]
