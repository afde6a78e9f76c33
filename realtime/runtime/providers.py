"""The one place that chooses onnxruntime execution providers.

``auto`` tries TensorRT, then CUDA, then CPU, and reports once, in one line, what it
fell back to and why.

>>> choose_providers("auto", available=["CPUExecutionProvider"]).providers
['CPUExecutionProvider']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from saliency_cam.models.errors import SaliencyCamError

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "tensorrt")

_PROVIDER_FOR = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}


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
        return self.primary != "CPUExecutionProvider"


def available_providers() -> list[str]:
    """Providers compiled into the installed onnxruntime."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_providers(
    device: str = "auto", available: Sequence[str] | None = None
) -> ProviderChoice:
    """Pick providers for ``device`` (auto, cpu, cuda, tensorrt).

    An explicit GPU device that is not available is an error naming the fix; ``auto``
    falls back quietly except for one explanatory note.
    """
    device = device.strip().lower()
    if device not in DEVICES:
        raise SaliencyCamError(f"unknown device {device!r}: choose one of {', '.join(DEVICES)}")
    have = list(available if available is not None else available_providers())
    if device == "cpu":
        return ProviderChoice("cpu", ["CPUExecutionProvider"])
    if device in ("cuda", "tensorrt"):
        wanted = _PROVIDER_FOR[device]
        if wanted not in have:
            raise SaliencyCamError(
                f"--device {device} needs {wanted}, but this onnxruntime offers only "
                f"{', '.join(have) or 'nothing'}: install the gpu extra "
                "(pip uninstall onnxruntime && pip install 'saliency-cam[gpu]') or use --device cpu"
            )
        chain = [wanted] + (
            ["CUDAExecutionProvider"]
            if device == "tensorrt" and "CUDAExecutionProvider" in have
            else []
        )
        return ProviderChoice(device, chain + ["CPUExecutionProvider"], explicit=True)
    # auto
    chain = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in have]
    if chain:
        missing = [p for p in ("TensorrtExecutionProvider",) if p not in have]
        note = f"auto: using {chain[0]}" + (f" ({missing[0]} not installed)" if missing else "")
        return ProviderChoice(
            "tensorrt" if chain[0].startswith("Tensorrt") else "cuda",
            chain + ["CPUExecutionProvider"],
            note,
        )
    return ProviderChoice(
        "cpu",
        ["CPUExecutionProvider"],
        "auto: no GPU provider in this onnxruntime (TensorRT, CUDA) — running on CPU",
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
    return "cpu" if provider == _PROVIDER_FOR["cpu"] else "cuda"


def available_devices(available: Sequence[str] | None = None) -> list[str]:
    """``cpu`` plus every GPU device this onnxruntime can run (``cuda``, ``tensorrt``)."""
    have = list(available if available is not None else available_providers())
    return ["cpu"] + [d for d in ("cuda", "tensorrt") if _PROVIDER_FOR[d] in have]
