"""``saliency-cam bench --backend``: onnxruntime and OpenVINO rows side by side, each with
FPS, CC against onnxruntime fp32 and the peak memory of its model, in the JSON, the
Markdown table and a ``--compare`` merge."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from saliency_cam.models.atomic import write_json
from saliency_cam.realtime.bench import report
from saliency_cam.realtime.bench.runner import (
    BenchConfig,
    contenders_for,
    resolve_backends,
    run_bench,
)
from saliency_cam.realtime.cli.main import main
from saliency_cam.realtime.runtime.providers import choose_providers

pytest.importorskip("openvino")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def result(tiny_derived_dir: Path) -> dict[str, Any]:
    """very_low fp32 + int8 on every installed backend, inference only, one short round."""
    config = BenchConfig(
        qualities=["very_low"],
        devices=["cpu"],
        precisions=["int8"],
        modes=["inference"],
        tensorflow=False,
        gemm=False,
        models_dir=tiny_derived_dir,
        warmup=1,
        rounds=1,
        round_seconds=0.02,
        min_iterations=2,
        label="test machine",
    )
    return run_bench(config)


def _rows(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["backend"], r["precision"]): r for r in result["results"]}


def test_rows_for_both_backends_with_fps_cc_and_memory(result: dict[str, Any]) -> None:
    assert result["settings"]["backends"] == ["onnxruntime", "openvino"]
    rows = _rows(result)
    assert set(rows) == {
        ("onnxruntime", "fp32"),
        ("onnxruntime", "int8"),
        ("openvino", "fp32"),
        ("openvino", "int8"),
    }
    for (backend, _), row in rows.items():
        assert row["runtime"] == backend and row["mode"] == "inference"
        assert row["fps"] > 0 and row["iterations"] >= 2
        assert row["peak_rss_mib"] > 50  # a process holding a model and its runtime
        assert 0 <= row["rss_added_mib"] <= row["peak_rss_mib"]
    assert rows[("openvino", "int8")]["provider"].startswith("OpenVINO CPU")
    # the reference has no CC; onnxruntime int8's comes from the manifest (measured on
    # onnxruntime), OpenVINO's are measured in the bench against onnxruntime fp32
    assert "fidelity_cc" not in rows[("onnxruntime", "fp32")]
    assert rows[("onnxruntime", "int8")]["fidelity_source"] == "manifest"
    for precision in ("fp32", "int8"):
        row = rows[("openvino", precision)]
        assert row["fidelity_source"].startswith("bench")
        assert 0 < row["fidelity_cc"] <= 1
    assert rows[("openvino", "fp32")]["fidelity_cc"] > 0.999  # the same fp32 network
    ratios = result["summary"]["cpu"]["openvino_vs_onnxruntime"]
    assert set(ratios) == {"very_low/fp32", "very_low/int8"}
    assert ratios["very_low/int8"]["speedup"] == pytest.approx(
        rows[("openvino", "int8")]["fps"] / rows[("onnxruntime", "int8")]["fps"], rel=1e-2
    )
    assert result["fingerprint"]["openvino"]
    json.dumps(result)


def test_markdown_and_compare_show_the_backend(result: dict[str, Any], tmp_path: Path) -> None:
    md = report.markdown(report.merge_results([("run", result)]))
    header = next(line for line in md.splitlines() if line.startswith("| quality"))
    assert "| backend |" in header and "| peak MiB |" in header
    lines = [line for line in md.splitlines() if line.startswith("| very_low")]
    assert [line.split(" | ")[4] for line in lines] == [
        "onnxruntime",
        "onnxruntime",
        "openvino",
        "openvino",
    ]
    assert all("(+" in line for line in lines)  # peak memory and what the model added
    assert "measured here" in lines[3] and "OpenVINO" in md
    other = copy.deepcopy(result)
    other["label"] = "other machine"
    other["fingerprint"]["id"] = "0123456789ab"
    a, b = write_json(tmp_path / "a.json", result), write_json(tmp_path / "b.json", other)
    out = tmp_path / "both.md"
    main(["bench", "--compare", str(a), str(b), "--markdown", str(out)])
    merged_rows = [line for line in out.read_text().splitlines() if "| very_low |" in line]
    assert len(merged_rows) == 8
    assert sum(" | openvino | " in line for line in merged_rows) == 4
    assert {line.split(" | ")[0] for line in merged_rows} == {"| test machine", "| other machine"}


def _fake_cpu_bf16(monkeypatch: pytest.MonkeyPatch, answer: bool) -> None:
    """Answer ``has_bf16`` (the function the bench asks) as a CPU with or without bf16
    units would, so the rows expected do not depend on the machine running the test."""
    import saliency_cam.realtime.runtime.backends.openvino as openvino_backend

    monkeypatch.setattr(openvino_backend, "has_bf16", lambda device="CPU": answer)


@pytest.mark.parametrize("cpu_has_bf16", [False, True], ids=["no-bf16-cpu", "bf16-cpu"])
def test_openvino_contenders_follow_the_cpus_bf16(
    monkeypatch: pytest.MonkeyPatch, cpu_has_bf16: bool
) -> None:
    _fake_cpu_bf16(monkeypatch, cpu_has_bf16)
    said: list[str] = []
    cpu = choose_providers("cpu")
    pairs = contenders_for(cpu, ["onnxruntime", "openvino"], [], said.append)
    assert ("openvino", "bf16") in pairs if cpu_has_bf16 else ("openvino", "bf16") not in pairs
    assert ("onnxruntime", "bf16") not in pairs and pairs[0] == ("onnxruntime", "fp32")
    pairs = contenders_for(cpu, ["openvino"], ["bf16"], said.append)
    expected = [("onnxruntime", "fp32"), ("openvino", "fp32")]  # fp32: the reference
    assert pairs == expected + ([("openvino", "bf16")] if cpu_has_bf16 else [])
    assert ("no bf16 units" in " ".join(said)) is not cpu_has_bf16


def test_cli_backend_option(
    tiny_derived_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # on a bf16 CPU a bf16 entry in the folder would add an openvino bf16 row
    _fake_cpu_bf16(monkeypatch, False)
    out = tmp_path / "ov.json"
    main(
        [
            "bench", "-q", "very_low", "--device", "cpu", "--backend", "openvino",
            "--mode", "inference", "--no-tf", "--models-dir", str(tiny_derived_dir),
            "--rounds", "1", "--round-seconds", "0.02", "--warmup", "1", "--json", str(out),
        ]
    )  # fmt: skip
    rows = report.load_result(out)["results"]
    # onnxruntime fp32 stays as the reference the CCs are measured against
    assert {(r["backend"], r["precision"]) for r in rows} == {
        ("onnxruntime", "fp32"),
        ("openvino", "fp32"),
        ("openvino", "int8"),
    }
    assert "openvino" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--backend", "tensorrt", "--models-dir", str(tmp_path)])
    assert exit_info.value.code != 0
    assert "unknown backend 'tensorrt'" in capsys.readouterr().err


def test_resolve_backends() -> None:
    assert resolve_backends([]) == resolve_backends(["all"]) == ["onnxruntime", "openvino"]
    assert resolve_backends(["openvino", "openvino"]) == ["openvino"]
