"""``saliency-cam models``: where the models folder is and what is exported in it."""

from __future__ import annotations

import typer

from saliency_cam.realtime.cli.options import Debug, ModelsDir


def register(app: typer.Typer) -> None:
    """Add the ``models`` command."""
    app.command("models")(models)


def models(models_dir: ModelsDir = None, debug: Debug = False) -> None:
    """List every preset and user model with the variants exported for it (UNTRAINED
    marked), the models folder and the disk it uses."""
    from saliency_cam.models.catalog import list_models
    from saliency_cam.models.manifest import Manifest
    from saliency_cam.models.paths import models_dir as resolve_models_dir
    from saliency_cam.models.registry import ARCHES, arch_presets

    directory = resolve_models_dir(models_dir)
    typer.echo(f"models folder: {directory}")
    for entry in list_models(directory):
        variants = ", ".join(
            precision + ("" if trained else " UNTRAINED")
            for precision, trained in sorted(entry.exported.items())
        )
        size = f"{entry.size[0]}x{entry.size[1]}"
        arch = "" if entry.arch == "msinet" else f" [{entry.arch}, {entry.gflops:.2f} GFLOPs]"
        line = f"  {entry.name:12} {entry.kind:8} {size:8} {variants or 'not exported'}{arch}"
        typer.echo(line)
    for arch in ARCHES:  # which sizes each network is offered at (train --quality)
        typer.echo(f"{arch} presets: {', '.join(arch_presets(arch))}")
    files = [info.path for info in Manifest.load(directory).variants.values()]
    used = sum(path.stat().st_size for path in files if path.exists())
    typer.echo(f"{len(files)} exported file(s), {used / 2**20:.0f} MB on disk")
