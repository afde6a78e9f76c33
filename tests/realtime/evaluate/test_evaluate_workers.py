"""``evaluate -s … --workers N``: maps computed by the batch workers, scored jointly
(sAUC draws negatives from the other images): the very report of the serial run, bad
stimuli counted as failures the same way, and the scratch maps removed."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import run_main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_main(["evaluate", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """stim/ (4 pictures of different sizes, one in a sub-folder, plus one that is not a
    picture), fix/ (binary fixation maps) and maps/ (continuous ground truth)."""
    rng = np.random.default_rng(3)
    root = tmp_path / "data"
    for name in ("stim/sub", "fix/sub", "maps/sub"):
        (root / name).mkdir(parents=True)
    sizes = {"a": (48, 64), "b": (36, 64), "c": (60, 40), "sub/d": (48, 48), "bad": (30, 30)}
    for key, (h, w) in sizes.items():
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx = rng.integers(h // 4, 3 * h // 4), rng.integers(w // 4, 3 * w // 4)
        gt = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (0.02 * h * w))
        fix = rng.random((h, w)) < 0.08 * gt
        fix[cy, cx] = True
        cv2.imwrite(str(root / "maps" / f"{key}.png"), np.round(gt * 255).astype(np.uint8))
        cv2.imwrite(str(root / "fix" / f"{key}.png"), fix.astype(np.uint8) * 255)
        picture = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        picture[max(0, cy - 6) : cy + 6, max(0, cx - 6) : cx + 6] = 255
        if key == "bad":
            (root / "stim" / "bad.jpg").write_bytes(b"this is not a JPEG" * 4)
        else:
            cv2.imwrite(str(root / "stim" / f"{key}.png"), picture)
    return root


def test_workers_give_the_serial_report(
    dataset: Path, tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = [
        *("-s", str(dataset / "stim"), "-f", str(dataset / "fix"), "-m", str(dataset / "maps")),
        *("-q", "very_low", "--models-dir", str(tiny_models_dir), "--device", "cpu"),
        *("--threads", "1", "--splits", "20"),
    ]
    reports = {}
    for name, extra in (("serial", []), ("workers", ["--workers", "2"])):
        out = tmp_path / name
        code, stdout, stderr = _run(
            capsys,
            *common,
            *extra,
            *("--json", str(out / "r.json"), "--csv", str(out / "r.csv")),
        )
        assert code == 0, stdout + stderr
        reports[name] = ((out / "r.json").read_text(), (out / "r.csv").read_text())
        # the scratch maps are gone: only the two reports are left
        assert sorted(p.name for p in out.iterdir()) == ["r.csv", "r.json"]
        if name == "workers":
            assert "2 local worker(s)" in stderr
    assert reports["workers"] == reports["serial"]  # same numbers, same text
    summary = json.loads(reports["serial"][0])
    assert summary["images"]["scored"] == 4
    assert "auc_shuffled" in summary["summary"]  # the joint metric is there
    # the picture that cannot be read is one failed image in both, with the same line
    assert summary["images"]["failed"] == 1
    assert summary["failed"][0]["image"] == "bad" and "bad.jpg" in summary["failed"][0]["error"]


def test_workers_are_refused_for_a_predictions_folder(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, stderr = _run(
        capsys, "-p", str(dataset / "maps"), "-f", str(dataset / "fix"), "--workers", "2"
    )
    assert code != 0
    assert "--stimuli only" in stdout + stderr
