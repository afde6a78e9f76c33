"""Every failure answers JSON ``{"error": {"code", "message", ...}}`` with a 4xx/5xx
status, and the server keeps serving.

Codes: ``bad_request``/``bad_input`` (422), ``unauthorized`` (401), ``not_found`` (404),
``expired`` (410), ``too_large`` (413), ``busy`` (503 + Retry-After),
``internal`` (500).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from saliency_cam.models.errors import InputError, ModelNotFoundError, SaliencyCamError

log = logging.getLogger("saliency_cam.serve")


class ApiError(Exception):
    """An answer other than success: HTTP ``status``, a stable ``code``, a readable
    ``message``; ``extra`` adds fields (e.g. which ``limit``), ``headers`` HTTP headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def busy(message: str, retry_after_s: int = 2, **extra: Any) -> ApiError:
    """503 with Retry-After: a queue is full (never an unbounded backlog)."""
    return ApiError(503, "busy", message, headers={"Retry-After": str(retry_after_s)}, **extra)


def from_library(exc: SaliencyCamError, scrub: Callable[[str], str] = str) -> ApiError:
    """The library's one-line errors as API errors (``scrub`` cleans the message)."""
    message = scrub(str(exc))
    if isinstance(exc, ModelNotFoundError):
        return ApiError(404, "model_not_exported", message)
    if isinstance(exc, InputError):
        return ApiError(422, "bad_input", message)
    return ApiError(422, "bad_request", message)


async def send_error(send: Callable[..., Any], error: ApiError) -> None:
    """Answer ``error`` straight from ASGI middleware (before any route runs)."""
    body = json.dumps(error.body()).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def path_scrubber(folders: dict[str, str]) -> Callable[[str], str]:
    """A function taking the server's own folders (path → what to call it) out of a
    message: a client learns nothing about the machine's layout from an error."""
    ordered = sorted(
        ((os.fspath(k), v) for k, v in folders.items() if k), key=lambda kv: -len(kv[0])
    )

    def scrub(message: str) -> str:
        for folder, label in ordered:
            message = message.replace(folder, label)
        return message

    return scrub


_HTTP_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}


def install_handlers(app: FastAPI, scrub: Callable[[str], str] = str) -> None:
    """Route every exception type to the JSON error format (``scrub`` takes the server's
    folders out of library messages)."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(SaliencyCamError)
    async def _library(_: Request, exc: SaliencyCamError) -> JSONResponse:
        return from_library(exc, scrub).response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return ApiError(422, "bad_request", "; ".join(problems) or "invalid request").response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        return ApiError(exc.status_code, code, str(exc.detail), headers=headers).response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        message = f"unexpected {type(exc).__name__}: the server keeps running; see its log"
        return ApiError(500, "internal", message).response()
