"""``saliency-cam serve``: the web page and HTTP API (a thin layer over
:mod:`saliency_cam.realtime.apps.serve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.cli.options import (
    Backend,
    Debug,
    Device,
    ModelsDir,
    Precision,
    Quality,
)
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the app."""
    app.command("serve")(serve)


def serve(
    host: Annotated[
        str,
        typer.Option("--host", help="address to listen on (anything but loopback needs --token)"),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535)] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="SALIENCY_CAM_TOKEN",
            help="bearer token every API call and the live page must send (visible to "
            "other users in ps: prefer SALIENCY_CAM_TOKEN or --token-file)",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="read the token from this file (its first line)",
            show_default=False,
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="another Host name (or address) clients use, besides 127.0.0.1, "
            "localhost and --host; repeat for more; '*' accepts any",
            show_default=False,
        ),
    ] = None,
    quality: Quality = DEFAULT_QUALITY,
    device: Device = "auto",
    precision: Precision = "auto",
    backend: Backend = "auto",
    max_batch: Annotated[
        int,
        typer.Option(
            "--max-batch", min=1, help="batch up to this many concurrent requests (1: off)"
        ),
    ] = 8,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="largest video upload, MiB")
    ] = 512,
    max_image_mb: Annotated[
        int, typer.Option("--max-image-mb", min=1, help="largest image upload, MiB")
    ] = 32,
    max_megapixels: Annotated[
        float,
        typer.Option(
            "--max-megapixels", min=0.01, help="largest image or video frame, million pixels"
        ),
    ] = 50.0,
    max_video_frames: Annotated[
        int, typer.Option("--max-video-frames", min=1, help="most frames in one video")
    ] = 36_000,
    max_video_seconds: Annotated[
        float, typer.Option("--max-video-seconds", min=1, help="longest video, seconds")
    ] = 600.0,
    max_work_megapixels: Annotated[
        float | None,
        typer.Option(
            "--max-work-megapixels",
            min=0.01,
            help="decoded pixels worked on at once, million (default: from memory)",
            show_default=False,
        ),
    ] = None,
    max_jobs: Annotated[
        int,
        typer.Option("--max-jobs", min=1, help="video jobs uploading, queued or running"),
    ] = 4,
    max_disk_mb: Annotated[
        int, typer.Option("--max-disk-mb", min=1, help="the server's temp folder, MiB")
    ] = 4096,
    models_dir: ModelsDir = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="do not open the page in a browser")
    ] = False,
    debug: Debug = False,
) -> None:
    """Web page (live camera, images, videos, models) and HTTP API on
    http://127.0.0.1:8000; API docs at /docs. Ctrl-C stops it."""
    from saliency_cam.realtime.apps.serve.config import MIB, ServeConfig
    from saliency_cam.realtime.apps.serve.server import serve as run_server

    if token_file is not None:
        token = read_token_file(token_file)
    max_pixels = int(max_megapixels * 1e6)
    config = ServeConfig(
        host=host,
        port=port,
        token=token,
        quality=quality,
        precision=precision,
        backend=backend,
        device=device,
        models_dir=models_dir,
        max_batch=max_batch,
        max_image_bytes=max_image_mb * MIB,
        max_video_bytes=max_upload_mb * MIB,
        max_pixels=max_pixels,
        max_video_frames=max_video_frames,
        max_video_seconds=max_video_seconds,
        max_pixels_in_flight=(
            None if max_work_megapixels is None else int(max_work_megapixels * 1e6)
        ),
        max_jobs=max_jobs,
        max_disk_bytes=max_disk_mb * MIB,
        allowed_hosts=tuple(allowed_host or ()),
    )
    config.check_exposure()

    def ready(url: str) -> None:
        typer.echo(f"saliency-cam serving on {url}  (API docs: {url}/docs; Ctrl-C stops)", err=True)

    run_server(
        config,
        open_browser=not no_browser,
        on_ready=ready,
        log_level="info" if debug else "warning",
    )
    typer.echo("stopped", err=True)


def read_token_file(path: Path) -> str:
    """The token in ``path`` (its first line, stripped), or one error line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SaliencyCamError(
            f"--token-file {path}: cannot read it ({exc.__class__.__name__})"
        ) from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise SaliencyCamError(f"--token-file {path}: the file is empty (put the token in it)")
    return token
