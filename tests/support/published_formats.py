"""Writers of MSI-Net files in the exact published formats, from given weights.

Used by the reader tests (tests/test_readers.py). Nothing here uses the project's own
network (models/msinet.py): the forward pass is rebuilt from raw TensorFlow ops the
way the original TF1 code did it (``tf.nn.conv2d`` with dilations, stride-1 "SAME"
max-pools, TF1 ``ResizeBilinear`` with the legacy asymmetric mapping, mean
subtraction, per-image min-max normalisation), so a file written here is a faithful
stand-in for a published one and its own forward output is an independent reference.

- :func:`write_hf_savedmodel`: TF2 SavedModel, signature ``serving_default`` (input
  ``input_1`` float32 [-1, -1, -1, 3], output ``output``), weights frozen as ``Const``
  nodes in a function body reached through nested ``PartitionedCall`` nodes, empty
  ``variables/``.
- :func:`write_tfjs_model`: TF.js graph model with float32, float16 and uint8/uint16
  quantised entries, converter-style names, split over several shards.
- :func:`write_frozen_graph`: TF1 GraphDef ``model_<dataset>_<cpu|gpu>.pb`` with the
  original scope names, NHWC or NCHW (channels-first internally, kernels HWIO).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

#: The RGB mean the original subtracts first.
MEAN = (103.939, 116.779, 123.68)
#: VGG16 encoder: (block, convolutions, input channels, output channels, pool stride,
#: dilation).
VGG_BLOCKS = (
    (1, 2, 3, 64, 2, 1),
    (2, 2, 64, 128, 2, 1),
    (3, 3, 128, 256, 2, 1),
    (4, 3, 256, 512, 1, 1),
    (5, 3, 512, 512, 1, 2),
)
ASPP_DILATIONS = (1, 4, 8, 12)

WeightFn = Callable[[str, str], tf.Tensor]


def published_shapes() -> dict[str, tuple[int, ...]]:
    """Weight name → shape, written out from the paper's table (not from the project)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(scope: str, k: int, cin: int, cout: int) -> None:
        shapes[f"{scope}/kernel"] = (k, k, cin, cout)
        shapes[f"{scope}/bias"] = (cout,)

    for block, count, cin, cout, _, _ in VGG_BLOCKS:
        for i in range(1, count + 1):
            conv(f"conv{block}/conv{block}_{i}", 3, cin if i == 1 else cout, cout)
    for i in range(1, 6):
        conv(f"aspp/conv1_{i}", 3 if i in (2, 3, 4) else 1, 1280, 256)
    conv("aspp/conv2", 1, 1280, 256)
    for i, (cin, cout) in enumerate(((256, 128), (128, 64), (64, 32), (32, 1)), start=1):
        conv(f"decoder/conv{i}", 3, cin, cout)
    return shapes


def seeded_weights(seed: int) -> dict[str, np.ndarray]:
    """He-normal kernels and small biases, float32, from ``seed``."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in published_shapes().items():
        if name.endswith("/kernel"):
            fan_in = shape[0] * shape[1] * shape[2]
            out[name] = (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)
        else:
            out[name] = rng.uniform(-0.1, 0.1, shape).astype(np.float32)
    return out


# --- the reference forward pass (raw TF ops, as the original TF1 code) ----------------


def msinet_ops(images: tf.Tensor, weight: WeightFn, data_format: str = "NHWC") -> tf.Tensor:
    """MSI-Net on ``images`` (NHWC float 0..255) from raw ops; ``weight(scope, role)``
    supplies each kernel/bias tensor. ``data_format="NCHW"`` transposes after the mean
    subtraction and computes channels-first, as the published gpu graphs do."""
    nchw = data_format == "NCHW"
    channels = 1 if nchw else 3
    spatial = (2, 3) if nchw else (1, 2)
    mean = tf.reshape(tf.constant(MEAN, tf.float32), [1, 1, 1, 3])
    x = tf.subtract(images, mean, name="sub")
    if nchw:
        x = tf.transpose(x, (0, 3, 1, 2))
    pools = []
    for block, count, _, _, stride, dilation in VGG_BLOCKS:
        for i in range(1, count + 1):
            x = _conv(x, f"conv{block}/conv{block}_{i}", weight, data_format, dilation)
        padding = "VALID" if stride == 2 else "SAME"
        x = tf.nn.max_pool2d(x, 2, stride, padding, data_format=data_format)
        if block >= 3:
            pools.append(x)
    features = tf.concat(pools, axis=channels)

    branches = [
        _conv(features, f"aspp/conv1_{i}", weight, data_format, d)
        for i, d in enumerate(ASPP_DILATIONS, start=1)
    ]
    pooled = tf.reduce_mean(features, axis=spatial, keepdims=True)
    pooled = _conv(pooled, "aspp/conv1_5", weight, data_format, padding="VALID")
    branches.append(_upsample(pooled, tf.shape(features), 1, nchw))
    x = _conv(tf.concat(branches, axis=channels), "aspp/conv2", weight, data_format)

    for i in range(1, 4):
        x = _upsample(x, tf.shape(x), 2, nchw)
        x = _conv(x, f"decoder/conv{i}", weight, data_format)
    x = _conv(x, "decoder/conv4", weight, data_format, relu=False)
    if nchw:
        x = tf.transpose(x, (0, 2, 3, 1))
    x = x - tf.reduce_min(x, axis=(1, 2, 3), keepdims=True)
    return tf.realdiv(x, 1e-7 + tf.reduce_max(x, axis=(1, 2, 3), keepdims=True), name="output")


def _conv(
    x: tf.Tensor,
    scope: str,
    weight: WeightFn,
    data_format: str,
    dilation: int = 1,
    relu: bool = True,
    padding: str = "SAME",
) -> tf.Tensor:
    with tf.name_scope(scope + "/"):  # absolute, like the TF1 variable scopes
        kernel = weight(scope, "kernel")
        bias = weight(scope, "bias")
        y = tf.nn.conv2d(
            x, kernel, 1, padding, data_format=data_format, dilations=dilation, name="Conv2D"
        )
        y = tf.nn.bias_add(y, bias, data_format=data_format, name="BiasAdd")
        return tf.nn.relu(y, name="Relu") if relu else y


def _upsample(x: tf.Tensor, shape: tf.Tensor, factor: int, nchw: bool) -> tf.Tensor:
    # TF1 tf.image.resize_bilinear: align_corners=False, half_pixel_centers=False.
    if nchw:
        x = tf.transpose(x, (0, 2, 3, 1))
        size = tf.stack([shape[2] * factor, shape[3] * factor])
    else:
        size = tf.stack([shape[1] * factor, shape[2] * factor])
    x = tf.compat.v1.image.resize_bilinear(x, size, align_corners=False, half_pixel_centers=False)
    return tf.transpose(x, (0, 3, 1, 2)) if nchw else x


def reference_forward(weights: Mapping[str, np.ndarray], images: np.ndarray) -> np.ndarray:
    """Run :func:`msinet_ops` eagerly on ``images`` (NHWC float32 0..255)."""
    out = msinet_ops(tf.constant(images, tf.float32), lambda s, r: tf.constant(weights[f"{s}/{r}"]))
    return out.numpy()


def _zero_constants() -> WeightFn:
    """Weights as zero-filled ``Const`` nodes named ``<scope>/kernel`` and
    ``<scope>/bias`` (inside the absolute name scope ``_conv`` opens). A zero fill is
    stored as one value, so graphs build and save in well under a second;
    :func:`fill_constants` then writes the real values into those nodes (saving 100 MB
    of constants through TensorFlow takes ~20 s)."""
    shapes = published_shapes()

    def weight(scope: str, role: str) -> tf.Tensor:
        return tf.constant(0.0, tf.float32, shape=shapes[f"{scope}/{role}"], name=role)

    return weight


def fill_constants(nodes: Any, weights: Mapping[str, np.ndarray]) -> set[str]:
    """Write ``weights`` into the ``Const`` NodeDefs of the same names; return the
    names filled."""
    filled = set()
    for node in nodes:
        if node.op == "Const" and node.name in weights:
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name]))
            filled.add(node.name)
    return filled


# --- Hugging Face SavedModel ---------------------------------------------------------


class _FrozenMsinet(tf.Module):
    """serving_default → model → network: two nested PartitionedCalls reach the
    function body holding the weights as constants (no variables at all)."""

    def __init__(self, weight: WeightFn) -> None:
        super().__init__()

        @tf.function
        def network(images: tf.Tensor) -> tf.Tensor:
            return msinet_ops(images, weight)

        @tf.function
        def model(images: tf.Tensor) -> tf.Tensor:
            return network(images)

        self._model = model

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, "input_1")])
    def serve(self, input_1: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"output": self._model(input_1)}


def write_hf_savedmodel(weights: Mapping[str, np.ndarray], folder: Path) -> Path:
    """Write the Hugging Face layout into ``folder``: saved_model.pb with the weights
    as Consts in a nested function body, and a variables/ checkpoint holding no weights."""
    from tensorflow.core.protobuf import saved_model_pb2

    module = _FrozenMsinet(_zero_constants())
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    pb = folder / "saved_model.pb"
    saved_model = saved_model_pb2.SavedModel.FromString(pb.read_bytes())
    filled = set()
    for function in saved_model.meta_graphs[0].graph_def.library.function:
        filled |= fill_constants(function.node_def, weights)
    assert filled == set(weights), sorted(set(weights) - filled)[:3]
    pb.write_bytes(saved_model.SerializeToString())
    return folder


def run_hf_savedmodel(folder: Path, images: list[np.ndarray]) -> list[np.ndarray]:
    """The SavedModel's own forward pass through its serving signature, per batch."""
    with _no_grappler():
        serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
        return [serve(input_1=tf.constant(x, tf.float32))["output"].numpy() for x in images]


@contextlib.contextmanager
def _no_grappler() -> Iterator[None]:
    """Skip grappler while running a fixture: optimising 100 MB of constants costs
    seconds and changes nothing in the result."""
    before = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": before})


# --- original frozen graphs ----------------------------------------------------------


def frozen_graph_def(
    weights: Mapping[str, np.ndarray] | None, data_format: str = "NHWC"
) -> tf.compat.v1.GraphDef:
    """A TF1 GraphDef: placeholder ``input`` → ... → ``output``, weights as Consts
    named by scope. Like the published graphs (frozen, then TransformGraph's
    ``remove_nodes(op=Identity)``), there are no ``/read`` identities.
    ``weights=None`` leaves the Consts zero-filled (for the TF.js topology)."""
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, (None, None, None, 3), name="input")
        msinet_ops(images, _zero_constants(), data_format)
    graph_def = graph.as_graph_def()
    if weights is not None:
        filled = fill_constants(graph_def.node, weights)
        assert filled == set(weights), sorted(set(weights) - filled)[:3]
    return graph_def


def write_frozen_graph(
    weights: Mapping[str, np.ndarray], path: Path, data_format: str = "NHWC"
) -> Path:
    """Write ``model_<dataset>_<cpu|gpu>.pb`` (NHWC for cpu, NCHW for gpu)."""
    path.write_bytes(frozen_graph_def(weights, data_format).SerializeToString())
    return path


def zip_like_drive(pb: Path, zip_path: Path) -> Path:
    """Pack ``pb`` the way the Drive downloads come: a zip holding the one graph."""
    # Stored, not deflated: random weights do not compress and deflating 100 MB takes
    # seconds; the zip reading code is the same for both.
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(pb, pb.name)
    return zip_path


def run_frozen_graph(pb: Path, images: list[np.ndarray], nchw_on_cpu: bool = False) -> list:
    """Run a frozen graph with tf.compat.v1, feeding ``input:0`` and fetching
    ``output:0``, once per batch in ``images``. ``nchw_on_cpu`` lets grappler turn the
    NCHW ops into NHWC so a gpu graph runs on a CPU-only machine; otherwise grappler is
    off (it spends seconds on 100 MB of constants and changes nothing)."""
    from tensorflow.core.protobuf import rewriter_config_pb2

    graph_def = tf.compat.v1.GraphDef.FromString(pb.read_bytes())
    config = tf.compat.v1.ConfigProto()
    rewrite = config.graph_options.rewrite_options
    if nchw_on_cpu:
        rewrite.cpu_layout_conversion = rewriter_config_pb2.RewriterConfig.NCHW_TO_NHWC
    else:
        rewrite.disable_meta_optimizer = True
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph, config=config) as session:
            return [session.run("output:0", {"input:0": x}) for x in images]


# --- TF.js graph model ----------------------------------------------------------------

#: How some weights are stored: the converter's quantisation choices.
TFJS_QUANTIZATION = {
    "conv1/conv1_1/kernel": "uint8",
    "conv1/conv1_1/bias": "uint8",
    "conv1/conv1_2/kernel": "uint8",
    "aspp/conv1_5/kernel": "uint16",
    "conv5/conv5_3/bias": "uint8",
    "aspp/conv2/kernel": "float16",
    "decoder/conv1/kernel": "float16",
    "decoder/conv2/bias": "float16",
    "decoder/conv4/kernel": "float16",
}


def tfjs_name(key: str) -> str:
    """The name a TF.js converter might give weight ``key`` (several real styles)."""
    scope, role = key.rsplit("/", 1)
    if scope.startswith("conv2/"):
        op = "Conv2D" if role == "kernel" else "BiasAdd"
        return f"StatefulPartitionedCall/msinet/{scope}/{op}/ReadVariableOp"
    if scope == "conv3/conv3_1":
        return f"{scope}/Conv2D_weights" if role == "kernel" else f"{scope}/Conv2D_bn_offset"
    if scope in ("aspp/conv1_2", "aspp/conv1_3", "aspp/conv1_4"):
        index = 10 + int(scope[-1]) * 2 + (role == "bias")
        return f"{scope}/{role}/read/_{index}__cf__{index}"
    return key


#: Unrelated constants a converted graph also stores (name, dtype, value).
TFJS_OTHER_CONSTANTS: tuple[tuple[str, str, np.ndarray], ...] = (
    ("sub/y", "float32", np.asarray(MEAN, np.float32).reshape(1, 1, 1, 3)),
    ("concat/axis", "int32", np.asarray(3, np.int32)),
    ("conv5/conv5_1/dilation_rate", "int32", np.asarray([2, 2], np.int32)),
    ("aspp/Mean/reduction_indices", "int32", np.asarray([1, 2], np.int32)),
)


def _quantize(values: np.ndarray, dtype: str) -> tuple[bytes, dict[str, Any], np.ndarray]:
    """Store ``values`` as the converter does; return bytes, the manifest's
    ``quantization`` and the values a reader must get back."""
    if dtype == "float16":
        half = values.astype("<f2")
        return half.tobytes(), {"dtype": "float16"}, half.astype(np.float32)
    top = 255 if dtype == "uint8" else 65535
    low, high = float(values.min()), float(values.max())
    scale = (high - low) / top if high > low else 1.0
    # Nudge the minimum so that 0.0 is exactly representable (as tfjs-converter does).
    zero = round(-low / scale)
    minimum = -zero * scale
    q = np.clip(np.round((values - minimum) / scale), 0, top).astype(f"<u{1 if top == 255 else 2}")
    restored = q.astype(np.float32) * np.float32(scale) + np.float32(minimum)
    return q.tobytes(), {"dtype": dtype, "scale": scale, "min": minimum}, restored


def write_tfjs_model(
    weights: Mapping[str, np.ndarray], folder: Path, shard_bytes: int = 4 << 20
) -> dict[str, np.ndarray]:
    """Write ``model.json`` + ``group<g>-shard<i>of<n>.bin`` into ``folder``; return the
    weights as the model holds them (dequantised values for quantised entries).

    Two weight groups (encoder; ASPP and decoder), each cut into ``shard_bytes`` shards
    regardless of entry boundaries, as the converter does.
    """
    folder.mkdir(parents=True, exist_ok=True)
    groups: list[tuple[list[dict[str, Any]], list[bytes]]] = [([], []), ([], [])]
    held: dict[str, np.ndarray] = {}
    others = iter(TFJS_OTHER_CONSTANTS)
    for index, (key, value) in enumerate(weights.items()):
        entries, blobs = groups[0 if key.startswith("conv") else 1]
        if index % 9 == 0:  # interleave unrelated constants, as converters do
            other = next(others, None)
            if other is not None:
                name, dtype, array = other
                entries.append({"name": name, "shape": list(array.shape), "dtype": dtype})
                blobs.append(array.astype(f"<{'f4' if dtype == 'float32' else 'i4'}").tobytes())
        entry: dict[str, Any] = {"name": tfjs_name(key), "shape": list(value.shape)}
        entry["dtype"] = "float32"
        quant = TFJS_QUANTIZATION.get(key)
        if quant:
            blob, entry["quantization"], held[key] = _quantize(value, quant)
        else:
            blob, held[key] = value.astype("<f4").tobytes(), value.astype(np.float32)
        entries.append(entry)
        blobs.append(blob)
    manifest = []
    for number, (entries, blobs) in enumerate(groups, start=1):
        data = b"".join(blobs)
        count = max(1, math.ceil(len(data) / shard_bytes))
        paths = [f"group{number}-shard{i}of{count}.bin" for i in range(1, count + 1)]
        for i, name in enumerate(paths):
            (folder / name).write_bytes(data[i * shard_bytes : (i + 1) * shard_bytes])
        manifest.append({"paths": paths, "weights": entries})
    model = {
        "format": "graph-model",
        "generatedBy": "1.15.0",
        "convertedBy": "TensorFlow.js Converter v1.7.0",
        "signature": {},
        "modelTopology": _tfjs_topology(),
        "weightsManifest": manifest,
    }
    (folder / "model.json").write_text(json.dumps(model))
    return held


def _tfjs_topology() -> dict[str, Any]:
    """The graph as the converter lists it: weights are value-less Consts renamed like
    their manifest entries."""
    from google.protobuf import json_format

    graph = json_format.MessageToDict(frozen_graph_def(None))
    weights = set(published_shapes())
    renamed = {name: tfjs_name(name) for name in weights}
    nodes = []
    for node in graph["node"]:
        if node["name"] in weights:
            node["attr"]["value"]["tensor"].pop("floatVal", None)
        node["name"] = renamed.get(node["name"], node["name"])
        node["input"] = [renamed.get(i, i) for i in node.get("input", [])]
        nodes.append(node)
    return {"node": nodes, "library": {}, "versions": graph.get("versions", {})}


def copy_model_dir(source: Path, dest: Path, *, skip: tuple[str, ...] = ()) -> Path:
    """A cheap copy of a model folder (symlinks) to damage in a test, leaving out
    ``skip``; damage files by replacing their link with a real file."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name not in skip:
            os.symlink(item, dest / item.name)
    return dest


def replace_file(path: Path, data: bytes) -> None:
    """Replace ``path`` (possibly a symlink into a shared fixture) by a file holding
    ``data``, leaving the original untouched."""
    if path.is_symlink():
        path.unlink()
    path.write_bytes(data)


# --- everything at once -------------------------------------------------------------

#: Seed of the weights every published-format fixture is written from.
FIXTURE_SEED = 7


@dataclass(frozen=True)
class PublishedFiles:
    """Every published form written from the same seeded (UNTRAINED) weights.

    ``tfjs_weights`` are the values the TF.js model holds (dequantised); the other
    forms hold ``weights`` exactly.
    """

    weights: dict[str, np.ndarray]
    hf_dir: Path
    tfjs_dir: Path
    tfjs_weights: dict[str, np.ndarray]
    cpu_pb: Path
    gpu_pb: Path
    cpu_zip: Path


def write_published_files(root: Path, seed: int = FIXTURE_SEED) -> PublishedFiles:
    """Write every published form, full size (~100 MB each), under ``root`` (~10 s)."""
    weights = seeded_weights(seed)
    cpu_pb = write_frozen_graph(weights, root / "model_salicon_cpu.pb", "NHWC")
    return PublishedFiles(
        weights=weights,
        hf_dir=write_hf_savedmodel(weights, root / "hf"),
        tfjs_dir=root / "tfjs" / "very_low",
        tfjs_weights=write_tfjs_model(weights, root / "tfjs" / "very_low"),
        cpu_pb=cpu_pb,
        gpu_pb=write_frozen_graph(weights, root / "model_salicon_gpu.pb", "NCHW"),
        cpu_zip=zip_like_drive(cpu_pb, root / "model_salicon_cpu.zip"),
    )
