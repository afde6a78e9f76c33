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
    Backend,
    Colormap,
    Debug,
    Device,
    LetterboxFlag,
    Model,
    ModelsDir,
    Precision,
    Quality,
    Reuse,
    Smooth,
    View,
)
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY


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
    width: Annotated[
        int | None, typer.Option("--width", min=1, help="camera: ask for this frame width")
    ] = None,
    height: Annotated[
        int | None, typer.Option("--height", min=1, help="camera: ask for this frame height")
    ] = None,
    fps: Annotated[
        float | None, typer.Option("--fps", min=0.1, help="camera: ask for this frame rate")
    ] = None,
    fourcc: Annotated[
        str | None,
        typer.Option(
            "--fourcc",
            help="camera: pixel format code, e.g. MJPG (many webcams need it for HD at full "
            "rate); what the camera gave is reported",
        ),
    ] = None,
    quality: Quality = DEFAULT_QUALITY,
    model: Model = None,
    device: Device = "auto",
    precision: Precision = "auto",
    view: View = "overlay",
    alpha: Alpha = 0.5,
    colormap: Colormap = "inferno",
    mirror: Annotated[bool, typer.Option("--mirror", help="flip the picture left-right")] = False,
    smooth: Smooth = 0.0,
    reuse: Reuse = 1,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="write the annotated stream to this video file"),
    ] = None,
    record_view: Annotated[
        str | None,
        typer.Option(
            "--record-view",
            help="what --record writes: overlay | heatmap | side | clean (the picture alone) | "
            "map (the map alone) [default: what the window shows]",
            show_default=False,
        ),
    ] = None,
    hud: Annotated[
        bool,
        typer.Option("--hud/--no-hud", help="draw the HUD on recorded overlay/heatmap/side"),
    ] = True,
    stats: Annotated[
        Path | None,
        typer.Option("--stats", help="write timings, FPS, latency, drops, hardware (JSON)"),
    ] = None,
    points: Annotated[
        int,
        typer.Option(
            "--points",
            min=0,
            help="with --stats: the top K fixation points and the map's centroid per frame",
        ),
    ] = 0,
    no_display: Annotated[
        bool,
        typer.Option("--no-display", help="no window (headless; Ctrl-C or SIGTERM stops)"),
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
    backend: Backend = "auto",
    letterbox: LetterboxFlag = False,
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
    from saliency_cam.realtime.io.sources import CameraSettings

    camera = CameraSettings(width=width, height=height, fps=fps, fourcc=fourcc)

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
        reuse=reuse,
        record=record,
        record_view=record_view,
        record_hud=hud,
        points=points,
        stats=stats,
        display=not no_display,
        max_frames=max_frames,
        models_dir=models_dir,
        snapshot_dir=snapshot_dir,
        threads=threads,
        camera=None if camera.empty else camera,
        backend=backend,
        letterbox=letterbox,
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
    if result.interrupted is not None:  # Ctrl-C, SIGTERM, SIGHUP: say what was kept
        from saliency_cam.realtime.apps.interrupt import exit_code_for

        typer.echo(result.interrupted_line(), err=True)
        raise typer.Exit(exit_code_for(result.interrupted))
