"""Run ``saliency-cam`` as a real child process (for signal tests): start it, wait for
a file or a line, send a signal, collect exit code and output."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

MAIN = "saliency_cam.realtime.cli.main"


def start_cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """``python -m saliency_cam.realtime.cli.main ARGS`` in ``cwd``, output captured."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    return subprocess.Popen(
        [sys.executable, "-m", MAIN, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], timeout: float) -> None:
    """Poll ``condition`` until true; fail early (with the child's output) if the child
    exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"exited {process.returncode} too early:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            raise AssertionError(f"timed out waiting:\n{out}\n{err}")
        time.sleep(0.05)


#: What :func:`wait_for_stderr` has read of each child's stderr (``stop_cli`` prepends it).
_STDERR_READ: dict[int, str] = {}


def wait_for_stderr(process: subprocess.Popen[str], text: str, timeout: float) -> None:
    """Read the child's stderr until ``text`` appears (the child says it is at work):
    a signal test waits for proof that the work is under way, never for a fixed time,
    which a fast CPU outruns. Fails early, with the output, if the child exits first."""
    assert process.stderr is not None
    fd = process.stderr.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], 0.05)
        chunk = os.read(fd, 65536) if ready else b""
        seen += chunk
        if (ready and not chunk) or (not ready and process.poll() is not None):
            out, err = process.communicate()
            raise AssertionError(f"exited {process.returncode} first:\n{out}\n{seen.decode()}{err}")
        if time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            raise AssertionError(f"no {text!r} in time:\n{out}\n{seen.decode()}{err}")
    _STDERR_READ[process.pid] = seen.decode(errors="replace")


def stop_cli(
    process: subprocess.Popen[str], signum: int = signal.SIGTERM, timeout: float = 60
) -> tuple[int, str, str]:
    """Send ``signum``, wait for the exit; return ``(exit code, stdout, stderr)``
    (stderr whole: with what :func:`wait_for_stderr` read before)."""
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"did not stop on {signum}:\n{out}\n{err}") from None
    return process.returncode, out, _STDERR_READ.pop(process.pid, "") + err


def partials(folder: Path) -> list[Path]:
    """Write-then-rename temporaries (``.name.XXXX.partial.ext``) anywhere under ``folder``."""
    return [p for p in folder.rglob(".*") if ".partial" in p.name]


def run_main(args: list[str]) -> int:
    """Run the CLI in this process (fast; output goes to pytest's capture) and return
    its exit code, as the shell would see it."""
    from saliency_cam.realtime.cli.main import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def image_command_map(picture: Path, models_dir: Path, quality: str = "very_low") -> Path:
    """``saliency-cam image PICTURE`` on onnxruntime (what the server's sessions run:
    ``--backend auto`` might pick OpenVINO); returns the written map's path."""
    code = run_main(
        [
            "image",
            str(picture),
            "-q",
            quality,
            "--models-dir",
            str(models_dir),
            "--no-progress",
            "--backend",
            "onnxruntime",
        ]
    )
    assert code == 0, f"saliency-cam image exited {code}"
    return picture.with_name(f"{picture.stem}_saliency.png")
