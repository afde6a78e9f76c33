"""The command line's contract: usage errors and bad names are one line and exit 2, and
the runtime's module-level imports are all declared runtime dependencies."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "saliency_cam.realtime.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-such-option"], "No such option"),
        (["video"], "Missing argument"),
        (["--quality", "ultra", "--no-display"], "unknown preset 'ultra'"),
        (["--device", "quantum", "--no-display"], "unknown device 'quantum'"),
    ],
)
def test_bad_usage_is_one_clear_line_and_exit_2(args: list[str], message: str) -> None:
    result = _cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:  # module level only: lazy imports inside functions are extras
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_runtime_imports_are_declared_dependencies() -> None:
    # the installed distribution's requirements; those without an extra are the runtime's
    declared = {
        re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")
        for req in requires("saliency-cam") or []
        if "extra ==" not in req
    }
    assert "onnxruntime" in declared
    to_dist = packages_distributions()
    undeclared = {}
    for folder in ("models", "realtime"):
        for path in (ROOT / folder).glob("*.py"):
            if path.name == "msinet.py":  # the Keras model: export extra by design
                continue
            for module in _module_level_imports(path):
                if module in sys.stdlib_module_names or module in ("saliency_cam", "__future__"):
                    continue
                dists = {d.lower().replace("_", "-") for d in to_dist.get(module, [module])}
                # opencv-python and opencv-python-headless both provide cv2
                if not dists & declared and not (module == "cv2" and "opencv-python" in declared):
                    undeclared[f"{folder}/{path.name}"] = module
    assert not undeclared, f"imported at module level but not a runtime dependency: {undeclared}"


def test_missing_export_extra_is_named_with_the_install_command(monkeypatch) -> None:
    import importlib.util

    from saliency_cam.export import missing_export_modules, require_export_extra
    from saliency_cam.models.errors import SaliencyCamError

    assert missing_export_modules() == []  # the test environment has the export extra
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name)
    )
    assert missing_export_modules() == ["tf2onnx"]
    with pytest.raises(SaliencyCamError, match=r"demo needs tf2onnx .*pip install .*\[export\]"):
        require_export_extra("the demo")


def test_models_lists_what_is_exported_and_the_disk_it_takes(tiny_models_dir: Path) -> None:
    result = _cli("models", "--models-dir", str(tiny_models_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"models folder: {tiny_models_dir}"
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert "fp32 UNTRAINED" in rows["very_low"] and "fp32 UNTRAINED" in rows["low"]
    assert rows["very_high"].endswith("not exported")
    on_disk = sum(p.stat().st_size for p in tiny_models_dir.glob("*.onnx")) / 2**20
    assert lines[-1] == f"2 exported file(s), {on_disk:.0f} MB on disk"
