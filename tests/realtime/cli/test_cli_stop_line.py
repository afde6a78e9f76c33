"""A stop signal in a command without its own handler (here ``export``, mid-export) ends
with the one ``interrupted (...)`` line and the signal's exit code, and leaves no model
under its final name (typer turned it into a silent exit 130)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from cli_process import start_cli, stop_cli, wait_for_stderr


def test_sigterm_during_export_prints_one_line_and_exits_143(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    models = tmp_path / "models"
    args = ["export", "-q", "very_low", "--weights", "random", "--models-dir", str(models)]
    process = start_cli(args, tmp_path)
    # printed as the export starts; the export itself takes seconds even on AMX CPUs
    wait_for_stderr(process, "exporting very_low into", timeout=180)
    code, _out, err = stop_cli(process, signal.SIGTERM)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 143, err
    assert lines[-1].startswith("interrupted (SIGTERM)"), err
    assert "Traceback" not in err
    assert not models.exists() or not list(models.glob("*.onnx"))
