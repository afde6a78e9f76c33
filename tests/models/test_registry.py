"""The preset registry and the layer table it shares with the exporter and benchmark."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from saliency_cam.models.architecture import EXPECTED_SHAPES, PARAMETER_COUNT, gflops
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import (
    DATASET_PRESETS,
    QUALITY_PRESETS,
    resolve_dataset,
    resolve_preset,
    resolve_quality,
)


def test_quality_sizes_match_the_published_variants() -> None:
    sizes = {name: preset.size for name, preset in QUALITY_PRESETS.items()}
    assert sizes == {
        "very_low": (48, 64),
        "low": (72, 96),
        "medium": (120, 160),
        "high": (168, 224),
        "very_high": (240, 320),
    }
    for preset in QUALITY_PRESETS.values():
        assert preset.default_source == "tfjs"
        assert preset.tfjs_url and preset.tfjs_url.endswith(f"/{preset.name}/model.json")


def test_dataset_presets_have_original_sizes_and_drive_files() -> None:
    assert {n: p.size for n, p in DATASET_PRESETS.items()} == {
        "salicon": (240, 320),
        "mit1003": (360, 360),
        "cat2000": (216, 384),
        "dutomron": (360, 360),
        "pascals": (360, 360),
        "osie": (240, 320),
        "fiwi": (216, 384),
    }
    for name, preset in DATASET_PRESETS.items():
        assert preset.drive["cpu"].member == f"model_{name}_cpu.pb"
        assert preset.drive["gpu"].member == f"model_{name}_gpu.pb"
        assert preset.drive["cpu"].file_id != preset.drive["gpu"].file_id
        assert preset.height % 8 == 0 and preset.width % 8 == 0


@pytest.mark.parametrize("spelling", ["very-low", "very_low", "VERY-LOW", " very low "])
def test_quality_names_accept_hyphens_and_underscores(spelling: str) -> None:
    assert resolve_quality(spelling).name == "very_low"


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(SaliencyCamError, match="very_low, low, medium, high, very_high"):
        resolve_quality("ultra")
    with pytest.raises(SaliencyCamError, match="salicon"):
        resolve_dataset("imagenet")
    with pytest.raises(SaliencyCamError, match="qualities are .*datasets are"):
        resolve_preset("nope")
    assert resolve_preset("cat2000").kind == "dataset"


def test_parameter_count_and_cost_table() -> None:
    total = sum(int(np.prod(shape)) for shape in EXPECTED_SHAPES.values())
    assert total == PARAMETER_COUNT == 24_934_209
    published = {"very_low": 3.64, "low": 8.20, "medium": 22.8, "high": 44.6, "very_high": 91.1}
    for name, value in published.items():
        preset = QUALITY_PRESETS[name]
        assert gflops(*preset.size) == pytest.approx(value, abs=0.05)


def test_runtime_packages_do_not_import_tensorflow() -> None:
    code = (
        "import sys, saliency_cam.models, saliency_cam.realtime.cli.main,"
        " saliency_cam.realtime.runtime.session;"
        "bad=[m for m in ('tensorflow','keras','tf2onnx') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
