"""The lite network exports like MSI-Net: the same parity gate (preset size, a batch and
another aspect), a dynamic graph the unchanged runtime opens by name, and int8 derived
from it with its fidelity measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")


@pytest.mark.slow
def test_a_lite_model_publishes_with_parity_and_derives_int8(tmp_path: Path) -> None:
    import onnx

    from saliency_cam.export.parity import FP32_TOLERANCE
    from saliency_cam.export.training.publish import publish
    from saliency_cam.export.variants import export_presets
    from saliency_cam.models import lite
    from saliency_cam.models.manifest import Manifest
    from saliency_cam.realtime.runtime.session import open_session

    model = lite.build_lite(48, 64, seed=3)
    weights = tmp_path / "fast.weights.h5"
    model.save_weights(weights)
    models = tmp_path / "models"
    info = publish("fast", weights, (48, 64), models_dir=models, arch="lite")

    assert info.weights["arch"] == "lite"
    assert info.parity["max_abs"] <= FP32_TOLERANCE
    assert info.parity["batch_max_abs"] <= FP32_TOLERANCE  # the dynamic graph, batch 2
    assert info.parity["aspect_input"] != "48x64"  # and another size than the preset's
    graph = onnx.load(info.path)
    assert graph.graph.name == "lite_fast_fp32"
    assert Manifest.load(models).user_models["fast"].arch == "lite"

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    keras_map = np.asarray(model(small[None, ..., ::-1].astype(np.float32)))[0, :, :, 0]
    session = open_session("fast", "fp32", "cpu", models)  # the runtime, unchanged
    np.testing.assert_allclose(session.predict(small), keras_map, atol=1e-4)
    frame = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    assert session.predict(frame).shape == (120, 200)

    (int8,) = export_presets(["fast"], models_dir=models, precisions=["int8"], progress=False)
    assert int8.precision == "int8" and "cc" in int8.fidelity
    assert open_session("fast", "int8", "cpu", models).predict(frame).shape == (120, 200)
