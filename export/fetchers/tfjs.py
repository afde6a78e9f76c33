"""The browser demo's TF.js graph models (one trained per quality preset)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from saliency_cam.export.fetchers.http_download import (
    MANUAL_HINT,
    download_file,
    one_line,
)
from saliency_cam.models import registry
from saliency_cam.models.atomic import atomic_write_text
from saliency_cam.models.errors import DownloadError
from saliency_cam.models.manifest import sha256_file
from saliency_cam.models.paths import weights_cache_dir

#: Overrides :data:`registry.TFJS_BASE_URL` (mirrors, tests).
TFJS_BASE_URL_ENV = "SALIENCY_CAM_TFJS_BASE_URL"
#: Name of the stamp that marks a TF.js download as complete (JSON: file → sha256).
COMPLETE_STAMP = ".complete"


def fetch_tfjs_model(preset_name: str) -> Path:
    """Download the TF.js graph model of quality ``preset_name`` and return its folder.

    Fetches ``<base>/<preset>/model.json`` and every shard its ``weightsManifest``
    lists into ``<weights cache>/tfjs/<preset>/``; ``<base>`` is
    ``$SALIENCY_CAM_TFJS_BASE_URL`` or :data:`registry.TFJS_BASE_URL`. A finished set
    gets a ``.complete`` stamp holding each file's sha256; a later call that finds a
    valid stamp downloads nothing. Shards already fully downloaded by an interrupted
    run are reused; the byte count of each weight group is checked against the
    manifest before the set is stamped.

    >>> fetch_tfjs_model("very_low")  # doctest: +SKIP
    PosixPath('/home/me/.cache/saliency-cam/weights/tfjs/very_low')
    """
    preset = registry.resolve_quality(preset_name)
    base = (os.environ.get(TFJS_BASE_URL_ENV) or registry.TFJS_BASE_URL).rstrip("/")
    model_url = f"{base}/{preset.name}"
    folder = weights_cache_dir() / "tfjs" / preset.name
    stamp = folder / COMPLETE_STAMP
    if _stamp_valid(stamp):
        return folder
    stamp.unlink(missing_ok=True)
    hint = (
        f"or check {TFJS_BASE_URL_ENV}, or {MANUAL_HINT} "
        f"(a folder with model.json and its shards from {model_url}/)"
    )

    model_json = folder / "model.json"
    if not model_json.is_file():
        _download_or_explain(f"{model_url}/model.json", model_json, f"TF.js {preset.name}", hint)
    groups = _read_manifest(model_json, hint)
    # Every name is checked before anything is fetched.
    group_files = [
        [folder.joinpath(*PurePosixPath(_safe_shard_name(p, model_json)).parts) for p in g["paths"]]
        for g in groups
    ]

    for group, shards in zip(groups, group_files, strict=True):
        for shard in shards:
            if not shard.is_file():
                name = shard.relative_to(folder).as_posix()
                _download_or_explain(
                    f"{model_url}/{quote(name)}", shard, f"TF.js {preset.name} {name}", hint
                )
        _check_group_bytes(group, shards)

    files = {"model.json": sha256_file(model_json)}
    for shard in (s for shards in group_files for s in shards):
        files[shard.relative_to(folder).as_posix()] = sha256_file(shard)
    atomic_write_text(stamp, json.dumps({"url": model_url, "files": files}, indent=1))
    return folder


def _download_or_explain(url: str, dest: Path, desc: str, hint: str) -> None:
    try:
        download_file(url, dest, desc=desc)
    except DownloadError as exc:
        raise DownloadError(f"{desc}: {exc}; {hint}", reason=f"{desc}: {exc.reason}") from exc


def _read_manifest(model_json: Path, hint: str) -> list[dict[str, Any]]:
    """The ``weightsManifest`` groups of a downloaded model.json; a bad one is deleted."""
    try:
        doc = json.loads(model_json.read_text(encoding="utf-8"))
        groups = doc["weightsManifest"]
        if not isinstance(groups, list) or not all(
            isinstance(g, dict)
            and isinstance(g.get("paths"), list)
            and isinstance(g.get("weights", []), list)
            for g in groups
        ):
            raise TypeError("weightsManifest is not a list of groups with 'paths'")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        model_json.unlink(missing_ok=True)
        raise DownloadError(
            f"{model_json} is not a TF.js model.json ({one_line(exc)}); {hint}"
        ) from exc
    return groups


def _safe_shard_name(name: object, model_json: Path) -> str:
    """Refuse shard paths that could leave the model folder or the model's URL."""
    ok = isinstance(name, str) and bool(name)
    if ok:
        rel = PurePosixPath(name)
        ok = (
            not rel.is_absolute()
            and ".." not in rel.parts
            and "\\" not in name
            and ":" not in name
            and name not in (".", COMPLETE_STAMP, "model.json")
        )
    if not ok:
        raise DownloadError(
            f"{model_json} lists shard {name!r}, which is not a plain relative file name; "
            "refusing to download it"
        )
    return str(name)


#: Bytes per element of each dtype a TF.js shard can store.
_TFJS_DTYPE_BYTES = {
    "float32": 4,
    "int32": 4,
    "bool": 1,
    "complex64": 8,
    "uint8": 1,
    "uint16": 2,
    "float16": 2,
}


def _group_bytes(group: dict[str, Any]) -> int | None:
    """Bytes a weight group's shards must hold together, or None if unknowable."""
    total = 0
    try:
        for entry in group.get("weights", []):
            dtype = (entry.get("quantization") or {}).get("dtype") or entry.get("dtype")
            if dtype not in _TFJS_DTYPE_BYTES:
                return None
            total += math.prod(int(d) for d in entry.get("shape", [])) * _TFJS_DTYPE_BYTES[dtype]
    except (AttributeError, TypeError, ValueError):
        return None  # malformed entries are the reader's to report, with names
    return total


def _check_group_bytes(group: dict[str, Any], shards: Sequence[Path]) -> None:
    expected = _group_bytes(group)
    actual = sum(p.stat().st_size for p in shards)
    if expected is not None and actual != expected:
        for shard in shards:
            shard.unlink(missing_ok=True)
        names = ", ".join(p.name for p in shards)
        raise DownloadError(
            f"TF.js shards {names} hold {actual} bytes but model.json describes {expected}; "
            "they were deleted: run again to fetch them afresh"
        )


def _stamp_valid(stamp: Path) -> bool:
    """True if ``stamp`` lists files that all still have their recorded sha256.

    A listed file whose content changed is deleted, so the next download replaces it
    instead of reusing it.
    """
    try:
        files = json.loads(stamp.read_text(encoding="utf-8"))["files"]
        recorded = {str(name): str(digest) for name, digest in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    valid = bool(recorded)
    for name, digest in recorded.items():
        path = stamp.parent.joinpath(*PurePosixPath(name).parts)
        if ".." in PurePosixPath(name).parts or not path.is_file():
            valid = False
        elif sha256_file(path) != digest:
            path.unlink()
            valid = False
    return valid
