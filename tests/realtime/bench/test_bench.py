"""The benchmark's own logic on the tiny very_low variants with very few iterations:
the result's schema, the reports (Markdown, plot, table), ``--compare``, the derived
ratios and targets, and the pieces (timing rounds, GEMM probe, TF weights, fingerprint).
Speeds are recorded, never asserted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from saliency_cam.models.atomic import write_json
from saliency_cam.models.errors import InputError
from saliency_cam.realtime.bench import report
from saliency_cam.realtime.bench.runner import SCHEMA, BenchConfig, run_bench
from saliency_cam.realtime.bench.summary import summarize
from saliency_cam.realtime.bench.timing import Case, measure_interleaved
from saliency_cam.realtime.cli.main import main

pytest.importorskip("tensorflow")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def result(tiny_derived_dir: Path) -> dict[str, Any]:
    """One real run: very_low, fp32 + int8, inference + pipeline, TensorFlow, GEMM."""
    config = BenchConfig(
        qualities=["very-low"],
        devices=["cpu"],
        backends=["onnxruntime"],  # OpenVINO beside it: tests/realtime/bench/test_bench_backends.py
        precisions=["int8"],
        models_dir=tiny_derived_dir,
        warmup=1,
        rounds=2,
        round_seconds=0.05,
        min_iterations=2,
        pipeline_seconds=0.1,  # the clip has its minimum length, 24 frames
        label="test machine",
    )
    messages: list[str] = []
    data = run_bench(config, messages.append)
    assert any("TensorFlow" in m for m in messages)
    return data


def test_result_schema(result: dict[str, Any]) -> None:
    assert result["schema"] == SCHEMA
    assert result["untrained"] is True and "UNTRAINED" in result["note"]
    assert result["settings"]["qualities"] == ["very_low"]
    fp = result["fingerprint"]
    for key in ("cpu", "logical_cores", "memory_gb", "onnxruntime", "opencv", "numpy", "id"):
        assert fp[key], key
    assert fp["tensorflow"] and "CPUExecutionProvider" in fp["providers"]
    assert result["gemm"]["cpu"]["gflops"] > 0
    kinds = {(r["mode"], r["runtime"], r["precision"]) for r in result["results"]}
    assert kinds == {
        ("inference", "onnxruntime", "fp32"),
        ("inference", "onnxruntime", "int8"),
        ("pipeline", "onnxruntime", "fp32"),
        ("pipeline", "onnxruntime", "int8"),
        ("inference", "tensorflow", "fp32"),
    }
    for row in result["results"]:
        assert row["quality"] == "very_low" and (row["height"], row["width"]) == (48, 64)
        assert row["gflops_per_frame"] == pytest.approx(3.64, abs=0.01)
        assert row["iterations"] >= 2 and row["median_ms"] > 0 and row["p90_ms"] >= row["median_ms"]
        assert row["fps"] == pytest.approx(1000 / row["median_ms"], rel=1e-3)
        # a reuse row counts the frames the network ran on only
        maps = row.get("maps") if row.get("reuse", 1) > 1 else None
        share = maps["computed"] / (maps["computed"] + maps["propagated"]) if maps else 1.0
        assert row["effective_gflops"] == pytest.approx(3.64 * row["fps"] * share, rel=0.01)
        assert row["peak_fraction"] == pytest.approx(
            row["effective_gflops"] / row["gemm_gflops_same_rounds"], rel=0.01
        )
    int8 = next(r for r in result["results"] if r["precision"] == "int8")
    assert 0 < int8["fidelity_cc"] <= 1 and "default_ok" in int8
    tf = next(r for r in result["results"] if r["runtime"] == "tensorflow")
    assert tf["parity_max_abs"] < 1e-3  # the baseline runs the very same weights
    pipe = next(r for r in result["results"] if r["mode"] == "pipeline")
    assert pipe["clip"] == {"height": 480, "width": 640, "frames": 24}
    assert pipe["iterations"] == 2  # one whole 24-frame run per round
    assert pipe["latency_ms"]["count"] == 24 and pipe["latency_ms"]["p50"] > 0
    assert {"read", "process", "output"} <= set(pipe["stages_ms"])
    json.dumps(result)  # serialisable as is


def test_pipeline_rows_show_end_to_end_next_to_inference(result: dict[str, Any]) -> None:
    rows = {
        (r["mode"], r["precision"]): r for r in result["results"] if r["runtime"] != "tensorflow"
    }
    for precision in ("fp32", "int8"):
        pipe, alone = rows[("pipeline", precision)], rows[("inference", precision)]
        assert pipe["inference_fps"] == pytest.approx(alone["fps"], rel=1e-2)
        assert pipe["end_to_end_vs_inference"] == pytest.approx(
            pipe["fps"] / alone["fps"], rel=1e-2
        )
        # the video job's own stages, as `saliency-cam video` prints them
        assert {"read", "preprocess", "infer", "render", "encode"} <= set(pipe["stages_ms"])
    md = report.markdown(report.merge_results([("run", result)]))
    assert "network alone" in md and "of it end to end" in md


def test_summary_ratios_come_from_the_rows(result: dict[str, Any]) -> None:
    # MSI-Net's ratios come from its every-frame rows (reuse rows: test_bench_student.py)
    rows = {
        (r["mode"], r["runtime"], r["precision"]): r
        for r in result["results"]
        if r.get("reuse", 1) == 1
    }
    cpu = result["summary"]["cpu"]
    fp32 = rows[("inference", "onnxruntime", "fp32")]
    tf = rows[("inference", "tensorflow", "fp32")]
    assert cpu["ort_vs_tf"]["very_low"] == pytest.approx(fp32["fps"] / tf["fps"], rel=1e-2)
    int8 = rows[("inference", "onnxruntime", "int8")]
    assert cpu["int8_vs_fp32"]["very_low"]["speedup"] == pytest.approx(
        int8["fps"] / fp32["fps"], rel=1e-2
    )
    pipe = rows[("pipeline", "onnxruntime", "fp32")]
    assert cpu["pipeline_vs_inference"]["very_low/fp32"] == pytest.approx(
        pipe["fps"] / fp32["fps"], rel=1e-2
    )
    names = {t["target"] for t in result["summary"]["targets"]}
    assert "onnxruntime ÷ TensorFlow FPS" in names  # very_low has a TF target


def _row(quality: str, fps: float, **kw: Any) -> dict[str, Any]:
    base = {"mode": "inference", "runtime": "onnxruntime", "device": "cpu", "precision": "fp32"}
    return {**base, "quality": quality, "fps": fps, **kw}


def test_targets_on_known_numbers() -> None:
    rows = [
        _row("medium", 10.0, peak_fraction=0.9),
        _row("medium", 25.0, precision="int8", fidelity_cc=0.995),
        _row("medium", 9.5, mode="pipeline"),
        _row("very_high", 2.0, peak_fraction=0.5),
        _row("very_high", 2.0, runtime="tensorflow"),
        _row("very_high", 3.0, precision="int8", fidelity_cc=0.98),
    ]
    got = {
        (t["target"], t["quality"]): (t["value"], t["met"])
        for t in summarize({"results": rows})["targets"]
    }
    assert got[("fp32 effective GFLOP/s ÷ GEMM peak", "medium")] == (0.9, True)
    assert got[("fp32 effective GFLOP/s ÷ GEMM peak", "very_high")] == (0.5, False)
    assert got[("int8 ÷ fp32 FPS", "medium")] == (2.5, True)
    assert got[("int8 CC vs fp32", "medium")] == (0.995, True)
    assert got[("int8 ÷ fp32 FPS", "very_high")] == (1.5, False)
    assert got[("int8 CC vs fp32", "very_high")] == (0.98, False)
    assert got[("pipeline ÷ inference FPS (fp32)", "medium")] == (0.95, True)
    assert got[("onnxruntime ÷ TensorFlow FPS", "very_high")] == (1.0, False)


def test_markdown_and_plot(result: dict[str, Any], tmp_path: Path) -> None:
    merged = report.merge_results([("run", result)])
    md = report.write_markdown(merged, tmp_path / "bench.md").read_text()
    assert "UNTRAINED" in md and "test machine" in md and "GEMM peak" in md
    assert "| very_low | 48x64 | 3.6 | cpu fp32 |" in md
    assert "cpu TensorFlow" in md and "cpu int8 pipeline" in md
    # facts for users: no project-internal goals, no references to files users lack
    assert "goal" not in md.lower() and "Targets" not in md and "DESIGN.md" not in md
    assert result["summary"]["targets"]  # still in the JSON, for the project's own tracking
    png = report.write_plot(merged, tmp_path / "bench.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def _other_machine(result: dict[str, Any]) -> dict[str, Any]:
    other = copy.deepcopy(result)
    other["label"] = None
    other["fingerprint"].update(cpu="Example GPU box CPU", id="0123456789ab")
    other["fingerprint"]["gpus"] = [{"name": "NVIDIA H100", "driver": "580.1", "memory": "80 GiB"}]
    for row in other["results"]:
        row["fps"] *= 3
    return other


def test_compare_merges_machines_via_the_cli(
    result: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_json(tmp_path / "a.json", result)
    b = write_json(tmp_path / "b.json", _other_machine(result))
    out_md, out_png, out_json = tmp_path / "c.md", tmp_path / "c.png", tmp_path / "c.json"
    args = ["bench", "--compare", str(a), str(b), "--markdown", str(out_md)]
    main([*args, "--plot", str(out_png), "--json", str(out_json)])
    merged = json.loads(out_json.read_text())
    labels = [m["machine"] for m in merged["machines"]]
    cores = result["fingerprint"]["logical_cores"]
    assert labels == ["test machine", f"Example GPU box CPU ({cores} cores) + NVIDIA H100"]
    assert len(merged["results"]) == 2 * len(result["results"])
    assert {r["machine"] for r in merged["results"]} == set(labels)
    md = out_md.read_text()
    assert md.count("## ") >= 3 and "| machine |" in md and "NVIDIA H100" in md
    assert out_png.read_bytes()[:4] == b"\x89PNG"
    screen = capsys.readouterr().out
    assert "saliency-cam bench" in screen and "NVIDIA H100" in screen


def test_compare_tells_runs_of_one_machine_apart(result: dict[str, Any]) -> None:
    merged = report.merge_results([("1", result), ("2", result), ("3", _other_machine(result))])
    labels = [m["machine"] for m in merged["machines"]]
    assert labels[0] == "test machine" and labels[1] == "test machine (run 2)"
    twin = copy.deepcopy(result)
    twin["fingerprint"]["id"] = "ffffffffffff"
    merged = report.merge_results([("1", result), ("2", twin)])
    assert merged["machines"][1]["machine"] == "test machine [ffffffffffff]"


def test_compare_rejects_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "not.json").write_text("{ nope")
    (tmp_path / "other.json").write_text(json.dumps({"schema": "something-else"}))
    for name, message in (
        ("not.json", "not a readable JSON"),
        ("other.json", "not a saliency-cam"),
    ):
        with pytest.raises(InputError, match=message):
            report.load_result(tmp_path / name)
        with pytest.raises(SystemExit) as exit_info:
            main(["bench", "--compare", str(tmp_path / name)])
        assert exit_info.value.code != 0
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    with pytest.raises(SystemExit):
        main(["bench", "--compare"])
    assert "--compare needs" in capsys.readouterr().err


def test_cli_measures_and_writes_reports(
    tiny_derived_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.json"
    main(
        [
            "bench", "-q", "very_low", "--device", "cpu", "--precision", "fp16",
            "--mode", "inference", "--no-tf", "--models-dir", str(tiny_derived_dir),
            "--rounds", "1", "--round-seconds", "0.02", "--warmup", "1", "--json", str(out),
        ]
    )  # fmt: skip
    data = report.load_result(out)
    assert {(r["precision"], r["mode"]) for r in data["results"]} == {
        ("fp32", "inference"),
        ("fp16", "inference"),
    }
    assert "UNTRAINED" in capsys.readouterr().out


def test_default_precisions_skip_what_is_not_exported(
    tiny_models_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fp32.json"
    main(
        [
            "bench", "-q", "low", "--mode", "inference", "--no-tf", "-b", "onnxruntime",
            "--models-dir", str(tiny_models_dir), "--rounds", "1", "--round-seconds", "0.02",
            "--warmup", "0", "--json", str(out),
        ]
    )  # fmt: skip
    rows = report.load_result(out)["results"]
    assert [(r["quality"], r["precision"]) for r in rows] == [("low", "fp32")]
    assert "skipping int8" in capsys.readouterr().err


def test_cli_reports_missing_variants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "-q", "medium", "--models-dir", str(tmp_path), "--no-tf"])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "lacks medium fp32" in err and "saliency-cam export" in err
    with pytest.raises(SystemExit):
        main(["bench", "--mode", "sideways", "--models-dir", str(tmp_path)])
    assert "unknown --mode" in capsys.readouterr().err


# --- pieces ------------------------------------------------------------------------------


class FakeClock:
    """Advances one tick per reading, so loops end deterministically."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_rounds_interleave_cases_and_count_frames() -> None:
    calls: list[str] = []
    timings = measure_interleaved(
        {
            "a": lambda: calls.append("a"),
            "b": lambda: calls.append("b"),
            "video": Case(lambda: calls.append("v"), frames=10, whole_run=True),
        },
        warmup=1,
        rounds=2,
        round_seconds=0.0,
        min_iterations=4,
        clock=FakeClock(),
    )
    # warm-up once each (not the whole run), then per round: a×2, b×2, one video run
    assert calls == ["a", "b"] + ["a", "a", "b", "b", "v"] * 2
    assert timings["a"].iterations == 4 and timings["video"].iterations == 2
    assert timings["a"].median_ms == pytest.approx(1000.0)  # one fake tick per call
    assert timings["video"].median_ms == pytest.approx(100.0)  # per frame: tick / 10
    with pytest.raises(ValueError):
        measure_interleaved({"a": lambda: None}, rounds=0)


def test_gemm_probe_measures_a_real_matmul() -> None:
    from saliency_cam.realtime.bench.gemm import gemm_peak, gemm_runner
    from saliency_cam.realtime.runtime.providers import choose_providers

    cpu = choose_providers("cpu")
    peak = gemm_peak(cpu, threads=1, seconds=0.05, shapes=((64, 128, 32), (128, 64, 64)))
    assert set(peak.by_shape) == {"64x128x32", "128x64x64"}
    assert peak.gflops == max(peak.by_shape.values()) > 0
    assert peak.best_shape in ((64, 128, 32), (128, 64, 64))
    runner = gemm_runner(cpu, 1, (8, 16, 4))
    assert runner.flops == 2 * 8 * 16 * 4
    runner.run()


def test_tensorflow_baseline_reads_the_onnx_weights(tiny_models_dir: Path) -> None:
    from saliency_cam.export.readers.random_weights import random_weights
    from saliency_cam.realtime.bench.tf_baseline import weights_from_onnx

    recovered = weights_from_onnx(tiny_models_dir / "msinet_very_low_fp32.onnx")
    expected = random_weights(0).weights
    assert recovered.keys() == expected.keys()
    for name, array in expected.items():
        np.testing.assert_array_equal(recovered[name], array, err_msg=name)


def test_fingerprint_and_labels() -> None:
    from saliency_cam.realtime.bench.hardware import fingerprint, machine_label

    fp = fingerprint(["CPUExecutionProvider"])
    assert fp["id"] == fingerprint(["CPUExecutionProvider"])["id"]  # stable
    assert machine_label(fp).endswith(f"({fp['logical_cores']} cores)")
    gpu = {**fp, "gpus": [{"name": "NVIDIA H200", "driver": "1", "memory": "141 GiB"}]}
    assert machine_label(gpu).endswith("+ NVIDIA H200")
