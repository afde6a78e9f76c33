"""Files in parallel: --workers 2 gives the serial results, the index skips finished
files, a killed run resumes with only the missing files, a bad file is counted in the
exit status; and the same on a real local Ray (2 CPUs: the ``local_ray`` fixture)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_process import run_main  # noqa: E402
from media_factory import make_broken_files, make_clip, make_image

from saliency_cam.realtime.apps.batch.index import INDEX_NAME
from saliency_cam.realtime.io.images import load_image


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    for i, (w, h) in enumerate([(64, 48), (50, 70), (90, 40)]):
        make_image(folder / f"p{i}.png", w, h)
    return folder


def _maps(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: load_image(p) for p in sorted(folder.glob("*_saliency.png"))}


def _common(models: Path, backend: bool = True) -> list[str]:
    # the serial run and the workers must use the same backend: --backend auto might
    # measure OpenVINO faster on another machine (reframe defaults to onnxruntime)
    chosen = ["--backend", "onnxruntime"] if backend else []
    return [
        "-q",
        "very_low",
        "--models-dir",
        str(models),
        "--device",
        "cpu",
        "--no-progress",
    ] + chosen


def test_workers_equal_serial_and_rerun_skips(
    photos: Path, tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert (
        run_main(
            ["image", str(photos), "-o", str(serial), "--threads", "1"] + _common(tiny_models_dir)
        )
        == 0
    )
    args = ["image", str(photos), "-o", str(parallel), "--workers", "2", "--threads", "1"]
    assert run_main(args + _common(tiny_models_dir)) == 0
    first, second = _maps(serial), _maps(parallel)
    assert sorted(first) == sorted(second) and len(first) == 3
    for name in first:
        assert np.abs(first[name].astype(int) - second[name].astype(int)).max() <= 1
    assert (parallel / INDEX_NAME).exists()
    capsys.readouterr()
    stamp = (parallel / "p0_saliency.png").stat().st_mtime_ns
    assert run_main(args + _common(tiny_models_dir)) == 0
    assert "0 done, 3 skipped, 0 failed" in capsys.readouterr().out
    assert (parallel / "p0_saliency.png").stat().st_mtime_ns == stamp


def test_bad_files_are_reported_and_counted_in_the_exit_status(
    photos: Path, tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for p in photos.iterdir():
        (mixed / p.name).write_bytes(p.read_bytes())
    broken = make_broken_files(tmp_path / "broken")
    (mixed / "garbage.jpg").write_bytes(broken["garbage_image"].read_bytes())
    (mixed / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    code = run_main(
        ["image", str(mixed), "-o", str(out), "--workers", "2", "--threads", "1"]
        + _common(tiny_models_dir)
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "garbage.jpg" in captured.err and "empty.png" in captured.err
    assert "3 done, 0 skipped, 2 failed" in captured.out
    assert len(_maps(out)) == 3


def test_killed_run_resumes_with_only_the_missing_files(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(3):
        make_clip(clips / f"c{i}.mp4", 64, 48, 30, 25)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "saliency_cam.realtime.cli.main",
        "video",
        str(clips),
        "-o",
        str(out),
        "--workers",
        "1",
        "--threads",
        "1",
    ] + _common(tiny_models_dir)
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    index = out / INDEX_NAME
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if index.exists() and index.read_text().count("\n") >= 1:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its worker, mid-run
    process.wait()
    finished = index.read_text().count("\n")
    assert finished >= 1
    done_before = {p.name: p.stat().st_mtime_ns for p in out.glob("c*.mp4")}
    # nothing half-written under a final name: every final name is a finished file
    assert set(done_before) == {Path(line).name for line in _index_outputs(index)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"{3 - finished} done, {finished} skipped, 0 failed" in result.stdout
    assert sorted(p.name for p in out.glob("c*.mp4")) == [f"c{i}_saliency.mp4" for i in range(3)]
    for name, stamp in done_before.items():  # finished files were not redone
        assert (out / name).stat().st_mtime_ns == stamp


def test_real_local_ray_runs_skips_and_reports(
    local_ray, tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("scenedetect")
    from subject_media import make_subject_clip

    clips = tmp_path / "clips"
    clips.mkdir()
    make_subject_clip(clips / "a.mp4", 96, 54, 20, cut=None, audio=True)
    make_subject_clip(clips / "b.mp4", 96, 54, 16, cut=None, seed=1)
    (clips / "bad.mp4").write_bytes(b"not a video at all" * 10)
    serial, remote = tmp_path / "serial", tmp_path / "ray"
    common = ["--aspect", "1:1", "--threads", "1"] + _common(tiny_models_dir, backend=False)
    assert (
        run_main(
            ["reframe", str(clips / "a.mp4"), str(clips / "b.mp4"), "-o", str(serial)] + common
        )
        == 0
    )
    capsys.readouterr()
    code = run_main(["reframe", str(clips), "-o", str(remote), "--ray", "auto"] + common)
    captured = capsys.readouterr()
    assert code == 1, captured.err  # one bad file
    assert "bad.mp4" in captured.err and "2 done, 0 skipped, 1 failed" in captured.out
    for name in ("a_1x1.mp4", "b_1x1.mp4"):
        got, _, audio = _read(remote / name)
        want, _, _ = _read(serial / name)
        assert len(got) == len(want) and got[0].shape == want[0].shape == (54, 54, 3)
        assert (
            max(np.abs(g.astype(int) - w.astype(int)).max() for g, w in zip(got, want, strict=True))
            <= 2
        )
    assert _read(remote / "a_1x1.mp4")[2]  # audio kept
    code = run_main(["reframe", str(clips), "-o", str(remote), "--ray", "auto"] + common)
    assert code == 1
    assert "0 done, 2 skipped, 1 failed" in capsys.readouterr().out


def _read(path: Path):
    from media_factory import read_clip

    return read_clip(path)


def _index_outputs(index: Path) -> list[str]:
    import json

    return [o for line in index.read_text().splitlines() for o in json.loads(line)["outputs"]]


def test_pieces_cut_at_keyframes_join_losslessly(tmp_path: Path) -> None:
    from fractions import Fraction

    from subject_media import make_subject_clip

    from saliency_cam.realtime.apps.batch.chunks import cut_chunk, join_chunks, plan_chunks
    from saliency_cam.realtime.io.video import VideoInfo, VideoSink, iter_frames

    source = make_subject_clip(tmp_path / "src.mp4", 64, 48, 50, cut=None, audio=True, gop=10)
    chunks = plan_chunks(source, 15)
    assert [(c.start, c.stop) for c in chunks] == [(0, 20), (20, 50)]
    original = list(iter_frames(source))
    outputs = []
    for chunk in chunks:
        piece = cut_chunk(chunk, tmp_path / f"in{chunk.index}.mp4")
        frames = list(iter_frames(piece))  # stream copy: the very same decoded pictures
        assert all(
            np.array_equal(a, b)
            for a, b in zip(frames, original[chunk.start : chunk.stop], strict=True)
        )
        out = tmp_path / f"out{chunk.index}.mp4"
        with VideoSink(out, VideoInfo.from_path(piece)) as sink:
            for frame in frames:
                sink.write_frame(255 - frame)
        outputs.append(out)
    joined = join_chunks(outputs, tmp_path / "joined.mp4", Fraction(25), source)
    pieces = [f for out in outputs for f in iter_frames(out)]
    whole = list(iter_frames(joined))
    assert len(whole) == 50
    assert all(np.array_equal(a, b) for a, b in zip(whole, pieces, strict=True))  # lossless
    info = VideoInfo.from_path(joined)
    assert info.has_audio and info.total_frames == 50


def test_cli_split_long_video_equals_whole(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from media_factory import audio_seconds
    from subject_media import make_subject_clip

    source = make_subject_clip(tmp_path / "long.mp4", 64, 48, 60, cut=None, audio=True, gop=10)
    common = ["--keep-audio", "--threads", "1"] + _common(tiny_models_dir)
    assert run_main(["video", str(source), "-o", str(tmp_path / "whole.mp4")] + common) == 0
    split = tmp_path / "out" / "split.mp4"
    args = ["video", str(source), "-o", str(split), "--workers", "2", "--split-seconds", "1"]
    assert run_main(args + common) == 0
    assert "1 done, 0 skipped, 0 failed" in capsys.readouterr().out
    whole, _, _ = _read(tmp_path / "whole.mp4")
    pieces, _, has_audio = _read(split)
    assert len(pieces) == len(whole) == 60 and has_audio
    diff = [
        np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(whole, pieces, strict=True)
    ]
    # the same maps; only the encodes differ: the pieces are independent x264 runs (rate
    # control restarts per piece), whose difference on a 64x48 clip with the UNTRAINED
    # label's sharp text reaches ~3 grey levels on some frames
    assert float(np.mean(diff)) < 2.5
    assert max(diff) < 4.0
    assert audio_seconds(split) == pytest.approx(audio_seconds(source), abs=0.05)
    assert sorted(p.name for p in split.parent.iterdir()) == [INDEX_NAME, "split.mp4"]
