"""The TensorFlow baseline: the same network with the same weights, run the way the
original model ships (Keras model inside a ``tf.function``).

The weights are read back out of the fp32 ONNX file being benchmarked (Conv kernels
OIHW → HWIO, in graph order, checked against MSI-Net's layer table), so the baseline
is the very same model whatever its source; the first map of both runtimes is compared
and the difference reported. The only module of the benchmark that imports TensorFlow
(the export extra), and only when the baseline is requested.

>>> runner = tensorflow_runner(variant)        # doctest: +SKIP
>>> runner.run(frame_bgr)                      # (H, W) float32 map
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saliency_cam.models.architecture import LAYERS
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.install import install_command
from saliency_cam.models.manifest import VariantInfo


def weights_from_onnx(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """MSI-Net's scope → array mapping recovered from an fp32 ONNX export.

    Convolutions are matched to layers by the Keras layer name the exporter keeps in
    node names (``aspp__conv1_3_1/BiasAdd``), not by graph order, which the converter
    may permute (the ASPP branches share shapes). One unnamed convolution is allowed if
    exactly one layer is left for it. Kernel shape and dilation are checked.
    """
    import onnx
    from onnx import numpy_helper

    from saliency_cam.models.msinet import layer_name  # imports TensorFlow

    name = Path(path).name
    model = onnx.load(str(path))
    consts = {init.name: init for init in model.graph.initializer}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    if len(convs) != len(LAYERS):
        raise SaliencyCamError(
            f"{name}: found {len(convs)} convolutions, MSI-Net has {len(LAYERS)}"
        )
    matched: dict[str, onnx.NodeProto] = {}
    for spec in LAYERS:
        pattern = re.compile(rf"(^|/){re.escape(layer_name(spec.scope))}(_\d+)?/")
        hits = [node for node in convs if pattern.search(node.name + "/")]
        if len(hits) == 1:
            matched[spec.scope] = hits[0]
    left_layers = [spec for spec in LAYERS if spec.scope not in matched]
    left_convs = [node for node in convs if node not in matched.values()]
    if len(left_layers) == 1 and len(left_convs) == 1:
        matched[left_layers[0].scope] = left_convs[0]
    elif left_layers:
        raise SaliencyCamError(
            f"{name}: cannot tell which convolution is {', '.join(s.scope for s in left_layers)}"
        )
    out: dict[str, np.ndarray] = {}
    for spec in LAYERS:
        node = matched[spec.scope]
        if len(node.input) < 3 or node.input[1] not in consts or node.input[2] not in consts:
            raise SaliencyCamError(f"{name}: conv {node.name} has no constant weights")
        kernel = numpy_helper.to_array(consts[node.input[1]]).transpose(2, 3, 1, 0)  # → HWIO
        dilations = next((list(a.ints) for a in node.attribute if a.name == "dilations"), [1, 1])
        expected = (spec.kernel, spec.kernel, spec.cin, spec.cout)
        if kernel.shape != expected or dilations != [spec.dilation] * 2:
            raise SaliencyCamError(
                f"{name}: conv {node.name} has shape {kernel.shape} dilation {dilations}, "
                f"expected {spec.scope} {expected} dilation {spec.dilation}"
            )
        out[f"{spec.scope}/kernel"] = np.ascontiguousarray(kernel, np.float32)
        out[f"{spec.scope}/bias"] = numpy_helper.to_array(consts[node.input[2]]).astype(np.float32)
    return out


@dataclass
class TensorFlowRunner:
    """A compiled ``tf.function`` taking one uint8 BGR frame, returning the map."""

    run: Callable[[np.ndarray], np.ndarray]
    version: str


def tensorflow_runner(variant: VariantInfo) -> TensorFlowRunner:
    """Build MSI-Net in Keras at ``variant``'s size with the weights of its fp32 file.

    Same work as the ONNX graph: uint8 → float, BGR → RGB, mean, network.
    """
    if variant.precision != "fp32":
        raise SaliencyCamError("the TensorFlow baseline needs the fp32 variant")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf

        from saliency_cam.models.msinet import build_msinet, load_weights
    except ImportError as exc:
        raise SaliencyCamError(
            f"the TensorFlow baseline needs the export extra: {install_command('export')} "
            "(or run the benchmark with --no-tf)"
        ) from exc

    model = build_msinet(variant.height, variant.width)
    load_weights(model, weights_from_onnx(variant.path))
    signature = [tf.TensorSpec([1, variant.height, variant.width, 3], tf.uint8)]

    @tf.function(input_signature=signature)
    def infer(frame: tf.Tensor) -> tf.Tensor:
        rgb = tf.reverse(tf.cast(frame, tf.float32), axis=[3])
        return model(rgb, training=False)

    def run(frame_bgr: np.ndarray) -> np.ndarray:
        return infer(frame_bgr[None]).numpy()[0, :, :, 0]

    return TensorFlowRunner(run, tf.__version__)
