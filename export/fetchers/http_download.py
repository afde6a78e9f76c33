"""One URL to one file: resumable, verified, never a half file under the final name."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from saliency_cam.models.errors import DownloadError
from saliency_cam.models.manifest import sha256_file

#: Read/write block size for downloads and hashing.
CHUNK = 1 << 20
#: The fallback every download error offers.
MANUAL_HINT = "download it by hand and pass it with --weights-path"


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
    if sha256 and final.is_file() and sha256_file(final) == sha256.lower():
        return final
    validator = _validator_path(part)
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
                validator.unlink(missing_ok=True)
                raise DownloadError(f"{url}: {exc}") from exc
            except requests.ConnectionError:
                # requests' own text is a long nested repr; the host is what matters
                last_error = f"cannot reach {urlsplit(url).hostname or url}"
            except (requests.RequestException, _TransientError) as exc:
                last_error = one_line(exc)
            except OSError as exc:  # local disk trouble: retrying will not help
                raise DownloadError(f"cannot write {part}: {one_line(exc)}") from exc
        else:
            kept = f"; {part.name} is kept and resumed next time" if part.exists() else ""
            raise DownloadError(
                f"could not download {url} after {retries + 1} attempts ({last_error}){kept}: "
                "check your connection and run again"
            )
    validator.unlink(missing_ok=True)
    _verify(part, url, size=size, sha256=sha256)
    os.replace(part, final)
    return final


def _validator_path(part: Path) -> Path:
    """Sidecar holding the ETag/Last-Modified of the bytes in ``part``."""
    return part.with_name(part.name + ".validator")


class _PermanentHTTPError(Exception):
    """An HTTP answer that retrying will not change (404, 403, …)."""


class _TransientError(Exception):
    """A failure worth retrying (5xx, short body)."""


def _fetch_into(session: Any, url: str, part: Path, timeout: float, progress: _Progress) -> None:
    """One attempt: append the missing bytes of ``url`` to ``part``."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}  # byte offsets must match what is on disk
    validator_file = _validator_path(part)
    if offset:
        headers["Range"] = f"bytes={offset}-"
        # If-Range: a file that changed upstream comes back whole (200), so new bytes
        # are never spliced onto old ones.
        with contextlib.suppress(OSError):
            headers["If-Range"] = validator_file.read_text(encoding="utf-8").strip()
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
            offset = 0  # range ignored, or the file changed: rewrite from the start
        if not offset:
            _remember_validator(resp, validator_file)
        # Keep the bytes that did arrive when the connection drops (urllib3 would
        # discard the last partial read); the length check below catches the short body.
        with contextlib.suppress(AttributeError):
            resp.raw.enforce_content_length = False
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        progress.start(total, offset)
        received = 0
        with open(part, "ab" if offset else "wb") as fh:
            for chunk in resp.iter_content(CHUNK):
                fh.write(chunk)
                received += len(chunk)
                progress.advance(len(chunk))
        if total is not None and offset + received < total:
            raise _TransientError(f"connection closed after {offset + received} of {total} bytes")


def _remember_validator(resp: Any, validator_file: Path) -> None:
    """Keep the response's strong ETag (or Last-Modified) for a later If-Range."""
    etag = resp.headers.get("ETag", "")
    value = etag if etag and not etag.startswith("W/") else resp.headers.get("Last-Modified", "")
    if value:
        validator_file.write_text(value, encoding="utf-8")
    else:
        validator_file.unlink(missing_ok=True)


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
        actual = sha256_file(path)
        if actual != sha256.lower():
            path.unlink()
            raise DownloadError(
                f"{url}: sha256 {actual[:12]}… does not match the published {sha256[:12]}…; "
                "the file was damaged or changed upstream: run again, or "
                f"{MANUAL_HINT} if it persists"
            )


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
    from saliency_cam.models.progress import progress_bar

    with progress_bar("bytes") as bar:
        yield _Progress(None if bar.disable else bar, label)


def one_line(exc: BaseException, limit: int = 240) -> str:
    """``Type: message`` squeezed onto one short line (library errors span many)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not text.startswith(type(exc).__name__):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
