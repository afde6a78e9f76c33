"""Every session option the serial path honours reaches the sessions opened inside
``--workers`` workers (one :class:`SessionOptions` object): ``--letterbox`` gives the
serial ``--letterbox`` bytes, ``--backend`` is the backend the worker really ran."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_process import run_main  # noqa: E402
from media_factory import make_image

from saliency_cam.realtime.apps.batch.runner import (
    LocalRunner,
    ModelSpec,
    SessionOptions,
    run_batch,
)


def _common(models: Path) -> list[str]:
    return ["-q", "very_low", "--models-dir", str(models), "--device", "cpu", "--no-progress"]


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*_saliency.*"))}


def test_workers_letterbox_equals_serial_letterbox_bytes(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    make_image(photos / "wide.png", 128, 72)  # 16:9: letterbox and aspect matching differ
    make_image(photos / "tall.png", 54, 96)
    common = ["--npy", "--threads", "1", "--backend", "onnxruntime"] + _common(tiny_models_dir)
    runs = {
        "serial_lb": ["--letterbox"],
        "workers_lb": ["--letterbox", "--workers", "2"],
        "workers_match": ["--workers", "2"],
    }
    for name, extra in runs.items():
        assert run_main(["image", str(photos), "-o", str(tmp_path / name)] + extra + common) == 0
    serial = _outputs(tmp_path / "serial_lb")
    workers = _outputs(tmp_path / "workers_lb")
    matched = _outputs(tmp_path / "workers_match")
    assert sorted(serial) == ["tall_saliency.npy", "tall_saliency.png"] + [
        "wide_saliency.npy",
        "wide_saliency.png",
    ]
    assert workers == serial  # byte for byte: PNGs and float maps
    # ... and the option did something: without it the 16:9 picture's map differs
    assert matched["wide_saliency.npy"] != serial["wide_saliency.npy"]


def test_worker_sessions_report_the_options_they_opened_with(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    from functools import partial

    from saliency_cam.realtime.apps.batch.runner import FileTask

    source = make_image(tmp_path / "wide.png", 128, 72)
    options = SessionOptions("cpu", 1, "onnxruntime", "letterbox", "throughput")
    spec = ModelSpec.resolve("very_low", "fp32", options, tiny_models_dir)
    task = FileTask(source, (), partial(_describe_session))
    report = run_batch([task], LocalRunner(spec, workers=1), kind="test", index_path=None)
    (outcome,) = report.outcomes
    assert outcome.ok, outcome.error
    assert outcome.result["backend"] == "onnxruntime"
    assert outcome.result["aspect"] == "letterbox"
    assert outcome.session.startswith("onnxruntime (CPUExecutionProvider), letterbox")


def _describe_session(session, source: Path) -> dict[str, object]:
    return session.describe()


def test_workers_run_the_backend_asked_for_openvino(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("openvino")
    photos = tmp_path / "photos"
    photos.mkdir()
    make_image(photos / "wide.png", 128, 72)
    common = ["--npy", "--threads", "1", "--backend", "openvino"] + _common(tiny_models_dir)
    common = [a if a != "cpu" else "CPU" for a in common]
    assert run_main(["image", str(photos), "-o", str(tmp_path / "serial")] + common) == 0
    capsys.readouterr()
    args = ["image", str(photos), "-o", str(tmp_path / "workers"), "--workers", "1"]
    assert run_main(args + common) == 0
    assert "openvino" in capsys.readouterr().out  # the summary names the workers' backend
    assert _outputs(tmp_path / "workers") == _outputs(tmp_path / "serial")
    # the worker session really is OpenVINO
    spec = ModelSpec.resolve(
        "very_low", "fp32", SessionOptions("CPU", 1, "openvino"), tiny_models_dir
    )
    assert spec.open().backend == "openvino"


def test_video_workers_get_the_batch_option(tmp_path: Path) -> None:
    """``--batch`` reaches the workers' video jobs: a number as is, ``auto`` as None
    (each worker's session then picks by its device, as the serial run does)."""
    from saliency_cam.realtime.apps.media_jobs import video_task
    from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle
    from saliency_cam.realtime.cli.options import parse_batch

    outputs = VideoOutputs(blend=tmp_path / "a_saliency.mp4")
    for value, expected in (("4", 4), ("auto", None)):
        make = video_task(VideoStyle(), batch=parse_batch(value))
        task = make(tmp_path / "a.mp4", outputs, "note")
        assert task.work.keywords["batch"] == expected
    with pytest.raises(Exception, match="--batch"):
        parse_batch("lots")


def test_ray_worker_session_cache_keeps_options_apart(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    """A Ray worker process outlives its tasks and caches its session; two commands in one
    driver asking for the same model with different options get their own sessions.
    (The task body runs here, in-process: the model is on a shared path, so the object
    store bundle is never read.)"""
    from functools import partial

    from saliency_cam.realtime.apps.batch import runner
    from saliency_cam.realtime.apps.batch.runner import FileTask

    source = make_image(tmp_path / "wide.png", 128, 72)
    task = FileTask(source, (), partial(_describe_session))
    seen = []
    for aspect in ("match", "letterbox"):
        options = SessionOptions("cpu", 1, "onnxruntime", aspect, "latency")
        spec = ModelSpec.resolve("very_low", "fp32", options, tiny_models_dir)
        outcome = runner._run_ray_task(spec, [None], task)
        assert outcome.ok, outcome.error
        seen.append(outcome.result["aspect"])
    runner._RAY_SESSIONS.clear()
    assert seen == ["match", "letterbox"]
