"""Write-then-rename helpers: an interrupted write never leaves a file under its final
name (Ctrl-C, crash, disk full)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that pick a
    format by extension still work); on success rename it to ``path``, on any error
    delete it.

    >>> with atomic_output("out.mp4") as tmp:  # doctest: +SKIP
    ...     write_video(tmp)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        prefix=f".{final.stem}.", suffix=f".partial{final.suffix}", dir=final.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        # mkstemp creates 0600; give the output the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_current_umask())
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise SaliencyCamError(
                f"disk full while writing {final}: free some space and run again "
                "(nothing was left under that name)"
            ) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_output`, fsynced."""
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_output`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], data: Mapping[str, Any]) -> Path:
    """Write ``data`` as indented JSON, atomically (temp file, then rename). NumPy scalars
    and paths are written as plain numbers and strings."""
    target = Path(path)
    atomic_write_text(target, json.dumps(data, indent=2, default=_json_default) + "\n")
    return target


def _json_default(value: object) -> object:
    if hasattr(value, "item") and callable(value.item):  # NumPy scalars, without importing it
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a hidden temporary folder next to ``path``; on success it takes the name
    ``path`` (replacing a folder already there), on any error it is deleted with what
    it holds, so a folder under the final name is always complete.

    >>> with atomic_folder("clip_maps") as tmp:  # doctest: +SKIP
    ...     write_frames(tmp)
    """
    import shutil

    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_current_umask())
    try:
        yield tmp
        old = None
        if final.exists():  # a folder cannot be replaced in one step: move it aside first
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
