"""Video reading/writing (realtime/video_io.py) and the ``saliency-cam video`` job on
generated clips whose frames carry their index in the pixels."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_factory import (
    audio_codec_of,
    audio_seconds,
    index_frame,
    make_broken_files,
    make_clip,
    read_clip,
    read_index,
)

from saliency_cam.models.errors import InputError, SaliencyCamError
from saliency_cam.realtime.io.video import VideoInfo, VideoSink, iter_frames

# (width, height, frames, fps): odd size, a single frame, high and low and NTSC rates
CLIPS = [
    (853, 480, 6, Fraction(30)),
    (64, 48, 1, Fraction(25)),
    (96, 64, 12, Fraction(120)),
    (81, 47, 5, Fraction(2)),
    (64, 48, 8, Fraction(30000, 1001)),
]


def _ids(clip: tuple) -> str:
    w, h, n, fps = clip
    return f"{w}x{h}-{n}f-{float(fps):.2f}fps"


@pytest.mark.parametrize("clip", CLIPS, ids=_ids)
def test_roundtrip_keeps_size_rate_count_and_order(tmp_path: Path, clip: tuple) -> None:
    width, height, frames, fps = clip
    source = make_clip(tmp_path / "in.mp4", width, height, frames, fps)

    info = VideoInfo.from_path(source)
    assert (info.width, info.height, info.fps, info.total_frames) == (width, height, fps, frames)
    assert not info.has_audio

    decoded = list(iter_frames(source))
    assert [read_index(f) for f in decoded] == list(range(frames))
    assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in decoded)

    out = tmp_path / "out.mp4"
    with VideoSink(out, info) as sink:
        for frame in decoded:
            sink.write_frame(frame)
    assert sink.frames_written == frames
    written, rate, has_audio = read_clip(out)
    assert rate == fps
    assert [read_index(f) for f in written] == list(range(frames))
    assert written[0].shape == (height, width, 3)
    assert not has_audio


def test_frame_count_without_container_count(tmp_path: Path) -> None:
    # Matroska stores no frame count: VideoInfo counts packets instead.
    source = make_clip(tmp_path / "in.mkv", 64, 48, 7, 12)
    assert VideoInfo.from_path(source).total_frames == 7


@pytest.mark.parametrize(
    ("suffix", "codec", "written"),
    [(".mp4", "aac", "aac"), (".mov", "pcm_s16le", "pcm_s16le"), (".mov", "pcm_mulaw", "aac")],
)
def test_audio_copied_when_asked(tmp_path: Path, suffix: str, codec: str, written: str) -> None:
    source = make_clip(tmp_path / f"in{suffix}", 64, 48, 10, 25, audio=True, audio_codec=codec)
    info = VideoInfo.from_path(source)
    assert info.has_audio

    with_audio, without = tmp_path / "with.mp4", tmp_path / "without.mp4"
    for path, audio_from in ((with_audio, source), (without, None)):
        with VideoSink(path, info, audio_from=audio_from) as sink:
            for frame in iter_frames(source):
                sink.write_frame(frame)

    # remuxed as is; only a codec .mp4 cannot hold (µ-law) is re-encoded, to AAC
    assert audio_codec_of(with_audio) == written
    tolerance = 1e-3 if written == codec else 2048 / 22050  # AAC priming + last-frame padding
    assert audio_seconds(with_audio) == pytest.approx(audio_seconds(source), abs=tolerance)
    assert audio_codec_of(without) is None
    frames, _, _ = read_clip(with_audio)
    assert [read_index(f) for f in frames] == list(range(10))


def test_display_rotation_applied(tmp_path: Path) -> None:
    # stored 96×64 landscape, displayed rotated 90° counter-clockwise (portrait)
    source = make_clip(tmp_path / "phone.mp4", 96, 64, 3, 25, rotation=90)
    info = VideoInfo.from_path(source)
    assert (info.width, info.height, info.rotation) == (64, 96, 90)
    frames = list(iter_frames(source))
    assert frames[0].shape == (96, 64, 3)
    # the index bands ran left→right; after a counter-clockwise turn they run bottom→top
    upright = np.rot90(frames[2], k=-1)
    assert read_index(upright) == 2


def test_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "in.mp4", 64, 48, 6, 25, audio=True)
    info = VideoInfo.from_path(source)
    out = tmp_path / "out" / "result.mp4"
    with pytest.raises(RuntimeError, match="boom"), VideoSink(out, info, audio_from=source) as s:
        for i, frame in enumerate(iter_frames(source)):
            if i == 3:
                raise RuntimeError("boom")
            s.write_frame(frame)
    assert list(out.parent.iterdir()) == []


def test_existing_output_untouched_when_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "result.mp4"
    out.write_bytes(b"previous result")
    info = VideoInfo(width=32, height=32, fps=Fraction(10))
    with pytest.raises(KeyboardInterrupt), VideoSink(out, info) as sink:
        sink.write_frame(index_frame(0, 32, 32))
        raise KeyboardInterrupt
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.mp4"]


def test_sink_rejects_wrong_frames_and_types(tmp_path: Path) -> None:
    info = VideoInfo(width=32, height=24, fps=Fraction(10))
    with pytest.raises(SaliencyCamError, match="unsupported video file type"):
        VideoSink(tmp_path / "out.gif", info)
    with (
        pytest.raises(ValueError, match="does not match"),
        VideoSink(tmp_path / "a.mp4", info) as s,
    ):
        s.write_frame(np.zeros((24, 30, 3), np.uint8))
    assert not (tmp_path / "a.mp4").exists()


def test_grayscale_frames_written(tmp_path: Path) -> None:
    info = VideoInfo(width=40, height=30, fps=Fraction(5))
    out = tmp_path / "gray.mp4"
    with VideoSink(out, info) as sink:
        for level in (20, 200):
            sink.write_frame(np.full((30, 40), level, np.uint8))
    frames, _, _ = read_clip(out)
    assert [int(round(f.mean())) for f in frames] == pytest.approx([20, 200], abs=3)


@pytest.mark.parametrize("kind", ["empty_video", "garbage_video"])
def test_broken_video_is_input_error(tmp_path: Path, kind: str) -> None:
    path = make_broken_files(tmp_path)[kind]
    with pytest.raises(InputError, match=path.name):
        VideoInfo.from_path(path)
    with pytest.raises(InputError, match=path.name):
        list(iter_frames(path))


def test_missing_and_folder_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        VideoInfo.from_path(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="folder"):
        VideoInfo.from_path(tmp_path)


# ----------------------------------------------------------------- the video job (real model)


@pytest.fixture(scope="module")
def session(tiny_models_dir: Path):
    from saliency_cam.realtime.runtime.session import open_session

    return open_session("very_low", models_dir=tiny_models_dir, device="cpu")


def test_job_side_view_keeps_every_frame_in_order(tmp_path: Path, session) -> None:
    from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job

    source = make_clip(tmp_path / "in.mp4", 853, 480, 9, 30)
    outputs = VideoOutputs.for_main(tmp_path / "out" / "in_saliency.mp4", maps="video")
    result = run_video_job(session, source, outputs, VideoStyle(view="side"))
    assert result.frames == 9
    frames, rate, _ = read_clip(outputs.blend)
    assert rate == 30 and frames[0].shape == (480, 2 * 853, 3)
    assert [read_index(f[:, :853]) for f in frames] == list(range(9))  # left half: the input
    maps, map_rate, _ = read_clip(outputs.map_video)
    assert len(maps) == 9 and map_rate == 30 and maps[0].shape == (480, 853, 3)
    assert result.outputs == [outputs.blend, outputs.map_video]


@pytest.mark.parametrize("fmt", ["png8", "png16", "npy"])
def test_job_per_frame_maps_match_smoothed_inference(tmp_path: Path, session, fmt: str) -> None:
    from PIL import Image

    from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job
    from saliency_cam.realtime.render.blend import TemporalSmoother

    source = make_clip(tmp_path / "in.mp4", 96, 70, 6, 25)
    outputs = VideoOutputs.for_main(tmp_path / "in_saliency.mp4", blend=False, maps=fmt)
    run_video_job(session, source, outputs, VideoStyle(smooth=0.6))
    assert not (tmp_path / "in_saliency.mp4").exists()
    files = sorted(outputs.frames_dir.iterdir())
    assert [f.stem for f in files] == [f"{i:06d}" for i in range(6)]
    # the same frames through the same model and smoother, one after another
    smoother = TemporalSmoother(0.6)
    expected = [smoother(session.predict(f)).copy() for f in iter_frames(source)]
    for path, want in zip(files, expected, strict=True):
        if fmt == "npy":
            got = np.load(path)
            np.testing.assert_allclose(got, want, atol=1e-6)
        else:
            got = np.asarray(Image.open(path)).astype(np.float64)
            scale = 255.0 if fmt == "png8" else 65535.0
            assert got.shape == (70, 96)
            assert np.abs(got / scale - want).max() <= 0.6 / scale


def test_job_interrupted_keeps_partials_not_final_files(tmp_path: Path, session) -> None:
    from saliency_cam.realtime.apps.video import VideoOutputs, run_video_job

    source = make_clip(tmp_path / "in.mp4", 64, 48, 20, 25, audio=True)
    outputs = VideoOutputs.for_main(tmp_path / "out" / "clip.mp4", maps="video")

    def stop_at(n: int) -> None:
        if n == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        run_video_job(session, source, outputs, keep_audio=True, on_frame=stop_at)
    # nothing under a final name; the five frames done are kept under names that say so
    kept = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert kept == ["clip.partial.mp4", "clip_map.partial.mp4"]
    assert stopped.value.partial.frames == 5
    assert len(read_clip(tmp_path / "out" / "clip.partial.mp4")[0]) == 5


def _run_cli(args: list[str]) -> int:
    from saliency_cam.realtime.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0)


def test_cli_folder_audio_and_bad_inputs(
    tmp_path: Path, tiny_models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    make_clip(folder / "talk.mp4", 80, 60, 10, 25, audio=True)
    make_clip(folder / "quiet.mov", 66, 50, 4, 10)
    broken = make_broken_files(tmp_path / "broken")
    (folder / "garbage.mp4").write_bytes(broken["garbage_video"].read_bytes())
    (folder / "empty.mkv").write_bytes(b"")
    out = tmp_path / "out"
    code = _run_cli(
        ["video", str(folder), "-o", str(out), "-q", "very_low", "--keep-audio", "--alpha", "0"]
        + ["--models-dir", str(tiny_models_dir), "--device", "cpu", "--no-progress"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "garbage.mp4: cannot read video" in captured.err
    assert "empty.mkv: empty file" in captured.err
    assert "2 of 4 input(s) failed" in captured.err
    assert "UNTRAINED" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["quiet_saliency.mp4", "talk_saliency.mp4"]
    frames, rate, has_audio = read_clip(out / "talk_saliency.mp4")
    assert (len(frames), rate, has_audio) == (10, 25, True)
    with av.open(str(out / "talk_saliency.mp4")) as container:  # the file says what made it
        assert "UNTRAINED" in container.metadata.get("comment", "")
    assert [read_index(f) for f in frames] == list(range(10))  # alpha 0: the input itself
    frames, rate, has_audio = read_clip(out / "quiet_saliency.mp4")
    assert (len(frames), rate, has_audio) == (4, 10, False)
    assert frames[0].shape == (50, 66, 3)


def test_cli_refuses_output_equal_to_input(
    tmp_path: Path, tiny_models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_clip(tmp_path / "clip.mp4", 32, 32, 2, 10)
    before = source.read_bytes()
    code = _run_cli(["video", str(source), "-o", str(source), "--models-dir", str(tiny_models_dir)])
    assert code == 2
    assert "never overwritten" in capsys.readouterr().err
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_job_in_batches_gives_the_same_maps_in_order(tmp_path: Path, session) -> None:
    from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job
    from saliency_cam.realtime.render.blend import TemporalSmoother

    assert session.batchable  # the exported graph has a symbolic batch dimension
    source = make_clip(tmp_path / "in.mp4", 96, 54, 7, 25)  # 7 frames: batches 3+3+1
    outputs = VideoOutputs.for_main(tmp_path / "in_saliency.mp4", blend=False, maps="npy")
    calls: list[int] = []
    original = session.infer_batch

    def counting(inputs):
        calls.append(len(inputs))
        return original(inputs)

    session.infer_batch = counting
    try:
        result = run_video_job(session, source, outputs, VideoStyle(smooth=0.5), batch=3)
    finally:
        del session.infer_batch
    assert result.frames == 7 and calls == [3, 3, 1]
    smoother = TemporalSmoother(0.5)
    expected = [smoother(session.predict(f)).copy() for f in iter_frames(source)]
    files = sorted(outputs.frames_dir.iterdir())
    for path, want in zip(files, expected, strict=True):
        np.testing.assert_allclose(np.load(path), want, atol=1e-5)
