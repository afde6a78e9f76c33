"""Exporting a missing variant on demand uses the weights the folder already holds, so a
folder made offline from random weights never sends the exporter online (issue 15.9)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from saliency_cam.export.variants import (  # noqa: E402
    missing_model_exporter,
    weights_source_in_use,
)
from saliency_cam.models.manifest import Manifest  # noqa: E402
from saliency_cam.realtime.runtime.session import open_session  # noqa: E402


def test_missing_int8_is_derived_from_the_random_fp32_offline(
    tiny_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    assert weights_source_in_use("very_low", models) == "random"
    assert weights_source_in_use("medium", models) == "random"  # the folder's common source
    assert weights_source_in_use("very_low", tmp_path / "empty") is None
    # any download attempt fails loudly: the on-demand export must not need the network
    monkeypatch.setenv("SALIENCY_CAM_TFJS_BASE_URL", "http://127.0.0.1:9/unreachable")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    lines: list[str] = []
    hook = missing_model_exporter(models, say=lines.append)
    assert hook is not None
    session = open_session("very_low", "int8", "cpu", models, on_missing=hook, warmup=0)
    assert session.variant.precision == "int8" and not session.trained
    assert "random weights" in lines[0]
    assert Manifest.load(models).find("very_low", "int8") is not None
