"""``saliency-cam models``: where the models folder is and what is in it;
``saliency-cam models add NAME FILE.onnx``: bring your own ONNX model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.realtime.cli.options import Debug, ModelsDir

models_app = typer.Typer(
    help="List the models folder; 'models add' registers your own ONNX model.",
    invoke_without_command=True,
    add_completion=False,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    """Add the ``models`` command group (plain ``models`` lists, as before)."""
    app.add_typer(models_app, name="models")


@models_app.callback()
def models(ctx: typer.Context, models_dir: ModelsDir = None, debug: Debug = False) -> None:
    """List every preset, classical model and user model with the variants exported for
    it (UNTRAINED marked), the models folder and the disk it uses."""
    if ctx.invoked_subcommand is not None:
        return
    from saliency_cam.models.catalog import list_models
    from saliency_cam.models.manifest import Manifest
    from saliency_cam.models.paths import models_dir as resolve_models_dir
    from saliency_cam.models.registry import ARCHES, arch_presets

    directory = resolve_models_dir(models_dir)
    typer.echo(f"models folder: {directory}")
    for entry in list_models(directory):
        variants = ", ".join(
            precision + ("" if trained else " UNTRAINED")
            for precision, trained in sorted(entry.trained.items())
        )
        if entry.kind == "baseline":
            variants = "built in (no export)"
        size = f"{entry.size[0]}x{entry.size[1]}"
        arch = "" if entry.arch == "msinet" else f" [{entry.arch}, {entry.gflops:.2f} GFLOPs]"
        line = f"  {entry.name:17} {entry.kind:8} {size:8} {variants or 'not exported'}{arch}"
        typer.echo(line)
    for arch in ARCHES:  # which sizes each network is offered at (train --quality)
        typer.echo(f"{arch} presets: {', '.join(arch_presets(arch))}")
    files = [info.path for info in Manifest.load(directory).variants.values()]
    used = sum(path.stat().st_size for path in files if path.exists())
    typer.echo(f"{len(files)} exported file(s), {used / 2**20:.0f} MB on disk")


@models_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the name to run it by: --model NAME")],
    file: Annotated[Path, typer.Argument(help="the ONNX file")],
    layout: Annotated[str, typer.Option("--layout", help="nhwc | nchw")] = "nhwc",
    input_range: Annotated[
        str, typer.Option("--input-range", help="0-255 | 0-1 (float inputs)")
    ] = "0-255",
    mean: Annotated[
        str | None,
        typer.Option("--mean", help="R,G,B subtracted after the range", show_default=False),
    ] = None,
    std: Annotated[
        str | None,
        typer.Option("--std", help="R,G,B divided by after the mean", show_default=False),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(
            "--size",
            help="HxW to feed a dynamic graph (a fixed graph: its own)",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str, typer.Option("--output", help="none | sigmoid | softmax (over all pixels)")
    ] = "none",
    channels: Annotated[str, typer.Option("--channels", help="rgb | bgr channel order")] = "rgb",
    replace: Annotated[
        bool, typer.Option("--replace", help="replace a model of that name")
    ] = False,
    models_dir: ModelsDir = None,
    debug: Debug = False,
) -> None:
    """Register your own ONNX saliency model (SalGAN, SalNet, DeepGaze, UNISAL exports …)
    with its input/output contract; checked against the graph and proven by a probe run
    before it is listed. Then: --model NAME with every command."""
    from saliency_cam.models.contract import Contract
    from saliency_cam.realtime.runtime.added_models import add_model

    contract = Contract.parse(
        layout=layout,
        channels=channels,
        input_range=input_range,
        mean=mean,
        std=std,
        size=size,
        output=output,
    )
    info = add_model(name, file, contract, models_dir, replace=replace)
    typer.echo(
        f"added {name}: {info.height}x{info.width} input, {info.file} "
        f"(sha256 {info.sha256[:12]}); run it with --model {name}"
    )
