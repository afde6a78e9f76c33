"""Fetch published MSI-Net weights into the user cache, safely.

Four sources, one function each, plus the two tools they share:

- :func:`fetch_hf_savedmodel` — the SALICON SavedModel from Hugging Face (pinned revision).
- :func:`fetch_tfjs_model` — the browser demo's TF.js graph model for one quality preset.
- :func:`fetch_drive_graph` — a zip of the original frozen graphs from Google Drive (gdown).
- :func:`download_file` — one URL to one file: resumable, verified, never a half file
  under the final name.
- :func:`extract_zip_safely` — unpack an archive without letting entries escape.

Every failure is a :class:`DownloadError` (or :class:`WeightsError` for a damaged
archive) with one line that says what to do, usually: download by hand and pass the
file with ``--weights-path``. Base URLs can be overridden (``HF_ENDPOINT``,
``SALIENCY_CAM_TFJS_BASE_URL``, ``SALIENCY_CAM_DRIVE_BASE_URL``) for mirrors and tests;
they are read at call time.

>>> model_dir = fetch_tfjs_model("very-low")  # doctest: +SKIP
>>> sorted(p.name for p in model_dir.iterdir())  # doctest: +SKIP
['.complete', 'group1-shard1of1.bin', 'model.json']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from saliency_cam.models import registry
from saliency_cam.models.atomic import atomic_write_text
from saliency_cam.models.errors import DownloadError, SaliencyCamError, WeightsError
from saliency_cam.models.paths import weights_cache_dir

TFJS_BASE_URL_ENV = "SALIENCY_CAM_TFJS_BASE_URL"
DRIVE_BASE_URL_ENV = "SALIENCY_CAM_DRIVE_BASE_URL"

#: Files of the Hugging Face repository that make up the SavedModel (not the sample jpgs).
HF_ALLOW_PATTERNS: tuple[str, ...] = ("saved_model.pb", "fingerprint.pb", "variables/*")

#: Name of the stamp that marks a TF.js download as complete (JSON: file → sha256).
COMPLETE_STAMP = ".complete"

_CHUNK = 1 << 20
_MANUAL_HINT = "or download it by hand and pass it with --weights-path"


# --------------------------------------------------------------------------- generic


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    size: int | None = None,
    resume: bool = True,
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 0.5,
    desc: str | None = None,
) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``.

    Bytes go to ``dest + ".part"``; an interrupted transfer is retried up to ``retries``
    times, continuing with an HTTP ``Range`` request when the server supports it (206)
    and starting over when it does not. ``size`` and ``sha256`` are checked when given;
    only a complete, verified file is renamed to ``dest``. On failure ``dest`` does not
    exist (a resumable ``.part`` may be left for the next run, never a damaged final
    file). If ``dest`` already exists and matches ``sha256``, nothing is downloaded.

    >>> download_file("https://example.org/w.bin", "w.bin", size=4)  # doctest: +SKIP
    PosixPath('w.bin')
    """
    import requests

    final = Path(dest)
    part = final.with_name(final.name + ".part")
    final.parent.mkdir(parents=True, exist_ok=True)
    if sha256 and final.is_file() and _sha256_file(final) == sha256.lower():
        return final
    if not resume:
        part.unlink(missing_ok=True)

    label = desc or final.name
    last_error = "no attempt made"
    with requests.Session() as session, _progress(label) as progress:
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(min(backoff * 2 ** (attempt - 1), 10.0))
            try:
                _fetch_into(session, url, part, timeout, progress)
                break
            except _PermanentHTTPError as exc:
                part.unlink(missing_ok=True)
                raise DownloadError(f"{url}: {exc}") from exc
            except (requests.RequestException, _TransientError) as exc:
                last_error = _one_line(exc)
            except OSError as exc:  # local disk trouble: retrying will not help
                raise DownloadError(f"cannot write {part}: {_one_line(exc)}") from exc
        else:
            kept = f"; {part.name} is kept and resumed next time" if part.exists() else ""
            raise DownloadError(
                f"could not download {url} after {retries + 1} attempts ({last_error}){kept}: "
                "check your connection and run again"
            )
    _verify(part, url, size=size, sha256=sha256)
    os.replace(part, final)
    return final


class _PermanentHTTPError(Exception):
    """An HTTP answer that retrying will not change (404, 403, …)."""


class _TransientError(Exception):
    """A failure worth retrying (5xx, short body)."""


def _fetch_into(session: Any, url: str, part: Path, timeout: float, progress: _Progress) -> None:
    """One attempt: append the missing bytes of ``url`` to ``part``."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}  # byte offsets must match what is on disk
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with session.get(url, stream=True, timeout=timeout, headers=headers) as resp:
        if resp.status_code == 416 and offset:
            # The .part is as long as (or longer than) the file: start over.
            part.unlink()
            raise _TransientError("server rejected the resume range; restarting")
        if resp.status_code in (408, 429) or resp.status_code >= 500:
            raise _TransientError(f"HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise _PermanentHTTPError(f"HTTP {resp.status_code} {resp.reason or ''}".strip())
        if offset and (resp.status_code != 206 or not _range_starts_at(resp, offset)):
            offset = 0  # server ignored the range: rewrite from the start
        # Keep the bytes that did arrive when the connection drops (urllib3 would
        # discard the last partial read); the length check below catches the short body.
        with contextlib.suppress(AttributeError):
            resp.raw.enforce_content_length = False
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        progress.start(total, offset)
        received = 0
        with open(part, "ab" if offset else "wb") as fh:
            for chunk in resp.iter_content(_CHUNK):
                fh.write(chunk)
                received += len(chunk)
                progress.advance(len(chunk))
        if total is not None and offset + received < total:
            raise _TransientError(f"connection closed after {offset + received} of {total} bytes")


def _range_starts_at(resp: Any, offset: int) -> bool:
    match = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
    return bool(match) and int(match.group(1)) == offset


def _verify(path: Path, url: str, *, size: int | None, sha256: str | None) -> None:
    """Check a finished ``.part``; a bad one is deleted so the next run starts clean."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        path.unlink()
        raise DownloadError(
            f"{url}: got {actual_size} bytes, expected {size}; the download was damaged, run again"
        )
    if sha256:
        actual = _sha256_file(path)
        if actual != sha256.lower():
            path.unlink()
            raise DownloadError(
                f"{url}: sha256 {actual[:12]}… does not match the published {sha256[:12]}…; "
                "the file was damaged or changed upstream — run again, "
                f"{_MANUAL_HINT} if it persists"
            )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class _Progress:
    """A byte progress bar on stderr (rich), silent when stderr is not a terminal."""

    def __init__(self, progress: Any, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task: Any = None

    def start(self, total: int | None, completed: int) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task(self._label, total=total, completed=completed)
        else:
            self._progress.update(self._task, total=total, completed=completed)

    def advance(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[_Progress]:
    if not sys.stderr.isatty():
        yield _Progress(None, label)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(
        *columns, TransferSpeedColumn(), console=Console(stderr=True), transient=True
    ) as bar:
        yield _Progress(bar, label)


def _one_line(exc: BaseException, limit: int = 240) -> str:
    """``Type: message`` squeezed onto one short line (library errors span many)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not text.startswith(type(exc).__name__):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- archives


def extract_zip_safely(
    zip_path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    max_bytes: int = 4 << 30,
) -> list[Path]:
    """Extract ``zip_path`` into ``dest`` and return the extracted files.

    Every entry is checked before anything is written: absolute paths, ``..``
    components, backslashes, drive letters and symlinks are refused, as is an archive
    that would unpack to more than ``max_bytes``. Files are unpacked into a temporary
    folder next to ``dest`` (CRC-checked) and only then moved in, so a failure leaves
    no half-extracted files in ``dest``.

    >>> extract_zip_safely("model_salicon_cpu.zip", "weights/")  # doctest: +SKIP
    [PosixPath('weights/model_salicon_cpu.pb')]
    """
    source = Path(zip_path)
    target = Path(dest)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(
            f"{source} is not a readable zip archive ({_one_line(exc)}): download it again"
        ) from exc
    with archive:
        members = archive.infolist()
        for info in members:
            _check_member(info, source)
        total = sum(info.file_size for info in members)
        if total > max_bytes:
            raise WeightsError(
                f"{source} would unpack to {total} bytes (limit {max_bytes}): refusing to extract"
            )
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target))
        try:
            staged: list[tuple[Path, PurePosixPath]] = []
            for info in members:
                rel = PurePosixPath(info.filename)
                if info.is_dir():
                    continue
                out = staging.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
                staged.append((out, rel))
            extracted = []
            for out, rel in staged:
                final = target.joinpath(*rel.parts)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(out, final)
                extracted.append(final)
            return extracted
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise WeightsError(
                f"{source} is damaged ({_one_line(exc)}): download it again"
            ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _check_member(info: zipfile.ZipInfo, source: Path) -> None:
    name = info.filename
    rel = PurePosixPath(name)
    mode = info.external_attr >> 16
    problem = None
    if "\\" in name or "\x00" in name:
        problem = "has a backslash or NUL in its name"
    elif rel.is_absolute() or re.match(r"^[A-Za-z]:", name):
        problem = "is an absolute path"
    elif ".." in rel.parts:
        problem = "points outside the target folder (..)"
    elif stat.S_ISLNK(mode):
        problem = "is a symbolic link"
    elif not rel.parts:
        problem = "has an empty name"
    if problem:
        raise WeightsError(f"{source}: entry {name!r} {problem}; refusing to extract this archive")


# --------------------------------------------------------------------------- TF.js


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
        f"check {TFJS_BASE_URL_ENV} and your connection, {_MANUAL_HINT} "
        f"(a folder with model.json and its shards from {model_url}/)"
    )

    model_json = folder / "model.json"
    if not model_json.is_file():
        _download_or_explain(f"{model_url}/model.json", model_json, f"TF.js {preset.name}", hint)
    groups = _read_manifest(model_json, hint)

    for group in groups:
        paths = [_safe_shard_name(p, model_json) for p in group.get("paths", [])]
        for name in paths:
            shard = folder.joinpath(*PurePosixPath(name).parts)
            if not shard.is_file():
                _download_or_explain(
                    f"{model_url}/{quote(name)}", shard, f"TF.js {preset.name} {name}", hint
                )
        _check_group_bytes(group, [folder.joinpath(*PurePosixPath(p).parts) for p in paths], hint)

    files = {"model.json": _sha256_file(model_json)}
    for group in groups:
        for name in group.get("paths", []):
            files[name] = _sha256_file(folder.joinpath(*PurePosixPath(name).parts))
    atomic_write_text(stamp, json.dumps({"url": model_url, "files": files}, indent=1))
    return folder


def _download_or_explain(url: str, dest: Path, desc: str, hint: str) -> None:
    try:
        download_file(url, dest, desc=desc)
    except DownloadError as exc:
        raise DownloadError(f"{desc}: {exc}; {hint}") from exc


def _read_manifest(model_json: Path, hint: str) -> list[dict[str, Any]]:
    """The ``weightsManifest`` groups of a downloaded model.json; a bad one is deleted."""
    try:
        doc = json.loads(model_json.read_text(encoding="utf-8"))
        groups = doc["weightsManifest"]
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            raise TypeError("weightsManifest is not a list of groups")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        model_json.unlink(missing_ok=True)
        raise DownloadError(
            f"{model_json} is not a TF.js model.json ({_one_line(exc)}); {hint}"
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
    for entry in group.get("weights", []):
        dtype = (entry.get("quantization") or {}).get("dtype") or entry.get("dtype")
        if dtype not in _TFJS_DTYPE_BYTES:
            return None
        total += math.prod(int(d) for d in entry.get("shape", [])) * _TFJS_DTYPE_BYTES[dtype]
    return total


def _check_group_bytes(group: dict[str, Any], shards: Sequence[Path], hint: str) -> None:
    expected = _group_bytes(group)
    actual = sum(p.stat().st_size for p in shards)
    if expected is not None and actual != expected:
        for shard in shards:
            shard.unlink(missing_ok=True)
        names = ", ".join(p.name for p in shards)
        raise DownloadError(
            f"TF.js shards {names} hold {actual} bytes but model.json describes {expected}; "
            f"they were deleted, run again to fetch them afresh or {hint}"
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
        elif _sha256_file(path) != digest:
            path.unlink()
            valid = False
    return valid


# --------------------------------------------------------------------------- Hugging Face


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
        f"check your connection (and HF_ENDPOINT if you use a mirror), {_MANUAL_HINT} "
        f"(a folder with saved_model.pb and variables/ from "
        f"https://huggingface.co/{registry.HF_REPO_ID})"
    )
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise DownloadError(
            "huggingface_hub is not installed: pip install 'saliency-cam[export]'"
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
        raise DownloadError(
            f"could not download {where} from Hugging Face ({_hf_reason(exc)}); {hint}"
        ) from exc
    if not (folder / "saved_model.pb").is_file():
        raise DownloadError(f"{where} has no saved_model.pb (got {folder}); {hint}")
    _verify_hf_snapshot(folder, cache, endpoint, where, hint)
    return folder


def _hf_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "RevisionNotFoundError":
        return "that revision does not exist"
    if name in ("RepositoryNotFoundError", "GatedRepoError"):
        return "the repository was not found or needs a login"
    if name in ("LocalEntryNotFoundError", "IncompleteSnapshotError"):
        return "the Hub could not be reached and no complete copy is cached"
    return _one_line(exc)


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
            good = path.stat().st_size == entry.size and _sha256_file(path) == entry.lfs.sha256
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
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- Google Drive


def fetch_drive_graph(dataset: str, device: str = "cpu") -> Path:
    """Download the zip holding ``model_<dataset>_<device>.pb``; return the zip's path.

    The Drive file id comes from the registry; the URL is
    ``<base>/uc?id=<id>`` with ``<base>`` = ``$SALIENCY_CAM_DRIVE_BASE_URL`` or
    :data:`registry.DRIVE_BASE_URL`, fetched with gdown (which handles Drive's
    confirmation pages). The zip lands in ``<weights cache>/drive/`` only once it is a
    readable zip that contains the expected graph; a cached valid zip is reused. When
    Drive refuses (gdown's "Cannot retrieve the public link", or a web page instead of
    the zip) the error says how to download it by hand.

    >>> fetch_drive_graph("salicon", "cpu")  # doctest: +SKIP
    PosixPath('/home/me/.cache/saliency-cam/weights/drive/model_salicon_cpu.zip')
    """
    preset = registry.resolve_dataset(dataset)
    if device not in preset.drive:
        raise SaliencyCamError(
            f"unknown device {device!r} for the original graphs: choose one of "
            f"{', '.join(preset.drive)}"
        )
    drive_file = preset.drive[device]
    base = (os.environ.get(DRIVE_BASE_URL_ENV) or registry.DRIVE_BASE_URL).rstrip("/")
    url = f"{base}/uc?id={drive_file.file_id}"
    final = weights_cache_dir() / "drive" / f"{Path(drive_file.member).stem}.zip"
    manual = (
        f"download it in a browser from {registry.DRIVE_BASE_URL}/uc?id={drive_file.file_id} "
        "and pass the zip with --weights-path"
    )
    if final.is_file() and _zip_has_member(final, drive_file.member):
        return final

    staging = final.with_name(final.name + ".download")
    final.parent.mkdir(parents=True, exist_ok=True)
    _gdown(url, staging, drive_file.member, manual)
    if not zipfile.is_zipfile(staging):
        head = staging.read_bytes()[:512].lstrip().lower()
        staging.unlink(missing_ok=True)
        what = "a web page" if head.startswith((b"<!doctype", b"<html")) else "something else"
        raise DownloadError(
            f"Google Drive refused {drive_file.member} (it sent {what}, not the zip; Drive "
            f"does this when a file has had too many downloads): {manual}"
        )
    if not _zip_has_member(staging, drive_file.member):
        staging.unlink(missing_ok=True)
        raise DownloadError(f"the zip from {url} does not contain {drive_file.member}: {manual}")
    os.replace(staging, final)
    return final


def _gdown(url: str, output: Path, member: str, manual: str) -> None:
    try:
        import gdown
        from gdown.exceptions import FileURLRetrievalError
    except ImportError as exc:
        raise DownloadError("gdown is not installed: pip install 'saliency-cam[export]'") from exc
    output.unlink(missing_ok=True)
    options: dict[str, Any] = {"quiet": not sys.stderr.isatty(), "use_cookies": False}
    # Newer gdown retries and resumes by itself; older versions lack these options.
    accepted = _parameters(gdown.download)
    options.update({k: v for k, v in (("retries", 3), ("resume", True)) if k in accepted})
    if "timeout" in accepted:
        options["timeout"] = 60
    try:
        gdown.download(url, str(output), **options)
    except FileURLRetrievalError as exc:
        output.unlink(missing_ok=True)
        raise DownloadError(
            f"Google Drive refused {member} (gdown: cannot retrieve the public link; Drive "
            f"does this when a file has had too many downloads): {manual}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - gdown surfaces requests/OS/own errors
        output.unlink(missing_ok=True)
        raise DownloadError(f"could not download {member} ({_one_line(exc)}): {manual}") from exc


def _parameters(func: Callable[..., Any]) -> set[str]:
    import inspect

    return set(inspect.signature(func).parameters)


def _zip_has_member(path: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(PurePosixPath(n).name == member for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
