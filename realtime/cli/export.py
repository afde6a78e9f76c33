"""``saliency-cam export``: published MSI-Net weights → ONNX variants + manifest.

TensorFlow and tf2onnx are imported inside the command only, so the runtime's CLI
starts without them (they come with the ``export`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.export import require_export_extra
from saliency_cam.models.manifest import VariantInfo
from saliency_cam.realtime.cli.options import PRECISION_NAMES, QUALITY_NAMES, Debug, ModelsDir

Qualities = Annotated[
    list[str] | None,
    typer.Option(
        "--quality",
        "-q",
        help=f"{QUALITY_NAMES} | all; repeatable [default: all five, unless --dataset is given]",
        show_default=False,
    ),
]
Datasets = Annotated[
    list[str] | None,
    typer.Option(
        "--dataset",
        help="original dataset models (salicon, mit1003, cat2000, dutomron, pascals, osie, "
        "fiwi, all) at their own input sizes; repeatable; weights from --weights pb (or hf "
        "for salicon)",
        show_default=False,
    ),
]
Models = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        help="a model by name: your trained ones (saliency-cam train --name), re-exported "
        "from their stored .weights.h5, or any quality/dataset preset; repeatable",
        show_default=False,
    ),
]
Weights = Annotated[
    str | None,
    typer.Option(
        "--weights",
        help="hf | tfjs | pb | keras | random [default: tfjs for qualities, pb for datasets]",
        show_default=False,
    ),
]
WeightsPath = Annotated[
    Path | None,
    typer.Option(
        "--weights-path",
        help="local file or folder with the published weights instead of downloading",
        show_default=False,
    ),
]
Precisions = Annotated[
    list[str],
    typer.Option(
        "--precision",
        help=f"{PRECISION_NAMES} (bf16: OpenVINO on AVX512_BF16/AMX CPUs); repeatable",
    ),
]
Force = Annotated[bool, typer.Option("--force", help="re-export even if up to date")]
Seed = Annotated[int, typer.Option("--seed", help="seed for --weights random")]

UNTRAINED_WARNING = (
    "WARNING: --weights random makes UNTRAINED models with seeded random weights. Their maps "
    "mean nothing; use them for tests and speed measurements only."
)


def export_command(
    quality: Qualities = None,
    dataset: Datasets = None,
    model: Models = None,
    weights: Weights = None,
    weights_path: WeightsPath = None,
    models_dir: ModelsDir = None,
    precision: Precisions = ["fp32"],  # noqa: B006 - typer reads the default, never mutated
    force: Force = False,
    seed: Seed = 0,
    debug: Debug = False,
) -> None:
    """Export ONNX variants (one per quality or dataset preset) and record them in the
    models folder's manifest.json; up-to-date variants are skipped."""
    from saliency_cam.export.run import export_with_cost

    err = typer.get_text_stream("stderr")

    def announce(presets, directory) -> None:  # the request is valid; TensorFlow not loaded
        if weights == "random":
            typer.secho(UNTRAINED_WARNING, fg=typer.colors.RED, bold=True, err=True)
        require_export_extra("export")
        err.write(f"exporting {', '.join(p.name for p in presets)} into {directory}\n")

    results, cost = export_with_cost(
        quality=quality,
        dataset=dataset,
        model=model,
        weights=weights,
        weights_path=weights_path,
        precision=precision,
        models_dir=models_dir,
        force=force,
        seed=seed,
        on_plan=announce,
    )
    from saliency_cam.export.variants import run_summary

    for info in results:
        typer.echo(summary_line(info))
    err.write(run_summary(results, cost) + "\n")
    if any(not info.trained for info in results):
        typer.secho(
            "these models are UNTRAINED (random weights): not for real use",
            fg=typer.colors.RED,
            bold=True,
            err=True,
        )


def summary_line(info: VariantInfo) -> str:
    """One aligned line per variant: name, size, weights, parity, file."""
    size = f"{info.height}x{info.width}"
    weights = str(info.weights.get("source", "?")) + ("" if info.trained else " UNTRAINED")
    parity, cc = info.parity.get("max_abs"), info.fidelity.get("cc")
    if isinstance(parity, float):
        check = f"parity {parity:.1e}"
    else:
        check = f"CC {cc:.4f} vs fp32" if isinstance(cc, float) else ""
    return f"{info.preset:10} {info.precision:5} {size:8} {weights:17} {check:17} {info.path}"


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to the app."""
    app.command("export")(export_command)
