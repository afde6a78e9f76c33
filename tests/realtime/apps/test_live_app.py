"""The live app, headless: real onnxruntime sessions on the tiny exported (UNTRAINED)
models, real video files, a scripted display standing in for the window's key presses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic_media import read_index, synthetic_source, write_clip

from saliency_cam.models.errors import InputError, ModelNotFoundError, SaliencyCamError
from saliency_cam.realtime.apps.live import Controls, LiveOptions, compose, run_live
from saliency_cam.realtime.cli.main import main
from saliency_cam.realtime.io.recorder import Recorder, fit_into
from saliency_cam.realtime.io.sources import LiveSource, SourceInfo
from saliency_cam.realtime.io.video import VideoInfo, iter_frames
from saliency_cam.realtime.render.hud import HudInfo, draw_hud


class ScriptedDisplay:
    """Stands in for the window: records what is shown, presses keys on cue (``keys``
    maps a count of finished frames, kept in ``frames`` by the test, to a key)."""

    def __init__(self, keys: dict[int, str] | None = None) -> None:
        self.keys = dict(keys or {})
        self.shown: list[np.ndarray] = []
        self.frames = 0
        self.closed = False
        self.was_closed = False

    def show(self, image: np.ndarray) -> None:
        self.shown.append(image.copy())

    def poll_key(self, wait_ms: int = 1) -> int | None:
        key = self.keys.pop(self.frames, None)
        if key is None:
            return None
        return 27 if key == "esc" else ord(key)

    def close(self) -> None:
        self.was_closed = True


def _options(models: Path, **changes: object) -> LiveOptions:
    base = LiveOptions(quality="very_low", models_dir=models, display=False)
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_headless_cli_run_on_a_clip_writes_stats_and_a_playable_recording(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = write_clip(tmp_path / "clip.mp4", 16, size=(240, 320))
    stats_path, record = tmp_path / "s.json", tmp_path / "rec.mp4"
    main(
        ["--source", str(clip), "--no-display", "--max-frames", "12", "--quality", "very-low"]
        + ["--models-dir", str(tiny_models_dir), "--stats", str(stats_path)]
        + ["--record", str(record), "--view", "side"]
        # the provider list checked below is onnxruntime's; --backend auto may measure
        # OpenVINO faster on another machine
        + ["--backend", "onnxruntime"]
    )
    out = capsys.readouterr().out
    assert "12 shown" in out and "UNTRAINED" in out

    stats = json.loads(stats_path.read_text())
    assert stats["frames"] == 12 and stats["dropped"] == 0
    assert stats["ended"] == "max frames reached" and stats["error"] is None
    assert stats["untrained"] is True and stats["model"]["trained"] is False
    assert stats["model"]["quality"] == "very_low"
    assert stats["model"]["input_size"] == [48, 64]
    assert stats["model"]["frames_by_quality"] == {"very_low": 12}
    assert stats["device"]["providers"] == ["CPUExecutionProvider"]
    assert stats["hardware"]["cpu"] and stats["hardware"]["onnxruntime"]
    assert stats["source"]["kind"] == "video" and stats["source"]["width"] == 320
    latency = stats["latency_ms"]
    assert latency["count"] == 12 and 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    stages = stats["stages_ms"]
    for stage in ("read", "preprocess", "infer", "postprocess", "render", "record", "display"):
        assert stages[stage]["count"] == 12, stage
    assert stats["fps"] > 0 and stats["inference_only_fps"] > 0
    assert stats["record"] == {"path": str(record), "frames": 12}

    # the recording: side by side (twice the width), every frame once, in order
    assert VideoInfo.from_path(record).resolution_wh == (640, 240)
    frames = list(iter_frames(record))
    assert [read_index(f[:, :320]) for f in frames] == list(range(12))
    assert not list(tmp_path.glob(".*partial*"))


def test_keys_switch_quality_view_mirror_and_snapshot_without_restarting_capture(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    keys = {3: "2", 6: "v", 8: "v", 9: "m", 10: "s", 12: "3", 20: "q"}
    display = ScriptedDisplay(keys)
    seen: list[tuple[int, str]] = []
    widths: list[int] = []

    def on_frame(packet, controls, engine) -> None:  # type: ignore[no-untyped-def]
        seen.append((read_index(packet.frame.image), packet.result.preset))
        widths.append(display.shown[-1].shape[1])
        display.frames += 1
        engine.wait_until_switched(timeout=60)  # let the background load finish

    source = synthetic_source(30, (120, 160), frames=40, live=False)
    options = _options(tiny_models_dir, snapshot_dir=tmp_path)
    result = run_live(options, display=display, source=source, on_frame=on_frame)

    assert result.ended == "quit key"
    indices = [i for i, _ in seen]
    assert indices == list(range(len(seen))) and len(seen) == 20  # one capture, no gaps
    presets = [p for _, p in seen]
    switch = presets.index("low")
    assert set(presets[:switch]) == {"very_low"} and set(presets[switch:]) == {"low"}
    # pressed after the 3rd picture; frames already in flight (output queue of 4, one
    # in the worker, one being handed over) finish at the old quality
    assert 3 <= switch <= 3 + 4 + 2
    assert result.final_quality == "low"
    assert result.stats.counts == {"very_low": switch, "low": 20 - switch}
    # 3 = medium is not exported here: the run goes on at low and says what to run
    assert any("saliency-cam export --quality medium" in note for note in result.notes)
    # v after frame 6 (heatmap, same size), v after frame 8: side by side, twice as wide
    assert widths[:8] == [160] * 8 and widths[8:] == [320] * 12
    assert display.shown[-1].shape[1] == 320
    pictures = sorted(tmp_path.glob("saliency-cam-*.png"))
    assert len(pictures) == 2 and result.snapshots and result.snapshots[0].exists()
    snap = cv2.imread(str(result.snapshots[0]))
    assert snap.shape == (120, 320, 3)
    assert display.was_closed


def test_live_source_faster_than_inference_counts_drops(tiny_models_dir: Path) -> None:
    with synthetic_source(400, (120, 160)) as source:
        result = run_live(_options(tiny_models_dir, max_frames=15), source=source)
    assert result.stats.frames == 15
    assert result.stats.dropped > 0
    assert result.to_json()["dropped"] == result.stats.dropped
    assert result.source_dropped >= result.stats.dropped


def test_camera_dying_mid_run_still_leaves_a_playable_recording(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    count = iter(range(25))
    pattern = synthetic_source(30, (120, 160), frames=25, live=False)

    def grab() -> np.ndarray | None:
        if next(count, None) is None:
            return None  # unplugged
        time.sleep(0.01)
        frame = pattern.read()
        return None if frame is None else frame.image

    camera = LiveSource(
        grab, SourceInfo("camera 3", "camera", True, 160, 120, 30.0), end_is_error=True
    )
    record, stats_path = tmp_path / "rec.mp4", tmp_path / "s.json"
    options = _options(tiny_models_dir, record=record, stats=stats_path)
    with pytest.raises(InputError, match="camera 3 stopped delivering frames") as caught:
        run_live(options, source=camera)
    assert caught.value.result.ended == "error"  # type: ignore[attr-defined]
    frames = list(iter_frames(record))
    assert len(frames) >= 1 and frames[0].shape == (120, 160, 3)
    assert not list(tmp_path.glob(".*partial*"))
    stats = json.loads(stats_path.read_text())
    assert stats["ended"] == "error" and "stopped delivering" in stats["error"]
    assert stats["frames"] >= 1


def test_missing_camera_is_one_line_and_exit_2(
    tiny_models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(
            [
                "--source",
                "57",
                "--no-display",
                "-q",
                "very_low",
                "--models-dir",
                str(tiny_models_dir),
            ]
        )
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("error: cannot open camera 57")
    assert "Traceback" not in err


def test_no_display_says_to_use_no_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SaliencyCamError, match="run with --no-display"):
        run_live(LiveOptions(models_dir=tmp_path, display=True))


def test_missing_variant_names_the_export_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="saliency-cam export --quality high"):
        run_live(_options(tmp_path, quality="high"))


def test_controls_map_every_key() -> None:
    controls = Controls("medium")
    assert controls.handle(None) is None and controls.handle(ord("x")) is None
    assert controls.handle(ord("q")) == "quit" and controls.handle(27) == "quit"
    for key, name in zip("12345", ("very_low", "low", "medium", "high", "very_high"), strict=True):
        assert controls.handle(ord(key)) == "quality" and controls.quality == name
    assert [controls.handle(ord("v")) and controls.view for _ in range(3)] == [
        "heatmap",
        "side",
        "overlay",
    ]
    assert controls.handle(ord("m")) == "mirror" and controls.mirror
    assert controls.handle(ord(" ")) == "pause" and controls.paused
    assert controls.handle(ord(" ")) == "pause" and not controls.paused
    assert controls.handle(ord("s")) == "snapshot"
    assert controls.handle(ord("S")) == "snapshot"  # caps lock on


def test_mirror_flips_the_composed_picture() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    saliency = rng.random((30, 40), dtype=np.float32)
    plain = compose(image, saliency, Controls("low"), alpha=0.4, colormap=cv2.COLORMAP_JET)
    mirrored = compose(
        image, saliency, Controls("low", mirror=True), alpha=0.4, colormap=cv2.COLORMAP_JET
    )
    assert np.array_equal(mirrored, cv2.flip(plain, 1))


def test_hud_marks_untrained_models_in_red() -> None:
    base = np.full((240, 320, 3), 128, np.uint8)
    trained = draw_hud(base.copy(), HudInfo("high", "CPU", 12.3, 85.0))
    untrained = draw_hud(base.copy(), HudInfo("high", "CPU", 12.3, 85.0, trained=False))

    def red(image: np.ndarray) -> int:
        b, g, r = image[..., 0].astype(int), image[..., 1].astype(int), image[..., 2].astype(int)
        return int(((r > 150) & (r - g > 80) & (r - b > 80)).sum())

    assert red(trained) == 0 and red(untrained) > 50
    assert not np.array_equal(trained[:20, :100], base[:20, :100])  # text drawn
    assert np.array_equal(trained[-20:, -20:], base[-20:, -20:])  # rest untouched
    assert "UNTRAINED" in " ".join(t for t, _ in HudInfo("a", "b", 1, 1, trained=False).lines())


def test_recorder_paces_to_real_time_and_fits_other_sizes(tmp_path: Path) -> None:
    path = tmp_path / "rec.mp4"
    picture = np.full((60, 80, 3), 100, np.uint8)
    with Recorder(path, fps=10, paced=True) as recorder:
        recorder.write(picture, stamp=0.0)  # frame 1
        recorder.write(picture, stamp=0.35)  # due 4 → 3 copies
        recorder.write(picture, stamp=0.36)  # faster than 10 FPS: skipped
        recorder.write(np.zeros((60, 160, 3), np.uint8), stamp=1.0)  # due 11, fitted
        recorder.restart_clock()  # paused for a minute: no 600 copies
        recorder.write(picture, stamp=61.0)
        assert recorder.frames_written == 12
    frames = list(iter_frames(path))
    assert len(frames) == 12 and frames[0].shape == (60, 80, 3)
    assert fit_into(np.zeros((60, 160, 3), np.uint8), (60, 80)).shape == (60, 80, 3)
    fitted = fit_into(np.full((10, 40, 3), 255, np.uint8), (40, 40))
    assert fitted[0].max() == 0 and fitted[20].min() == 255  # letterboxed, centred


def test_recorder_discard_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rec.mp4"
    recorder = Recorder(path, fps=10, paced=False)
    recorder.write(np.zeros((16, 16, 3), np.uint8))
    recorder.discard(RuntimeError("disk gone"))
    assert list(tmp_path.iterdir()) == []


def test_recorder_encoding_error_reaches_the_caller_and_leaves_nothing(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec.mp4", fps=10, paced=False)
    recorder.write(np.zeros((16, 16, 3), np.uint8))
    recorder.write(np.zeros((16, 16, 3), np.float32))  # the encoder thread refuses it
    with pytest.raises(ValueError, match="does not match"):
        for _ in range(50):  # a later write raises it
            recorder.write(np.zeros((16, 16, 3), np.uint8))
            time.sleep(0.01)
    with pytest.raises(ValueError, match="does not match"):
        recorder.close()  # removes the temporary file and says why again
    assert list(tmp_path.iterdir()) == []
