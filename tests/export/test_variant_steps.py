"""export_presets' weights step without TensorFlow: each source's weights are read once
for every preset they serve (SALICON's for every quality; TF.js and a user model's per
preset), and a user model's record the origin publish() gave them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from saliency_cam.export import readers, variants
from saliency_cam.models.registry import resolve_quality


class Bar:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, line: str) -> None:
        self.lines.append(line)


def test_weights_are_read_once_per_source_and_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[str, str, object]] = []

    def read_weights(src, preset, path, *, seed):
        reads.append((src, preset.name, path))
        return SimpleNamespace(origin="", seed=seed)

    monkeypatch.setattr(readers, "read_weights", read_weights)
    low, medium = resolve_quality("low"), resolve_quality("medium")
    study = dataclasses.replace(low, name="study", kind="user")
    cache: dict = {}
    bar = Bar()

    def weights(preset, src, path=None):
        return variants._weights_for(preset, src, path, tmp_path, cache, bar, 7)

    assert weights(low, "random") is weights(medium, "random")  # one SALICON read
    assert weights(low, "tfjs") is not weights(medium, "tfjs")  # one TF.js model each
    own = weights(study, "keras", tmp_path / "study.weights.h5")
    assert own.origin == "saliency-cam train (own data)" and own.seed == 7
    assert weights(study, "keras") is own
    assert [name for _, name, _ in reads] == ["low", "low", "medium", "study"]
    assert reads[-1][2] == tmp_path / "study.weights.h5"
    assert bar.lines == [
        "low: reading random weights",
        "low: reading tfjs weights",
        "medium: reading tfjs weights",
        "study: reading keras weights",
    ]
