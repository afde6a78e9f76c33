"""``saliency-cam serve``: the web page and HTTP API (a thin layer over
:mod:`saliency_cam.realtime.apps.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

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
            help="bearer token every API call and the live page must send [env SALIENCY_CAM_TOKEN]",
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
        max_video_bytes=max_upload_mb * MIB,
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
