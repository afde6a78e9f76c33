"""Options shared by several commands, declared once (typer ``Annotated`` aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import PRECISIONS
from saliency_cam.models.registry import DATASET_PRESETS, QUALITY_ORDER
from saliency_cam.realtime.runtime.backends import BACKENDS
from saliency_cam.realtime.runtime.defaults import BACKEND_ENV, DEFAULT_QUALITY, PRECISION_ENV
from saliency_cam.realtime.runtime.precision import CPU_ORDER, GPU_ORDER
from saliency_cam.realtime.runtime.providers import DEVICES

if TYPE_CHECKING:
    from saliency_cam.realtime.runtime.session import SaliencySession

# Help texts are built from the registry, so a new preset or device shows up everywhere.
QUALITY_NAMES = " | ".join(QUALITY_ORDER)
DATASET_NAMES = " | ".join(DATASET_PRESETS)
PRECISION_NAMES = " | ".join(PRECISIONS)
GPU_AND_CPU = " | ".join(d for d in DEVICES if d != "auto")
DEFAULT_PRECISIONS = ", ".join(
    f"{'+'.join(order)} on {kind}" for kind, order in (("CPU", CPU_ORDER), ("GPU", GPU_ORDER))
)

Inputs = Annotated[list[str], typer.Argument(help="files, folders or glob patterns", min=1)]
OutputFolder = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="output folder; default: next to each input",
        show_default=False,
        file_okay=False,
    ),
]
Quality = Annotated[
    str,
    typer.Option("--quality", "-q", help=f"{QUALITY_NAMES} (very-low works too)"),
]
Device = Annotated[
    str,
    typer.Option(
        "--device", "-d", help=" | ".join(DEVICES) + " (OpenVINO: CPU | GPU | GPU.1 | NPU | AUTO)"
    ),
]
Precision = Annotated[
    str,
    typer.Option(
        "--precision",
        envvar=PRECISION_ENV,
        help=f"auto | {PRECISION_NAMES} (auto: fastest exported that passes its fidelity check)",
    ),
]
ModelsDir = Annotated[
    Path | None,
    typer.Option(
        "--models-dir", help="ONNX models folder [env SALIENCY_CAM_MODELS_DIR]", show_default=False
    ),
]
View = Annotated[str, typer.Option("--view", help="overlay | heatmap | side")]
Alpha = Annotated[float, typer.Option("--alpha", min=0.0, max=1.0, help="heatmap opacity")]
Colormap = Annotated[str, typer.Option("--colormap", help="any OpenCV colormap name")]
Smooth = Annotated[
    float,
    typer.Option(
        "--smooth", min=0.0, max=0.99, help="temporal smoothing 0..0.99 (exponential; 0 = off)"
    ),
]
Reuse = Annotated[
    int,
    typer.Option(
        "--reuse",
        min=1,
        help="run the network every N-th frame (sooner on a scene change or cut) and warp "
        "the last map along the motion in between (1 = every frame)",
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="show tracebacks on errors")]
Dataset = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help=f"use an original dataset model instead of a quality preset: {DATASET_NAMES} "
        "(must be exported)",
        show_default=False,
    ),
]
Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="a model by name: a quality, a dataset model, a classical model "
        "(spectral-residual, fine-grained, centre: with --quality, run at its size), one you "
        "trained ('saliency-cam train --name NAME') or added ('saliency-cam models add')",
        show_default=False,
    ),
]
ExportedPrecision = Annotated[
    str, typer.Option("--precision", help=f"{PRECISION_NAMES} (must be exported)")
]
Threads = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="CPU inference threads (default: all cores)"),
]
ShowProgress = Annotated[
    bool, typer.Option("--progress/--no-progress", help="show the progress bar")
]


Backend = Annotated[
    str,
    typer.Option(
        "--backend",
        envvar=BACKEND_ENV,
        help=f"{' | '.join(BACKENDS)} (auto: the fastest installed, measured once per machine; "
        "openvino needs the openvino extra and takes --device CPU|GPU|GPU.1|NPU)",
    ),
]
LetterboxFlag = Annotated[
    bool,
    typer.Option(
        "--letterbox",
        help="pad frames into the preset's 4:3 size (the original behaviour) instead of "
        "running at the frame's own aspect",
    ),
]
BatchSize = Annotated[
    str,
    typer.Option(
        "--batch",
        help="frames per inference for files: auto (by device) or a number (1 = off)",
    ),
]


def parse_batch(value: str) -> int | None:
    """A ``--batch`` value as a number, or None for ``auto`` (decided by each session's
    device: what the workers of ``--workers``/``--ray`` receive)."""
    text = value.strip().lower()
    if text == "auto":
        return None
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise SaliencyCamError(f"--batch {value!r}: give auto or a number from 1 to 64")
    return int(text)


def resolve_batch(value: str, session: SaliencySession) -> int:
    """A ``--batch`` value as a number; ``auto`` by device (see :func:`auto_batch`)."""
    from saliency_cam.realtime.runtime.session import auto_batch

    number = parse_batch(value)
    return auto_batch(session) if number is None else number


def open_model(
    quality: str | None,
    dataset: str | None,
    *,
    default: str = DEFAULT_QUALITY,
    precision: str,
    device: str,
    models_dir: Path | None,
    threads: int | None = None,
    backend: str | None = None,
    letterbox: bool = False,
    mode: str = "latency",
    model: str | None = None,
) -> SaliencySession:
    """The session for a command's ``--quality``/``--dataset``/``--model`` choice (one
    of them, or ``default``), through the one model opener (which also knows the user
    models trained with ``saliency-cam train``)."""
    from saliency_cam.realtime.runtime.session import open_session

    return open_session(
        model_name(quality, dataset, model, default=default),
        precision,
        device,
        models_dir,
        threads=threads,
        backend=backend,
        aspect=aspect_mode(letterbox),
        mode=mode,
    )


def model_name(
    quality: str | None, dataset: str | None, model: str | None, *, default: str = DEFAULT_QUALITY
) -> str:
    """The one of ``--quality``/``--dataset``/``--model`` given, or ``default``; a
    classical ``--model`` with ``--quality Q`` runs at Q's input size (``NAME@Q``)."""
    from saliency_cam.models.registry import resolve_baseline

    if model and quality and not dataset and "@" not in model and resolve_baseline(model):
        return f"{model.partition('@')[0]}@{quality}"
    given = [name for name in (quality, dataset, model) if name]
    if len(given) > 1:
        raise SaliencyCamError("give one of --quality, --dataset or --model, not several")
    return given[0] if given else default


def model_or_quality(quality: str, model: str | None) -> str:
    """For commands whose ``--quality`` has a default (reframe, crop): ``--model`` wins; a
    classical model runs at the quality's size."""
    if not model:
        return quality
    return model_name(quality, None, model, default=quality) if "@" not in model else model


def aspect_mode(letterbox: bool) -> str:
    """``--letterbox`` as the session's aspect mode."""
    return "letterbox" if letterbox else "match"
