"""Execution-provider choice: auto prefers TensorRT, then CUDA, then CPU and says once
what it fell back to; explicit GPU devices fail loudly. The provider lists are varied
by hand; the last tests start real onnxruntime sessions on the tiny exported model."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.runtime.providers import (
    ProviderChoice,
    available_providers,
    choose_providers,
)
from saliency_cam.realtime.runtime.session import SaliencySession, find_variant

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TRT = "TensorrtExecutionProvider"


@pytest.mark.parametrize(
    ("available", "device", "providers", "note_has"),
    [
        ([TRT, CUDA, CPU], "tensorrt", [TRT, CUDA, CPU], "using TensorrtExecutionProvider"),
        ([CUDA, CPU], "cuda", [CUDA, CPU], "TensorrtExecutionProvider not installed"),
        ([TRT, CPU], "tensorrt", [TRT, CPU], "using TensorrtExecutionProvider"),
        ([CPU], "cpu", [CPU], "running on CPU"),
        (["AzureExecutionProvider", CPU], "cpu", [CPU], "no GPU provider"),
        ([], "cpu", [CPU], "running on CPU"),
    ],
)
def test_auto_picks_the_best_available(
    available: list[str], device: str, providers: list[str], note_has: str
) -> None:
    choice = choose_providers("auto", available=available)
    assert choice.device == device
    assert choice.providers == providers
    assert note_has in choice.note and "\n" not in choice.note  # one line
    assert not choice.explicit
    assert choice.is_gpu == (device != "cpu")


def test_explicit_devices() -> None:
    everything = [TRT, CUDA, CPU]
    assert choose_providers("cpu", available=everything) == ProviderChoice("cpu", [CPU])
    cuda = choose_providers("cuda", available=everything)
    assert cuda.providers == [CUDA, CPU] and cuda.explicit and not cuda.note
    trt = choose_providers(" TensorRT ", available=everything)
    assert trt.providers == [TRT, CUDA, CPU] and trt.device == "tensorrt"
    assert choose_providers("tensorrt", available=[TRT, CPU]).providers == [TRT, CPU]


@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_explicit_gpu_without_its_provider_names_the_fix(device: str) -> None:
    with pytest.raises(SaliencyCamError, match=r"saliency-cam\[gpu\].*--device cpu"):
        choose_providers(device, available=[CPU])


def test_unknown_device_lists_the_choices() -> None:
    with pytest.raises(SaliencyCamError, match="auto, cpu, cuda, tensorrt"):
        choose_providers("gpu", available=[CPU])


def test_real_onnxruntime_has_cpu() -> None:
    assert CPU in available_providers()


def test_session_on_auto_runs_on_what_was_chosen(tiny_models_dir: Path) -> None:
    variant = find_variant("very_low", models_dir=tiny_models_dir)
    session = SaliencySession(variant, "auto")
    assert session.providers[0] == session.choice.primary
    assert session.fallback_note == ""


def test_gpu_provider_that_does_not_start_is_reported(tiny_models_dir: Path) -> None:
    # On this CPU-only onnxruntime, asking for CUDA makes onnxruntime fall back to the
    # CPU with only a warning: the very thing a broken GPU install looks like.
    variant = find_variant("very_low", models_dir=tiny_models_dir)
    auto_cuda = ProviderChoice("cuda", [CUDA, CPU], "auto: using CUDAExecutionProvider")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        session = SaliencySession(variant, choice=auto_cuda, warmup=0)
        assert session.providers == [CPU]
        assert "CUDAExecutionProvider did not start" in session.fallback_note
        explicit = ProviderChoice("cuda", [CUDA, CPU], explicit=True)
        with pytest.raises(SaliencyCamError, match="--device cuda: CUDAExecutionProvider did"):
            SaliencySession(variant, choice=explicit, warmup=0)
