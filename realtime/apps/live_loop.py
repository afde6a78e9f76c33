"""The live loop: capture → process → show/record, frame by frame, with the keys,
the HUD, recording and snapshots (:class:`LiveLoop`; :func:`~.live.run_live` builds and
runs it).
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.interrupt import STOP, StopRequest, signal_name
from saliency_cam.realtime.apps.live_controls import (
    HELP_SECONDS,
    Controls,
    LiveOptions,
    compose,
    save_snapshot,
)
from saliency_cam.realtime.apps.live_report import LiveResult
from saliency_cam.realtime.apps.points import fixation_points
from saliency_cam.realtime.io.recorder import Recorder
from saliency_cam.realtime.io.sources import (
    FrameSource,
)
from saliency_cam.realtime.pipeline.quality_switch import (
    ReusingEngine,
    Saliency,
    SaliencyEngine,
)
from saliency_cam.realtime.pipeline.reuse import COMPUTED
from saliency_cam.realtime.pipeline.stages import EOS, Packet, Pipeline
from saliency_cam.realtime.pipeline.stats import RunStats, timed
from saliency_cam.realtime.render.blend import (
    TemporalSmoother,
    to_uint8,
)
from saliency_cam.realtime.render.display import Display
from saliency_cam.realtime.render.hud import HudInfo, draw_hud, mark_untrained
from saliency_cam.realtime.runtime.providers import (
    provider_label,
)


class LiveLoop:
    """The output stage and the controls of one live run, one method per event
    (Ultralytics-predictor style): :meth:`on_packet` when a processed frame arrives,
    :meth:`on_key` for a key press, :meth:`on_quality`, :meth:`on_pause`,
    :meth:`on_snapshot`, and :meth:`end` with the reason the run stops. :meth:`run`
    drives them until the source ends, ``max_frames``, a quit key, the window closes,
    Ctrl-C/SIGTERM/SIGHUP (``stop``) or an input error, and returns the
    :class:`LiveResult`. The recording is always closed (renamed, playable) at the end.
    """

    def __init__(
        self,
        options: LiveOptions,
        source: FrameSource,
        engine: SaliencyEngine,
        window: Display,
        controls: Controls,
        colormap: int,
        recorder: Recorder | None,
        *,
        say: Callable[[str], None] = print,
        on_frame: Callable[[Packet[Saliency], Controls, SaliencyEngine], None] | None = None,
        stop: StopRequest = STOP,
        inputs: Sequence[Path] = (),
    ) -> None:
        self.options, self.source, self.engine = options, source, engine
        self.window, self.controls, self.colormap = window, controls, colormap
        self.recorder, self.say, self.on_frame, self.stop = recorder, say, on_frame, stop
        self.inputs = list(inputs)
        self.stats = RunStats()
        process = engine if options.reuse <= 1 else ReusingEngine(engine, options.reuse)
        self.pipeline: Pipeline[Saliency] = Pipeline(
            source, process, max_frames=options.max_frames, stats=self.stats, label=_preset_of
        )
        #: frames whose map the network computed / that got the last map warped (--reuse)
        self.map_counts: dict[str, int] = {}
        self.computed_frames: list[int] = []
        self.smoother = TemporalSmoother(options.smooth)
        self.started = time.perf_counter()
        self.latency_ema = float("nan")
        self.last: tuple[np.ndarray, np.ndarray, Saliency] | None = None  # image, map, result
        self.picture: np.ndarray | None = None
        self.snapshots: list[Path] = []
        self.points: list[dict[str, Any]] = []  # per frame, with --points K and --stats
        self.notes: list[str] = []
        self.ended: str | None = None
        self.error: str | None = None
        self.failure: BaseException | None = None
        self.interrupted: int | None = None
        self.poll = 0.005 if options.display else 0.1

    # ------------------------------------------------------------------ driving

    def run(self) -> LiveResult:
        """Process frames until the run ends; return what happened."""
        try:
            with self.pipeline, self.stop.armed():
                while self.ended is None:
                    self.step()
        except KeyboardInterrupt as exc:  # no handler installed, or a second signal
            self.interrupted = getattr(exc, "signum", signal.SIGINT)
            self.end(f"interrupted ({signal_name(self.interrupted)})")
        except SaliencyCamError as exc:
            self.error, self.failure = str(exc), exc
            self.end("error")
        finally:
            self.close_recorder()
        return self.result()

    def step(self) -> None:
        """One turn: a stop request, then the next processed frame (if any), then a key."""
        if self.stop.requested:  # the frame in hand was finished on the previous turn
            self.interrupted = self.stop.signum
            self.end(self.stop.reason)
            return
        packet = self.pipeline.get(timeout=self.poll)
        if packet is EOS:
            self.on_source_end()
            return
        if packet is not None:
            self.on_packet(packet)
        self.on_key(self.window.poll_key(30 if self.controls.paused else 1))
        if self.ended is None and self.window.closed:
            self.end("window closed")

    def end(self, reason: str) -> None:
        """Stop the run (the first reason given is kept)."""
        if self.ended is None:
            self.ended = reason

    # ------------------------------------------------------------------ events

    def on_source_end(self) -> None:
        maxed = self.options.max_frames and self.stats.frames >= self.options.max_frames
        self.end("max frames reached" if maxed else "end of source")

    def on_packet(self, packet: Packet[Saliency]) -> None:
        """A processed frame: smooth, render with the HUD, record, show."""
        timings = packet.frame.timings
        kind = packet.result.kind
        self.map_counts[kind] = self.map_counts.get(kind, 0) + 1
        if kind == COMPUTED and self.options.reuse > 1:
            self.computed_frames.append(packet.frame.index)
        with timed(timings, "render"):
            smoothed = self.smoother(packet.result.map)
            self.last = (packet.frame.image, smoothed, packet.result)
            now = time.perf_counter()
            age = (now - packet.frame.captured) * 1e3
            ema = self.latency_ema
            self.latency_ema = age if math.isnan(ema) else 0.9 * ema + 0.1 * age
            help_over = now - self.started > HELP_SECONDS
            if self.controls.show_help and help_over and self.options.display:
                self.controls.show_help = False
            self.picture = self.redraw()
        if self.options.points and self.options.stats is not None:
            found = fixation_points(smoothed, self.options.points)
            frame = packet.frame
            self.points.append({"frame": frame.index, "time_s": round(frame.stamp, 6)})
            self.points[-1].update(found.to_json())
            if self.options.reuse > 1:
                self.points[-1]["map"] = kind
        if self.recorder is not None and self.picture is not None:
            with timed(timings, "record"):
                self.recorder.write(self.recorded_picture(), packet.frame.stamp)
        with timed(timings, "display"):
            self.window.show(self.picture)  # type: ignore[arg-type]
        self.pipeline.done(packet)
        error = self.engine.error
        if error and (not self.notes or self.notes[-1] != error):
            self.notes.append(error)  # a quality that could not be loaded
            self.say(f"quality switch failed: {error}")
        if self.on_frame is not None:
            self.on_frame(packet, self.controls, self.engine)

    def on_key(self, key: int | None) -> None:
        """Apply a key press (None: no key)."""
        action = self.controls.handle(key)
        if action == "quit":
            self.end("quit key")
        elif action == "quality":
            self.on_quality()
        elif action == "pause":
            self.on_pause()
        elif action == "snapshot":
            self.on_snapshot()
        if action in ("view", "mirror", "pause", "help") and self.last is not None:
            self.picture = self.redraw()  # show the change at once, even while paused
            if self.picture is not None:
                self.window.show(self.picture)

    def on_quality(self) -> None:
        """Switch quality in the background; frames keep coming at the old one."""
        self.engine.request(self.controls.quality)

    def on_pause(self) -> None:
        if self.controls.paused:
            self.pipeline.pause()
            return
        self.pipeline.resume()
        if self.recorder is not None:
            self.recorder.restart_clock()

    def on_snapshot(self) -> None:
        """Save the shown picture and its map; a failure is a note, the run goes on."""
        if self.last is None or self.picture is None:
            return
        try:
            path = save_snapshot(
                self.picture, self.last[1], self.options.snapshot_dir, inputs=self.inputs
            )
        except (SaliencyCamError, OSError) as exc:
            self.notes.append(f"snapshot failed: {exc}")
            self.say(self.notes[-1])
        else:
            self.snapshots.append(path)
            self.say(f"snapshot saved: {path}")

    # ------------------------------------------------------------------ pieces

    def hud_info(self, result: Saliency) -> HudInfo:
        engine = self.engine
        variant = engine.current.variant
        # which network, when it is not the default one (MSI-Net)
        label = result.preset if variant.arch == "msinet" else f"{result.preset} {variant.network}"
        return HudInfo(
            quality=label,
            device=provider_label(engine.current.providers[0]),
            fps=self.stats.current_fps,
            latency_ms=self.latency_ema,
            trained=result.trained,
            view=self.controls.view,
            status=engine.status if engine.switching or engine.error else "",
            paused=self.controls.paused,
            show_help=self.controls.show_help,
            map_kind=result.kind if self.options.reuse > 1 else "",
        )

    def redraw(self) -> np.ndarray | None:
        """The current picture for the current view and HUD (None before any frame)."""
        if self.last is None:
            return None
        image, smoothed, result = self.last
        options = self.options
        shown = compose(image, smoothed, self.controls, alpha=options.alpha, colormap=self.colormap)
        return draw_hud(shown, self.hud_info(result))

    def recorded_picture(self) -> np.ndarray:
        """What ``--record`` writes for the current frame: the shown picture, or the
        ``record_view`` (a view with or without HUD, the clean picture, the map)."""
        mode, options = self.options.record_view, self.options
        if mode is None or self.last is None:
            return self.picture  # type: ignore[return-value]
        image, smoothed, result = self.last
        if mode == "clean":
            return cv2.flip(image, 1) if self.controls.mirror else image
        if mode == "map":
            picture = cv2.cvtColor(to_uint8(smoothed), cv2.COLOR_GRAY2BGR)
            return cv2.flip(picture, 1) if self.controls.mirror else picture
        controls = Controls(self.controls.quality, mode, self.controls.mirror)
        picture = compose(image, smoothed, controls, alpha=options.alpha, colormap=self.colormap)
        if options.record_hud:
            info = self.hud_info(result)
            info.view, info.show_help, info.paused = mode, False, False
            return draw_hud(picture, info)
        return mark_untrained(picture) if not result.trained else picture

    def close_recorder(self) -> None:
        # Close the recording normally even after an error or a signal: what was recorded
        # so far is renamed to its final name and plays.
        if self.recorder is not None:
            self.recorder.close()
            if self.recorder.encode_times.count:  # encoding ran in its own thread
                self.stats.stages["encode"] = self.recorder.encode_times

    def result(self) -> LiveResult:
        recorder, engine = self.recorder, self.engine
        frames = recorder.frames_written if recorder is not None else 0
        return LiveResult(
            options=self.options,
            source=self.source.info,
            stats=self.stats,
            providers=list(engine.current.providers),
            choice=engine.current.choice,
            sessions=engine.pool.sessions,
            final_quality=engine.preset,
            ended=self.ended or "end of source",
            error=self.error,
            recorded=self.options.record if frames else None,
            recorded_frames=frames,
            snapshots=self.snapshots,
            notes=self.notes,
            failure=self.failure,
            interrupted=self.interrupted,
            points=self.points,
            map_counts=dict(self.map_counts),
            computed_frames=list(self.computed_frames),
        )


def _preset_of(result: Saliency) -> str:
    return result.preset


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
