"""The architecture registry: each entry's facts, and old records loading as MSI-Net."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saliency_cam.models import architecture as msinet_table
from saliency_cam.models import mlnet_layers
from saliency_cam.models.architectures import ARCHITECTURES, get_architecture
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import Manifest, variant_filename
from saliency_cam.models.registry import QUALITY_PRESETS, user_preset


def test_every_entry_names_a_builder_contract_presets_and_loss() -> None:
    from saliency_cam.export.training.loss import loss_fn

    assert {"msinet", "mlnet"} <= set(ARCHITECTURES)
    for arch in ARCHITECTURES.values():
        assert arch.module.startswith("saliency_cam.models.") and arch.builder
        offered = set(QUALITY_PRESETS) | {"ultra"}  # ultra: only the fast networks
        assert set(arch.presets) <= offered and arch.default_preset in arch.presets
        assert arch.contract.size_multiple == 8 and arch.contract.value_range == "0-255"
        loss_fn(arch.default_loss)  # a loss the trainer knows
        assert arch.gflops(48, 64) > 0 and arch.parameters > 0


def test_msinet_entry_is_the_published_network() -> None:
    arch = get_architecture("msinet")
    assert arch.parameters == 24_934_209 == msinet_table.PARAMETER_COUNT
    assert round(arch.gflops(48, 64), 2) == 3.64
    assert get_architecture(None) is arch and get_architecture("MSI-Net") is arch


def test_mlnet_layer_table_is_the_paper_network() -> None:
    """VGG-16's 13 convs (14,714,688 parameters) + 3×3 1280→64 + 1×1 64→1 + 6×8 prior."""
    shapes = mlnet_layers.EXPECTED_SHAPES
    assert shapes["head/conv1/kernel"] == (3, 3, 1280, 64)
    assert shapes["head/conv2/kernel"] == (1, 1, 64, 1)
    assert shapes["prior/prior"] == (6, 8)
    assert "conv5/conv5_3/kernel" in shapes and not any(k.startswith("aspp") for k in shapes)
    assert mlnet_layers.PARAMETER_COUNT == 14_714_688 + (9 * 1280 * 64 + 64) + (64 + 1) + 48
    assert get_architecture("ml-net").default_loss == "nmse"


def test_unknown_architecture_is_one_line_listing_the_known() -> None:
    with pytest.raises(SaliencyCamError, match="unknown architecture 'salgan'.*msinet.*mlnet"):
        get_architecture("salgan")


def test_old_manifest_without_arch_loads_as_msinet(tmp_path: Path) -> None:
    entry = {
        "preset": "mine", "precision": "fp32", "height": 48, "width": 64,
        "file": "msinet_mine_fp32.onnx", "sha256": "0" * 64, "weights": {"trained": True},
        "opset": 17,
    }  # fmt: skip
    user = {"name": "mine", "height": 48, "width": 64}
    (tmp_path / "manifest.json").write_text(
        json.dumps({"format": 1, "variants": {"mine-fp32": entry}, "user_models": {"mine": user}})
    )
    manifest = Manifest.load(tmp_path)
    assert manifest.variants["mine-fp32"].arch == "msinet"
    assert manifest.user_models["mine"].arch == "msinet"
    assert user_preset("mine", 48, 64).arch == "msinet"
    manifest.save()  # and written back, the field is there
    saved = json.loads((tmp_path / "manifest.json").read_text())
    assert saved["variants"]["mine-fp32"]["arch"] == "msinet"
    assert saved["user_models"]["mine"]["arch"] == "msinet"


def test_a_user_preset_carries_its_architecture_and_cost() -> None:
    preset = user_preset("mine", 48, 64, arch="mlnet")
    assert preset.arch == "mlnet"
    assert preset.gflops == pytest.approx(mlnet_layers.gflops(48, 64))
    assert variant_filename("mine", "fp32", "mlnet") == "mlnet_mine_fp32.onnx"
    assert variant_filename("medium") == "msinet_medium_fp32.onnx"
