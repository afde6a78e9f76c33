"""``saliency-cam train``: train or fine-tune a network (MSI-Net, ML-Net …) and export it
as a named model.
Parsing and printing only; the work is :func:`saliency_cam.export.training.train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saliency_cam.export.training.datasets.folder import DEFAULT_MAX_BAD
from saliency_cam.models.architectures import ARCHITECTURES
from saliency_cam.models.registry import DATASET_PRESETS
from saliency_cam.realtime.cli.options import QUALITY_NAMES, Debug, ModelsDir

DATASETS = ", ".join(DATASET_PRESETS)
ARCHS = " | ".join(ARCHITECTURES)
LOSS_HELP = (
    "kld | cc | nss | sim | kld-cc | nmse | bce | chi2 | total-variation | cosine | "
    "bhattacharyya | huber | mse, or a weighted sum like kld+0.5*cc "
    "[default: the architecture's: kld for msinet, nmse for mlnet]"
)


def train_command(
    data: Annotated[
        str,
        typer.Argument(
            help=f"a data folder (stimuli/ + saliency/ or fixations/ or fixations.csv), an "
            f"original dataset ({DATASETS}), or an eye-tracking video with --gaze-csv",
            show_default=False,
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="model name for --model NAME (default: the data's name)"),
    ] = None,
    download: Annotated[
        bool, typer.Option("--download", help="download an original dataset first")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="where datasets live [default: user cache]"),
    ] = None,
    quality: Annotated[
        str | None,
        typer.Option(
            "--quality", "-q", help=f"train at a preset size: {QUALITY_NAMES}", show_default=False
        ),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option("--size", help="network size HxW (multiples of 8), e.g. 240x320"),
    ] = None,
    arch: Annotated[str, typer.Option("--arch", help=f"the network to train: {ARCHS}")] = "msinet",
    init: Annotated[
        str | None,
        typer.Option(
            "--init",
            help="random | vgg16 (= imagenet) | vgg16_hybrid | a preset (salicon, mit1003, …, "
            "very_low …; MSI-Net only) | a weights file (ML-Net: also the authors' HDF5) "
            "| a previous run folder; --arch lite: imagenet | random "
            "[default: vgg16; lite: imagenet]",
            show_default=False,
        ),
    ] = None,
    teacher: Annotated[
        str | None,
        typer.Option(
            "--teacher",
            help="distil: train to reproduce this model (any --model NAME) on unlabeled "
            "images or videos DATA; no ground truth needed",
            show_default=False,
        ),
    ] = None,
    init_path: Annotated[
        Path | None,
        typer.Option("--init-path", help="local file for --init instead of downloading"),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 10,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", min=1, help="[default: 1; lite: 8]", show_default=False),
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option(
            "--lr",
            min=0.0,
            help="Adam learning rate [default: 1e-5; lite: 2e-3]",
            show_default=False,
        ),
    ] = None,
    loss: Annotated[str | None, typer.Option("--loss", help=LOSS_HELP, show_default=False)] = None,
    prior: Annotated[
        bool,
        typer.Option("--prior/--no-prior", help="ML-Net: learn its prior (off: fixed at ones)"),
    ] = True,
    prior_weight: Annotated[
        float | None,
        typer.Option("--prior-weight", min=0.0, help="ML-Net: λ of λ‖1 − prior‖² [default: 1/48]"),
    ] = None,
    schedule: Annotated[
        str, typer.Option("--schedule", help="constant | cosine | plateau")
    ] = "constant",
    freeze: Annotated[str, typer.Option("--freeze", help="none | encoder")] = "none",
    flip: Annotated[bool, typer.Option("--flip", help="random horizontal flips")] = False,
    val_split: Annotated[
        float | None,
        typer.Option("--val-split", help="fraction held out for validation (seeded)"),
    ] = None,
    sigma: Annotated[
        float | None,
        typer.Option(
            "--sigma", help="fixation blur σ in px [default: 2% of the image's larger side]"
        ),
    ] = None,
    patience: Annotated[
        int | None, typer.Option("--patience", min=1, help="early stop after N flat epochs")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="stop after N steps in total")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    jit: Annotated[bool, typer.Option("--jit/--no-jit", help="XLA-compile the step")] = False,
    mixed_precision: Annotated[
        bool,
        typer.Option(
            "--mixed-precision",
            help="float16 compute on GPU (float32 weights, loss and maps); refused on CPU",
        ),
    ] = False,
    gaze_csv: Annotated[
        Path | None,
        typer.Option("--gaze-csv", help="gaze samples for an eye-tracking video DATA"),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="map your CSV's columns: timestamp=Recording timestamp,x=Gaze X,…",
        ),
    ] = None,
    every: Annotated[
        float,
        typer.Option(
            "--every", min=0.01, help="video (gaze or --teacher): seconds between sampled frames"
        ),
    ] = 1.0,
    window: Annotated[
        float, typer.Option("--window", min=0.0, help="video: gaze window ± seconds")
    ] = 0.5,
    time_unit: Annotated[
        str, typer.Option("--time-unit", help="video: unit of the timestamp column: s | ms | us")
    ] = "s",
    velocity: Annotated[
        float | None,
        typer.Option("--velocity", help="video: keep samples slower than this (px/s, I-VT)"),
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="checkpoints [default: models dir/runs]")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="continue an interrupted run")
    ] = True,
    replace: Annotated[
        bool, typer.Option("--replace", help="overwrite an existing model of that name")
    ] = False,
    max_bad: Annotated[
        int,
        typer.Option(
            "--max-bad",
            min=0,
            help="unreadable files to skip (each named in a warning) before the run stops; "
            "0: stop at the first",
        ),
    ] = DEFAULT_MAX_BAD,
    models_dir: ModelsDir = None,
    debug: Debug = False,
) -> None:
    """Train MSI-Net (or --arch mlnet, --arch lite) on eye-tracking data, or distil any
    model into the lite network, and export it as a model you can run anywhere with
    --model NAME.

      saliency-cam train salicon --download --data-dir ~/data

      saliency-cam train ./my_study --arch mlnet --init imagenet --name mine

      saliency-cam train ./photos_and_clips --teacher salicon --arch lite --name fast

      saliency-cam train ./my_study --init salicon --name webpages -q medium --freeze encoder

      saliency-cam train clip.mp4 --gaze-csv gaze.csv --name driving --init salicon
    """
    from rich.console import Console

    from saliency_cam.export import require_export_extra
    from saliency_cam.export.training import train

    require_export_extra("saliency-cam train")
    err = Console(stderr=True)
    source: str | Path = data
    if gaze_csv is not None:
        from saliency_cam.export.training.gaze_video import prepare_gaze_video

        source = prepare_gaze_video(
            Path(data), gaze_csv, columns=columns, every=every, window=window,
            time_unit=time_unit, velocity=velocity, console=err,
        )  # fmt: skip
        name = name or Path(data).stem
    outcome = train(
        source, name=name, data_dir=data_dir, download=download, size=size, quality=quality,
        init=init, init_path=init_path, teacher=teacher, every=every,
        run_dir=run_dir, models_dir=models_dir,
        val_split=val_split, resume=resume, replace=replace, max_bad=max_bad, console=err,
        epochs=epochs, batch_size=batch_size, lr=lr, loss=loss, schedule=schedule,
        freeze=freeze, flip=flip, seed=seed, sigma=sigma, patience=patience,
        max_steps=max_steps, jit_compile=jit, mixed_precision=mixed_precision,
        arch=arch, prior=prior, prior_weight=prior_weight,
    )  # fmt: skip
    run = outcome.run
    if outcome.skipped:
        err.print(
            f"skipped {len(outcome.skipped)} unreadable file(s) (named above; the run stops "
            f"past --max-bad {max_bad})",
            markup=False,
            soft_wrap=True,
        )
    err.print(
        f"trained {run.steps} steps ({run.epochs_done} epochs, "
        f"{run.images_per_second:.2f} images/s); best validation loss "
        f"{run.best_val_loss:.4f} at epoch {run.best_epoch}; run folder {run.run_dir}",
        markup=False,
        highlight=False,
    )
    if outcome.model is None:
        if max_steps is not None and run.steps >= max_steps and not run.epochs_done:
            # the same command again would stop at once: say what to change
            err.print(
                f"--max-steps {max_steps} reached before the first epoch ended: nothing "
                "exported (run again with a larger --max-steps, or without it, to go on)",
                markup=False,
            )
        else:
            err.print("no epoch finished yet: nothing exported (run again to resume)", markup=False)
        return
    typer.echo(
        f"model {outcome.name} ({outcome.model.height}x{outcome.model.width}) exported to "
        f"{outcome.model.path}; use it with: saliency-cam --model {outcome.name}"
    )


def register(app: typer.Typer) -> None:
    """Add ``train`` to the app."""
    app.command("train")(train_command)
