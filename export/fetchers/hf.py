"""The SALICON SavedModel from the Hugging Face Hub, at a pinned revision."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from saliency_cam.export.fetchers.http_download import (
    CHUNK,
    MANUAL_HINT,
    one_line,
)
from saliency_cam.models import registry
from saliency_cam.models.atomic import atomic_write_text
from saliency_cam.models.errors import DownloadError
from saliency_cam.models.install import install_command
from saliency_cam.models.manifest import sha256_file
from saliency_cam.models.paths import weights_cache_dir

#: Files of the Hugging Face repository that make up the SavedModel (not the sample jpgs).
HF_ALLOW_PATTERNS: tuple[str, ...] = ("saved_model.pb", "fingerprint.pb", "variables/*")


def fetch_hf_savedmodel(revision: str | None = None) -> Path:
    """Download the SALICON SavedModel from Hugging Face; return the folder holding
    ``saved_model.pb``.

    Uses ``huggingface_hub.snapshot_download`` of :data:`registry.HF_REPO_ID` at
    ``revision`` (default: the pinned :data:`registry.HF_REVISION`), fetching only the
    SavedModel files, into ``<weights cache>/hf``. ``HF_ENDPOINT`` is read at call time,
    so a mirror set after import is honoured. Downloaded files are checked against the
    sha256 (LFS) or git blob id the Hub lists for them. A complete, verified cached
    snapshot is reused without network.

    >>> (fetch_hf_savedmodel() / "saved_model.pb").is_file()  # doctest: +SKIP
    True
    """
    rev = revision or registry.HF_REVISION
    where = f"{registry.HF_REPO_ID}@{rev[:12]}"
    hint = (
        f"{MANUAL_HINT} (a folder with saved_model.pb and variables/ from "
        f"https://huggingface.co/{registry.HF_REPO_ID})"
    )
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise DownloadError(
            "huggingface_hub is not installed: " + install_command("export")
        ) from exc
    cache = weights_cache_dir() / "hf"
    # huggingface_hub reads HF_ENDPOINT once, at import: pass it explicitly.
    endpoint = (os.environ.get("HF_ENDPOINT") or "").rstrip("/") or None
    try:
        folder = Path(
            snapshot_download(
                registry.HF_REPO_ID,
                revision=rev,
                cache_dir=cache,
                allow_patterns=list(HF_ALLOW_PATTERNS),
                endpoint=endpoint,
            )
        )
    except Exception as exc:  # noqa: BLE001 - the library's error classes vary by version
        reason, advice = _hf_reason(exc)
        raise DownloadError(
            f"could not download {where} from Hugging Face ({reason}): {advice}, or {hint}",
            reason=f"could not download {where} from Hugging Face ({reason}): {advice}",
        ) from exc
    if not (folder / "saved_model.pb").is_file():
        raise DownloadError(f"{where} has no saved_model.pb (in {folder}): {hint}")
    _verify_hf_snapshot(folder, cache, endpoint, where, hint)
    return folder


def _hf_reason(exc: BaseException) -> tuple[str, str]:
    """What went wrong, and what to check, for an error from ``snapshot_download``."""
    name = type(exc).__name__
    if name == "RevisionNotFoundError":
        return "that revision does not exist", "pass an existing commit, tag or branch"
    if name in ("RepositoryNotFoundError", "GatedRepoError"):
        return (
            "the repository was not found or needs a login",
            "check HF_ENDPOINT and your Hugging Face login",
        )
    advice = "check your connection (and HF_ENDPOINT if you use a mirror)"
    if name in ("LocalEntryNotFoundError", "IncompleteSnapshotError"):
        return "the Hub could not be reached and no complete copy is cached", advice
    return one_line(exc), advice


def _verify_hf_snapshot(
    folder: Path, cache: Path, endpoint: str | None, where: str, hint: str
) -> None:
    """Check the snapshot's files against the Hub's listing: size, and the LFS sha256 or
    git blob id. A verified snapshot is stamped (``<cache>/verified/<commit>.json``) so
    later calls need neither network nor hashing; without a stamp and without network
    (a snapshot placed by other means) huggingface_hub's own size check stands alone.
    """
    stamp = cache / "verified" / f"{folder.name}.json"
    local = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if set(recorded) == set(local) and all(
            local[name].stat().st_size == size for name, size in recorded.items()
        ):
            return
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    from huggingface_hub import HfApi

    try:
        listing = HfApi(endpoint=endpoint).list_repo_tree(
            registry.HF_REPO_ID, revision=folder.name, recursive=True
        )
        entries = {e.path: e for e in listing if hasattr(e, "blob_id")}
    except Exception:  # noqa: BLE001 - offline: nothing to compare with
        return
    for name, path in local.items():
        entry = entries.get(name)
        if entry is None:
            continue
        if entry.lfs is not None:
            good = path.stat().st_size == entry.size and sha256_file(path) == entry.lfs.sha256
        else:
            good = path.stat().st_size == entry.size and _git_blob_id(path) == entry.blob_id
        if not good:
            # Drop both the snapshot link and its blob so the next run downloads again.
            blob = path.resolve()
            path.unlink(missing_ok=True)
            blob.unlink(missing_ok=True)
            raise DownloadError(
                f"{where}: {name} does not match the size/checksum the Hub lists; "
                f"it was deleted, run again or {hint}"
            )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    sizes = {name: path.stat().st_size for name, path in local.items()}
    atomic_write_text(stamp, json.dumps(sizes, indent=1))


def _git_blob_id(path: Path) -> str:
    """The git object id (sha1 of ``blob <size>\\0`` + content) the Hub lists for non-LFS files."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
