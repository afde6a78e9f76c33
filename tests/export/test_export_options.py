"""ExportOptions owns the export's options: ``saliency_cam.export(...)`` (the README's
call) spells the same names and defaults out, and hands them on whole; the command's
``export_with_cost`` takes the same names. No TensorFlow needed."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from saliency_cam.export import run
from saliency_cam.export.run import ExportOptions, export, export_with_cost


def test_the_public_signature_mirrors_the_options() -> None:
    parameters = inspect.signature(export).parameters
    fields = {f.name: f.default for f in dataclasses.fields(ExportOptions)}
    assert list(parameters) == list(fields)
    assert {name: p.default for name, p in parameters.items()} == fields
    assert parameters["quality"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(parameters.values())[1:])


def test_export_hands_every_option_on(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake(**options: object):
        seen.update(options)
        return ["info"], None

    monkeypatch.setattr(run, "export_with_cost", fake)
    got = export("low", dataset="mit1003", weights="random", force=True, seed=3)
    assert got == ["info"]
    assert ExportOptions(**seen) == ExportOptions(
        "low", dataset="mit1003", weights="random", force=True, seed=3
    )


def test_names_are_normalised_and_planned(tmp_path: Path) -> None:
    options = ExportOptions("very_low", precision="fp32", models_dir=tmp_path)
    assert options.precisions == ["fp32"]
    assert ExportOptions(precision=()).precisions == ["fp32"]
    presets, directory = options.plan()
    assert [p.name for p in presets] == ["very_low"] and directory == tmp_path


def test_an_unknown_option_is_refused_before_any_work() -> None:
    planned = []
    with pytest.raises(TypeError, match="qualty"):
        export_with_cost(qualty=["low"], on_plan=lambda *a: planned.append(a))
    assert not planned
