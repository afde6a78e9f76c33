"""Map reuse between frames (``--reuse N``) on real H.264 clips with a real onnxruntime
model whose map follows the picture (the brightness model: the map peaks on the bright
blob wherever it moves), through the video job, the Python API and the live app."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from known_models import register_brightness_model
from media_factory import make_clip

from saliency_cam.realtime.apps.live import LiveOptions, run_live
from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job
from saliency_cam.realtime.pipeline.reuse import MapPropagator
from saliency_cam.realtime.runtime.session import open_session

SIZE = (240, 320)  # h, w


def _scene(seed: int) -> np.ndarray:
    """A blocky texture (the flow needs something to hold on to): dark for scene 0,
    mid-grey for scene 1."""
    rng = np.random.default_rng(seed)
    low, high = (20, 100) if seed == 0 else (90, 170)
    cells = rng.integers(low, high, (SIZE[0] // 8, SIZE[1] // 8, 3)).astype(np.uint8)
    return cv2.resize(cells, SIZE[::-1], interpolation=cv2.INTER_NEAREST)


def _blob_frame(index: int, cut_at: int | None = None) -> np.ndarray:
    """A bright Gaussian blob moving along an ellipse (~8 px per frame) over a static
    scene; from ``cut_at`` on, another scene (a hard cut)."""
    h, w = SIZE
    scene = _scene(1 if cut_at is not None and index >= cut_at else 0)
    angle = index * 0.08
    cx, cy = w / 2 + w / 3 * np.cos(angle), h / 2 + h / 3 * np.sin(angle)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 16.0**2))[..., None]
    return np.clip(scene * (1 - blob) + 250 * blob, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def brightness_session(tmp_path_factory: pytest.TempPathFactory):
    models = tmp_path_factory.mktemp("models")
    register_brightness_model(models, "brightness", (48, 64))
    return open_session("brightness", models_dir=models, device="cpu")


def _peaks_and_kinds(session, clip: Path, out: Path, reuse: int) -> tuple[np.ndarray, list[str]]:
    outputs = VideoOutputs.for_main(out, blend=False, points=1)
    result = run_video_job(session, clip, outputs, VideoStyle(reuse=reuse))
    with open(outputs.points, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == result.frames
    peaks = np.array([[float(r["p1_x"]), float(r["p1_y"])] for r in rows])
    return peaks, [r.get("map", "computed") for r in rows]


def test_reuse_3_keeps_the_peak_on_the_moving_object(brightness_session, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "blob.mp4", SIZE[1], SIZE[0], 45, picture=_blob_frame)
    every, _ = _peaks_and_kinds(brightness_session, clip, tmp_path / "every.mp4", 1)
    reused, kinds = _peaks_and_kinds(brightness_session, clip, tmp_path / "reuse.mp4", 3)
    # the network really ran on fewer frames: one in three here (no cut, little change)
    assert kinds.count("propagated") >= 25 and kinds[0] == "computed"
    assert all(
        "propagated" not in kinds[i : i + 3] or "computed" in kinds[i : i + 3]
        for i in range(len(kinds) - 2)
    )
    distance = np.hypot(*(every - reused).T)
    assert np.mean(distance <= 8.0) >= 0.95, distance.round(1).tolist()
    # the object moves ~8 px a frame: a map left where it was would miss it most frames
    moved = np.hypot(*np.diff(every, axis=0).T)
    assert np.median(moved) > 5.0


def test_the_frame_after_a_hard_cut_is_computed_fresh(tmp_path: Path) -> None:
    import saliency_cam

    models = tmp_path / "models"
    register_brightness_model(models, "brightness", (48, 64))
    cut_at = 10  # --reuse 4: 0, 4, 8 computed as due, 9 propagated, 10 a cut
    clip = make_clip(
        tmp_path / "cut.mp4", SIZE[1], SIZE[0], 16, picture=lambda i: _blob_frame(i, cut_at)
    )
    result = saliency_cam.process_video(
        clip,
        tmp_path / "cut_saliency.mp4",
        quality="brightness",
        models_dir=models,
        device="cpu",
        reuse=4,
        keep_audio=False,
    )
    reuse = result.stats["reuse"]
    assert reuse["cuts"] == [cut_at]
    assert cut_at in reuse["computed_frames"] and cut_at - 1 not in reuse["computed_frames"]
    assert reuse["computed_frames"][:3] == [0, 4, 8]
    assert result.stats["frames_by"] == {
        "computed": len(reuse["computed_frames"]),
        "propagated": 16 - len(reuse["computed_frames"]),
    }


def test_live_reuse_says_which_frames_were_computed(tmp_path: Path) -> None:
    models = tmp_path / "models"
    register_brightness_model(models, "brightness", (48, 64))
    clip = make_clip(tmp_path / "blob.mp4", SIZE[1], SIZE[0], 12, picture=_blob_frame)
    stats = tmp_path / "stats.json"
    huds: list[str] = []

    def on_frame(packet, controls, engine) -> None:
        huds.append(packet.result.kind)

    options = LiveOptions(
        source=str(clip),
        quality="brightness",
        models_dir=models,
        display=False,
        reuse=3,
        stats=stats,
        points=1,
        device="cpu",
        backend="onnxruntime",
    )
    result = run_live(options, on_frame=on_frame)
    document = json.loads(stats.read_text())
    assert document["reuse"]["computed_frames"] == [0, 3, 6, 9]
    assert document["reuse"]["frames_by_map"] == {"computed": 4, "propagated": 8}
    assert [p["map"] for p in document["points"]][:4] == [
        "computed",
        "propagated",
        "propagated",
        "computed",
    ]
    assert huds[:3] == ["computed", "propagated", "propagated"]
    assert result.map_counts["propagated"] == 8


def test_hud_names_the_map_kind() -> None:
    from saliency_cam.realtime.render.hud import HudInfo

    line = HudInfo("high", "CPU", 30.0, 10.0, map_kind="propagated").lines()[0][0]
    assert line.endswith("map propagated")
    assert "map" not in HudInfo("high", "CPU", 30.0, 10.0).lines()[0][0]


def test_propagator_warps_along_the_motion_and_respects_its_rules() -> None:
    """No clip: a textured square moved 6 px right per frame; the propagated map is the
    first map moved along with it (its peak follows), and a new scene recomputes."""
    rng = np.random.default_rng(3)
    texture = rng.integers(0, 255, (60, 60, 3)).astype(np.uint8)

    def picture(shift: int) -> np.ndarray:
        image = np.full((120, 160, 3), 40, np.uint8)
        image[30:90, 20 + shift : 80 + shift] = texture
        return image

    def peak_map(shift: int) -> np.ndarray:
        saliency = np.zeros((120, 160), np.float32)
        saliency[60, 50 + shift] = 1.0
        return cv2.GaussianBlur(saliency, (0, 0), 6)

    calls: list[int] = []
    reuse = MapPropagator(every=4, smooth=0.0)
    for i in range(4):
        step = reuse.step(picture(6 * i), lambda i=i: calls.append(i) or peak_map(6 * i))
        y, x = np.unravel_index(np.argmax(step.map), step.map.shape)
        assert abs(int(x) - (50 + 6 * i)) <= 3 and abs(int(y) - 60) <= 3, (i, x, y)
    assert calls == [0]  # frames 1..3 were all warped
    other = np.random.default_rng(4).integers(0, 255, (120, 160, 3)).astype(np.uint8)
    step = reuse.step(other, lambda: peak_map(0))
    assert step.computed and step.reason == "cut"
    with pytest.raises(ValueError):
        MapPropagator(every=0)


def test_video_cli_reuse_says_what_was_computed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from saliency_cam.realtime.cli.main import main

    models = tmp_path / "models"
    register_brightness_model(models, "brightness", (48, 64))
    clip = make_clip(tmp_path / "cut.mp4", SIZE[1], SIZE[0], 9, picture=lambda i: _blob_frame(i, 5))
    out = tmp_path / "out.mp4"
    args = ["video", str(clip), "-o", str(out), "--model", "brightness", "--reuse", "3"]
    main(
        [*args, "--models-dir", str(models), "--device", "cpu", "--no-progress"] + ["--points", "1"]
    )
    err = capsys.readouterr().err
    # 0 first, 3 due, 5 the cut, 8 due: 4 computed, 5 propagated
    assert "reuse 3: 4 maps computed (1 at cuts), 5 propagated" in err
    assert "network" in err and "flow+warp" in err and "encode" in err
    assert "batch:" not in err  # frame by frame, whatever --batch auto would pick
    with open(tmp_path / "out_points.csv", newline="") as fh:
        kinds = [row["map"] for row in csv.DictReader(fh)]
    assert [i for i, k in enumerate(kinds) if k == "computed"] == [0, 3, 5, 8]
