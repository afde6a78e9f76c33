"""``saliency-cam evaluate``: score saliency maps against eye-tracking ground truth with
the MIT saliency benchmark metrics (a thin layer over
:mod:`saliency_cam.realtime.evaluate.scoring`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.cli.options import (
    PRECISION_NAMES,
    Debug,
    Device,
    Model,
    ModelsDir,
    open_model,
)

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
        help="model for --stimuli: very_low … very_high [default: very_high]",
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
        "--precision", help=f"model for --stimuli: {PRECISION_NAMES} (auto means fp32 here)"
    ),
]
MetricsOpt = Annotated[
    str | None,
    typer.Option(
        "--metrics",
        help="comma-separated subset of auc_judd,auc_borji,auc_shuffled,nss,cc,sim,kld,"
        "info_gain (aliases sauc, ig) [default: all the ground truth allows]",
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
    model_name: Model = None,
    precision: PrecisionOpt = "fp32",
    device: Device = "auto",
    models_dir: ModelsDir = None,
    metrics: MetricsOpt = None,
    baseline: Baseline = "center",
    seed: Seed = 0,
    splits: Splits = 100,
    others: Others = 10,
    strip_suffix: Strip = None,
    csv: CsvOut = None,
    json: JsonOut = None,
    markdown: MarkdownOut = None,
    debug: Debug = False,
) -> None:
    """Score saliency maps against eye-tracking ground truth (MIT benchmark metrics:
    AUC-Judd, AUC-Borji, sAUC, NSS, CC, SIM, KLD, IG).

    Files are matched by name (path inside the folder, without extension). Example:

      saliency-cam evaluate -p preds/ -f fixations/ -m maps/ --csv scores.csv

      saliency-cam evaluate -s images/ -q very_high -f fixations/ -m maps/
    """
    from rich.console import Console

    from saliency_cam.models.progress import progress_bar
    from saliency_cam.realtime.evaluate import report as rep
    from saliency_cam.realtime.evaluate import scoring as ev

    if predictions is not None and (quality or dataset or model_name):
        raise SaliencyCamError("--quality/--dataset/--model choose the model for --stimuli only")
    _check_outputs(
        [p for p in (csv, json, markdown) if p is not None],
        [p.resolve() for p in (predictions, stimuli, fixations, maps) if p is not None],
    )
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
    model = None
    if predictions is not None:
        predict = ev.read_map
    else:
        # Accuracy is what is measured here: "auto" means the reference fp32 model.
        session = open_model(
            quality,
            dataset,
            default="very_high",
            precision="fp32" if precision == "auto" else precision,
            device=device,
            models_dir=models_dir,
            model=model_name,
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
    report.settings.update({"source": "predictions" if predictions is not None else "stimuli"})
    written = rep.write_reports(report, csv=csv, json=json, markdown=markdown)
    rep.print_report(report, console)
    for path in written:
        console.print(f"wrote {path}")
    if not report.scored:
        raise SaliencyCamError(
            f"no image could be scored ({len(report.failed)} failed): see the errors above"
        )


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to the app."""
    app.command("evaluate")(evaluate_command)
