"""The numbers ``saliency-cam crop`` reports beside each box: how much a crop was
enlarged (a picture smaller than the size asked) and the saliency a centre crop of the
same size would have kept. A saliency function stands in for the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media_factory import make_image

from saliency_cam.realtime.apps.reframe.crop import crop_image


def left_strip(frame: np.ndarray) -> np.ndarray:
    """All the saliency in the leftmost quarter of the picture."""
    out = np.zeros(frame.shape[:2], np.float32)
    out[:, : frame.shape[1] // 4] = 1.0
    return out


def test_upscale_is_measured_and_warned_and_centre_crop_is_the_baseline(tmp_path: Path) -> None:
    source = make_image(tmp_path / "small.png", 160, 80)  # 160 wide, 80 high
    result = crop_image(left_strip, source, tmp_path / "out" / "small", [(400, 400), (40, 40)])
    # 400x400 from the largest square, 80x80: enlarged 5×; 40x40 is shrunk, not enlarged
    assert result.upscale["400x400"] == pytest.approx(5.0)
    assert result.upscale["40x40"] == 1.0
    warnings = result.upscale_warnings()
    assert len(warnings) == 1 and "small.png 400x400: upscaled 5.00×" in warnings[0]
    # the square on the left holds the whole strip (40 of 80 columns); the centre square
    # (columns 40..119) holds none of it
    assert result.kept["400x400"] == pytest.approx(1.0)
    assert result.kept_centre["400x400"] == pytest.approx(0.0, abs=1e-6)
