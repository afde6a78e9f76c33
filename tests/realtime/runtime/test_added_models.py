"""Bring your own ONNX model (``saliency-cam models add``): each supported contract gives,
through ``image --model``, the map of running the graph directly with onnxruntime plus
the declared pre/post-processing (written out here, independently); every bad contract is
one line, exit 2, and nothing added. Tiny graphs are built with ``onnx.helper``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto
from toy_onnx import make_graph

from saliency_cam.realtime.cli.main import main


def direct_map(path: Path, picture: np.ndarray, spec: dict) -> np.ndarray:
    """The reference: the declared pre/post-processing written out by hand, the graph run
    directly with onnxruntime."""
    rgb = spec.get("channels", "rgb") == "rgb"
    image = picture[..., ::-1] if rgb else picture
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if session.get_inputs()[0].type == "tensor(uint8)":
        tensor = np.ascontiguousarray(image)[None]
    else:
        tensor = image.astype(np.float32)[None]
        if spec.get("input_range") == "0-1":
            tensor = tensor / 255.0
        if "mean" in spec:  # given in R,G,B order
            mean = np.array(spec["mean"], np.float32)
            tensor = tensor - (mean if rgb else mean[::-1])
        if "std" in spec:
            std = np.array(spec["std"], np.float32)
            tensor = tensor / (std if rgb else std[::-1])
    if spec.get("layout") == "nchw":
        tensor = tensor.transpose(0, 3, 1, 2)
    out = session.run(None, {"x": np.ascontiguousarray(tensor)})[0].astype(np.float64)
    plane = out.reshape([d for d in out.shape if d != 1][-2:])
    if spec.get("output") == "sigmoid":
        plane = 1 / (1 + np.exp(-plane))
    elif spec.get("output") == "softmax":
        plane = np.exp(plane - plane.max())
        plane /= plane.sum()
    plane = cv2.resize(
        plane.astype(np.float32), picture.shape[1::-1], interpolation=cv2.INTER_LINEAR
    )
    return (plane - plane.min()) / (plane.max() - plane.min())


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(args)
        raise SystemExit(0)
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


# name, graph options, contract spec (as the reference reads it), CLI options
CONTRACTS = [
    (
        "nchw01",
        {"layout": "nchw", "pool": True},
        {
            "layout": "nchw",
            "input_range": "0-1",
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "output": "sigmoid",
        },
        [
            "--layout",
            "nchw",
            "--input-range",
            "0-1",
            "--mean",
            "0.485,0.456,0.406",
            "--std",
            "0.229,0.224,0.225",
            "--output",
            "sigmoid",
        ],
    ),
    (
        "nhwc_dynamic",
        {"dims": ("h", "w"), "squeeze": True},
        {"layout": "nhwc", "mean": [120, 110, 100]},
        ["--size", "32x48", "--mean", "120,110,100"],
    ),
    (
        "uint8_softmax",
        {"dtype": TensorProto.UINT8},
        {"layout": "nhwc", "output": "softmax"},
        ["--output", "softmax"],
    ),
    (
        "bgr_nchw_none",
        {"layout": "nchw", "pool": True},
        {"layout": "nchw", "channels": "bgr", "std": [2.0, 4.0, 8.0]},
        ["--layout", "nchw", "--channels", "bgr", "--std", "2,4,8"],
    ),
]


@pytest.mark.parametrize(
    ("name", "graph", "spec", "options"), CONTRACTS, ids=[c[0] for c in CONTRACTS]
)
def test_added_model_gives_the_direct_map_through_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name, graph, spec, options
) -> None:
    models = tmp_path / "models"
    onnx_file = make_graph(tmp_path / f"{name}.onnx", **graph)
    code, out, err = run_cli(
        ["models", "add", name, str(onnx_file), *options, "--models-dir", str(models)], capsys
    )
    assert code == 0, err
    assert f"added {name}" in out
    manifest = json.loads((models / "manifest.json").read_text())
    entry = manifest["variants"][f"{name}-fp32"]
    assert (models / entry["file"]).read_bytes() == onnx_file.read_bytes()
    import hashlib

    assert entry["sha256"] == hashlib.sha256(onnx_file.read_bytes()).hexdigest()
    picture = np.random.default_rng(3).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "p.png"), picture)
    code, _, err = run_cli(
        [
            "image",
            str(tmp_path / "p.png"),
            "-o",
            str(tmp_path / "out"),
            "--model",
            name,
            "--npy",
            "--models-dir",
            str(models),
        ],
        capsys,
    )
    assert code == 0, err
    got = np.load(tmp_path / "out" / "p_saliency.npy")
    want = direct_map(onnx_file, picture, spec)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5


def test_added_model_from_python_matches_the_cli_contract(tmp_path: Path) -> None:
    from saliency_cam import Contract, add_model, open_session

    onnx_file = make_graph(tmp_path / "m.onnx", layout="nchw", pool=True)
    contract = Contract(layout="nchw", input_range="0-1", output="sigmoid")
    info = add_model("mine", onnx_file, contract, tmp_path / "models")
    assert (info.height, info.width) == (32, 48)
    session = open_session("mine", models_dir=tmp_path / "models", device="cpu")
    picture = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    spec = {"layout": "nchw", "input_range": "0-1", "output": "sigmoid"}
    assert np.abs(session.predict(picture) - direct_map(onnx_file, picture, spec)).max() <= 1e-5
    assert "mine" in session.note and "MSI-Net" not in session.note


BAD = [
    ("rank", {"rank2_input": True}, [], "rank 2"),
    ("one_channel", {"channels": 1}, [], "has 1 channels"),
    ("wrong_layout", {"layout": "nchw"}, [], "try --layout nchw"),
    ("int_output", {"out_type": TensorProto.INT32}, [], "expected a float map"),
    ("uint8_range", {"dtype": TensorProto.UINT8}, ["--input-range", "0-1"], "need a float input"),
    ("dynamic_no_size", {"dims": ("h", "w")}, [], "give --size HxW"),
    ("fixed_other_size", {}, ["--size", "64x64"], "differs from the graph's fixed input"),
    ("three_maps", {"out_channels": 3}, [], "more than one channel"),
    ("bad_mean", {}, ["--mean", "1,2"], "give three numbers"),
    ("bad_layout", {}, ["--layout", "chw"], "choose one of nhwc | nchw"),
    ("nan_output", {"nan": True}, [], "NaN or infinite"),
    ("not_onnx", None, [], "cannot read"),
]


@pytest.mark.parametrize(("name", "graph", "options", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_contract_is_one_line_exit_2_and_nothing_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name, graph, options, message
) -> None:
    models = tmp_path / "models"
    onnx_file = tmp_path / "m.onnx"
    if graph is None:
        onnx_file.write_bytes(b"not a model at all")
    else:
        make_graph(onnx_file, **graph)
    code, _, err = run_cli(
        ["models", "add", "m", str(onnx_file), *options, "--models-dir", str(models)], capsys
    )
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not models.exists() or not any(models.glob("*.onnx"))
    assert not (models / "manifest.json").exists()
