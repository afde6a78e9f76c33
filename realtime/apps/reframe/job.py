"""Reframe a video to other aspect ratios (``saliency-cam reframe``), AutoFlip-style.

Two passes over the file:

1. **analyse**: decode + saliency in a threaded :class:`Pipeline`; per frame, the map is
   shrunk to ``analysis_width`` and, for every target aspect, the mass of every window
   position is read off its summed-area table (:mod:`.window`); PySceneDetect sees the
   same frames (:mod:`.shots`). Only these small per-frame arrays are kept.
2. **render**: per shot a smooth camera path (:mod:`.path`), then the file is decoded
   again and each target is cropped (or padded, :mod:`.padding`) and encoded with the
   input's audio, atomically.

>>> session = open_session("low")                                           # doctest: +SKIP
>>> targets = [ReframeTarget((9, 16), Path("out/talk_9x16.mp4"))]            # doctest: +SKIP
>>> result = run_reframe_job(session.predict, Path("talk.mp4"), targets)     # doctest: +SKIP
>>> print(result.tracks[0].quality.line())                                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from saliency_cam.models.atomic import atomic_write_text
from saliency_cam.models.errors import InputError
from saliency_cam.realtime.apps.reframe.padding import pad_frame
from saliency_cam.realtime.apps.reframe.path import PathSettings, shot_paths
from saliency_cam.realtime.apps.reframe.quality import QualityReport, path_jitter
from saliency_cam.realtime.apps.reframe.shots import ShotDetector, shot_ranges
from saliency_cam.realtime.apps.reframe.window import best_in, box_sums, even_size, integral
from saliency_cam.realtime.apps.reframe.window import window_size as fit_window
from saliency_cam.realtime.io.sources import Frame
from saliency_cam.realtime.io.video import VideoInfo, VideoSink, iter_frames, open_video_source
from saliency_cam.realtime.pipeline.stages import Pipeline
from saliency_cam.realtime.render.blend import colorize

#: ``saliency(frame_bgr) -> float map at the frame's size`` (``SaliencySession.predict``).
SaliencyFn = Callable[[np.ndarray], np.ndarray]


@runtime_checkable
class StoredSaliency(Protocol):
    """Maps computed earlier (the split reframe's phase 1), looked up by frame index
    instead of running a model: ``at(index)`` is the map at the frame's size, exactly
    what ``session.predict`` gave for that frame."""

    def at(self, index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class ReframeTarget:
    """One output: ``aspect`` (w, h), the video, and optionally the path JSON and the
    debug view (saliency, per-frame optimum and smoothed window side by side)."""

    aspect: tuple[int, int]
    output: Path
    path_json: Path | None = None
    debug_view: Path | None = None

    def paths(self) -> list[Path]:
        return [p for p in (self.output, self.path_json, self.debug_view) if p is not None]


@dataclass(frozen=True)
class ReframeSettings:
    """How to reframe. ``padding``: pad a shot whose salient content does not fit the
    window (the per-frame best window keeps less than ``pad_below`` of the mass) instead
    of cropping it; ``pad_style``: blur | black."""

    path: PathSettings = field(default_factory=PathSettings)
    padding: bool = False
    pad_style: str = "blur"
    pad_below: float = 0.6
    analysis_width: int = 192
    shot_threshold: float = 27.0
    min_shot_s: float = 0.5


@dataclass
class _Track:
    """Per-target analysis: window geometry and, per frame, the mass at every position
    along the one axis the window can move on."""

    target: ReframeTarget
    window: tuple[int, int]  # output window in frame pixels (even)
    small: tuple[int, int]  # the same window in analysis pixels
    axis: int  # 0: moves along x, 1: along y
    sums: list[np.ndarray] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    optimum: list[int] = field(default_factory=list)  # best position, analysis pixels

    def add(self, sat: np.ndarray) -> None:
        """One frame: the window's mass at every position, read off the frame's
        summed-area table ``sat``, its total and the best position."""
        sums = box_sums(sat, *self.small)
        sums = sums.ravel() if self.axis == 0 else sums[:, 0]
        self.sums.append(sums.astype(np.float32))
        self.totals.append(float(sat[-1, -1]))
        self.optimum.append(_best(sums))


@dataclass
class TrackResult:
    """What one target produced."""

    target: ReframeTarget
    size: tuple[int, int]
    quality: QualityReport
    outputs: list[Path]


@dataclass
class ReframeResult:
    """What one video produced and how fast."""

    source: Path
    info: VideoInfo
    frames: int
    cuts: list[int]
    tracks: list[TrackResult]
    seconds: float
    #: pieces whose maps were computed apart (``--split-seconds``); 1 = one pass
    pieces: int = 1

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def outputs(self) -> list[Path]:
        return [p for t in self.tracks for p in t.outputs]


def _make_track(target: ReframeTarget, info: VideoInfo, small_wh: tuple[int, int]) -> _Track:
    width, height = info.width, info.height
    w, h = even_size(fit_window(width, height, target.aspect))
    w, h = min(w, width), min(h, height)
    sw = max(1, min(small_wh[0], round(w * small_wh[0] / width)))
    sh = max(1, min(small_wh[1], round(h * small_wh[1] / height)))
    # the free axis: where the window is narrower than the frame (x when both are full)
    axis = 1 if (w >= width and h < height) else 0
    return _Track(target, (w, h), (sw, sh), axis)


def run_reframe_job(
    saliency: SaliencyFn | StoredSaliency,
    source: Path,
    targets: Sequence[ReframeTarget],
    settings: ReframeSettings | None = None,
    *,
    keep_audio: bool = True,
    note: str = "",
    info: VideoInfo | None = None,
    on_frame: Callable[[int, int], None] | None = None,
) -> ReframeResult:
    """Reframe ``source`` to every target in ``targets``; see the module docstring.

    ``saliency`` is usually ``session.predict``, or :class:`StoredSaliency` maps made
    earlier in pieces (``reframe --split-seconds``). ``on_frame(done, total)`` reports
    progress over both passes (``total`` = 2 × frames). Outputs appear only complete.
    """
    settings = settings or ReframeSettings()
    info = info or VideoInfo.from_path(source)
    started = time.perf_counter()
    small_w = max(8, min(settings.analysis_width, info.width))
    small_h = max(8, round(info.height * small_w / info.width))
    tracks = [_make_track(t, info, (small_w, small_h)) for t in targets]
    want_maps = any(t.debug_view is not None for t in targets)
    # ---- pass 1: saliency + cuts
    analysis = _analyse(
        saliency, source, info, tracks, settings, (small_w, small_h), want_maps, on_frame
    )
    frames, cuts, fps = analysis.frames, analysis.cuts, float(info.fps)
    # ---- plan: per target, the smoothed path and the shots to pad
    plans = [
        _plan(track, info, (small_w, small_h), cuts, frames, fps, settings) for track in tracks
    ]
    # ---- pass 2: crop/pad, encode, write
    audio = source if keep_audio and info.has_audio else None
    _encode(source, info, plans, analysis, settings.pad_style, audio, note, on_frame)
    results = [_track_result(plan, source) for plan in plans]
    return ReframeResult(source, info, frames, cuts, results, time.perf_counter() - started)


@dataclass
class _Analysis:
    """What pass 1 keeps besides the tracks: the frames decoded, the shot cuts, and the
    small maps as 8-bit (only for a debug view)."""

    frames: int
    cuts: list[int]
    maps: list[np.ndarray]


def _analyse(
    saliency: SaliencyFn | StoredSaliency,
    source: Path,
    info: VideoInfo,
    tracks: list[_Track],
    settings: ReframeSettings,
    small_wh: tuple[int, int],
    want_maps: bool,
    on_frame: Callable[[int, int], None] | None,
) -> _Analysis:
    """Pass 1: each frame's map, shrunk to ``small_wh``, its window masses added to every
    track, the frame shown to the shot detector (``on_frame`` counts over both passes)."""
    detector = ShotDetector(
        float(info.fps), threshold=settings.shot_threshold, min_shot_s=settings.min_shot_s
    )
    stored = saliency if isinstance(saliency, StoredSaliency) else None

    def analyse(frame: Frame) -> np.ndarray:
        full = stored.at(frame.index) if stored is not None else saliency(frame.image)
        return cv2.resize(full, small_wh, interpolation=cv2.INTER_AREA)

    maps: list[np.ndarray] = []
    frames, expected = 0, info.total_frames or 0
    with open_video_source(source, info) as video:
        for packet in Pipeline(video, analyse):
            small = np.maximum(packet.result, 0.0)
            detector.push(packet.frame.index, packet.frame.image)
            sat = integral(small)
            for track in tracks:
                track.add(sat)
            if want_maps:
                maps.append(np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8))
            frames += 1
            if on_frame is not None:
                on_frame(frames, 2 * max(frames, expected))
    if frames == 0:
        raise InputError(f"{source}: no decodable frames")
    return _Analysis(frames, detector.finish(), maps)


def _encode(
    source: Path,
    info: VideoInfo,
    plans: list[_Plan],
    analysis: _Analysis,
    pad_style: str,
    audio: Path | None,
    note: str,
    on_frame: Callable[[int, int], None] | None,
) -> None:
    """Pass 2: decode again; every frame cropped (or padded) per target and encoded,
    with the debug views; the outputs appear only complete."""
    frames = analysis.frames
    with contextlib.ExitStack() as stack:
        sinks = _open_sinks(stack, plans, info, audio, {"comment": note} if note else {})
        done = 0
        for index, image in enumerate(iter_frames(source)):
            if index >= frames:
                break
            for plan, (sink, debug) in zip(plans, sinks, strict=True):
                sink.write_frame(plan.render(index, image, pad_style))
                if debug is not None:
                    debug.write_frame(plan.debug(index, image, analysis.maps[index]))
            done += 1
            if on_frame is not None:
                on_frame(frames + done, 2 * frames)
        if done != frames:
            raise InputError(f"{source}: second decode gave {done} frames, the first {frames}")


def _open_sinks(
    stack: contextlib.ExitStack,
    plans: list[_Plan],
    info: VideoInfo,
    audio: Path | None,
    metadata: dict[str, str],
) -> list[tuple[VideoSink, VideoSink | None]]:
    """Per target, its video and (when asked) its debug view, open on ``stack``."""
    sinks = []
    for plan in plans:
        w, h = plan.track.window
        target = plan.track.target
        sink = stack.enter_context(
            VideoSink(target.output, info, width=w, height=h, audio_from=audio, metadata=metadata)
        )
        debug = None
        if target.debug_view is not None:
            dw, dh = _debug_size(info)
            debug = stack.enter_context(
                VideoSink(target.debug_view, info, width=2 * dw, height=dh, metadata=metadata)
            )
        sinks.append((sink, debug))
    return sinks


def _track_result(plan: _Plan, source: Path) -> TrackResult:
    """One target's result, its path JSON written (atomically) when asked."""
    target = plan.track.target
    outputs = [target.output]
    if target.debug_view is not None:
        outputs.append(target.debug_view)
    if target.path_json is not None:
        atomic_write_text(target.path_json, json.dumps(plan.as_json(source), indent=1))
        outputs.append(target.path_json)
    return TrackResult(target, plan.track.window, plan.quality, outputs)


def _best(sums: np.ndarray) -> int:
    return best_in(sums[None, :])[0]


@dataclass
class _Plan:
    track: _Track
    info: VideoInfo
    scale: float  # frame pixels per analysis pixel along the free axis
    path: np.ndarray  # window centre per frame, frame pixels, along the free axis
    optimum: np.ndarray  # per-frame best centre, frame pixels
    padded: np.ndarray  # bool per frame
    cuts: list[int]
    fps: float
    quality: QualityReport

    def window_at(self, centre: float) -> tuple[int, int]:
        """Top-left (x, y) of the window centred at ``centre`` on the free axis."""
        w, h = self.track.window
        if self.track.axis == 0:
            x = int(round(centre - w / 2.0))
            return min(max(0, x), self.info.width - w), (self.info.height - h) // 2
        y = int(round(centre - h / 2.0))
        return (self.info.width - w) // 2, min(max(0, y), self.info.height - h)

    def render(self, index: int, image: np.ndarray, pad_style: str) -> np.ndarray:
        w, h = self.track.window
        if self.padded[index]:
            return pad_frame(image, (w, h), pad_style)
        x, y = self.window_at(self.path[index])
        return np.ascontiguousarray(image[y : y + h, x : x + w])

    def debug(self, index: int, image: np.ndarray, small_map: np.ndarray) -> np.ndarray:
        """Frame | saliency, each with the per-frame optimum (red) and the smoothed
        window (green; yellow when the shot is padded)."""
        dw, dh = _debug_size(self.info)
        sx, sy = dw / self.info.width, dh / self.info.height
        left = cv2.resize(image, (dw, dh), interpolation=cv2.INTER_AREA)
        right = colorize(cv2.resize(small_map, (dw, dh)).astype(np.float32) / 255.0)
        w, h = self.track.window
        smooth = self.window_at(self.path[index])
        best = self.window_at(self.optimum[index])
        colour = (0, 230, 230) if self.padded[index] else (0, 220, 0)
        for panel in (left, right):
            for (x, y), col, thick in ((best, (0, 0, 255), 1), (smooth, colour, 2)):
                p0 = (int(x * sx), int(y * sy))
                p1 = (int((x + w) * sx) - 1, int((y + h) * sy) - 1)
                cv2.rectangle(panel, p0, p1, col, thick)
        return np.hstack([left, right])

    def as_json(self, source: Path) -> dict[str, object]:
        w, h = self.track.window
        frames = []
        for i in range(len(self.path)):
            x, y = self.window_at(self.path[i])
            ox, oy = self.window_at(self.optimum[i])
            frames.append(
                {
                    "i": i,
                    "t": round(i / self.fps, 4),
                    "x": x,
                    "y": y,
                    "w": w,
                    "h": h,
                    "optimum_x": ox,
                    "optimum_y": oy,
                    "padded": bool(self.padded[i]),
                }
            )
        return {
            "source": str(source),
            "frame_size": [self.info.width, self.info.height],
            "fps": self.fps,
            "aspect": list(self.track.target.aspect),
            "window": [w, h],
            "cuts": self.cuts,
            "quality": self.quality.as_dict(),
            "frames": frames,
        }


def _debug_size(info: VideoInfo) -> tuple[int, int]:
    width = min(info.width, 480)
    height = max(2, round(info.height * width / info.width) // 2 * 2)
    return width // 2 * 2, height


def _plan(
    track: _Track,
    info: VideoInfo,
    small_wh: tuple[int, int],
    cuts: list[int],
    frames: int,
    fps: float,
    settings: ReframeSettings,
) -> _Plan:
    extent = info.width if track.axis == 0 else info.height
    small_extent = small_wh[track.axis]
    win = track.window[track.axis]
    small_win = track.small[track.axis]
    scale = extent / small_extent
    optimum = (np.asarray(track.optimum, np.float64) + small_win / 2.0) * scale
    path = shot_paths(
        optimum, cuts, fps=fps, frame_extent=extent, window_extent=win, settings=settings.path
    )
    totals = np.maximum(np.asarray(track.totals), 1e-12)

    def kept(centres: np.ndarray) -> np.ndarray:
        out = np.empty(frames)
        for i in range(frames):
            sums = track.sums[i]
            pos = int(round((centres[i] - win / 2.0) / scale))
            out[i] = sums[min(max(pos, 0), len(sums) - 1)] / totals[i]
        return out

    centre = np.full(frames, extent / 2.0)
    kept_path, kept_opt, kept_centre = kept(path), kept(optimum), kept(centre)
    padded = np.zeros(frames, bool)
    shots = shot_ranges(cuts, frames)
    if settings.padding:
        for start, stop in shots:
            if kept_opt[start:stop].mean() < settings.pad_below:
                padded[start:stop] = True
                kept_path[start:stop] = 1.0  # the whole frame is shown
    quality = QualityReport(
        kept=float(kept_path.mean()),
        kept_centre=float(kept_centre.mean()),
        kept_optimum=float(kept_opt.mean()),
        jitter=path_jitter(path, cuts),
        jitter_optimum=path_jitter(optimum, cuts),
        shots=len(shots),
        padded_shots=sum(1 for a, b in shots if padded[a:b].any()),
    )
    return _Plan(track, info, scale, path, optimum, padded, cuts, fps, quality)


def reframe_task(session, source: Path, **kwargs) -> ReframeResult:
    """:func:`run_reframe_job` with a session (the per-file work for the batch runner),
    or with :class:`StoredSaliency` maps in its place (the split reframe's phase 2)."""
    saliency = session if isinstance(session, StoredSaliency) else session.predict
    return run_reframe_job(saliency, source, **kwargs)
