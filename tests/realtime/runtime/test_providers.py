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
    available: list[str], device: str, providers: list[str], note_has: str, monkeypatch
) -> None:
    monkeypatch.setenv("SALIENCY_CAM_TENSORRT", "1")  # as if libnvinfer loaded
    choice = choose_providers("auto", available=available)
    assert choice.device == device
    assert choice.providers == providers
    assert note_has in choice.note and "\n" not in choice.note  # one line
    assert not choice.explicit
    assert choice.is_gpu == (device != "cpu")


def test_auto_skips_tensorrt_without_its_libraries(monkeypatch) -> None:
    # onnxruntime-gpu lists TensorRT even without TensorRT installed (seen on an H100)
    monkeypatch.setenv("SALIENCY_CAM_TENSORRT", "0")
    choice = choose_providers("auto", available=[TRT, CUDA, CPU])
    assert choice.providers == [CUDA, CPU]
    assert "TensorRT libraries (libnvinfer) not found" in choice.note


@pytest.mark.parametrize(
    ("provider", "device", "precisions"),
    [
        ("MIGraphXExecutionProvider", "migraphx", ("fp16", "fp32")),
        ("ROCMExecutionProvider", "rocm", ("fp16", "fp32")),
        ("DmlExecutionProvider", "directml", ("fp16", "fp32")),
        ("CoreMLExecutionProvider", "coreml", ("fp32",)),
    ],
)
def test_other_accelerators_with_their_precision_rules(
    provider: str, device: str, precisions: tuple[str, ...]
) -> None:
    auto = choose_providers("auto", available=[provider, CPU])
    assert auto.providers == [provider, CPU] and auto.device == device
    assert auto.note.startswith(f"auto: using {provider} (") and "\n" not in auto.note
    assert auto.precisions == precisions and auto.is_gpu
    named = choose_providers(device, available=[provider, CPU])
    assert named.explicit and named.providers == [provider, CPU]
    with pytest.raises(SaliencyCamError, match=f"--device {device} needs {provider}"):
        choose_providers(device, available=[CPU])


def test_openvino_ep_only_when_named() -> None:
    have = ["OpenVINOExecutionProvider", CPU]
    assert choose_providers("auto", available=have).providers == [CPU]
    named = choose_providers("openvino-ep", available=have)
    assert named.providers == ["OpenVINOExecutionProvider", CPU] and not named.is_gpu
    assert named.precisions == ("int8", "fp32")


def test_driver_lines() -> None:
    from saliency_cam.realtime.runtime.providers import cuda_driver_problem

    assert "no NVIDIA driver found" in cuda_driver_problem(None, 13)
    old = cuda_driver_problem(12080, 13)
    assert "supports CUDA 12.8" in old and "needs CUDA 13" in old and "update the driver" in old
    assert cuda_driver_problem(13000, 13) == ""
    assert cuda_driver_problem(12040, 12) == ""


def test_gpu_preparation_is_a_no_op_on_cpu() -> None:
    from saliency_cam.realtime.runtime.providers import cuda_driver_version, prepare_gpu

    assert prepare_gpu(choose_providers("cpu")) == ""
    assert cuda_driver_version("libdefinitely-not-cuda.so") is None


def test_tensorrt_cache_is_keyed_and_options_follow_precision(tmp_path: Path) -> None:
    from saliency_cam.realtime.runtime.providers import (
        provider_options,
        trt_cache_key,
        trt_engine_missing,
    )

    a = trt_cache_key("ab" * 32, "NVIDIA H100 80GB HBM3", "10.9", "fp16")
    assert a != trt_cache_key("cd" * 32, "NVIDIA H100 80GB HBM3", "10.9", "fp16")
    assert a != trt_cache_key("ab" * 32, "NVIDIA L4", "10.9", "fp16")
    assert a != trt_cache_key("ab" * 32, "NVIDIA H100 80GB HBM3", "10.9", "int8")
    choice = ProviderChoice("tensorrt", [TRT, CUDA, CPU])
    trt, cuda, cpu = provider_options(choice, "ab" * 32, "fp16", tmp_path)
    assert trt["trt_fp16_enable"] == "True" and trt["trt_int8_enable"] == "False"
    assert trt["trt_engine_cache_path"].startswith(str(tmp_path / "tensorrt"))
    assert cuda["cudnn_conv_algo_search"] == "EXHAUSTIVE" and cpu == {}
    (int8,) = provider_options(ProviderChoice("tensorrt", [TRT]), "ab" * 32, "int8", tmp_path)
    assert int8["trt_int8_enable"] == "True"
    assert trt_engine_missing([trt])  # first run: the message about minutes is due
    Path(trt["trt_engine_cache_path"]).mkdir(parents=True)
    (Path(trt["trt_engine_cache_path"]) / "x.engine").write_bytes(b"")
    assert not trt_engine_missing([trt])


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
    with pytest.raises(SaliencyCamError, match=r"-m pip install .*\[gpu\].*--device cpu"):
        choose_providers(device, available=[CPU])


def test_unknown_device_lists_the_choices() -> None:
    with pytest.raises(SaliencyCamError, match="auto, tensorrt, cuda, migraphx"):
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
        # with no NVIDIA driver at all the error says so first (the more specific cause)
        from saliency_cam.realtime.runtime.providers import cuda_driver_version

        cause = "CUDAExecutionProvider did" if cuda_driver_version() else "no NVIDIA driver found"
        with pytest.raises(SaliencyCamError, match=f"--device cuda: {cause}"):
            SaliencySession(variant, choice=explicit, warmup=0)
