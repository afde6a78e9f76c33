"""The check every reader ends with, and the scope matching that feeds it (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_cam.export.readers.names import Candidate, assign_weights, find_scope, weight_key
from saliency_cam.export.weights import check_weights
from saliency_cam.models.architecture import EXPECTED_SHAPES, PARAMETER_COUNT
from saliency_cam.models.errors import SaliencyCamError, WeightsError


def zeros() -> dict[str, np.ndarray]:
    return {name: np.zeros(shape, np.float32) for name, shape in EXPECTED_SHAPES.items()}


def candidates(weights: dict[str, np.ndarray], rename=lambda name: name) -> list[Candidate]:
    return [
        Candidate(rename(name), value.shape, lambda value=value: value)
        for name, value in weights.items()
    ]


# --------------------------------------------------------------------------- check_weights


def test_exact_weights_pass_as_float32() -> None:
    weights = {k: v.astype(np.float64) for k, v in zeros().items()}
    checked = check_weights(weights)
    assert list(checked) == list(EXPECTED_SHAPES)
    assert all(v.dtype == np.float32 for v in checked.values())
    assert sum(v.size for v in checked.values()) == PARAMETER_COUNT


def test_everything_wrong_is_named_in_one_line() -> None:
    weights = zeros()
    del weights["aspp/conv1_5/kernel"]
    weights["aspp/conv1_6/bias"] = np.zeros(256, np.float32)
    weights["decoder/conv4/kernel"] = np.zeros((3, 3, 1, 32), np.float32)
    with pytest.raises(WeightsError) as info:
        check_weights(weights, "my.pb")
    message = str(info.value)
    assert isinstance(info.value, SaliencyCamError) and "\n" not in message
    assert message.startswith("my.pb do not fit MSI-Net: ")
    assert "missing aspp/conv1_5/kernel" in message
    assert "unexpected aspp/conv1_6/bias" in message
    assert "wrong shape decoder/conv4/kernel (3, 3, 1, 32) (expected (3, 3, 32, 1))" in message


def test_long_lists_are_shortened() -> None:
    with pytest.raises(WeightsError, match=r"missing aspp/conv1_1/bias, .* and 42 more$"):
        check_weights({})


def test_non_finite_values_are_refused() -> None:
    weights = zeros()
    weights["conv1/conv1_1/bias"][3] = np.nan
    with pytest.raises(WeightsError, match="conv1/conv1_1/bias contains NaN"):
        check_weights(weights)


# --------------------------------------------------------------------------- scope matching


@pytest.mark.parametrize(
    ("name", "rank", "key"),
    [
        ("conv1/conv1_1/kernel", 4, "conv1/conv1_1/kernel"),
        ("conv1/conv1_1/bias", 1, "conv1/conv1_1/bias"),
        # TF.js / grappler styles
        (
            "StatefulPartitionedCall/msinet/conv2/conv2_1/Conv2D/ReadVariableOp",
            4,
            "conv2/conv2_1/kernel",
        ),
        (
            "StatefulPartitionedCall/msinet/conv2/conv2_1/BiasAdd/ReadVariableOp",
            1,
            "conv2/conv2_1/bias",
        ),
        ("conv3/conv3_1/Conv2D_weights", 4, "conv3/conv3_1/kernel"),
        ("conv3/conv3_1/Conv2D_bn_offset", 1, "conv3/conv3_1/bias"),
        ("aspp/conv1_2/kernel/read/_14__cf__14", 4, "aspp/conv1_2/kernel"),
        ("decoder/conv4/bias:0", 1, "decoder/conv4/bias"),
        # the ASPP 1x1 branch is not the first VGG conv, and vice versa
        ("aspp/conv1_1/kernel", 4, "aspp/conv1_1/kernel"),
        ("model/conv1/conv1_1/kernel", 4, "conv1/conv1_1/kernel"),
        # Keras layer names spell the separator "__"; nothing after the scope → by rank
        ("decoder__conv2", 4, "decoder/conv2/kernel"),
        ("decoder__conv2", 1, "decoder/conv2/bias"),
        # not weights
        ("decoder__conv2", 0, None),
        ("conv5/conv5_1/Relu", 4, None),
        ("sub/y", 4, None),
        ("decoder/conv5/kernel", 4, None),
        ("conv1/kernel", 4, None),
    ],
)
def test_weight_key(name: str, rank: int, key: str | None) -> None:
    assert weight_key(name, rank) == key


def test_innermost_scope_wins() -> None:
    assert find_scope("decoder/conv1/aspp/conv2/kernel") == ("aspp/conv2", ["kernel"])


def test_converter_names_map_back_to_every_weight() -> None:
    weights = zeros()

    def converted(name: str) -> str:
        scope, role = name.rsplit("/", 1)
        op = "Conv2D" if role == "kernel" else "BiasAdd"
        return f"StatefulPartitionedCall/msinet/{scope}/{op}/ReadVariableOp"

    found = assign_weights(candidates(weights, converted), "model.json")
    assert list(found) == list(EXPECTED_SHAPES)


def test_unrelated_constants_are_ignored_and_copies_deduplicated() -> None:
    weights = zeros()
    extra = [
        Candidate("sub/y", (1, 1, 1, 3), lambda: np.ones((1, 1, 1, 3), np.float32)),
        Candidate("conv5/conv5_1/Relu", (), lambda: np.float32(0)),
        # the same constant in a second traced copy of a function
        Candidate(
            "copy/conv1/conv1_1/kernel", (3, 3, 3, 64), lambda: weights["conv1/conv1_1/kernel"]
        ),
    ]
    found = assign_weights(candidates(weights) + extra, "saved_model.pb")
    assert set(found) == set(EXPECTED_SHAPES)


def test_two_different_tensors_for_one_weight_are_refused() -> None:
    other = Candidate(
        "second/conv1/conv1_1/kernel", (3, 3, 3, 64), lambda: np.ones((3, 3, 3, 64), np.float32)
    )
    with pytest.raises(WeightsError, match="both look like conv1/conv1_1/kernel but differ"):
        assign_weights(candidates(zeros()) + [other], "x.pb")


def test_unknown_weight_like_names_are_reported_as_unexpected() -> None:
    odd = Candidate("aspp/conv1_6/kernel", (1, 1, 1280, 256), lambda: np.zeros((1, 1, 1280, 256)))
    with pytest.raises(WeightsError, match="unexpected aspp/conv1_6/kernel"):
        assign_weights(candidates(zeros()) + [odd], "x.pb")


def test_missing_weights_mention_unrecognised_tensors_under_their_scope() -> None:
    weights = zeros()
    del weights["decoder/conv1/kernel"]
    odd = Candidate("decoder/conv1/Mystery", (3, 3, 256, 128), lambda: np.zeros((3, 3, 256, 128)))
    with pytest.raises(WeightsError) as info:
        assign_weights(candidates(weights) + [odd], "x.pb")
    message = str(info.value)
    assert "missing decoder/conv1/kernel" in message
    assert "not recognised: decoder/conv1/Mystery" in message
