"""``saliency-cam video`` and ``saliency-cam image``: files, folders and globs in,
annotated videos / saliency maps out. A thin layer over video_job and image_job that
adds the progress bar, per-file error lines and the summary.

A bad file is reported on its own line and the others still run; the exit status is 1
when any input failed (2 for usage errors such as a model that is not exported).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.models.errors import SaliencyCamError, failure_line
from saliency_cam.realtime.cli.batch import (
    GpusPerTask,
    RayAddress,
    ScaleOut,
    SplitSeconds,
    Workers,
    exit_on_failures,
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
    open_model,
    parse_batch,
    resolve_batch,
)
from saliency_cam.realtime.cli.printing import console, print_model, report_problems
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


def _check_plan(err, plan, kind: str) -> int:
    """List the inputs that cannot be used and the skipped earlier outputs, stop (exit 1)
    when nothing is left; return the number of inputs asked for."""
    report_problems(err, plan.problems)
    if plan.skipped:
        more = " …" if len(plan.skipped) > 3 else ""
        names = ", ".join(p.name for p in plan.skipped[:3]) + more
        err.print(
            f"skipped {len(plan.skipped)} file(s) this command wrote earlier: {names}",
            markup=False,
        )
    if not plan.jobs:
        err.print(f"[red]no {kind} to process[/]")
        raise typer.Exit(1)
    return plan.total


def _interrupted(err, exc: KeyboardInterrupt, kept: list[Path], unfinished: str) -> typer.Exit:
    """Say in one line that the run was interrupted and what it kept; the exit to raise."""
    from saliency_cam.realtime.apps.interrupt import exit_code_for, signal_name

    signum = getattr(exc, "signum", 2)
    what = f"kept {', '.join(str(p) for p in kept)}" if kept else "nothing was finished"
    err.print(f"interrupted ({signal_name(signum)}): {what}{unfinished}", markup=False)
    return typer.Exit(exit_code_for(signum))


def _finish(console, failures: int, total: int, session) -> None:
    if not session.trained:
        console.print("[bold yellow]UNTRAINED[/] model: outputs are not real saliency maps")
    if failures:
        console.print(f"[red]{failures} of {total} input(s) failed[/] (see the error lines above)")
        raise typer.Exit(1)


@contextmanager
def _progress(console, enabled: bool) -> Iterator[object]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class FPSColumn(ProgressColumn):
        def render(self, task) -> Text:  # rich's smoothed rate over recent updates
            return Text(f"{task.speed or 0.0:5.1f} FPS")

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        FPSColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )
    with progress:
        yield progress


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
    from saliency_cam.realtime.apps.video import VideoStyle, plan_video_jobs, run_video_job
    from saliency_cam.realtime.io.inputs import output_argument
    from saliency_cam.realtime.render.blend import resolve_colormap, resolve_view

    out, err = console(), console(stderr=True)
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
    view = resolve_view(view)
    resolve_colormap(colormap)
    plan = plan_video_jobs(inputs, output_argument(output), blend=blend, maps=maps, points=points)
    total = _check_plan(err, plan, "video")
    if scale.wanted:  # files in parallel: apps/batch
        style = VideoStyle(view=view, alpha=alpha, colormap=colormap, smooth=smooth, reuse=reuse)
        name = model_name(quality, dataset, model, default=DEFAULT_QUALITY)
        _split_check(split_seconds, maps, blend)
        _, failed = scale.run(
            "video",
            name,
            lambda note: _video_tasks(plan.jobs, style, keep_audio, note, parse_batch(batch)),
            earlier_failures=len(plan.problems),
            describe=lambda result: _video_lines(result, keep_audio),
        )
        return exit_on_failures(failed)

    session = open_model(
        quality,
        dataset,
        default=DEFAULT_QUALITY,
        precision=precision,
        device=device,
        models_dir=models_dir,
        threads=threads,
        backend=backend,
        letterbox=letterbox,
        mode="throughput",
        model=model,
    )
    print_model(err, session)
    # --reuse decides frame by frame whether the network runs: one frame per inference
    frames_per_run = 1 if reuse > 1 else resolve_batch(batch, session)
    if frames_per_run > 1:
        err.print(f"batch: {frames_per_run} frames per inference")
    style = VideoStyle(view=view, alpha=alpha, colormap=colormap, smooth=smooth, reuse=reuse)
    note = session.note
    failures = len(plan.problems)
    results = []
    with _progress(err, progress) as bar:
        for src, outputs in plan.jobs.items():
            task = bar.add_task(src.name, total=None)

            def started(info, task=task) -> None:
                bar.update(task, total=info.total_frames)

            def advanced(done: int, task=task) -> None:
                bar.update(task, completed=done)

            try:
                result = run_video_job(
                    session,
                    src,
                    outputs,
                    style,
                    keep_audio=keep_audio,
                    note=note,
                    on_start=started,
                    on_frame=advanced,
                    batch=frames_per_run,
                )
            except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
                bar.stop()
                kept = [p for r in results for p in r.outputs]
                raise _interrupted(err, exc, kept, _unfinished(src, exc)) from None
            except Exception as exc:  # one bad file must not end the batch
                failures += 1
                bar.update(task, description=f"[red]{src.name} failed")
                message = failure_line(src, exc)
                bar.console.print(f"[red]error[/]: {message}", markup=True, highlight=False)
                continue
            bar.update(task, total=result.frames, completed=result.frames)
            results.append(result)
            for line in _video_lines(result, keep_audio):
                bar.console.print(line, markup=False)
            if result.ended_early and not allow_truncated:
                failures += 1
                bar.console.print(
                    f"[red]error[/]: {src}: {result.ended_early}; its {result.frames} frames "
                    "were written (--allow-truncated accepts such files)",
                    markup=True,
                    highlight=False,
                )
    if results:
        frames = sum(r.frames for r in results)
        seconds = sum(r.seconds for r in results)
        written = [p for r in results for p in r.outputs]
        where = str(written[0]) if len(written) == 1 else _folders(written)
        out.print(
            f"{len(results)} video(s), {frames} frames in {seconds:.1f} s "
            f"({frames / seconds if seconds else 0.0:.1f} FPS) → {where}",
            markup=False,
        )
    _finish(err, failures, total, session)


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


def _folders(paths: list[Path]) -> str:
    """``N files in out/`` for a summary line (each folder named once)."""
    folders = sorted({str(p.parent) for p in paths})
    return f"{len(paths)} files in {', '.join(folders)}"


def _split_check(split_seconds: float | None, maps: str | None, blend: bool) -> None:
    if split_seconds is not None and (maps or not blend):
        raise SaliencyCamError("--split-seconds writes only the blended video: drop --maps")


def _video_tasks(jobs, style, keep_audio: bool, note: str, batch: int | None) -> list:
    """One batch task per video (see realtime/cli/batch.py); ``batch`` None: each
    worker's session picks frames per inference as the serial ``--batch auto`` does."""
    from functools import partial

    from saliency_cam.realtime.apps.batch.runner import FileTask
    from saliency_cam.realtime.apps.video import run_video_job

    return [
        FileTask(
            src,
            tuple(outputs.paths()),
            partial(
                run_video_job,
                outputs=outputs,
                style=style,
                keep_audio=keep_audio,
                note=note,
                batch=batch,
            ),
        )
        for src, outputs in jobs.items()
    ]


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
    from saliency_cam.realtime.apps.image import ImageStyle, plan_image_jobs, process_images
    from saliency_cam.realtime.render.blend import resolve_colormap

    out, err = console(), console(stderr=True)
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
    total = _check_plan(err, plan, "image")
    if scale.wanted:  # files in parallel: apps/batch (one session per worker)
        style = ImageStyle(alpha=alpha, colormap=colormap)
        _, failed = scale.run(
            "image",
            model_name(quality, dataset, model, default=DEFAULT_QUALITY),
            lambda note: _image_tasks(plan.jobs, style, note),
            earlier_failures=len(plan.problems),
            describe=lambda result: [f"{result.source} → {', '.join(map(str, result.outputs))}"],
        )
        return exit_on_failures(failed)

    session = open_model(
        quality,
        dataset,
        default=DEFAULT_QUALITY,
        precision=precision,
        device=device,
        models_dir=models_dir,
        threads=threads,
        backend=backend,
        letterbox=letterbox,
        mode="throughput",
        model=model,
    )
    print_model(err, session)
    pictures_per_run = resolve_batch(batch, session)
    if pictures_per_run > 1:
        err.print(f"batch: up to {pictures_per_run} pictures of one aspect per inference")
    note = session.note
    with _progress(err, progress and len(plan.jobs) > 1) as bar:
        task = bar.add_task("images", total=len(plan.jobs))

        def done(source: Path, result, error: str | None) -> None:
            if error is not None:
                bar.console.print(f"[red]error[/]: {error}")
            bar.advance(task)

        style = ImageStyle(alpha=alpha, colormap=colormap)
        try:
            report = process_images(
                session, plan.jobs, style, note=note, on_done=done, batch=pictures_per_run
            )
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: the image in hand finished
            bar.stop()
            partial = getattr(exc, "report", None)
            kept = [p for r in partial.results for p in r.outputs] if partial else []
            shown = [_folders(kept)] if len(kept) > 1 else kept
            raise _interrupted(err, exc, shown, "") from None
    written = [p for r in report.results for p in r.outputs]
    where = str(written[0]) if len(written) == 1 else (_folders(written) if written else "-")
    out.print(
        f"{len(report.results)} image(s) → {where}"
        + (f"; {len(report.failures)} failed" if report.failures else ""),
        markup=False,
    )
    _finish(err, len(report.failures) + len(plan.problems), total, session)


def _image_tasks(plan, style, note: str) -> list:
    """One batch task per image (see realtime/cli/batch.py)."""
    from functools import partial

    from saliency_cam.realtime.apps.batch.runner import FileTask
    from saliency_cam.realtime.apps.image import process_image

    return [
        FileTask(
            src,
            tuple(outputs.paths()),
            partial(process_image, outputs=outputs, style=style, note=note),
        )
        for src, outputs in plan
    ]
