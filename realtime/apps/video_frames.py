"""One video job's frames (:func:`~saliency_cam.realtime.apps.video.run_video_job`): how
each frame's map is made (:class:`FrameMaps`: the network, ``--reuse`` propagation with
its bookkeeping, temporal smoothing) and where each finished frame goes
(:class:`FrameWriters`: the blended video, the map video, the per-frame map files, the
points CSV), each opened on the job's exit stack so a failure or a stop unwinds them.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.atomic import atomic_folder, atomic_output
from saliency_cam.models.errors import InputError
from saliency_cam.realtime.apps.image import write_npy, write_png
from saliency_cam.realtime.apps.points import csv_header, fixation_points
from saliency_cam.realtime.io.sources import Frame
from saliency_cam.realtime.io.video import VideoInfo, VideoSink
from saliency_cam.realtime.pipeline.quality_switch import predict_timed
from saliency_cam.realtime.pipeline.reuse import COMPUTED, MapPropagator, ReuseStep
from saliency_cam.realtime.pipeline.stages import Packet
from saliency_cam.realtime.pipeline.stats import timed
from saliency_cam.realtime.render.blend import TemporalSmoother, render, to_uint8
from saliency_cam.realtime.render.hud import mark_untrained

#: ``callback(frame, saliency, picture)`` for :func:`run_video_job`: may draw on the
#: annotated picture in place or return a replacement (None keeps it).
FrameCallback = Callable[[Frame, np.ndarray, np.ndarray], "np.ndarray | None"]


class FrameMaps:
    """Each frame's map from ``session``: every frame through the network, or with
    ``reuse`` > 1 the network every N-th frame (sooner on a scene change or cut) and the
    last map warped along the motion in between, then smoothed over time (``smooth``).
    Records the frames the network ran on and the cuts, for the stats."""

    def __init__(self, session: Any, reuse: int = 1, smooth: float = 0.0) -> None:
        self.session, self.every, self.smooth = session, reuse, smooth
        self.smoother = TemporalSmoother(smooth)
        self.reuse = MapPropagator(reuse) if reuse > 1 else None
        self.computed: list[int] = []  # the frames the network ran on (with --reuse)
        self.cuts: list[int] = []

    def one(self, frame: Frame) -> ReuseStep:
        """The map of ``frame`` (computed or propagated), its timings recorded."""
        session, timings = self.session, frame.timings
        if self.reuse is None:
            step = ReuseStep(predict_timed(session, frame.image, timings), COMPUTED)
        else:
            with timed(timings, "reuse"):  # flow + warp; the network's own time is taken out
                step = self.reuse.step(
                    frame.image, lambda: predict_timed(session, frame.image, timings)
                )
            network = sum(timings.get(k, 0.0) for k in ("preprocess", "infer", "postprocess"))
            timings["reuse"] -= network
            if step.computed:
                self.computed.append(frame.index)
                if step.reason == "cut":
                    self.cuts.append(frame.index)
        if self.smooth <= 0:
            return step
        # the smoother updates its state in place: hand the writer its own copy
        return ReuseStep(self.smoother(step.map).copy(), step.kind, step.reason, step.residual)

    def batch(self, frames: list[Frame]) -> list[ReuseStep]:
        """The maps of ``frames`` in one inference (no ``--reuse``)."""
        maps = self.session.predict_batch([frame.image for frame in frames])
        # in order: the smoother's state carries from frame to frame
        smooth = self.smooth > 0
        return [ReuseStep(self.smoother(m).copy() if smooth else m, COMPUTED) for m in maps]

    def frames_per_run(self, batch: int | None) -> int:
        """Frames per inference: 1 with ``--reuse``, ``batch``, or (None) the device's."""
        if self.reuse is not None:
            return 1  # whether the network runs depends on the frame before
        if batch is None:
            from saliency_cam.realtime.runtime.session import auto_batch

            return auto_batch(self.session)
        return batch

    def add_stats(self, stats: dict[str, Any]) -> dict[str, Any]:
        """``stats`` with the ``--reuse`` record (which frames were computed, the cuts)."""
        if self.reuse is not None:
            stats["reuse"] = {
                "every": self.every,
                "computed_frames": self.computed,
                "cuts": self.cuts,
            }
        return stats


@dataclass
class FrameWriters:
    """Every output of one job that is open, and the frames ``written`` to them; a
    frame goes to each whole (:meth:`write`). ``view``/``alpha``/``colormap``: the
    blended picture; ``untrained`` marks it; ``callback`` may draw on it; ``reuse``
    adds the map's kind to each points row."""

    view: str
    alpha: float
    colormap: Any
    untrained: bool = False
    callback: FrameCallback | None = None
    reuse: bool = False
    blend: VideoSink | None = None
    map_video: VideoSink | None = None
    map_files: Callable[[int, np.ndarray], None] | None = None
    points: Any = None
    points_k: int = 0
    written: int = 0

    def keep(self) -> bool:
        """A stopped run keeps its outputs when it finished a frame."""
        return self.written > 0

    def open(
        self,
        stack: contextlib.ExitStack,
        outputs: Any,
        info: VideoInfo,
        *,
        audio_from: Path | None,
        note: str,
        threads: int | None,
    ) -> None:
        """Open each of ``outputs`` on ``stack``, in this order: the blended video, the
        map video, the per-frame folder, the points CSV (each kept as ``.partial`` when
        the job stops after a frame, removed on a failure)."""
        metadata = {"comment": note} if note else {}
        sink = dict(metadata=metadata, keep_partial=True, threads=threads)
        if outputs.blend is not None:
            width = info.width * (2 if self.view == "side" else 1)
            self.blend = stack.enter_context(
                VideoSink(outputs.blend, info, width=width, audio_from=audio_from, **sink)
            )
        if outputs.map_video is not None:
            self.map_video = stack.enter_context(VideoSink(outputs.map_video, info, **sink))
        if outputs.frames_dir is not None:
            folder = stack.enter_context(atomic_folder(outputs.frames_dir, keep_partial=self.keep))
            self.map_files = map_file_writer(folder, outputs.frames_format or "png8", note)
        if outputs.points is not None:
            points_file = stack.enter_context(atomic_output(outputs.points, keep_partial=self.keep))
            # closed by the job's exit stack, before atomic_output renames the file
            text = stack.enter_context(open(points_file, "w", newline=""))  # noqa: SIM115
            self.points = csv.writer(text)
            self.points_k = outputs.points_k
            header = csv_header(outputs.points_k)
            # with --reuse each row also says whether its map was computed or propagated
            self.points.writerow([*header, "map"] if self.reuse else header)

    def write(self, packet: Packet[ReuseStep]) -> None:
        """One finished frame to every output, at its input frame's time (VFR and the
        audio's sync kept)."""
        frame, saliency, timings = packet.frame, packet.result.map, packet.frame.timings
        stamp = frame.stamp
        if self.blend is not None:
            with timed(timings, "render"):
                picture = render(frame.image, saliency, self.view, self.alpha, self.colormap)
                if self.callback is not None:
                    picture = called_back(self.callback, frame, saliency, picture)
                if self.untrained:  # the label travels with the pixels, not metadata only
                    mark_untrained(picture)
            with timed(timings, "encode"):
                self.blend.write_frame(picture, stamp)
        if self.map_video is not None:
            with timed(timings, "encode"):
                self.map_video.write_frame(to_uint8(saliency), stamp)
        if self.map_files is not None:
            self.map_files(frame.index, saliency)
        if self.points is not None:
            found = fixation_points(saliency, self.points_k)
            cells = [str(frame.index), f"{stamp:.6f}", *found.csv_cells(self.points_k)]
            self.points.writerow([*cells, packet.result.kind] if self.reuse else cells)
        self.written += 1


def map_file_writer(folder: Path, fmt: str, note: str) -> Callable[[int, np.ndarray], None]:
    """Writes frame ``index``'s map into ``folder`` as ``fmt`` (png8, png16 or npy)."""

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


def called_back(
    callback: FrameCallback, frame: Frame, saliency: np.ndarray, picture: np.ndarray
) -> np.ndarray:
    """The picture ``callback`` leaves or returns (a replacement must keep the shape)."""
    replaced = callback(frame, saliency, picture)
    if replaced is None:
        return picture
    if not isinstance(replaced, np.ndarray) or replaced.shape != picture.shape:
        raise InputError(
            f"the video callback returned {getattr(replaced, 'shape', type(replaced).__name__)}"
            f", not a picture of shape {picture.shape}: draw in place or return that shape"
        )
    return np.ascontiguousarray(replaced, dtype=np.uint8)
