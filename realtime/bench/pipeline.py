"""The benchmark's full-pipeline mode: the ``saliency-cam video`` job on a generated clip.

Decode → letterbox → inference → colour/blend → H.264 encode, threaded exactly as the
video command runs it (:func:`saliency_cam.realtime.apps.video.run_video_job`); this
module only makes the clip and wraps one whole run as a timing case.

>>> clip = make_clip(Path("clip.mp4"), frames=90)             # doctest: +SKIP
>>> case = PipelineCase(session, clip, 90, Path("out.mp4"))   # doctest: +SKIP
>>> case.run(); case.stats["latency_ms"]                      # doctest: +SKIP
>>> PipelineCase(session, clip, 90, Path("o.mp4"), reuse=3).run()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from saliency_cam.realtime.runtime.session import SaliencySession

#: A webcam-like clip: 640×480 (4:3, so no letterbox padding at any quality), 30 FPS.
CLIP_SIZE: tuple[int, int] = (480, 640)
CLIP_FPS = 30


def make_clip(
    path: Path, frames: int, size: tuple[int, int] = CLIP_SIZE, fps: int = CLIP_FPS
) -> Path:
    """Encode ``frames`` frames of a moving test pattern (H.264) at ``path``."""
    from saliency_cam.realtime.io.pattern import TestPattern
    from saliency_cam.realtime.io.video import VideoInfo, VideoSink

    pattern = TestPattern(size)
    info = VideoInfo(width=size[1], height=size[0], fps=Fraction(fps))
    with VideoSink(path, info) as sink:
        for index in range(frames):
            sink.write_frame(pattern.frame(index))
    return path


@dataclass
class PipelineCase:
    """One full video job per :meth:`run`; ``stats`` keeps the last run's pipeline
    statistics (per-stage times, latency percentiles, maps computed/propagated).
    ``reuse`` > 1: the job reuses maps between frames (``saliency-cam video --reuse``)."""

    session: SaliencySession
    clip: Path
    frames: int
    output: Path
    stats: dict[str, Any] = field(default_factory=dict)
    reuse: int = 1

    def run(self) -> None:
        from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job

        result = run_video_job(
            self.session, self.clip, VideoOutputs(blend=self.output), VideoStyle(reuse=self.reuse)
        )
        if result.frames != self.frames:
            raise RuntimeError(f"pipeline wrote {result.frames} of {self.frames} frames")
        self.stats = result.stats
