"""``saliency-cam image``: maps at each picture's own size, EXIF orientation, odd modes,
bad files reported while good ones succeed, inputs never overwritten."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media_factory import make_broken_files, make_image
from PIL import Image

from saliency_cam.models.errors import InputError
from saliency_cam.realtime.apps.image import (
    ImageOutputs,
    ImageStyle,
    process_image,
    process_images,
    write_png,
)
from saliency_cam.realtime.cli.main import main
from saliency_cam.realtime.io.images import load_image
from saliency_cam.realtime.io.inputs import (
    expand_inputs,
    output_stems,
    plan_outputs,
    refuse_overwriting_inputs,
)
from saliency_cam.realtime.render.blend import to_uint8
from saliency_cam.realtime.runtime.letterbox import PAD_VALUE
from saliency_cam.realtime.runtime.session import open_session


@pytest.fixture(scope="module")
def session(tiny_models_dir: Path):
    return open_session("very_low", models_dir=tiny_models_dir, device="cpu")


def _marker_corner(image: np.ndarray) -> str:
    """Which quarter holds the bright square make_image draws top-left."""
    h, w = image.shape[:2]
    gray = image.mean(axis=2) if image.ndim == 3 else image
    corners = {
        "top-left": gray[: h // 5, : w // 5],
        "top-right": gray[: h // 5, w - w // 5 :],
        "bottom-left": gray[h - h // 5 :, : w // 5],
        "bottom-right": gray[h - h // 5 :, w - w // 5 :],
    }
    return max(corners, key=lambda k: float(corners[k].mean()))


# ----------------------------------------------------------------- reading (no model)


@pytest.mark.parametrize(
    ("orientation", "shape", "corner"),
    [
        (1, (60, 90), "top-left"),
        (3, (60, 90), "bottom-right"),  # rotated 180°
        (6, (90, 60), "top-right"),  # stored rotated: turn 90° clockwise to view
        (8, (90, 60), "bottom-left"),  # turn 90° counter-clockwise to view
    ],
)
def test_exif_orientation_applied(
    tmp_path: Path, orientation: int, shape: tuple[int, int], corner: str
) -> None:
    path = make_image(tmp_path / "photo.jpg", 90, 60, orientation=orientation)
    image = load_image(path)
    assert image.shape == (*shape, 3)
    assert _marker_corner(image) == corner


def test_modes_become_bgr_uint8(tmp_path: Path) -> None:
    for mode in ("L", "RGB", "RGBA", "LA", "P", "I;16"):
        image = load_image(make_image(tmp_path / f"m_{mode.replace(';', '')}.png", 41, 23, mode))
        assert image.shape == (23, 41, 3) and image.dtype == np.uint8, mode
        # the bright marker survives every conversion, and 16-bit data is scaled, not clipped
        assert image[2, 2].mean() > 180, mode
        assert 30 < image[20, 20].mean() < 120, mode


def test_transparent_pixels_become_neutral_grey(tmp_path: Path) -> None:
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = 255  # red, but fully transparent on the right half
    rgba[:, :6, 3] = 255
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)
    image = load_image(path)
    assert tuple(image[5, 2]) == (0, 0, 255)  # opaque red, in BGR
    assert tuple(image[5, 10]) == (PAD_VALUE,) * 3


def test_sixteen_bit_colour_png(tmp_path: Path) -> None:
    import cv2

    data = np.zeros((8, 8, 3), np.uint16)
    data[..., 2] = 0x8000  # half-scale red (OpenCV writes BGR)
    path = tmp_path / "rgb16.png"
    cv2.imwrite(str(path), data)
    image = load_image(path)
    assert image.dtype == np.uint8
    assert abs(int(image[4, 4, 2]) - 128) <= 1 and image[4, 4, :2].max() == 0


@pytest.mark.parametrize("kind", ["empty_image", "garbage_image"])
def test_broken_images_raise_input_error(tmp_path: Path, kind: str) -> None:
    path = make_broken_files(tmp_path)[kind]
    with pytest.raises(InputError, match=path.name):
        load_image(path)


def test_truncated_image_is_input_error(tmp_path: Path) -> None:
    good = make_image(tmp_path / "whole.png", 200, 150)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError, match="cut.png"):
        load_image(cut)


def test_write_png_failure_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "map.png"
    with pytest.raises(ValueError):
        write_png(target, np.zeros((4, 4), np.float64))
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- inputs and names


def test_expand_files_folders_globs(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("img10.jpg", "img2.jpg", "notes.txt", ".hidden.jpg"):
        (folder / name).write_bytes(b"x")
    (tmp_path / "single.png").write_bytes(b"x")
    found = expand_inputs(
        [str(folder), str(tmp_path / "*.png"), str(folder / "img2.jpg"), "missing.jpg"],
        {".jpg", ".png"},
    )
    assert [p.name for p in found.paths] == ["img2.jpg", "img10.jpg", "single.png"]
    assert found.problems == [("missing.jpg", "no such file or folder")]


def test_output_names_predictable_and_distinct(tmp_path: Path) -> None:
    inputs = [tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "b.jpg"]
    assert output_stems(inputs) == {inputs[0]: "a_jpg", inputs[1]: "a_png", inputs[2]: "b"}
    plan = plan_outputs(inputs, tmp_path / "out", "_saliency", ".mp4")
    assert plan[inputs[2]] == tmp_path / "out" / "b_saliency.mp4"
    one = plan_outputs([inputs[2]], tmp_path / "result.mp4", "_saliency", ".mp4")
    assert one[inputs[2]] == tmp_path / "result.mp4"
    beside = plan_outputs([inputs[2]], None, "_saliency", ".mp4")
    assert beside[inputs[2]] == tmp_path / "b_saliency.mp4"


def test_refuses_output_equal_to_input(tmp_path: Path) -> None:
    source = make_image(tmp_path / "a.png", 8, 8)
    link = tmp_path / "link.png"
    link.symlink_to(source)
    for clash in (source, tmp_path / "." / "a.png", link):
        with pytest.raises(InputError, match="never"):
            refuse_overwriting_inputs([source], [clash])
    refuse_overwriting_inputs([source], [tmp_path / "a_saliency.png"])


# ----------------------------------------------------------------- maps (real model)


@pytest.mark.parametrize(
    ("width", "height"),
    [(320, 180), (180, 320), (128, 128), (3, 2), (1, 1), (2600, 1700)],
    ids=["landscape", "portrait", "square", "tiny", "one-pixel", "large"],
)
def test_map_has_the_image_size(tmp_path: Path, session, width: int, height: int) -> None:
    source = make_image(tmp_path / "in.png", width, height)
    outputs = ImageOutputs.beside(tmp_path / "out" / "in", npy=True)
    result = process_image(session, source, outputs, note="test UNTRAINED")
    written = Image.open(outputs.saliency)
    assert written.size == (width, height) and written.mode == "L"
    assert written.text["Comment"] == "test UNTRAINED"
    floats = np.load(outputs.npy)
    assert floats.shape == (height, width) and floats.dtype == np.float32
    # the PNG is the float map, quantised
    assert np.array_equal(np.asarray(written), to_uint8(floats))
    assert result.outputs == [outputs.saliency, outputs.npy]


def test_exif_rotated_image_gets_upright_map_and_overlay(tmp_path: Path, session) -> None:
    source = make_image(tmp_path / "phone.jpg", 160, 120, orientation=6)
    outputs = ImageOutputs.beside(tmp_path / "phone", overlay=True)
    process_image(session, source, outputs, ImageStyle(alpha=0.0))
    assert Image.open(outputs.saliency).size == (120, 160)
    overlay = np.asarray(Image.open(outputs.overlay))
    assert overlay.shape == (160, 120, 3)
    assert _marker_corner(overlay) == "top-right"


def test_bad_files_reported_good_ones_written(tmp_path: Path, session) -> None:
    good = [make_image(tmp_path / f"good{i}.png", 40 + i, 30) for i in range(2)]
    broken = make_broken_files(tmp_path / "broken")
    bad = [broken["empty_image"], broken["garbage_image"]]
    plan = [(p, ImageOutputs.beside(tmp_path / "out" / p.stem)) for p in [bad[0], *good, bad[1]]]
    report = process_images(session, plan)
    assert [r.source for r in report.results] == good
    assert [name for name, _ in report.failures] == [str(p) for p in bad]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "good0_saliency.png",
        "good1_saliency.png",
    ]


def test_cli_folder_with_bad_files(
    tmp_path: Path, tiny_models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    make_image(folder / "a.jpg", 64, 48)
    make_image(folder / "b.png", 30, 50, "RGBA")
    (folder / "c.png").write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["image", str(folder), "-o", str(tmp_path / "out"), "-q", "very_low", "--overlay"]
            + ["--models-dir", str(tiny_models_dir), "--device", "cpu", "--no-progress"]
        )
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "c.png: empty file" in err
    assert "1 of 3 input(s) failed" in err
    assert "UNTRAINED" in err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["a_overlay.png", "a_saliency.png", "b_overlay.png", "b_saliency.png"]
    assert Image.open(tmp_path / "out" / "b_saliency.png").size == (30, 50)


def test_cli_refuses_to_overwrite_input(
    tmp_path: Path, tiny_models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "x_saliency.png" is an input, and also the map name of input "x.png"
    first = make_image(tmp_path / "x.png", 16, 16)
    second = make_image(tmp_path / "x_saliency.png", 16, 16)
    before = second.read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        main(["image", str(first), str(second), "--models-dir", str(tiny_models_dir)])
    assert exit_info.value.code == 2
    assert "never overwritten" in capsys.readouterr().err
    assert second.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png", "x_saliency.png"]
