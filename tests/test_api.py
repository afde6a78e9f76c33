"""The public API (``import saliency_cam``): what the README's Python example does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_factory import make_clip, make_image

import saliency_cam
from saliency_cam.realtime.cli.main import main


def test_import_is_light_and_names_resolve() -> None:
    # importing the package must not drag in OpenCV/onnxruntime/PyAV (lazy attributes)
    code = (
        "import sys, saliency_cam; "
        "heavy=[m for m in ('cv2','onnxruntime','av','tensorflow') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for name in saliency_cam.__all__:
        assert getattr(saliency_cam, name) is not None
    with pytest.raises(AttributeError):
        _ = saliency_cam.no_such_name


def test_predict_any_size_frame_returns_map_at_that_size(tiny_models_dir: Path) -> None:
    session = saliency_cam.open_session("very_low", device="cpu", models_dir=tiny_models_dir)
    frame = np.random.default_rng(0).integers(0, 255, (123, 301, 3), dtype=np.uint8)
    saliency = session.predict(frame)  # an ordinary photo size, not the preset's 48x64
    assert saliency.shape == (123, 301)
    assert saliency.dtype == np.float32
    assert saliency.min() >= 0.0 and saliency.max() <= 1.0
    picture = saliency_cam.render(frame, saliency, view="side", alpha=0.4)
    assert picture.shape == (123, 602, 3)


def test_api_map_equals_cli_output(tmp_path: Path, tiny_models_dir: Path) -> None:
    photo = make_image(tmp_path / "photo.jpg", 97, 61)
    main(  # returns normally on success
        ["image", str(photo), "-o", str(tmp_path / "out"), "-q", "very_low"]
        + ["--models-dir", str(tiny_models_dir), "--device", "cpu", "--no-progress"]
        + ["--backend", "onnxruntime"]  # the API's default; the CLI's auto may pick OpenVINO
    )
    cli_map = cv2.imread(str(tmp_path / "out" / "photo_saliency.png"), cv2.IMREAD_GRAYSCALE)
    from_path = saliency_cam.predict(photo, "very_low", device="cpu", models_dir=tiny_models_dir)
    from_array = saliency_cam.predict(
        saliency_cam.load_image(photo), "very_low", device="cpu", models_dir=tiny_models_dir
    )
    np.testing.assert_array_equal(from_path, from_array)
    np.testing.assert_array_equal(np.round(from_path * 255).astype(np.uint8), cli_map)


def test_open_source_takes_numpy_arrays() -> None:
    stack = np.zeros((3, 20, 30, 3), np.uint8)
    stack[:, :, :, 1] = np.arange(3)[:, None, None]
    with saliency_cam.open_source(stack) as source:
        frames = list(source)
    assert [int(f.image[0, 0, 1]) for f in frames] == [0, 1, 2]
    assert not source.live
    with saliency_cam.open_source([np.zeros((10, 10), np.uint8)]) as source:
        (only,) = list(source)
    assert only.image.shape == (10, 10, 3)


def test_list_models_reports_exported_and_untrained(tiny_models_dir: Path) -> None:
    entries = {e.name: e for e in saliency_cam.list_models(tiny_models_dir)}
    assert list(entries)[:5] == ["very_low", "low", "medium", "high", "very_high"]
    # exported says what is exported, trained whether its weights are real
    assert entries["very_low"].exported == ("fp32",)
    assert entries["very_low"].trained == {"fp32": False}
    assert entries["very_low"].untrained
    assert entries["medium"].exported == () and entries["medium"].trained == {}
    assert not entries["medium"].untrained
    assert entries["very_high"].size == (240, 320)


def test_process_video_writes_every_frame(tmp_path: Path, tiny_models_dir: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", 64, 48, 6)
    result = saliency_cam.process_video(
        clip, tmp_path / "out.mp4", quality="very_low", device="cpu", models_dir=tiny_models_dir
    )
    assert result.frames == 6
    assert (tmp_path / "out.mp4").stat().st_size > 0
    with pytest.raises(saliency_cam.SaliencyCamError):
        saliency_cam.process_video(clip, clip, quality="very_low", models_dir=tiny_models_dir)


def test_infer_batch_matches_frame_by_frame(tiny_models_dir: Path) -> None:
    session = saliency_cam.open_session("very_low", device="cpu", models_dir=tiny_models_dir)
    inputs = np.random.default_rng(1).integers(0, 255, (3, 48, 64, 3), dtype=np.uint8)
    batched = session.infer_batch(inputs)
    assert batched.shape == (3, 48, 64)
    for item, got in zip(inputs, batched, strict=True):
        np.testing.assert_allclose(got, session.infer(item), atol=1e-6)
    with pytest.raises(ValueError):  # dynamic graphs take any multiple of 8, not 37 rows
        session.infer_batch(inputs[:, :37])
    with pytest.raises(ValueError):
        session.infer_batch(inputs[0])  # one frame, not a stack
