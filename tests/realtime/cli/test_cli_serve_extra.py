"""``saliency-cam serve`` without the serve extra: one line naming the extra and the pip
command that installs it (was "unexpected ModuleNotFoundError"), and the extra holds
what the server's clients need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[3]

#: Runs the CLI in a child where ``module`` is not importable (``sys.modules[m] = None``
#: is how Python marks a module missing: importing it raises ModuleNotFoundError and
#: ``find_spec`` answers None), as in an environment without the serve extra.
HIDE_AND_RUN = (
    "import sys; sys.modules[sys.argv[1]] = None; "
    "from saliency_cam.realtime.cli.main import main; main(sys.argv[2:])"
)


@pytest.mark.parametrize("module", ["fastapi", "uvicorn", "python_multipart"])
def test_serve_without_the_extra_names_the_pip_command(module: str) -> None:
    args = ["serve", "--port", "8765", "--no-browser"]
    result = subprocess.run(
        [sys.executable, "-c", HIDE_AND_RUN, module, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert "serve needs the serve extra" in lines[0] and f"{module} not installed" in lines[0]
    assert " -m pip install " in lines[0] and "[serve]" in lines[0], lines[0]
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


def test_the_serve_extra_holds_what_its_clients_need() -> None:
    """The README's API example and benchmarks/serve_throughput.py talk to the server
    with httpx: installing the serve extra must be enough to run them."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    serve = {req.split(">")[0].split("[")[0].split("=")[0].strip() for req in extras["serve"]}
    assert {"fastapi", "uvicorn", "python-multipart", "httpx"} <= serve
    assert "import httpx" in (ROOT / "README.md").read_text()
