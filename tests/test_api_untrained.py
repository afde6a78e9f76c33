"""Maps from UNTRAINED (seeded random) weights are labelled in the Python API as on the
command line: ``predict`` warns and returns an :class:`UntrainedMap`, ``render`` writes
the UNTRAINED line into the picture; trained maps are left alone."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import saliency_cam
from saliency_cam.realtime.render.hud import mark_untrained


def test_predict_on_untrained_weights_warns_and_render_marks_the_pixels(
    tiny_models_dir: Path,
) -> None:
    frame = np.random.default_rng(0).integers(0, 255, (120, 200, 3), dtype=np.uint8)
    with pytest.warns(saliency_cam.UntrainedModelWarning, match="very_low fp32 has UNTRAINED"):
        saliency = saliency_cam.predict(frame, "very_low", device="cpu", models_dir=tiny_models_dir)
    assert isinstance(saliency, saliency_cam.UntrainedMap)
    assert saliency.shape == (120, 200) and saliency.dtype == np.float32
    plain = np.asarray(saliency)
    for view in ("overlay", "heatmap", "side"):
        picture = saliency_cam.render(frame, saliency, view=view)
        unmarked = saliency_cam.render(frame, plain, view=view)
        assert not np.array_equal(picture, unmarked), view  # the mark is in the pixels
        np.testing.assert_array_equal(picture, mark_untrained(unmarked.copy()))
    # a session's own maps: the caller says so (the session knows)
    session = saliency_cam.open_session("very_low", device="cpu", models_dir=tiny_models_dir)
    assert not session.trained
    marked = saliency_cam.render(frame, session.predict(frame), untrained=not session.trained)
    np.testing.assert_array_equal(marked, saliency_cam.render(frame, saliency))


def test_trained_maps_are_not_marked() -> None:
    frame = np.full((60, 80, 3), 90, np.uint8)
    saliency = np.linspace(0, 1, 60 * 80, dtype=np.float32).reshape(60, 80)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UNTRAINED warning for a plain map
        picture = saliency_cam.render(frame, saliency)
    assert not np.array_equal(picture, mark_untrained(picture.copy()))
    np.testing.assert_array_equal(frame, np.full((60, 80, 3), 90, np.uint8))  # untouched
