"""The memory budget of the work in flight: decoded pixels of the image requests and live
frames being worked on at once. A request reserves its pixels (read from the image's
header) before it decodes; one that does not fit waits a little for others to finish,
then gets 503 + Retry-After, so a burst of large images queues instead of taking the
machine's memory (24 parallel 7000x7000 PNGs once took a server to 24 GB).

>>> budget = PixelBudget(100_000_000, wait_s=5.0)      # doctest: +SKIP
>>> async with budget.hold(7000 * 7000):                # doctest: +SKIP
...     image = decode(data)
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

from saliency_cam.realtime.apps.serve.errors import busy


class PixelBudget:
    """At most ``limit`` pixels held at once (FIFO-fair: a large request is not starved
    by a stream of small ones, since waiters are served in order). Use from one event
    loop (the server's)."""

    def __init__(self, limit: int, wait_s: float) -> None:
        self.limit = limit
        self.wait_s = wait_s
        self.held = 0
        #: Most pixels ever held at once (tests and the soak benchmark read it).
        self.peak = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def _fits(self, pixels: int) -> bool:
        return self.held + pixels <= self.limit

    def _take(self, pixels: int) -> None:
        self.held += pixels
        self.peak = max(self.peak, self.held)

    def _release(self, pixels: int) -> None:
        self.held -= pixels
        while self._waiters and self._fits(self._waiters[0][0]):
            size, waiter = self._waiters.pop(0)
            if not waiter.done():
                self._take(size)  # handed over here: nothing can take it in between
                waiter.set_result(None)

    @contextlib.asynccontextmanager
    async def hold(self, pixels: int) -> AsyncIterator[None]:
        """Reserve ``pixels`` (capped at the limit) for the block; raises a 503 error
        when they do not free up within ``wait_s``."""
        pixels = max(1, min(int(pixels), self.limit))
        if not self._waiters and self._fits(pixels):
            self._take(pixels)
        else:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (pixels, waiter)
            self._waiters.append(entry)
            try:
                await asyncio.wait_for(asyncio.shield(waiter), self.wait_s)
            except BaseException as exc:  # timed out, or the client went away
                if waiter.done() and not waiter.cancelled():
                    self._release(pixels)  # granted just as the wait ended
                else:
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(entry)
                    self._release(0)  # a large waiter leaving may let smaller ones go
                if isinstance(exc, asyncio.TimeoutError):
                    raise self._busy() from None
                raise
        try:
            yield
        finally:
            self._release(pixels)

    def _busy(self) -> Exception:
        return busy(
            "the server is working on as many pixels as its memory allows: try again in a moment",
            retry_after_s=max(1, math.ceil(self.wait_s)),
            limit="max_pixels_in_flight",
        )
