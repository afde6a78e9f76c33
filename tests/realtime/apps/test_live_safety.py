"""The live app never writes over what it reads, and SIGTERM/SIGHUP stop it as cleanly as
Ctrl-C: a real child process, a real signal, a playable recording, stats written, no
temporaries left, one line saying what was kept."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path

import pytest
from cli_process import partials, start_cli, stop_cli, wait_for
from media_factory import make_clip, make_image

from saliency_cam.realtime.apps.interrupt import StopRequest
from saliency_cam.realtime.apps.live import LiveOptions, run_live
from saliency_cam.realtime.cli.main import main
from saliency_cam.realtime.io.video import iter_frames


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


def _live(models: Path, *args: str) -> list[str]:
    return ["--no-display", "-q", "very_low", "--models-dir", str(models), *args]


@pytest.mark.parametrize(
    ("flag", "target"),
    [
        ("--record", "x.mp4"),
        ("--stats", "x.mp4"),
        ("--record", "./x.mp4"),  # the same file, spelt differently
        ("--stats", "link.mp4"),  # a symlink to the input
    ],
)
def test_live_refuses_to_write_over_its_input_video(
    tiny_models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flag: str,
    target: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    clip = make_clip(tmp_path / "x.mp4", 64, 48, 6)
    (tmp_path / "link.mp4").symlink_to(clip)
    before = _digest(clip)
    with pytest.raises(SystemExit) as caught:
        main(_live(tiny_models_dir, "-s", "x.mp4", flag, target, "--max-frames", "3"))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "is the input" in err and flag in err and "Traceback" not in err
    assert _digest(clip) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.mp4", "x.mp4"]


def test_live_refuses_to_write_over_an_image_of_its_source_folder(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    image = make_image(photos / "a.png", 64, 48)
    before = _digest(image)
    with pytest.raises(SystemExit) as caught:
        main(_live(tiny_models_dir, "-s", str(photos), "--stats", str(image)))
    assert caught.value.code == 2
    assert "is the input" in capsys.readouterr().err
    assert _digest(image) == before


def test_record_and_stats_on_the_same_file_refused(tiny_models_dir: Path, tmp_path: Path) -> None:
    same = tmp_path / "out.mp4"
    options = LiveOptions(
        source="synthetic", quality="very_low", models_dir=tiny_models_dir, display=False
    )
    options.record, options.stats = same, tmp_path / "." / "out.mp4"
    with pytest.raises(Exception, match="same file"):
        run_live(options)
    assert not same.exists()


def test_stop_request_finishes_the_frame_and_keeps_the_recording(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    record, stats = tmp_path / "r.mp4", tmp_path / "s.json"
    options = LiveOptions(
        source="synthetic:30",
        quality="very_low",
        models_dir=tiny_models_dir,
        display=False,
        record=record,
        stats=stats,
    )
    stop = StopRequest()
    shown: list[int] = []

    def on_frame(packet, controls, engine) -> None:  # type: ignore[no-untyped-def]
        shown.append(packet.frame.index)
        if len(shown) == 5:
            stop.request(signal.SIGTERM)  # what the SIGTERM handler does

    result = run_live(options, on_frame=on_frame, stop=stop)
    assert result.interrupted == signal.SIGTERM and result.ended == "interrupted (SIGTERM)"
    assert len(shown) == 5 and result.stats.frames == 5  # stopped right after that frame
    # the recording is kept, playable, and holds what the run says it wrote; live
    # recording paces frames on the clock, so under load one of the 5 may be merged
    written = len(list(iter_frames(record)))
    assert result.recorded == record and written == result.recorded_frames >= 4
    assert json.loads(stats.read_text())["interrupted_by"] == "SIGTERM"
    assert result.interrupted_line().startswith("interrupted (SIGTERM): kept ")


@pytest.mark.parametrize(
    ("signum", "name"),
    [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"), (signal.SIGINT, "Ctrl-C")],
)
def test_signal_keeps_recording_and_stats_and_leaves_no_temporaries(
    tiny_models_dir: Path, tmp_path: Path, signum: int, name: str
) -> None:
    args = _live(tiny_models_dir, "-s", "synthetic:15", "--record", "r.mp4", "--stats", "s.json")
    process = start_cli(args, tmp_path)
    # the recording opens (as a hidden temporary) with the first frame; let a few follow
    wait_for(lambda: bool(partials(tmp_path)), process, timeout=180)
    wait_for(lambda: _size(partials(tmp_path)) > 0, process, timeout=60)
    code, out, err = stop_cli(process, signum)

    assert code == 128 + signum, err
    assert f"interrupted ({name}): kept r.mp4" in err and "s.json" in err
    assert "Traceback" not in err
    assert partials(tmp_path) == []
    frames = list(iter_frames(tmp_path / "r.mp4"))  # renamed and playable
    assert len(frames) >= 1 and frames[0].shape == (480, 640, 3)
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["ended"] == f"interrupted ({name})" and stats["interrupted_by"] == name
    assert stats["frames"] >= 1 and stats["record"]["frames"] == len(frames)
    assert f"interrupted ({name})" in out  # the summary still prints
