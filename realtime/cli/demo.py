"""``saliency-cam demo``: export the variants and run saliency on the bundled samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.realtime.cli.options import Debug, ModelsDir


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""
    app.command("demo")(demo)


def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="where results go")] = Path(
        "saliency-demo"
    ),
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="weight source for the export: tfjs (default, needs internet), hf, or random "
            "(offline, UNTRAINED: shows the pipeline, not real saliency)",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        str, typer.Option("--quality", "-q", help="quality for the clip")
    ] = "medium",
    models_dir: ModelsDir = None,
    debug: Debug = False,
) -> None:
    """Export all five quality variants (skipped when up to date), then write saliency
    maps for the bundled pictures and an annotated side-by-side clip into --output."""
    from saliency_cam.export import require_export_extra
    from saliency_cam.models.cost import measure_cost

    require_export_extra("the demo (it exports the models first)")
    with measure_cost() as total:
        _run_demo(output, weights, quality, models_dir)
    typer.echo(
        f"demo done in {total.describe()}: see {output}/images and "
        f"{output}/sample_clip_saliency.mp4. Live camera: saliency-cam --quality high"
    )


def _run_demo(output: Path, weights: str | None, quality: str, models_dir: Path | None) -> None:
    """Export every quality, then the pictures and the clip; the export's own summary
    line (time, peak memory) goes to stderr."""
    from saliency_cam.export.variants import export_presets, run_summary
    from saliency_cam.models.cost import measure_cost
    from saliency_cam.models.errors import DownloadError, SaliencyCamError
    from saliency_cam.realtime.apps.demo import sample_pictures, write_sample_clip
    from saliency_cam.realtime.cli.media import image, video

    try:
        with measure_cost() as cost:
            results = export_presets(["all"], source=weights, models_dir=models_dir)
        typer.echo(run_summary(results, cost), err=True)
    except DownloadError as exc:
        raise SaliencyCamError(
            f"{exc} — offline? 'saliency-cam demo --weights random' runs the whole pipeline "
            "with UNTRAINED weights"
        ) from exc
    output.mkdir(parents=True, exist_ok=True)
    clip = write_sample_clip(output / "sample_clip.mp4")
    image(
        [str(p) for p in sample_pictures()],
        output=output / "images",
        quality="very_high",
        overlay=True,
        models_dir=models_dir,
        progress=False,
    )
    video(
        [str(clip)],
        output=output / "sample_clip_saliency.mp4",
        quality=quality,
        view="side",
        models_dir=models_dir,
        progress=False,
    )
