"""Letterbox geometry and its exact undo (docs/design.md §3) on 4:3, 16:9, portrait and odd
sizes; colormaps, blending and views with the right shapes and values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import QUALITY_PRESETS
from saliency_cam.realtime.render.blend import (
    TemporalSmoother,
    colorize,
    colormap_names,
    render,
    resolve_colormap,
    resolve_view,
    to_uint8,
)
from saliency_cam.realtime.runtime.letterbox import PAD_VALUE, Letterbox

SIZES = {
    "4:3": (480, 640),
    "16:9": (720, 1280),
    "portrait": (640, 480),
    "odd": (481, 853),
    "tiny (enlarged)": (7, 13),
    "odd padding": (100, 301),
}


@pytest.mark.parametrize("preset", list(QUALITY_PRESETS))
def test_4_3_frames_need_no_padding_at_any_quality(preset: str) -> None:
    target = QUALITY_PRESETS[preset].size
    box = Letterbox.fit((480, 640), target)
    assert box.inner == target and (box.top, box.left) == (0, 0)


@pytest.mark.parametrize(
    ("source", "target", "inner", "top", "left"),
    [
        ((720, 1280), (120, 160), (90, 160), 15, 0),
        ((640, 480), (120, 160), (120, 90), 0, 35),
        ((7, 13), (48, 64), (34, 64), 7, 0),
        ((100, 301), (48, 64), (21, 64), 13, 0),  # 27 rows of padding: 13 before, 14 after
    ],
)
def test_geometry(
    source: tuple[int, int], target: tuple[int, int], inner: tuple[int, int], top: int, left: int
) -> None:
    box = Letterbox.fit(source, target)
    assert (box.inner, box.top, box.left) == (inner, top, left)


@pytest.mark.parametrize("name", list(SIZES))
@pytest.mark.parametrize("target", [(48, 64), (120, 160), (240, 320)])
def test_apply_places_the_picture_exactly_and_pads_with_grey(
    name: str, target: tuple[int, int]
) -> None:
    source = SIZES[name]
    box = Letterbox.fit(source, target)
    out = box.apply(np.full((*source, 3), 200, np.uint8))
    assert out.shape == (*target, 3) and out.dtype == np.uint8
    ih, iw = box.inner
    inside = np.zeros(target, bool)
    inside[box.top : box.top + ih, box.left : box.left + iw] = True
    assert (out[inside] == 200).all()  # a flat picture stays flat, at exactly this place
    assert (out[~inside] == PAD_VALUE).all()
    # the picture keeps its aspect ratio within rounding
    assert abs(ih / iw - source[0] / source[1]) <= 1.0 / min(ih, iw) + 1e-9


@pytest.mark.parametrize("name", list(SIZES))
def test_undo_removes_the_padding_and_restores_the_frame_size(name: str) -> None:
    source = SIZES[name]
    box = Letterbox.fit(source, (120, 160))
    saliency = np.zeros((120, 160), np.float32)  # 1 where the picture is, 0 on padding
    ih, iw = box.inner
    saliency[box.top : box.top + ih, box.left : box.left + iw] = 1.0
    back = box.undo(saliency)
    assert back.shape == source and back.dtype == np.float32
    assert np.allclose(back, 1.0)  # not one row or column of padding leaked in


@pytest.mark.parametrize("name", ["4:3", "16:9", "portrait", "odd"])
def test_round_trip_keeps_content_in_place(name: str) -> None:
    h, w = SIZES[name]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (0.5 * ys / h + 0.5 * xs / w).astype(np.float32)  # smooth, position-coded
    frame = np.repeat(to_uint8(ramp)[..., None], 3, axis=2)
    box = Letterbox.fit((h, w), (120, 160))
    small = box.apply(frame)[..., 0].astype(np.float32) / 255.0
    back = box.undo(small)
    # content comes back where it was (the padding test above pins the crop exactly)
    assert np.abs(back - ramp).max() < 0.03


def test_colormaps_by_name() -> None:
    assert resolve_colormap("jet") == cv2.COLORMAP_JET
    assert resolve_colormap("COLORMAP_INFERNO") == cv2.COLORMAP_INFERNO
    assert resolve_colormap(" Viridis ") == cv2.COLORMAP_VIRIDIS
    assert {"inferno", "jet", "turbo"} <= set(colormap_names())
    with pytest.raises(SaliencyCamError, match="unknown colormap 'rainbowz'.*inferno"):
        resolve_colormap("rainbowz")


def test_to_uint8_rounds_and_clips() -> None:
    values = np.array([0.0, 0.49 / 255, 0.51 / 255, 1.0, 1.5, -0.2], np.float32)
    assert to_uint8(values).tolist() == [0, 0, 1, 255, 255, 0]


def test_colorize_uses_the_colormap_table() -> None:
    saliency = np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16)
    heat = colorize(saliency, "inferno")
    assert heat.shape == (16, 16, 3) and heat.dtype == np.uint8
    expected = cv2.applyColorMap(
        np.arange(256, dtype=np.uint8).reshape(16, 16), cv2.COLORMAP_INFERNO
    )
    assert np.array_equal(heat, expected)
    assert heat[0, 0].sum() < 30 and heat[-1, -1].sum() > 500  # dark → bright


def test_views_shapes_and_values() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)
    saliency = rng.random((30, 50), dtype=np.float32)
    heat = colorize(saliency, "jet")
    assert np.array_equal(render(frame, saliency, "heatmap", colormap="jet"), heat)
    assert np.array_equal(render(frame, saliency, "overlay", alpha=0.0, colormap="jet"), frame)
    assert np.array_equal(render(frame, saliency, "overlay", alpha=1.0, colormap="jet"), heat)
    half = render(frame, saliency, "overlay", alpha=0.5, colormap="jet").astype(int)
    mean = (frame.astype(int) + heat.astype(int)) / 2
    assert np.abs(half - mean).max() <= 1
    side = render(frame, saliency, "side", alpha=0.5, colormap="jet")
    assert side.shape == (30, 100, 3)
    assert np.array_equal(side[:, :50], frame) and np.array_equal(side[:, 50:], half)
    with pytest.raises(ValueError, match="does not match"):
        render(frame, saliency[:10], "overlay")
    assert resolve_view(" Side ") == "side"
    with pytest.raises(SaliencyCamError, match="overlay, heatmap, side"):
        resolve_view("split")


def test_temporal_smoother() -> None:
    a = np.zeros((4, 4), np.float32)
    b = np.ones((4, 4), np.float32)
    assert TemporalSmoother(0.0)(b) is b  # off: untouched
    smooth = TemporalSmoother(0.8)
    assert np.array_equal(smooth(a), a)
    assert np.allclose(smooth(b), 0.2)
    assert np.allclose(smooth(b), 0.2 * 0.8 + 0.2)
    bigger = np.ones((8, 8), np.float32)
    assert np.array_equal(smooth(bigger), bigger)  # new size (quality switch): restart
    assert a.max() == 0  # inputs never modified
