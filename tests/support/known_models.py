"""Tiny real ONNX models whose maps are known, registered like user-trained models.

A random-weight MSI-Net's map follows nothing, so a test that checks *where* a map
points needs a model with a known answer. :func:`register_brightness_model` writes one
with the exported models' exact contract (uint8 BGR ``frame_bgr`` ``[batch, height,
width, 3]`` → float ``saliency`` ``[batch, height, width, 1]`` in [0, 1]) whose map is
the picture's brightness, and registers it in a models folder's manifest as a user model
(what ``saliency-cam train`` does), so ``--model NAME`` and the server's model lists
find it like any trained model.

>>> register_brightness_model(models_dir, "brightness", (48, 64))  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.manifest import (
    Manifest,
    UserModel,
    VariantInfo,
    sha256_file,
    variant_filename,
)

#: The exported graphs' names and symbolic dimensions (export/onnx_export.py, dynamic.py).
INPUT_NAME = "frame_bgr"
OUTPUT_NAME = "saliency"
OPSET = 17


def brightness_graph():
    """An ``onnx.ModelProto``: map = mean of the three channels / 255 (so a bright
    object on a dark background is where the map peaks, wherever it is)."""
    from onnx import TensorProto, helper

    dims = ["batch", "height", "width"]
    nodes = [
        helper.make_node("Cast", [INPUT_NAME], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["as_float"], ["grey"], axes=[3], keepdims=1),
        helper.make_node("Div", ["grey", "full_scale"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes,
        "brightness",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, [*dims, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [*dims, 1])],
        initializer=[helper.make_tensor("full_scale", TensorProto.FLOAT, [], [255.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # onnxruntime 1.17+ reads it
    return model


def register_brightness_model(
    models_dir: Path, name: str = "brightness", size: tuple[int, int] = (48, 64)
) -> VariantInfo:
    """Write the brightness model as user model ``name`` (fp32) into ``models_dir`` and
    register it through the manifest API; returns its variant entry."""
    import onnx

    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    model = brightness_graph()
    onnx.checker.check_model(model, full_check=True)
    file = variant_filename(name, "fp32")
    with atomic_output(models_dir / file) as tmp:
        onnx.save(model, str(tmp))
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    info = VariantInfo(
        preset=name,
        precision="fp32",
        height=size[0],
        width=size[1],
        file=file,
        sha256=sha256_file(models_dir / file),
        # not random weights: a fixed, known map (tests only; the label says what it is)
        weights={"source": "test-brightness", "trained": True, "dataset": "none"},
        opset=OPSET,
        note="test model: the map is the picture's brightness, not saliency",
        created=created,
    )
    with Manifest.editing(models_dir) as manifest:
        manifest.put(info)
        manifest.put_user_model(
            UserModel(
                name=name,
                height=size[0],
                width=size[1],
                description="test model: map = brightness",
                created=created,
            )
        )
    return info
