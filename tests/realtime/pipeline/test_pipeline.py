"""The capture → process → output pipeline: live sources drop instead of queueing,
ordered sources deliver every frame in order with backpressure, errors surface in the
caller's thread. Frames carry their index in their pixels (``stamp_index``)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from synthetic_media import read_index, synthetic_source

from saliency_cam.models.atomic import write_json
from saliency_cam.models.errors import InputError
from saliency_cam.models.samples import Samples
from saliency_cam.realtime.io.sources import (
    Frame,
    LiveSource,
    SourceInfo,
)
from saliency_cam.realtime.pipeline.stages import EOS, Pipeline
from saliency_cam.realtime.pipeline.stats import FPSMonitor, RunStats


def test_live_source_faster_than_processing_drops_instead_of_queueing() -> None:
    backlog: list[int] = []
    with synthetic_source(100, (64, 160)) as source:

        def process(frame: Frame) -> int:
            # frames the camera produced after this one, at the moment work starts on it
            backlog.append(source.produced - 1 - frame.index)  # type: ignore[attr-defined]
            time.sleep(0.03)  # ~3 camera frames per processed frame
            return read_index(frame.image)

        pipeline = Pipeline(source, process, max_frames=25)
        packets = list(pipeline)

    indices = [p.result for p in packets]
    assert len(indices) == 25
    assert indices == [p.frame.index for p in packets]  # the pixels are the frame's own
    assert all(b > a for a, b in zip(indices, indices[1:], strict=False))
    # always the newest frame: no backlog, so it cannot grow over the run
    assert max(backlog) <= 3, backlog
    stats = pipeline.stats
    assert stats.dropped > 0
    assert stats.dropped == sum(p.frame.skipped for p in packets)
    # every frame up to the last one shown was either shown or counted as dropped
    assert stats.dropped + len(indices) == indices[-1] + 1
    summary = stats.summary()
    assert summary["frames"] == 25
    assert summary["latency_ms"]["count"] == 25
    assert {"wait", "process", "output"} <= set(summary["stages_ms"])


def test_ordered_source_every_frame_in_order_with_backpressure() -> None:
    ahead: list[int] = []
    with synthetic_source(30, (48, 160), frames=40, live=False) as source:

        def process(frame: Frame) -> int:
            ahead.append(source._next_index - frame.index)  # type: ignore[attr-defined]
            return read_index(frame.image)

        results = []
        pipeline = Pipeline(source, process, queue_size=3)
        for packet in pipeline:
            time.sleep(0.003)  # a slow output stage: the reader must wait, not run ahead
            results.append(packet.result)

    assert results == list(range(40))
    assert pipeline.stats.dropped == 0
    assert pipeline.stats.frames == 40
    # bounded: at most inbox + outbox + the frames held by each stage
    assert max(ahead) <= 3 + 3 + 3, max(ahead)
    assert "read" in pipeline.stats.summary()["stages_ms"]


def test_max_frames_stops_reading_early() -> None:
    with synthetic_source(30, (16, 128), frames=100, live=False) as source:
        pipeline = Pipeline(source, lambda f: f.index, max_frames=7)
        assert [p.result for p in pipeline] == list(range(7))
        assert pipeline.get() is EOS


def test_process_error_reaches_the_caller_after_earlier_frames() -> None:
    def process(frame: Frame) -> int:
        if frame.index == 5:
            raise ValueError("broken frame")
        return frame.index

    seen: list[int] = []
    source = synthetic_source(30, (16, 128), frames=20, live=False)
    with source, pytest.raises(ValueError, match="broken frame"):
        for packet in Pipeline(source, process):
            seen.append(packet.result)
    assert seen == [0, 1, 2, 3, 4]


def _blank_info(name: str = "camera 7") -> SourceInfo:
    return SourceInfo(name, "camera", True, 32, 16)


def test_camera_that_stops_delivering_is_one_clear_error() -> None:
    produced = iter(range(6))

    def grab() -> np.ndarray | None:
        n = next(produced, None)
        time.sleep(0.005)
        return None if n is None else np.full((16, 32, 3), n, np.uint8)

    source = LiveSource(grab, _blank_info(), end_is_error=True)
    got: list[int] = []
    with source, pytest.raises(InputError, match="camera 7 stopped delivering frames"):
        for packet in Pipeline(source, lambda f: int(f.image[0, 0, 0])):
            got.append(packet.result)
    assert got and got == sorted(got)


def test_camera_that_hangs_is_reported_after_the_stall_timeout() -> None:
    release = threading.Event()
    calls = iter(range(3))

    def grab() -> np.ndarray | None:
        if next(calls, None) is None:
            release.wait(5)  # a driver call that never returns
            return None
        return np.zeros((16, 32, 3), np.uint8)

    source = LiveSource(grab, _blank_info(), end_is_error=True, stall_timeout=0.3)
    try:
        with pytest.raises(InputError, match="stopped delivering frames"):
            for _ in Pipeline(source, lambda f: f.index):
                pass
    finally:
        release.set()
        source.close()


def test_pause_skips_are_not_counted_as_drops() -> None:
    with synthetic_source(200, (16, 128)) as source:
        pipeline = Pipeline(source, lambda f: f.index)
        with pipeline:
            before = [_next(pipeline) for _ in range(3)]
            pipeline.pause()
            # a packet finished just before the pause may still be waiting
            pipeline.get(timeout=0.05)
            time.sleep(0.3)  # the camera keeps producing ~60 frames
            assert pipeline.get(timeout=0.1) is None  # nothing processed while paused
            pipeline.resume()
            after = _next(pipeline)
    assert after.frame.index > before[-1].frame.index + 20
    assert after.frame.skipped == 0
    assert pipeline.stats.dropped == sum(p.frame.skipped for p in before)


def _next(pipeline: Pipeline[int]):  # type: ignore[no-untyped-def]
    packet = None
    while packet is None:
        packet = pipeline.get(timeout=1.0)
    assert packet is not EOS
    pipeline.done(packet)
    return packet


def test_breaking_out_stops_the_threads() -> None:
    with synthetic_source(100, (16, 128)) as source:
        pipeline = Pipeline(source, lambda f: f.index)
        for packet in pipeline:
            if packet.result >= 2:
                break
        assert all(not t.is_alive() for t in pipeline._threads)
    assert pipeline.stats.frames >= 1


def test_process_can_be_swapped_while_running() -> None:
    with synthetic_source(30, (16, 128), frames=30, live=False) as source:
        pipeline: Pipeline[str] = Pipeline(source, lambda f: "a", label=lambda r: r)
        results = []
        for packet in pipeline:
            results.append(packet.result)
            if len(results) == 10:
                pipeline.process = lambda f: "b"
    assert len(results) == 30
    assert results[0] == "a" and results[-1] == "b"
    switch = results.index("b")
    assert set(results[:switch]) == {"a"} and set(results[switch:]) == {"b"}
    assert pipeline.stats.counts == {"a": switch, "b": 30 - switch}


def test_fps_monitor_and_samples() -> None:
    fps = FPSMonitor(window=5)
    assert fps.fps == 0.0
    for i in range(10):
        fps.tick(i * 0.04)  # 25 FPS, window keeps the last 5
    assert fps.fps == pytest.approx(25.0)
    samples = Samples(limit=1000)
    for ms in range(1, 101):
        samples.add(ms / 1000)
    summary = samples.summary()
    assert summary["count"] == 100 and summary["max"] == pytest.approx(100.0)
    assert summary["p50"] == pytest.approx(50.5) and summary["p95"] == pytest.approx(95.05)
    assert summary["mean"] == pytest.approx(50.5)
    assert Samples().summary() == {"count": 0}


def test_run_stats_accounting_and_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stats = RunStats()
    for i in range(5):
        stats.record(i * 0.1, i * 0.1 + 0.05, {"infer": 0.04}, dropped=2, label="low")
    summary = stats.summary()
    assert (summary["frames"], summary["dropped"]) == (5, 10)
    assert summary["fps"] == pytest.approx(10.0)
    assert summary["latency_ms"]["p50"] == pytest.approx(50.0)
    assert summary["stages_ms"]["infer"]["mean"] == pytest.approx(40.0)
    assert summary["frames_by"] == {"low": 5}
    path = write_json(tmp_path / "s.json", {**summary, "n": np.int64(3)})
    assert json.loads(path.read_text())["n"] == 3


def test_ordered_source_in_batches_keeps_order_and_batch_sizes() -> None:
    sizes: list[int] = []
    with synthetic_source(30, (48, 160), frames=10, live=False) as source:

        def process_batch(frames: list[Frame]) -> list[int]:
            sizes.append(len(frames))
            return [read_index(frame.image) for frame in frames]

        pipeline = Pipeline(source, lambda f: -1, batch=4, process_batch=process_batch)
        results = [packet.result for packet in pipeline]
    assert results == list(range(10))
    assert sizes == [4, 4, 2]
    assert pipeline.stats.frames == 10
    with pytest.raises(ValueError, match="batch"):
        Pipeline(source, lambda f: f, batch=0)
