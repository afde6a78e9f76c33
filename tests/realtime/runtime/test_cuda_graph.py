"""CUDA graphs for repeated shapes: the fixed-shape copy, the runner's fixed buffers and
the engine's choose/fall-back logic, all run for real on the CPU (CI has no GPU; the
capture itself is measured by benchmarks/gpu_check.py on a GPU machine)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from saliency_cam.realtime.runtime.backends.base import EngineOptions
from saliency_cam.realtime.runtime.backends.cuda_graph import (
    CUDA_GRAPHS_ENV,
    CudaGraphs,
    GraphRunner,
    cuda_graphs_enabled,
    static_model,
)
from saliency_cam.realtime.runtime.backends.onnxruntime import OnnxRuntimeEngine
from saliency_cam.realtime.runtime.providers import choose_providers

CPU = ["CPUExecutionProvider"]


def frames(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)


def dynamic_run(path: Path, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=CPU)
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def ops(path: Path) -> Counter:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def test_fixed_shape_copy_has_no_shape_nodes_and_the_same_maps(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    source = tiny_models_dir / "msinet_very_low_fp32.onnx"
    assert ops(source)["Shape"] == 1  # the dynamic export computes a broadcast shape
    copy = static_model(source, (2, 48, 64, 3), tmp_path, "abc")
    assert copy.name == "abc-2x48x64x3.onnx"
    assert ops(copy)["Shape"] == 0
    dims = [d.dim_value for d in onnx.load(str(copy)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 48, 64, 3]
    batch = frames((2, 48, 64, 3))
    np.testing.assert_array_equal(dynamic_run(copy, batch), dynamic_run(source, batch))
    # written once: a second call finds it (and leaves no temporary file behind)
    inode = copy.stat().st_ino  # a rewrite would rename a new file over it
    assert static_model(source, (2, 48, 64, 3), tmp_path, "abc") == copy
    assert copy.stat().st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc-2x48x64x3.onnx"]


def test_fixed_shape_copy_of_an_int8_model_keeps_its_quantization(
    tiny_derived_dir: Path, tmp_path: Path
) -> None:
    source = tiny_derived_dir / "msinet_very_low_int8.onnx"
    copy = static_model(source, (1, 40, 64, 3), tmp_path, "q")
    before, after = ops(source), ops(copy)
    assert after["DequantizeLinear"] == before["DequantizeLinear"] > 20
    assert after["QuantizeLinear"] == before["QuantizeLinear"]
    batch = frames((1, 40, 64, 3), 3)
    np.testing.assert_array_equal(dynamic_run(copy, batch), dynamic_run(source, batch))


def test_runner_binds_buffers_once_and_returns_maps_it_does_not_reuse(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    source = tiny_models_dir / "msinet_very_low_fp32.onnx"
    shape = (1, 48, 64, 3)
    runner = GraphRunner(static_model(source, shape, tmp_path, "k"), shape, CPU, [{}], "cpu")
    first_frames, second_frames = frames(shape, 1), frames(shape, 2)
    first = runner(first_frames)
    kept = first.copy()
    second = runner(second_frames)
    np.testing.assert_array_equal(first, kept)  # the second run did not write into it
    np.testing.assert_allclose(first, dynamic_run(source, first_frames), atol=1e-6)
    np.testing.assert_allclose(second, dynamic_run(source, second_frames), atol=1e-6)
    with pytest.raises(ValueError, match="this graph runs"):
        runner(frames((2, 48, 64, 3)))


def test_graphs_are_built_for_repeated_shapes_up_to_the_limit() -> None:
    built: list[tuple[int, ...]] = []

    def build(shape: tuple[int, ...]):
        built.append(shape)
        return lambda batch: batch

    graphs = CudaGraphs(build, after=2, limit=2)
    a, b, c = (1, 48, 64, 3), (1, 40, 64, 3), (4, 48, 64, 3)
    assert graphs.runner(a) is None  # first time: plain run
    assert graphs.runner(a) is not None
    assert graphs.runner(a) is not None
    assert graphs.runner(b) is None and graphs.runner(b) is not None
    assert graphs.runner(c) is None and graphs.runner(c) is None  # limit reached
    assert built == [a, b]
    assert graphs.note == "CUDA graphs on for 1x48x64x3, 1x40x64x3"


def test_a_failing_graph_is_not_tried_again_and_the_note_says_why() -> None:
    tries = []

    def build(shape: tuple[int, ...]):
        tries.append(shape)
        raise RuntimeError("This session cannot use the graph capture feature\nmore")

    graphs = CudaGraphs(build, after=1)
    assert graphs.runner((1, 48, 64, 3)) is None
    assert graphs.runner((1, 48, 64, 3)) is None
    assert len(tries) == 1
    assert graphs.note == (
        "CUDA graphs off for 1x48x64x3 (RuntimeError: This session cannot use the graph "
        "capture feature)"
    )


def test_engine_runs_through_the_graph_runner_and_falls_back_when_it_breaks(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    source = tiny_models_dir / "msinet_very_low_fp32.onnx"
    engine = OnnxRuntimeEngine(source, choose_providers("cpu"), EngineOptions())
    assert engine.graphs is None and engine.note == ""  # CPU: no graphs
    calls: list[tuple[int, ...]] = []

    def build(shape: tuple[int, ...]):
        runner = GraphRunner(static_model(source, shape, tmp_path, "e"), shape, CPU, [{}], "cpu")

        def run(batch: np.ndarray) -> np.ndarray:
            calls.append(batch.shape)
            if len(calls) == 2:
                raise RuntimeError("capture failed")
            return runner(batch)

        return run

    engine.graphs = CudaGraphs(build, after=1)
    batch = frames((1, 48, 64, 3), 5)
    want = dynamic_run(source, batch)
    np.testing.assert_allclose(engine.run(batch), want, atol=1e-6)  # through the graph
    np.testing.assert_allclose(engine.run(batch), want, atol=1e-6)  # it broke: plain run
    np.testing.assert_allclose(engine.run(batch), want, atol=1e-6)  # not tried again
    assert len(calls) == 2
    assert engine.note == "CUDA graphs off for 1x48x64x3 (RuntimeError: capture failed)"


def test_environment_and_options_turn_graphs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CUDA_GRAPHS_ENV, raising=False)
    assert cuda_graphs_enabled()
    for value in ("0", "off", "False", "no"):
        monkeypatch.setenv(CUDA_GRAPHS_ENV, value)
        assert not cuda_graphs_enabled()
    assert EngineOptions(cuda_graphs=False).cuda_graphs is False


def test_a_background_build_lets_frames_run_the_plain_way_until_it_is_ready() -> None:
    import threading

    release = threading.Event()

    def build(shape: tuple[int, ...]):
        release.wait(10)
        return lambda batch: batch

    graphs = CudaGraphs(build, after=1, background=True)
    shape = (1, 48, 64, 3)
    assert graphs.runner(shape) is None  # build started, not ready
    assert graphs.runner(shape) is None  # still building: the frame runs plain
    release.set()
    graphs.wait(10)
    assert graphs.runner(shape) is not None
    assert graphs.note == "CUDA graphs on for 1x48x64x3"


def test_a_background_build_that_fails_is_reported_once() -> None:
    def build(shape: tuple[int, ...]):
        raise RuntimeError("no CUDA here")

    graphs = CudaGraphs(build, after=1, background=True)
    assert graphs.runner((2, 48, 64, 3)) is None
    graphs.wait(10)
    assert graphs.runner((2, 48, 64, 3)) is None
    assert graphs.runner((2, 48, 64, 3)) is None
    assert graphs.note == "CUDA graphs off for 2x48x64x3 (RuntimeError: no CUDA here)"


def test_only_the_most_recently_used_copies_are_kept(tmp_path: Path) -> None:
    import os

    from saliency_cam.realtime.runtime.backends.cuda_graph import prune_copies

    for index in range(5):
        path = tmp_path / f"m-1x{index}.onnx"
        path.write_bytes(b"x")
        os.utime(path, (1000 + index, 1000 + index))
    os.utime(tmp_path / "m-1x0.onnx", (2000, 2000))  # the oldest was used again
    removed = prune_copies(tmp_path, keep=3)
    assert sorted(p.name for p in removed) == ["m-1x1.onnx", "m-1x2.onnx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1x0.onnx", "m-1x3.onnx", "m-1x4.onnx"]
