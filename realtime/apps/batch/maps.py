"""Saliency maps of many images computed by the batch runner into a folder of ``.npy``
files (float32, full precision, at each image's size): the parallel part of
``saliency-cam evaluate --workers/--ray``, which then scores them jointly (shuffled AUC
draws its negatives from the other images, so scoring stays one pass in the driver).

>>> runner = LocalRunner(ModelSpec.resolve("very_high"), workers=2)     # doctest: +SKIP
>>> stored = predict_maps([Path("a.jpg")], runner, Path("scratch"))     # doctest: +SKIP
>>> stored.maps[Path("a.jpg")]                                          # doctest: +SKIP
PosixPath('scratch/000000.npy')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.groundtruth import read_image
from saliency_cam.realtime.apps.batch.runner import FileTask, Runner, TaskOutcome


def map_task(session, source: Path, *, output: Path) -> dict[str, Any]:
    """Per-file work: ``session.predict`` of the stimulus as evaluate reads it
    (:func:`~saliency_cam.models.groundtruth.read_image`), saved as float32 ``.npy``
    atomically; returns ``session.describe()`` (the report's model entry)."""
    saliency = session.predict(read_image(source))
    with atomic_output(output) as tmp, open(tmp, "wb") as fh:
        np.save(fh, saliency, allow_pickle=False)
    return session.describe()


@dataclass
class StoredMaps:
    """Where each source's map went, or why it failed (the worker's one-line error),
    and the model description the workers reported."""

    maps: dict[Path, Path] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)
    model: dict[str, Any] | None = None


def predict_maps(
    sources: Sequence[Path],
    runner: Runner,
    folder: Path,
    on_done: Callable[[TaskOutcome], None] | None = None,
) -> StoredMaps:
    """Run :func:`map_task` over ``sources`` with ``runner`` (one task per image, named
    by position so sub-folder keys cannot collide) into ``folder``, through
    :func:`~saliency_cam.realtime.apps.jobs.run_jobs`; no index: the folder is scratch
    space the caller removes."""
    from saliency_cam.realtime.apps.jobs import Reporter, run_jobs
    from saliency_cam.realtime.apps.plan import Plan

    plan = Plan({src: folder / f"{i:06d}.npy" for i, src in enumerate(sources)})
    stored = StoredMaps()

    class Store(Reporter):
        def done(self, outcome: TaskOutcome) -> None:
            if outcome.ok:
                stored.maps[outcome.source] = plan.jobs[outcome.source]
                if stored.model is None:
                    stored.model = outcome.result
            else:
                stored.errors[outcome.source] = outcome.error
            if on_done is not None:
                on_done(outcome)

    def make(source: Path, output: Path, note: str) -> FileTask:
        return FileTask(source, (output,), partial(map_task, output=output))

    run_jobs(plan, make, kind="evaluate-maps", runner=runner, resume=False, reporter=Store())
    return stored


# --------------------------------------------------------------------------- video pieces


@dataclass(frozen=True)
class PieceMaps:
    """One video piece's maps: ``path`` holds a float32 ``(frames, H, W)`` stack at the
    network's input size (small), ``box`` the geometry that brings each back to the
    frame (:meth:`Letterbox.undo`: exactly ``session.predict``'s map)."""

    path: Path
    frames: int
    box: Any  # runtime.letterbox.Letterbox (frozen dataclass: pickles to any worker)


def video_maps_task(session, source: Path, *, output: Path) -> PieceMaps:
    """Per-piece work of the split ``reframe``: every frame of ``source`` (read as the
    reframe job reads it, in the same threaded pipeline) through
    :meth:`SaliencySession.predict_raw`, stacked into ``output`` (``.npy``, atomically)."""
    from saliency_cam.models.errors import InputError
    from saliency_cam.realtime.io.video import open_video_source
    from saliency_cam.realtime.pipeline.stages import Pipeline

    maps: list[np.ndarray] = []
    box = None
    with open_video_source(source) as video:
        for packet in Pipeline(video, lambda frame: session.predict_raw(frame.image)):
            saliency, frame_box = packet.result
            if box is not None and frame_box != box:
                raise InputError(f"{source}: the frame size changes at frame {len(maps)}")
            box = frame_box
            maps.append(np.array(saliency, dtype=np.float32))  # engines may reuse buffers
    if not maps:
        raise InputError(f"{source}: no decodable frames")
    with atomic_output(output) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.stack(maps).astype(np.float32, copy=False), allow_pickle=False)
    return PieceMaps(output, len(maps), box)


class StoredVideoMaps:
    """A whole video's maps from its pieces, looked up by frame index (the split
    reframe's phase 2: :class:`~saliency_cam.realtime.apps.reframe.job.StoredSaliency`).
    One piece is memory-mapped at a time."""

    def __init__(self, source: Path, pieces: Sequence[tuple[int, PieceMaps]]) -> None:
        self.source = source
        self.pieces = sorted(pieces, key=lambda item: item[0])
        self.frames = sum(p.frames for _, p in self.pieces)
        self._open: tuple[int, int, np.ndarray, Any] | None = None

    def at(self, index: int) -> np.ndarray:
        """The map of frame ``index`` at the frame's size."""
        current = self._open
        if current is None or not current[0] <= index < current[1]:
            current = self._open = self._load(index)
        start, _, stack, box = current
        return box.undo(np.asarray(stack[index - start]))

    def _load(self, index: int) -> tuple[int, int, np.ndarray, Any]:
        from saliency_cam.models.errors import InputError

        for start, piece in self.pieces:
            if start <= index < start + piece.frames:
                stack = np.load(piece.path, mmap_mode="r", allow_pickle=False)
                if stack.shape[0] != piece.frames:
                    raise InputError(f"{piece.path}: {stack.shape[0]} maps, {piece.frames} frames")
                return start, start + piece.frames, stack, piece.box
        raise InputError(
            f"{self.source}: frame {index} has no stored map (the pieces held {self.frames})"
        )
