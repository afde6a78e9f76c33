"""Options shared by several commands, declared once (typer ``Annotated`` aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Quality = Annotated[
    str,
    typer.Option(
        "--quality", "-q", help="very_low | low | medium | high | very_high (very-low works too)"
    ),
]
Device = Annotated[str, typer.Option("--device", "-d", help="auto | cpu | cuda | tensorrt")]
Precision = Annotated[
    str, typer.Option("--precision", help="auto | fp32 | fp16 | int8 (auto: fastest that passes)")
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
Debug = Annotated[bool, typer.Option("--debug", help="show tracebacks on errors")]
Dataset = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="use an original dataset model instead of a quality preset: salicon | mit1003 | "
        "cat2000 | dutomron | pascals | osie | fiwi (must be exported)",
        show_default=False,
    ),
]
ExportedPrecision = Annotated[
    str, typer.Option("--precision", help="fp32 | fp16 | int8 (must be exported)")
]
Threads = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="CPU inference threads (default: all cores)"),
]
ShowProgress = Annotated[
    bool, typer.Option("--progress/--no-progress", help="show the progress bar")
]
