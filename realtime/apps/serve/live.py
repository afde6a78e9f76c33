"""The live page's WebSocket: camera frames in, saliency maps out, newest frame only.

Protocol (``/v1/live``):

- client → server, binary: ``uint32 LE sequence number`` + an encoded frame (JPEG/PNG).
- client → server, text JSON: ``{"type": "auth", "token": T}`` (first message, when the
  server has a token and the client sent no Authorization header),
  ``{"type": "quality", "quality": "low"}`` (switch model; the connection stays).
- server → client, binary: ``uint32 LE header length`` + header JSON (``seq``, ``width``,
  ``height``, ``quality``, ``trained``, ``server_ms``, ``dropped``) + the map as
  ``width*height`` uint8 bytes (0..255).
- server → client, text JSON: ``{"type": "status", ...}`` (current model, a switch in
  progress, an error) and ``{"type": "error", "message": ...}``.

Only the newest frame waits: one that arrives while another is processed replaces the
waiting one (counted as dropped), so latency stays bounded on a slow model. The page
keeps at most two frames in flight (one being processed, one waiting) and sends the next
when an answer arrives, so the model does not idle through the network round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.serve.auth import CLOSE_POLICY, bearer_token, token_matches
from saliency_cam.realtime.apps.serve.budget import PixelBudget
from saliency_cam.realtime.apps.serve.engine import ServeEngine
from saliency_cam.realtime.apps.serve.errors import ApiError
from saliency_cam.realtime.apps.serve.metrics import Metrics
from saliency_cam.realtime.apps.serve.uploads import check_pixels, read_image
from saliency_cam.realtime.render.blend import to_uint8

#: Close codes: policy violation (bad token), like HTTP 401.
CLOSE_UNAUTHORIZED = CLOSE_POLICY
AUTH_TIMEOUT_S = 10.0

log = logging.getLogger("saliency_cam.serve")


class LiveConnection:
    """One browser's live session (see the module docstring)."""

    def __init__(
        self,
        ws: WebSocket,
        engine: ServeEngine,
        metrics: Metrics,
        token: str | None,
        max_pixels: int,
        budget: PixelBudget,
        scrub: Callable[[str], str] = str,
    ) -> None:
        self.ws = ws
        self.engine = engine
        self.metrics = metrics
        self.token = token
        self.max_pixels = max_pixels
        self.budget = budget
        self.scrub = scrub
        self.quality = engine.name()
        self.loading: str | None = None
        self.dropped = 0
        self._latest: tuple[int, bytes] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        """Serve until the client goes away."""
        await self.ws.accept()
        if not await self._authenticate():
            return
        self.metrics.inc("saliency_live_connections_total")
        self.metrics.set(
            "saliency_live_connections", self.metrics.value("saliency_live_connections") + 1
        )
        worker = asyncio.create_task(self._process())
        try:
            await self._send_status()
            await self._receive()
        finally:
            self._closed = True
            self._wake.set()
            worker.cancel()
            for task in [worker, *self._tasks]:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            self.metrics.set(
                "saliency_live_connections", self.metrics.value("saliency_live_connections") - 1
            )

    async def _authenticate(self) -> bool:
        if token_matches(self.token, bearer_token(self.ws.headers.get("authorization"))):
            return True
        try:
            message = await asyncio.wait_for(self.ws.receive_text(), AUTH_TIMEOUT_S)
            given = json.loads(message).get("token") if message.startswith("{") else None
        except (asyncio.TimeoutError, WebSocketDisconnect, ValueError, KeyError, RuntimeError):
            given = None
        if token_matches(self.token, given if isinstance(given, str) else None):
            return True
        with contextlib.suppress(Exception):
            await self.ws.send_text(
                json.dumps({"type": "error", "message": "bad or missing token"})
            )
            await self.ws.close(code=CLOSE_UNAUTHORIZED)
        return False

    async def _send(self, data: str | bytes) -> None:
        async with self._send_lock:
            if isinstance(data, bytes):
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_text(data)

    async def _send_status(self, error: str | None = None) -> None:
        session = self.engine.pool.sessions.get(self.quality)
        await self._send(
            json.dumps(
                {
                    "type": "status",
                    "quality": self.quality,
                    "loading": self.loading,
                    "model": session.variant.label() if session else None,
                    "trained": session.trained if session else None,
                    "error": error,
                }
            )
        )

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                data = message["bytes"]
                if len(data) < 5:
                    await self._send(json.dumps({"type": "error", "message": "frame too short"}))
                    continue
                if self._latest is not None:  # not processed yet: the newer one wins
                    self.dropped += 1
                    self.metrics.inc("saliency_live_dropped_total")
                self._latest = (struct.unpack("<I", data[:4])[0], data[4:])
                self._wake.set()
            elif message.get("text") is not None:
                await self._control(message["text"])

    async def _control(self, text: str) -> None:
        try:
            command = json.loads(text)
            kind = command.get("type")
        except (ValueError, AttributeError):
            await self._send(json.dumps({"type": "error", "message": "not a JSON object"}))
            return
        if kind == "quality":
            task = asyncio.create_task(self._switch(str(command.get("quality", ""))))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif kind != "auth":  # a repeated auth message is harmless
            await self._send(json.dumps({"type": "error", "message": f"unknown type {kind!r}"}))

    async def _switch(self, quality: str) -> None:
        """Load the model in the background; frames keep using the old one until then."""
        try:
            name = self.engine.name(quality)
            self.loading = name
            await self._send_status()
            await run_in_threadpool(self.engine.session, name)
        except SaliencyCamError as exc:
            self.loading = None
            await self._send_status(error=self.scrub(str(exc)))
            return
        self.quality, self.loading = name, None
        await self._send_status()

    async def _process(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            if self._latest is None:
                continue
            seq, data = self._latest
            self._latest = None
            started = time.perf_counter()
            quality = self.quality
            try:
                saliency, session, body = await self._map(data, quality)
            except Exception as exc:  # a bad frame is answered; the connection goes on
                if isinstance(exc, ApiError):
                    message = exc.message
                elif isinstance(exc, SaliencyCamError):
                    message = self.scrub(str(exc))
                else:
                    log.exception("live frame %d failed", seq)
                    message = f"unexpected {type(exc).__name__}: the frame was skipped"
                self.metrics.inc("saliency_live_frame_errors_total")
                await self._send(json.dumps({"type": "error", "seq": seq, "message": message}))
                continue
            header = json.dumps(
                {
                    "seq": seq,
                    "width": int(saliency.shape[1]),
                    "height": int(saliency.shape[0]),
                    "quality": session.variant.preset,
                    "trained": session.trained,
                    "server_ms": round((time.perf_counter() - started) * 1000.0, 2),
                    "dropped": self.dropped,
                }
            ).encode("utf-8")
            self.metrics.inc("saliency_live_frames_total", model=session.variant.preset)
            await self._send(struct.pack("<I", len(header)) + header + body)

    async def _map(self, data: bytes, quality: str) -> tuple[Any, Any, bytes]:
        """One frame's map, its session and the map's bytes, within the pixel budget
        (a frame is checked against the pixel limit before it is decoded)."""
        pixels = await run_in_threadpool(check_pixels, data, self.max_pixels, "frame")
        async with self.budget.hold(pixels):
            image = await run_in_threadpool(read_image, data, "frame", self.max_pixels)
            saliency, session = await self.engine.predict(image, quality)
            body = await run_in_threadpool(lambda: to_uint8(saliency).tobytes())
        return saliency, session, body
