"""fp16/int8 variants, their fidelity to fp32, and ``--precision auto``.

The variants are derived from the session's tiny exported fp32 models (seeded random,
UNTRAINED) and run for real in onnxruntime.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from saliency_cam.export.calibration import calibration_frames, held_out_frames
from saliency_cam.export.fidelity import CC_BAR, fidelity_of_maps
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import Manifest, VariantInfo, sha256_file, variant_filename
from saliency_cam.realtime.runtime.precision import check_precision, pick_precision
from saliency_cam.realtime.runtime.providers import ProviderChoice, choose_providers
from saliency_cam.realtime.runtime.session import open_session

onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def derived_dir(tiny_derived_dir: Path) -> Path:
    """very_low fp32 plus its fp16 and int8 variants (conftest)."""
    return tiny_derived_dir


# --- fidelity on known maps ---------------------------------------------------------------


def test_fidelity_of_identical_maps_is_perfect() -> None:
    rng = np.random.default_rng(0)
    maps = [rng.random((12, 16)).astype(np.float32) for _ in range(3)]
    fid = fidelity_of_maps(maps, [m.copy() for m in maps])
    assert fid.cc == pytest.approx(1.0)
    assert fid.kld == pytest.approx(0.0, abs=1e-12)
    assert fid.max_abs == 0.0 and fid.frames == 3 and fid.ok and fid.note("int8") == ""


def test_fidelity_of_a_rescaled_map_keeps_cc_and_measures_the_difference() -> None:
    ref = np.array([[0.0, 0.5], [1.0, 0.25]])
    fid = fidelity_of_maps([ref], [0.5 * ref + 0.1])
    assert fid.cc == pytest.approx(1.0)  # CC ignores affine rescaling
    assert fid.max_abs == pytest.approx(0.4)  # |1.0 - 0.6|
    assert fid.kld > 0  # the distributions differ


def test_fidelity_of_an_inverted_map_fails_the_bar_and_says_why() -> None:
    ref = np.linspace(0, 1, 64).reshape(8, 8)
    fid = fidelity_of_maps([ref, ref], [1 - ref, ref])
    assert fid.cc_min == pytest.approx(-1.0)
    assert fid.cc == pytest.approx(0.0)
    assert not fid.ok
    note = fid.note("int8")
    assert "int8" in note and str(CC_BAR) in note and "--precision int8" in note
    assert fid.to_json()["cc_min"] == pytest.approx(-1.0)


def test_fidelity_rejects_mismatched_maps() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        fidelity_of_maps([np.zeros((4, 4))], [np.zeros((4, 5))])
    with pytest.raises(ValueError, match="map counts"):
        fidelity_of_maps([np.zeros((4, 4))], [])


def test_calibration_and_held_out_frames_are_disjoint_and_natural() -> None:
    calib = calibration_frames((48, 64), 12)
    held = held_out_frames((48, 64), 6)
    assert len(calib) == 12 and len(held) == 6
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in calib + held)
    assert not any(np.array_equal(c, h) for c in calib for h in held)
    # natural-looking: smooth neighbourhoods, not white noise
    frame = calib[0].astype(np.float32)
    assert np.abs(np.diff(frame, axis=1)).mean() < 0.5 * frame.std()


# --- variant export ----------------------------------------------------------------------


def test_int8_and_fp16_variants_are_recorded_in_the_manifest(derived_dir: Path) -> None:
    manifest = Manifest.load(derived_dir)
    fp32 = manifest.find("very_low", "fp32")
    for precision in ("fp16", "int8"):
        info = manifest.find("very_low", precision)
        assert info is not None, precision
        assert info.file == variant_filename("very_low", precision)
        assert sha256_file(info.path) == info.sha256
        assert (info.height, info.width) == (48, 64)
        assert info.weights == fp32.weights and not info.trained  # provenance kept
        assert "UNTRAINED" in info.note
        fid = info.fidelity
        assert set(fid) >= {"cc", "cc_min", "kld", "max_abs", "frames", "bar"}
        assert fid["frames"] == 8 and fid["cc_min"] <= fid["cc"] <= 1.0
        assert info.default_ok == (fid["cc"] >= CC_BAR)
        assert info.exporter["derived_from_sha256"] == fp32.sha256
    raw = json.loads((derived_dir / "manifest.json").read_text())
    assert set(raw["variants"]) == {"very_low-fp32", "very_low-fp16", "very_low-int8"}
    # fp16 halves the file; int8 quarters the weights
    sizes = {p: manifest.find("very_low", p).path.stat().st_size for p in ("fp32", "fp16", "int8")}
    assert sizes["fp16"] < 0.6 * sizes["fp32"] and sizes["int8"] < 0.35 * sizes["fp32"]
    assert manifest.find("very_low", "fp16").fidelity["cc"] > 0.999


def test_derived_graphs_keep_the_runtime_interface(derived_dir: Path) -> None:
    from onnx import TensorProto

    for precision, weight_type in (("fp16", TensorProto.FLOAT16), ("int8", TensorProto.INT8)):
        model = onnx.load(str(derived_dir / variant_filename("very_low", precision)))
        (inp,), (out,) = model.graph.input, model.graph.output
        assert inp.type.tensor_type.elem_type == TensorProto.UINT8
        assert out.type.tensor_type.elem_type == TensorProto.FLOAT
        types = {init.data_type for init in model.graph.initializer}
        assert weight_type in types, precision
        props = {p.key: p.value for p in model.metadata_props}
        assert props.get("precision") == precision
    ops = {n.op_type for n in onnx.load(str(derived_dir / "msinet_very_low_int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops


def test_derived_variants_run_and_resemble_fp32(derived_dir: Path) -> None:
    frame = held_out_frames((48, 64), 1)[0]
    maps = {
        p: open_session("very_low", p, "cpu", derived_dir, warmup=0).infer(frame)
        for p in ("fp32", "fp16", "int8")
    }
    for precision in ("fp16", "int8"):
        assert maps[precision].shape == (48, 64) and maps[precision].dtype == np.float32
        assert np.corrcoef(maps["fp32"].ravel(), maps[precision].ravel())[0, 1] > 0.9
    assert np.abs(maps["fp16"] - maps["fp32"]).max() < 0.01


def test_quantize_refuses_bad_requests(derived_dir: Path, tmp_path: Path) -> None:
    from saliency_cam.export.quantize import quantize_variant

    fp32 = Manifest.load(derived_dir).find("very_low", "fp32")
    with pytest.raises(SaliencyCamError, match="int4"):
        quantize_variant(fp32, "int4", derived_dir)
    int8 = Manifest.load(derived_dir).find("very_low", "int8")
    with pytest.raises(SaliencyCamError, match="not an fp32"):
        quantize_variant(int8, "fp16", derived_dir)
    # a damaged fp32 file: error, nothing written
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / fp32.file).write_bytes(b"not onnx")
    manifest = Manifest(broken)
    manifest.put(VariantInfo(**{**fp32.to_json(), "directory": broken}))
    manifest.save()
    with pytest.raises(SaliencyCamError, match="checksum"):
        quantize_variant(Manifest.load(broken).find("very_low"), "int8", broken)
    assert sorted(p.name for p in broken.iterdir()) == sorted([fp32.file, "manifest.json"])


@pytest.mark.parametrize("cpu_has_bf16", [False, True], ids=["no-bf16-cpu", "bf16-cpu"])
def test_bf16_is_recorded_only_where_the_cpu_has_it(
    derived_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_has_bf16: bool
) -> None:
    """bf16 is refused on a CPU without bf16 units and recorded (pointing at the fp32
    file) on one with them. The CPU fact is faked through ``has_bf16``, the function
    the code asks, so both answers are checked on every CPU (OpenVINO runs a bf16 hint
    in f32 where the CPU has no bf16)."""
    pytest.importorskip("openvino")
    import saliency_cam.realtime.runtime.backends.openvino as openvino_backend
    from saliency_cam.export.quantize import quantize_variant

    monkeypatch.setattr(openvino_backend, "has_bf16", lambda device="CPU": cpu_has_bf16)
    fp32 = Manifest.load(derived_dir).find("very_low", "fp32")
    shutil.copy(fp32.path, tmp_path / fp32.file)
    manifest = Manifest(tmp_path)
    manifest.put(VariantInfo(**{**fp32.to_json(), "directory": tmp_path}))
    manifest.save()
    fp32 = Manifest.load(tmp_path).find("very_low", "fp32")
    if not cpu_has_bf16:
        with pytest.raises(SaliencyCamError, match="no bf16 units"):
            quantize_variant(fp32, "bf16", tmp_path)
        assert Manifest.load(tmp_path).find("very_low", "bf16") is None
        return
    info = quantize_variant(fp32, "bf16", tmp_path)
    assert info.precision == "bf16" and info.file == fp32.file
    assert info.fidelity["provider"] == "OpenVINO CPU bf16"
    assert Manifest.load(tmp_path).find("very_low", "bf16") is not None
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert written == sorted([fp32.file, "manifest.json"])  # no new model file


def test_int8_below_the_bar_falls_back_then_is_kept_but_not_default(
    derived_dir: Path, tmp_path: Path
) -> None:
    from saliency_cam.export.quantize import quantize_variant

    fp32 = Manifest.load(derived_dir).find("very_low", "fp32")
    shutil.copy(fp32.path, tmp_path / fp32.file)
    manifest = Manifest(tmp_path)
    manifest.put(VariantInfo(**{**fp32.to_json(), "directory": tmp_path}))
    manifest.save()
    # an unreachable bar: both recipes are tried and the conservative one is kept
    info = quantize_variant(Manifest.load(tmp_path).find("very_low"), "int8", tmp_path, bar=1.01)
    assert "float_convs=last 4 (decoder)" in info.exporter["recipe"]
    assert not info.default_ok and info.fidelity["bar"] == 1.01
    assert "not used by default" in info.note and "--precision int8" in info.note
    saved = Manifest.load(tmp_path).find("very_low", "int8")
    assert saved.default_ok is False and saved.note == info.note
    assert pick_precision("very_low", "cpu", tmp_path) == "fp32"
    assert _float_weight_convs(saved.path) == [False] * (_conv_count(saved.path) - 4) + [True] * 4
    # the shared fixture's int8: its recipe says which convolutions stayed float
    shared = Manifest.load(derived_dir).find("very_low", "int8")
    float_flags = _float_weight_convs(shared.path)
    if "float_convs=none" in shared.exporter["recipe"]:
        assert not any(float_flags)
    else:
        assert float_flags[-4:] == [True] * 4


def _float_weight_convs(path: Path) -> list[bool]:
    """For each Conv in graph order: are its weights a float initializer (not int8 via
    DequantizeLinear)?"""
    from onnx import TensorProto

    graph = onnx.load(str(path)).graph
    floats = {i.name for i in graph.initializer if i.data_type == TensorProto.FLOAT}
    return [n.input[1] in floats for n in graph.node if n.op_type == "Conv"]


def _conv_count(path: Path) -> int:
    return len(_float_weight_convs(path))


# --- precision choice --------------------------------------------------------------------


def _fake_manifest(directory: Path, entries: dict[str, bool], files: bool = True) -> None:
    """Manifest entries ``precision -> default_ok`` for ``medium``; files are stand-ins
    (pick_precision looks at the manifest and the file's presence only)."""
    manifest = Manifest(directory)
    for precision, ok in entries.items():
        name = variant_filename("medium", precision)
        if files:
            (directory / name).write_bytes(b"x")
        manifest.put(VariantInfo("medium", precision, 120, 160, name, "0", {}, 17, default_ok=ok))
    manifest.save()


CPU = choose_providers("cpu")
CUDA = ProviderChoice("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("entries", "choice", "expected"),
    [
        ({"fp32": True, "fp16": True, "int8": True}, CPU, "int8"),
        ({"fp32": True, "fp16": True, "int8": True}, CUDA, "fp16"),
        ({"fp32": True, "fp16": True, "int8": False}, CPU, "fp32"),  # int8 failed its bar
        ({"fp32": True, "fp16": False, "int8": True}, CUDA, "fp32"),
        ({"fp32": True, "int8": True}, CUDA, "fp32"),  # int8 is not a GPU default
        ({"fp32": True, "fp16": True}, CPU, "fp32"),  # fp16 is not a CPU default
        ({}, CPU, "fp32"),  # nothing exported: fp32, whose absence is then reported
    ],
)
def test_pick_precision(
    tmp_path: Path, entries: dict[str, bool], choice: ProviderChoice, expected: str
) -> None:
    _fake_manifest(tmp_path, entries)
    assert pick_precision("medium", choice, tmp_path) == expected


def test_pick_precision_ignores_missing_files_and_accepts_device_names(tmp_path: Path) -> None:
    _fake_manifest(tmp_path, {"fp32": True, "int8": True}, files=False)
    assert pick_precision("medium", "cpu", tmp_path) == "fp32"
    _fake_manifest(tmp_path, {"fp32": True, "int8": True})
    assert pick_precision("Medium", "cpu", tmp_path) == "int8"
    with pytest.raises(SaliencyCamError, match="unknown preset"):
        pick_precision("huge", "cpu", tmp_path)


def test_check_precision() -> None:
    assert check_precision(" INT8 ") == "int8" and check_precision("auto") == "auto"
    with pytest.raises(SaliencyCamError, match="choose auto"):
        check_precision("fp64")


def test_open_session_auto_uses_the_picked_variant(derived_dir: Path) -> None:
    int8 = Manifest.load(derived_dir).find("very_low", "int8")
    session = open_session("very_low", "auto", "cpu", derived_dir, warmup=0)
    assert session.variant.precision == ("int8" if int8.default_ok else "fp32")
    assert session.choice.device == "cpu"
