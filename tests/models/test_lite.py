"""The lite network: its cost against MSI-Net's at every preset (TF-free), the cost table
against the Keras model's real convolutions, and which presets each network is offered."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_cam.models import lite
from saliency_cam.models.architecture import gflops
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import (
    ARCHES,
    QUALITY_PRESETS,
    ULTRA_SIZE,
    arch_gflops,
    arch_presets,
    user_preset,
)


@pytest.mark.parametrize("name", [*QUALITY_PRESETS, "ultra"])
def test_lite_costs_at_least_20x_fewer_macs_than_msinet_at_every_preset(name):
    height, width = arch_presets("lite")[name]
    msinet_macs = gflops(height, width) / 2 * 1e9
    assert msinet_macs / lite.macs(height, width) >= 20


def test_lite_cost_at_very_high_is_a_small_fraction_of_msinet():
    # MSI-Net very_high: 45.5 GMACs (91.1 GFLOPs); the lite network about half a GMAC
    assert gflops(240, 320) == pytest.approx(91.1, abs=0.1)
    assert 0.2 < lite.gmacs(240, 320) < 1.0


def test_preset_cost_follows_its_architecture():
    mine = user_preset("fast", 240, 320, arch="lite")
    assert mine.gflops == pytest.approx(2 * lite.gmacs(240, 320))
    assert user_preset("big", 240, 320).gflops == pytest.approx(gflops(240, 320))
    assert arch_gflops("lite", 48, 64) < arch_gflops("msinet", 48, 64) / 20


def test_ultra_is_offered_only_to_the_lite_network():
    assert "ultra" not in arch_presets("msinet")
    assert arch_presets("lite")["ultra"] == ULTRA_SIZE == (480, 640)
    assert set(ARCHES) == {"msinet", "mlnet", "lite"}
    with pytest.raises(SaliencyCamError, match="unknown architecture 'vgg'"):
        arch_presets("vgg")


def test_training_refuses_ultra_for_msinet_and_gives_it_to_lite():
    from saliency_cam.export.training.job import training_size

    assert training_size(None, "ultra", None, "lite") == (480, 640)
    assert training_size(None, "very-low", None, "lite") == (48, 64)
    with pytest.raises(SaliencyCamError, match="--arch lite"):
        training_size(None, "ultra", None, "msinet")


def test_lite_refuses_sizes_that_are_not_multiples_of_8():
    with pytest.raises(ValueError, match="multiples of 8"):
        lite.check_size(50, 64)


@pytest.fixture(scope="module")
def keras_lite():
    pytest.importorskip("tensorflow")
    return lite.build_lite(48, 64)


@pytest.mark.parametrize("size", [(48, 64), (72, 96)])
def test_cost_table_matches_the_keras_models_convolutions(keras_lite, size):
    model = keras_lite if size == (48, 64) else lite.build_lite(None, None)
    assert lite.keras_conv_macs(model, *size) == lite.macs(*size)


def test_keras_lite_keeps_the_msinet_contract(keras_lite):
    frames = np.random.default_rng(0).uniform(0, 255, (2, 48, 64, 3)).astype(np.float32)
    maps = np.asarray(keras_lite(frames, training=False))
    assert maps.shape == (2, 48, 64, 1)
    assert maps.min() == pytest.approx(0.0, abs=1e-6)
    assert maps.max() == pytest.approx(1.0, abs=1e-3)  # ε = 1e-7 of a small random range


def test_lite_weights_round_trip(keras_lite):
    weights = lite.extract_weights(keras_lite)
    other = lite.build_lite(48, 64, seed=1)
    lite.load_weights(other, weights)
    frame = np.full((1, 48, 64, 3), 120.0, np.float32)
    frame[:, 10:20, 20:30] = 250.0
    np.testing.assert_allclose(np.asarray(other(frame)), np.asarray(keras_lite(frame)), atol=1e-6)
    del weights[next(iter(weights))]
    with pytest.raises(SaliencyCamError, match="do not fit the lite network"):
        lite.load_weights(other, weights)


def test_list_models_and_models_show_each_networks_presets(tmp_path):
    """A lite model (the manifest records its architecture) is listed with its own cost
    and presets; ``models`` names which presets each architecture is offered."""
    from typer.testing import CliRunner

    from saliency_cam.models.catalog import list_models
    from saliency_cam.models.manifest import Manifest, UserModel
    from saliency_cam.realtime.cli.main import app

    with Manifest.editing(tmp_path) as manifest:
        manifest.put_user_model(UserModel("fast", 240, 320, arch="lite"))
        manifest.put_user_model(UserModel("big", 240, 320))
    saved = (tmp_path / "manifest.json").read_text()
    assert saved.count('"arch": "lite"') == 1 and saved.count('"arch": "msinet"') == 1
    entries = {entry.name: entry for entry in list_models(tmp_path)}
    assert entries["fast"].arch == "lite" and "ultra" in entries["fast"].presets
    assert entries["fast"].gflops == pytest.approx(2 * lite.gmacs(240, 320))
    assert entries["big"].arch == "msinet" and "ultra" not in entries["big"].presets
    assert "ultra" not in entries["very_high"].presets

    result = CliRunner().invoke(app, ["models", "--models-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "[lite, 0.92 GFLOPs]" in result.output
    assert "lite presets: very_low, low, medium, high, very_high, ultra" in result.output
    assert "msinet presets: very_low, low, medium, high, very_high\n" in result.output


def test_the_registry_entry_matches_the_built_network() -> None:
    pytest.importorskip("tensorflow")
    from saliency_cam.models import lite
    from saliency_cam.models.architectures import get_architecture

    entry = get_architecture("lite")
    model = lite.build_lite(48, 64)
    assert entry.parameters == model.count_params()
    assert dict(entry.expected_shapes) == {
        name: tuple(value.shape) for name, value in lite.extract_weights(model).items()
    }
    assert "ultra" in entry.presets and "ultra" not in get_architecture("msinet").presets
