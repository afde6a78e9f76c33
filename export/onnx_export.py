"""Export one MSI-Net variant: Keras model → ONNX with the preprocessing inside, checked
for parity against TensorFlow before anything is written.

The ONNX graph takes exactly what OpenCV hands the runtime, a uint8 BGR frame
``[1, H, W, 3]`` at the preset size; the cast to float, the BGR→RGB swap and the mean
subtraction happen inside, and the output is the ``[1, H, W, 1]`` map in [0, 1].

Needs the export extra (TensorFlow, tf2onnx, onnx); imported lazily by the CLI.

>>> loaded = read_weights("random", resolve_quality("very_low"))       # doctest: +SKIP
>>> info = export_variant("very_low", loaded, Path("models"))          # doctest: +SKIP
>>> info.parity["max_abs"] <= 1e-4                                     # doctest: +SKIP
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.export.dynamic import DIM_NAMES, make_dynamic, name_dynamic_dims
from saliency_cam.export.parity import FP32_TOLERANCE, ParityResult, compare, parity_frames
from saliency_cam.export.weights import LoadedWeights
from saliency_cam.models.architectures import get_architecture
from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import Manifest, VariantInfo, sha256_file, variant_filename
from saliency_cam.models.registry import Preset, resolve_preset
from saliency_cam.realtime.runtime.providers import choose_providers

#: ONNX opset of the exported graphs: onnxruntime 1.17+ runs it on every provider.
DEFAULT_OPSET = 17
INPUT_NAME = "frame_bgr"
OUTPUT_NAME = "saliency"

StepCallback = Callable[[str], None]


class ExportError(SaliencyCamError):
    """The converter produced a graph that is not the one the runtime expects."""


class ParityError(ExportError):
    """ONNX and TensorFlow disagree by more than the tolerance; nothing was written."""


def build_keras_model(preset: Preset, loaded: LoadedWeights):  # -> keras.Model
    """The preset's architecture with ``loaded``'s weights, at the preset's fixed size
    (or at any size for an architecture the exporter traces with unknown sizes)."""
    network = get_architecture(preset.arch)
    if get_architecture(loaded.arch) is not network:
        raise ExportError(
            f"{preset.name} is {network.title} but the weights are for "
            f"{get_architecture(loaded.arch).title}"
        )
    size = (None, None) if network.trace_dynamic else (preset.height, preset.width)
    model = network.build(*size)
    network.keras_module().load_weights(model, loaded.weights)
    return model


def convert_to_onnx(
    model, height: int, width: int, opset: int = DEFAULT_OPSET, *, dynamic: bool = False
):
    """Convert a fixed-size MSI-Net Keras model to an ``onnx.ModelProto`` whose input is
    uint8 BGR ``[1, H, W, 3]`` named ``frame_bgr`` and output ``saliency``.

    The uint8→float cast and channel swap are traced into the same tf.function as the
    model, so they end up in the graph; the mean subtraction is the model's own layer.
    The weights enter the trace as inputs (Keras' ``stateless_call``) and are put back
    as initializers afterwards (:mod:`saliency_cam.export.fold`): with them as constants
    tf2onnx peaked at 5.5 GB and took 17 s per variant, this way under 1 GB and 3 s.

    ``dynamic`` traces with unknown batch, height and width (architectures without
    dilated convolutions, whose fixed-size trace holds size-bound resizes: ML-Net's
    prior); the graph comes out already dynamic.
    """
    import tensorflow as tf
    import tf2onnx

    from saliency_cam.export.fold import fold_weights

    # trainable weights first, then the non-trainable ones (the lite network's
    # BatchNorm statistics; MSI-Net has none): all folded in as initializers
    trainable = len(model.trainable_variables)
    variables = list(model.trainable_variables) + list(model.non_trainable_variables)
    names = [f"weight_{i}" for i in range(len(variables))]
    shape = [None, None, None, 3] if dynamic else [1, height, width, 3]
    signature = [tf.TensorSpec(shape, tf.uint8, name=INPUT_NAME)] + [
        tf.TensorSpec(v.shape, tf.float32, name=n) for v, n in zip(variables, names, strict=True)
    ]

    @tf.function(input_signature=signature)
    def frame_to_saliency(frame_bgr: tf.Tensor, *weights: tf.Tensor) -> dict[str, tf.Tensor]:
        rgb = tf.gather(tf.cast(frame_bgr, tf.float32), [2, 1, 0], axis=3)
        saliency, _ = model.stateless_call(
            list(weights[:trainable]), list(weights[trainable:]), rgb, training=False
        )
        return {OUTPUT_NAME: saliency}

    proto, _ = tf2onnx.convert.from_function(
        frame_to_saliency, input_signature=signature, opset=opset
    )
    values = {n: np.asarray(v.numpy()) for n, v in zip(names, variables, strict=True)}
    return fold_weights(proto, values)


def check_graph(proto, height: int, width: int) -> None:
    """Raise :class:`ExportError` unless the graph has exactly one uint8 input
    ``[1, H, W, 3]`` and one float output ``[1, H, W, 1]`` (or their symbolic
    ``[batch, height, width, ·]`` forms after :func:`make_dynamic`; a stray constant can turn
    into a second input, docs/design.md §5), and every Resize is the legacy asymmetric one."""
    from onnx import TensorProto

    def dims(value) -> list[int | str]:
        return [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]

    symbolic = list(DIM_NAMES)
    inputs = [i for i in proto.graph.input]
    outputs = [o for o in proto.graph.output]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ExportError(
            f"exported graph has {len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1"
            f" (inputs: {', '.join(i.name for i in inputs)})"
        )
    (inp,), (out,) = inputs, outputs
    shapes_in = ([1, height, width, 3], [*symbolic, 3])
    if inp.type.tensor_type.elem_type != TensorProto.UINT8 or dims(inp) not in shapes_in:
        raise ExportError(f"exported input {inp.name} is not uint8 [1, {height}, {width}, 3]")
    shapes_out = ([1, height, width, 1], [*symbolic, 1])
    if out.type.tensor_type.elem_type != TensorProto.FLOAT or dims(out) not in shapes_out:
        raise ExportError(f"exported output {out.name} is not float [1, {height}, {width}, 1]")
    modes = resize_modes(proto)
    if any(mode != "asymmetric" for mode in modes):
        raise ExportError(
            f"exported Resize ops use {sorted(set(modes))}; MSI-Net needs 'asymmetric' "
            "(TF1 ResizeBilinear without half-pixel centres)"
        )


def resize_modes(proto) -> list[str]:
    """``coordinate_transformation_mode`` of every Resize node, in graph order."""
    modes = []
    for node in proto.graph.node:
        if node.op_type == "Resize":
            attrs = {a.name: a.s.decode() for a in node.attribute if a.name.endswith("mode")}
            modes.append(attrs.get("coordinate_transformation_mode", "half_pixel"))
    return modes


def _parity_session(model_bytes: bytes):
    """A CPU session for the parity checks (the reference numerics), without the memory
    arena: at very_high the arena kept hundreds of MB after the check had finished."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(model_bytes, options, providers=choose_providers("cpu").providers)


def onnx_maps(model_bytes: bytes, frames: Sequence[np.ndarray]) -> np.ndarray:
    """Run the serialized ONNX model on uint8 BGR frames one by one (CPU provider, the
    reference numerics); returns ``[N, H, W, 1]``."""
    session = _parity_session(model_bytes)
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: frame[None]})[0] for frame in frames])


def tensorflow_maps(model, frames: Sequence[np.ndarray]) -> np.ndarray:
    """The Keras model on the same frames, converted to RGB float in NumPy: a path
    independent of the in-graph preprocessing, so a wrong swap or cast shows up. One
    frame at a time: a batch of six very_high frames added 0.7 GB to the export's peak."""
    maps = [
        np.asarray(model(frame[None, ..., ::-1].astype(np.float32), training=False))
        for frame in frames
    ]
    return np.concatenate(maps)


#: The other input size the export checks: a 16:9 frame aspect-matched to the preset.
PARITY_ASPECT_FRAME = (720, 1280)
#: Frames used for the batch and the aspect checks (the preset-size check uses all six):
#: two are enough to show a batch works and to measure the error, at a third of the cost.
DYNAMIC_PARITY_FRAMES = 2


def _dynamic_parity(
    data: bytes,
    spec: Preset,
    loaded: LoadedWeights,
    frames: Sequence[np.ndarray],
    tf_reference: np.ndarray,
    tolerance: float,
    single: ParityResult,
) -> ParityResult:
    """Parity of the dynamic graph beyond the preset size: the first
    :data:`DYNAMIC_PARITY_FRAMES` frames as one batch, and letterboxed into the 16:9
    aspect-matched size, each against TensorFlow (a Keras model built for any size, same
    weights). The result's ``max_abs`` is the worst of all three checks; ``extra``
    records each."""
    from saliency_cam.realtime.runtime.aspect import aspect_size
    from saliency_cam.realtime.runtime.letterbox import Letterbox

    frames = list(frames)[:DYNAMIC_PARITY_FRAMES]
    session = _parity_session(data)
    name = session.get_inputs()[0].name
    batch = session.run(None, {name: np.stack(frames)})[0]
    batch_parity = compare(batch, tf_reference[: len(frames)], tolerance)

    size = aspect_size(PARITY_ASPECT_FRAME, spec.size, "match")
    if size == spec.size:
        size = aspect_size(PARITY_ASPECT_FRAME, spec.size, "fill")
    aspect_frames = np.stack([Letterbox.fit(f.shape[:2], size).apply(f) for f in frames])
    network = get_architecture(spec.arch)
    any_size = network.build(None, None)
    network.keras_module().load_weights(any_size, loaded.weights)
    aspect_parity = compare(
        session.run(None, {name: aspect_frames})[0],
        tensorflow_maps(any_size, list(aspect_frames)),
        tolerance,
    )
    worst = max(single.max_abs, batch_parity.max_abs, aspect_parity.max_abs)
    return ParityResult(
        worst,
        single.mean_abs,
        single.frames,
        tolerance,
        extra={
            "preset_max_abs": single.max_abs,
            "batch": len(frames),
            "batch_max_abs": batch_parity.max_abs,
            "aspect_input": f"{size[0]}x{size[1]}",
            "aspect_max_abs": aspect_parity.max_abs,
        },
    )


def exporter_versions() -> dict[str, str]:
    """Versions of the packages that made (and checked) the file."""
    names = ("saliency-cam", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime")
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            # tensorflow-cpu, onnxruntime-gpu and friends install under other names
            module = {"tensorflow": "tensorflow", "onnxruntime": "onnxruntime"}.get(name)
            out[name] = _module_version(module) if module else "unknown"
    return out


def _module_version(module: str) -> str:
    import importlib

    try:
        return str(importlib.import_module(module).__version__)
    except (ImportError, AttributeError):
        return "unknown"


def _write_model(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def export_variant(
    preset: Preset | str,
    loaded_weights: LoadedWeights,
    models_dir: str | os.PathLike[str],
    precision: str = "fp32",
    *,
    opset: int = DEFAULT_OPSET,
    tolerance: float = FP32_TOLERANCE,
    on_step: StepCallback | None = None,
) -> VariantInfo:
    """Export ``preset`` with ``loaded_weights`` to ``models_dir`` and record it in the
    manifest; return its :class:`VariantInfo`.

    Order: build, convert, check the graph's inputs/outputs/resizes, measure parity on
    letterboxed real-looking frames, and only then write the ONNX file (temp name +
    rename) and save the manifest (also temp + rename). A failure at any step leaves the
    directory as it was. Only fp32 is made here; other precisions derive from it
    (``saliency_cam.export.quantize``).
    """
    if precision != "fp32":
        raise SaliencyCamError(
            f"export_variant makes fp32 models only; {precision} is derived from fp32 "
            "by saliency_cam.export.quantize"
        )
    spec = preset if isinstance(preset, Preset) else resolve_preset(preset)
    step = on_step or (lambda _msg: None)
    directory = Path(models_dir)

    network = get_architecture(spec.arch)
    step(f"building the Keras model ({network.title})")
    model = build_keras_model(spec, loaded_weights)
    step("converting to ONNX")
    proto = convert_to_onnx(model, spec.height, spec.width, opset, dynamic=network.trace_dynamic)
    if network.trace_dynamic:
        name_dynamic_dims(proto)
    check_graph(proto, spec.height, spec.width)
    # traced at the preset size (lean graph), then any batch/height/width (export/dynamic.py)
    proto = make_dynamic(proto, spec.height, spec.width)
    check_graph(proto, spec.height, spec.width)
    _annotate(proto, spec, precision, loaded_weights)
    data = proto.SerializeToString()
    del proto

    step("checking parity with TensorFlow")
    parity = _check_parity(data, model, spec, loaded_weights, precision, tolerance)

    step("writing")
    final = directory / variant_filename(spec.name, precision, network.name)
    with atomic_output(final) as tmp:
        _write_model(tmp, data)
    info = _variant_info(final, spec, precision, loaded_weights, opset, parity)
    with Manifest.editing(directory) as manifest:
        manifest.put(info)
    return info


def _check_parity(
    data: bytes,
    model: Any,
    spec: Preset,
    loaded: LoadedWeights,
    precision: str,
    tolerance: float,
) -> ParityResult:
    """Parity of the ONNX graph ``data`` with the Keras ``model`` on letterboxed
    real-looking frames at the preset size, then beyond it (batched, another aspect);
    raises :class:`ParityError` (nothing is written) when any differs by more than
    ``tolerance``."""
    frames = parity_frames(spec.size)
    tf_reference = tensorflow_maps(model, frames)
    parity: ParityResult = compare(onnx_maps(data, frames), tf_reference, tolerance)
    if parity.ok:
        parity = _dynamic_parity(data, spec, loaded, frames, tf_reference, tolerance, parity)
    if not parity.ok:
        raise ParityError(
            f"{spec.name} {precision}: onnxruntime differs from TensorFlow by "
            f"{parity.max_abs:.2e} (> {tolerance:.0e}) on {parity.frames} frames; not written. "
            "Report this with the versions of tensorflow, tf2onnx and onnxruntime"
        )
    return parity


def _variant_info(
    final: Path,
    spec: Preset,
    precision: str,
    loaded: LoadedWeights,
    opset: int,
    parity: ParityResult,
) -> VariantInfo:
    """The manifest entry of the written file ``final``: its size, hash, weights,
    exporter versions and parity (untrained weights are noted)."""
    return VariantInfo(
        preset=spec.name,
        precision=precision,
        height=spec.height,
        width=spec.width,
        file=final.name,
        sha256=sha256_file(final),
        weights=loaded.describe(),
        opset=opset,
        exporter=exporter_versions(),
        parity=parity.to_json(),
        note="" if loaded.trained else "UNTRAINED random weights: tests and speed only",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        arch=get_architecture(spec.arch).name,
    )


def _annotate(proto, spec: Preset, precision: str, loaded: LoadedWeights) -> None:
    """Name the graph and record provenance in the file itself (visible in Netron)."""
    network = get_architecture(spec.arch)
    proto.graph.name = f"{network.name}_{spec.name}_{precision}"
    proto.doc_string = (
        f"{network.title} saliency, {spec.name} {spec.height}x{spec.width} {precision}; "
        "input uint8 BGR [1,H,W,3], output [1,H,W,1] in [0,1]"
        + ("" if loaded.trained else "; UNTRAINED random weights")
    )
    for key, value in {
        "preset": spec.name,
        "arch": network.name,
        "precision": precision,
        "weights_source": loaded.source,
        "weights_revision": loaded.revision,
        "trained": str(loaded.trained).lower(),
    }.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
