"""``saliency-cam evaluate``: score saliency maps against eye-tracking ground truth with
the MIT saliency benchmark metrics. The options become an
:class:`~saliency_cam.realtime.apps.evaluate_job.EvaluateRequest`; the job
(:func:`~saliency_cam.realtime.apps.evaluate_job.run_evaluate`) checks, matches, makes the
maps and scores them; this module prints the progress and the result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.evaluate_job import EvaluateReporter, EvaluateResult, Update
from saliency_cam.realtime.cli.batch import GpusPerTask, RayAddress, ScaleOut, Workers
from saliency_cam.realtime.cli.options import (
    PRECISION_NAMES,
    Backend,
    Debug,
    Device,
    ModelsDir,
    Threads,
    model_name,
)
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY, PRECISION_ENV

Predictions = Annotated[
    Path | None,
    typer.Option(
        "--predictions",
        "-p",
        help="folder of predicted maps (.png/.jpg/.npy …), matched to ground truth by name",
        show_default=False,
    ),
]
Stimuli = Annotated[
    Path | None,
    typer.Option(
        "--stimuli",
        "-s",
        help="folder of images to run the model on (instead of --predictions)",
        show_default=False,
    ),
]
Fixations = Annotated[
    Path | None,
    typer.Option(
        "--fixations",
        "-f",
        help="ground-truth fixations: binary fixation-map images, or .npy/.mat points/maps",
        show_default=False,
    ),
]
Maps = Annotated[
    Path | None,
    typer.Option(
        "--maps",
        "-m",
        help="ground-truth continuous saliency maps (for CC, SIM, KLD)",
        show_default=False,
    ),
]
QualityOpt = Annotated[
    str | None,
    typer.Option(
        "--quality",
        "-q",
        help="model for --stimuli: very_low … very_high [default: medium, as every command]",
        show_default=False,
    ),
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="model for --stimuli: an original dataset model (salicon, mit1003, cat2000, …)",
        show_default=False,
    ),
]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--precision",
        envvar=PRECISION_ENV,
        help=f"model for --stimuli: auto | {PRECISION_NAMES} (auto: as every command, the "
        "fastest exported variant that passed its fidelity check; fp32 is the reference)",
    ),
]
MetricsOpt = Annotated[
    str | None,
    typer.Option(
        "--metrics",
        help="comma-separated subset of auc_judd,auc_borji,auc_shuffled,nss,cc,sim,kld,"
        "info_gain,emd (aliases sauc, ig) [default: all the ground truth allows; emd when "
        "POT is installed]. emd is the slow one: an exact transport problem per image, "
        "a fraction of a second at 640x480, seconds at 1920x1080",
        show_default=False,
    ),
]
Baseline = Annotated[
    str,
    typer.Option(
        "--baseline",
        help="information-gain baseline: center (parametric) | uniform | others (the "
        "benchmark's: the other images' fixations, leave-one-out, blurred)",
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="seed for the AUC jitter and random splits")]
Splits = Annotated[
    int, typer.Option("--splits", min=1, help="random splits for AUC-Borji and sAUC")
]
Others = Annotated[
    int,
    typer.Option("--others", min=1, help="other images whose fixations are sAUC's negatives"),
]
Strip = Annotated[
    list[str] | None,
    typer.Option(
        "--strip-suffix",
        help="name ending ignored when matching files; repeatable "
        "[default: _fixPts, _fixMap, _saliency]",
        show_default=False,
    ),
]
CsvOut = Annotated[
    Path | None, typer.Option("--csv", help="write per-image scores here", show_default=False)
]
JsonOut = Annotated[
    Path | None, typer.Option("--json", help="write the summary here", show_default=False)
]
MarkdownOut = Annotated[
    Path | None,
    typer.Option("--markdown", help="write the summary table here", show_default=False),
]

PlotOut = Annotated[
    Path | None,
    typer.Option(
        "--plot", help="with several --model: the comparison as a PNG chart", show_default=False
    ),
]
Models = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        help="the model for --stimuli, by name (see 'saliency-cam models'); repeat it to "
        "compare models side by side in one table (--json/--csv/--markdown/--plot write it)",
        show_default=False,
    ),
]


def evaluate_command(
    predictions: Predictions = None,
    stimuli: Stimuli = None,
    fixations: Fixations = None,
    maps: Maps = None,
    quality: QualityOpt = None,
    dataset: DatasetOpt = None,
    model_names: Models = None,
    precision: PrecisionOpt = "auto",
    backend: Backend = "auto",
    device: Device = "auto",
    models_dir: ModelsDir = None,
    threads: Threads = None,
    workers: Workers = None,
    ray: RayAddress = None,
    gpus_per_task: GpusPerTask = 0.0,
    metrics: MetricsOpt = None,
    baseline: Baseline = "center",
    seed: Seed = 0,
    splits: Splits = 100,
    others: Others = 10,
    strip_suffix: Strip = None,
    csv: CsvOut = None,
    json: JsonOut = None,
    markdown: MarkdownOut = None,
    plot: PlotOut = None,
    debug: Debug = False,
) -> None:
    """Score saliency maps against eye-tracking ground truth (MIT benchmark metrics:
    AUC-Judd, AUC-Borji, sAUC, NSS, CC, SIM, KLD, IG, and EMD with POT: slow).

    Files are matched by name (path inside the folder, without extension). Example:

      saliency-cam evaluate -p preds/ -f fixations/ -m maps/ --csv scores.csv

      saliency-cam evaluate -s images/ -q very_high -f fixations/ -m maps/

    With --stimuli, --workers N (or --ray) computes the maps in parallel into a scratch
    folder (float32 .npy), scores them jointly as -p would, then removes the folder:
    the report is the serial one.
    """
    from rich.console import Console

    from saliency_cam.realtime.apps.evaluate_job import EvaluateRequest, run_evaluate
    from saliency_cam.realtime.evaluate.scoring import DEFAULT_STRIP

    # The same defaults as every other command (runtime/defaults.py): what is scored is
    # what 'image' would run; pass --precision fp32 --backend onnxruntime for the reference.
    scale = ScaleOut.from_options(
        workers=workers,
        ray=ray,
        gpus_per_task=gpus_per_task,
        precision=precision,
        models_dir=models_dir,
        device=device,
        threads=threads,
        backend=backend,
        letterbox=False,
        mode="latency",
    )
    request = EvaluateRequest(
        stimuli=stimuli,
        predictions=predictions,
        fixations=fixations,
        maps=maps,
        models=_models(predictions, quality, dataset, list(model_names or [])),
        precision=scale.precision,
        models_dir=scale.models_dir,
        session=scale.session,
        scale=scale.scale,
        metrics=[m for m in metrics.split(",") if m.strip()] if metrics else None,
        baseline=baseline,
        seed=seed,
        splits=splits,
        others=others,
        strip=tuple(strip_suffix) if strip_suffix else DEFAULT_STRIP,
        csv=csv,
        json=json,
        markdown=markdown,
        plot=plot,
    )
    console = Console()
    result = run_evaluate(request, _Shown(console))
    if result.compared:
        return _print_comparison(result, console)
    _print_one(result, console)


def _models(
    predictions: Path | None, quality: str | None, dataset: str | None, names: list[str]
) -> tuple[str, ...]:
    """The models ``--quality``/``--dataset``/``--model`` name, as the job takes them: one
    (the one given, or the default), or several to compare (``--quality`` sizes the
    classical ones; the others run at their own size). With ``--predictions`` whatever
    was given, which the job refuses (there is no model to choose)."""
    from saliency_cam.models.registry import resolve_baseline

    if predictions is not None:
        return tuple(given for given in (quality, dataset, *names) if given)
    if len(names) > 1:
        sized = [quality if resolve_baseline(name) is not None else None for name in names]
        return tuple(
            model_name(size, None, name, default=DEFAULT_QUALITY)
            for size, name in zip(sized, names, strict=True)
        )
    return (model_name(quality, dataset, names[0] if names else None, default=DEFAULT_QUALITY),)


class _Shown(EvaluateReporter):
    """The job as shown: each compared model's name, the UNTRAINED banner, the workers'
    model line and a progress bar per step."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def model(self, label: str) -> None:
        self.console.print(f"[bold]{label}[/]")

    def untrained(self) -> None:
        from saliency_cam.realtime.evaluate.report import UNTRAINED_WARNING

        self.console.print(f"[bold white on red] {UNTRAINED_WARNING} [/]")

    def workers(self, runner: Any) -> None:
        from rich.console import Console

        Console(stderr=True).print(
            f"model: {runner.spec.variant.label()}; {runner.describe()}", markup=False
        )

    @contextlib.contextmanager
    def steps(self, description: str, total: int) -> Iterator[Update]:
        from saliency_cam.models.progress import progress_bar

        with progress_bar("items", detail="image") as bar:
            task = bar.add_task(description, total=total, image="")
            yield lambda done, name: bar.update(task, completed=done, image=name)


def _print_comparison(result: EvaluateResult, console: Any) -> None:
    """Several ``--model``: the comparison table, then its files."""
    from saliency_cam.realtime.evaluate import compare as cmp

    cmp.print_table(result.rows, console)
    for path in result.write():
        console.print(f"wrote {path}")
    if not any(row.report.scored for row in result.rows):
        raise SaliencyCamError("no image could be scored by any model: see the errors above")


def _print_one(result: EvaluateResult, console: Any) -> None:
    """One model (or the predictions folder): its report written and printed; exit 1
    when an image failed (the scores are over the others)."""
    from saliency_cam.realtime.evaluate import report as rep

    report = result.report
    written = result.write()
    # the banner was printed when the model opened, before the (long) scoring
    rep.print_report(report, console, banner=False)
    for path in written:
        console.print(f"wrote {path}")
    if not report.scored:
        raise SaliencyCamError(
            f"no image could be scored ({len(report.failed)} failed): see the errors above"
        )
    if report.failed:  # the reports are written, over the others; the run still failed
        typer.echo(
            f"{len(report.failed)} of {len(report.results)} image(s) failed (listed above); "
            f"the scores are over the other {len(report.scored)}",
            err=True,
        )
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to the app."""
    app.command("evaluate")(evaluate_command)
