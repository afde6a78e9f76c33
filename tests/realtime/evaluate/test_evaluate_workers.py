"""``evaluate -s … --workers N`` and ``--ray``: maps computed by the batch workers (a
local pool, or tasks on a real local Ray), scored jointly (sAUC draws negatives from the
other images): the very report of the serial run, bad stimuli counted as failures the
same way, and the scratch maps removed."""

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


def _reports(
    capsys: pytest.CaptureFixture[str], dataset: Path, models: Path, out: Path, *extra: str
) -> tuple[tuple[str, str], str]:
    """Run evaluate on ``dataset`` with ``extra`` options, the reports into ``out``:
    ``((json text, csv text), stderr)``; checks the exit code and that the scratch maps
    are gone (only the two reports are left)."""
    code, stdout, stderr = _run(
        capsys,
        *("-s", str(dataset / "stim"), "-f", str(dataset / "fix"), "-m", str(dataset / "maps")),
        *("-q", "very_low", "--models-dir", str(models), "--device", "cpu"),
        *("--threads", "1", "--splits", "20"),
        *extra,
        *("--json", str(out / "r.json"), "--csv", str(out / "r.csv")),
    )
    assert code == 1, stdout + stderr  # the unreadable picture (the reports are written)
    assert "1 of 5 image(s) failed" in stderr
    assert sorted(p.name for p in out.iterdir()) == ["r.csv", "r.json"]
    return ((out / "r.json").read_text(), (out / "r.csv").read_text()), stderr


def _check_serial_report(text: str) -> None:
    summary = json.loads(text)
    assert summary["images"]["scored"] == 4
    assert "auc_shuffled" in summary["summary"]  # the joint metric is there
    # the picture that cannot be read is one failed image, with its own line
    assert summary["images"]["failed"] == 1
    assert summary["failed"][0]["image"] == "bad" and "bad.jpg" in summary["failed"][0]["error"]


def test_workers_give_the_serial_report(
    dataset: Path, tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serial, _ = _reports(capsys, dataset, tiny_models_dir, tmp_path / "serial")
    workers, stderr = _reports(
        capsys, dataset, tiny_models_dir, tmp_path / "workers", "--workers", "2"
    )
    assert "2 local worker(s)" in stderr
    assert workers == serial  # same numbers, same text (the bad picture failed in both)
    _check_serial_report(serial[0])


def test_ray_gives_the_serial_report(
    local_ray,
    dataset: Path,
    tiny_models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    serial, _ = _reports(capsys, dataset, tiny_models_dir, tmp_path / "serial")
    on_ray, stderr = _reports(capsys, dataset, tiny_models_dir, tmp_path / "ray", "--ray", "local")
    # the maps came from Ray tasks (the line is wrapped at the capture's width)
    assert "Ray (local/RAY_ADDRESS): 1 CPU per task" in " ".join(stderr.split())
    assert on_ray == serial  # same numbers, same text (the bad picture failed in both)
    _check_serial_report(serial[0])


def test_workers_are_refused_for_a_predictions_folder(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, stderr = _run(
        capsys, "-p", str(dataset / "maps"), "-f", str(dataset / "fix"), "--workers", "2"
    )
    assert code != 0
    assert "--stimuli only" in stdout + stderr
