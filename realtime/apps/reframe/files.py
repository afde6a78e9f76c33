"""``saliency-cam reframe`` and ``saliency-cam crop`` as jobs: plan every input's outputs
(:func:`plan_reframe_jobs`, :func:`plan_crop_jobs`), then run them through
:func:`~saliency_cam.realtime.apps.jobs.run_jobs`, here or on ``--workers``/``--ray``.

>>> plan = plan_crop_jobs(["photos"], Path("out"), [(1080, 1080)])           # doctest: +SKIP
>>> summary = run_crop_jobs(plan, open_session=lambda: open_session("low"))  # doctest: +SKIP
>>> mean_kept(summary.results)                                              # doctest: +SKIP
(0.71, 0.52)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.media import IMAGE_SUFFIXES, VIDEO_OUTPUT_SUFFIXES, VIDEO_SUFFIXES
from saliency_cam.realtime.apps.batch.runner import FileTask
from saliency_cam.realtime.apps.jobs import (
    HERE,
    JobsSummary,
    MakeTask,
    ModelRequest,
    Reporter,
    Scale,
    run_jobs,
)
from saliency_cam.realtime.apps.plan import Plan
from saliency_cam.realtime.apps.reframe.crop import (
    CropResult,
    CropSettings,
    crop_outputs,
    crop_task,
)
from saliency_cam.realtime.apps.reframe.job import ReframeSettings, ReframeTarget, reframe_task
from saliency_cam.realtime.io.inputs import expand_inputs, plan_outputs, refuse_overwriting_inputs

#: What ``saliency-cam reframe`` will do: the targets (one per aspect) of every video.
ReframePlan = Plan[dict[Path, list[ReframeTarget]]]


def plan_reframe_jobs(
    inputs: Sequence[str | Path],
    output: Path | None,
    aspects: Sequence[tuple[int, int]],
    *,
    path_json: bool = False,
    debug_view: bool = False,
) -> ReframePlan:
    """Expand ``inputs`` and name every target: ``<name>_<W>x<H>.mp4`` per aspect (next
    to each input, or in the folder ``output``; a file only for one input and one
    aspect), with ``.path.json`` and ``_debug.mp4`` beside it when asked. Raises
    :class:`SaliencyCamError` for a usage error."""
    found = expand_inputs(inputs, VIDEO_SUFFIXES - {".gif"})
    as_file = output is not None and output.suffix.lower() in VIDEO_OUTPUT_SUFFIXES
    if as_file and (len(found.paths) > 1 or len(aspects) > 1) and not output.is_dir():
        raise SaliencyCamError(
            f"-o {output} is one file but there are {len(found.paths)} input(s) × "
            f"{len(aspects)} aspect(s): give a folder with -o"
        )
    jobs: dict[Path, list[ReframeTarget]] = {p: [] for p in found.paths}
    for a in aspects:
        for src, main in plan_outputs(found.paths, output, f"_{a[0]}x{a[1]}", ".mp4").items():
            stem = main.with_suffix("")
            path = Path(f"{stem}.path.json") if path_json else None
            debug = Path(f"{stem}_debug{main.suffix}") if debug_view else None
            jobs[src].append(ReframeTarget(a, main, path, debug))
    written = [p for targets in jobs.values() for t in targets for p in t.paths()]
    refuse_overwriting_inputs(found.paths, written)
    return ReframePlan(jobs, list(found.problems))


def reframe_job(settings: ReframeSettings | None = None, *, keep_audio: bool = True) -> MakeTask:
    """The task of one video: :func:`~.job.run_reframe_job` to all its targets."""

    def make(source: Path, targets: list[ReframeTarget], note: str) -> FileTask:
        work = partial(
            reframe_task,
            targets=targets,
            settings=settings or ReframeSettings(),
            keep_audio=keep_audio,
            note=note,
        )
        return FileTask(source, tuple(p for t in targets for p in t.paths()), work)

    return make


def run_reframe_jobs(
    plan: ReframePlan,
    settings: ReframeSettings | None = None,
    *,
    keep_audio: bool = True,
    scale: Scale = HERE,
    model: ModelRequest | None = None,
    open_session: Callable[[], Any] | None = None,
    reporter: Reporter | None = None,
) -> JobsSummary:
    """Every video of ``plan`` reframed (here, or on workers opening ``model``)."""
    return run_jobs(
        plan,
        reframe_job(settings, keep_audio=keep_audio),
        kind="reframe",
        scale=scale,
        model=model,
        open_session=open_session,
        reporter=reporter,
    )


@dataclass(frozen=True)
class CropJob:
    """Where one image's crops go: ``base`` (folder + stem) and the sizes' files."""

    base: Path
    outputs: tuple[Path, ...]


#: What ``saliency-cam crop`` will do: per image, where its crops go.
CropPlan = Plan[dict[Path, CropJob]]


def plan_crop_jobs(
    inputs: Sequence[str | Path],
    output: Path | None,
    sizes: Sequence[tuple[int, int]],
    *,
    write_json: bool = False,
) -> CropPlan:
    """Expand ``inputs`` and name every crop: ``<name>_<W>x<H>.jpg|png`` per size (and
    ``<name>_crops.json``), next to each input or in the folder ``output``."""
    found = expand_inputs(inputs, IMAGE_SUFFIXES)
    bases = plan_outputs(found.paths, output, "", "", allow_file=False)
    jobs = {}
    for src, base in bases.items():
        files, json_path = crop_outputs(base, src, sizes, write_json)
        jobs[src] = CropJob(base, tuple(p for p in [*files, json_path] if p is not None))
    refuse_overwriting_inputs(found.paths, [p for job in jobs.values() for p in job.outputs])
    return CropPlan(jobs, list(found.problems))


def run_crop_jobs(
    plan: CropPlan,
    sizes: Sequence[tuple[int, int]],
    settings: CropSettings | None = None,
    *,
    write_json: bool = False,
    scale: Scale = HERE,
    model: ModelRequest | None = None,
    open_session: Callable[[], Any] | None = None,
    reporter: Reporter | None = None,
) -> JobsSummary:
    """Every image of ``plan`` cropped to ``sizes`` (here, or on workers opening ``model``)."""

    def make(source: Path, job: CropJob, note: str) -> FileTask:
        options = {"sizes": list(sizes), "settings": settings, "write_json": write_json}
        return FileTask(source, job.outputs, partial(crop_task, base=job.base, **options))

    return run_jobs(
        plan,
        make,
        kind="crop",
        scale=scale,
        model=model,
        open_session=open_session,
        reporter=reporter,
    )


def mean_kept(results: Sequence[CropResult]) -> tuple[float, float]:
    """Mean saliency kept over every crop of ``results``, and what centre crops kept."""
    count = sum(len(r.kept) for r in results)
    kept = sum(v for r in results for v in r.kept.values()) / count
    centre = sum(v for r in results for v in r.kept_centre.values()) / count
    return kept, centre
