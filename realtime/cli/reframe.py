"""``saliency-cam reframe`` (videos to other aspect ratios, smooth camera path, audio
kept) and ``saliency-cam crop`` (images to every requested size): a thin layer over
:mod:`saliency_cam.realtime.apps.reframe`. Both print the quality measures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.jobs import Reporter
from saliency_cam.realtime.cli.batch import (
    GpusPerTask,
    RayAddress,
    ScaleOut,
    SplitSeconds,
    Workers,
    exit_on_failures,
    finish_on_workers,
    print_workers_summary,
)
from saliency_cam.realtime.cli.options import (
    Backend,
    Debug,
    Device,
    Inputs,
    LetterboxFlag,
    Model,
    ModelsDir,
    OutputFolder,
    Precision,
    ShowProgress,
    Threads,
    model_or_quality,
)
from saliency_cam.realtime.cli.printing import check_plan, console
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY

Quality = Annotated[
    str, typer.Option("--quality", "-q", help="very_low … very_high (coarse maps are enough)")
]


def register(app: typer.Typer) -> None:
    """Add the ``reframe`` and ``crop`` commands to the app."""
    app.command("reframe")(reframe)
    app.command("crop")(crop)


def reframe(
    inputs: Inputs,
    output_text: Annotated[
        str | None,  # not Path: that drops the trailing slash that says "a folder"
        typer.Option(
            "--output",
            "-o",
            help="output file (one input, one aspect) or folder (always with a trailing /; "
            "created if missing); default: next to each input as <name>_<W>x<H>.mp4",
            show_default=False,
        ),
    ] = None,
    aspect: Annotated[
        list[str] | None,
        typer.Option(
            "--aspect", "-a", help="target aspect W:H, repeatable (9:16, 1:1, 4:5) [default: 9:16]"
        ),
    ] = None,
    smoothness: Annotated[
        float,
        typer.Option("--smoothness", min=0.0, max=1.0, help="0 = follow closely … 1 = calm"),
    ] = 0.5,
    max_pan: Annotated[
        float,
        typer.Option("--max-pan", min=0.01, help="top camera speed, frame widths per second"),
    ] = 0.5,
    padding: Annotated[
        bool,
        typer.Option(
            "--padding",
            help="pad (blurred background) shots whose salient content is wider than the "
            "target instead of cropping them",
        ),
    ] = False,
    pad_style: Annotated[str, typer.Option("--pad-style", help="blur | black")] = "blur",
    path_json: Annotated[
        bool, typer.Option("--path-json", help="also write the crop path as <out>.path.json")
    ] = False,
    debug_view: Annotated[
        bool,
        typer.Option(
            "--debug-view",
            help="also write <out>_debug.mp4: frame and saliency with the per-frame optimum "
            "(red) and the smoothed window (green)",
        ),
    ] = False,
    keep_audio: Annotated[
        bool, typer.Option("--keep-audio/--no-audio", help="copy the input's audio track")
    ] = True,
    quality: Quality = DEFAULT_QUALITY,
    model: Model = None,
    device: Device = "auto",
    precision: Precision = "auto",
    backend: Backend = "auto",
    letterbox: LetterboxFlag = False,
    workers: Workers = None,
    ray: RayAddress = None,
    gpus_per_task: GpusPerTask = 0.0,
    split_seconds: SplitSeconds = None,
    progress: ShowProgress = True,
    models_dir: ModelsDir = None,
    threads: Threads = None,
    debug: Debug = False,
) -> None:
    """Reframe videos to other aspect ratios, following what is salient (AutoFlip-style).

    Per frame the window of the target aspect that keeps the most saliency; per shot
    (PySceneDetect) a smooth camera path that holds still or pans with bounded speed and
    acceleration, jumping only at cuts. Prints the saliency kept (vs a centre crop) and
    the path jitter.
    """
    from saliency_cam.realtime.apps.reframe.files import plan_reframe_jobs, run_reframe_jobs
    from saliency_cam.realtime.apps.reframe.job import ReframeSettings
    from saliency_cam.realtime.apps.reframe.padding import resolve_pad_style
    from saliency_cam.realtime.apps.reframe.path import PathSettings
    from saliency_cam.realtime.apps.reframe.shots import require_scenedetect
    from saliency_cam.realtime.apps.reframe.window import parse_aspect
    from saliency_cam.realtime.io.inputs import output_argument

    require_scenedetect()  # fail early, with the install hint, if the extra is missing
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
        mode="latency",
        progress=progress,
        split_seconds=split_seconds,
    )
    aspects = list(dict.fromkeys(parse_aspect(a) for a in aspect or ["9:16"]))
    settings = ReframeSettings(
        path=PathSettings(smoothness=smoothness, max_pan=max_pan),
        padding=padding,
        pad_style=resolve_pad_style(pad_style),
    )
    output = output_argument(output_text)
    plan = plan_reframe_jobs(inputs, output, aspects, path_json=path_json, debug_view=debug_view)
    check_plan(err, plan, "video")
    name = model_or_quality(quality, model)
    run = partial(run_reframe_jobs, plan, settings, keep_audio=keep_audio)
    if scale.wanted:
        report = scale.report("reframe", _reframe_lines)
        return finish_on_workers(run(scale=scale.scale, model=scale.model(name), reporter=report))
    opener = scale.opener(name, None, default="low")
    summary = run(open_session=opener, reporter=ReframeReport(err, progress))
    exit_on_failures(summary.failures)


def _reframe_lines(result) -> list[str]:
    """One video's summary: frames, shots, speed, and per target its outputs and quality."""
    pieces = f", maps in {result.pieces} pieces" if result.pieces > 1 else ""
    lines = [
        f"{result.source}: {result.frames} frames, {len(result.cuts) + 1} shot(s), "
        f"{result.fps:.1f} FPS (both passes){pieces}"
    ]
    for track in result.tracks:
        outs = ", ".join(str(p) for p in track.outputs)
        lines.append(f"  {track.size[0]}×{track.size[1]} → {outs}")
        lines.append(f"    {track.quality.line()}")
    return lines


class ReframeReport(Reporter):
    """The serial reframe as shown: the model line, a bar per video (both passes), its
    summary lines or its error line."""

    def __init__(self, err: Any, progress: bool) -> None:
        self.err, self.progress = err, progress

    def opened(self, runner: Any) -> None:
        session = runner.session
        self.err.print(f"model: {session.variant.label()} on {session.providers[0]}")
        if not session.trained:
            self.err.print(
                "[bold yellow]UNTRAINED[/]: seeded random weights: the crops follow noise"
            )

    @contextlib.contextmanager
    def running(self, count: int) -> Iterator[None]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=self.err, disable=not self.progress) as self.bar:
            yield

    def begin(self, source: Path) -> dict[str, Any]:
        task = self.bar.add_task(source.name, total=None)
        return {"on_frame": lambda done, total: self.bar.update(task, completed=done, total=total)}

    def done(self, outcome: Any) -> None:
        if not outcome.ok:
            self.bar.console.print(f"[red]error[/]: {outcome.error}")
            return
        for line in _reframe_lines(outcome.result):
            self.bar.console.print(line, markup=False)


def crop(
    inputs: Inputs,
    output: OutputFolder = None,
    size: Annotated[
        list[str] | None,
        typer.Option("--size", "-s", help="output size WxH, repeatable [default: 1080x1080]"),
    ] = None,
    json_: Annotated[
        bool, typer.Option("--json", help="also write the boxes as <name>_crops.json")
    ] = False,
    sheet: Annotated[
        bool, typer.Option("--sheet/--no-sheet", help="write contact_sheet.png of all crops")
    ] = True,
    margin: Annotated[
        str,
        typer.Option(
            "--margin", help="keep-out margins as fractions: ALL or LEFT,TOP,RIGHT,BOTTOM"
        ),
    ] = "0",
    min_scale: Annotated[
        float,
        typer.Option(
            "--min-scale",
            min=0.05,
            max=1.0,
            help="allow windows down to this fraction of the largest (zoom in)",
        ),
    ] = 1.0,
    quality: Quality = DEFAULT_QUALITY,
    model: Model = None,
    device: Device = "auto",
    precision: Precision = "auto",
    backend: Backend = "auto",
    letterbox: LetterboxFlag = False,
    workers: Workers = None,
    ray: RayAddress = None,
    gpus_per_task: GpusPerTask = 0.0,
    progress: ShowProgress = True,
    models_dir: ModelsDir = None,
    threads: Threads = None,
    debug: Debug = False,
) -> None:
    """Crop images to every requested size, keeping the most salient part:
    <name>_<W>x<H>.jpg|png, optional <name>_crops.json, and a contact sheet."""
    from saliency_cam.realtime.apps.reframe.crop import CropSettings, parse_size
    from saliency_cam.realtime.apps.reframe.files import plan_crop_jobs, run_crop_jobs

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
        mode="latency",
        progress=progress,
    )
    sizes = list(dict.fromkeys(parse_size(s) for s in size or ["1080x1080"]))
    settings = CropSettings(margins=_margins(margin), min_scale=min_scale)
    plan = plan_crop_jobs(inputs, output, sizes, write_json=json_)
    check_plan(err, plan, "image")
    name = model_or_quality(quality, model)
    run = partial(run_crop_jobs, plan, sizes, settings, write_json=json_)
    if scale.wanted:
        report = scale.report("crop", _crop_lines)
        summary = run(scale=scale.scale, model=scale.model(name), reporter=report)
        print_workers_summary(summary)
    else:
        summary = run(open_session=scale.opener(name, None), reporter=CropReport(err))
    _print_crop_total(summary.results, output, sizes, sheet)
    exit_on_failures(summary.failures)


def _crop_lines(result) -> list[str]:
    """One image's boxes (and a warning per size it was upscaled to)."""
    boxes = ", ".join(
        f"{name} ({b.x},{b.y} {b.w}×{b.h}, {result.kept[name]:.0%} saliency, "
        f"centre crop {result.kept_centre[name]:.0%})"
        for name, b in result.boxes.items()
    )
    return [f"{result.source}: {boxes}", *result.upscale_warnings()]


class CropReport(Reporter):
    """The serial crop as shown: the model line, then per image its boxes (stdout, the
    warnings to stderr) or its error line."""

    def __init__(self, err: Any) -> None:
        self.err, self.out = err, console()

    def opened(self, runner: Any) -> None:
        session = runner.session
        self.err.print(f"model: {session.variant.label()} on {session.providers[0]}")

    def done(self, outcome: Any) -> None:
        if not outcome.ok:
            self.err.print(f"[red]error[/]: {outcome.error}")
            return
        for line in _crop_lines(outcome.result):  # warnings to stderr, the boxes to stdout
            (self.err if line.startswith("warning:") else self.out).print(line, markup=False)


def _print_crop_total(results: list, output: Path | None, sizes: list, sheet: bool) -> None:
    """The contact sheet (when asked) and the mean saliency kept, vs centre crops."""
    from saliency_cam.realtime.apps.reframe.crop import contact_sheet
    from saliency_cam.realtime.apps.reframe.files import mean_kept

    if not results:
        return
    out = console()
    if sheet:
        folder = output or results[0].source.parent
        path = contact_sheet(results, folder / "contact_sheet.png")
        out.print(f"contact sheet → {path}", markup=False)
    kept, centre = mean_kept(results)
    gain = f", {kept / centre:.2f}×" if centre > 0 else ""
    out.print(
        f"{len(results)} image(s) × {len(sizes)} size(s); mean saliency kept {kept:.1%} "
        f"(centre crop {centre:.1%}{gain})",
        markup=False,
    )


def _margins(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 4
    if len(values) != 4:
        raise SaliencyCamError(f"bad --margin {text!r}: one fraction, or LEFT,TOP,RIGHT,BOTTOM")
    return values[0], values[1], values[2], values[3]
