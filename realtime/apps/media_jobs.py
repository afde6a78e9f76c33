"""``saliency-cam video`` and ``saliency-cam image`` as jobs: a planned
:class:`~saliency_cam.realtime.apps.plan.Plan` (:func:`plan_video_jobs`,
:func:`plan_image_jobs`) run through :func:`~saliency_cam.realtime.apps.jobs.run_jobs`,
here or on ``--workers``/``--ray``. What the CLI adds is only the printing.

>>> plan = plan_video_jobs(["clips"], Path("out"))                             # doctest: +SKIP
>>> summary = run_video_jobs(plan, open_session=lambda: open_session("low"))  # doctest: +SKIP
>>> summary.outputs                                                          # doctest: +SKIP
[PosixPath('out/a_saliency.mp4'), PosixPath('out/b_saliency.mp4')]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.batch.runner import FileTask, TaskOutcome
from saliency_cam.realtime.apps.image import (
    ImageOutputs,
    ImagePlan,
    ImageStyle,
    process_image,
    process_images,
)
from saliency_cam.realtime.apps.jobs import (
    HERE,
    Here,
    JobsSummary,
    MakeTask,
    ModelRequest,
    Reporter,
    Scale,
    run_jobs,
)
from saliency_cam.realtime.apps.video import VideoOutputs, VideoPlan, VideoStyle, run_video_job


def video_task(
    style: VideoStyle | None = None, *, keep_audio: bool = False, batch: int | None = 1
) -> MakeTask:
    """The task of one video: :func:`run_video_job` with these settings (``batch`` None:
    each session picks frames per inference by its device, as ``--batch auto``)."""

    def make(source: Path, outputs: VideoOutputs, note: str) -> FileTask:
        work = partial(
            run_video_job,
            outputs=outputs,
            style=style or VideoStyle(),
            keep_audio=keep_audio,
            note=note,
            batch=batch,
        )
        return FileTask(source, tuple(outputs.paths()), work)

    return make


def run_video_jobs(
    plan: VideoPlan,
    style: VideoStyle | None = None,
    *,
    keep_audio: bool = False,
    batch: int | None = 1,
    scale: Scale = HERE,
    model: ModelRequest | None = None,
    open_session: Callable[[], Any] | None = None,
    reporter: Reporter | None = None,
) -> JobsSummary:
    """Every video of ``plan`` (see :func:`run_video_job`), here with the session
    ``open_session()`` opens, or on workers opening ``model`` (:func:`run_jobs`)."""
    jobs: dict[Path, VideoOutputs] = plan.jobs
    # the pieces are joined into one blended video: the raw maps cannot be
    if scale.split_seconds is not None and any(
        o.map_video or o.frames_dir or o.blend is None for o in jobs.values()
    ):
        raise SaliencyCamError("--split-seconds writes only the blended video: drop --maps")
    return run_jobs(
        plan,
        video_task(style, keep_audio=keep_audio, batch=batch),
        kind="video",
        scale=scale,
        model=model,
        open_session=open_session,
        reporter=reporter,
    )


def image_task(style: ImageStyle | None = None) -> MakeTask:
    """The task of one image: :func:`process_image` with ``style``."""

    def make(source: Path, outputs: ImageOutputs, note: str) -> FileTask:
        work = partial(process_image, outputs=outputs, style=style, note=note)
        return FileTask(source, tuple(outputs.paths()), work)

    return make


class PictureBatches(Here):
    """The images here through :func:`process_images`: up to ``batch`` pictures of one
    aspect per inference (None: by the session's device), and Ctrl-C/SIGTERM finishing
    the pictures in hand. ``outputs`` maps each input to its :class:`ImageOutputs`."""

    def __init__(
        self,
        session: Any,
        outputs: dict[Path, ImageOutputs],
        style: ImageStyle | None = None,
        batch: int | None = 1,
    ) -> None:
        from saliency_cam.realtime.runtime.session import auto_batch

        super().__init__(session)
        self.outputs, self.style = outputs, style
        self.batch = auto_batch(session) if batch is None else batch

    def run(self, tasks: Sequence[FileTask], on_done: Callable[[TaskOutcome], None]) -> None:
        def done(source: Path, result: Any, error: str | None) -> None:
            on_done(TaskOutcome(source, error is None, result, error or ""))

        jobs = [(task.source, self.outputs[task.source]) for task in tasks]
        process_images(
            self.session, jobs, self.style, note=self.note, on_done=done, batch=self.batch
        )


def run_image_jobs(
    plan: ImagePlan,
    style: ImageStyle | None = None,
    *,
    batch: int | None = 1,
    scale: Scale = HERE,
    model: ModelRequest | None = None,
    open_session: Callable[[], Any] | None = None,
    reporter: Reporter | None = None,
) -> JobsSummary:
    """Every image of ``plan`` (see :func:`process_image`), here (in batches of
    ``batch``: :class:`PictureBatches`) or on workers opening ``model``."""
    outputs = dict(plan.jobs)
    return run_jobs(
        plan,
        image_task(style),
        kind="image",
        scale=scale,
        model=model,
        open_session=open_session,
        here=lambda session: PictureBatches(session, outputs, style, batch),
        reporter=reporter,
    )
