"""``evaluate -s … --model a --model b --model c``: one table of three kinds of model (an
exported network, a classical model, an added ONNX file), written as JSON/CSV/Markdown and
a plot, whose every metric is the single-model ``evaluate`` of that model (to 1e-9), also
through ``--workers``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import run_main
from toy_onnx import make_graph

from saliency_cam.models.contract import Contract
from saliency_cam.realtime.evaluate.compare import COLUMNS
from saliency_cam.realtime.runtime.added_models import add_model

MODELS = ("very_low", "spectral-residual", "toy")


@pytest.fixture
def study(tmp_path: Path, tiny_models_dir: Path) -> tuple[Path, Path]:
    """(data folder with stim/ fix/ maps/, a models folder: the tiny exported models plus
    the added toy ONNX model)."""
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    toy = make_graph(tmp_path / "toy.onnx", layout="nchw", pool=True)
    add_model("toy", toy, Contract(layout="nchw", input_range="0-1", output="sigmoid"), models)
    rng = np.random.default_rng(5)
    root = tmp_path / "data"
    for name in ("stim", "fix", "maps"):
        (root / name).mkdir(parents=True)
    for key, (h, w) in {"a": (48, 64), "b": (36, 64), "c": (60, 40)}.items():
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx = rng.integers(h // 4, 3 * h // 4), rng.integers(w // 4, 3 * w // 4)
        gt = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (0.02 * h * w))
        fix = rng.random((h, w)) < 0.08 * gt
        fix[cy, cx] = True
        picture = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        picture[max(0, cy - 6) : cy + 6, max(0, cx - 6) : cx + 6] = 255
        cv2.imwrite(str(root / "maps" / f"{key}.png"), np.round(gt * 255).astype(np.uint8))
        cv2.imwrite(str(root / "fix" / f"{key}.png"), fix.astype(np.uint8) * 255)
        cv2.imwrite(str(root / "stim" / f"{key}.png"), picture)
    return root, models


def _evaluate(capsys, data: Path, models: Path, *extra: str) -> str:
    code = run_main(
        [
            "evaluate",
            *("-s", str(data / "stim"), "-f", str(data / "fix"), "-m", str(data / "maps")),
            *("--models-dir", str(models), "--device", "cpu", "--threads", "1"),
            *("--splits", "10"),
            *extra,
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    return out.out


def test_three_models_in_one_table_match_their_single_runs(study, tmp_path: Path, capsys) -> None:
    data, models = study
    out = tmp_path / "cmp"
    shown = _evaluate(
        capsys,
        data,
        models,
        *[arg for name in MODELS for arg in ("--model", name)],
        *("--json", str(out / "c.json"), "--csv", str(out / "c.csv")),
        *("--markdown", str(out / "c.md"), "--plot", str(out / "c.png")),
    )
    for header in ("AUC-J", "SIM", "EMD", "AUC-B", "sAUC", "CC", "NSS", "KL", "IG", "FPS"):
        assert header in shown
    table = json.loads((out / "c.json").read_text())
    assert [row["name"] for row in table["models"]] == list(MODELS)
    assert cv2.imread(str(out / "c.png")) is not None
    markdown = (out / "c.md").read_text()
    assert all(f"| {name} |" in markdown for name in MODELS)
    csv_lines = (out / "c.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(MODELS)
    for row in table["models"]:
        assert row["images"]["scored"] == 3 and row["fps"] > 0
        single = tmp_path / f"single_{row['name']}.json"
        _evaluate(capsys, data, models, "--model", row["name"], "--json", str(single))
        summary = json.loads(single.read_text())["summary"]
        for key, _ in COLUMNS:
            want = summary[key]["mean"] if key in summary else None
            got = row["metrics"][key]
            if want is None:
                assert got is None, (row["name"], key)
            else:
                assert math.isclose(got, want, rel_tol=0, abs_tol=1e-9), (row["name"], key)


def test_comparison_through_workers_is_the_serial_table(study, tmp_path: Path, capsys) -> None:
    data, models = study
    chosen = [arg for name in MODELS for arg in ("--model", name)]
    _evaluate(capsys, data, models, *chosen, "--json", str(tmp_path / "s" / "c.json"))
    _evaluate(
        capsys, data, models, *chosen, "--workers", "2", "--json", str(tmp_path / "w" / "c.json")
    )
    serial = json.loads((tmp_path / "s" / "c.json").read_text())["models"]
    parallel = json.loads((tmp_path / "w" / "c.json").read_text())["models"]
    for one, other in zip(serial, parallel, strict=True):
        assert one["name"] == other["name"]
        for key, value in one["metrics"].items():
            if value is None:
                assert other["metrics"][key] is None
            else:
                assert math.isclose(value, other["metrics"][key], abs_tol=1e-9), (one["name"], key)


def test_comparison_on_ray(study, tmp_path: Path, capsys, local_ray) -> None:
    data, models = study
    chosen = [arg for name in MODELS for arg in ("--model", name)]
    _evaluate(capsys, data, models, *chosen, "--json", str(tmp_path / "s" / "c.json"))
    _evaluate(capsys, data, models, *chosen, "--ray", "local", "--json", str(tmp_path / "r.json"))
    serial = json.loads((tmp_path / "s" / "c.json").read_text())["models"]
    on_ray = json.loads((tmp_path / "r.json").read_text())["models"]
    for one, other in zip(serial, on_ray, strict=True):
        assert one["name"] == other["name"]
        assert one["metrics"] == pytest.approx(other["metrics"], abs=1e-9)
