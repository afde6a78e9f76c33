"""Behaviour pinned by its effect, not by re-reading a constant: bugs planted in the
checksum check, the fidelity bar or the network's mean subtraction must fail here."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import Manifest, VariantInfo
from saliency_cam.realtime.runtime.precision import pick_precision
from saliency_cam.realtime.runtime.session import open_session


def test_a_model_whose_bytes_differ_from_its_manifest_is_refused(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    info = Manifest.load(models).find("very_low", "fp32")
    data = bytearray(info.path.read_bytes())
    data[-5] ^= 0xFF  # one byte of the last initializer: still loadable, not the same model
    info.path.write_bytes(bytes(data))
    with pytest.raises(SaliencyCamError, match="checksum"):
        open_session("very_low", device="cpu", models_dir=models)


def test_the_fidelity_bar_is_099_and_a_cc_095_variant_is_never_auto(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("onnx")
    from saliency_cam.export.fidelity import fidelity_of_maps

    rng = np.random.default_rng(0)
    reference = [rng.random((24, 32)) for _ in range(4)]
    # candidate maps with CC ~ 0.95 against the reference
    noisy = [np.clip(r + 0.33 * rng.standard_normal(r.shape) * r.std(), 0, None) for r in reference]
    measured = fidelity_of_maps(reference, noisy)
    assert 0.93 < measured.cc < 0.97
    assert not measured.ok  # 0.95 misses the bar
    assert fidelity_of_maps(reference, [r * 0.5 + 0.1 for r in reference]).ok  # CC 1.0
    assert fidelity_of_maps(reference, reference).bar == 0.99

    # the manifest entry of such a variant keeps it out of --precision auto
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    manifest = Manifest.load(models)
    fp32 = manifest.find("very_low", "fp32")
    int8_file = models / "msinet_very_low_int8.onnx"
    shutil.copy(fp32.path, int8_file)
    fields = {**fp32.to_json(), "directory": models, "precision": "int8"}
    fields.update(file=int8_file.name, default_ok=measured.ok, fidelity={"cc": measured.cc})
    manifest.put(VariantInfo(**fields))
    manifest.save()
    assert pick_precision("very_low", "cpu", models) == "fp32"


def test_the_network_subtracts_the_rgb_mean_first() -> None:
    pytest.importorskip("tensorflow")
    import keras

    from saliency_cam.models.msinet import build_msinet

    model = build_msinet(48, 64)
    first = keras.Model(model.input, model.get_layer("subtract_mean").output)
    # RGB input equal to the ImageNet means (R, G, B order, as the original decodes it)
    pixel = np.array([103.939, 116.779, 123.68], np.float32)
    out = first(np.broadcast_to(pixel, (1, 48, 64, 3)).copy()).numpy()
    np.testing.assert_allclose(out, 0.0, atol=1e-4)
    reversed_pixel = pixel[::-1].copy()  # BGR order must not cancel
    out = first(np.broadcast_to(reversed_pixel, (1, 48, 64, 3)).copy()).numpy()
    assert np.abs(out).max() > 15
