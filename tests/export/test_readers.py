"""Every weight reader on files written in the exact published formats.

The files come from tests/published_formats.py (seeded random, UNTRAINED weights,
full size). Each reader must return exactly the weights the file holds, and MSI-Net
(models/msinet.py) loaded with them must reproduce the file's own forward pass — the
SavedModel's signature, the frozen graphs run by TensorFlow, or for TF.js the raw-op
reference on the dequantised weights — at 48×64 and at a non-4:3 size, 72×128.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from http_servers import fake_hub, serve, static_files  # noqa: E402
from published_formats import (  # noqa: E402
    PublishedFiles,
    copy_model_dir,
    reference_forward,
    replace_file,
    run_frozen_graph,
    run_hf_savedmodel,
)

from saliency_cam.export.download import TFJS_BASE_URL_ENV  # noqa: E402
from saliency_cam.export.readers import read_weights  # noqa: E402
from saliency_cam.export.readers.keras_weights import save_keras_weights  # noqa: E402
from saliency_cam.models import registry  # noqa: E402
from saliency_cam.models.errors import SaliencyCamError, WeightsError  # noqa: E402
from saliency_cam.models.msinet import build_msinet, load_weights  # noqa: E402

VERY_LOW = registry.resolve_quality("very_low")
SALICON = registry.resolve_dataset("salicon")


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """Two batches: two 48×64 frames (per-image normalisation) and one 72×128 frame."""
    rng = np.random.default_rng(3)
    return [
        rng.uniform(0, 255, (2, 48, 64, 3)).astype(np.float32),
        rng.uniform(0, 255, (1, 72, 128, 3)).astype(np.float32),
    ]


@pytest.fixture(scope="module")
def msinet():
    return build_msinet()


def our_maps(model, weights: dict[str, np.ndarray], frames: list[np.ndarray]) -> list[np.ndarray]:
    load_weights(model, weights)
    return [model(batch).numpy() for batch in frames]


def assert_same_maps(ours: list[np.ndarray], theirs: list[np.ndarray]) -> None:
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.shape == reference.shape
        assert float(reference.std()) > 0.05  # a real saliency map, not a flat one
        np.testing.assert_allclose(mine, reference, atol=1e-4, rtol=0)


def assert_same_weights(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected) or set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], value, err_msg=name)


# --------------------------------------------------------------------------- Hugging Face


def test_hf_savedmodel_weights_reproduce_its_serving_signature(
    published_files: PublishedFiles, msinet, frames: list[np.ndarray]
) -> None:
    from tensorflow.core.protobuf import saved_model_pb2

    # The fixture has the published layout: no weights at the top level or in
    # variables/, all of them in a function body reached through PartitionedCalls.
    saved = saved_model_pb2.SavedModel.FromString(
        (published_files.hf_dir / "saved_model.pb").read_bytes()
    )
    graph = saved.meta_graphs[0].graph_def
    assert not any(n.name.endswith("/kernel") for n in graph.node)
    holders = [
        f
        for f in graph.library.function
        if any(n.name == "decoder/conv4/kernel" and n.op == "Const" for n in f.node_def)
    ]
    assert len(holders) == 1
    calls = [n for f in graph.library.function for n in f.node_def if n.op == "PartitionedCall"]
    assert any(n.attr["f"].func.name == holders[0].signature.name for n in calls)

    loaded = read_weights("hf", VERY_LOW, published_files.hf_dir)
    assert_same_weights(loaded.weights, published_files.weights)
    assert (loaded.source, loaded.dataset, loaded.trained) == ("hf", "salicon", True)
    assert loaded.revision.startswith("sha256:")
    again = read_weights("hf", VERY_LOW, published_files.hf_dir / "saved_model.pb")
    assert again.revision == loaded.revision

    expected = run_hf_savedmodel(published_files.hf_dir, frames)
    assert_same_maps(our_maps(msinet, loaded.weights, frames), expected)


def test_hf_download_records_the_pinned_revision(
    published_files: PublishedFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = published_files.hf_dir
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    monkeypatch.setenv("SALIENCY_CAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    hub = fake_hub(registry.HF_REPO_ID, registry.HF_REVISION, files, lfs={"saved_model.pb"})
    with serve(hub) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        loaded = read_weights("hf", VERY_LOW)
    assert_same_weights(loaded.weights, published_files.weights)
    assert loaded.revision == registry.HF_REVISION
    assert registry.HF_REPO_ID in loaded.origin


# --------------------------------------------------------------------------- TF.js


def test_tfjs_weights_are_dequantised_and_reproduce_the_reference(
    published_files: PublishedFiles, msinet, frames: list[np.ndarray]
) -> None:
    model = json.loads((published_files.tfjs_dir / "model.json").read_text())
    groups = model["weightsManifest"]
    entries = {e["name"]: e for group in groups for e in group["weights"]}
    stored = {e.get("quantization", {}).get("dtype", e["dtype"]) for e in entries.values()}
    assert {"float32", "float16", "uint8", "uint16", "int32"} <= stored
    assert len(groups) == 2 and all(len(group["paths"]) >= 3 for group in groups)
    assert "conv3/conv3_1/Conv2D_bn_offset" in entries  # converter-style names present

    loaded = read_weights("tfjs", VERY_LOW, published_files.tfjs_dir)
    assert_same_weights(loaded.weights, published_files.tfjs_weights)
    assert loaded.source == "tfjs" and loaded.trained
    # Dequantisation means what TF.js means: within half a step of the original.
    original = published_files.weights
    for name in ("conv1/conv1_1/kernel", "conv1/conv1_1/bias", "aspp/conv1_5/kernel"):
        q = next(e["quantization"] for e in entries.values() if e["name"] == name)
        error = np.abs(loaded.weights[name] - original[name])
        assert error.max() <= q["scale"] * 0.51
        assert error.max() > 0  # it really was quantised
    half = loaded.weights["decoder/conv1/kernel"]
    np.testing.assert_allclose(half, original["decoder/conv1/kernel"], rtol=1e-3, atol=1e-6)

    reference = [reference_forward(published_files.tfjs_weights, batch) for batch in frames]
    assert_same_maps(our_maps(msinet, loaded.weights, frames), reference)


def test_tfjs_download_reads_the_preset_model(
    published_files: PublishedFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"/very_low/{p.name}": p.read_bytes() for p in published_files.tfjs_dir.iterdir()}
    monkeypatch.setenv("SALIENCY_CAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with serve(static_files(files)) as server:
        monkeypatch.setenv(TFJS_BASE_URL_ENV, server.url)
        loaded = read_weights("tfjs", VERY_LOW)
    assert_same_weights(loaded.weights, published_files.tfjs_weights)
    assert "very_low" in loaded.origin


# --------------------------------------------------------------------------- frozen graphs


def test_nhwc_frozen_graph_as_pb_and_zip_reproduces_the_graph(
    published_files: PublishedFiles, msinet, frames: list[np.ndarray]
) -> None:
    for path in (published_files.cpu_pb, published_files.cpu_zip):
        loaded = read_weights("pb", SALICON, path)
        assert_same_weights(loaded.weights, published_files.weights)
        assert loaded.extra == {"graph": "model_salicon_cpu.pb", "layout": "NHWC"}
        assert (loaded.source, loaded.dataset) == ("pb", "salicon")
    expected = run_frozen_graph(published_files.cpu_pb, frames)
    assert_same_maps(our_maps(msinet, loaded.weights, frames), expected)


def test_nchw_frozen_graph_reads_the_same_hwio_weights(
    published_files: PublishedFiles, msinet, frames: list[np.ndarray]
) -> None:
    # A folder holding both graphs: the device picks one.
    loaded = read_weights("pb", SALICON, published_files.gpu_pb.parent, device="gpu")
    assert loaded.extra == {"graph": "model_salicon_gpu.pb", "layout": "NCHW"}
    assert_same_weights(loaded.weights, published_files.weights)
    cpu = read_weights("pb", SALICON, published_files.gpu_pb.parent, device="cpu")
    assert cpu.extra["layout"] == "NHWC"
    # The gpu graph really computes channels-first; TensorFlow runs it here only after
    # grappler converts its layout.
    expected = run_frozen_graph(published_files.gpu_pb, frames, nchw_on_cpu=True)
    assert_same_maps(our_maps(msinet, loaded.weights, frames), expected)


# --------------------------------------------------------------------------- Keras


def test_keras_weights_round_trip(
    published_files: PublishedFiles, tmp_path: Path, msinet, frames: list[np.ndarray]
) -> None:
    path = save_keras_weights(published_files.weights, tmp_path / "tuned.weights.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned.weights.h5"]
    loaded = read_weights("keras", VERY_LOW, path)
    assert_same_weights(loaded.weights, published_files.weights)
    assert loaded.source == "keras" and loaded.revision.startswith("sha256:")
    reference = [reference_forward(published_files.weights, frames[1])]
    assert_same_maps(our_maps(msinet, loaded.weights, frames[1:]), reference)

    # Keras itself ignores variables left over in the file; the reader does not.
    import h5py

    with h5py.File(path, "a") as h5:
        h5.create_dataset("layers/conv2d_extra/vars/0", data=np.zeros((1, 1, 1, 1), np.float32))
    with pytest.raises(WeightsError, match="holds 47 variables, MSI-Net has 46"):
        read_weights("keras", VERY_LOW, path)


# --------------------------------------------------------------------------- bad input


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and isinstance(excinfo.value, SaliencyCamError)
    return message


def damaged_tfjs(published_files: PublishedFiles, dest: Path, skip: tuple[str, ...] = ()) -> Path:
    return copy_model_dir(published_files.tfjs_dir, dest, skip=skip)


def shard_names(folder: Path, group: int = 0) -> list[str]:
    return json.loads((folder / "model.json").read_text())["weightsManifest"][group]["paths"]


def test_corrupt_model_json(published_files: PublishedFiles, tmp_path: Path) -> None:
    folder = damaged_tfjs(published_files, tmp_path / "m", skip=("model.json",))
    (folder / "model.json").write_text('{"format": "graph-model", "weightsManifest": [')
    with pytest.raises(WeightsError) as info:
        read_weights("tfjs", VERY_LOW, folder)
    assert "model.json is not valid JSON" in one_line_error(info)

    (folder / "model.json").write_text('{"format": "graph-model", "modelTopology": {}}')
    with pytest.raises(WeightsError, match="has no weightsManifest"):
        read_weights("tfjs", VERY_LOW, folder)


def test_missing_shard_is_named(published_files: PublishedFiles, tmp_path: Path) -> None:
    third = shard_names(published_files.tfjs_dir, group=1)[2]
    folder = damaged_tfjs(published_files, tmp_path / "m", skip=(third,))
    with pytest.raises(WeightsError) as info:
        read_weights("tfjs", VERY_LOW, folder)
    message = one_line_error(info)
    assert third in message and "missing" in message


def test_short_shard_is_named(published_files: PublishedFiles, tmp_path: Path) -> None:
    folder = damaged_tfjs(published_files, tmp_path / "m")
    second = folder / shard_names(folder)[1]
    replace_file(second, second.read_bytes()[:1000])
    with pytest.raises(WeightsError) as info:
        read_weights("tfjs", VERY_LOW, folder)
    message = one_line_error(info)
    assert second.name in message and "shorter" in message
    assert (published_files.tfjs_dir / second.name).stat().st_size > 1000  # fixture intact


def test_shard_outside_the_model_folder_is_refused(
    published_files: PublishedFiles, tmp_path: Path
) -> None:
    folder = damaged_tfjs(published_files, tmp_path / "m", skip=("model.json",))
    model = json.loads((published_files.tfjs_dir / "model.json").read_text())
    model["weightsManifest"][0]["paths"][0] = "../../secret.bin"
    (folder / "model.json").write_text(json.dumps(model))
    with pytest.raises(WeightsError, match="outside its folder"):
        read_weights("tfjs", VERY_LOW, folder)


def test_truncated_graphs_are_clear_errors(published_files: PublishedFiles, tmp_path: Path) -> None:
    pb = tmp_path / "model_salicon_cpu.pb"
    pb.write_bytes(published_files.cpu_pb.read_bytes()[:30_000_000])
    with pytest.raises(WeightsError) as info:
        read_weights("pb", SALICON, pb)
    assert "not a readable TensorFlow graph" in one_line_error(info)

    saved = tmp_path / "hf"
    saved.mkdir()
    data = (published_files.hf_dir / "saved_model.pb").read_bytes()
    (saved / "saved_model.pb").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError) as info:
        read_weights("hf", VERY_LOW, saved)
    assert "not a readable SavedModel" in one_line_error(info)

    archive = tmp_path / "model_salicon_cpu.zip"
    archive.write_bytes(published_files.cpu_zip.read_bytes()[:5_000_000])
    with pytest.raises(WeightsError):
        read_weights("pb", SALICON, archive)


def const_graph(weights: dict[str, np.ndarray], path: Path) -> Path:
    """A GraphDef holding just ``weights`` as named Consts (enough for the reader)."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    for name, value in weights.items():
        node = graph.node.add(name=name, op="Const")
        node.attr["dtype"].type = tf.float32.as_datatype_enum
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    path.write_bytes(graph.SerializeToString())
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("reshape", "wrong shape decoder/conv4/kernel (3, 3, 1, 32) (expected (3, 3, 32, 1))"),
        ("drop", "missing aspp/conv1_5/bias, aspp/conv1_5/kernel"),
        ("extra", "unexpected aspp/conv1_6/kernel"),
    ],
)
def test_weights_that_do_not_fit_are_refused(
    published_files: PublishedFiles, tmp_path: Path, change: str, expected: str
) -> None:
    weights = dict(published_files.weights)
    if change == "reshape":
        weights["decoder/conv4/kernel"] = weights["decoder/conv4/kernel"].reshape(3, 3, 1, 32)
    elif change == "drop":
        del weights["aspp/conv1_5/kernel"], weights["aspp/conv1_5/bias"]
    else:
        weights["aspp/conv1_6/kernel"] = weights["aspp/conv1_5/kernel"]
    pb = const_graph(weights, tmp_path / "model_salicon_cpu.pb")
    with pytest.raises(WeightsError) as info:
        read_weights("pb", SALICON, pb)
    message = one_line_error(info)
    assert expected in message and "model_salicon_cpu.pb" in message


def test_wrong_files_for_the_source(published_files: PublishedFiles, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="missing.pb does not exist"):
        read_weights("pb", SALICON, tmp_path / "missing.pb")
    with pytest.raises(WeightsError, match="holds no saved_model.pb"):
        read_weights("hf", VERY_LOW, tmp_path)
    with pytest.raises(WeightsError, match="holds no model.json"):
        read_weights("tfjs", VERY_LOW, tmp_path)
    with pytest.raises(WeightsError, match="holds no .pb file; expected model_salicon_cpu.pb"):
        read_weights("pb", SALICON, tmp_path)
    other = tmp_path / "model_mit1003_cpu.pb"
    other.symlink_to(published_files.cpu_pb)
    with pytest.raises(WeightsError, match="is the mit1003 model, not salicon"):
        read_weights("pb", SALICON, other)
    with pytest.raises(WeightsError, match="must end in .weights.h5"):
        read_weights("keras", VERY_LOW, published_files.cpu_pb)
    broken = tmp_path / "cut.weights.h5"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(WeightsError, match="not a readable HDF5 file"):
        read_weights("keras", VERY_LOW, broken)
    with pytest.raises(SaliencyCamError, match="--weights-path"):
        read_weights("keras", VERY_LOW)
    with pytest.raises(SaliencyCamError, match="use cpu or gpu"):
        read_weights("pb", SALICON, published_files.cpu_pb, device="tpu")
