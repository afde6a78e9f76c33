"""The process stage of the live pipeline: letterbox → network → undo, with the quality
switchable while running. Sessions for other qualities are opened on demand in a
background thread and swapped in between two frames, so capture never stops and the
picture keeps moving while a model loads.

>>> engine = SaliencyEngine(SessionPool(lambda q: open_session(q)), "medium")  # doctest: +SKIP
>>> pipeline = Pipeline(camera, engine)                                       # doctest: +SKIP
>>> engine.request("high")      # from the key handler; frames switch once it is loaded
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import resolve_preset
from saliency_cam.realtime.io.sources import Frame
from saliency_cam.realtime.pipeline.stats import timed
from saliency_cam.realtime.runtime.session import SaliencySession


@dataclass
class Saliency:
    """One frame's result: the map at the frame's size and what produced it."""

    map: np.ndarray
    preset: str
    trained: bool
    #: ``computed`` (the network ran) or ``propagated`` (the last map warped: --reuse)
    kind: str = "computed"


class SessionPool:
    """One open :class:`SaliencySession` per preset, opened on first use by ``opener``
    (which may export a missing variant). Thread-safe; a preset opens only once.
    ``models_dir`` is where user models' names are looked up (default: the usual
    models folder), the folder ``opener`` opens from."""

    def __init__(
        self,
        opener: Callable[[str], SaliencySession],
        models_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._opener = opener
        self.models_dir = models_dir
        self._sessions: dict[str, SaliencySession] = {}
        self._lock = threading.Lock()

    def name(self, preset: str) -> str:
        """The canonical name of a quality, dataset or user model (raises for unknown)."""
        return resolve_preset(preset, self.models_dir).name

    def get(self, preset: str) -> SaliencySession:
        name = self.name(preset)
        with self._lock:
            session = self._sessions.get(name)
            if session is None:
                session = self._sessions[name] = self._opener(name)
            return session

    def loaded(self, preset: str) -> bool:
        return self.name(preset) in self._sessions

    @property
    def sessions(self) -> dict[str, SaliencySession]:
        return dict(self._sessions)


class SaliencyEngine:
    """Computes saliency for a :class:`Frame` with the current session (the pipeline's
    ``process``), recording ``preprocess``/``infer``/``postprocess`` timings on it.

    :meth:`request` asks for another quality: it is opened in the background and used
    from the next frame after it is ready; until then the current one keeps running.
    ``status`` describes a switch in progress or the last failure (for the HUD).
    """

    def __init__(self, pool: SessionPool, preset: str) -> None:
        self.pool = pool
        self.current = pool.get(preset)  # the first one opens now: errors surface early
        self.status = ""
        self.error: str | None = None
        self._wanted = self.current.variant.preset
        self._ready: SaliencySession | None = None
        self._loader: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def preset(self) -> str:
        return self.current.variant.preset

    @property
    def switch_ready(self) -> bool:
        """True when another quality is loaded and will be used from the next frame."""
        return self._ready is not None

    @property
    def switching(self) -> bool:
        """True while a requested quality is not yet in use."""
        return self._wanted != self.current.variant.preset

    def request(self, preset: str) -> None:
        """Switch to ``preset`` as soon as it is loaded (returns immediately)."""
        name = self.pool.name(preset)
        with self._lock:
            self._wanted = name
            self.error = None
            if name == self.current.variant.preset:
                self._ready, self.status = None, ""
                return
            if self.pool.loaded(name):
                self._ready, self.status = self.pool.get(name), ""
                return
            self.status = f"loading {name}..."
            if self._loader is None or not self._loader.is_alive():
                self._loader = threading.Thread(target=self._load, name="load model", daemon=True)
                self._loader.start()

    def _load(self) -> None:
        # Loads whatever is wanted last, so pressing 3 then 5 quickly ends on 5.
        while True:
            with self._lock:
                name = self._wanted
                if name == self.current.variant.preset or (
                    self._ready is not None and self._ready.variant.preset == name
                ):
                    return
            try:
                session = self.pool.get(name)
            except SaliencyCamError as exc:
                with self._lock:
                    if self._wanted == name:
                        self._wanted = self.current.variant.preset
                        self.error = str(exc)
                        self.status = f"{name} unavailable: {exc}"
                return
            with self._lock:
                if self._wanted == name:
                    self._ready, self.status = session, ""
                    return

    def wait_until_switched(self, timeout: float | None = None) -> bool:
        """Block until a background load finished (for tests and scripted runs)."""
        loader = self._loader
        if loader is not None:
            loader.join(timeout)
        return not (loader is not None and loader.is_alive())

    def _swap_if_ready(self) -> SaliencySession:
        with self._lock:
            if self._ready is not None:
                self.current, self._ready = self._ready, None
            return self.current

    def __call__(self, frame: Frame) -> Saliency:
        session = self._swap_if_ready()
        full = predict_timed(session, frame.image, frame.timings)
        return Saliency(full, session.variant.preset, session.trained)


class ReusingEngine:
    """A :class:`SaliencyEngine` that runs the network only when
    :class:`~saliency_cam.realtime.pipeline.reuse.MapPropagator` asks for it (``--reuse
    N`` in the live app); other frames get the last map warped along the motion
    (``kind`` = ``propagated``). A quality switch forces a fresh run.

    >>> pipeline = Pipeline(camera, ReusingEngine(engine, every=3))   # doctest: +SKIP
    """

    def __init__(self, engine: SaliencyEngine, every: int) -> None:
        from saliency_cam.realtime.pipeline.reuse import MapPropagator

        self.engine = engine
        self.propagator = MapPropagator(every)
        self._last: Saliency | None = None

    def __call__(self, frame: Frame) -> Saliency:
        if self.engine.switch_ready:  # the new quality's map, not the old one warped
            self.propagator.reset()
        made: list[Saliency] = []

        def compute() -> np.ndarray:
            made.append(self.engine(frame))
            return made[-1].map

        with timed(frame.timings, "reuse"):
            step = self.propagator.step(frame.image, compute)
        network = sum(frame.timings.get(k, 0.0) for k in ("preprocess", "infer", "postprocess"))
        frame.timings["reuse"] -= network  # flow and warp only
        if made:
            self._last = made[-1]
        last = self._last
        assert last is not None  # the first step always computes
        return Saliency(step.map, last.preset, last.trained, step.kind)


def predict_timed(
    session: SaliencySession, image: np.ndarray, timings: dict[str, float]
) -> np.ndarray:
    """:meth:`SaliencySession.predict`, adding its three parts' times to ``timings``:
    ``preprocess`` (colour check, resize to the network's input), ``infer`` (the
    network alone), ``postprocess`` (the map back to the frame's size)."""
    with timed(timings, "preprocess"):
        network_input, box = session.prepare(image)
    with timed(timings, "infer"):
        small = session.infer(network_input)
    with timed(timings, "postprocess"):
        return session.finish(small, box)
