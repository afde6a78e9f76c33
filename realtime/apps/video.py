"""Saliency for a whole video file (``saliency-cam video``): every frame, in order.

Decoding, inference and rendering/encoding run in three threads over bounded queues
(:class:`~saliency_cam.realtime.pipeline.stages.Pipeline`), so a run goes at the speed of its
slowest stage. Outputs: the blended video (a view: overlay, heatmap, side), and/or the
raw maps as a grayscale video or one PNG (8/16-bit) or .npy file per frame.

>>> outputs = VideoOutputs.for_main(Path("out/clip_saliency.mp4"), maps="png8")  # doctest: +SKIP
>>> result = run_video_job(session, Path("clip.mp4"), outputs)                   # doctest: +SKIP
>>> result.frames, result.fps                                                    # doctest: +SKIP
(300, 41.7)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.errors import InputError, SaliencyCamError
from saliency_cam.realtime.apps.image import write_npy, write_png
from saliency_cam.realtime.io.sources import Frame
from saliency_cam.realtime.io.video import VideoInfo, VideoSink, open_video_source
from saliency_cam.realtime.pipeline.stages import Pipeline
from saliency_cam.realtime.render.blend import TemporalSmoother, render, resolve_colormap, to_uint8
from saliency_cam.realtime.runtime.session import SaliencySession

#: ``--maps`` choices: a grayscale video, or one file per frame.
MAPS_MODES: tuple[str, ...] = ("video", "png8", "png16", "npy")

MAP_VIDEO_TAG = "_map"
FRAMES_DIR_TAG = "_maps"


def resolve_maps(name: str | None) -> str | None:
    """Validate a ``--maps`` value (None/"" = no raw maps)."""
    if not name:
        return None
    key = name.strip().lower()
    if key not in MAPS_MODES:
        raise SaliencyCamError(f"unknown --maps {name!r}: choose one of {', '.join(MAPS_MODES)}")
    return key


@dataclass(frozen=True)
class VideoOutputs:
    """Where one input's results go; None for what was not asked for.

    Derived names come from the main output ``out/clip_saliency.mp4``:
    ``out/clip_saliency_map.mp4`` (grayscale map video) and
    ``out/clip_saliency_maps/000000.png`` … (per-frame maps).
    """

    blend: Path | None
    map_video: Path | None = None
    frames_dir: Path | None = None
    frames_format: str | None = None

    @classmethod
    def for_main(cls, main: Path, *, blend: bool = True, maps: str | None = None) -> VideoOutputs:
        maps = resolve_maps(maps)
        if not blend and maps is None:
            raise SaliencyCamError("nothing to write: --no-blend needs --maps video|png8|png16|npy")
        stem = main.with_suffix("")
        per_frame = maps in ("png8", "png16", "npy")
        return cls(
            blend=main if blend else None,
            map_video=Path(f"{stem}{MAP_VIDEO_TAG}{main.suffix}") if maps == "video" else None,
            frames_dir=Path(f"{stem}{FRAMES_DIR_TAG}") if per_frame else None,
            frames_format=maps if per_frame else None,
        )

    def paths(self) -> list[Path]:
        """Every output path (files and the per-frame folder)."""
        return [p for p in (self.blend, self.map_video, self.frames_dir) if p is not None]


@dataclass(frozen=True)
class VideoStyle:
    """How the blended video looks (see :func:`~saliency_cam.realtime.render.blend.render`)."""

    view: str = "overlay"
    alpha: float = 0.5
    colormap: str = "inferno"
    smooth: float = 0.0


@dataclass
class VideoResult:
    """What one video produced and how fast."""

    source: Path
    info: VideoInfo
    outputs: list[Path]
    frames: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _map_file_writer(folder: Path, fmt: str, note: str) -> Callable[[int, np.ndarray], None]:
    folder.mkdir(parents=True, exist_ok=True)

    def write(index: int, saliency: np.ndarray) -> None:
        name = folder / f"{index:06d}"
        if fmt == "npy":
            write_npy(name.with_suffix(".npy"), saliency.astype(np.float32, copy=False))
        elif fmt == "png16":
            levels = np.clip(saliency * 65535.0 + 0.5, 0, 65535).astype(np.uint16)
            write_png(name.with_suffix(".png"), levels, note=note)
        else:
            write_png(name.with_suffix(".png"), to_uint8(saliency), note=note)

    return write


def run_video_job(
    session: SaliencySession,
    source: Path,
    outputs: VideoOutputs,
    style: VideoStyle | None = None,
    *,
    keep_audio: bool = False,
    note: str = "",
    info: VideoInfo | None = None,
    on_start: Callable[[VideoInfo], None] | None = None,
    on_frame: Callable[[int], None] | None = None,
    queue_size: int = 4,
    batch: int = 1,
) -> VideoResult:
    """Run the saliency model over every frame of ``source`` and write ``outputs``.

    ``keep_audio`` copies the input's audio track into the blended video. ``note`` (the
    model label, saying UNTRAINED for random weights) goes into the files' metadata.
    ``on_start(info)`` runs once the input is probed, ``on_frame(n)`` after each written
    frame (for a progress bar). ``batch`` > 1 runs that many frames per inference
    (throughput mode: :meth:`SaliencySession.predict_batch`). Any failure removes the
    partly written videos (they only ever carry a temporary name); per-frame map files
    each appear only once complete, so an interrupted run leaves whole files for the
    frames done so far.
    """
    style = style or VideoStyle()
    colormap = resolve_colormap(style.colormap)
    info = info or VideoInfo.from_path(source)
    if on_start is not None:
        on_start(info)
    smoother = TemporalSmoother(style.smooth)

    def infer(frame: Frame) -> np.ndarray:
        saliency = smoother(session.predict(frame.image))
        # the smoother updates its state in place: hand the writer its own copy
        return saliency.copy() if style.smooth > 0 else saliency

    def infer_batch(frames: list[Frame]) -> list[np.ndarray]:
        maps = session.predict_batch([frame.image for frame in frames])
        if style.smooth <= 0:
            return maps
        return [smoother(saliency).copy() for saliency in maps]  # in order: state carries

    metadata = {"comment": note} if note else {}
    width = info.width * (2 if style.view == "side" else 1)
    written = 0
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        blend_sink = map_sink = None
        if outputs.blend is not None:
            audio = source if keep_audio and info.has_audio else None
            blend_sink = stack.enter_context(
                VideoSink(outputs.blend, info, width=width, audio_from=audio, metadata=metadata)
            )
        if outputs.map_video is not None:
            map_sink = stack.enter_context(VideoSink(outputs.map_video, info, metadata=metadata))
        write_map_file = (
            _map_file_writer(outputs.frames_dir, outputs.frames_format or "png8", note)
            if outputs.frames_dir is not None
            else None
        )
        video = stack.enter_context(open_video_source(source, info))
        pipeline: Pipeline[np.ndarray] = Pipeline(
            video, infer, queue_size=queue_size, batch=batch, process_batch=infer_batch
        )
        for packet in pipeline:
            saliency = packet.result
            if packet.frame.image.shape[:2] != (info.height, info.width):
                raise InputError(
                    f"{source}: frame {packet.frame.index} is "
                    f"{packet.frame.image.shape[1]}×{packet.frame.image.shape[0]}, not "
                    f"{info.width}×{info.height}: videos that change size are not supported"
                )
            if blend_sink is not None:
                picture = render(packet.frame.image, saliency, style.view, style.alpha, colormap)
                blend_sink.write_frame(picture)
            if map_sink is not None:
                map_sink.write_frame(to_uint8(saliency))
            if write_map_file is not None:
                write_map_file(packet.frame.index, saliency)
            written += 1
            if on_frame is not None:
                on_frame(written)
    seconds = time.perf_counter() - started
    return VideoResult(
        source=source,
        info=info,
        outputs=outputs.paths(),
        frames=written,
        seconds=seconds,
        stats=pipeline.stats.summary(),
    )
