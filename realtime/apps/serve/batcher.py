"""Dynamic batching: inputs for the same model that arrive within a few milliseconds of
each other run as one :meth:`SaliencySession.infer_batch` call, so many clients raise
throughput instead of queueing behind each other.

>>> batcher = Batcher(session, max_batch=8, max_wait_s=0.003)      # doctest: +SKIP
>>> saliency = batcher.submit(session_input).result()              # doctest: +SKIP
>>> batcher.close()                                                # doctest: +SKIP

One worker thread per model owns the session's runs: it takes the first waiting input,
waits at most ``max_wait_s`` for up to ``max_batch - 1`` more, runs those of the same
shape together and hands each caller its own map. The queue is bounded: :meth:`submit` raises
:class:`QueueFull` rather than letting a backlog grow.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from saliency_cam.realtime.runtime.session import SaliencySession


class QueueFull(Exception):
    """More inputs are waiting for this model than the server accepts."""


@dataclass
class BatchStats:
    """What the batcher did: model runs, inputs processed, the largest batch."""

    runs: int = 0
    items: int = 0
    largest: int = 0


_STOP = object()


class Batcher:
    """Collect inputs for one session and run them in batches (see the module docstring).

    ``on_batch(size, seconds)`` is called after each run (for metrics).
    """

    def __init__(
        self,
        session: SaliencySession,
        *,
        max_batch: int = 8,
        max_wait_s: float = 0.003,
        max_queue: int = 64,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self.session = session
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max(0.0, max_wait_s)
        self.max_queue = max_queue
        self.stats = BatchStats()
        self._on_batch = on_batch
        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name=f"batcher-{session.variant.preset}", daemon=True
        )
        self._thread.start()

    @property
    def depth(self) -> int:
        """Inputs waiting for a run."""
        return self._queue.qsize()

    def submit(self, network_input: np.ndarray) -> Future[np.ndarray]:
        """Queue one preset-size uint8 BGR input; the future gets its (H, W) map."""
        if self._closed:
            raise QueueFull("the server is shutting down")
        if self._queue.qsize() >= self.max_queue:
            raise QueueFull(
                f"{self.max_queue} inputs already wait for {self.session.variant.preset}"
            )
        future: Future[np.ndarray] = Future()
        self._queue.put((network_input, future))
        return future

    def close(self) -> None:
        """Finish what is queued, then stop the worker."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout=30)

    def _collect(self, first: object) -> tuple[list[tuple[np.ndarray, Future]], bool]:
        batch = [first]
        stop = False
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            try:  # take what is already waiting without sleeping, then wait out the window
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is _STOP:
                stop = True
                break
            batch.append(item)
        return batch, stop  # type: ignore[return-value]

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = self._collect(first)
            # a caller that gave up (cancelled future) does not need a run
            batch = [(x, f) for x, f in batch if f.set_running_or_notify_cancel()]
            if batch:
                self._execute(batch)
            if stop:
                return

    def _execute(self, batch: list[tuple[np.ndarray, Future]]) -> None:
        # inputs of different shapes (models run each image at its own aspect) cannot be
        # stacked: one run per shape
        groups: dict[tuple[int, ...], list[tuple[np.ndarray, Future]]] = {}
        for item in batch:
            groups.setdefault(item[0].shape, []).append(item)
        for group in groups.values():
            self._execute_group(group)

    def _execute_group(self, batch: list[tuple[np.ndarray, Future]]) -> None:
        started = time.perf_counter()
        try:
            maps = self.session.infer_batch(np.stack([x for x, _ in batch]))
        except BaseException as exc:  # hand the failure to every caller, keep the worker
            for _, future in batch:
                future.set_exception(exc)
            return
        seconds = time.perf_counter() - started
        self.stats.runs += 1
        self.stats.items += len(batch)
        self.stats.largest = max(self.stats.largest, len(batch))
        for (_, future), saliency in zip(batch, maps, strict=True):
            future.set_result(saliency)
        if self._on_batch is not None:
            self._on_batch(len(batch), seconds)
