"""The OpenVINO backend (``--backend openvino``, the ``openvino`` extra).

Reads the same exported ONNX files. Devices are OpenVINO's own names, passed through:
``CPU``, ``GPU``, ``GPU.1``, ``NPU``, ``AUTO`` (``--device auto``/``cpu`` map to CPU).
Precision: fp32/int8 files run as written (``INFERENCE_PRECISION_HINT=f32`` so that
OpenVINO does not quietly drop to bf16); ``bf16`` runs the fp32 file with bf16
inference on CPUs that have it (AVX512_BF16/AMX), fidelity recorded in the manifest.
Mode: ``latency`` (live: one request, all cores) or ``throughput`` (video/image jobs:
OpenVINO's streams, one request per frame of a batch, all in flight together).

>>> normalise_device("auto"), normalise_device("gpu.1"), normalise_device("npu")
('CPU', 'GPU.1', 'NPU')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.install import install_command
from saliency_cam.realtime.runtime.backends.base import EngineOptions, check_exported_io, symbolic

CAPABILITIES = "OPTIMIZATION_CAPABILITIES"


def normalise_device(device: str) -> str:
    """OpenVINO device name for a ``--device`` value (``auto``/``cpu`` → ``CPU``)."""
    value = device.strip()
    if value.lower() in ("auto", "cpu", ""):
        return "CPU"
    return value.upper()


def import_openvino() -> Any:
    """The ``openvino`` module, or a one-line error naming the extra."""
    try:
        import openvino
    except ImportError as exc:
        hint = install_command("openvino")
        raise SaliencyCamError(f"--backend openvino needs OpenVINO: {hint}") from exc
    return openvino


def openvino_version() -> str:
    """The installed OpenVINO's version, or ``""``."""
    try:
        return str(import_openvino().__version__).split("-")[0]
    except SaliencyCamError:
        return ""


_CORE: Any = None


def core() -> Any:
    """One shared ``openvino.Core`` (creating one loads every device plugin)."""
    global _CORE
    if _CORE is None:
        _CORE = import_openvino().Core()
    return _CORE


def has_bf16(device: str = "CPU") -> bool:
    """True when ``device`` computes in bf16 natively (OpenVINO's capability list)."""
    try:
        capabilities = core().get_property(normalise_device(device), CAPABILITIES)
    except Exception:  # noqa: BLE001 - a missing device or plugin has no bf16
        return False
    return "BF16" in [str(c).upper() for c in capabilities]


def compile_config(device: str, options: EngineOptions) -> dict[str, str]:
    """OpenVINO properties for ``options`` on ``device``.

    >>> bf16 = EngineOptions(threads=2, precision="bf16")
    >>> compile_config("CPU", bf16)["INFERENCE_PRECISION_HINT"]
    'bf16'
    >>> compile_config("GPU", EngineOptions(mode="throughput"))["PERFORMANCE_HINT"]
    'THROUGHPUT'
    """
    config = {"PERFORMANCE_HINT": options.mode.upper()}
    if device.startswith("CPU"):
        config["INFERENCE_PRECISION_HINT"] = "bf16" if options.precision == "bf16" else "f32"
        if options.threads:
            config["INFERENCE_NUM_THREADS"] = str(options.threads)
    elif options.precision == "fp32" and device.startswith("GPU"):
        # Intel GPUs default to f16 inference: keep an fp32 run fp32
        config["INFERENCE_PRECISION_HINT"] = "f32"
    return config


#: OpenVINO element type names as onnxruntime names them (for the contract check).
_ORT_TYPES = {"u8": "tensor(uint8)", "f32": "tensor(float)", "f16": "tensor(float16)"}


class OpenVinoEngine:
    """One model compiled by OpenVINO per input shape (static shapes are what OpenVINO's
    CPU plugin runs fastest; a dynamic ONNX file is reshaped to each size it meets)."""

    backend = "openvino"

    def __init__(self, path: Path, device: str, options: EngineOptions) -> None:
        ov_core = core()
        self.device = normalise_device(device)
        known = list(ov_core.available_devices)
        base = self.device.split(".")[0]
        if self.device not in ("AUTO",) and not any(
            d == self.device or d.split(".")[0] == base for d in known
        ):
            raise SaliencyCamError(
                f"OpenVINO has no device {self.device!r} here (available: {', '.join(known)}); "
                "Intel GPUs and NPUs need their drivers installed"
            )
        if options.precision == "bf16" and not has_bf16(self.device):
            raise SaliencyCamError(
                f"bf16 needs a CPU with AVX512_BF16 or AMX; OpenVINO's {self.device} offers "
                f"{', '.join(map(str, ov_core.get_property(self.device, CAPABILITIES)))}"
                ": use --precision fp32 or int8"
            )
        self.options = options
        try:
            self.model = ov_core.read_model(str(path))
        except Exception as exc:  # OpenVINO raises RuntimeError with long C++ text
            raise SaliencyCamError(
                f"OpenVINO cannot read {path}: {str(exc).splitlines()[0][:200]}"
            ) from exc
        shape = self.model.inputs[0].get_partial_shape()
        dims: list[Any] = [d.get_length() if d.is_static else -1 for d in shape]
        out = self.model.outputs[0]
        check_exported_io(
            Path(path).name,
            _ORT_TYPES.get(self.model.inputs[0].get_element_type().get_type_name(), "other"),
            dims,
            _ORT_TYPES.get(out.get_element_type().get_type_name(), "other"),
            [d.get_length() if d.is_static else -1 for d in out.get_partial_shape()],
        )
        self.input_shape = dims
        self.dynamic = any(symbolic(d) for d in dims[1:3])
        # Batches run as one request per frame in flight together, so any model batches.
        self.batchable = True
        self.config = compile_config(self.device, options)
        precision = {"bf16": "bf16", "int8": "int8"}.get(options.precision, "f32")
        if options.precision == "fp16":
            precision = "f16"
        self.providers: list[str] = [f"OpenVINO {self.device} {precision}"]
        self._compiled: dict[tuple[int, int], Any] = {}
        self._queues: dict[tuple[int, int], Any] = {}

    def compiled(self, height: int, width: int) -> Any:
        """The model compiled for [1, height, width, 3] (cached)."""
        key = (height, width)
        compiled = self._compiled.get(key)
        if compiled is None:
            model = self.model.clone()
            model.reshape({model.inputs[0].get_any_name(): [1, height, width, 3]})
            compiled = core().compile_model(model, self.device, self.config)
            self._compiled[key] = compiled
        return compiled

    def run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` → float32 ``[N, H, W, 1]``."""
        n, h, w, _ = batch.shape
        compiled = self.compiled(h, w)
        if n == 1:
            request = compiled.create_infer_request() if (h, w) not in self._queues else None
            if request is not None:
                self._queues[(h, w)] = request
            result = self._queues[(h, w)].infer({0: batch})
            return np.array(result[compiled.output(0)], copy=True)
        return self._run_async(compiled, batch)

    def _run_async(self, compiled: Any, batch: np.ndarray) -> np.ndarray:
        """Every frame of the batch in flight at once on OpenVINO's streams."""
        import openvino as ov

        out = np.empty((*batch.shape[:3], 1), np.float32)
        jobs = max(
            1, min(len(batch), int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        )
        queue = ov.AsyncInferQueue(compiled, jobs)

        def done(request: Any, index: int) -> None:
            out[index] = request.get_output_tensor(0).data[0]

        queue.set_callback(done)
        for index, frame in enumerate(batch):
            queue.start_async({0: frame[None]}, userdata=index)
        queue.wait_all()
        return out
