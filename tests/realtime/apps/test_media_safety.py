"""``video`` and ``image`` with bad inputs and signals: variable frame rates keep their
timing and audio, truncated files are failures unless allowed, reruns skip their own
outputs, and SIGTERM/SIGHUP/Ctrl-C keep finished files and leave nothing half-written
(real clips from media_factory, the real CLI in a child process, real signals)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from cli_process import partials, start_cli, stop_cli, wait_for
from media_factory import (
    audio_seconds,
    frame_times,
    make_clip,
    make_image,
    make_vfr_clip,
    read_clip,
    read_index,
)

from saliency_cam.models.atomic import atomic_folder
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.image import plan_image_jobs
from saliency_cam.realtime.apps.video import plan_video_jobs
from saliency_cam.realtime.cli.main import main

#: 40 frames, gaps alternating 33 and 100 ms: 2.56 s to the last frame (a VFR phone clip).
VFR_GAPS = [33, 100] * 19 + [33]


def _run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:  # main exits only for a non-zero status
        return int(exc.code or 0)
    return 0


def _model(models: Path) -> list[str]:
    return ["-q", "very_low", "--models-dir", str(models), "--device", "cpu", "--no-progress"]


def _run_default(args: list[str], models: Path) -> int:
    return _run([*args, *_model(models)])


# ----------------------------------------------------------------- timing


def test_variable_frame_rate_keeps_timing_and_audio_in_sync(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    source = make_vfr_clip(tmp_path / "vfr.mp4", 64, 48, VFR_GAPS, audio=True)
    out = tmp_path / "out.mp4"
    code = _run_default(
        ["video", str(source), "-o", str(out), "--keep-audio", "--alpha", "0"], tiny_models_dir
    )
    assert code == 0
    want, got = frame_times(source), frame_times(out)
    assert len(got) == 40 and got[-1] == pytest.approx(2.56, abs=1e-3)  # not 1.3 s
    assert got == pytest.approx(want, abs=1e-3)  # every frame where it was
    frames, _, has_audio = read_clip(out)
    assert has_audio and [read_index(f) for f in frames] == list(range(40))
    # the audio lasts as long as before, so it ends with the picture
    assert audio_seconds(out) == pytest.approx(audio_seconds(source), abs=2048 / 22050)


# ----------------------------------------------------------------- truncated input


@pytest.fixture()
def truncated_mkv(tmp_path: Path) -> Path:
    full = make_clip(tmp_path / "full.mkv", 64, 48, 40, 25)
    data = full.read_bytes()
    half = tmp_path / "half.mkv"
    half.write_bytes(data[: len(data) // 2])
    full.unlink()
    return half


def test_truncated_video_is_a_failure_that_says_how_much_was_read(
    tiny_models_dir: Path, truncated_mkv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_default(["video", str(truncated_mkv)], tiny_models_dir)
    err = capsys.readouterr().err
    assert code == 1
    assert "ended early" in err and "of the 40 frames it declares were read" in err
    assert "--allow-truncated" in err and "1 of 1 input(s) failed" in err
    written, _, _ = read_clip(truncated_mkv.with_name("half_saliency.mp4"))
    assert 0 < len(written) < 40  # what was there is kept, and said to be incomplete


def test_allow_truncated_accepts_it_with_a_note(
    tiny_models_dir: Path, truncated_mkv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_default(["video", str(truncated_mkv), "--allow-truncated"], tiny_models_dir)
    assert code == 0
    assert "note: the input ended early" in capsys.readouterr().err


def test_complete_mkv_is_not_called_truncated(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = make_clip(tmp_path / "full.mkv", 64, 48, 12, 25)
    assert _run_default(["video", str(clip)], tiny_models_dir) == 0
    assert "ended early" not in capsys.readouterr().err


# ----------------------------------------------------------------- reruns


def test_rerunning_image_on_a_folder_skips_its_own_outputs(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.png"):
        make_image(photos / name, 40, 30)
    first = _run_default(["image", str(photos), "--overlay"], tiny_models_dir)
    assert first == 0
    outputs = sorted(p.name for p in photos.iterdir())
    mtimes = {p.name: p.stat().st_mtime_ns for p in photos.iterdir()}
    capsys.readouterr()

    second = _run_default(["image", str(photos)], tiny_models_dir)
    captured = capsys.readouterr()
    assert second == 0, captured.err
    assert "skipped 4 file(s) this command wrote earlier" in captured.err
    assert "2 image(s)" in captured.out
    assert sorted(p.name for p in photos.iterdir()) == outputs  # no *_saliency_saliency.png
    assert {p.name: p.stat().st_mtime_ns for p in photos.iterdir() if "_" not in p.name} == {
        k: v for k, v in mtimes.items() if "_" not in k
    }


def test_an_output_named_explicitly_is_still_an_input(tmp_path: Path) -> None:
    made = make_image(tmp_path / "x_saliency.png", 20, 20)
    plan = plan_image_jobs([str(made)])
    assert [src for src, _ in plan.jobs] == [made] and plan.skipped == []


def test_rerunning_video_on_a_folder_skips_its_own_outputs(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    make_clip(clips / "a.mp4", 32, 32, 2, 10)
    (clips / "a_saliency.mp4").write_bytes((clips / "a.mp4").read_bytes())  # an earlier run
    plan = plan_video_jobs([str(clips)])
    assert list(plan.jobs) == [clips / "a.mp4"] and plan.skipped == [clips / "a_saliency.mp4"]


def test_rerunning_video_on_a_folder_skips_a_stopped_runs_partial(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    make_clip(clips / "a.mp4", 32, 32, 2, 10)
    partial = clips / "a_saliency.partial.mp4"  # what a stopped run kept
    partial.write_bytes((clips / "a.mp4").read_bytes())
    plan = plan_video_jobs([str(clips)])
    assert list(plan.jobs) == [clips / "a.mp4"] and plan.skipped == [partial]


def test_video_plan_is_a_library_call(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "a.mp4", 32, 32, 2, 10)
    missing = str(tmp_path / "missing.mp4")
    plan = plan_video_jobs([str(clip), missing], tmp_path / "out", maps="png8")
    assert plan.jobs[clip].blend == tmp_path / "out" / "a_saliency.mp4"
    assert plan.jobs[clip].frames_dir == tmp_path / "out" / "a_saliency_maps"
    assert plan.problems == [(str(tmp_path / "missing.mp4"), "no such file or folder")]
    assert plan.total == 2
    with pytest.raises(SaliencyCamError, match="not a video file type"):
        plan_video_jobs([str(clip)], tmp_path / "out.txt")
    with pytest.raises(SaliencyCamError, match="never overwritten"):
        plan_video_jobs([str(clip)], clip)


# ----------------------------------------------------------------- temporary folders


def test_atomic_folder_appears_complete_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "maps"
    with pytest.raises(KeyboardInterrupt), atomic_folder(final) as tmp:
        (tmp / "000000.png").write_bytes(b"x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    final.mkdir()
    (final / "old.png").write_bytes(b"old")
    with atomic_folder(final) as tmp:
        (tmp / "new.png").write_bytes(b"new")
        assert not (final / "new.png").exists()
    assert [p.name for p in final.iterdir()] == ["new.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["maps"]


# ----------------------------------------------------------------- signals


@pytest.mark.parametrize(
    ("signum", "name"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP")]
)
def test_video_signal_keeps_finished_videos_and_the_rest_as_partials(
    tiny_models_dir: Path, tmp_path: Path, signum: int, name: str
) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    make_clip(clips / "a_short.mp4", 64, 48, 3, 25)
    make_clip(clips / "b_long.mp4", 160, 120, 1500, 25)
    process = start_cli(
        ["video", str(clips), "-o", "out", "--maps", "png8", *_model(tiny_models_dir)], tmp_path
    )
    out = tmp_path / "out"

    def maps_being_written() -> bool:
        folders = [p for p in partials(tmp_path) if p.is_dir() and "b_long" in p.name]
        return bool(folders) and len(list(folders[0].iterdir())) >= 5

    wait_for(maps_being_written, process, timeout=240)
    code, _, err = stop_cli(process, signum)

    assert code == 128 + signum, err
    assert f"interrupted ({name}): kept" in err and "a_short_saliency.mp4" in err
    assert "the unfinished b_long.mp4 (" in err and "Traceback" not in err
    assert partials(tmp_path) == []
    kept = sorted(p.name for p in out.iterdir())
    assert kept == [
        "a_short_saliency.mp4",
        "a_short_saliency_maps",
        "b_long_saliency.partial.mp4",
        "b_long_saliency_maps.partial",
    ]
    done = len(list((out / "b_long_saliency_maps.partial").iterdir()))
    assert done >= 5 and len(read_clip(out / "b_long_saliency.partial.mp4")[0]) == done
    assert len(list((out / "a_short_saliency_maps").iterdir())) == 3
    assert len(read_clip(out / "a_short_saliency.mp4")[0]) == 3


def test_image_sigterm_keeps_finished_maps_and_no_temporaries(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(400):
        make_image(photos / f"p{i:03d}.png", 96, 72)
    out = tmp_path / "maps"
    process = start_cli(["image", str(photos), "-o", str(out), *_model(tiny_models_dir)], tmp_path)
    wait_for(lambda: out.is_dir() and len(list(out.glob("*_saliency.png"))) >= 3, process, 240)
    code, _, err = stop_cli(process, signal.SIGTERM)

    assert code == 143, err
    assert "interrupted (SIGTERM): kept" in err and "Traceback" not in err
    assert partials(tmp_path) == []
    written = sorted(out.iterdir())
    assert 3 <= len(written) < 400
    from PIL import Image

    for path in written:  # every kept map is whole
        assert Image.open(path).size == (96, 72)
