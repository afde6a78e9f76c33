"""A generic capture → process → output pipeline: each stage runs in its own thread over
bounded queues, so throughput approaches the slowest stage rather than the sum.

- **capture**: an ordered source (video file, images) is read by a reader thread into a
  bounded queue — every frame, in order, and the reader waits when the queue is full
  (backpressure). A live source (camera, stream) has its own grab thread keeping only
  the newest frame; the worker takes the newest one whenever it is ready, so no queue
  of stale frames can form and latency stays bounded.
- **process**: one worker thread calls ``process(frame)`` (letterbox, inference, undo).
- **output**: the caller's thread takes finished packets (render, display, encode).

Per-stage timings, capture-to-output latency, FPS and drop counts go to
:class:`~saliency_cam.realtime.pipeline.stats.RunStats` as frames finish.

Files (no drops, in order; decode, inference and encode overlap)::

    with open_source("in.mp4") as source, VideoSink("out.mp4", ...) as sink:
        pipeline = Pipeline(source, session.predict)
        for packet in pipeline:               # the output stage runs here
            sink.write_frame(render(packet.frame.image, packet.result))
    print(pipeline.stats.summary()["fps"])

Live (poll so the window stays responsive while paused)::

    with open_source(0) as camera, Pipeline(camera, session.predict) as pipeline:
        while (packet := pipeline.get(timeout=0.05)) is not EOS:
            if packet is not None:
                show(render(packet.frame.image, packet.result))
                pipeline.done(packet)         # latency is measured up to here
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from saliency_cam.realtime.io.sources import Frame, FrameSource
from saliency_cam.realtime.pipeline.stats import RunStats

R = TypeVar("R")

_POLL = 0.05  # seconds between stop checks while a thread waits
#: How long :meth:`Pipeline.stop` waits for its threads: a frame in hand (one inference of
#: the largest model on a slow CPU) finishes well within it.
_JOIN_SECONDS = 30.0


class _EndOfStream:
    def __repr__(self) -> str:
        return "EOS"


#: Returned by :meth:`Pipeline.get` once every frame has been delivered.
EOS: Any = _EndOfStream()


@dataclass
class _Failed:
    error: BaseException


@dataclass
class Packet(Generic[R]):
    """A processed frame: the source :class:`Frame` (with its timings) and the result."""

    frame: Frame
    result: R
    handed_out: float = 0.0


class Pipeline(Generic[R]):
    """Run ``process`` over the frames of ``source`` in a worker thread; the caller
    takes finished :class:`Packet` objects in order (iterate, or :meth:`get` + :meth:`done`).

    ``max_frames`` stops after that many frames. ``label(result)`` names a result for
    per-label frame counts in the stats (e.g. the quality that produced it).
    ``process`` may be replaced while running; the next frame uses the new one.
    ``batch`` > 1 with ``process_batch(frames) -> results`` processes ordered sources
    several frames per call (packets still come out one by one, in order).
    The pipeline never closes the source: whoever opened it does.
    """

    def __init__(
        self,
        source: FrameSource,
        process: Callable[[Frame], R],
        *,
        queue_size: int = 4,
        max_frames: int | None = None,
        stats: RunStats | None = None,
        label: Callable[[R], str | None] | None = None,
        batch: int = 1,
        process_batch: Callable[[list[Frame]], list[R]] | None = None,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        #: Ordered sources only: up to ``batch`` frames go to ``process_batch`` at once
        #: (throughput mode for files; live sources always take one newest frame).
        self.batch = batch if (process_batch is not None and not source.live) else 1
        self.process_batch = process_batch
        queue_size = max(queue_size, 2 * self.batch)  # the reader keeps the next batch ready
        self.source = source
        self.process = process
        self.max_frames = max_frames
        self.stats = stats if stats is not None else RunStats()
        self.label = label
        self._live = source.live
        # Live: at most one finished packet waits, so a slow output stage cannot queue
        # up stale pictures; ordered: a small buffer to absorb jitter.
        self._inbox: queue.Queue[Any] = queue.Queue(queue_size)
        self._outbox: queue.Queue[Any] = queue.Queue(1 if self._live else queue_size)
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._resumed = False
        self._threads: list[threading.Thread] = []
        self._finished = False

    # ------------------------------------------------------------------ control

    def start(self) -> Pipeline[R]:
        """Start the threads (iterating or calling :meth:`get` starts them too)."""
        if self._threads:
            return self
        if not self._live:
            self._threads.append(threading.Thread(target=self._read, name="capture", daemon=True))
        self._threads.append(threading.Thread(target=self._work, name="process", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop the threads and wait for them (the source stays open; up to
        ``_JOIN_SECONDS`` for a thread stuck in a read). A ``KeyboardInterrupt`` (a
        second Ctrl-C) arriving while waiting is raised once the threads are joined: a
        thread left inside native code (an inference, a decoder) when the interpreter
        exits aborts the process ("terminate called without an active exception")."""
        self._stop.set()
        self._running.set()
        deadline = time.monotonic() + _JOIN_SECONDS
        pending: KeyboardInterrupt | None = None
        for thread in self._threads:
            while thread.is_alive() and time.monotonic() < deadline:
                try:
                    thread.join(timeout=_POLL)
                except KeyboardInterrupt as exc:
                    pending = pending or exc
        if pending is not None:
            raise pending

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        """Stop taking new frames. A live source keeps grabbing; frames it skips while
        paused are not counted as drops."""
        self._running.clear()

    def resume(self) -> None:
        self._resumed = True
        self._running.set()

    def __enter__(self) -> Pipeline[R]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ threads

    def _put(self, box: queue.Queue[Any], item: object) -> bool:
        while not self._stop.is_set():
            try:
                box.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        """Capture stage for ordered sources: read ahead into the bounded inbox."""
        count = 0
        try:
            while not self._stop.is_set():
                if self.max_frames is not None and count >= self.max_frames:
                    break
                start = time.perf_counter()
                frame = self.source.read()
                if frame is None:
                    break
                frame.timings["read"] = time.perf_counter() - start
                if not self._put(self._inbox, frame):
                    return
                count += 1
        except BaseException as exc:  # handed to the caller's thread
            self._put(self._inbox, _Failed(exc))
            return
        self._put(self._inbox, EOS)

    def _next_input(self) -> Any:
        while not self._stop.is_set():
            if not self._running.wait(_POLL):
                continue
            if not self._live:
                try:
                    return self._inbox.get(timeout=_POLL)
                except queue.Empty:
                    continue
            start = time.perf_counter()
            try:
                frame = self.source.read(timeout=_POLL)
            except TimeoutError:
                continue
            if frame is None:
                return EOS
            frame.timings["wait"] = time.perf_counter() - start
            if self._resumed:  # what the camera produced during the pause is not a drop
                frame.skipped = 0
                self._resumed = False
            return frame
        return EOS

    def _work(self) -> None:
        """Process stage: one frame (or one batch) at a time, in arrival order."""
        done = 0
        try:
            while not self._stop.is_set():
                if self.max_frames is not None and done >= self.max_frames:
                    break
                item = self._next_input()
                if item is EOS or isinstance(item, _Failed):
                    self._put(self._outbox, item)
                    return
                frames: list[Frame] = [item]
                ending: Any = None
                while len(frames) < self.batch:
                    if self.max_frames is not None and done + len(frames) >= self.max_frames:
                        break
                    more = self._next_input()
                    if more is EOS or isinstance(more, _Failed):
                        ending = more
                        break
                    frames.append(more)
                start = time.perf_counter()
                if len(frames) == 1 and self.batch == 1:
                    results = [self.process(frames[0])]
                else:
                    assert self.process_batch is not None
                    results = self.process_batch(frames)
                share = (time.perf_counter() - start) / len(frames)
                for frame, result in zip(frames, results, strict=True):
                    frame.timings["process"] = share
                    if not self._put(self._outbox, Packet(frame, result)):
                        return
                    done += 1
                if ending is not None:
                    self._put(self._outbox, ending)
                    return
        except BaseException as exc:
            self._put(self._outbox, _Failed(exc))
            return
        self._put(self._outbox, EOS)

    # ------------------------------------------------------------------ output

    def get(self, timeout: float | None = None) -> Packet[R] | None:
        """The next finished packet; ``None`` if none within ``timeout``; :data:`EOS`
        when the source is exhausted or ``max_frames`` reached. Re-raises, in the
        caller's thread, an error from the capture or process stage (e.g. a camera
        that stopped delivering frames)."""
        if self._finished:
            return EOS
        self.start()
        try:
            item = self._outbox.get(timeout=timeout) if timeout is not None else self._wait()
        except queue.Empty:
            return None
        if item is EOS:
            self._finished = True
            return EOS
        if isinstance(item, _Failed):
            self._finished = True
            raise item.error
        item.handed_out = time.perf_counter()
        return item

    def _wait(self) -> Any:
        while True:
            try:
                return self._outbox.get(timeout=_POLL)
            except queue.Empty:
                if self._stop.is_set():
                    return EOS

    def done(self, packet: Packet[R]) -> None:
        """Mark ``packet`` as output (displayed, written): records its latency, the
        time the output stage took, and the frames dropped before it."""
        now = time.perf_counter()
        frame = packet.frame
        frame.timings["output"] = now - packet.handed_out
        label = self.label(packet.result) if self.label is not None else None
        self.stats.record(frame.captured, now, frame.timings, frame.skipped, label)

    def __iter__(self) -> Iterator[Packet[R]]:
        """Yield packets in order; each is marked done when the loop asks for the next."""
        try:
            while (packet := self.get()) is not EOS:
                if packet is None:
                    continue
                try:
                    yield packet
                finally:
                    self.done(packet)
        finally:
            self.stop()

    def run(self, sink: Callable[[Packet[R]], object]) -> RunStats:
        """Feed every packet to ``sink`` in this thread; a sink returning ``False``
        stops the run. Returns the stats."""
        for packet in self:
            if sink(packet) is False:
                break
        return self.stats
