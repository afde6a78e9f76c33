"""First-use hints: the demo's offline line names a demo command that exists (it has no
--weights-path) and is wrapped; the missing-model hint keeps the user's --models-dir and
names the export extra only when it is missing."""

from __future__ import annotations

import importlib.util
import re
import shlex
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_process import run_main
from test_hints import _parse

from saliency_cam.models.errors import ModelNotFoundError
from saliency_cam.models.paths import MODELS_DIR_ENV
from saliency_cam.realtime.runtime.session import find_variant


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL on 127.0.0.1 whose port is bound but not listening: every connection is
    refused, as offline."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/msi-net"


def test_demo_offline_names_a_demo_command_that_exists_wrapped(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    refused_url: str,
) -> None:
    pytest.importorskip("tensorflow")
    monkeypatch.setenv("SALIENCY_CAM_TFJS_BASE_URL", refused_url)
    monkeypatch.setenv("SALIENCY_CAM_CACHE_DIR", str(tmp_path / "cache"))
    out, models = tmp_path / "demo out", tmp_path / "models"
    code = run_main(["demo", "--output", str(out), "--models-dir", str(models)])
    err = capsys.readouterr().err
    assert code != 0, err
    assert err.startswith("error: the demo could not download") and "Traceback" not in err
    assert "cannot reach 127.0.0.1" in err
    assert "--weights-path" not in err  # export's option: the demo has none
    assert max(len(line) for line in err.splitlines()) <= 100, err
    start = err.index("    saliency-cam")
    command = err[start:].split("\n")
    command = "\n".join(command[: 1 + sum(1 for _ in _continued(command))])
    assert "saliency-cam" not in err[start + len(command) :], err  # one command
    pasted = command.replace("\\\n", "")  # the shell's line continuation
    name, params = _parse(shlex.split(pasted)[1:])  # the real CLI parses it
    assert name == "demo" and params["weights"] == "random"
    assert params["output"] == out and params["models_dir"] == models


def _continued(lines: list[str]) -> Iterator[str]:
    """The lines of a shell command that its first line continues with ``\\``."""
    for line, after in zip(lines, lines[1:], strict=False):
        if not line.endswith("\\"):
            return
        yield after


def _hint(tmp_path: Path, models_dir: Path | None) -> tuple[str, str]:
    with pytest.raises(ModelNotFoundError) as caught:
        find_variant("low", "int8", models_dir)
    message = str(caught.value)
    hint = re.search(r"run '([^']+)'", message)
    assert hint, message
    return message, hint.group(1)


def test_missing_model_hint_keeps_the_models_dir_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = tmp_path / "default models"
    monkeypatch.setenv(MODELS_DIR_ENV, str(default))
    mine = tmp_path / "my models"  # a space: the hint quotes it as one word
    _, hint = _hint(tmp_path, mine)
    name, params = _parse(shlex.split(hint)[1:])
    assert name == "export" and params["models_dir"] == mine and "int8" in params["precision"]
    _, hint = _hint(tmp_path, None)  # the default folder: export writes there anyway
    assert "--models-dir" not in hint
    assert _parse(shlex.split(hint)[1:])[1]["models_dir"] is None


def test_missing_model_hint_names_the_export_extra_only_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message, _ = _hint(tmp_path, tmp_path)
    assert "extra" not in message and "pip install" not in message  # it is installed here
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name)
    )
    message, _ = _hint(tmp_path, tmp_path)
    assert "needs the export extra, tf2onnx not installed" in message
    assert re.search(r"pip install .*\[export\]", message)
