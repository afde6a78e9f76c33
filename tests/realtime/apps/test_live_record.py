"""``--record-view``: the live recording holds what was asked for (the shown picture by
default, or a view, the clean camera picture, or the map alone), checked on the decoded
file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic_media import read_index, synthetic_source

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.live import LiveOptions, run_live
from saliency_cam.realtime.io.video import iter_frames


def _record(models: Path, path: Path, view: str | None, hud: bool = True) -> list[np.ndarray]:
    options = LiveOptions(
        quality="very_low",
        models_dir=models,
        display=False,
        record=path,
        record_view=view,
        record_hud=hud,
    )
    run_live(options, source=synthetic_source(30, (120, 160), frames=6, live=False))
    return list(iter_frames(path))


def test_clean_recording_is_the_camera_picture(tiny_models_dir: Path, tmp_path: Path) -> None:
    frames = _record(tiny_models_dir, tmp_path / "clean.mp4", "clean")
    pattern = synthetic_source(30, (120, 160), frames=6, live=False)
    originals = [f.image for f in pattern]
    assert [read_index(f) for f in frames] == list(range(6))
    for got, want in zip(frames, originals, strict=True):  # no HUD, no heatmap: only coding loss
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 3


def test_map_recording_is_grey(tiny_models_dir: Path, tmp_path: Path) -> None:
    frames = _record(tiny_models_dir, tmp_path / "map.mp4", "map")
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)
    spread = np.abs(frames[0].astype(int) - frames[0].mean(axis=2, keepdims=True)).max()
    assert spread <= 6  # B = G = R up to chroma rounding


def test_side_recording_and_default(tiny_models_dir: Path, tmp_path: Path) -> None:
    side = _record(tiny_models_dir, tmp_path / "side.mp4", "side", hud=False)
    assert side[0].shape == (120, 320, 3)  # the window showed the overlay; side was asked
    shown = _record(tiny_models_dir, tmp_path / "shown.mp4", None)
    assert shown[0].shape == (120, 160, 3)


def test_unknown_record_view_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SaliencyCamError, match="--record-view"):
        run_live(LiveOptions(models_dir=tmp_path, display=False, record_view="zoom"))
