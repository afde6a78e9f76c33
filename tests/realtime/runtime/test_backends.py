"""Backends behind SaliencySession on the tiny exported models (real sessions): the
exported graph takes any batch/height/width, aspect-matched inference agrees with the
letterboxed map, batches equal frame-by-frame runs, OpenVINO agrees with onnxruntime,
and --backend auto measures once then answers from its cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.metrics import cc
from saliency_cam.realtime.runtime.aspect import aspect_size
from saliency_cam.realtime.runtime.autoselect import CACHE_NAME, candidates, choose_backend
from saliency_cam.realtime.runtime.backends import check_backend, installed_backends
from saliency_cam.realtime.runtime.providers import choose_providers
from saliency_cam.realtime.runtime.session import AUTO_BATCH, auto_batch, open_session


def scene(h: int, w: int, t: float = 0.3) -> np.ndarray:
    """A textured frame with one bright moving disc (a salient object)."""
    rng = np.random.default_rng(int(t * 100))
    img = (rng.normal(110, 20, (h // 8, w // 8, 3))).clip(0, 255).astype(np.uint8)
    import cv2

    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    cv2.circle(img, (int(w * t), h // 2), max(4, min(h, w) // 8), (40, 60, 250), -1)
    return img


def test_exported_graph_has_symbolic_batch_height_width(tiny_models_dir: Path) -> None:
    proto = onnx.load(str(tiny_models_dir / "msinet_low_fp32.onnx"))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "height", "width", 3]
    ops = [n.op_type for n in proto.graph.node]
    assert "SpaceToDepth" not in ops and len(ops) < 100  # the lean fixed-size trace
    session = open_session("low", device="cpu", models_dir=tiny_models_dir)
    assert session.dynamic and session.batchable


def test_aspect_matched_input_agrees_with_the_letterboxed_map(tiny_models_dir: Path) -> None:
    matched = open_session("low", device="cpu", models_dir=tiny_models_dir)
    boxed = open_session("low", device="cpu", models_dir=tiny_models_dir, aspect="letterbox")
    for shape in ((360, 640), (640, 360)):
        frame, other = scene(*shape, 0.2), scene(*shape, 0.8)
        assert matched.letterbox_for(frame.shape).target == aspect_size(shape, (72, 96))
        assert matched.letterbox_for(frame.shape).target != (72, 96)
        assert boxed.letterbox_for(frame.shape).target == (72, 96)
        a, b = matched.predict(frame), boxed.predict(frame)
        assert a.shape == b.shape == shape
        same = cc(a.astype(np.float64), b.astype(np.float64))
        # Random weights: the padding the letterbox adds changes their maps more than
        # trained ones would (0.77-0.87 measured, benchmarks/results/backends_cpu.json);
        # a misplaced or misscaled map would agree better with another frame's map.
        assert same > 0.7
        assert same > cc(a.astype(np.float64), boxed.predict(other).astype(np.float64)) + 0.05


def test_a_batch_equals_frame_by_frame(tiny_models_dir: Path) -> None:
    session = open_session("very_low", device="cpu", models_dir=tiny_models_dir)
    frames = [scene(360, 640, t) for t in (0.2, 0.5, 0.8)]
    one_by_one = [session.predict(f) for f in frames]
    batched = session.predict_batch(frames)
    for a, b in zip(one_by_one, batched, strict=True):
        assert np.abs(a - b).max() < 1e-5
    assert not np.allclose(one_by_one[0], one_by_one[2])  # the object moved
    with pytest.raises(ValueError, match="multiples of 8"):
        session.infer(np.zeros((37, 64, 3), np.uint8))


def test_auto_batch_by_device(tiny_models_dir: Path) -> None:
    session = open_session("very_low", device="cpu", models_dir=tiny_models_dir)
    assert auto_batch(session) == AUTO_BATCH["cpu"] > 1  # the graph batches: files batch


def test_unknown_backend_is_one_line() -> None:
    with pytest.raises(SaliencyCamError, match="auto, onnxruntime, openvino"):
        check_backend("tensorflow")


def test_auto_measures_once_then_answers_from_the_cache(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("openvino")
    opened: list[tuple[str, str]] = []

    def open_candidate(backend: str, precision: str):
        opened.append((backend, precision))
        return open_session(
            "very_low", precision, "cpu", tiny_models_dir, backend=backend, warmup=1
        )

    cpu = choose_providers("cpu")
    first = choose_backend(
        "very_low", "fp32", "cpu", cpu, tiny_models_dir, open_candidate, cache_dir=tmp_path
    )
    assert sorted(opened) == [("onnxruntime", "fp32"), ("openvino", "fp32")]
    assert first.backend in ("onnxruntime", "openvino") and "FPS" in first.note
    assert (tmp_path / CACHE_NAME).is_file()
    opened.clear()
    again = choose_backend(
        "very_low", "fp32", "cpu", cpu, tiny_models_dir, open_candidate, cache_dir=tmp_path
    )
    assert opened == [] and again.backend == first.backend and "(cached)" in again.note


def test_auto_with_one_candidate_does_not_measure(tiny_models_dir: Path, tmp_path: Path) -> None:
    pairs = candidates(
        "very_low", "auto", choose_providers("cpu"), tiny_models_dir, ["onnxruntime"]
    )
    assert pairs == [("onnxruntime", "fp32")]  # no int8 exported in the tiny models
    assert "onnxruntime" in installed_backends()


def test_openvino_agrees_with_onnxruntime(tiny_models_dir: Path) -> None:
    pytest.importorskip("openvino")
    ort_session = open_session("very_low", device="cpu", models_dir=tiny_models_dir)
    ov_latency = open_session("very_low", models_dir=tiny_models_dir, backend="openvino")
    ov_files = open_session(
        "very_low", models_dir=tiny_models_dir, backend="openvino", mode="throughput"
    )
    assert ov_latency.providers == ["OpenVINO CPU f32"]
    frames = [scene(360, 640, t) for t in (0.2, 0.6)]
    for frame in frames:
        a, b = ort_session.predict(frame), ov_latency.predict(frame)
        assert np.abs(a - b).max() < 1e-3
    batched = ov_files.predict_batch(frames)
    assert np.abs(batched[1] - ort_session.predict(frames[1])).max() < 1e-3


def test_openvino_device_and_bf16_errors_are_one_line(tiny_models_dir: Path) -> None:
    pytest.importorskip("openvino")
    from saliency_cam.realtime.runtime.backends.openvino import core, has_bf16

    if "NPU" not in core().available_devices:
        with pytest.raises(SaliencyCamError, match="no device 'NPU'.*available: CPU"):
            open_session("very_low", models_dir=tiny_models_dir, backend="openvino", device="npu")
    with pytest.raises(SaliencyCamError, match="bf16 runs on --backend openvino only"):
        from saliency_cam.realtime.runtime.backends import open_engine
        from saliency_cam.realtime.runtime.backends.base import EngineOptions

        open_engine(
            "onnxruntime",
            tiny_models_dir / "msinet_very_low_fp32.onnx",
            choose_providers("cpu"),
            EngineOptions(precision="bf16"),
        )
    if not has_bf16():
        from saliency_cam.export.quantize import quantize_variant
        from saliency_cam.models.manifest import Manifest

        fp32 = Manifest.load(tiny_models_dir).find("very_low", "fp32")
        with pytest.raises(SaliencyCamError, match="no bf16 units"):
            quantize_variant(fp32, "bf16", tiny_models_dir)
