"""``saliency-cam reframe`` (videos to other aspect ratios, smooth camera path, audio
kept) and ``saliency-cam crop`` (images to every requested size): a thin layer over
:mod:`saliency_cam.realtime.apps.reframe`. Both print the quality measures.
"""

from __future__ import annotations

from functools import partial
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
    open_model,
)
from saliency_cam.realtime.cli.printing import console, report_problems
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
    from saliency_cam.models.media import VIDEO_OUTPUT_SUFFIXES, VIDEO_SUFFIXES
    from saliency_cam.realtime.apps.batch.runner import FileTask
    from saliency_cam.realtime.apps.reframe.job import (
        ReframeSettings,
        ReframeTarget,
        reframe_task,
        run_reframe_job,
    )
    from saliency_cam.realtime.apps.reframe.padding import resolve_pad_style
    from saliency_cam.realtime.apps.reframe.path import PathSettings
    from saliency_cam.realtime.apps.reframe.shots import require_scenedetect
    from saliency_cam.realtime.apps.reframe.window import parse_aspect
    from saliency_cam.realtime.io.inputs import (
        expand_inputs,
        output_argument,
        plan_outputs,
        refuse_overwriting_inputs,
    )

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
            jobs[src].append(
                ReframeTarget(
                    a,
                    main,
                    Path(f"{stem}.path.json") if path_json else None,
                    Path(f"{stem}_debug{main.suffix}") if debug_view else None,
                )
            )
    refuse_overwriting_inputs(
        found.paths, [p for ts in jobs.values() for t in ts for p in t.paths()]
    )
    report_problems(err, found.problems)
    if not found.paths:
        err.print("[red]no video to process[/]")
        raise typer.Exit(1)

    def describe(result) -> list[str]:
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

    if scale.wanted:

        def make_tasks(note: str) -> list[FileTask]:
            return [
                FileTask(
                    src,
                    tuple(p for t in targets for p in t.paths()),
                    partial(
                        reframe_task,
                        targets=targets,
                        settings=settings,
                        keep_audio=keep_audio,
                        note=note,
                    ),
                )
                for src, targets in jobs.items()
            ]

        _, failures = scale.run(
            "reframe",
            model_or_quality(quality, model),
            make_tasks,
            earlier_failures=len(found.problems),
            describe=describe,
        )
        exit_on_failures(failures)
        return

    session = open_model(
        model_or_quality(quality, model),
        None,
        default="low",
        precision=precision,
        device=device,
        models_dir=models_dir,
        threads=threads,
        backend=backend,
        letterbox=letterbox,
    )
    err.print(f"model: {session.variant.label()} on {session.providers[0]}")
    if not session.trained:
        err.print("[bold yellow]UNTRAINED[/]: seeded random weights: the crops follow noise")
    failures = len(found.problems)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        disable=not progress,
    ) as bar:
        for src, targets in jobs.items():
            task = bar.add_task(src.name, total=None)

            def advanced(done: int, total: int, task=task) -> None:
                bar.update(task, completed=done, total=total)

            try:
                result = run_reframe_job(
                    session.predict,
                    src,
                    targets,
                    settings,
                    keep_audio=keep_audio,
                    note=session.note,
                    on_frame=advanced,
                )
            except Exception as exc:  # one bad file must not end the batch
                failures += 1
                message = failure_line(src, exc)
                bar.console.print(f"[red]error[/]: {message}")
                continue
            for line in describe(result):
                bar.console.print(line, markup=False)
    exit_on_failures(failures)


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
    from saliency_cam.models.media import IMAGE_SUFFIXES
    from saliency_cam.realtime.apps.batch.runner import FileTask
    from saliency_cam.realtime.apps.reframe.crop import (
        CropSettings,
        contact_sheet,
        crop_image,
        crop_outputs,
        crop_task,
        parse_size,
    )
    from saliency_cam.realtime.io.inputs import (
        expand_inputs,
        plan_outputs,
        refuse_overwriting_inputs,
    )

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
        mode="latency",
        progress=progress,
    )
    sizes = list(dict.fromkeys(parse_size(s) for s in size or ["1080x1080"]))
    settings = CropSettings(margins=_margins(margin), min_scale=min_scale)
    found = expand_inputs(inputs, IMAGE_SUFFIXES)
    bases = plan_outputs(found.paths, output, "", "", allow_file=False)
    planned = {src: crop_outputs(base, src, sizes, json_) for src, base in bases.items()}
    all_outputs = [p for files, js in planned.values() for p in [*files, js] if p is not None]
    refuse_overwriting_inputs(found.paths, all_outputs)
    report_problems(err, found.problems)
    if not found.paths:
        err.print("[red]no image to process[/]")
        raise typer.Exit(1)

    def describe(result) -> list[str]:
        boxes = ", ".join(
            f"{name} ({b.x},{b.y} {b.w}×{b.h}, {result.kept[name]:.0%} saliency, "
            f"centre crop {result.kept_centre[name]:.0%})"
            for name, b in result.boxes.items()
        )
        return [f"{result.source}: {boxes}", *result.upscale_warnings()]

    results = []
    failures = len(found.problems)
    if scale.wanted:

        def make_tasks(note: str) -> list[FileTask]:
            return [
                FileTask(
                    src,
                    tuple(p for p in [*planned[src][0], planned[src][1]] if p is not None),
                    partial(crop_task, base=base, sizes=sizes, settings=settings, write_json=json_),
                )
                for src, base in bases.items()
            ]

        results, failures = scale.run(
            "crop",
            model_or_quality(quality, model),
            make_tasks,
            earlier_failures=failures,
            describe=describe,
        )
    else:
        session = open_model(
            model_or_quality(quality, model),
            None,
            default=DEFAULT_QUALITY,
            precision=precision,
            device=device,
            models_dir=models_dir,
            threads=threads,
            backend=backend,
            letterbox=letterbox,
        )
        err.print(f"model: {session.variant.label()} on {session.providers[0]}")
        for src, base in bases.items():
            try:
                result = crop_image(session.predict, src, base, sizes, settings, write_json=json_)
            except Exception as exc:  # one bad file must not end the batch
                failures += 1
                message = failure_line(src, exc)
                err.print(f"[red]error[/]: {message}")
                continue
            results.append(result)
            for line in describe(result):  # warnings to stderr, the boxes to stdout
                (err if line.startswith("warning:") else out).print(line, markup=False)
    if sheet and results:
        folder = output or results[0].source.parent
        path = contact_sheet(results, folder / "contact_sheet.png")
        out.print(f"contact sheet → {path}", markup=False)
    if results:
        count = sum(len(r.kept) for r in results)
        kept = sum(v for r in results for v in r.kept.values()) / count
        centre = sum(v for r in results for v in r.kept_centre.values()) / count
        gain = f", {kept / centre:.2f}×" if centre > 0 else ""
        out.print(
            f"{len(results)} image(s) × {len(sizes)} size(s); mean saliency kept {kept:.1%} "
            f"(centre crop {centre:.1%}{gain})",
            markup=False,
        )
    exit_on_failures(failures)


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
