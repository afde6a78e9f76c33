"""``saliency-cam bench``: how fast is it on this machine, at which quality, on which
device and precision; ``--compare`` merges results from several machines.

A thin layer over :mod:`saliency_cam.realtime.bench.runner` (measuring) and
:mod:`saliency_cam.realtime.bench.report` (table, JSON, Markdown, plot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.cli.options import (
    DEFAULT_PRECISIONS,
    GPU_AND_CPU,
    PRECISION_NAMES,
    QUALITY_NAMES,
    Debug,
)

Qualities = Annotated[
    list[str] | None,
    typer.Option(
        "--quality",
        "-q",
        help=f"{QUALITY_NAMES} | all; repeatable or comma-separated [default: all]",
        show_default=False,
    ),
]
Devices = Annotated[
    list[str] | None,
    typer.Option(
        "--device",
        "-d",
        help=f"{GPU_AND_CPU}; repeatable [default: every device this onnxruntime has]",
        show_default=False,
    ),
]
Precisions = Annotated[
    list[str] | None,
    typer.Option(
        "--precision",
        help=f"{PRECISION_NAMES} | all; repeatable [default: {DEFAULT_PRECISIONS}]",
        show_default=False,
    ),
]
BenchModelsDir = Annotated[
    Path | None,
    typer.Option(
        "--models-dir",
        help="benchmark the variants exported in this folder [default: random-weight "
        "(UNTRAINED) variants in the benchmark's own cache, $SALIENCY_CAM_BENCH_MODELS_DIR]",
        show_default=False,
    ),
]
BenchBackends = Annotated[
    list[str] | None,
    typer.Option(
        "--backend",
        "-b",
        help="onnxruntime | openvino | all; repeatable or comma-separated [default: all "
        "installed; OpenVINO runs on the CPU: fp32, int8, and bf16 where the CPU has it]",
        show_default=False,
    ),
]
Mode = Annotated[
    str, typer.Option("--mode", help="inference | pipeline | both (pipeline = full video job)")
]
Student = Annotated[
    bool,
    typer.Option(
        "--student/--no-student",
        help="also time the lite student network (train --arch lite) at each quality, on the "
        "same backends and precisions, in the same rounds as MSI-Net [random weights, or "
        "with --models-dir a lite model there at that size]",
    ),
]
Reuse = Annotated[
    int,
    typer.Option(
        "--reuse",
        min=1,
        help="pipeline mode: also run the video job with map reuse (the network every N-th "
        "frame, as video --reuse N); 1: every-frame runs only",
    ),
]


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def bench_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="with --compare: benchmark JSON files to merge", show_default=False),
    ] = None,
    quality: Qualities = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="your own models by name (saliency-cam train --name); uses --models-dir or "
            "the default models folder",
            show_default=False,
        ),
    ] = None,
    device: Devices = None,
    backend: BenchBackends = None,
    precision: Precisions = None,
    mode: Mode = "both",
    student: Student = True,
    reuse: Reuse = 3,
    tf: Annotated[
        bool, typer.Option("--tf/--no-tf", help="time the TensorFlow baseline (export extra)")
    ] = True,
    models_dir: BenchModelsDir = None,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="interleaved rounds")] = 3,
    round_seconds: Annotated[
        float, typer.Option("--round-seconds", min=0.0, help="seconds per case per round")
    ] = 1.0,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="untimed calls first")] = 3,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="onnxruntime intra-op threads")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="name of this machine in reports")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the result")] = None,
    markdown_path: Annotated[
        Path | None, typer.Option("--markdown", help="write a Markdown report")
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="write a plot (PNG/SVG/PDF by suffix)")
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="merge the JSON FILES given instead of measuring")
    ] = False,
    debug: Debug = False,
) -> None:
    """Benchmark FPS across qualities × devices × backends × precisions (inference only
    and the full video pipeline) against the TensorFlow baseline and this machine's GEMM
    peak, with each model's peak memory.

    Beside MSI-Net it times the lite student at each quality (--no-student: MSI-Net
    only), and in pipeline mode the video job on every frame and with --reuse 3, each
    with its end-to-end FPS over its network's inference-only FPS (e2e/inf).

    Without --models-dir it exports seeded random (UNTRAINED) variants into its own
    cache: speed does not depend on weight values, so it runs anywhere, offline.
    """
    from rich.console import Console

    from saliency_cam.models.atomic import write_json
    from saliency_cam.realtime.bench import report

    err = Console(stderr=True)
    if compare:
        if not files:
            raise SaliencyCamError("--compare needs benchmark JSON files: --compare a.json b.json")
        skipped: list[Path] = []
        merged = report.merge_results(report.load_results(list(files), skipped))
        if skipped:
            names = ", ".join(str(p) for p in skipped)
            # one line, never wrapped (rich's stderr console wraps at 80 when piped)
            typer.echo(
                f"skipped {len(skipped)} file(s) that are not benchmark results: {names}", err=True
            )
        result = merged
    else:
        if files:
            raise SaliencyCamError(
                f"unexpected argument {files[0]}: to merge results use --compare FILE …"
            )
        if model:
            from saliency_cam.models.paths import models_dir as default_models_dir

            quality = [*(quality or []), *model]
            models_dir = models_dir or default_models_dir()
        result = _measure(
            quality, device, backend, precision, mode, tf, models_dir, rounds, round_seconds,
            warmup, threads, label, err, student=student, reuse=reuse,
        )  # fmt: skip
        merged = report.merge_results([("this run", result)])
    report.print_table(merged)
    for path, write, what in (
        (json_path, lambda p: write_json(p, result), "JSON"),
        (markdown_path, lambda p: report.write_markdown(merged, p), "Markdown"),
        (plot_path, lambda p: report.write_plot(merged, p), "plot"),
    ):
        if path is not None:
            write(path)
            err.print(f"{what} written to {path}", markup=False, highlight=False)


def _measure(
    quality: list[str] | None,
    device: list[str] | None,
    backend: list[str] | None,
    precision: list[str] | None,
    mode: str,
    tf: bool,
    models_dir: Path | None,
    rounds: int,
    round_seconds: float,
    warmup: int,
    threads: int | None,
    label: str | None,
    err: object,
    *,
    student: bool = True,
    reuse: int = 3,
) -> dict:
    from saliency_cam.models.manifest import PRECISIONS
    from saliency_cam.models.registry import QUALITY_ORDER
    from saliency_cam.realtime.bench.runner import MODES, BenchConfig, run_bench

    qualities = _split(quality)
    if not qualities or "all" in (q.lower() for q in qualities):
        qualities = list(QUALITY_ORDER)
    precisions = _split(precision)
    if "all" in (p.lower() for p in precisions):
        # bf16 is OpenVINO's run mode: measured there where the CPU has it
        precisions = list(PRECISIONS)
    mode = mode.strip().lower()
    if mode not in (*MODES, "both"):
        raise SaliencyCamError(f"unknown --mode {mode!r}: choose inference, pipeline or both")
    config = BenchConfig(
        qualities=qualities,
        devices=_split(device),
        backends=_split(backend),
        precisions=[p.lower() for p in precisions],
        modes=list(MODES) if mode == "both" else [mode],
        tensorflow=tf,
        models_dir=models_dir,
        warmup=warmup,
        rounds=rounds,
        round_seconds=round_seconds,
        threads=threads,
        label=label,
        student=student,
        reuse=reuse,
    )
    return run_bench(config, lambda msg: err.print(msg, markup=False, highlight=False))  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the app."""
    app.command("bench")(bench_command)
