"""The onnxruntime backend: CPU and every execution provider ``providers.py`` chooses.

On CUDA the frames go through IO binding into buffers allocated once per shape (the
device copy happens once each way, no per-frame allocation), and a shape that repeats
runs as a CUDA graph (``cuda_graph.py``); TensorRT keeps its engines in the user cache
(see :func:`~saliency_cam.realtime.runtime.providers.provider_options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.realtime.runtime.backends.base import (
    EngineOptions,
    check_exported_io,
    symbolic,
)
from saliency_cam.realtime.runtime.backends.cuda_graph import (
    CudaGraphs,
    GraphRunner,
    cuda_graphs_enabled,
    static_model,
)
from saliency_cam.realtime.runtime.providers import CPU, ProviderChoice, provider_options

CUDA = "CUDAExecutionProvider"


class OnnxRuntimeEngine:
    """An ``onnxruntime.InferenceSession`` for one file."""

    backend = "onnxruntime"

    def __init__(
        self,
        path: Path,
        choice: ProviderChoice,
        options: EngineOptions,
        *,
        model_sha: str = "",
        cache_root: Path | None = None,
    ) -> None:
        import onnxruntime as ort

        session_options = ort.SessionOptions()
        session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if options.threads:
            session_options.intra_op_num_threads = options.threads
        # One graph at a time: parallelism belongs inside ops (a batch is one run).
        session_options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.choice = choice
        self.session = ort.InferenceSession(
            str(path),
            sess_options=session_options,
            providers=choice.providers,
            provider_options=provider_options(choice, model_sha, options.precision, cache_root),
        )
        self.providers: list[str] = list(self.session.get_providers())
        first, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        check_exported_io(
            Path(path).name, first.type, list(first.shape or []), out.type, list(out.shape or [])
        )
        self.input_name: str = first.name
        self.output_name: str = self.session.get_outputs()[0].name
        self.input_shape: list[Any] = list(first.shape)
        self.dynamic = any(symbolic(d) for d in self.input_shape[1:3])
        self.batchable = symbolic(self.input_shape[0]) or self.input_shape[0] != 1
        self._bindings: dict[tuple[int, ...], tuple[Any, Any, Any]] = {}
        self._use_binding = self.providers[0] == CUDA
        #: Repeated shapes as CUDA graphs (CUDA only; None elsewhere or when turned off).
        self.graphs: CudaGraphs | None = None
        if self._use_binding and options.cuda_graphs and cuda_graphs_enabled():
            self.graphs = CudaGraphs(
                self._graph_builder(path, choice, options.precision, model_sha, cache_root),
                background=True,
            )

    @property
    def note(self) -> str:
        """What the engine decided while running (CUDA graphs), for reports."""
        return self.graphs.note if self.graphs is not None else ""

    def _graph_builder(
        self,
        path: Path,
        choice: ProviderChoice,
        precision: str,
        model_sha: str,
        cache_root: Path | None,
    ) -> Any:
        """``build(shape)`` for :class:`CudaGraphs`: a fixed-shape copy of ``path`` in the
        runtime cache, opened on CUDA with graph capture on."""
        from saliency_cam.models.manifest import sha256_file

        if cache_root is None:
            from saliency_cam.models.paths import runtime_cache_dir

            cache_root = runtime_cache_dir()
        folder = cache_root / "cuda_graphs"
        by_provider = dict(
            zip(
                choice.providers,
                provider_options(choice, model_sha, precision, cache_root),
                strict=True,
            )
        )
        providers = [CUDA, CPU]
        options = [{**by_provider.get(CUDA, {}), "enable_cuda_graph": "1"}, {}]

        def build(shape: tuple[int, ...]) -> GraphRunner:
            key = (model_sha or sha256_file(path))[:12]
            return GraphRunner(static_model(path, shape, folder, key), shape, providers, options)

        return build

    def run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` → float32 ``[N, H, W, 1]``."""
        if self.graphs is not None:
            runner = self.graphs.runner(batch.shape)
            if runner is not None:
                try:
                    return runner(batch)
                except Exception as exc:  # noqa: BLE001 - fall back to plain IO binding
                    self.graphs.failed(batch.shape, exc)
        if self._use_binding:
            return self._run_bound(batch)
        return self.session.run([self.output_name], {self.input_name: batch})[0]

    def _run_bound(self, batch: np.ndarray) -> np.ndarray:
        """CUDA: copy the frames into a device buffer made once per shape, run, copy the
        maps back into a host buffer made once per shape."""
        import onnxruntime as ort

        key = tuple(batch.shape)
        bound = self._bindings.get(key)
        if bound is None:
            n, h, w, _ = key
            device_in = ort.OrtValue.ortvalue_from_shape_and_type(key, np.uint8, "cuda", 0)
            host_out = np.empty((n, h, w, 1), np.float32)
            binding = self.session.io_binding()
            binding.bind_ortvalue_input(self.input_name, device_in)
            binding.bind_output(
                self.output_name, "cpu", 0, np.float32, host_out.shape, host_out.ctypes.data
            )
            bound = self._bindings[key] = (binding, device_in, host_out)
        binding, device_in, host_out = bound
        device_in.update_inplace(np.ascontiguousarray(batch))
        self.session.run_with_iobinding(binding)
        return host_out.copy()
