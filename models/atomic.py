"""Write-then-rename helpers: an interrupted write never leaves a file under its final
name (Ctrl-C, crash, disk full).

Temporaries are hidden and carry the writer's process id (``.clip.4242.k3j9.partial.mp4``):
a later write to the same final name removes those whose process is gone (a run killed
with SIGKILL cannot clean up after itself). A writer that asks for it
(``keep_partial``) keeps what a stopped run did under a visible name that says so
(:func:`partial_path`: ``clip.partial.mp4``); the next complete write removes it.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError

#: ``keep_partial``: whether a write stopped by a signal keeps what it wrote (asked when
#: the signal arrives, e.g. "were any frames written?").
KeepPartial = bool | Callable[[], bool]


def partial_path(final: str | os.PathLike[str], *, folder: bool = False) -> Path:
    """The visible name under which a stopped run keeps its unfinished output:
    ``clip_saliency.mp4`` → ``clip_saliency.partial.mp4``; a folder ``clip_maps`` →
    ``clip_maps.partial``."""
    path = Path(final)
    if folder:
        return path.with_name(f"{path.name}.partial")
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def _temp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}."


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, another user's
        return False
    return False


def remove_stale_temporaries(final: str | os.PathLike[str], *, folder: bool = False) -> list[Path]:
    """Delete the hidden temporaries left next to ``final`` by writers that died without
    cleaning up (SIGKILL, power loss); those of running processes stay. Returns what
    was removed."""
    path = Path(final)
    stem, suffix = (path.name, "") if folder else (path.stem, path.suffix)
    pattern = re.compile(rf"\.{re.escape(stem)}\.(\d+)\.[A-Za-z0-9_]+\.partial{re.escape(suffix)}")
    removed: list[Path] = []
    try:
        candidates = list(path.parent.glob(f".{glob.escape(stem)}.*.partial{glob.escape(suffix)}"))
    except OSError:
        return removed
    for candidate in candidates:
        found = pattern.fullmatch(candidate.name)
        if found is None or not _process_gone(int(found.group(1))):
            continue
        if candidate.is_dir() and not candidate.is_symlink():
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _keep(keep_partial: KeepPartial) -> bool:
    return bool(keep_partial()) if callable(keep_partial) else bool(keep_partial)


@contextlib.contextmanager
def atomic_output(
    path: str | os.PathLike[str], *, keep_partial: KeepPartial = False
) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same suffix, so writers that pick a
    format by extension still work); on success rename it to ``path``, on any error
    delete it.

    ``keep_partial``: when a stop signal (``KeyboardInterrupt``) ends the write, the
    temporary becomes :func:`partial_path` instead (the writer must have finished the
    file so it can be read); a later successful write removes that partial file.

    >>> with atomic_output("out.mp4") as tmp:  # doctest: +SKIP
    ...     write_video(tmp)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final)
    fd, name = tempfile.mkstemp(
        prefix=_temp_prefix(final.stem), suffix=f".partial{final.suffix}", dir=final.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        # mkstemp creates 0600; give the output the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_current_umask())
        yield tmp
        os.replace(tmp, final)
        if keep_partial is not False:
            partial_path(final).unlink(missing_ok=True)  # this run replaces a stopped one's
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise SaliencyCamError(
                f"disk full while writing {final}: free some space and run again "
                "(nothing was left under that name)"
            ) from exc
        raise
    except KeyboardInterrupt:
        if tmp.exists() and _keep(keep_partial):
            os.replace(tmp, partial_path(final))
        tmp.unlink(missing_ok=True)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_writable(path: str | os.PathLike[str], option: str) -> None:
    """Raise a one-line :class:`SaliencyCamError` naming ``option`` when ``path`` cannot
    be written (its folder cannot be created, is read-only, or ``path`` is a folder),
    so a command fails before its work rather than after it. Creates the missing
    folders and a probe file, which it removes."""
    final = Path(path)
    if final.is_dir():
        raise SaliencyCamError(f"{option} {final}: is a folder: give a file name")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_temp_prefix(final.stem), dir=final.parent)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SaliencyCamError(
            f"{option} {final}: cannot write there ({reason.lower()}): choose another place"
        ) from exc


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
def atomic_folder(
    path: str | os.PathLike[str], *, keep_partial: KeepPartial = False
) -> Iterator[Path]:
    """Yield a hidden temporary folder next to ``path``; on success it takes the name
    ``path`` (replacing a folder already there), on any error it is deleted with what
    it holds, so a folder under the final name is always complete. ``keep_partial`` as
    for :func:`atomic_output` (the folder becomes ``path.partial``).

    >>> with atomic_folder("clip_maps") as tmp:  # doctest: +SKIP
    ...     write_frames(tmp)
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final, folder=True)
    tmp = Path(
        tempfile.mkdtemp(prefix=_temp_prefix(final.name), suffix=".partial", dir=final.parent)
    )
    os.chmod(tmp, 0o777 & ~_current_umask())
    try:
        yield tmp
        _replace_folder(tmp, final)
        if keep_partial is not False:
            shutil.rmtree(partial_path(final, folder=True), ignore_errors=True)
    except KeyboardInterrupt:
        if tmp.exists() and _keep(keep_partial):
            _replace_folder(tmp, partial_path(final, folder=True))
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_folder(tmp: Path, final: Path) -> None:
    """Give folder ``tmp`` the name ``final``, replacing a folder already there."""
    old = None
    if final.exists():  # a folder cannot be replaced in one step: move it aside first
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
        os.replace(final, old / final.name)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
