"""TF.js graph models: the browser demo's MSI-Net, one trained per quality preset.

A model is ``model.json`` (``format: graph-model``, a ``modelTopology`` and a
``weightsManifest``) plus binary shards. Each manifest group lists its shard files,
whose bytes concatenated hold the group's entries back to back, in order. An entry may
carry ``quantization``: ``uint8``/``uint16`` values mean ``q * scale + min``; ``float16``
values are stored as half floats. Weights are matched to MSI-Net by scope, whatever
prefix or suffix the converter added (see :mod:`.names`).

The demo feeds the model ``tf.reverse(frame, 2)`` on a [1, H, W, 3] tensor: that flips
the width axis (a horizontal mirror of the camera view), it is not an RGB/BGR swap, and
it does not concern the weights.

>>> read_tfjs_model("tfjs/very_low/").dataset  # doctest: +SKIP
'salicon'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from saliency_cam.export.readers.names import Candidate, assign_weights
from saliency_cam.export.weights import LoadedWeights
from saliency_cam.models.errors import WeightsError

#: Bytes per stored element, by storage dtype (the quantized dtype when quantized).
_STORED_BYTES = {
    "float32": 4,
    "int32": 4,
    "bool": 1,
    "uint8": 1,
    "uint16": 2,
    "float16": 2,
    "complex64": 8,
}
_FLOAT_DTYPES = ("float32", "float16")


def read_tfjs_model(
    path: str | os.PathLike[str], *, preset_name: str = "", url: str = ""
) -> LoadedWeights:
    """Read MSI-Net's weights from a TF.js graph model folder (or its ``model.json``).

    ``preset_name`` and ``url`` are recorded in the origin. Raises
    :class:`WeightsError` naming the file for a corrupt ``model.json``, a missing or
    short shard, or weights that do not fit MSI-Net.
    """
    source = Path(path)
    model_json = source / "model.json" if source.is_dir() else source
    if not model_json.is_file():
        raise WeightsError(
            f"{source} holds no model.json: pass the folder of a TF.js graph model "
            "(model.json and its .bin shards)"
        )
    raw = _read_bytes(model_json)
    digest = hashlib.sha256(raw)
    groups = _manifest(model_json, raw)
    candidates: list[Candidate] = []
    for index, group in enumerate(groups, start=1):
        shards = [_shard_path(model_json, p) for p in group["paths"]]
        buffer = b"".join(_read_shard(s) for s in shards)
        digest.update(buffer)
        candidates.extend(_entries(group["weights"], buffer, shards, model_json, index))
    weights = assign_weights(candidates, str(model_json))
    where = url or str(model_json.parent)
    return LoadedWeights(
        weights,
        source="tfjs",
        revision=f"sha256:{digest.hexdigest()[:16]}",
        dataset="salicon",
        trained=True,
        origin=f"TF.js graph model {preset_name} from {where}".replace("  ", " "),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _manifest(model_json: Path, raw: bytes) -> list[dict[str, Any]]:
    try:
        model = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(
            f"{model_json} is not valid JSON ({exc}): the download is damaged, fetch it again"
        ) from exc
    groups = model.get("weightsManifest") if isinstance(model, dict) else None
    problem = None
    if not isinstance(groups, list) or not groups:
        problem = "has no weightsManifest"
    else:
        for group in groups:
            if not (
                isinstance(group, dict)
                and isinstance(group.get("paths"), list)
                and all(isinstance(p, str) for p in group["paths"])
                and isinstance(group.get("weights"), list)
            ):
                problem = "has a weightsManifest group without 'paths' and 'weights' lists"
                break
    if problem:
        raise WeightsError(f"{model_json} {problem}: is it a TF.js graph model's model.json?")
    return groups


def _shard_path(model_json: Path, name: str) -> Path:
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or "\\" in name or not rel.parts:
        raise WeightsError(f"{model_json} lists a shard outside its folder ({name!r}): refusing")
    return model_json.parent.joinpath(*rel.parts)


def _read_shard(shard: Path) -> bytes:
    if not shard.is_file():
        raise WeightsError(
            f"shard {shard} listed in model.json is missing: download the whole model again"
        )
    return _read_bytes(shard)


def _entries(
    entries: list[Any], buffer: bytes, shards: list[Path], model_json: Path, group: int
) -> list[Candidate]:
    """Walk one group's entries over its concatenated shard bytes."""
    candidates: list[Candidate] = []
    offset = 0
    for entry in entries:
        name, shape, dtype, quant = _entry_fields(entry, model_json)
        count = math.prod(shape)
        if dtype == "string":
            offset = _skip_strings(buffer, offset, count, shards, model_json, group)
            continue
        stored = quant.get("dtype", dtype) if quant else dtype
        if stored not in _STORED_BYTES:
            raise WeightsError(f"{model_json}: entry {name!r} has unsupported dtype {stored!r}")
        size = count * _STORED_BYTES[stored]
        if offset + size > len(buffer):
            _short(buffer, offset + size, shards, model_json, group, entries)
        if dtype in _FLOAT_DTYPES:
            chunk = buffer[offset : offset + size]
            label = f"{model_json}: entry {name!r}"
            candidates.append(Candidate(name, shape, _decoder(chunk, shape, stored, quant, label)))
        offset += size
    if offset != len(buffer):
        raise WeightsError(
            f"{model_json}: weight group {group} is {len(buffer)} bytes but its entries need "
            f"{offset}: the shards ({_names(shards)}) do not belong to this model.json"
        )
    return candidates


def _entry_fields(entry: Any, model_json: Path) -> tuple[str, tuple[int, ...], str, dict]:
    try:
        name = str(entry["name"])
        shape = tuple(int(d) for d in entry["shape"])
        dtype = str(entry.get("dtype", "float32"))
        quant = entry.get("quantization") or {}
        if not isinstance(quant, dict) or any(d < 0 for d in shape):
            raise ValueError("bad quantization or shape")
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(
            f"{model_json}: malformed weightsManifest entry {str(entry)[:80]} ({exc})"
        ) from exc
    return name, shape, dtype, quant


def _decoder(
    chunk: bytes, shape: tuple[int, ...], stored: str, quant: dict, label: str
) -> Callable[[], np.ndarray]:
    def decode() -> np.ndarray:
        if stored in ("uint8", "uint16"):
            try:
                scale = np.float32(quant["scale"])
                minimum = np.float32(quant["min"])
            except (KeyError, TypeError, ValueError) as exc:
                raise WeightsError(f"{label} is quantized without a numeric scale/min") from exc
            q = np.frombuffer(chunk, dtype=f"<{'u1' if stored == 'uint8' else 'u2'}")
            values = q.astype(np.float32) * scale + minimum
        elif stored == "float16":
            values = np.frombuffer(chunk, dtype="<f2").astype(np.float32)
        else:
            values = np.frombuffer(chunk, dtype="<f4").astype(np.float32)
        return values.reshape(shape)

    return decode


def _skip_strings(
    buffer: bytes, offset: int, count: int, shards: list[Path], model_json: Path, group: int
) -> int:
    # Each string is a little-endian uint32 byte length followed by its bytes.
    for _ in range(count):
        if offset + 4 > len(buffer):
            _short(buffer, offset + 4, shards, model_json, group, [])
        length = int.from_bytes(buffer[offset : offset + 4], "little")
        offset += 4 + length
    if offset > len(buffer):
        _short(buffer, offset, shards, model_json, group, [])
    return offset


def _short(
    buffer: bytes, needed: int, shards: list[Path], model_json: Path, group: int, entries: list
) -> None:
    """Raise the error for shards holding fewer bytes than the manifest needs, naming
    the shard most likely cut short (converters write equal shards but the last)."""
    total = _group_bytes(entries) if entries else needed
    sizes = [s.stat().st_size for s in shards]
    culprit = shards[-1]
    for shard, size in zip(shards[:-1], sizes[:-1], strict=True):
        if size < sizes[0]:
            culprit = shard
            break
    raise WeightsError(
        f"shard {culprit} is shorter than {model_json.name} says (weight group {group} "
        f"needs {total or needed} bytes, its shards hold {len(buffer)}): download it again"
    )


def _group_bytes(entries: list) -> int:
    total = 0
    for entry in entries:
        try:
            quant = entry.get("quantization") or {}
            stored = quant.get("dtype", entry.get("dtype", "float32"))
            total += math.prod(int(d) for d in entry["shape"]) * _STORED_BYTES[stored]
        except (KeyError, TypeError, ValueError, AttributeError):
            return 0  # strings or malformed entries: report what was needed so far
    return total


def _names(shards: list[Path]) -> str:
    return ", ".join(s.name for s in shards)
