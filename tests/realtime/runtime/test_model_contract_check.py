"""A model file is checked when it is opened: a graph that does not take the exported
variants' contract (uint8 BGR ``[N, H, W, 3]`` in, ``[N, H, W, 1]`` out) is one line naming
the mismatch, not onnxruntime's error at the first frame; a model whose maps are NaN or
infinite is refused naming the model, and nothing (no PNG, no JSON with ``NaN``) is written.
The files are registered with a matching checksum, as a replaced variant would be."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import run_main
from onnx import TensorProto
from toy_onnx import make_graph

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import Manifest, VariantInfo, sha256_file, variant_filename
from saliency_cam.realtime.runtime.session import open_session


def registered(models: Path, **graph) -> Path:
    """A models folder whose ``very_low`` fp32 entry is the toy graph (checksum matching)."""
    models.mkdir(parents=True, exist_ok=True)
    path = make_graph(models / variant_filename("very_low"), dims=(48, 64), **graph)
    with Manifest.editing(models) as manifest:
        manifest.put(
            VariantInfo(
                preset="very_low",
                precision="fp32",
                height=48,
                width=64,
                file=path.name,
                sha256=sha256_file(path),
                weights={"source": "random", "trained": False},
                opset=17,
            )
        )
    return models


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"layout": "nchw"}, "its input is float [1, 3, 48, 64]"),
        ({"dtype": TensorProto.UINT8, "reshape_to": (48, 64)}, "its output is float [48, 64]"),
    ],
    ids=["float_nchw_input", "rank2_output"],
)
def test_a_graph_off_contract_is_named_when_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], graph, message
) -> None:
    models = registered(tmp_path / "models", **graph)
    with pytest.raises(SaliencyCamError, match=r"model msinet_very_low_fp32.onnx: ") as caught:
        open_session("very_low", models_dir=models, device="cpu", warmup=0)
    assert message in str(caught.value) and "expected uint8 [N, H, W, 3]" in str(caught.value)
    picture = tmp_path / "p.png"
    cv2.imwrite(str(picture), np.zeros((48, 64, 3), np.uint8))
    code = run_main(["image", str(picture), "-o", str(tmp_path / "out"), "-q", "very_low",
                     "--models-dir", str(models)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "unexpected" not in err and "Traceback" not in err


def test_non_finite_maps_are_refused_naming_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = registered(tmp_path / "models", dtype=TensorProto.UINT8, nan=True)
    picture = tmp_path / "p.png"
    cv2.imwrite(str(picture), np.full((48, 64, 3), 90, np.uint8))
    code = run_main(["image", str(picture), "-o", str(tmp_path / "out"), "-q", "very_low",
                     "--points", "3", "--models-dir", str(models)])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0
    assert "model very_low produced NaN or infinite values" in err
    assert "unexpected" not in err and "Traceback" not in err
    written = list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert not [p for p in written if not p.name.startswith(".")]
