"""The small interface every inference backend implements behind ``SaliencySession``.

An :class:`Engine` runs one exported ONNX file: uint8 BGR ``[N, H, W, 3]`` in, float32
``[N, H, W, 1]`` maps in [0, 1] out. It says whether the file takes any height/width
(``dynamic``) and several frames per run (``batchable``); the session does the rest
(letterboxing or aspect matching, checks, batching).

>>> EngineOptions(mode="throughput").mode
'throughput'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: ``latency``: one frame at a time as fast as possible (live camera);
#: ``throughput``: most frames per second, several in flight (video and image jobs).
MODES: tuple[str, ...] = ("latency", "throughput")


@dataclass(frozen=True)
class EngineOptions:
    """How to run: CPU threads (None = backend default), latency or throughput, and the
    precision the backend should compute in (``fp32``/``fp16``/``int8`` are files;
    ``bf16`` is OpenVINO's CPU inference precision on the fp32 file), and whether
    onnxruntime on CUDA may replay repeated shapes as CUDA graphs."""

    threads: int | None = None
    mode: str = "latency"
    precision: str = "fp32"
    cuda_graphs: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")


class Engine(Protocol):
    """One loaded model on one backend."""

    #: ``onnxruntime`` or ``openvino``.
    backend: str
    #: What runs the graph, best first (onnxruntime providers, or ``OpenVINO CPU bf16``).
    providers: list[str]
    #: True when the graph's height and width are symbolic (any multiple of 8 runs).
    dynamic: bool
    #: True when the graph's batch dimension is symbolic.
    batchable: bool

    def run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` → float32 ``[N, H, W, 1]``."""
        ...


def symbolic(dim: object) -> bool:
    """True for a dimension that is not a fixed positive integer."""
    return not isinstance(dim, int) or dim <= 0


def _dims(shape: list[object]) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) and d > 0 else "?" for d in shape) + "]"


def check_exported_io(
    name: str,
    input_type: str,
    input_shape: list[object],
    output_type: str,
    output_shape: list[object],
) -> None:
    """Refuse, when a model is opened, a graph that does not take the exported variants'
    contract (uint8 BGR ``[N, H, W, 3]`` in, float ``[N, H, W, 1]`` out): such a file
    would otherwise fail at its first frame with onnxruntime's own error. Types are
    onnxruntime's names (``tensor(uint8)``); symbolic dims are anything but an int > 0.
    """
    from saliency_cam.models.errors import SaliencyCamError

    want = "uint8 [N, H, W, 3] in, float [N, H, W, 1] out"
    hint = (
        "; a model exported elsewhere needs its contract declared: "
        "saliency-cam models add NAME FILE.onnx --layout ... --input-range ..."
    )
    problem = ""
    if input_type != "tensor(uint8)" or len(input_shape) != 4 or input_shape[3] != 3:
        kind = input_type.removeprefix("tensor(").rstrip(")")
        problem = f"its input is {kind} {_dims(input_shape)}"
    elif (
        output_type not in ("tensor(float)", "tensor(float16)")
        or len(output_shape) != 4
        or (not symbolic(output_shape[3]) and output_shape[3] != 1)
    ):
        problem = (
            f"its output is {output_type.removeprefix('tensor(').rstrip(')')} {_dims(output_shape)}"
        )
    if problem:
        raise SaliencyCamError(f"model {name}: {problem}, expected {want}{hint}")
