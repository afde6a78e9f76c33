"""``saliency-cam video`` and ``saliency-cam image``: files, folders and globs in,
annotated videos / saliency maps out. A thin layer over video_job and image_job that
adds the progress bar, per-file error lines and the summary.

A bad file is reported on its own line and the others still run; the exit status is 1
when any input failed (2 for usage errors such as a model that is not exported).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from saliency_cam.realtime.apps.jobs import Reporter
from saliency_cam.realtime.cli.batch import (
    GpusPerTask,
    RayAddress,
    ScaleOut,
    SplitSeconds,
    Workers,
    finish_on_workers,
)
from saliency_cam.realtime.cli.options import (
    QUALITY_NAMES,
    Alpha,
    Backend,
    BatchSize,
    Colormap,
    Dataset,
    Debug,
    Device,
    Inputs,
    LetterboxFlag,
    Model,
    ModelsDir,
    OutputFolder,
    Precision,
    Reuse,
    ShowProgress,
    Smooth,
    Threads,
    View,
    model_name,
    parse_batch,
    resolve_batch,
)
from saliency_cam.realtime.cli.printing import (
    check_plan,
    console,
    file_progress,
    folders,
    interrupted,
    print_model,
)
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY

Points = Annotated[
    int,
    typer.Option(
        "--points",
        min=0,
        help="also write the top K fixation points (peaks after non-maximum suppression, "
        "with their saliency) and the map's centroid: <name>_points.json per image, "
        "<name>_saliency_points.csv per video (one row per frame) [default: 0, off]",
        show_default=False,
    ),
]
QualityOrDefault = Annotated[
    str | None,
    typer.Option(
        "--quality",
        "-q",
        help=f"{QUALITY_NAMES} [default: see above]",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``video`` and ``image`` commands to the app."""
    app.command("video")(video)
    app.command("image")(image)


# --------------------------------------------------------------------------- shared


def _finish(console, failures: int, total: int, session) -> None:
    if not session.trained:
        console.print("[bold yellow]UNTRAINED[/] model: outputs are not real saliency maps")
    if failures:
        console.print(f"[red]{failures} of {total} input(s) failed[/] (see the error lines above)")
        raise typer.Exit(1)


# --------------------------------------------------------------------------- video


def video(
    inputs: Inputs,
    output: Annotated[
        str | None,  # not Path: that drops the trailing slash that says "a folder"
        typer.Option(
            "--output",
            "-o",
            help="output file (one input) or folder (always with a trailing /; created if "
            "missing); default: next to each input as <name>_saliency.mp4",
            show_default=False,
        ),
    ] = None,
    quality: QualityOrDefault = None,
    dataset: Dataset = None,
    model: Model = None,
    device: Device = "auto",
    precision: Precision = "auto",
    view: View = "overlay",
    alpha: Alpha = 0.5,
    colormap: Colormap = "inferno",
    smooth: Smooth = 0.0,
    reuse: Reuse = 1,
    maps: Annotated[
        str | None,
        typer.Option(
            "--maps",
            help="also write the raw maps: video (grayscale <name>_saliency_map.mp4) | png8 | "
            "png16 | npy (one file per frame in <name>_saliency_maps/)",
            show_default=False,
        ),
    ] = None,
    blend: Annotated[
        bool, typer.Option("--blend/--no-blend", help="write the blended video (the view)")
    ] = True,
    keep_audio: Annotated[
        bool, typer.Option("--keep-audio", help="copy the input's audio track into the output")
    ] = False,
    points: Points = 0,
    allow_truncated: Annotated[
        bool,
        typer.Option(
            "--allow-truncated",
            help="accept inputs that end before the frames they declare (default: a failure)",
        ),
    ] = False,
    progress: ShowProgress = True,
    models_dir: ModelsDir = None,
    threads: Threads = None,
    backend: Backend = "auto",
    letterbox: LetterboxFlag = False,
    batch: BatchSize = "auto",
    workers: Workers = None,
    ray: RayAddress = None,
    gpus_per_task: GpusPerTask = 0.0,
    split_seconds: SplitSeconds = None,
    debug: Debug = False,
) -> None:
    """Saliency for video files: every frame, in order, at the input's size and frame rate.

    Default quality: medium (as every command). Outputs H.264 .mp4 (4:4:4 for odd sizes,
    to keep the exact size). A folder or several inputs write one output each into -o (a folder).
    """
    from saliency_cam.realtime.apps.media_jobs import run_video_jobs
    from saliency_cam.realtime.apps.video import VideoStyle, plan_video_jobs
    from saliency_cam.realtime.io.inputs import output_argument
    from saliency_cam.realtime.render.blend import resolve_colormap, resolve_view

    err = console(stderr=True)
    scale = ScaleOut.from_options(
        workers=workers,
        ray=ray,
        gpus_per_task=gpus_per_task,
        precision=precision,
        models_dir=models_dir,
        device=device,
        threads=threads,
        backend=backend,
        letterbox=letterbox,
        mode="throughput",
        progress=progress,
        split_seconds=split_seconds,
    )
    style = VideoStyle(resolve_view(view), alpha, colormap, smooth, reuse)
    resolve_colormap(colormap)
    plan = plan_video_jobs(inputs, output_argument(output), blend=blend, maps=maps, points=points)
    check_plan(err, plan, "video")
    name = model_name(quality, dataset, model, default=DEFAULT_QUALITY)
    run = partial(run_video_jobs, plan, style, keep_audio=keep_audio, batch=parse_batch(batch))
    if scale.wanted:  # files in parallel: apps/batch
        describe = partial(_video_lines, keep_audio=keep_audio)
        return finish_on_workers(
            run(
                scale=scale.scale, model=scale.model(name), reporter=scale.report("video", describe)
            )
        )
    opener = scale.opener(quality, dataset, model)
    report = VideoReport(err, progress, keep_audio, allow_truncated, reuse, batch)
    summary = _interruptible(err, lambda: run(open_session=opener, reporter=report), _unfinished)
    if summary.results:
        _print_video_total(summary.results)
    _finish(err, summary.failures + report.truncated, plan.total, report.session)


def _print_video_total(results: list) -> None:
    """``N video(s), F frames in S s (R FPS) → where``."""
    frames = sum(r.frames for r in results)
    seconds = sum(r.seconds for r in results)
    written = [p for r in results for p in r.outputs]
    where = str(written[0]) if len(written) == 1 else folders(written)
    console().print(
        f"{len(results)} video(s), {frames} frames in {seconds:.1f} s "
        f"({frames / seconds if seconds else 0.0:.1f} FPS) → {where}",
        markup=False,
    )


class VideoReport(Reporter):
    """The serial video run as shown: the model line, a bar per video (frames), its
    summary lines, and an error line per failed (or, without --allow-truncated,
    truncated) video."""

    def __init__(self, err, progress: bool, keep_audio: bool, truncated_ok: bool, reuse: int,
                 batch: str) -> None:  # fmt: skip
        self.err, self.progress, self.keep_audio = err, progress, keep_audio
        self.truncated_ok, self.reuse, self.batch = truncated_ok, reuse, batch
        self.truncated = 0
        self.tasks: dict[Path, Any] = {}

    def opened(self, runner: Any) -> None:
        self.session = runner.session
        print_model(self.err, self.session)
        # --reuse decides frame by frame whether the network runs: one frame per inference
        frames_per_run = 1 if self.reuse > 1 else resolve_batch(self.batch, self.session)
        if frames_per_run > 1:
            self.err.print(f"batch: {frames_per_run} frames per inference")

    @contextmanager
    def running(self, count: int) -> Iterator[None]:
        with file_progress(self.err, self.progress) as self.bar:
            yield

    def begin(self, source: Path) -> dict[str, Any]:
        task = self.tasks[source] = self.bar.add_task(source.name, total=None)
        return {
            "on_start": lambda info: self.bar.update(task, total=info.total_frames),
            "on_frame": lambda done: self.bar.update(task, completed=done),
        }

    def done(self, outcome: Any) -> None:
        source, task, bar = outcome.source, self.tasks[outcome.source], self.bar
        if not outcome.ok:
            bar.update(task, description=f"[red]{source.name} failed")
            bar.console.print(f"[red]error[/]: {outcome.error}", markup=True, highlight=False)
            return
        result = outcome.result
        bar.update(task, total=result.frames, completed=result.frames)
        for line in _video_lines(result, self.keep_audio):
            bar.console.print(line, markup=False)
        if result.ended_early and not self.truncated_ok:
            self.truncated += 1
            bar.console.print(
                f"[red]error[/]: {source}: {result.ended_early}; its {result.frames} frames "
                "were written (--allow-truncated accepts such files)",
                markup=True,
                highlight=False,
            )


def _unfinished(source: Path, exc: KeyboardInterrupt) -> str:
    """What became of the video being written when the run was stopped: kept under a
    ``.partial`` name with its frame count, or removed when it had no frame yet."""
    partial = getattr(exc, "partial", None)
    if partial is None or not partial.outputs:
        return f"; removed the unfinished {source.name} outputs"
    names = ", ".join(str(p) for p in partial.outputs)
    return (
        f"; the unfinished {source.name} ({partial.frames} frames) is kept as {names} "
        "(a rerun replaces it)"
    )


#: The video job's stages as the summary names them (network: computed frames only).
STAGE_NAMES: dict[str, str] = {
    "read": "decode",
    "preprocess": "resize in",
    "infer": "network",
    "postprocess": "resize out",
    "reuse": "flow+warp",
    "render": "blend",
    "encode": "encode",
}


def _video_lines(result, keep_audio: bool) -> list[str]:
    """The per-video summary: outputs, frames, size, rate, speed, stage times."""
    info = result.info
    audio = ""
    if keep_audio:
        audio = " (with audio)" if info.has_audio else " (input has no audio)"
    lines = [
        f"{result.source} → {', '.join(str(p) for p in result.outputs)}{audio}",
        f"  {result.frames} frames {info.width}×{info.height} @ {float(info.fps):.4g} fps "
        f"in {result.seconds:.1f} s ({result.fps:.1f} FPS)",
    ]
    stages = result.stats.get("stages_ms", {})
    means = [
        f"{STAGE_NAMES[k]} {stages[k]['mean']:.1f}"
        for k in STAGE_NAMES
        if "mean" in stages.get(k, {})
    ]
    if means:
        lines.append(f"  mean ms per frame: {', '.join(means)} (stages overlap)")
    reuse = result.stats.get("reuse")
    if reuse:
        by = result.stats.get("frames_by", {})
        lines.append(
            f"  reuse {reuse['every']}: {by.get('computed', 0)} maps computed "
            f"({len(reuse['cuts'])} at cuts), {by.get('propagated', 0)} propagated"
        )
    if result.ended_early:
        lines.append(f"  note: {result.ended_early}")
    return lines


# --------------------------------------------------------------------------- image


def image(
    inputs: Inputs,
    output: OutputFolder = None,
    quality: QualityOrDefault = None,
    dataset: Dataset = None,
    model: Model = None,
    overlay: Annotated[
        bool, typer.Option("--overlay", help="also write the blend as <name>_overlay.png")
    ] = False,
    npy: Annotated[
        bool, typer.Option("--npy", help="also write the float map as <name>_saliency.npy")
    ] = False,
    points: Points = 0,
    alpha: Alpha = 0.5,
    colormap: Colormap = "inferno",
    device: Device = "auto",
    precision: Precision = "auto",
    progress: ShowProgress = True,
    models_dir: ModelsDir = None,
    threads: Threads = None,
    backend: Backend = "auto",
    letterbox: LetterboxFlag = False,
    batch: BatchSize = "auto",
    workers: Workers = None,
    ray: RayAddress = None,
    gpus_per_task: GpusPerTask = 0.0,
    debug: Debug = False,
) -> None:
    """Saliency maps for images, at each image's own size: <name>_saliency.png (8-bit
    grayscale).

    Default quality: medium (as every command; very_high is the SALICON training size);
    --dataset picks an original dataset model (salicon, mit1003, cat2000, …) if
    exported. EXIF orientation is applied.
    """
    from saliency_cam.realtime.apps.image import ImageStyle, plan_image_jobs
    from saliency_cam.realtime.apps.media_jobs import run_image_jobs
    from saliency_cam.realtime.render.blend import resolve_colormap

    err = console(stderr=True)
    scale = ScaleOut.from_options(
        workers=workers,
        ray=ray,
        gpus_per_task=gpus_per_task,
        precision=precision,
        models_dir=models_dir,
        device=device,
        threads=threads,
        backend=backend,
        letterbox=letterbox,
        mode="throughput",
        progress=progress,
    )
    resolve_colormap(colormap)
    plan = plan_image_jobs(inputs, output, overlay=overlay, npy=npy, points=points)
    check_plan(err, plan, "image")
    run = partial(run_image_jobs, plan, ImageStyle(alpha=alpha, colormap=colormap))
    if scale.wanted:  # files in parallel: apps/batch (one session per worker)
        name = model_name(quality, dataset, model, default=DEFAULT_QUALITY)
        report = scale.report("image", lambda r: [f"{r.source} → {', '.join(map(str, r.outputs))}"])
        return finish_on_workers(run(scale=scale.scale, model=scale.model(name), reporter=report))
    batches = ImageReport(err, progress and len(plan.jobs) > 1, batch)
    opener = scale.opener(quality, dataset, model)
    runs = partial(run, batch=parse_batch(batch), open_session=opener, reporter=batches)
    summary = _interruptible(err, runs)
    written = summary.outputs
    where = str(written[0]) if len(written) == 1 else (folders(written) if written else "-")
    console().print(
        f"{len(summary.results)} image(s) → {where}"
        + (f"; {len(summary.failed)} failed" if summary.failed else ""),
        markup=False,
    )
    _finish(err, summary.failures, plan.total, batches.session)


class ImageReport(Reporter):
    """The serial image run as shown: the model line, one bar over the images, an
    error line per failed one."""

    def __init__(self, err, progress: bool, batch: str) -> None:
        self.err, self.progress, self.batch = err, progress, batch

    def opened(self, runner: Any) -> None:
        self.session = runner.session
        print_model(self.err, self.session)
        if runner.batch > 1:
            self.err.print(f"batch: up to {runner.batch} pictures of one aspect per inference")

    @contextmanager
    def running(self, count: int) -> Iterator[None]:
        with file_progress(self.err, self.progress) as self.bar:
            self.task = self.bar.add_task("images", total=count)
            yield

    def done(self, outcome: Any) -> None:
        if not outcome.ok:
            self.bar.console.print(f"[red]error[/]: {outcome.error}")
        self.bar.advance(self.task)


def _interruptible(err, run: Callable[[], Any], unfinished=None) -> Any:
    """``run()``; stopped by Ctrl-C/SIGTERM/SIGHUP, one line saying what was kept (and,
    for a video, what became of the one in hand: ``unfinished``), then the exit."""
    try:
        return run()
    except KeyboardInterrupt as exc:
        summary = getattr(exc, "summary", None)
        if summary is None:  # stopped before any job began
            raise
        kept = summary.outputs
        if unfinished is None:  # images: the pictures in hand were finished
            raise interrupted(err, exc, [folders(kept)] if len(kept) > 1 else kept, "") from None
        raise interrupted(err, exc, kept, unfinished(summary.interrupted, exc)) from None
