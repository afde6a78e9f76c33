"""User-facing errors: one readable line saying what went wrong and what to do."""

from __future__ import annotations


class SaliencyCamError(Exception):
    """An error the CLI reports as one line (no traceback unless ``--debug``).

    Raise it with a message that names the thing and the next step, e.g.
    ``SaliencyCamError("cannot open camera 0: is it connected? try --source FILE")``.
    """

    exit_code: int = 2


class InputError(SaliencyCamError):
    """Unreadable, corrupt or missing input (video, image, camera, weights file)."""


class ModelNotFoundError(SaliencyCamError):
    """The requested ONNX variant has not been exported yet."""


class WeightsError(SaliencyCamError):
    """Published weights are missing, damaged, or do not fit the network."""


class DownloadError(SaliencyCamError):
    """A download failed; the cache holds no half-written file under the final name.

    ``reason`` is what failed without the hints for ``saliency-cam export`` (its
    ``--weights-path``), for callers that offer their own way out (the demo)."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (libraries often add pages of detail)."""
    lines = str(exc).strip().splitlines()
    return lines[0][:limit] if lines else type(exc).__name__


def failure_line(source: object, exc: BaseException) -> str:
    """The one line that reports ``source`` failing with ``exc`` in a multi-file command,
    which then goes on with the other files: our own errors as they are (they name the
    file), others prefixed with the file (and the exception's kind when it is not an
    OSError, whose message says what happened)."""
    if isinstance(exc, SaliencyCamError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{source}: {exc}"
    return f"{source}: {type(exc).__name__}: {first_line(exc)}"
