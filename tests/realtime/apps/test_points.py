"""``--points K``: the top fixation points (peaks after non-maximum suppression) and the
centroid, checked on maps small enough to work out by hand, then in the image, video
and live outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from media_factory import make_clip, make_image
from synthetic_media import synthetic_source

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.image import ImageOutputs, process_image
from saliency_cam.realtime.apps.live import LiveOptions, run_live
from saliency_cam.realtime.apps.points import csv_header, fixation_points
from saliency_cam.realtime.apps.video import VideoOutputs, run_video_job
from saliency_cam.realtime.io.images import load_image


def test_peaks_by_hand() -> None:
    m = np.zeros((50, 100), np.float32)
    m[10, 20], m[10, 22] = 1.0, 0.9  # 0.9 sits inside the first peak's radius: suppressed
    m[40, 80] = 0.5
    found = fixation_points(m, 3, radius=5)
    assert [(p.x, p.y, p.saliency) for p in found.points] == [
        (20, 10, 1.0),
        (80, 40, 0.5),
    ]  # only two peaks left: no third point is made up
    # centroid: (20*1 + 22*0.9 + 80*0.5) / 2.4, (10*1 + 10*0.9 + 40*0.5) / 2.4
    assert found.centroid == pytest.approx((79.8 / 2.4, 39 / 2.4))
    assert fixation_points(np.zeros((4, 6), np.float32), 2).points == []
    assert fixation_points(np.zeros((4, 6), np.float32), 2).centroid == (2.5, 1.5)
    assert fixation_points(m, 3, radius=1).points[1].x == 22  # a small radius keeps it
    header = csv_header(2)
    assert header[:4] == ["frame", "time_s", "centroid_x", "centroid_y"]
    assert len(header) == 4 + 6 and len(found.csv_cells(2)) == 2 + 6


@pytest.fixture(scope="module")
def session(tiny_models_dir: Path):
    from saliency_cam.realtime.runtime.session import open_session

    return open_session("very_low", models_dir=tiny_models_dir, device="cpu")


def test_image_points_json(tmp_path: Path, session) -> None:
    source = make_image(tmp_path / "a.png", 90, 60)
    outputs = ImageOutputs.beside(tmp_path / "a", points=3)
    result = process_image(session, source, outputs)
    assert outputs.points in result.outputs
    doc = json.loads(outputs.points.read_text())
    assert (doc["width"], doc["height"]) == (90, 60) and 1 <= len(doc["points"]) <= 3
    saliency = session.predict(load_image(source))
    y, x = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
    assert (doc["points"][0]["x"], doc["points"][0]["y"]) == (x, y)
    assert doc["points"][0]["saliency"] == pytest.approx(float(saliency.max()), abs=1e-5)


def test_video_points_csv_has_a_row_per_frame(tmp_path: Path, session) -> None:
    source = make_clip(tmp_path / "c.mp4", 64, 48, 5, 25)
    outputs = VideoOutputs.for_main(tmp_path / "c_saliency.mp4", blend=False, points=2)
    run_video_job(session, source, outputs)
    rows = list(csv.reader(outputs.points.open()))
    assert rows[0] == csv_header(2) and [r[0] for r in rows[1:]] == ["0", "1", "2", "3", "4"]
    assert float(rows[2][1]) == pytest.approx(0.04)
    assert not (tmp_path / "c_saliency.mp4").exists()


def test_live_points_go_into_stats(tiny_models_dir: Path, tmp_path: Path) -> None:
    stats = tmp_path / "s.json"
    options = LiveOptions(
        quality="very_low", models_dir=tiny_models_dir, display=False, stats=stats, points=2
    )
    run_live(options, source=synthetic_source(30, (60, 80), frames=4, live=False))
    points = json.loads(stats.read_text())["points"]
    assert [p["frame"] for p in points] == [0, 1, 2, 3]
    assert all(1 <= len(p["points"]) <= 2 and "centroid" in p for p in points)
    options.stats = None
    with pytest.raises(SaliencyCamError, match="--stats"):
        run_live(options, source=synthetic_source(30, (60, 80), frames=1, live=False))
