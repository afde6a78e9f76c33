"""The machine's own fp32 GEMM peak, measured with onnxruntime in the same run.

A convolution network can run no faster than the matrix multiply it lowers to, so the
benchmark reports each variant's effective GFLOP/s (docs/design.md §2 costs ÷ latency) as a
fraction of this peak. It is measured with the same provider and thread count as the
model sessions, on a one-node ONNX ``MatMul`` graph, with inputs and outputs bound on
the device (IO binding) so that only the multiply is timed.

Needs the ``onnx`` package (export extra) to build the graph.

>>> peak = gemm_peak(choose_providers("cpu"), threads=2, seconds=0.5)  # doctest: +SKIP
>>> peak.gflops                                                         # doctest: +SKIP
183.4
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from saliency_cam.realtime.bench.timing import measure_interleaved
from saliency_cam.realtime.runtime.providers import ProviderChoice, provider_device

#: (M, K, N): two square sizes and one shaped like MSI-Net's 3×3 conv lowering
#: (pixels × 9·C_in × C_out at medium's 1/8 scale).
GEMM_SHAPES: tuple[tuple[int, int, int], ...] = (
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (300, 4608, 512),
)


@dataclass
class GemmPeak:
    """Best median GFLOP/s over :data:`GEMM_SHAPES` on one provider."""

    provider: str
    threads: int | None
    gflops: float
    by_shape: dict[str, float] = field(default_factory=dict)

    @property
    def best_shape(self) -> tuple[int, int, int]:
        """(M, K, N) of the fastest shape."""
        key = max(self.by_shape, key=self.by_shape.__getitem__)
        m, k, n = (int(v) for v in key.split("x"))
        return (m, k, n)

    def to_json(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "threads": self.threads,
            "gflops": round(self.gflops, 2),
            "by_shape": {k: round(v, 2) for k, v in self.by_shape.items()},
        }


def matmul_model(m: int, k: int, n: int, seed: int = 0) -> bytes:
    """A serialized ONNX model ``Y[M,N] = A[M,K] @ W[K,N]`` with W a constant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(seed).standard_normal((k, n), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "W"], ["Y"])],
        "gemm_peak",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(weight, "W")],
    )
    # IR 8 / opset 17: loadable by every onnxruntime this project supports.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


@dataclass
class GemmRunner:
    """A ready MatMul session: ``run()`` does one multiply of ``flops`` operations."""

    shape: str
    flops: float
    run: Callable[[], None]

    def gflops(self, seconds: float) -> float:
        return self.flops / seconds / 1e9


def gemm_runner(
    choice: ProviderChoice, threads: int | None, shape: tuple[int, int, int]
) -> GemmRunner:
    """Build the MatMul session for ``shape`` (M, K, N) on ``choice``'s providers."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    # TensorRT would build an engine per shape (slow, and not a plain GEMM): time CUDA.
    providers = [p for p in choice.providers if p != "TensorrtExecutionProvider"]
    device = provider_device(providers[0])
    m, k, n = shape
    session = ort.InferenceSession(matmul_model(m, k, n), options, providers=providers)
    a = np.random.default_rng(1).standard_normal((m, k), dtype=np.float32)
    binding = session.io_binding()
    binding.bind_ortvalue_input("A", ort.OrtValue.ortvalue_from_numpy(a, device, 0))
    binding.bind_output("Y", device)

    def run() -> None:
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()

    return GemmRunner(f"{m}x{k}x{n}", 2.0 * m * k * n, run)


def gemm_peak(
    choice: ProviderChoice,
    threads: int | None = None,
    seconds: float = 1.0,
    shapes: tuple[tuple[int, int, int], ...] = GEMM_SHAPES,
) -> GemmPeak:
    """Measure fp32 MatMul GFLOP/s with ``choice``'s providers; returns the best shape."""
    runners = {r.shape: r for r in (gemm_runner(choice, threads, s) for s in shapes)}
    timings = measure_interleaved(
        {k: r.run for k, r in runners.items()},
        warmup=2,
        rounds=2,
        round_seconds=seconds / (2 * len(runners)),
        min_iterations=4,
    )
    by_shape = {k: runners[k].gflops(t.median_ms / 1e3) for k, t in timings.items()}
    provider = [p for p in choice.providers if p != "TensorrtExecutionProvider"][0]
    return GemmPeak(provider, threads, max(by_shape.values()), by_shape)


#: Precisions with their own peak, and the backend whose fast path the probe measures.
PRECISION_PROBES: dict[str, str] = {"int8": "openvino", "bf16": "openvino"}


def qdq_matmul_model(m: int, k: int, n: int, seed: int = 0) -> bytes:
    """``Y = dq(q(A)) @ dq(W8)``: the MatMul of :func:`matmul_model` in the form
    ``saliency-cam export --precision int8`` writes (QuantizeLinear/DequantizeLinear
    around the inputs, int8 weights), which backends lower to an int8 GEMM."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weight = rng.integers(-127, 128, (k, n), dtype=np.int8)
    scalar = numpy_helper.from_array
    nodes = [
        helper.make_node("QuantizeLinear", ["A", "a_scale", "a_zero"], ["A8"]),
        helper.make_node("DequantizeLinear", ["A8", "a_scale", "a_zero"], ["Aq"]),
        helper.make_node("DequantizeLinear", ["W8", "w_scale", "w_zero"], ["Wq"]),
        helper.make_node("MatMul", ["Aq", "Wq"], ["Y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "gemm_peak_int8",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
        [
            scalar(weight, "W8"),
            scalar(np.array(0.02, np.float32), "a_scale"),
            scalar(np.array(0, np.uint8), "a_zero"),
            scalar(np.array(0.01, np.float32), "w_scale"),
            scalar(np.array(0, np.int8), "w_zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def precision_gemm_runner(
    precision: str, threads: int | None, shape: tuple[int, int, int]
) -> GemmRunner | None:
    """The MatMul probe for ``precision``'s own peak on the CPU, through the backend that
    has the fast path (:data:`PRECISION_PROBES`: OpenVINO, whose CPU plugin uses
    VNNI/AMX for int8 and AVX512_BF16/AMX for bf16): int8 runs :func:`qdq_matmul_model`,
    bf16 the fp32 model with ``INFERENCE_PRECISION_HINT=bf16``. None for a precision
    without a probe or when OpenVINO is not installed (rows then fall back to the fp32
    peak and say so). On a CPU without bf16 units OpenVINO computes in fp32: the bf16
    peak then equals the fp32 one, which is what a bf16 row there can reach."""
    if PRECISION_PROBES.get(precision) != "openvino":
        return None
    try:
        import openvino as ov
    except ImportError:
        return None
    m, k, n = shape
    model_bytes = qdq_matmul_model(m, k, n) if precision == "int8" else matmul_model(m, k, n)
    core = ov.Core()
    model = core.read_model(model_bytes, b"")
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if precision == "bf16":
        config["INFERENCE_PRECISION_HINT"] = "bf16"
    if threads:
        config["INFERENCE_NUM_THREADS"] = str(threads)
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    a = np.random.default_rng(1).standard_normal((m, k), dtype=np.float32)
    request.set_input_tensor(ov.Tensor(a))

    def run() -> None:
        request.infer()

    return GemmRunner(f"{m}x{k}x{n}", 2.0 * m * k * n, run)


def precision_peaks(
    threads: int | None,
    shape: tuple[int, int, int],
    precisions: tuple[str, ...] = ("int8", "bf16"),
    seconds: float = 1.0,
) -> dict[str, dict[str, object]]:
    """``{precision: {"gflops", "backend", "shape"}}`` for the precisions that have a
    probe here (see :func:`precision_gemm_runner`); int8 counts one multiply-add as two
    operations, like fp32, so the figures compare directly."""
    runners = {p: precision_gemm_runner(p, threads, shape) for p in precisions}
    ready = {p: r for p, r in runners.items() if r is not None}
    if not ready:
        return {}
    timings = measure_interleaved(
        {p: r.run for p, r in ready.items()},
        warmup=2,
        rounds=2,
        round_seconds=seconds / (2 * len(ready)),
        min_iterations=4,
    )
    return {
        p: {
            "gflops": round(ready[p].gflops(timings[p].median_ms / 1e3), 2),
            "backend": PRECISION_PROBES[p],
            "shape": ready[p].shape,
        }
        for p in ready
    }
