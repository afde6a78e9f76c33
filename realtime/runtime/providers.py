"""The one place that chooses onnxruntime execution providers (and their options).

``auto`` tries the accelerators this onnxruntime build offers — TensorRT, CUDA,
MIGraphX, ROCm, DirectML, CoreML — then CPU, and says in one line what it picked and
why. An explicitly named device that cannot run is an error naming the fix.

>>> choose_providers("auto", available=["CPUExecutionProvider"]).providers
['CPUExecutionProvider']
>>> choose_providers("auto", available=["CoreMLExecutionProvider", "CPUExecutionProvider"]).device
'coreml'
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saliency_cam.models import machine
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.install import install_command

CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class ProviderSpec:
    """One onnxruntime execution provider: the ``--device`` name, its provider, what it
    is, how to install it, and the precisions worth trying on it (fastest first)."""

    device: str
    provider: str
    what: str
    how_to_install: Callable[[], str]
    precisions: tuple[str, ...]
    gpu: bool = True

    @property
    def install(self) -> str:
        """How to get this provider, as a command for the way saliency-cam was installed."""
        return self.how_to_install()


#: Auto's preference order. Precision rules: NVIDIA/AMD/DirectML GPUs run fp16 files on
#: their tensor/matrix units; CoreML takes fp32 and chooses its own precision per unit;
#: OpenVINO's EP runs int8 (QDQ) files with VNNI/AMX.
PROVIDER_SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        "tensorrt",
        "TensorrtExecutionProvider",
        "NVIDIA TensorRT",
        lambda: install_command("gpu", replace="onnxruntime") + " plus TensorRT",
        ("fp16", "fp32"),
    ),
    ProviderSpec(
        "cuda",
        "CUDAExecutionProvider",
        "NVIDIA CUDA",
        lambda: install_command("gpu", replace="onnxruntime"),
        ("fp16", "fp32"),
    ),
    ProviderSpec(
        "migraphx",
        "MIGraphXExecutionProvider",
        "AMD MIGraphX",
        lambda: "install onnxruntime-rocm (AMD's ROCm wheels) instead of onnxruntime",
        ("fp16", "fp32"),
    ),
    ProviderSpec(
        "rocm",
        "ROCMExecutionProvider",
        "AMD ROCm",
        lambda: "install onnxruntime-rocm (AMD's ROCm wheels) instead of onnxruntime",
        ("fp16", "fp32"),
    ),
    ProviderSpec(
        "directml",
        "DmlExecutionProvider",
        "Windows DirectML",
        lambda: install_command(packages="onnxruntime-directml", replace="onnxruntime"),
        ("fp16", "fp32"),
    ),
    ProviderSpec(
        "coreml",
        "CoreMLExecutionProvider",
        "macOS Neural Engine/GPU; fp32 files, CoreML picks its own precision",
        lambda: "the standard onnxruntime wheel for macOS has it",
        ("fp32",),
    ),
    ProviderSpec(
        "openvino-ep",
        "OpenVINOExecutionProvider",
        "onnxruntime's OpenVINO EP",
        lambda: (
            install_command(packages="onnxruntime-openvino", replace="onnxruntime")
            + " (or use --backend openvino)"
        ),
        ("int8", "fp32"),
        gpu=False,
    ),
    ProviderSpec("cpu", CPU, "CPU", lambda: "always present", ("int8", "fp32"), gpu=False),
)
_BY_DEVICE = {spec.device: spec for spec in PROVIDER_SPECS}
_BY_PROVIDER = {spec.provider: spec for spec in PROVIDER_SPECS}
#: Providers ``auto`` may pick (the OpenVINO EP only when named: --backend openvino is
#: the measured OpenVINO path).
_AUTO_ORDER = [s for s in PROVIDER_SPECS if s.gpu]

DEVICES: tuple[str, ...] = ("auto", *(spec.device for spec in PROVIDER_SPECS))


@dataclass(frozen=True)
class ProviderChoice:
    """Providers to hand to onnxruntime, best first, and what to tell the user.

    ``explicit`` is True when the user named the GPU device (``--device cuda``): then a
    provider that fails to start is an error rather than a quiet fallback.
    """

    device: str
    providers: list[str]
    note: str = ""
    explicit: bool = False

    @property
    def primary(self) -> str:
        """The provider expected to run most of the graph."""
        return self.providers[0]

    @property
    def is_gpu(self) -> bool:
        spec = _BY_PROVIDER.get(self.primary)
        return spec.gpu if spec is not None else self.primary != CPU

    @property
    def precisions(self) -> tuple[str, ...]:
        """Precisions worth trying on the primary provider, fastest first."""
        spec = _BY_PROVIDER.get(self.primary)
        return spec.precisions if spec is not None else ("fp32",)


def available_providers() -> list[str]:
    """Providers compiled into the installed onnxruntime."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_providers(
    device: str = "auto", available: Sequence[str] | None = None
) -> ProviderChoice:
    """Pick providers for ``device`` (see :data:`DEVICES`).

    An explicit device that is not available is an error naming the fix; ``auto``
    falls back quietly except for one explanatory note.
    """
    device = device.strip().lower()
    if device not in DEVICES:
        raise SaliencyCamError(f"unknown device {device!r}: choose one of {', '.join(DEVICES)}")
    have = list(available if available is not None else available_providers())
    if device == "cpu":
        return ProviderChoice("cpu", [CPU])
    if device != "auto":
        spec = _BY_DEVICE[device]
        if spec.provider not in have:
            raise SaliencyCamError(
                f"--device {device} needs {spec.provider}, but this onnxruntime offers only "
                f"{', '.join(have) or 'nothing'}: install it ({spec.install}) or use --device cpu"
            )
        # TensorRT hands the nodes it cannot build to CUDA, then to the CPU
        helper = ["CUDAExecutionProvider"] if device == "tensorrt" else []
        chain = [spec.provider] + [p for p in helper if p in have]
        return ProviderChoice(device, chain + [CPU], explicit=True)
    offered = [spec for spec in _AUTO_ORDER if spec.provider in have]
    skipped = ""
    if offered and offered[0].device == "tensorrt" and not tensorrt_loadable():
        # onnxruntime-gpu always lists TensorRT; without its libraries it would only warn
        offered, skipped = offered[1:], "TensorRT libraries (libnvinfer) not found"
    if offered:
        best = offered[0]
        why = best.what
        if best.device == "cuda":
            why = skipped or "TensorrtExecutionProvider not installed"
        elif best.device == "tensorrt":
            why = "TensorRT engines; CUDA for the rest"
        helpers = [s.provider for s in offered[1:] if s.device == "cuda"]
        return ProviderChoice(
            best.device, [best.provider, *helpers, CPU], f"auto: using {best.provider} ({why})"
        )
    return ProviderChoice(
        "cpu",
        [CPU],
        "auto: no GPU provider in this onnxruntime (TensorRT, CUDA, MIGraphX, ROCm, DirectML, "
        "CoreML) — running on CPU",
    )


#: Short names shown to people (HUD, tables) for onnxruntime's provider names.
PROVIDER_LABELS: dict[str, str] = {
    "TensorrtExecutionProvider": "TensorRT",
    "CUDAExecutionProvider": "CUDA",
    "CPUExecutionProvider": "CPU",
}


def provider_label(provider: str) -> str:
    """Short name of an onnxruntime provider (``CUDAExecutionProvider`` → ``CUDA``)."""
    return PROVIDER_LABELS.get(provider, provider.removesuffix("ExecutionProvider"))


def provider_device(provider: str) -> str:
    """Where a provider's tensors live for IO binding: ``cpu`` or ``cuda``."""
    return "cpu" if provider == CPU else "cuda"


def available_devices(available: Sequence[str] | None = None) -> list[str]:
    """``cpu`` plus every accelerator device this onnxruntime can run, in auto's order
    (TensorRT only when its runtime library loads)."""
    have = list(available if available is not None else available_providers())
    found = [
        spec.device
        for spec in _AUTO_ORDER
        if spec.provider in have and (spec.device != "tensorrt" or tensorrt_loadable())
    ]
    return ["cpu", *found]


# --------------------------------------------------------------------------- GPU setup

#: Set SALIENCY_CAM_TENSORRT=0/1 to skip the library probe (tests, odd installs).
TENSORRT_ENV = "SALIENCY_CAM_TENSORRT"


def tensorrt_loadable() -> bool:
    """True when TensorRT's runtime library loads (onnxruntime-gpu lists its TensorRT
    provider whether or not TensorRT is installed)."""
    forced = os.environ.get(TENSORRT_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    for name in ("libnvinfer.so.10", "libnvinfer.so", "nvinfer_10.dll", "nvinfer.dll"):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False


#: Oldest NVIDIA driver (cuDriverGetVersion value) each CUDA major runtime needs.
MIN_DRIVER_FOR_CUDA = {11: 11000, 12: 12000, 13: 13000}


def onnxruntime_cuda_major() -> int | None:
    """The CUDA major version the installed onnxruntime-gpu was built for, or None."""
    version = ""
    for module in ("build_and_package_info", "onnxruntime_validation"):
        try:
            info = __import__(f"onnxruntime.capi.{module}", fromlist=["cuda_version"])
        except ImportError:
            continue
        version = str(getattr(info, "cuda_version", "") or "")
        if version:
            break
    return int(version.split(".")[0]) if version[:1].isdigit() else None


def cuda_driver_version(library: str | None = None) -> int | None:
    """The NVIDIA driver's CUDA version as ``cuDriverGetVersion`` reports it (e.g. 12040
    for 12.4), or None when no driver library loads."""
    names = [library] if library else ["libcuda.so.1", "libcuda.so", "nvcuda.dll"]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        version = ctypes.c_int(0)
        if lib.cuDriverGetVersion(ctypes.byref(version)) == 0:
            return version.value
    return None


def cuda_driver_problem(driver: int | None, cuda_major: int | None) -> str:
    """One line saying why the CUDA provider cannot run with this driver, or ``""``.

    >>> cuda_driver_problem(None, 12)[:26]
    'no NVIDIA driver found (li'
    >>> cuda_driver_problem(11080, 12)[:56]
    'NVIDIA driver supports CUDA 11.8 but this onnxruntime-gp'
    >>> cuda_driver_problem(12040, 12)
    ''
    """
    if driver is None:
        return (
            "no NVIDIA driver found (libcuda.so.1 / nvcuda.dll did not load): install the "
            "NVIDIA driver, or use --device cpu"
        )
    need = MIN_DRIVER_FOR_CUDA.get(cuda_major or 12, (cuda_major or 12) * 1000)
    if driver < need:
        return (
            f"NVIDIA driver supports CUDA {driver // 1000}.{driver % 1000 // 10} but this "
            f"onnxruntime-gpu needs CUDA {cuda_major or 12}: update the driver "
            "(or use --device cpu)"
        )
    return ""


def prepare_gpu(choice: ProviderChoice) -> str:
    """Before a CUDA/TensorRT session: load the CUDA/cuDNN libraries that the gpu
    extra's pip packages bring (onnxruntime's ``preload_dlls``), and return a line
    naming a missing or too old driver (``""`` when fine or not an NVIDIA provider)."""
    if choice.primary not in ("CUDAExecutionProvider", "TensorrtExecutionProvider"):
        return ""
    problem = cuda_driver_problem(cuda_driver_version(), onnxruntime_cuda_major())
    if problem:
        return problem
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        # finds nvidia-*-cu1x wheels in site-packages; a system CUDA may work as well
        with contextlib.suppress(Exception):
            preload()
    return ""


def trt_cache_dir(root: Path | None = None) -> Path:
    """Where TensorRT engines are kept (the runtime cache; ``$SALIENCY_CAM_RUNTIME_CACHE``
    moves it)."""
    if root is None:
        from saliency_cam.models.paths import runtime_cache_dir

        root = runtime_cache_dir()
    return root / "tensorrt"


def trt_cache_key(model_sha: str, gpu: str, trt_version: str, precision: str) -> str:
    """Folder name of one TensorRT engine cache: model, GPU, TensorRT version, precision.

    >>> trt_cache_key("ab" * 32, "NVIDIA H100 80GB HBM3", "10.9.0", "fp16")
    'abababababab-nvidia-h100-80gb-hbm3-trt10.9.0-fp16'
    """
    gpu_slug = "-".join("".join(c if c.isalnum() else " " for c in gpu.lower()).split())
    return f"{model_sha[:12]}-{gpu_slug or 'gpu'}-trt{trt_version or 'unknown'}-{precision}"


def tensorrt_version() -> str:
    """The installed TensorRT's version, or ``""``."""
    try:
        from importlib import metadata

        return metadata.version("tensorrt")
    except Exception:  # noqa: BLE001 - any missing or broken install means unknown
        return os.environ.get("TRT_VERSION", "")


def provider_options(
    choice: ProviderChoice, model_sha: str, precision: str, cache_root: Path | None = None
) -> list[dict[str, Any]]:
    """Options for each provider in ``choice`` (same order).

    TensorRT: engine cache in the user cache keyed by model, GPU, TRT version and
    precision; fp16 engines for fp16 runs, int8 engines from QDQ (int8) files.
    CUDA: exhaustive cuDNN search once (shapes repeat frame after frame).
    """
    options: list[dict[str, Any]] = []
    for provider in choice.providers:
        if provider == "TensorrtExecutionProvider":
            key = trt_cache_key(model_sha, machine.gpu_name(), tensorrt_version(), precision)
            folder = trt_cache_dir(cache_root) / key
            options.append(
                {
                    "trt_engine_cache_enable": "True",
                    "trt_engine_cache_path": str(folder),
                    "trt_timing_cache_enable": "True",
                    "trt_timing_cache_path": str(folder),
                    "trt_fp16_enable": "True" if precision in ("fp16", "int8") else "False",
                    "trt_int8_enable": "True" if precision == "int8" else "False",
                }
            )
        elif provider == "CUDAExecutionProvider":
            options.append(
                {"cudnn_conv_algo_search": "EXHAUSTIVE", "do_copy_in_default_stream": "1"}
            )
        else:
            options.append({})
    return options


def trt_engine_missing(options: list[dict[str, Any]]) -> bool:
    """True when a TensorRT engine will be built (no cached engine yet): building takes
    minutes, so callers print a first-run message."""
    for entry in options:
        path = entry.get("trt_engine_cache_path")
        if path:
            return not any(Path(path).glob("*.engine"))
    return False
