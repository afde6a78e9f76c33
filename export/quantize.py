"""Reduced-precision variants derived from an exported fp32 variant: fp16 for GPU
providers, int8 for CPU.

- **fp16**: every float tensor and weight becomes float16 (onnxruntime's converter);
  the graph's input stays uint8 BGR and its output float32, so the runtime does not
  change. Meant for CUDA/TensorRT; on CPU onnxruntime runs it, but not faster.
- **int8**: static quantisation with onnxruntime's tools: QDQ format, per-channel int8
  weights, uint8 activations whose ranges are calibrated on natural-looking frames
  (:mod:`saliency_cam.export.calibration`). Weights use 7 bits (``reduce_range``):
  x86 CPUs without AVX-512 VNNI multiply uint8×int8 pairs into saturating 16-bit sums,
  which cost MSI-Net ~1 % CC on an AVX2 machine; 7-bit weights cannot saturate and run
  at the same speed. (QDQ and QOperator ran equally fast here; QDQ is what the GPU
  providers also understand.) Should the fully quantised model miss the fidelity bar,
  a second one keeps the decoder in fp32.
- **bf16** is not made: onnxruntime's CPU provider has no bf16 convolution, so it would
  only add casts around fp32 work.

Every variant's fidelity to fp32 is measured on held-out frames and stored in the
manifest (:mod:`saliency_cam.export.fidelity`); below the bar it is written but marked
``default_ok=False`` with a note.

Needs the export extra (onnx); onnxruntime's quantisation and float16 tools ship with
onnxruntime itself.

>>> fp32 = Manifest.load(models).find("medium", "fp32")          # doctest: +SKIP
>>> int8 = quantize_variant(fp32, "int8", models)                # doctest: +SKIP
>>> int8.fidelity["cc"], int8.default_ok                         # doctest: +SKIP
(0.995, True)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.export.calibration import calibration_frames, held_out_frames
from saliency_cam.export.fidelity import CC_BAR, measure_fidelity
from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.install import install_command
from saliency_cam.models.manifest import Manifest, VariantInfo, sha256_file, variant_filename

#: Precisions this module derives from fp32 (bf16 is a run mode of the fp32 file).
DERIVED_PRECISIONS: tuple[str, ...] = ("fp16", "int8", "bf16")
QUANT_FORMATS: tuple[str, ...] = ("qdq", "qoperator")
CALIBRATION_FRAMES = 16
HELD_OUT_FRAMES = 8
#: MSI-Net's decoder: the last four convolutions of the graph.
FLOAT_DECODER_CONVS = 4


def quantize_variant(
    fp32_info: VariantInfo,
    precision: str,
    models_dir: str | os.PathLike[str],
    *,
    quant_format: str = "qdq",
    calibration_count: int = CALIBRATION_FRAMES,
    held_out_count: int = HELD_OUT_FRAMES,
    bar: float = CC_BAR,
) -> VariantInfo:
    """Make the ``precision`` (fp16 or int8) variant of ``fp32_info`` in ``models_dir``,
    measure its fidelity to fp32, record it in the manifest and return its entry.

    The ONNX file is written under a temporary name, checked (it must load and run:
    the fidelity measurement does that) and only then renamed; the manifest is saved
    afterwards, atomically. Weights provenance (``trained`` included) is copied from
    the fp32 entry, so an UNTRAINED fp32 model gives UNTRAINED derived ones.
    """
    if precision == "bf16":
        return bf16_variant(fp32_info, models_dir, held_out_count=held_out_count, bar=bar)
    if precision not in DERIVED_PRECISIONS:
        raise SaliencyCamError(
            f"cannot derive precision {precision!r}: choose one of {', '.join(DERIVED_PRECISIONS)}"
        )
    if quant_format not in QUANT_FORMATS:
        raise SaliencyCamError(f"unknown quant format {quant_format!r}: use qdq or qoperator")
    if fp32_info.precision != "fp32":
        raise SaliencyCamError(f"{fp32_info.key} is not an fp32 variant: derive from fp32 only")
    source = fp32_info.path
    if not source.is_file() or sha256_file(source) != fp32_info.sha256:
        raise SaliencyCamError(
            f"{source} is missing or does not match its manifest checksum: "
            f"run 'saliency-cam export --quality {fp32_info.preset} --force'"
        )
    directory = Path(models_dir)
    size = (fp32_info.height, fp32_info.width)

    held_out = held_out_frames(size, held_out_count)
    final = directory / variant_filename(fp32_info.preset, precision, fp32_info.arch)
    with atomic_output(final) as tmp:
        for data, recipe in _recipes(source, precision, size, quant_format, calibration_count):
            tmp.write_bytes(data)
            candidate = _variant_info(fp32_info, precision, tmp, data, recipe)
            fidelity = measure_fidelity(fp32_info, candidate, held_out, bar=bar)
            if fidelity.ok:
                break  # else try the next, more conservative recipe (the last one stays)
    candidate.file = final.name
    candidate.directory = directory
    candidate.fidelity = fidelity.to_json()
    candidate.default_ok = fidelity.ok
    notes = [fidelity.note(precision)]
    if not fp32_info.trained:
        notes.append("UNTRAINED random weights: tests and speed only")
    candidate.note = "; ".join(n for n in notes if n)

    with Manifest.editing(directory) as manifest:
        manifest.put(candidate)
    return candidate


def bf16_variant(
    fp32_info: VariantInfo,
    models_dir: str | os.PathLike[str],
    *,
    held_out_count: int = HELD_OUT_FRAMES,
    bar: float = CC_BAR,
) -> VariantInfo:
    """Record ``bf16``: the fp32 file run by OpenVINO with bf16 inference precision
    (AVX512_BF16/AMX CPUs). No new file: the entry points at the fp32 file and carries
    the fidelity of OpenVINO bf16 vs onnxruntime fp32 on held-out frames, so ``auto``
    only picks it when CC >= the bar. onnxruntime's CPU provider has no bf16 convolutions
    (it would run slower than fp32), so bf16 is OpenVINO's alone."""
    from saliency_cam.realtime.runtime.backends.openvino import has_bf16, openvino_version

    if not openvino_version():
        raise SaliencyCamError("bf16 runs on OpenVINO: " + install_command("openvino"))
    if not has_bf16("CPU"):
        raise SaliencyCamError(
            "this CPU has no bf16 units (OpenVINO lists no BF16 capability: needs AVX512_BF16 "
            "or AMX), so bf16 would be emulated and slower: use int8 or fp32"
        )
    directory = Path(models_dir)
    candidate = VariantInfo(
        **{
            **fp32_info.to_json(),
            "precision": "bf16",
            "exporter": {
                **fp32_info.exporter,
                "derived_from": fp32_info.file,
                "derived_from_sha256": fp32_info.sha256,
                "recipe": "runtime precision: OpenVINO CPU INFERENCE_PRECISION_HINT=bf16 "
                "on the fp32 file",
                "openvino": openvino_version(),
            },
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
        directory=directory,
    )
    held_out = held_out_frames((fp32_info.height, fp32_info.width), held_out_count)
    fidelity = measure_fidelity(fp32_info, candidate, held_out, bar=bar)
    candidate.fidelity = fidelity.to_json()
    candidate.default_ok = fidelity.ok
    notes = [fidelity.note("bf16")]
    if not fp32_info.trained:
        notes.append("UNTRAINED random weights: tests and speed only")
    candidate.note = "; ".join(n for n in notes if n)
    with Manifest.editing(directory) as manifest:
        manifest.put(candidate)
    return candidate


def _recipes(
    source: Path, precision: str, size: tuple[int, int], quant_format: str, calibration_count: int
) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """Candidate models, fastest first. int8: every convolution quantised; if that misses
    the fidelity bar, the decoder's convolutions (the last :data:`FLOAT_DECODER_CONVS`,
    ~9 % of the work) stay fp32, which recovers most of the loss (measured on
    very_high: CC 0.9905 → 0.9935 for 1.88× → 1.75× speed-up)."""
    if precision == "fp16":
        yield _to_fp16(source), {"tool": "onnxruntime.transformers.float16", "keep_io_types": True}
        return
    frames = calibration_frames(size, calibration_count)
    for keep_float in (0, FLOAT_DECODER_CONVS):
        recipe = {
            "tool": "onnxruntime.quantization.quantize_static",
            "format": quant_format,
            "weights": "int8 per-channel, 7-bit (reduce_range)",
            "activations": "uint8, MinMax",
            "calibration_frames": len(frames),
            "float_convs": f"last {keep_float} (decoder)" if keep_float else "none",
        }
        yield _to_int8(source, frames, quant_format, keep_float), recipe


def _variant_info(
    fp32_info: VariantInfo, precision: str, path: Path, data: bytes, recipe: dict[str, Any]
) -> VariantInfo:
    import onnxruntime

    exporter = {
        **fp32_info.exporter,
        "derived_from": fp32_info.file,
        "derived_from_sha256": fp32_info.sha256,
        "recipe": ", ".join(f"{k}={v}" for k, v in recipe.items()),
        "onnxruntime": onnxruntime.__version__,
    }
    return VariantInfo(
        preset=fp32_info.preset,
        precision=precision,
        height=fp32_info.height,
        width=fp32_info.width,
        file=path.name,
        sha256=sha256_file(path),
        weights=dict(fp32_info.weights),
        opset=_opset(data, fp32_info.opset),
        exporter=exporter,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        arch=fp32_info.arch,
        directory=path.parent,
    )


def _opset(data: bytes, default: int) -> int:
    import onnx

    model = onnx.load_from_string(data)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default)


def _set_metadata(model: Any, precision: str) -> None:
    """Keep the provenance written by the fp32 export, with the new precision."""
    props = {p.key: p.value for p in model.metadata_props}
    props["precision"] = precision
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.graph.name = model.graph.name.replace("_fp32", f"_{precision}")


def _to_fp16(source: Path) -> bytes:
    """fp16 weights and activations; uint8 input and float32 output kept."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    _set_metadata(model, "fp16")
    return model.SerializeToString()


class _FrameReader:
    """onnxruntime ``CalibrationDataReader``: one uint8 frame per call, then None."""

    def __init__(self, input_name: str, frames: Sequence[np.ndarray]) -> None:
        self._feeds: Iterator[dict[str, np.ndarray]] = iter(
            {input_name: np.ascontiguousarray(frame)[None]} for frame in frames
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        return self._feeds


def _to_int8(
    source: Path, frames: Sequence[np.ndarray], quant_format: str, keep_float: int = 0
) -> bytes:
    """Static int8 quantisation calibrated on ``frames``; the last ``keep_float``
    convolutions (in graph order, which is topological) stay fp32."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(_FrameReader, CalibrationDataReader):
        pass

    input_name = onnx.load(str(source), load_external_data=False).graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="saliency-cam-int8-") as work:
        prepared = Path(work) / "prepared.onnx"
        quantized = Path(work) / "int8.onnx"
        # Shapes are static, so ONNX shape inference suffices (no sympy needed).
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        convs = [n.name for n in onnx.load(str(prepared)).graph.node if n.op_type == "Conv"]
        excluded = convs[len(convs) - keep_float :] if keep_float else []
        quantize_static(
            str(prepared),
            str(quantized),
            Reader(input_name, frames),
            quant_format=QuantFormat.QDQ if quant_format == "qdq" else QuantFormat.QOperator,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            # MinMax keeps only per-tensor min/max scalars per frame: small memory.
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=excluded,
        )
        model = onnx.load(str(quantized))
    _set_metadata(model, "int8")
    return model.SerializeToString()
