"""The Keras definition of MSI-Net: size, shapes, structure and output range."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from saliency_cam.models.architecture import EXPECTED_SHAPES, PARAMETER_COUNT  # noqa: E402
from saliency_cam.models.msinet import (  # noqa: E402
    build_msinet,
    extract_weights,
    layer_name,
    load_weights,
    scope_name,
)


@pytest.fixture(scope="module")
def model():
    return build_msinet(48, 64)


def test_parameter_count_is_the_published_one(model) -> None:
    assert model.count_params() == PARAMETER_COUNT


def test_every_scope_is_a_layer_with_the_published_shapes(model) -> None:
    weights = extract_weights(model)
    assert {k: v.shape for k, v in weights.items()} == EXPECTED_SHAPES
    assert scope_name(layer_name("aspp/conv1_5")) == "aspp/conv1_5"


def test_output_is_normalised_map_of_input_size(model) -> None:
    rng = np.random.default_rng(1)
    frames = rng.uniform(0, 255, (2, 48, 64, 3)).astype(np.float32)
    out = np.asarray(model(frames))
    assert out.shape == (2, 48, 64, 1)
    for image in out:
        assert image.min() == pytest.approx(0.0, abs=1e-6)
        assert image.max() == pytest.approx(1.0, abs=1e-5)


def test_any_multiple_of_eight_and_weights_round_trip(model) -> None:
    flexible = build_msinet()
    load_weights(flexible, extract_weights(model))
    frame = np.random.default_rng(2).uniform(0, 255, (1, 48, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(flexible(frame)), np.asarray(model(frame)), atol=1e-6)
    assert np.asarray(flexible(np.zeros((1, 72, 128, 3), np.float32))).shape == (1, 72, 128, 1)
    with pytest.raises(ValueError, match="multiples of 8"):
        build_msinet(50, 64)
