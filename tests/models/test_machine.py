"""Machine facts come from one module (models/machine.py); CPU-dependent answers are
tested with faked flags for every CPU kind, not with the machine the suite runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from saliency_cam.models import machine

ROOT = Path(__file__).resolve().parents[2]

KINDS = {
    "AVX2": {"avx2", "fma", "f16c"},
    "AVX-512": {"avx2", "avx512f"},
    "AVX-512 VNNI": {"avx2", "avx512f", "avx512_vnni"},
    "AVX-512 BF16": {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"},
    "AMX": {"avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"},
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_cpu_kind_and_features_follow_the_flags(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    flags = frozenset(KINDS[kind])
    monkeypatch.setattr(machine, "cpu_flags", lambda: flags)
    assert machine.cpu_kind() == kind
    assert machine.cpu_features() == [f for f in machine.CPU_FEATURES if f in flags]
    assert machine.has_cpu_features("amx_int8") == (kind == "AMX")


def test_the_benchmark_report_names_the_faked_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    from saliency_cam.realtime.bench.hardware import fingerprint

    monkeypatch.setattr(machine, "cpu_flags", lambda: frozenset(KINDS["AMX"]))
    report = fingerprint()
    assert report["cpu_kind"] == "AMX"
    assert "amx_int8" in report["cpu_features"] and "amx_tile" in report["cpu_features"]


def test_only_the_machine_module_reads_cpuinfo_or_nvidia_smi() -> None:
    readers = []
    for top in ("realtime", "export", "models", "benchmarks"):
        for path in (ROOT / top).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name != "machine.py" and ("/proc/cpuinfo" in text or '"nvidia-smi"' in text):
                readers.append(str(path.relative_to(ROOT)))
    assert not readers, f"read machine facts through models/machine.py: {readers}"
