"""saliency-cam: where people will look, in a camera feed, a video or a picture.

The public API. Everything a library user needs is importable from here; the command
line calls these same functions.

>>> import cv2
>>> from saliency_cam import open_session, render
>>> session = open_session("medium", device="cpu")        # doctest: +SKIP
>>> frame = cv2.imread("street.jpg")                       # doctest: +SKIP
>>> saliency = session.predict(frame)                      # float32 (H, W) in [0, 1]
>>> cv2.imwrite("overlay.png", render(frame, saliency))    # doctest: +SKIP

One-shot calls: ``predict("photo.jpg", quality="high")`` (a cached session; paths,
URLs, PIL images and arrays), ``process_video("in.mp4", "out.mp4", callback=...)``,
``export(quality=["medium"])`` and ``evaluate("stimuli/", fixations="fix/")``. Left
out, the model, precision and backend are the defaults every door shares
(``runtime/defaults.py``). ``train("my_study/", name="mine")`` fine-tunes
MSI-Net on eye-tracking data (export extra) and registers the model as ``mine``.
``open_source(0 | "clip.mp4" | "shots/*.jpg" | array)`` yields frames; ``list_models()``
says what is available and exported.
``create_app(ServeConfig(...))`` is the web app and HTTP API (``saliency-cam serve``).

Importing this package is cheap: the names below load their modules (OpenCV,
onnxruntime, PyAV) on first use, so ``import saliency_cam.models`` stays light.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# TensorFlow (export and train; POT loads it too) prints C++ INFO lines (CPU features,
# graph passes), one copy from each of its libraries that loads: quiet them before any
# of it loads, for every entry point (CLI, library, tests). Errors still show;
# setdefault: a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from saliency_cam.models.version import VERSION  # noqa: E402 - after the log level

if TYPE_CHECKING:
    from saliency_cam.export.training import train
    from saliency_cam.models.catalog import ModelEntry, list_models
    from saliency_cam.models.contract import Contract
    from saliency_cam.models.errors import InputError, ModelNotFoundError, SaliencyCamError
    from saliency_cam.models.registry import Preset
    from saliency_cam.realtime.apps.oneshot import predict, process_video
    from saliency_cam.realtime.apps.reframe.crop import crop_image
    from saliency_cam.realtime.apps.reframe.job import (
        ReframeSettings,
        ReframeTarget,
        run_reframe_job,
    )
    from saliency_cam.realtime.apps.reframe.window import best_window
    from saliency_cam.realtime.apps.serve import ServeConfig as ServeConfig
    from saliency_cam.realtime.apps.serve import create_app as create_app
    from saliency_cam.realtime.apps.video import VideoResult
    from saliency_cam.realtime.evaluate.run import evaluate
    from saliency_cam.realtime.evaluate.scoring import EvaluationReport
    from saliency_cam.realtime.io.images import load_image
    from saliency_cam.realtime.io.sources import Frame, FrameSource, open_source
    from saliency_cam.realtime.io.video import VideoInfo, VideoSink
    from saliency_cam.realtime.render.blend import colorize, render
    from saliency_cam.realtime.runtime.added_models import add_model
    from saliency_cam.realtime.runtime.session import ResolvedModel, SaliencySession, open_session
    from saliency_cam.realtime.runtime.untrained import UntrainedMap, UntrainedModelWarning

__version__ = VERSION

# name -> module that owns it (loaded on first attribute access, PEP 562)
_EXPORTS: dict[str, str] = {
    "open_session": "saliency_cam.realtime.runtime.session",
    "ResolvedModel": "saliency_cam.realtime.runtime.session",
    "VideoInfo": "saliency_cam.realtime.io.video",
    "VideoSink": "saliency_cam.realtime.io.video",
    "evaluate": "saliency_cam.realtime.evaluate.run",
    "EvaluationReport": "saliency_cam.realtime.evaluate.scoring",
    "SaliencySession": "saliency_cam.realtime.runtime.session",
    "predict": "saliency_cam.realtime.apps.oneshot",
    "process_video": "saliency_cam.realtime.apps.oneshot",
    "VideoResult": "saliency_cam.realtime.apps.video",
    "run_reframe_job": "saliency_cam.realtime.apps.reframe.job",
    "ReframeTarget": "saliency_cam.realtime.apps.reframe.job",
    "ReframeSettings": "saliency_cam.realtime.apps.reframe.job",
    "crop_image": "saliency_cam.realtime.apps.reframe.crop",
    "best_window": "saliency_cam.realtime.apps.reframe.window",
    "open_source": "saliency_cam.realtime.io.sources",
    "Frame": "saliency_cam.realtime.io.sources",
    "FrameSource": "saliency_cam.realtime.io.sources",
    "load_image": "saliency_cam.realtime.io.images",
    "render": "saliency_cam.realtime.render.blend",
    "colorize": "saliency_cam.realtime.render.blend",
    "list_models": "saliency_cam.models.catalog",
    "UntrainedMap": "saliency_cam.realtime.runtime.untrained",
    "UntrainedModelWarning": "saliency_cam.realtime.runtime.untrained",
    "add_model": "saliency_cam.realtime.runtime.added_models",
    "Contract": "saliency_cam.models.contract",
    # the web app and HTTP API: needs the serve extra, so left out of __all__
    # (``from saliency_cam import *`` must work on a plain install)
    "create_app": "saliency_cam.realtime.apps.serve",
    "ServeConfig": "saliency_cam.realtime.apps.serve",
    "ModelEntry": "saliency_cam.models.catalog",
    "Preset": "saliency_cam.models.registry",
    "SaliencyCamError": "saliency_cam.models.errors",
    "InputError": "saliency_cam.models.errors",
    "ModelNotFoundError": "saliency_cam.models.errors",
    # needs the export extra (TensorFlow), imported only when called
    "train": "saliency_cam.export.training",
}

# create_app/ServeConfig (the serve extra) load lazily too, but stay out of ``import *``.
__all__ = [
    "EvaluationReport",
    "Contract",
    "Frame",
    "FrameSource",
    "InputError",
    "ModelEntry",
    "ModelNotFoundError",
    "Preset",
    "ReframeSettings",
    "ResolvedModel",
    "ReframeTarget",
    "SaliencyCamError",
    "SaliencySession",
    "VideoInfo",
    "UntrainedMap",
    "UntrainedModelWarning",
    "VideoResult",
    "VideoSink",
    "add_model",
    "best_window",
    "colorize",
    "crop_image",
    "evaluate",
    "export",
    "list_models",
    "load_image",
    "open_session",
    "open_source",
    "predict",
    "process_video",
    "render",
    "run_reframe_job",
    "train",
]


def __getattr__(name: str) -> Any:
    if name == "export":
        # the export subpackage is itself callable (export/__init__.py): importing any
        # saliency_cam.export.* module binds it here under this name anyway
        return importlib.import_module("saliency_cam.export")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'saliency_cam' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, "export"})
