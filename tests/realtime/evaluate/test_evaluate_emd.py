"""EMD in ``saliency-cam evaluate``: named in --help with its cost, picked alone with
``--metrics emd``, refused in one line without POT, and scored without loading
TensorFlow (POT would load it: seconds, and its log lines)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("ot")

from cli_process import run_main  # noqa: E402

from saliency_cam.models import metrics  # noqa: E402


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    """pred/ (npy), fix/ (binary maps) and maps/ for two 48x64 images."""
    yy, xx = np.mgrid[0:48, 0:64]
    for name in ("pred", "fix", "maps"):
        (tmp_path / name).mkdir()
    for i in range(2):
        gt = np.exp(-((yy - 20 - 3 * i) ** 2 + (xx - 30) ** 2) / 50.0)
        cv2.imwrite(str(tmp_path / "maps" / f"img{i}.png"), np.round(gt * 255).astype(np.uint8))
        cv2.imwrite(str(tmp_path / "fix" / f"img{i}.png"), (gt > 0.9).astype(np.uint8) * 255)
        np.save(tmp_path / "pred" / f"img{i}.npy", np.roll(gt, 5, axis=1))
    return tmp_path


def _args(root: Path, *extra: str) -> list[str]:
    return ["evaluate", "-p", str(root / "pred"), "-f", str(root / "fix"), "-m", str(root / "maps"),
            *extra]  # fmt: skip


def test_help_lists_emd_with_its_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["evaluate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # unwrap the help's lines
    assert "info_gain,emd" in text and "emd is the slow one" in text and "EMD" in text


def test_metrics_emd_picks_emd_alone(folders: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only EMD is scored, and no note claims the fixations (which were given) are
    missing (was: 'AUC-Judd/... need fixations: pass --fixations DIR')."""
    assert run_main(_args(folders, "--metrics", "emd", "--json", str(folders / "s.json"))) == 0
    out = capsys.readouterr().out
    assert "EMD" in out and "CC " not in out and "need fixations" not in out
    import json

    summary = json.loads((folders / "s.json").read_text())
    assert list(summary["summary"]) == ["emd"] and summary["summary"]["emd"]["mean"] > 0


def test_metrics_emd_without_pot_is_one_line(
    folders: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(metrics, "pot_installed", lambda: False)  # a machine without POT
    assert run_main(_args(folders, "--metrics", "emd")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "metric emd needs POT" in err[0] and "pip install" in err[0]


def test_emd_does_not_load_tensorflow() -> None:
    code = (
        "import sys, numpy as np\n"
        "from saliency_cam.models import metrics\n"
        "g = np.zeros((64, 64)); g[10:20, 10:20] = 1\n"
        "assert metrics.emd(g, np.roll(g, 8, axis=1)) > 0\n"
        "print('tensorflow' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip() == "False", done.stderr[-2000:]
