"""Aspect-matched input sizes: multiples of 8, never more pixels than the preset, the
frame's aspect to within one step of 8, and the original letterbox on request."""

from __future__ import annotations

import pytest

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import QUALITY_PRESETS
from saliency_cam.realtime.runtime.aspect import aspect_size

FRAMES = [(720, 1280), (1080, 1920), (1280, 720), (480, 640), (1000, 1000), (300, 2000)]


@pytest.mark.parametrize("mode", ["match", "fill"])
@pytest.mark.parametrize("frame", FRAMES)
def test_sizes_are_multiples_of_8_within_the_budget_and_near_the_aspect(
    frame: tuple[int, int], mode: str
) -> None:
    for preset in QUALITY_PRESETS.values():
        h, w = aspect_size(frame, preset.size, mode)
        assert h % 8 == 0 and w % 8 == 0 and h >= 8 and w >= 8
        assert h * w <= preset.height * preset.width
        # within one 8-px step of the frame's aspect on the short side
        scale = min(h / frame[0], w / frame[1])
        assert abs(frame[0] * scale - h) <= 8 and abs(frame[1] * scale - w) <= 8


def test_match_keeps_the_letterbox_scale_and_drops_the_padding() -> None:
    assert aspect_size((720, 1280), (240, 320), "match") == (184, 320)  # 180 rounded up
    assert aspect_size((1280, 720), (240, 320), "match") == (240, 136)
    assert aspect_size((480, 640), (240, 320), "match") == (240, 320)  # 4:3: the preset
    assert aspect_size((720, 1280), (120, 160), "letterbox") == (120, 160)


def test_fill_spends_the_whole_budget_on_the_picture() -> None:
    h, w = aspect_size((720, 1280), (240, 320), "fill")
    assert (h, w) == (208, 368)
    assert h * w > 0.99 * 240 * 320 * (9 * 16 / (9 * 16)) * 0.99  # almost all 76 800 px


def test_unknown_mode_is_one_clear_line() -> None:
    with pytest.raises(SaliencyCamError, match="match, fill, letterbox"):
        aspect_size((10, 10), (48, 64), "stretch")
