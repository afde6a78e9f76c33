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
