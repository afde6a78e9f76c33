"""One-call conveniences behind the public API: ``predict`` an image or a path with a
cached session, and ``process_video`` a file to a file.

>>> from saliency_cam import predict
>>> saliency = predict("cat.jpg", quality="high")         # doctest: +SKIP
>>> saliency.shape == load_image("cat.jpg").shape[:2]      # doctest: +SKIP
True
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from saliency_cam.realtime.apps.video import VideoOutputs, VideoResult, VideoStyle, run_video_job
from saliency_cam.realtime.io.images import load_image
from saliency_cam.realtime.runtime.session import SaliencySession, open_session

_SessionKey = tuple[str, str, str, str | None]
_sessions: dict[_SessionKey, SaliencySession] = {}
_sessions_lock = threading.Lock()


def cached_session(
    quality: str = "medium",
    precision: str = "fp32",
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
) -> SaliencySession:
    """The session for these settings, opened once per process and then reused."""
    key = (quality, precision, device, None if models_dir is None else str(models_dir))
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = open_session(quality, precision, device, models_dir)
        return session


def predict(
    image: np.ndarray | str | os.PathLike[str],
    quality: str = "medium",
    *,
    precision: str = "fp32",
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
    session: SaliencySession | None = None,
) -> np.ndarray:
    """Saliency of one image: a BGR array of any size (as OpenCV reads it) or a path
    (read upright, like ``saliency-cam image``). Returns a float32 (H, W) map in [0, 1]
    at the image's own size. The session is opened on first use and cached.

    >>> saliency = predict(cv2.imread("street.jpg"), "very_high")   # doctest: +SKIP
    """
    picture = image if isinstance(image, np.ndarray) else load_image(image)
    session = session or cached_session(quality, precision, device, models_dir)
    return session.predict(picture)


def process_video(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    quality: str = "medium",
    precision: str = "fp32",
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
    view: str = "overlay",
    alpha: float = 0.5,
    colormap: str = "inferno",
    smooth: float = 0.0,
    reuse: int = 1,
    maps: str | None = None,
    keep_audio: bool = True,
    session: SaliencySession | None = None,
) -> VideoResult:
    """Write the saliency video of ``source`` to ``output`` (every frame, in order, the
    audio kept), like ``saliency-cam video``; ``maps`` adds the raw maps (``video``,
    ``png8``, ``png16`` or ``npy``). ``reuse`` N runs the network every N-th frame (or
    sooner on a scene change or cut) and warps the last map along the motion in between
    (``result.stats["reuse"]["computed_frames"]`` lists the frames it ran on). The output
    appears only when complete.

    >>> result = process_video("talk.mp4", "talk_saliency.mp4", quality="high")  # doctest: +SKIP
    >>> result.frames, round(result.fps)                                         # doctest: +SKIP
    (900, 38)
    """
    from saliency_cam.realtime.io.inputs import refuse_overwriting_inputs

    source, output = Path(source), Path(output)
    outputs = VideoOutputs.for_main(output, maps=maps)
    refuse_overwriting_inputs([source], outputs.paths())
    session = session or cached_session(quality, precision, device, models_dir)
    style = VideoStyle(view=view, alpha=alpha, colormap=colormap, smooth=smooth, reuse=reuse)
    return run_video_job(session, source, outputs, style, keep_audio=keep_audio, note=session.note)
