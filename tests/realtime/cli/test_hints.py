"""Every "run this" hint for a missing model is a command the real CLI accepts and that
names the missing preset (parsed by the real command line, resolved by the export code)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from saliency_cam.models.errors import ModelNotFoundError
from saliency_cam.models.registry import DATASET_PRESETS, QUALITY_ORDER
from saliency_cam.realtime.cli.main import app
from saliency_cam.realtime.runtime.session import find_variant


def _parse(args: list[str]) -> tuple[str, dict[str, object]]:
    """The subcommand and its parsed options, exactly as ``saliency-cam ARGS`` would
    see them (click parsing and validation of the subcommand's options, nothing run)."""
    group = typer.main.get_command(app)
    parent = group.make_context("saliency-cam", [])
    name, *rest = args
    assert name in group.list_commands(parent), f"no command {name!r}"
    command = group.get_command(parent, name)
    return name, command.make_context(name, rest, parent=parent).params


@pytest.mark.parametrize("precision", ["fp32", "int8"])
@pytest.mark.parametrize("preset", [*QUALITY_ORDER, *DATASET_PRESETS])
def test_missing_model_hint_is_a_working_export_command(
    tmp_path: Path, preset: str, precision: str
) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        find_variant(preset, precision, tmp_path)
    hint = re.search(r"run '([^']+)'", str(caught.value))
    assert hint, caught.value
    words = shlex.split(hint.group(1))
    assert words[0] == "saliency-cam"
    name, params = _parse(words[1:])
    assert name == "export"
    from saliency_cam.export.variants import resolve_presets

    presets = resolve_presets(params["quality"], params["dataset"])  # type: ignore[arg-type]
    assert [p.name for p in presets] == [preset]
    if precision != "fp32":
        assert precision in params["precision"]  # type: ignore[operator]
