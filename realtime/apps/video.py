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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saliency_cam.models.atomic import partial_path
from saliency_cam.models.errors import InputError, SaliencyCamError
from saliency_cam.models.media import VIDEO_OUTPUT_SUFFIXES, VIDEO_SUFFIXES
from saliency_cam.realtime.apps.interrupt import STOP, Interrupted, StopRequest
from saliency_cam.realtime.apps.plan import Plan
from saliency_cam.realtime.apps.video_frames import FrameCallback, FrameMaps, FrameWriters
from saliency_cam.realtime.io.inputs import (
    expand_inputs,
    plan_outputs,
    refuse_overwriting_inputs,
    skip_own_outputs,
)
from saliency_cam.realtime.io.video import VideoInfo, open_video_source
from saliency_cam.realtime.pipeline.reuse import ReuseStep
from saliency_cam.realtime.pipeline.stages import Pipeline
from saliency_cam.realtime.render.blend import resolve_colormap
from saliency_cam.realtime.runtime.session import SaliencySession

#: ``--maps`` choices: a grayscale video, or one file per frame.
MAPS_MODES: tuple[str, ...] = ("video", "png8", "png16", "npy")

MAP_VIDEO_TAG = "_map"
FRAMES_DIR_TAG = "_maps"
POINTS_TAG = "_points"


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
    #: ``out/clip_saliency_points.csv``: per frame, the centroid and top ``points_k`` points
    points: Path | None = None
    points_k: int = 0

    @classmethod
    def for_main(
        cls, main: Path, *, blend: bool = True, maps: str | None = None, points: int = 0
    ) -> VideoOutputs:
        maps = resolve_maps(maps)
        if not blend and maps is None and not points:
            raise SaliencyCamError(
                "nothing to write: --no-blend needs --maps video|png8|png16|npy or --points K"
            )
        stem = main.with_suffix("")
        per_frame = maps in ("png8", "png16", "npy")
        return cls(
            blend=main if blend else None,
            map_video=Path(f"{stem}{MAP_VIDEO_TAG}{main.suffix}") if maps == "video" else None,
            frames_dir=Path(f"{stem}{FRAMES_DIR_TAG}") if per_frame else None,
            frames_format=maps if per_frame else None,
            points=Path(f"{stem}{POINTS_TAG}.csv") if points else None,
            points_k=points,
        )

    def paths(self) -> list[Path]:
        """Every output path (files and the per-frame folder)."""
        outputs = (self.blend, self.map_video, self.frames_dir, self.points)
        return [p for p in outputs if p is not None]

    def partial_paths(self) -> list[Path]:
        """Where a stopped run keeps each unfinished output (``clip_saliency.partial.mp4``,
        ``clip_saliency_maps.partial``)."""
        return [partial_path(p, folder=p == self.frames_dir) for p in self.paths()]


@dataclass(frozen=True)
class VideoStyle:
    """How the blended video looks (see :func:`~saliency_cam.realtime.render.blend.render`)."""

    view: str = "overlay"
    alpha: float = 0.5
    colormap: str = "inferno"
    smooth: float = 0.0
    #: ``--reuse N``: run the network every N-th frame (sooner on a scene change or
    #: cut) and warp the last map along the motion in between
    #: (:class:`~saliency_cam.realtime.pipeline.reuse.MapPropagator`); 1 = every frame.
    reuse: int = 1


@dataclass
class VideoResult:
    """What one video produced and how fast. ``ended_early`` says when the input held
    fewer frames than it declares (a truncated file), else None."""

    source: Path
    info: VideoInfo
    outputs: list[Path]
    frames: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    ended_early: str | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


#: What ``saliency-cam video`` will do: one :class:`VideoOutputs` per input, the
#: arguments that named nothing usable and the files skipped as its own earlier outputs.
VideoPlan = Plan[dict[Path, VideoOutputs]]


def plan_video_jobs(
    inputs: Sequence[str | Path],
    output: Path | None = None,
    *,
    blend: bool = True,
    maps: str | None = None,
    points: int = 0,
) -> VideoPlan:
    """Expand ``inputs`` (files, folders, globs) and name every output, before any work.

    ``output``: None (next to each input, ``<name>_saliency.mp4``), one video file
    (one input only) or a folder. Files this command wrote earlier (found again when a
    folder is rerun) are skipped. Raises :class:`SaliencyCamError` for a usage error
    (an ``-o`` that is not a video type, one file for several inputs, an output that
    would overwrite an input).

    >>> plan = plan_video_jobs(["clips"], Path("out"))      # doctest: +SKIP
    >>> [str(o.blend) for o in plan.jobs.values()]          # doctest: +SKIP
    ['out/a_saliency.mp4', 'out/b_saliency.mp4']
    """
    resolve_maps(maps)
    suffix = output.suffix.lower() if output is not None else ""
    if output is not None and suffix not in ("", *VIDEO_OUTPUT_SUFFIXES) and not output.is_dir():
        raise SaliencyCamError(
            f"-o {output}: not a video file type ({', '.join(VIDEO_OUTPUT_SUFFIXES)}) "
            "nor an existing folder"
        )
    found = expand_inputs(inputs, VIDEO_SUFFIXES - {".gif"})

    def outputs_of(paths: Sequence[Path], *, every: bool = False) -> dict[Path, VideoOutputs]:
        plan = plan_outputs(paths, output, "_saliency", ".mp4")
        kind = "video" if every else maps
        return {
            src: VideoOutputs.for_main(main, blend=blend or every, maps=kind, points=points)
            for src, main in plan.items()
        }

    def own_outputs(ps: Sequence[Path]) -> list[Path]:
        planned = outputs_of(ps, every=True).values()
        return [p for o in planned for p in (*o.paths(), *o.partial_paths())]

    paths, skipped = skip_own_outputs(found.paths, own_outputs, named=inputs)
    is_file = suffix in VIDEO_OUTPUT_SUFFIXES and output is not None and not output.is_dir()
    if is_file and len(paths) > 1:
        raise SaliencyCamError(
            f"-o {output} is one file but there are {len(paths)} inputs: give a folder with -o"
        )
    jobs = outputs_of(paths)
    refuse_overwriting_inputs(paths, [p for o in jobs.values() for p in o.paths()])
    return VideoPlan(jobs, list(found.problems), skipped)


def media_thread_budget(cores: int | None = None) -> int | None:
    """Threads for the encoder and OpenCV in a video job on ``cores`` cores (default:
    the usable ones). The network keeps every core: it is the slowest stage, and its
    threads are the ones a frame waits for. On a small machine (≤ 4 cores) the media
    stages get one thread each: their own pools (x264 takes 1.5 threads per core,
    OpenCV one per core) would otherwise compete with the network's threads for the
    same cores. Larger machines keep the libraries' defaults (None).

    >>> media_thread_budget(2), media_thread_budget(16)
    (1, None)
    """
    import os

    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        cores = cores or os.cpu_count() or 1
    return 1 if cores <= 4 else None


@contextlib.contextmanager
def opencv_threads(count: int):
    """OpenCV's thread pool limited to ``count`` for the ``with`` block (process-wide:
    OpenCV has one pool), then restored."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


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
    stop: StopRequest = STOP,
    batch: int | None = 1,
    callback: FrameCallback | None = None,
    media_threads: int | None = -1,
) -> VideoResult:
    """Run the saliency model over every frame of ``source`` and write ``outputs``.

    Each output frame keeps its input frame's timestamp, so variable-frame-rate videos
    keep their timing and ``keep_audio`` (the input's audio copied into the blended
    video) stays in sync. ``note`` (the model label, saying UNTRAINED for random
    weights) goes into the files' metadata. ``on_start(info)`` runs once the input is
    probed, ``on_frame(n)`` after each written frame (for a progress bar). ``batch`` > 1
    runs that many frames per inference (throughput mode:
    :meth:`SaliencySession.predict_batch`); ``None`` picks it for ``session``'s device
    (:func:`~saliency_cam.realtime.runtime.session.auto_batch`: how ``--batch auto``
    reaches the sessions of ``--workers``). ``media_threads`` caps the encoder's and
    OpenCV's threads for this job (-1: :func:`media_thread_budget`; None: their own
    defaults), so they do not fight the network over the cores.

    Any failure removes what this input was writing: videos only ever carry a
    temporary name and the per-frame maps go into a temporary folder, renamed when
    complete. Ctrl-C/SIGTERM/SIGHUP (``stop``) finish the frame in hand, join the
    threads, finish the files and keep them under :meth:`VideoOutputs.partial_paths`
    (``clip_saliency.partial.mp4``, playable; nothing when no frame was done), then raise
    :class:`~saliency_cam.realtime.apps.interrupt.Interrupted` carrying a
    :class:`VideoResult` of what was kept as ``.partial``. A later complete run removes
    the partial files. A file that ends before the frames it declares gives
    ``result.ended_early``.

    ``callback(frame, saliency, picture)`` runs on every frame before it is written,
    with the annotated picture (BGR, what the blended video gets): it may draw on it in
    place or return a new picture of the same shape to write instead (None keeps it).
    """
    style = style or VideoStyle()
    colormap = resolve_colormap(style.colormap)
    info = info or VideoInfo.from_path(source)
    if on_start is not None:
        on_start(info)
    maps = FrameMaps(session, style.reuse, style.smooth)
    writers = FrameWriters(
        style.view, style.alpha, colormap, not session.trained, callback, maps.reuse is not None
    )
    if media_threads == -1:
        media_threads = media_thread_budget()
    audio = source if keep_audio and info.has_audio else None
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(stop.armed())
            if media_threads:
                stack.enter_context(opencv_threads(media_threads))
            writers.open(stack, outputs, info, audio_from=audio, note=note, threads=media_threads)
            video = stack.enter_context(open_video_source(source, info))
            pipeline: Pipeline[ReuseStep] = Pipeline(
                video,
                maps.one,
                queue_size=queue_size,
                batch=maps.frames_per_run(batch),
                process_batch=maps.batch,
                label=lambda step: step.kind,
            )
            # Unwinding (last in, first out): from here on a second Ctrl-C is only noted,
            # the threads are joined before the decoder closes, then the files finish.
            stack.callback(pipeline.stop)
            stack.callback(stop.hold)
            _write_frames(pipeline, writers, source, info, stop, on_frame)
    except KeyboardInterrupt as exc:  # say what was kept (the CLI prints it)
        partial = _kept_partial(source, info, outputs, writers.written, started)
        exc.partial = partial  # type: ignore[attr-defined]
        raise
    seconds = time.perf_counter() - started
    return VideoResult(
        source=source,
        info=info,
        outputs=outputs.paths(),
        frames=writers.written,
        seconds=seconds,
        stats=maps.add_stats(pipeline.stats.summary()),
        ended_early=info.ended_early(writers.written),
    )


def _write_frames(
    pipeline: Pipeline[ReuseStep],
    writers: FrameWriters,
    source: Path,
    info: VideoInfo,
    stop: StopRequest,
    on_frame: Callable[[int], None] | None,
) -> None:
    """The output stage: each finished frame, checked for size, written whole to every
    output (a signal waits for it), reported; a stop request ends the loop after it."""
    for packet in pipeline:
        image = packet.frame.image
        if image.shape[:2] != (info.height, info.width):
            raise InputError(
                f"{source}: frame {packet.frame.index} is {image.shape[1]}×{image.shape[0]}, "
                f"not {info.width}×{info.height}: videos that change size are not supported"
            )
        with stop.shielded():  # a frame is written whole to every output
            writers.write(packet)
        if on_frame is not None:
            on_frame(writers.written)
        if stop.requested:  # this frame is finished: unwinding keeps the partials
            raise Interrupted(stop.signum or 0)


def _kept_partial(
    source: Path, info: VideoInfo, outputs: VideoOutputs, written: int, started: float
) -> VideoResult:
    """What a stopped job kept as ``.partial`` (nothing when no frame was done)."""
    kept = [p for p in outputs.partial_paths() if p.exists()] if written else []
    return VideoResult(
        source=source,
        info=info,
        outputs=kept,
        frames=written,
        seconds=time.perf_counter() - started,
    )
