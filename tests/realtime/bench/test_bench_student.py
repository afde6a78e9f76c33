"""``saliency-cam bench`` with the student and map reuse: the lite network's rows beside
MSI-Net's (same quality, backends, precisions, rounds), the video job with ``--reuse``
beside the every-frame one, and every pipeline row's FPS over its network alone, on the
tiny very_low models with very few iterations. Speeds are recorded, never asserted:
the tests check that each figure is the one its rows imply."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from saliency_cam.models.manifest import Manifest, UserModel
from saliency_cam.realtime.bench import report
from saliency_cam.realtime.bench.runner import BenchConfig, run_bench
from saliency_cam.realtime.bench.student import (
    UNTRAINED_CROSS_CC,
    cross_arch_cc,
    find_student,
)
from saliency_cam.realtime.bench.summary import summarize
from saliency_cam.realtime.cli.main import main

pytest.importorskip("tensorflow")
pytest.importorskip("onnx")

Rows = dict[tuple[str, str, str, int], dict[str, Any]]


@pytest.fixture(scope="module")
def student_dir(tiny_derived_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MSI-Net very_low fp32/int8 plus the random-weight lite student at very_low, as
    the benchmark exports it into its cache (UNTRAINED)."""
    from saliency_cam.export.random_students import export_random_students

    directory = tmp_path_factory.mktemp("student") / "models"
    shutil.copytree(tiny_derived_dir, directory)
    names = export_random_students(["very_low"], directory, ["fp32", "int8"], progress=False)
    assert names == {"very_low": "lite_very_low"}
    return directory


@pytest.fixture(scope="module")
def result(student_dir: Path) -> dict[str, Any]:
    """very_low, onnxruntime fp32 + int8, inference + pipeline (every frame, reuse 3)."""
    config = BenchConfig(
        qualities=["very_low"],
        devices=["cpu"],
        backends=["onnxruntime"],
        precisions=["int8"],
        tensorflow=False,
        gemm=False,
        models_dir=student_dir,
        warmup=1,
        rounds=2,
        round_seconds=0.02,
        min_iterations=2,
        pipeline_seconds=0.1,  # MSI-Net's clip: its minimum length, 24 frames
        reuse=3,
    )
    return run_bench(config)


def _rows(result: dict[str, Any]) -> Rows:
    """Rows by (arch, mode, precision, reuse)."""
    return {(r["arch"], r["mode"], r["precision"], r.get("reuse", 1)): r for r in result["results"]}


def test_export_random_students_is_untrained_and_kept(student_dir: Path) -> None:
    from saliency_cam.export.random_students import export_random_students

    manifest = Manifest.load(student_dir)
    assert manifest.user_models["lite_very_low"].arch == "lite"
    fp32 = manifest.find("lite_very_low", "fp32")
    assert fp32 is not None and fp32.arch == "lite" and (fp32.height, fp32.width) == (48, 64)
    assert fp32.trained is False and "UNTRAINED" in fp32.weights["origin"]
    int8 = manifest.find("lite_very_low", "int8")
    assert int8 is not None and int8.trained is False
    before = fp32.path.stat().st_mtime_ns
    export_random_students(["very_low"], student_dir, ["fp32"], progress=False)
    assert fp32.path.stat().st_mtime_ns == before  # up to date: not exported again


def test_student_rows_beside_msinet(result: dict[str, Any]) -> None:
    rows = _rows(result)
    assert set(rows) == {
        (arch, mode, precision, reuse)
        for arch in ("msinet", "lite")
        for precision in ("fp32", "int8")
        for mode, reuse in (("inference", 1), ("pipeline", 1), ("pipeline", 3))
    }
    from saliency_cam.models.lite_arch import gmacs

    for (arch, _, _, _), row in rows.items():
        assert row["student"] is (arch == "lite")
        assert row["quality"] == "very_low" and (row["height"], row["width"]) == (48, 64)
        assert row["model"] == ("lite_very_low" if arch == "lite" else "very_low")
        # each network's own cost per frame: the student's is ~100x smaller
        expected = 2 * gmacs(48, 64) if arch == "lite" else 3.64
        assert row["gflops_per_frame"] == pytest.approx(expected, abs=0.01)
        assert row["trained"] is False
    lite_int8 = rows[("lite", "inference", "int8", 1)]
    # quantisation fidelity against the student's own fp32, from its manifest
    assert lite_int8["fidelity_reference"] == "lite onnxruntime fp32"
    assert 0.9 < lite_int8["fidelity_cc"] <= 1 and lite_int8["fidelity_source"] == "manifest"
    for key, row in rows.items():
        if key[0] == "lite":  # random networks: no CC across architectures, and why
            assert row["cc_vs_msinet_fp32"] is None
            assert row["cc_vs_msinet_note"] == UNTRAINED_CROSS_CC
        else:
            assert "cc_vs_msinet_fp32" not in row
    lite_vs = result["summary"]["cpu"]["lite_vs_msinet"]
    for precision in ("fp32", "int8"):
        lite, msinet = (
            rows[("lite", "inference", precision, 1)],
            rows[("msinet", "inference", precision, 1)],
        )
        assert lite_vs[f"very_low/onnxruntime/{precision}"] == pytest.approx(
            lite["fps"] / msinet["fps"], rel=1e-2
        )


def test_reuse_rows_propagate_maps(result: dict[str, Any]) -> None:
    rows = _rows(result)
    for arch in ("msinet", "lite"):
        for precision in ("fp32", "int8"):
            plain = rows[(arch, "pipeline", precision, 1)]
            reused = rows[(arch, "pipeline", precision, 3)]
            frames = plain["clip"]["frames"]
            # each network its own clip, >= 24 frames (the student's is longer: it is faster)
            assert frames == reused["clip"]["frames"] >= 24
            assert plain["maps"] == {"computed": frames, "propagated": 0}
            maps = reused["maps"]
            assert maps["computed"] + maps["propagated"] == frames
            # the network every 3rd frame at most (sooner only on a change or a cut)
            assert frames // 3 <= maps["computed"] < frames and maps["propagated"] > 0
            # the network's work per second: only the frames it ran on
            assert reused["effective_gflops"] == pytest.approx(
                reused["gflops_per_frame"] * reused["fps"] * maps["computed"] / frames, rel=0.05
            )
            assert reused["reuse_vs_every_frame"] == pytest.approx(
                reused["fps"] / plain["fps"], rel=1e-2
            )
            key = f"very_low/{arch}/{precision}"
            assert result["summary"]["cpu"]["reuse_vs_every_frame"][key] == pytest.approx(
                reused["reuse_vs_every_frame"]
            )


def test_every_pipeline_row_has_its_end_to_end_ratio(result: dict[str, Any]) -> None:
    rows = _rows(result)
    for (arch, mode, precision, _), row in rows.items():
        if mode != "pipeline":
            continue
        alone = rows[(arch, "inference", precision, 1)]
        assert row["inference_fps"] == pytest.approx(alone["fps"], rel=1e-2)
        assert row["end_to_end_vs_inference"] == pytest.approx(row["fps"] / alone["fps"], rel=1e-2)
    student = result["summary"]["cpu"]["student_pipeline_vs_inference"]
    assert (
        student["very_low/fp32"] == rows[("lite", "pipeline", "fp32", 1)]["end_to_end_vs_inference"]
    )
    header, body = report.table_rows(report.merge_results([("run", result)]))
    column = header.index("e2e/inf")
    what = header.index("what")
    cells = {line[what]: line for line in body}
    lite_reuse = cells["cpu lite fp32 pipeline reuse 3"]
    expected = rows[("lite", "pipeline", "fp32", 3)]["end_to_end_vs_inference"]
    assert lite_reuse[column] == f"{expected:.2f}"
    assert cells["cpu lite int8"][column] == ""  # inference rows have no such ratio
    assert "CC vs MSI-Net: n/a (UNTRAINED)" in cells["cpu lite int8"][-1]
    assert "maps propagated" in lite_reuse[-1]


def test_student_target_at_very_high() -> None:
    row = {"mode": "pipeline", "runtime": "onnxruntime", "device": "cpu", "precision": "fp32"}
    lite = {"arch": "lite", "student": True, "quality": "very_high"}
    rows = [
        {**row, "mode": "inference", "quality": "very_high", "fps": 2.0, "student": False},
        {**row, **lite, "mode": "inference", "fps": 40.0},
        {**row, **lite, "fps": 30.0, "reuse": 1, "end_to_end_vs_inference": 0.75},
        {**row, **lite, "fps": 60.0, "reuse": 3, "reuse_vs_every_frame": 2.0},
    ]
    summary = summarize({"results": rows})
    assert summary["cpu"]["lite_vs_msinet"] == {"very_high/onnxruntime/fp32": 20.0}
    assert summary["cpu"]["reuse_vs_every_frame"] == {"very_high/lite/fp32": 2.0}
    target = next(t for t in summary["targets"] if t["target"].startswith("student"))
    assert (target["quality"], target["value"], target["goal"], target["met"]) == (
        "very_high",
        0.75,
        0.7,
        True,
    )
    # the student's and the reuse rows stay out of MSI-Net's own ratios
    assert summary["cpu"]["fps_fp32"] == {"very_high": 2.0}
    assert "pipeline_vs_inference" not in summary["cpu"]


class _Session:
    def __init__(self, trained: bool, scale: float) -> None:
        self.variant = type("V", (), {"trained": trained})()
        self.scale = scale

    def infer(self, frame: np.ndarray) -> np.ndarray:
        return frame[..., 0].astype(np.float32) * self.scale + (self.scale < 0) * 255


def test_cross_arch_cc_only_between_trained_networks() -> None:
    frames = [np.random.default_rng(i).integers(0, 255, (8, 8, 3), np.uint8) for i in range(2)]
    same, inverse = _Session(True, 1.0), _Session(True, -1.0)
    values, note = cross_arch_cc(_Session(True, 2.0), {("a", "fp32"): (same, None)}, frames)
    assert values == {("a", "fp32"): pytest.approx(1.0)} and "held-out" in note
    values, _ = cross_arch_cc(_Session(True, 2.0), {("a", "fp32"): (inverse, None)}, frames)
    assert values[("a", "fp32")] == pytest.approx(-1.0)
    values, note = cross_arch_cc(_Session(False, 2.0), {("a", "fp32"): (same, None)}, frames)
    assert values == {("a", "fp32"): None} and note == UNTRAINED_CROSS_CC


def test_find_student_by_name_then_size(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    assert find_student(manifest, "very_low") is None
    manifest.put_user_model(UserModel("mine", 48, 64, arch="lite"))
    manifest.put_user_model(UserModel("other_size", 72, 96, arch="lite"))
    manifest.put_user_model(UserModel("teacher", 48, 64, arch="msinet"))
    assert find_student(manifest, "very_low") == "mine"
    assert find_student(manifest, "low") == "other_size"
    manifest.put_user_model(UserModel("lite_very_low", 48, 64, arch="lite"))
    assert find_student(manifest, "very_low") == "lite_very_low"
    assert find_student(manifest, "medium") is None


def test_cli_no_student_and_no_reuse(
    student_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    out = tmp_path / "r.json"
    args = ["bench", "-q", "very_low", "-d", "cpu", "-b", "onnxruntime", "--precision", "fp32"]
    args += ["--models-dir", str(student_dir), "--no-tf", "--mode", "pipeline"]
    args += ["--rounds", "1", "--round-seconds", "0.02", "--warmup", "0", "--json", str(out)]
    main([*args, "--no-student", "--reuse", "1"])
    data = json.loads(out.read_text())
    assert data["settings"]["student"] is False and data["settings"]["reuse"] == 1
    assert {(r["arch"], r["mode"], r.get("reuse", 1)) for r in data["results"]} == {
        ("msinet", "inference", 1),
        ("msinet", "pipeline", 1),
    }
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--reuse", "0"])
    assert exit_info.value.code != 0 and "--reuse" in capsys.readouterr().err
