"""CUDA graphs for the input shapes a run repeats (onnxruntime's CUDA provider).

A CUDA graph replays a whole frame's kernel launches with one call; at small inputs the
launches are most of a frame's time. onnxruntime captures one only when every node runs
on CUDA and the input and output shapes and addresses never change. So, once a shape
has come :data:`GRAPH_AFTER` times (a video's short last batch never does), the engine
builds for it a fixed-shape copy of the model whose shape arithmetic is folded into
constants (no node left for the CPU), binds device buffers made once, and replays; the
engine builds it in a background thread while frames keep running the plain way.
Anything that fails turns graphs off for that shape with one note; the engine goes on
with plain IO binding. ``SALIENCY_CAM_CUDA_GRAPHS=0`` turns them off altogether.

>>> graphs = CudaGraphs(build=lambda shape: (lambda batch: batch))
>>> [graphs.runner((1, 48, 64, 3)) is None for _ in range(3)]
[True, False, False]
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any

import numpy as np

#: A shape is captured the second time it comes: live and video runs repeat one shape.
GRAPH_AFTER = 2
#: Captured shapes kept per engine (each holds its own session and buffers).
MAX_GRAPHS = 4
#: Fixed-shape copies kept in the runtime cache (the most recently used; ~100 MB each).
KEEP_COPIES = 8
#: Set to ``0`` to run without CUDA graphs.
CUDA_GRAPHS_ENV = "SALIENCY_CAM_CUDA_GRAPHS"

Runner = Callable[[np.ndarray], np.ndarray]


def cuda_graphs_enabled() -> bool:
    """False when ``$SALIENCY_CAM_CUDA_GRAPHS`` is ``0``/``off``/``false``/``no``."""
    value = os.environ.get(CUDA_GRAPHS_ENV, "1").strip().lower()
    return value not in ("0", "off", "false", "no")


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def static_model(source: Path, shape: tuple[int, ...], folder: Path, key: str) -> Path:
    """A copy of ``source`` fixed to input ``shape`` with its shape arithmetic folded,
    kept in ``folder`` as ``KEY-NxHxWx3.onnx`` (written once, under a temporary name)."""
    import onnx

    from saliency_cam.models.atomic import atomic_write_bytes
    from saliency_cam.realtime.runtime.graph_fold import fix_input_shapes, fold_constant_nodes

    target = folder / f"{key}-{shape_text(shape)}.onnx"
    if target.exists():
        with contextlib.suppress(OSError):
            os.utime(target)  # recently used: kept by the pruning below
        return target
    model = onnx.load(str(source))
    fix_input_shapes(model, shape)
    fold_constant_nodes(model, max_elements=64)
    left = sorted({node.op_type for node in model.graph.node} & {"Shape", "Size"})
    if left:
        raise RuntimeError(f"{', '.join(left)} nodes left after fixing the shape")
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, model.SerializeToString())
    prune_copies(folder, KEEP_COPIES)
    return target


def prune_copies(folder: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` most recently used copies in ``folder`` (each is a
    whole model: a library of videos in many aspect ratios would otherwise fill the
    cache). Returns what was deleted."""
    copies = sorted(folder.glob("*.onnx"), key=_mtime, reverse=True)
    removed = []
    for path in copies[keep:]:
        with contextlib.suppress(OSError):  # another process may have removed it
            path.unlink()
            removed.append(path)
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class GraphRunner:
    """One fixed-shape session with input and output buffers made once on ``device``:
    each call copies the frames in, runs (on CUDA with graphs on: replays the captured
    graph) and copies the maps out."""

    def __init__(
        self,
        model: Path,
        shape: tuple[int, ...],
        providers: list[str],
        provider_options: list[dict[str, Any]],
        device: str = "cuda",
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(model), options, providers=providers, provider_options=provider_options
        )
        if self.session.get_providers()[0] != providers[0]:
            raise RuntimeError(f"{providers[0]} did not start for the fixed-shape copy")
        n, h, w, _ = shape
        self.shape = tuple(shape)
        self.device_in = ort.OrtValue.ortvalue_from_shape_and_type(shape, np.uint8, device, 0)
        self.device_out = ort.OrtValue.ortvalue_from_shape_and_type(
            (n, h, w, 1), np.float32, device, 0
        )
        self.binding = self.session.io_binding()
        self.binding.bind_ortvalue_input(self.session.get_inputs()[0].name, self.device_in)
        self.binding.bind_ortvalue_output(self.session.get_outputs()[0].name, self.device_out)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if tuple(batch.shape) != self.shape:
            raise ValueError(f"this graph runs {self.shape}, got {batch.shape}")
        self.device_in.update_inplace(np.ascontiguousarray(batch))
        self.session.run_with_iobinding(self.binding)
        # on the CPU numpy() is a view of the bound buffer the next call overwrites
        return np.array(self.device_out.numpy(), copy=True)


class CudaGraphs:
    """Which input shapes run as graphs: counts how often each comes, builds a runner
    (``build(shape)``) for the repeated ones up to ``limit``, and remembers the shapes
    whose graph failed so they are not tried again.

    With ``background`` the build (loading the fixed-shape copy, a second session) runs
    in a thread while the frames keep going the plain way, so a live camera does not
    stall on its second frame; the next frame after it is ready uses the graph.
    """

    def __init__(
        self,
        build: Callable[[tuple[int, ...]], Runner],
        after: int = GRAPH_AFTER,
        limit: int = MAX_GRAPHS,
        background: bool = False,
    ) -> None:
        self._build = build
        self._after = after
        self._limit = limit
        self._background = background
        self._seen: dict[tuple[int, ...], int] = {}
        self._building: dict[tuple[int, ...], Future] = {}
        self.runners: dict[tuple[int, ...], Runner] = {}
        self.failures: dict[tuple[int, ...], str] = {}

    def runner(self, shape: tuple[int, ...]) -> Runner | None:
        """The graph runner for ``shape``, or None: run it the plain way."""
        shape = tuple(int(d) for d in shape)
        found = self.runners.get(shape)
        if found is not None or shape in self.failures:
            return found
        pending = self._building.get(shape)
        if pending is not None:
            return self._collect(shape, pending)
        self._seen[shape] = self._seen.get(shape, 0) + 1
        if self._seen[shape] < self._after or len(self.runners) + len(self._building) >= (
            self._limit
        ):
            return None
        if self._background:
            self._building[shape] = self._start_build(shape)
            return None
        try:
            found = self.runners[shape] = self._build(shape)
        except Exception as exc:  # noqa: BLE001 - any failure means: run without graphs
            self.failed(shape, exc)
        return found

    def _start_build(self, shape: tuple[int, ...]) -> Future:
        """``build(shape)`` in a daemon thread (never holds up the process's exit)."""
        future: Future = Future()

        def work() -> None:
            try:
                future.set_result(self._build(shape))
            except BaseException as exc:  # noqa: BLE001 - handed to the collector
                future.set_exception(exc)

        threading.Thread(target=work, name="cuda-graph-build", daemon=True).start()
        return future

    def _collect(self, shape: tuple[int, ...], pending: Future) -> Runner | None:
        """A background build's runner once it is done (None while it runs)."""
        if not pending.done():
            return None
        del self._building[shape]
        try:
            found = self.runners[shape] = pending.result()
        except Exception as exc:  # noqa: BLE001
            self.failed(shape, exc)
            return None
        return found

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background builds (tests and benchmarks)."""
        wait(list(self._building.values()), timeout=timeout)

    def failed(self, shape: tuple[int, ...], exc: BaseException) -> None:
        """Turn graphs off for ``shape`` (its runner raised ``exc``)."""
        shape = tuple(int(d) for d in shape)
        self.runners.pop(shape, None)
        text = str(exc).strip().splitlines()
        self.failures[shape] = f"{type(exc).__name__}: {text[0][:200] if text else ''}"

    @property
    def note(self) -> str:
        """One line for reports: the captured shapes and why any shape runs without."""
        parts = []
        if self.runners:
            parts.append("CUDA graphs on for " + ", ".join(map(shape_text, self.runners)))
        for shape, why in self.failures.items():
            parts.append(f"CUDA graphs off for {shape_text(shape)} ({why})")
        return "; ".join(parts)
