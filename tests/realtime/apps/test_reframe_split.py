"""``reframe --split-seconds`` with workers: phase 1 computes each keyframe-aligned
piece's saliency maps in parallel, phase 2 reframes the whole file from them. The maps
are exactly the model's, so the output is exactly the unsplit reframe's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scenedetect")

from cli_process import run_main  # noqa: E402
from media_factory import read_clip  # noqa: E402
from subject_media import make_subject_clip  # noqa: E402

from saliency_cam.realtime.apps.batch.index import INDEX_NAME  # noqa: E402

CUT = 40


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A disc that moves, holds, then a hard cut at frame 40; a keyframe every 10 frames."""
    folder = tmp_path_factory.mktemp("split_clip")
    return make_subject_clip(folder / "clip.mp4", 128, 72, 60, cut=CUT, audio=True, gop=10)


def test_stored_piece_maps_are_the_sessions_maps(clip: Path, tiny_models_dir: Path, tmp_path):
    from saliency_cam.realtime.apps.batch.chunks import cut_chunk, plan_chunks
    from saliency_cam.realtime.apps.batch.maps import StoredVideoMaps, video_maps_task
    from saliency_cam.realtime.io.video import iter_frames
    from saliency_cam.realtime.runtime.session import open_session

    session = open_session("very_low", device="cpu", models_dir=tiny_models_dir, threads=1)
    chunks = plan_chunks(clip, 25)
    assert [(c.start, c.stop) for c in chunks] == [(0, 30), (30, 60)]
    pieces = []
    for chunk in chunks:
        piece = cut_chunk(chunk, tmp_path / f"in{chunk.index}.mp4")
        maps = video_maps_task(session, piece, output=tmp_path / f"maps{chunk.index}.npy")
        assert maps.frames == chunk.frames
        assert np.load(maps.path).shape[0] == chunk.frames  # small, at the network's size
        assert np.load(maps.path).shape[1:] == session.input_size_for((72, 128))
        pieces.append((chunk.start, maps))
    stored = StoredVideoMaps(clip, pieces)
    for index, frame in enumerate(iter_frames(clip)):
        assert np.array_equal(stored.at(index), session.predict(frame)), index
    with pytest.raises(Exception, match="no stored map"):
        stored.at(60)


def test_split_reframe_with_workers_equals_unsplit(
    clip: Path, tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [
        *("--aspect", "9:16", "--path-json", "--threads", "1", "-q", "very_low"),
        *("--models-dir", str(tiny_models_dir), "--device", "cpu", "--no-progress"),
    ]
    assert run_main(["reframe", str(clip), "-o", str(tmp_path / "whole")] + common) == 0
    capsys.readouterr()
    split = tmp_path / "split"
    args = ["reframe", str(clip), "-o", str(split), "--workers", "2", "--split-seconds", "1"]
    assert run_main(args + common) == 0
    captured = capsys.readouterr()
    assert "1 done, 0 skipped, 0 failed" in captured.out
    assert "maps in 2 pieces" in captured.err  # the file really went in two phases
    name = "clip_9x16"
    whole_path = json.loads((tmp_path / "whole" / f"{name}.path.json").read_text())
    split_path = json.loads((split / f"{name}.path.json").read_text())
    assert whole_path["cuts"] == [CUT]
    assert split_path == whole_path  # the same windows, cuts and quality figures
    whole, _, _ = read_clip(tmp_path / "whole" / f"{name}.mp4")
    pieces, _, has_audio = read_clip(split / f"{name}.mp4")
    assert len(pieces) == len(whole) == 60 and has_audio
    assert all(np.array_equal(a, b) for a, b in zip(whole, pieces, strict=True))
    # the scratch pieces are gone: only the outputs and the index
    assert sorted(p.name for p in split.iterdir()) == sorted(
        [INDEX_NAME, f"{name}.mp4", f"{name}.path.json"]
    )
