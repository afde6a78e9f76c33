"""Reframing end to end on generated clips (a salient disc that moves, holds, then a
hard cut): shots, path, quality, padding, the CLI with audio, and image crops."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scenedetect")

from cli_process import run_main  # noqa: E402
from media_factory import audio_seconds, make_image, read_clip  # noqa: E402
from subject_media import make_subject_clip, subject_saliency  # noqa: E402

from saliency_cam.realtime.apps.reframe.job import (  # noqa: E402
    ReframeSettings,
    ReframeTarget,
    run_reframe_job,
)
from saliency_cam.realtime.io.images import load_image  # noqa: E402
from saliency_cam.realtime.io.video import VideoInfo  # noqa: E402

CUT = 40


@pytest.fixture(scope="module")
def subject_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("subject")
    return make_subject_clip(folder / "subject.mp4", 192, 108, 60, cut=CUT, audio=True)


def test_crop_follows_the_subject_and_jumps_only_at_the_cut(
    subject_clip: Path, tmp_path: Path
) -> None:
    target = ReframeTarget((9, 16), tmp_path / "out.mp4", tmp_path / "out.path.json")
    result = run_reframe_job(subject_saliency, subject_clip, [target])
    assert result.cuts == [CUT]
    track = result.tracks[0]
    assert track.size == (60, 108)
    quality = track.quality
    assert quality.kept >= 1.5 * quality.kept_centre
    assert quality.kept > 0.8
    path = json.loads((tmp_path / "out.path.json").read_text())
    xs = np.array([f["x"] for f in path["frames"]])
    assert len(xs) == 60 and path["cuts"] == [CUT]
    steps = np.abs(np.diff(xs))
    assert steps[CUT - 1] > 40  # jumps at the cut ...
    assert np.delete(steps, CUT - 1).max() <= 0.5 * 192 / 25 + 1  # ... pans bounded elsewhere
    assert np.ptp(xs[CUT:]) == 0  # the still subject after the cut: a still camera
    assert quality.jitter <= quality.jitter_optimum


def test_padding_when_the_content_is_wider_than_the_target(tmp_path: Path) -> None:
    clip = make_subject_clip(tmp_path / "wide.mp4", 160, 90, 20, cut=None)

    def wide(frame: np.ndarray) -> np.ndarray:  # salient everywhere: nothing fits 9:16
        return np.ones(frame.shape[:2], np.float32)

    target = ReframeTarget((9, 16), tmp_path / "padded.mp4")
    result = run_reframe_job(wide, clip, [target], ReframeSettings(padding=True, pad_style="black"))
    assert result.tracks[0].quality.padded_shots == 1
    frames, _, _ = read_clip(tmp_path / "padded.mp4")
    # the whole frame is letterboxed into 50x90: black bars above and below
    assert frames[10][:10].mean() < 20 and frames[10][-10:].mean() < 20
    assert frames[10][40:50].mean() > 40


def test_cli_reframe_keeps_audio_aspect_and_duration(
    subject_clip: Path, tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = run_main(
        ["reframe", str(subject_clip), "-o", str(out), "--aspect", "9:16", "--aspect", "1:1"]
        + ["--path-json", "--debug-view", "-q", "very_low", "--models-dir", str(tiny_models_dir)]
        + ["--device", "cpu", "--no-progress"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "saliency kept" in captured.out + captured.err
    assert "(centre crop " in captured.out + captured.err  # the baseline it is set against
    source = VideoInfo.from_path(subject_clip)
    for name, (w, h) in {"subject_9x16.mp4": (60, 108), "subject_1x1.mp4": (108, 108)}.items():
        info = VideoInfo.from_path(out / name)
        assert (info.width, info.height) == (w, h)
        assert info.total_frames == source.total_frames
        assert info.has_audio
        assert audio_seconds(out / name) == pytest.approx(audio_seconds(subject_clip), abs=0.1)
    debug = VideoInfo.from_path(out / "subject_9x16_debug.mp4")
    assert (debug.width, debug.height) == (2 * 192, 108)  # frame | saliency
    assert json.loads((out / "subject_1x1.path.json").read_text())["window"] == [108, 108]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_cli_crop_json_and_contact_sheet(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    make_image(photos / "a.jpg", 300, 200)
    make_image(photos / "b.png", 120, 240)
    make_image(photos / "c.png", 44, 44)  # smaller than both sizes: enlarged, and said so
    out = tmp_path / "crops"
    code = run_main(
        ["crop", str(photos), "-o", str(out), "--size", "120x63", "--size", "80x80", "--json"]
        + ["--margin", "0.05", "-q", "very_low", "--models-dir", str(tiny_models_dir)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # the saliency kept is set against a centre crop's, per box and overall
    assert "saliency, centre crop" in captured.out and "(centre crop " in captured.out
    # inside 5 % margins c.png leaves under 40x40 and b.png 108 px across: those crops
    # are enlarged, each said once on stderr with its factor; a.jpg is only shrunk
    warned = re.findall(r"warning: (\w+\.\w+) (\w+): upscaled ([\d.]+)×", captured.err)
    assert sorted((name, size) for name, size, _ in warned) == [
        ("b.png", "120x63"), ("c.png", "120x63"), ("c.png", "80x80"),
    ]  # fmt: skip
    assert float(dict(((n, s), f) for n, s, f in warned)[("b.png", "120x63")]) > 1.0
    assert json.loads((out / "c_crops.json").read_text())["crops"]["80x80"]["upscale"] >= 2.0
    for stem, (width, height) in {"a": (300, 200), "b": (120, 240)}.items():
        boxes = json.loads((out / f"{stem}_crops.json").read_text())
        assert boxes["image_size"] == [width, height]
        for name, (w, h) in {"120x63": (120, 63), "80x80": (80, 80)}.items():
            box = boxes["crops"][name]
            assert abs(box["w"] / box["h"] - w / h) < 0.03
            assert box["x"] >= 0.05 * width - 1 and box["x"] + box["w"] <= 0.95 * width + 1
            ext = ".jpg" if stem == "a" else ".png"
            assert load_image(out / f"{stem}_{name}{ext}").shape[:2] == (h, w)
    sheet = load_image(out / "contact_sheet.png")
    assert sheet.shape[0] >= 2 * 160


def test_portrait_input_to_landscape_moves_the_window_vertically(tmp_path: Path) -> None:
    clip = make_subject_clip(tmp_path / "portrait.mp4", 90, 160, 12, cut=None)
    target = ReframeTarget((16, 9), tmp_path / "wide.mp4", tmp_path / "wide.json")
    result = run_reframe_job(subject_saliency, clip, [target])
    assert result.tracks[0].size == (90, 50)
    plan = json.loads((tmp_path / "wide.json").read_text())
    assert {f["x"] for f in plan["frames"]} == {0}  # full width: only y may move
    info = VideoInfo.from_path(tmp_path / "wide.mp4")
    assert (info.width, info.height, info.total_frames) == (90, 50, 12)
