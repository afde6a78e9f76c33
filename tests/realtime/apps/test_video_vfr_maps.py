"""The maps of a variable-frame-rate video keep its timing: the grayscale map video
(``--maps video``) has every frame at its input frame's timestamp (PTS), and the points
CSV gives each frame's own time. (Only the blended video was checked: maps written at a
constant rate went unnoticed.)"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from cli_process import run_main
from media_factory import frame_times, make_vfr_clip, read_clip

#: Alternating 33 ms and 100 ms gaps: a constant-rate writer would end at ~0.9 s, not 1.33 s.
GAPS_MS = [33, 100] * 10


def test_vfr_map_video_and_points_keep_every_frames_timestamp(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    source = make_vfr_clip(tmp_path / "vfr.mp4", 64, 48, GAPS_MS)
    out = tmp_path / "out" / "vfr_saliency.mp4"
    args = ["video", str(source), "-o", str(out), "--no-blend", "--maps", "video"]
    args += ["--points", "1", "-q", "very_low", "--models-dir", str(tiny_models_dir)]
    code = run_main([*args, "--device", "cpu", "--no-progress"])
    assert code == 0
    want = frame_times(source)
    assert len(want) == len(GAPS_MS) + 1 and want[-1] == pytest.approx(1.33, abs=1e-3)
    maps = tmp_path / "out" / "vfr_saliency_map.mp4"
    assert not (tmp_path / "out" / "vfr_saliency.mp4").exists()  # --no-blend
    got = frame_times(maps)
    assert got == pytest.approx(want, abs=1e-3)  # every map where its frame was
    frames, _, _ = read_clip(maps)
    assert len(frames) == len(want)
    with open(tmp_path / "out" / "vfr_saliency_points.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["frame"]) for r in rows] == list(range(len(want)))
    assert [float(r["time_s"]) for r in rows] == pytest.approx(want, abs=1e-3)
