"""Install hints name this interpreter's pip and the place saliency-cam came from, and
every extra a hint names exists."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from saliency_cam.models.install import (
    InstallOrigin,
    install_command,
    install_origin,
    origin_from_direct_url,
)

ROOT = Path(__file__).resolve().parents[2]


def direct_url(url: str, **extra: object) -> str:
    return json.dumps({"url": url, **extra})


@pytest.mark.parametrize(
    ("record", "origin"),
    [
        (None, InstallOrigin("index")),
        ("not json", InstallOrigin("index")),
        (
            direct_url("file:///home/me/saliency%20cam", dir_info={"editable": True}),
            InstallOrigin("editable", "/home/me/saliency cam"),
        ),
        (
            direct_url("file:///src/saliency-cam", dir_info={}),
            InstallOrigin("local", "/src/saliency-cam"),
        ),
        (
            direct_url(
                "https://github.com/x/saliency-cam", vcs_info={"vcs": "git", "commit_id": "a"}
            ),
            InstallOrigin("url", "git+https://github.com/x/saliency-cam"),
        ),
    ],
)
def test_pip_records_are_read(record: str | None, origin: InstallOrigin) -> None:
    assert origin_from_direct_url(record) == origin


def test_commands_follow_the_origin_and_use_this_interpreter() -> None:
    pip = f"{sys.executable} -m pip"
    assert install_command("export", origin=InstallOrigin("index")) == (
        f"{pip} install 'saliency-cam[export]'"
    )
    editable = install_command("serve", origin=InstallOrigin("editable", "/home/me/sc"))
    assert editable == f"{pip} install -e '/home/me/sc[serve]'"
    wheel = install_command(
        "ray", origin=InstallOrigin("local", "/w/saliency_cam-1.0-py3-none-any.whl")
    )
    assert (
        wheel == f"{pip} install 'saliency-cam[ray] @ file:///w/saliency_cam-1.0-py3-none-any.whl'"
    )
    swap = install_command("gpu", replace="onnxruntime", origin=InstallOrigin("index"))
    assert swap == f"{pip} uninstall -y onnxruntime && {pip} install 'saliency-cam[gpu]'"
    assert install_command(packages="av") == f"{pip} install av"


def test_this_checkout_is_seen_as_the_editable_install_it_is() -> None:
    origin = install_origin()
    if origin.kind != "editable":
        pytest.skip(f"saliency-cam is installed as {origin.kind} here")
    assert Path(origin.location).resolve() == ROOT
    assert install_command("export").endswith(f"install -e '{ROOT}[export]'")


def test_every_extra_a_hint_names_is_declared() -> None:
    declared = set(metadata.metadata("saliency-cam").get_all("Provides-Extra") or [])
    named = set()
    for package in ("models", "export", "realtime"):
        for path in (ROOT / package).rglob("*.py"):
            named |= set(re.findall(r"install_command\(\s*[\"'](\w+)[\"']", path.read_text()))
    assert {"export", "openvino", "gpu", "evaluate", "reframe", "ray"} <= named
    assert named <= declared, f"hints name undeclared extras: {sorted(named - declared)}"


def test_a_missing_extra_error_prints_a_runnable_pip_line() -> None:
    """The hint is a command for this environment: its pip part runs as printed."""
    hint = install_command("export")
    pip_part = hint.split(" install ")[0]
    result = subprocess.run(f"{pip_part} --version", shell=True, capture_output=True, text=True)
    assert result.returncode == 0 and "pip" in result.stdout
