"""``saliency-cam [OPTIONS]``: the live app is the command line's default action, so
``saliency-cam --quality high`` opens the camera while ``saliency-cam video …`` and the
other subcommands still dispatch normally."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.cli.options import (
    Alpha,
    Colormap,
    Debug,
    Device,
    Model,
    ModelsDir,
    Precision,
    Quality,
    Smooth,
    View,
)


def register(app: typer.Typer) -> None:
    """Install the live app as the app's callback (runs when no subcommand is given)."""
    app.callback(invoke_without_command=True)(live)


def live(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            "-s",
            help="camera index (0), video file, folder or glob of images, URL/RTSP stream, "
            "or synthetic:FPS (test pattern)",
        ),
    ] = "0",
    quality: Quality = "medium",
    model: Model = None,
    device: Device = "auto",
    precision: Precision = "auto",
    view: View = "overlay",
    alpha: Alpha = 0.5,
    colormap: Colormap = "inferno",
    mirror: Annotated[bool, typer.Option("--mirror", help="flip the picture left-right")] = False,
    smooth: Smooth = 0.0,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="write the annotated stream to this video file"),
    ] = None,
    stats: Annotated[
        Path | None,
        typer.Option("--stats", help="write timings, FPS, latency, drops, hardware (JSON)"),
    ] = None,
    no_display: Annotated[
        bool, typer.Option("--no-display", help="no window (headless; Ctrl-C stops)")
    ] = False,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="stop after N frames")
    ] = None,
    models_dir: ModelsDir = None,
    snapshot_dir: Annotated[
        Path, typer.Option("--snapshot-dir", help="where the s key saves snapshots")
    ] = Path("."),
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="CPU inference threads (default: all cores)"),
    ] = None,
    debug: Debug = False,
) -> None:
    """Live saliency on a camera (default) or any source, with a HUD.

    Keys: q/Esc quit, 1-5 quality, v view, m mirror, space pause, s snapshot, h help.
    Prints a summary on exit. Other commands: see below.
    """
    if ctx.invoked_subcommand is not None:
        return
    from saliency_cam.export.variants import missing_model_exporter
    from saliency_cam.realtime.apps.live import LiveOptions, print_summary, run_live

    options = LiveOptions(
        source=source,
        quality=model or quality,
        precision=precision,
        device=device,
        view=view,
        alpha=alpha,
        colormap=colormap,
        mirror=mirror,
        smooth=smooth,
        record=record,
        stats=stats,
        display=not no_display,
        max_frames=max_frames,
        models_dir=models_dir,
        snapshot_dir=snapshot_dir,
        threads=threads,
        on_missing=missing_model_exporter(models_dir, say=lambda line: typer.echo(line, err=True)),
    )
    try:
        result = run_live(options)
    except SaliencyCamError as exc:
        partial = getattr(exc, "result", None)
        if partial is not None:  # failed mid-run: still show what was done
            print_summary(partial)
        raise
    print_summary(result)
