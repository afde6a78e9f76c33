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


#: Where the wrapped lines of the offline hint end (a terminal's 100 columns).
HINT_WIDTH = 100


def offline_hint(reason: str, output: Path, models_dir: Path | None) -> str:
    """What failed, then the demo command that works offline (random UNTRAINED weights:
    the demo has no --weights-path; export's hint to pass one does not apply), wrapped
    at :data:`HINT_WIDTH` with each command on a line of its own."""
    import shlex
    import textwrap

    # option and value stay together on a line
    command = [["saliency-cam", "demo"], ["--weights", "random"]]
    if output != Path("saliency-demo"):
        command.append(["--output", str(output)])
    if models_dir is not None:
        command.append(["--models-dir", str(models_dir)])
    lines = textwrap.wrap(
        f"the demo could not download the published weights: {reason}",
        width=HINT_WIDTH,
        initial_indent=" " * len("error: "),  # the CLI's prefix on the first line
        subsequent_indent="  ",
        break_on_hyphens=False,
    )
    lines[0] = lines[0].lstrip()
    lines += textwrap.wrap(
        "offline? this runs the whole pipeline on UNTRAINED random weights (their maps "
        "mean nothing):",
        width=HINT_WIDTH,
        initial_indent="  ",
        subsequent_indent="  ",
    )
    lines += _command_lines([shlex.join(words) for words in command], "    ")
    lines.append("  with a connection, run the demo again: finished downloads are kept.")
    return "\n".join(lines)


def _command_lines(words: list[str], indent: str) -> list[str]:
    """A shell command (``words``: its pieces, each already quoted) over lines of at most
    :data:`HINT_WIDTH` (longer only for one piece that long), continued with
    backslashes so it still pastes as one command."""
    lines: list[str] = []
    current = indent + words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) + 2 > HINT_WIDTH:
            lines.append(current + " \\")
            current = indent + "  " + word
        else:
            current += " " + word
    return [*lines, current]


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
        raise SaliencyCamError(offline_hint(exc.reason, output, models_dir)) from exc
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
