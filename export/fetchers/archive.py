"""Unpack a downloaded zip without letting any entry escape the target folder."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from saliency_cam.export.fetchers.http_download import CHUNK, one_line
from saliency_cam.models.errors import WeightsError


def extract_zip_safely(
    zip_path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    max_bytes: int = 4 << 30,
) -> list[Path]:
    """Extract ``zip_path`` into ``dest`` and return the extracted files.

    Every entry is checked before anything is written: absolute paths, ``..``
    components, backslashes, drive letters and symlinks are refused, as is an archive
    that would unpack to more than ``max_bytes``. Files are unpacked into a hidden
    temporary folder inside ``dest`` (CRC-checked) and only then renamed into place, so
    a failure leaves no half-extracted files in ``dest``.

    >>> extract_zip_safely("model_salicon_cpu.zip", "weights/")  # doctest: +SKIP
    [PosixPath('weights/model_salicon_cpu.pb')]
    """
    source = Path(zip_path)
    target = Path(dest)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(
            f"{source} is not a readable zip archive ({one_line(exc)}): download it again"
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
                    shutil.copyfileobj(src, dst, CHUNK)
                staged.append((out, rel))
            extracted = []
            for out, rel in staged:
                final = target.joinpath(*rel.parts)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(out, final)
                extracted.append(final)
            return extracted
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise WeightsError(f"{source} is damaged ({one_line(exc)}): download it again") from exc
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
