"""``saliency-cam serve`` as a user runs it: a real process, stopped by signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from saliency_cam.realtime.apps.serve.server import free_port  # noqa: E402

COMMAND = [sys.executable, "-m", "saliency_cam.realtime.cli.main", "serve", "--no-browser"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp_path), "SALIENCY_CAM_TOKEN": ""}


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not come up")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_until_a_signal_and_cleans_up(
    tiny_models_dir: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    port = free_port()
    args = ["--port", str(port), "--quality", "very_low", "--models-dir", str(tiny_models_dir)]
    process = subprocess.Popen(
        [*COMMAND, *args],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process)
        assert httpx.get(f"{url}/healthz").json()["loaded"] == ["very_low"]  # loaded up front
        assert list(tmp_path.glob("saliency-cam-serve-*"))  # the per-server temp dir
        process.send_signal(stop)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"serving on {url}" in err and "Traceback" not in err
    assert not list(tmp_path.glob("saliency-cam-serve-*"))  # deleted on shutdown


def test_public_address_without_token_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [*COMMAND, "--host", "0.0.0.0", "--port", str(free_port())],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "--token" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_model_is_one_error_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [*COMMAND, "--port", str(free_port()), "--models-dir", str(tmp_path / "none")],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: no medium fp32 model") and "Traceback" not in done.stderr


def test_token_from_a_file_stays_out_of_ps(tiny_models_dir: Path, tmp_path: Path) -> None:
    """``--token-file``: the token guards the API and is not on the command line that
    ``ps`` shows other users; /healthz answers a probe without it."""
    token = "token-from-a-file-0123456789"
    secret = tmp_path / "token.txt"
    secret.write_text(token + "\n")
    port = free_port()
    args = ["--port", str(port), "--quality", "very_low", "--models-dir", str(tiny_models_dir)]
    process = subprocess.Popen(
        [*COMMAND, *args, "--token-file", str(secret)],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/v1/models").status_code == 401
        authorized = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{url}/v1/models", headers=authorized).status_code == 200
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        assert token not in command_line
    finally:
        process.terminate()
        process.communicate(timeout=60)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--token", "short-token"], "at least 16 characters"),
        (["--token-file", "missing.txt"], "--token-file missing.txt: cannot read it"),
    ],
    ids=["short-token", "missing-file"],
)
def test_weak_or_missing_token_is_one_error_line(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    done = subprocess.run(
        [*COMMAND, "--host", "0.0.0.0", "--port", str(free_port()), *extra],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr
