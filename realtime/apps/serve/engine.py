"""The server's models: each opened once (through ``open_session``) and shared by every
request, each with its own :class:`~.batcher.Batcher`.

>>> engine = ServeEngine(config, metrics)                          # doctest: +SKIP
>>> saliency, session = await engine.predict(image_bgr, "low")     # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
from starlette.concurrency import run_in_threadpool

from saliency_cam.realtime.apps.serve.batcher import Batcher, QueueFull
from saliency_cam.realtime.apps.serve.config import ServeConfig
from saliency_cam.realtime.apps.serve.errors import busy
from saliency_cam.realtime.apps.serve.metrics import Metrics
from saliency_cam.realtime.pipeline.quality_switch import SessionPool
from saliency_cam.realtime.runtime.session import SaliencySession, open_session


class ServeEngine:
    """Sessions (loaded once, on first use) and their batchers."""

    def __init__(self, config: ServeConfig, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.pool = SessionPool(self._open, config.models_dir)
        self._batchers: dict[str, Batcher] = {}
        self._lock = threading.Lock()
        metrics.gauge_callback(
            "saliency_inference_queue_depth",
            lambda: {name: float(b.depth) for name, b in list(self._batchers.items())},
            "model",
        )

    def _open(self, preset: str) -> SaliencySession:
        started = time.perf_counter()
        session = open_session(
            preset,
            self.config.precision,
            self.config.device,
            self.config.models_dir,
            threads=self.config.threads,
            backend=self.config.backend,
        )
        self.metrics.inc("saliency_model_loads_total", model=preset)
        self.metrics.set("saliency_model_load_seconds", time.perf_counter() - started, model=preset)
        self.metrics.set("saliency_models_loaded", float(len(self.pool.sessions) + 1))
        return session

    def name(self, quality: str | None = None) -> str:
        """The canonical name of ``quality`` (default: the server's): a quality, a
        dataset or a user model of the server's models folder. Raises for unknown names."""
        return self.pool.name(quality or self.config.quality)

    def session(self, quality: str | None = None) -> SaliencySession:
        """The shared session for ``quality`` (default: the server's), opened if needed.
        Blocking: call it from a worker thread in async code."""
        return self.pool.get(quality or self.config.quality)

    def batcher(self, session: SaliencySession) -> Batcher:
        """The batcher that owns ``session``'s runs."""
        name = session.variant.preset
        with self._lock:
            batcher = self._batchers.get(name)
            if batcher is None:
                batcher = self._batchers[name] = Batcher(
                    session,
                    max_batch=self.config.max_batch,
                    max_wait_s=self.config.batch_wait_ms / 1000.0,
                    max_queue=self.config.max_queue,
                    on_batch=lambda size, _s: self._record_batch(name, size),
                )
            return batcher

    def _record_batch(self, model: str, size: int) -> None:
        self.metrics.inc("saliency_batch_runs_total", model=model)
        self.metrics.inc("saliency_batch_items_total", float(size), model=model)
        self.metrics.observe("saliency_batch_size", float(size), model=model)

    async def predict(
        self, image: np.ndarray, quality: str | None = None
    ) -> tuple[np.ndarray, SaliencySession]:
        """:meth:`SaliencySession.predict` through the batcher: the map at the image's
        size and the session that made it. Raises a 503 error when the queue is full."""
        name = self.name(quality)  # unknown names fail here
        session = await run_in_threadpool(self.session, name)
        network_input, box = await run_in_threadpool(session.prepare, image)
        try:
            future = self.batcher(session).submit(network_input)
        except QueueFull as exc:
            raise busy(f"too many requests waiting: {exc}", limit="max_queue") from exc
        raw = await asyncio.wrap_future(future)
        return session.finish(raw, box), session

    def close(self) -> None:
        """Stop every batcher (queued inputs finish first)."""
        with self._lock:
            batchers = list(self._batchers.values())
            self._batchers.clear()
        for batcher in batchers:
            batcher.close()
