"""The original frozen graphs: zips on Google Drive, fetched with gdown."""

from __future__ import annotations

import inspect
import os
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from saliency_cam.export.fetchers.http_download import one_line
from saliency_cam.models import registry
from saliency_cam.models.errors import DownloadError, SaliencyCamError
from saliency_cam.models.install import install_command
from saliency_cam.models.paths import weights_cache_dir

#: Overrides :data:`registry.DRIVE_BASE_URL` (mirrors, tests).
DRIVE_BASE_URL_ENV = "SALIENCY_CAM_DRIVE_BASE_URL"


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
            f"Google Drive refused the zip with {drive_file.member} (it sent {what}, not the "
            f"zip; Drive does this when a file has had too many downloads): {manual}"
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
        raise DownloadError("gdown is not installed: " + install_command("export")) from exc
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
            f"Google Drive refused the zip with {member} (gdown: cannot retrieve the public "
            f"link; Drive does this when a file has had too many downloads): {manual}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - gdown surfaces requests/OS/own errors
        output.unlink(missing_ok=True)
        raise DownloadError(f"could not download {member} ({one_line(exc)}): {manual}") from exc


def _parameters(func: Callable[..., Any]) -> set[str]:
    return set(inspect.signature(func).parameters)


def _zip_has_member(path: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(PurePosixPath(n).name == member for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def fetch_drive_file(file_id: str, filename: str, what: str, *, must_be_zip: bool = True) -> Path:
    """Download any Drive file (``file_id``) into ``<weights cache>/drive/<filename>``
    with gdown and return its path (reused when already there). The base URL follows
    ``$SALIENCY_CAM_DRIVE_BASE_URL`` as for the graphs; a refused download says how to
    fetch ``what`` by hand.

    >>> fetch_drive_file(VGG16_HYBRID_DRIVE_ID, "vgg16_hybrid.zip", "VGG16")  # doctest: +SKIP
    """
    base = (os.environ.get(DRIVE_BASE_URL_ENV) or registry.DRIVE_BASE_URL).rstrip("/")
    final = weights_cache_dir() / "drive" / filename
    if final.is_file() and (not must_be_zip or zipfile.is_zipfile(final)):
        return final
    manual = (
        f"download {what} in a browser from {registry.DRIVE_BASE_URL}/uc?id={file_id} "
        "and pass it with --init-path"
    )
    staging = final.with_name(final.name + ".download")
    final.parent.mkdir(parents=True, exist_ok=True)
    _gdown(f"{base}/uc?id={file_id}", staging, filename, manual)
    if must_be_zip and not zipfile.is_zipfile(staging):
        staging.unlink(missing_ok=True)
        raise DownloadError(f"Google Drive did not send the zip with {what}: {manual}")
    if must_be_zip and (damaged := _damaged_member(staging)):
        # each member's CRC-32 is the only checksum the published zip carries: a file
        # failing it never reaches the final name (it would be reused forever)
        staging.unlink(missing_ok=True)
        raise DownloadError(f"the download of {what} is damaged ({damaged}): {manual}")
    os.replace(staging, final)
    return final


def _damaged_member(path: Path) -> str:
    """'' when every member of the zip at ``path`` passes its CRC-32, else what failed."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return one_line(exc)
    return f"{bad} fails its CRC-32 check" if bad else ""
