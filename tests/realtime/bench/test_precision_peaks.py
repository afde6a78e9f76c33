"""Peaks per precision, AMX in the hardware report, bf16 in ``backends_cpu.py --export``.

The CPU facts are faked (a cpuinfo file with AMX flags, OpenVINO's BF16 capability), so
the AMX/bf16 paths run on every machine; what runs is real: OpenVINO compiles and times
the MatMul probes and the bf16 variant (on a CPU without bf16 units OpenVINO computes
it in fp32, which changes the speed, not the path)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from saliency_cam.models import machine
from saliency_cam.models.manifest import Manifest
from saliency_cam.realtime.bench import hardware, report
from saliency_cam.realtime.bench.runner import BenchConfig, run_bench
from saliency_cam.realtime.runtime.backends import openvino as ov_backend

pytest.importorskip("openvino")
pytest.importorskip("onnx")

#: /proc/cpuinfo flags of a Sapphire Rapids Xeon (AMX) and of this project's AVX2 EPYC.
AMX_FLAGS = "fpu sse2 avx2 fma f16c avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"
AVX2_FLAGS = "fpu sse2 avx2 fma f16c"
BACKENDS_CPU = Path(__file__).resolve().parents[3] / "benchmarks" / "backends_cpu.py"


def _fake_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flags: str, bf16: bool) -> None:
    monkeypatch.setattr(machine, "cpu_flags", lambda: frozenset(flags.split()))
    monkeypatch.setattr(ov_backend, "has_bf16", lambda device="CPU": bf16)


def test_hardware_report_names_amx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_cpu(monkeypatch, tmp_path, AMX_FLAGS, True)
    info = hardware.fingerprint(["CPUExecutionProvider"])
    assert {"amx_tile", "amx_int8", "amx_bf16"} <= set(info["cpu_features"])
    assert info["cpu_units"] == {"amx": "AMX (int8, bf16)", "int8": "AMX", "bf16": "AMX"}
    assert "with AMX (int8, bf16)" in hardware.machine_label(info)
    machine = {"fingerprint": info, "gemm": {}, "load_average_after": None}
    assert "AMX: AMX (int8, bf16), int8 via AMX, bf16 via AMX" in report._machine_lines(machine)[0]
    _fake_cpu(monkeypatch, tmp_path, AVX2_FLAGS, False)
    info = hardware.fingerprint(["CPUExecutionProvider"])
    assert info["cpu_units"] == {"amx": None, "int8": "AVX2", "bf16": None}
    assert "AMX" not in hardware.machine_label(info)
    machine = {"fingerprint": info, "gemm": {}, "load_average_after": None}
    assert "AMX: no, int8 via AVX2, bf16 via no native unit" in report._machine_lines(machine)[0]


@pytest.fixture()
def bf16_models(tiny_derived_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """very_low fp32 + int8 (copied) plus its bf16 entry, recorded on a faked bf16 CPU."""
    from saliency_cam.export.quantize import quantize_variant

    _fake_cpu(monkeypatch, tmp_path, AMX_FLAGS, True)
    models = tmp_path / "models"
    shutil.copytree(tiny_derived_dir, models)
    bf16 = quantize_variant(Manifest.load(models).find("very_low", "fp32"), "bf16", models)
    assert bf16.precision == "bf16" and bf16.fidelity["cc"] > 0.99
    return models


def _by_precision(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["backend"], r["precision"]): r for r in result["results"]}


def test_every_row_is_measured_against_its_own_precisions_peak(bf16_models: Path) -> None:
    config = BenchConfig(
        qualities=["very_low"],
        devices=["cpu"],
        backends=["openvino"],  # the backend with the bf16 path; fewer sessions to open
        precisions=["int8", "bf16"],
        modes=["inference"],
        tensorflow=False,
        gemm_shapes=((256, 512, 256),),  # small probes: the path, not the machine's peak
        models_dir=bf16_models,
        warmup=1,
        rounds=1,
        round_seconds=0.05,
        min_iterations=2,
    )
    result = run_bench(config)
    peaks = result["gemm"]["cpu"]
    assert peaks["gflops"] > 0
    assert set(peaks["precisions"]) == {"int8", "bf16"}
    assert all(p["backend"] == "openvino" and p["gflops"] > 0 for p in peaks["precisions"].values())
    rows = _by_precision(result)
    assert ("openvino", "bf16") in rows  # the faked bf16 CPU gets its bf16 row
    for (_, precision), row in rows.items():
        assert row["peak_precision"] == precision
        assert row["peak_fraction"] == pytest.approx(
            row["effective_gflops"] / row["gemm_gflops_same_rounds"], rel=1e-2
        )
    # int8 and bf16 are not divided by the fp32 peak (that read 1164 % on AMX)
    assert (
        rows[("openvino", "int8")]["gemm_gflops_same_rounds"]
        != (rows[("openvino", "fp32")]["gemm_gflops_same_rounds"])
    )
    md = report.markdown(report.merge_results([("run", result)]))
    assert "int8" in md and "GOP/s (openvino)" in md and "own precision" in md


def test_backends_cpu_export_includes_bf16_where_the_cpu_has_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location("backends_cpu_script", BACKENDS_CPU)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "backends_cpu_script", script)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "has_bf16", lambda device="CPU": True)
    assert script.export_precisions() == ("fp32", "int8", "bf16")
    monkeypatch.setattr(script, "has_bf16", lambda device="CPU": False)
    assert script.export_precisions() == ("fp32", "int8")
