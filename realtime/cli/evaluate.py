"""``saliency-cam evaluate``: score saliency maps against eye-tracking ground truth with
the MIT saliency benchmark metrics (a thin layer over
:mod:`saliency_cam.realtime.evaluate.scoring`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from saliency_cam.models.atomic import check_writable
from saliency_cam.models.errors import SaliencyCamError
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


def _check_outputs(outputs: list[Path], inputs: list[Path]) -> None:
    """Refuse to overwrite an input or to write two outputs to one file."""
    resolved = [p.resolve() for p in outputs]
    if len(set(resolved)) != len(resolved):
        raise SaliencyCamError("--csv, --json and --markdown must name different files")
    for out in resolved:
        for folder in inputs:
            if out == folder or folder in out.parents:
                raise SaliencyCamError(
                    f"{out} is inside the input folder {folder}: write results elsewhere "
                    "(inputs are never overwritten, and a results file there would be "
                    "picked up as data next time)"
                )


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

    from saliency_cam.realtime.evaluate import scoring as ev

    if predictions is not None and (quality or dataset or model_names):
        raise SaliencyCamError("--quality/--dataset/--model choose the model for --stimuli only")
    reports = {"--csv": csv, "--json": json, "--markdown": markdown, "--plot": plot}
    _check_outputs(
        [p for p in reports.values() if p is not None],
        [p.resolve() for p in (predictions, stimuli, fixations, maps) if p is not None],
    )
    for option, path in reports.items():
        if path is not None:  # fail now, not after all the scoring
            check_writable(path, option)
    matching = ev.match_folders(
        predictions=predictions,
        stimuli=stimuli,
        fixations=fixations,
        maps=maps,
        strip=tuple(strip_suffix) if strip_suffix else ev.DEFAULT_STRIP,
    )
    if baseline not in ev.BASELINES:
        raise SaliencyCamError(f"unknown --baseline {baseline!r}: choose {', '.join(ev.BASELINES)}")
    wanted = [m for m in metrics.split(",") if m.strip()] if metrics else None
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
    options = {"metric_names": wanted, "baseline": baseline, "seed": seed}
    options.update(n_splits=splits, n_others=others)
    scoring = _Scoring(matching, scale, options, Console())
    names = list(model_names or [])
    if len(names) > 1:
        if predictions is not None:
            raise SaliencyCamError("--model chooses the models for --stimuli only")
        return _compare_models(scoring, names, quality, csv, json, markdown, plot)
    if plot is not None:
        raise SaliencyCamError("--plot draws the comparison of several --model: give two or more")
    model = (quality, dataset, names[0] if names else None)
    _score_one(scoring, model, predictions, csv=csv, json=json, markdown=markdown)


@dataclass(frozen=True)
class _Scoring:
    """What every model of one run is scored on and how: the matched files, where the
    maps are made (``scale``: here or on workers, with the model options), the scoring
    options of :func:`~saliency_cam.realtime.evaluate.scoring.evaluate`, the console."""

    matching: Any
    scale: ScaleOut
    options: dict[str, Any]
    console: Any


def _compare_models(
    scoring: _Scoring,
    names: list[str],
    quality: str | None,
    csv: Path | None,
    json: Path | None,
    markdown: Path | None,
    plot: Path | None,
) -> None:
    """Several ``--model``: each scored and timed, one comparison table (and files)."""
    from saliency_cam.models.registry import resolve_baseline
    from saliency_cam.realtime.evaluate import compare as cmp

    rows = []
    for name in names:
        # --quality sizes the classical models; the others run at their own size
        sized = quality if resolve_baseline(name) is not None else None
        label = model_name(sized, None, name, default=DEFAULT_QUALITY)
        scoring.console.print(f"[bold]{label}[/]")
        report, fps = _score_model(scoring, (sized, None, name), [csv, json, markdown, plot])
        report.settings.update({"source": "stimuli"})
        rows.append(cmp.ComparisonRow(label, report, fps))
    cmp.print_table(rows, scoring.console)
    for path in cmp.write_comparison(
        rows, csv_path=csv, json_path=json, markdown=markdown, plot_path=plot
    ):
        scoring.console.print(f"wrote {path}")
    if not any(row.report.scored for row in rows):
        raise SaliencyCamError("no image could be scored by any model: see the errors above")


def _score_one(
    scoring: _Scoring,
    model: tuple[str | None, str | None, str | None],
    predictions: Path | None,
    **reports: Path | None,
) -> None:
    """One model (or the predictions folder): its report printed and written; exit 1
    when an image failed (the scores are over the others)."""
    from saliency_cam.realtime.evaluate import report as rep

    report, _ = _score_model(scoring, model, list(reports.values()), predictions, speed=False)
    report.settings.update({"source": "predictions" if predictions is not None else "stimuli"})
    written = rep.write_reports(report, **reports)
    # the banner was printed when the model opened, before the (long) scoring
    rep.print_report(report, scoring.console, banner=False)
    for path in written:
        scoring.console.print(f"wrote {path}")
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


def _score_model(
    scoring: _Scoring,
    model: tuple[str | None, str | None, str | None],
    reports: list[Path | None],
    predictions: Path | None = None,
    speed: bool = True,
) -> tuple[Any, float]:
    """One model's report (``model``: its quality, dataset and name; or the predictions
    folder's), serial or through the workers, and, when ``speed``, its maps per second
    at its preset size (one session, measured after the scoring; NaN otherwise)."""
    from saliency_cam.models.progress import progress_bar
    from saliency_cam.realtime.evaluate import scoring as ev
    from saliency_cam.realtime.evaluate.compare import measure_fps

    with contextlib.ExitStack() as stack:
        predict, described, session = _predictor(scoring, model, reports, predictions, stack)
        with progress_bar("items", detail="image") as bar:
            task = bar.add_task("evaluating", total=len(scoring.matching.items), image="")
            report = ev.evaluate(
                scoring.matching,
                predict,
                model=described,
                progress=lambda done, total, key: bar.update(task, completed=done, image=key),
                **scoring.options,
            )
    if not speed or predictions is not None:
        return report, float("nan")
    # the workers made the maps: then one session here, for the speed
    return report, measure_fps(session())


def _predictor(scoring: _Scoring, model, reports, predictions: Path | None, stack) -> tuple:
    """``(predict, model entry, session)`` for the scoring: the predictions folder read,
    the maps made by the workers into a scratch folder (removed when ``stack`` closes),
    or a session here; ``session()`` gives the model's session (for the speed)."""
    from saliency_cam.realtime.evaluate import report as rep
    from saliency_cam.realtime.evaluate import scoring as ev

    scale, console = scoring.scale, scoring.console
    if predictions is not None:
        if scale.wanted:
            raise SaliencyCamError("--workers/--ray compute maps for --stimuli only")
        return ev.read_map, None, None
    if scale.wanted:
        runner = scale.runner(model_name(*model, default=DEFAULT_QUALITY))
        if not runner.spec.variant.trained:
            console.print(f"[bold white on red] {rep.UNTRAINED_WARNING} [/]")
        scratch = stack.enter_context(_scratch_folder(reports))
        predict, described = _parallel_predictions(scoring.matching, runner, scratch)
        return predict, described, runner.spec.open
    quality, dataset, name = model
    session = scale.opener(quality, dataset, name)()
    described = session.describe()
    if not described["trained"]:
        console.print(f"[bold white on red] {rep.UNTRAINED_WARNING} [/]")
    return ev.model_predictor(session), described, lambda: session


@contextlib.contextmanager
def _scratch_folder(reports: list[Path | None]) -> Iterator[Path]:
    """A hidden scratch folder for the maps, next to the first report file (a path the
    Ray workers share with this driver, like every output), else in the runtime cache;
    removed afterwards, also on errors and Ctrl-C."""
    import shutil
    import tempfile

    from saliency_cam.models.paths import runtime_cache_dir

    given = [p for p in reports if p is not None]
    root = given[0].resolve().parent if given else runtime_cache_dir() / "evaluate"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".saliency-cam-maps-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _parallel_predictions(matching, runner, folder: Path):
    """The maps of every matched stimulus through the batch runner (one progress bar),
    as a predictor for the joint scoring, and the model entry the workers reported."""
    from rich.console import Console

    from saliency_cam.models.progress import progress_bar
    from saliency_cam.realtime.apps.batch.maps import predict_maps
    from saliency_cam.realtime.evaluate import scoring as ev

    sources = [item.source for item in matching.items]
    Console(stderr=True).print(
        f"model: {runner.spec.variant.label()}; {runner.describe()}", markup=False
    )
    with progress_bar("items", detail="image") as bar:
        task = bar.add_task("predicting", total=len(sources), image="")

        def done(outcome) -> None:
            bar.update(task, advance=1, image=outcome.source.name)

        stored = predict_maps(sources, runner, folder, on_done=done)
    model = stored.model or _spec_model(runner.spec)
    return ev.stored_predictor(stored.maps, stored.errors), model


def _spec_model(spec) -> dict[str, object]:
    """The model entry when no worker produced a map (every stimulus failed)."""
    return {**spec.variant.describe(), "backend": spec.options.backend}


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to the app."""
    app.command("evaluate")(evaluate_command)
