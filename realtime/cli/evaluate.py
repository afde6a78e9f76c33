"""``saliency-cam evaluate``: score saliency maps against eye-tracking ground truth with
the MIT saliency benchmark metrics (a thin layer over
:mod:`saliency_cam.realtime.evaluate.scoring`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

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
    open_model,
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

    from saliency_cam.realtime.evaluate import compare as cmp
    from saliency_cam.realtime.evaluate import report as rep
    from saliency_cam.realtime.evaluate import scoring as ev

    if predictions is not None and (quality or dataset or model_names):
        raise SaliencyCamError("--quality/--dataset/--model choose the model for --stimuli only")
    _check_outputs(
        [p for p in (csv, json, markdown, plot) if p is not None],
        [p.resolve() for p in (predictions, stimuli, fixations, maps) if p is not None],
    )
    for option, path in (
        ("--csv", csv),
        ("--json", json),
        ("--markdown", markdown),
        ("--plot", plot),
    ):
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

    console = Console()
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
    names = list(model_names or [])
    if len(names) > 1:
        if predictions is not None:
            raise SaliencyCamError("--model chooses the models for --stimuli only")
        rows = []
        from saliency_cam.models.registry import resolve_baseline

        for name in names:
            # --quality sizes the classical models; the others run at their own size
            sized = quality if resolve_baseline(name) is not None else None
            label = model_name(sized, None, name, default=DEFAULT_QUALITY)
            console.print(f"[bold]{label}[/]")
            report, fps = _score_model(
                matching,
                scale,
                sized,
                None,
                name,
                precision,
                device,
                models_dir,
                threads,
                wanted,
                baseline,
                seed,
                splits,
                others,
                [csv, json, markdown, plot],
                console,
                speed=True,
            )
            report.settings.update({"source": "stimuli"})
            rows.append(cmp.ComparisonRow(label, report, fps))
        cmp.print_table(rows, console)
        for path in cmp.write_comparison(
            rows, csv_path=csv, json_path=json, markdown=markdown, plot_path=plot
        ):
            console.print(f"wrote {path}")
        if not any(row.report.scored for row in rows):
            raise SaliencyCamError("no image could be scored by any model: see the errors above")
        return
    if plot is not None:
        raise SaliencyCamError("--plot draws the comparison of several --model: give two or more")
    report, _ = _score_model(
        matching,
        scale,
        quality,
        dataset,
        names[0] if names else None,
        precision,
        device,
        models_dir,
        threads,
        wanted,
        baseline,
        seed,
        splits,
        others,
        [csv, json, markdown],
        console,
        predictions=predictions,
    )
    report.settings.update({"source": "predictions" if predictions is not None else "stimuli"})
    written = rep.write_reports(report, csv=csv, json=json, markdown=markdown)
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


def _score_model(
    matching,
    scale,
    quality: str | None,
    dataset: str | None,
    model_opt: str | None,
    precision: str,
    device: str,
    models_dir: Path | None,
    threads: int | None,
    wanted: list[str] | None,
    baseline: str,
    seed: int,
    splits: int,
    others: int,
    reports: list[Path | None],
    console,
    predictions: Path | None = None,
    speed: bool = False,
):
    """One model's report (or the predictions folder's), serial or through the workers,
    and, when ``speed``, its maps per second at its preset size (one session, measured
    after the scoring; NaN otherwise)."""
    from saliency_cam.models.progress import progress_bar
    from saliency_cam.realtime.evaluate import report as rep
    from saliency_cam.realtime.evaluate import scoring as ev
    from saliency_cam.realtime.evaluate.compare import measure_fps

    model = None
    session = None
    with contextlib.ExitStack() as stack:
        if predictions is not None:
            if scale.wanted:
                raise SaliencyCamError("--workers/--ray compute maps for --stimuli only")
            predict = ev.read_map
        elif scale.wanted:
            runner = scale.runner(model_name(quality, dataset, model_opt, default=DEFAULT_QUALITY))
            if not runner.spec.variant.trained:
                console.print(f"[bold white on red] {rep.UNTRAINED_WARNING} [/]")
            scratch = stack.enter_context(_scratch_folder(reports))
            predict, model = _parallel_predictions(matching, runner, scratch)
        else:
            session = open_model(
                quality,
                dataset,
                default=DEFAULT_QUALITY,
                precision=precision,
                device=device,
                models_dir=models_dir,
                threads=threads,
                backend=scale.session.backend,
                model=model_opt,
            )
            model = session.describe()
            if not model["trained"]:
                console.print(f"[bold white on red] {rep.UNTRAINED_WARNING} [/]")
            predict = ev.model_predictor(session)

        with progress_bar("items", detail="image") as bar:
            task = bar.add_task("evaluating", total=len(matching.items), image="")
            report = ev.evaluate(
                matching,
                predict,
                metric_names=wanted,
                baseline=baseline,
                seed=seed,
                n_splits=splits,
                n_others=others,
                model=model,
                progress=lambda done, total, key: bar.update(task, completed=done, image=key),
            )
    if not speed or predictions is not None:
        return report, float("nan")
    if session is None:  # the workers made the maps: one session here, for the speed
        session = runner.spec.open()
    return report, measure_fps(session)


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
