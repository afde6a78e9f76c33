"""Multipart uploads read as they stream in (python-multipart's streaming parser): the
one file field goes straight where the route wants it (memory for an image, a file in
the server's own temp dir for a video), never through the system temp dir, which
Starlette's form parser spools every part over 1 MB to.

The body size limit stays :class:`~.uploads.BodyLimit`'s: it counts this same stream and
cuts it off with 413 the moment the limit is crossed.

>>> async for filename, chunk in file_chunks(request):       # doctest: +SKIP
...     out.write(chunk)
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from saliency_cam.realtime.apps.serve.errors import ApiError

#: The form field the API takes files in (``-F file=@photo.jpg``).
FILE_FIELD = "file"


def _bad(message: str) -> ApiError:
    return ApiError(422, "bad_request", message)


class _FileField:
    """python-multipart callbacks keeping only the data of the first file in ``field``
    (other fields and files are skipped; nothing is buffered beyond one network chunk)."""

    def __init__(self, field: str, charset: str) -> None:
        self.field = field
        self.charset = charset
        self.filename: str | None = None
        self.pending: list[bytes] = []
        self.finished = False  # the wanted part ended
        self.ended = False  # the closing boundary arrived
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._wanted = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_part,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._wanted = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode(self.charset, "replace")
        if name != self.field or b"filename" not in options or self.filename is not None:
            return
        self.filename = options[b"filename"].decode(self.charset, "replace")
        self._wanted = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._wanted:
            self.pending.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        if self._wanted:
            self.finished = True
            self._wanted = False

    def _end(self) -> None:
        self.ended = True

    def take(self) -> bytes:
        chunk = b"".join(self.pending)
        self.pending.clear()
        return chunk


def _boundary_and_charset(request: Request) -> tuple[bytes, str]:
    kind, params = parse_options_header(request.headers.get("content-type"))
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise _bad(
            f"send the file as multipart/form-data in a field named {FILE_FIELD!r} "
            f"(curl -F {FILE_FIELD}=@photo.jpg)"
        )
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        charset = codecs.lookup(charset).name
    except LookupError:
        charset = "latin-1"
    return params[b"boundary"], charset


async def file_chunks(
    request: Request, field: str = FILE_FIELD
) -> AsyncIterator[tuple[str, bytes]]:
    """The file sent in form field ``field``, as ``(filename, chunk)`` pairs while the
    body streams in: first ``(filename, b"")`` as soon as its headers arrived (so the
    caller can check the name before any data), then its data. ``filename`` is the
    name the client sent (never use it as a path). Raises a 422 error for a body that is
    not multipart, is damaged or cut short, or has no file in ``field``."""
    boundary, charset = _boundary_and_charset(request)
    state = _FileField(field, charset)
    parser = MultipartParser(boundary, state.callbacks())
    announced = False
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if state.filename is not None:
                if not announced:
                    announced = True
                    yield state.filename, b""
                data = state.take()
                if data:
                    yield state.filename, data
        parser.finalize()
    except FormParserError as exc:
        raise _bad(f"damaged multipart body: {exc}") from exc
    if state.filename is None:
        raise _bad(f"no file in form field {field!r} (curl -F {field}=@photo.jpg)")
    if not (state.finished and state.ended):
        raise _bad("the multipart body ended before the file did (upload cut short?)")


async def read_file_field(request: Request, field: str = FILE_FIELD) -> tuple[str, bytes]:
    """The whole file in form field ``field``, in memory (an image: it is decoded from
    memory anyway, and :class:`~.uploads.BodyLimit` bounds it)."""
    filename, data = "", bytearray()
    async for sent_name, chunk in file_chunks(request, field):
        filename = sent_name
        data += chunk
    return filename, bytes(data)


def file_body(description: str, field: str = FILE_FIELD) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a route reading :func:`file_chunks` itself (FastAPI
    cannot see it): one required binary field, as ``File()`` would declare it."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {
                            field: {
                                "type": "string",
                                "format": "binary",
                                "description": description,
                            }
                        },
                    }
                }
            },
        }
    }
