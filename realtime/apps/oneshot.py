"""One-call conveniences behind the public API: ``predict`` a picture with a cached
session, and ``process_video`` a file to a file. Every argument left out takes the
defaults every door shares (``runtime/defaults.py``), so ``predict(path)`` runs the
model ``saliency-cam image path`` runs.

>>> from saliency_cam import predict
>>> saliency = predict("cat.jpg", quality="high")         # doctest: +SKIP
>>> saliency.shape == load_image("cat.jpg").shape[:2]      # doctest: +SKIP
True
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from saliency_cam.models.errors import InputError
from saliency_cam.realtime.apps.video import (
    FrameCallback,
    VideoOutputs,
    VideoResult,
    VideoStyle,
    run_video_job,
)
from saliency_cam.realtime.io.images import decode_image, load_image
from saliency_cam.realtime.runtime.resolve import ModelArg, cached_session
from saliency_cam.realtime.runtime.session import SaliencySession, export_hint
from saliency_cam.realtime.runtime.untrained import label_untrained

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

#: What ``predict`` takes: a BGR array, a path, an http(s) URL or a PIL image.
ImageArg = Union[np.ndarray, str, os.PathLike, "PILImage"]

#: Largest picture ``predict`` downloads from a URL.
MAX_URL_BYTES = 64 * 1024 * 1024


def read_picture(image: ImageArg) -> np.ndarray:
    """A BGR uint8 picture from an array (returned as given), a path, an http(s) URL
    or a PIL image, through the one image loader (EXIF orientation applied)."""
    if isinstance(image, np.ndarray):
        return image
    if isinstance(image, (str, os.PathLike)):
        text = os.fspath(image)
        if isinstance(text, str) and text.startswith(("http://", "https://")):
            return decode_image(_download(text), text)
        return load_image(text)
    if hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image, without importing PIL
        import io

        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return decode_image(buffer.getvalue(), "PIL image")
    raise InputError(
        f"cannot read a picture from {type(image).__name__}: give a BGR array, a path, "
        "an http(s) URL or a PIL image"
    )


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - http(s) only
            data = answer.read(MAX_URL_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{url}: cannot download ({exc})") from exc
    if len(data) > MAX_URL_BYTES:
        raise InputError(f"{url}: larger than {MAX_URL_BYTES // 2**20} MiB")
    return data


def predict(
    image: ImageArg,
    quality: str | None = None,
    *,
    model: ModelArg | None = None,
    precision: str | None = None,
    backend: str | None = None,
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
    session: SaliencySession | None = None,
) -> np.ndarray:
    """Saliency of one picture: a BGR array of any size (as OpenCV reads it), a path or
    URL (read upright, like ``saliency-cam image``) or a PIL image. Returns a float32
    (H, W) map in [0, 1] at the picture's own size. ``quality`` is the preset,
    ``model`` any model by name or file; the session is opened on first use and cached.

    A model with seeded random weights gives an :class:`UntrainedMap` and an
    :class:`UntrainedModelWarning`, as the CLI labels its outputs: :func:`render` then
    writes the UNTRAINED line into the picture.

    >>> saliency = predict("street.jpg")                        # doctest: +SKIP
    >>> saliency = predict(cv2.imread("street.jpg"), "very_high")   # doctest: +SKIP
    """
    picture = read_picture(image)
    session = session or cached_session(
        quality, precision, device, models_dir, model=model, backend=backend
    )
    saliency = session.predict(picture)
    if not session.trained:
        variant = session.variant
        fix = export_hint(variant.preset, variant.precision, variant.directory)
        return label_untrained(saliency, f"{variant.preset} {variant.precision}", fix)
    return saliency


def process_video(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    quality: str | None = None,
    model: ModelArg | None = None,
    precision: str | None = None,
    backend: str | None = None,
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
    view: str = "overlay",
    alpha: float = 0.5,
    colormap: str = "inferno",
    smooth: float = 0.0,
    reuse: int = 1,
    maps: str | None = None,
    keep_audio: bool = True,
    callback: FrameCallback | None = None,
    session: SaliencySession | None = None,
) -> VideoResult:
    """Write the saliency video of ``source`` to ``output`` (every frame, in order, the
    audio kept), like ``saliency-cam video``; ``maps`` adds the raw maps (``video``,
    ``png8``, ``png16`` or ``npy``). ``reuse`` N runs the network every N-th frame (or
    sooner on a scene change or cut) and warps the last map along the motion in between
    (``result.stats["reuse"]["computed_frames"]`` lists the frames it ran on). The output
    appears only when complete. ``callback(frame, saliency, picture)`` sees every
    annotated frame before it is written: draw on ``picture`` in place, or return a new
    picture of its shape.

    >>> def label(frame, saliency, picture):
    ...     cv2.putText(picture, f"{frame.index}", (8, 24), 0, 0.8, (255, 255, 255))
    >>> result = process_video("talk.mp4", "talk_saliency.mp4", callback=label)  # doctest: +SKIP
    >>> result.frames, round(result.fps)                                         # doctest: +SKIP
    (900, 38)
    """
    from saliency_cam.realtime.io.inputs import refuse_overwriting_inputs

    source, output = Path(source), Path(output)
    outputs = VideoOutputs.for_main(output, maps=maps)
    refuse_overwriting_inputs([source], outputs.paths())
    session = session or cached_session(
        quality, precision, device, models_dir, model=model, backend=backend
    )
    style = VideoStyle(view=view, alpha=alpha, colormap=colormap, smooth=smooth, reuse=reuse)
    return run_video_job(
        session,
        source,
        outputs,
        style,
        keep_audio=keep_audio,
        note=session.note,
        callback=callback,
    )
