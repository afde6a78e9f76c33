"""ONNX export: the graph, parity, the manifest, idempotency, atomicity and the CLI.

Exports are slow (~15 s each on the shared 2-core machines), so most tests reuse the
session's ``tiny_models_dir`` (very_low + low, seeded random weights) through a
hard-linked copy: exports replace files by rename, never in place, so the shared
fixture stays intact. Only the stale-replacement test converts a model itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
onnx = pytest.importorskip("onnx")

from saliency_cam.export import onnx_export  # noqa: E402
from saliency_cam.export.onnx_export import ExportError, ParityError, check_graph  # noqa: E402
from saliency_cam.export.parity import named_parity_frames  # noqa: E402
from saliency_cam.export.readers import read_weights  # noqa: E402
from saliency_cam.export.variants import (  # noqa: E402
    derived_stale_reason,
    export_presets,
    quantizer,
    resolve_presets,
    source_for,
    stale_reason,
)
from saliency_cam.models.errors import SaliencyCamError  # noqa: E402
from saliency_cam.models.manifest import (  # noqa: E402
    MANIFEST_NAME,
    Manifest,
    VariantInfo,
    sha256_file,
)
from saliency_cam.models.registry import resolve_dataset, resolve_quality  # noqa: E402
from saliency_cam.realtime.runtime.letterbox import Letterbox  # noqa: E402
from saliency_cam.realtime.runtime.session import open_session  # noqa: E402

ASSETS = Path(__file__).resolve().parents[2] / "models" / "assets"


def linked_copy(src: Path, dst: Path) -> Path:
    """Copy a models directory by hard links (instant; safe because exports rename)."""
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


def snapshot(directory: Path) -> dict[str, tuple[int, int, str]]:
    """Every file (temp files included) with its inode, mtime and content hash."""
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns, sha256_file(p))
        for p in sorted(directory.iterdir())
    }


@pytest.fixture()
def models_copy(tiny_models_dir: Path, tmp_path: Path) -> Path:
    return linked_copy(tiny_models_dir, tmp_path / "models")


@pytest.fixture(scope="module")
def very_low_proto(tiny_models_dir: Path):
    """The exported very_low graph (seed 0) as a ModelProto, provenance stripped so it
    can stand in for a fresh conversion."""
    proto = onnx.load(str(tiny_models_dir / "msinet_very_low_fp32.onnx"))
    del proto.metadata_props[:]
    return proto


# --- the exported files ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["very_low", "low"])
def test_manifest_records_how_each_variant_was_made(tiny_models_dir: Path, name: str) -> None:
    preset = resolve_quality(name)
    info = Manifest.load(tiny_models_dir).find(name, "fp32")
    assert info is not None
    assert (info.preset, info.precision, info.height, info.width) == (name, "fp32", *preset.size)
    assert info.file == f"msinet_{name}_fp32.onnx"
    assert info.sha256 == sha256_file(tiny_models_dir / info.file)
    assert info.weights == {
        "source": "random",
        "revision": "seed=0",
        "dataset": "none",
        "trained": False,
        "origin": "seeded random (seed 0), UNTRAINED",
    }
    assert not info.trained and "UNTRAINED" in info.label()
    assert info.opset >= 17
    assert set(info.exporter) >= {"tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"}
    assert all(version and version != "unknown" for version in info.exporter.values())
    assert info.parity["reference"] == "tensorflow"
    assert 0 < info.parity["max_abs"] <= 1e-4
    assert info.parity["frames"] == len(named_parity_frames(preset.size)) >= 5
    # the dynamic graph checked beyond the preset size: as a batch and at 16:9
    assert info.parity["batch"] == onnx_export.DYNAMIC_PARITY_FRAMES >= 2
    assert 0 < info.parity["batch_max_abs"] <= 1e-4
    assert 0 < info.parity["aspect_max_abs"] <= 1e-4
    assert info.parity["aspect_input"] != f"{preset.height}x{preset.width}"
    assert datetime.fromisoformat(info.created).tzinfo is not None


def test_graph_takes_one_uint8_bgr_frame_and_gives_one_map(tiny_models_dir: Path) -> None:
    proto = onnx.load(str(tiny_models_dir / "msinet_low_fp32.onnx"))
    (inp,), (out,) = proto.graph.input, proto.graph.output

    def dims(value) -> list[int | str]:
        return [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]

    assert inp.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert dims(inp) == ["batch", "height", "width", 3]  # any batch, any multiple of 8
    assert out.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert dims(out) == ["batch", "height", "width", 1]
    resizes = [n for n in proto.graph.node if n.op_type == "Resize"]
    assert len(resizes) == 3  # the three decoder upsamplings
    # the ASPP global branch's 1x1 -> H/8xW/8 resize is an exact Expand (export/dynamic.py)
    assert [n.op_type for n in proto.graph.node].count("Expand") == 1
    for node in resizes:
        attrs = {a.name: a.s.decode() for a in node.attribute if a.type == a.STRING}
        assert attrs["coordinate_transformation_mode"] == "asymmetric"
        assert attrs["mode"] == "linear"
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["trained"] == "false" and meta["preset"] == "low"
    # traced with the weights as inputs, then folded (export/fold.py): no node computes on
    # weights alone, and every convolution carries its own bias
    inits = {i.name for i in proto.graph.initializer}
    assert not [n.name for n in proto.graph.node if n.input and set(n.input) <= inits]
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    assert len(convs) == 23 and all(len(n.input) == 3 for n in convs)


def test_onnx_matches_keras_on_a_real_picture(tiny_models_dir: Path) -> None:
    from saliency_cam.models.msinet import build_msinet, load_weights

    session = open_session("very_low", device="cpu", models_dir=tiny_models_dir)
    picture = cv2.imread(str(ASSETS / "chelsea.jpg"))
    frame = Letterbox.fit(picture.shape[:2], session.size).apply(picture)
    onnx_map = session.infer(frame)

    model = build_msinet(*session.size)
    load_weights(model, read_weights("random", resolve_quality("very_low"), seed=0).weights)
    rgb = frame[None, ..., ::-1].astype(np.float32)
    keras_map = np.asarray(model(rgb))[0, :, :, 0]
    assert np.abs(onnx_map - keras_map).max() <= 1e-4
    # The check can fail: feeding the model BGR as if it were RGB gives another map.
    swapped = np.asarray(model(frame[None].astype(np.float32)))[0, :, :, 0]
    assert np.abs(onnx_map - swapped).max() > 1e-3


def test_check_graph_rejects_a_second_input_and_half_pixel_resizes() -> None:
    from onnx import TensorProto, helper

    frame = helper.make_tensor_value_info("frame", TensorProto.UINT8, [1, 8, 8, 3])
    stray = helper.make_tensor_value_info("const_fold_opt", TensorProto.FLOAT, [3])
    out = helper.make_tensor_value_info("saliency", TensorProto.FLOAT, [1, 8, 8, 1])
    two_inputs = helper.make_model(helper.make_graph([], "g", [frame, stray], [out]))
    with pytest.raises(ExportError, match="2 inputs"):
        check_graph(two_inputs, 8, 8)

    resize = helper.make_node(
        "Resize", ["frame", "", "scales"], ["saliency"], coordinate_transformation_mode="half_pixel"
    )
    half_pixel = helper.make_model(helper.make_graph([resize], "g", [frame], [out]))
    with pytest.raises(ExportError, match="asymmetric"):
        check_graph(half_pixel, 8, 8)


# --- idempotent and atomic ------------------------------------------------------------


def test_second_run_skips_up_to_date_variants(models_copy: Path, monkeypatch) -> None:
    before = snapshot(models_copy)

    def must_not_export(*args, **kwargs):
        raise AssertionError("an up-to-date variant was exported again")

    monkeypatch.setattr(onnx_export, "export_variant", must_not_export)
    infos = export_presets(["very_low", "low"], "random", models_dir=models_copy, progress=False)
    assert [i.preset for i in infos] == ["very_low", "low"]
    assert [i.sha256 for i in infos] == [before[i.file][2] for i in infos]
    assert snapshot(models_copy) == before


def test_stale_variant_is_replaced_and_others_kept(models_copy: Path) -> None:
    old = Manifest.load(models_copy)
    (info,) = export_presets(["very-low"], "random", models_dir=models_copy, progress=False, seed=1)
    assert info.weights["revision"] == "seed=1"
    assert info.sha256 != old.find("very_low").sha256
    assert info.sha256 == sha256_file(models_copy / info.file)
    assert info.parity["max_abs"] <= 1e-4
    # what the export cost is reported for this run (not saved in the manifest)
    assert info.cost is not None and info.cost.seconds > 0 and info.cost.peak_mib > 100
    assert "cost" not in info.to_json()
    new = Manifest.load(models_copy)
    assert new.find("very_low").to_json() == info.to_json()
    assert new.find("low").to_json() == old.find("low").to_json()
    assert sorted(p.name for p in models_copy.iterdir()) == sorted(  # + the folder's lock
        [MANIFEST_NAME, ".manifest.lock", "msinet_very_low_fp32.onnx", "msinet_low_fp32.onnx"]
    )


def test_variant_failing_parity_is_not_written(models_copy, monkeypatch, very_low_proto) -> None:
    # A converter that returns the seed-0 graph for seed-1 weights: parity must catch it.
    monkeypatch.setattr(onnx_export, "convert_to_onnx", lambda *a, **k: very_low_proto)
    before = snapshot(models_copy)
    with pytest.raises(ParityError, match="not written"):
        export_presets(["very_low"], "random", models_dir=models_copy, progress=False, seed=1)
    assert snapshot(models_copy) == before


def test_interrupted_write_leaves_previous_files(models_copy, monkeypatch, very_low_proto) -> None:
    monkeypatch.setattr(onnx_export, "convert_to_onnx", lambda *a, **k: very_low_proto)

    def write_half_then_interrupt(path: Path, data: bytes) -> None:
        path.write_bytes(data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_export, "_write_model", write_half_then_interrupt)
    before = snapshot(models_copy)
    manifest_bytes = (models_copy / MANIFEST_NAME).read_bytes()
    with pytest.raises(KeyboardInterrupt):
        export_presets(["very_low"], "random", models_dir=models_copy, progress=False, force=True)
    assert snapshot(models_copy) == before  # no half file, no temp file left behind
    assert (models_copy / MANIFEST_NAME).read_bytes() == manifest_bytes


def test_derived_precision_is_made_from_fp32_then_skipped(models_copy: Path) -> None:
    fp32 = Manifest.load(models_copy).find("very_low")
    infos = export_presets(
        ["very_low"], "random", models_dir=models_copy, progress=False, precisions=["fp32", "fp16"]
    )
    assert [(i.precision, i.sha256 == fp32.sha256) for i in infos] == [
        ("fp32", True),
        ("fp16", False),
    ]
    fp16 = Manifest.load(models_copy).find("very_low", "fp16")
    assert fp16 is not None and fp16.sha256 == sha256_file(models_copy / fp16.file)
    assert fp16.exporter["derived_from_sha256"] == fp32.sha256 and not fp16.trained
    before = snapshot(models_copy)
    export_presets(
        ["very_low"], "random", models_dir=models_copy, progress=False, precisions=["fp16"]
    )
    assert snapshot(models_copy) == before


def test_stale_reason_names_what_changed(tmp_path: Path) -> None:
    preset = resolve_quality("very_low")
    loaded = read_weights("random", preset, seed=3)
    path = tmp_path / "msinet_very_low_fp32.onnx"
    path.write_bytes(b"model")
    info = VariantInfo(
        "very_low", "fp32", 48, 64, path.name, sha256_file(path), loaded.describe(), 17
    )
    info.directory = tmp_path
    assert stale_reason(info, preset, loaded) is None
    assert stale_reason(info, preset, loaded, force=True) == "forced"
    assert stale_reason(None, preset, loaded) == "new"
    assert stale_reason(info, resolve_quality("low"), loaded) == "size changed"
    assert stale_reason(info, preset, read_weights("random", preset, seed=4)) == "weights changed"
    derived = VariantInfo(**{**info.to_json(), "precision": "int8", "directory": tmp_path})
    derived.exporter = {"derived_from_sha256": "0" * 64}
    assert derived_stale_reason(derived, info, preset, loaded) == "fp32 changed"
    derived.exporter = {"derived_from_sha256": info.sha256}
    assert derived_stale_reason(derived, info, preset, loaded) is None
    path.write_bytes(b"damaged")
    assert stale_reason(info, preset, loaded) == "file changed"
    path.unlink()
    assert stale_reason(info, preset, loaded) == "file missing"


# --- choosing what to export ----------------------------------------------------------


def test_resolve_presets_expands_all_and_accepts_spellings() -> None:
    names = [p.name for p in resolve_presets(None)]
    assert names == ["very_low", "low", "medium", "high", "very_high"]
    assert [p.name for p in resolve_presets(["low,very-low", "low"])] == ["low", "very_low"]
    assert [p.name for p in resolve_presets([], ["salicon", "osie"])] == ["salicon", "osie"]
    assert len(resolve_presets(["all"], ["all"])) == 12
    assert resolve_presets([resolve_dataset("osie")]) == [resolve_dataset("osie")]
    with pytest.raises(SaliencyCamError, match="very_low, low, medium"):
        resolve_presets(["ultra"])


def test_weight_source_and_precision_are_checked_up_front() -> None:
    assert source_for(resolve_quality("low"), None) == "tfjs"
    assert source_for(resolve_dataset("mit1003"), None) == "pb"
    with pytest.raises(SaliencyCamError, match="--dataset"):
        source_for(resolve_quality("low"), "pb")
    with pytest.raises(SaliencyCamError, match="fp32, fp16, int8"):
        quantizer("fp8")


# --- the command line -----------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "saliency_cam.realtime.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_cli_unknown_quality_is_one_line_and_changes_nothing(models_copy, tmp_path) -> None:
    before = snapshot(models_copy)
    result = run_cli(
        "export", "--quality", "low", "--quality", "ultra", "--models-dir", str(models_copy)
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: unknown quality 'ultra': choose one of very_low, low, medium, high, very_high"
    ]
    assert snapshot(models_copy) == before
    fresh = tmp_path / "fresh"
    assert run_cli("export", "-q", "ultra", "--models-dir", str(fresh)).returncode != 0
    assert not fresh.exists()


def test_cli_skips_up_to_date_and_warns_untrained(models_copy: Path) -> None:
    before = snapshot(models_copy)
    result = run_cli(
        "export",
        "-q",
        "very-low",
        "-q",
        "low",
        "--weights",
        "random",
        "--models-dir",
        str(models_copy),
    )
    assert result.returncode == 0, result.stderr
    assert "UNTRAINED" in result.stderr
    assert result.stderr.count("up to date, skipped") == 2
    assert "exported 0 variants (2 up to date) in" in result.stderr
    assert str(models_copy / "msinet_very_low_fp32.onnx") in result.stdout
    assert snapshot(models_copy) == before


def test_cli_import_does_not_load_tensorflow() -> None:
    code = "import sys, saliency_cam.realtime.cli.main; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
