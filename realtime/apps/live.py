"""The live app behind ``saliency-cam --quality high``: camera (or any source) →
saliency → blended picture with a HUD, in a window or headless, with keys to switch
quality, view and mirror, pause, and take snapshots; optional recording and stats.

Capture, inference and rendering run concurrently (:class:`Pipeline`); this module is
the output stage plus the controls. Everything here works without a window (the
:class:`Display` interface), which is how it is tested.

>>> options = LiveOptions(source="clip.mp4", display=False, max_frames=100)
>>> result = run_live(options)              # doctest: +SKIP
>>> result.stats.fps                        # doctest: +SKIP
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from saliency_cam.models.atomic import atomic_output, check_writable, write_json
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import QUALITY_ORDER, resolve_preset
from saliency_cam.realtime.apps.interrupt import STOP, StopRequest, signal_name
from saliency_cam.realtime.apps.points import fixation_points
from saliency_cam.realtime.io.inputs import refuse_overwriting_inputs
from saliency_cam.realtime.io.recorder import Recorder
from saliency_cam.realtime.io.sources import (
    CameraSettings,
    FrameSource,
    SourceInfo,
    open_source,
    source_files,
)
from saliency_cam.realtime.pipeline.quality_switch import (
    ReusingEngine,
    Saliency,
    SaliencyEngine,
    SessionPool,
)
from saliency_cam.realtime.pipeline.reuse import COMPUTED
from saliency_cam.realtime.pipeline.stages import EOS, Packet, Pipeline
from saliency_cam.realtime.pipeline.stats import RunStats, hardware_info, timed
from saliency_cam.realtime.render.blend import (
    VIEWS,
    TemporalSmoother,
    render,
    resolve_colormap,
    resolve_view,
    to_uint8,
)
from saliency_cam.realtime.render.display import Display, NoDisplay, OpenCVWindow, display_available
from saliency_cam.realtime.render.hud import HudInfo, draw_hud, mark_untrained
from saliency_cam.realtime.runtime.precision import check_precision
from saliency_cam.realtime.runtime.providers import (
    ProviderChoice,
    choose_providers,
    provider_label,
)
from saliency_cam.realtime.runtime.session import (
    MissingModelHook,
    SaliencySession,
    open_session,
)

HELP_SECONDS = 4.0  # the key help shows this long at start (h toggles it)

#: ``--record-view`` choices: the views, the camera picture alone, the map alone.
RECORD_VIEWS: tuple[str, ...] = (*VIEWS, "clean", "map")


def resolve_record_view(name: str | None) -> str | None:
    """Validate a ``--record-view`` (None: record what the window shows)."""
    if name is None:
        return None
    key = name.strip().lower()
    if key not in RECORD_VIEWS:
        choices = ", ".join(RECORD_VIEWS)
        raise SaliencyCamError(f"unknown --record-view {name!r}: choose one of {choices}")
    return key


#: What each figure of the summary and the --stats file means, so none contradicts another.
FIGURES: dict[str, str] = {
    "fps": "frames shown per second, from the first shown frame to the last",
    "inference_only_fps": "1 / mean network time on the same frames (the first, a cold "
    "start, left out): the most the pipeline could reach",
    "latency_ms": "capture to shown, per frame; for files and folders it includes the time a "
    "frame waits in the read-ahead queue, so processing_ms is the figure to read there",
    "processing_ms": "time spent working on each frame (decode, pre/post-processing, network, "
    "render, record, display), queue waits left out",
    "stages_ms": "time per frame in each stage; stages run concurrently, so they overlap",
}


@dataclass
class LiveOptions:
    """Everything ``saliency-cam`` (the live command) can be told."""

    source: str = "0"
    quality: str = "medium"
    precision: str = "auto"
    device: str = "auto"
    view: str = "overlay"
    alpha: float = 0.5
    colormap: str = "inferno"
    mirror: bool = False
    smooth: float = 0.0
    #: --reuse N: the network on every N-th frame at most, the last map warped between
    reuse: int = 1
    record: Path | None = None
    #: What --record writes: None (what the window shows), or one of RECORD_VIEWS.
    record_view: str | None = None
    #: Draw the HUD on recorded overlay/heatmap/side pictures (clean and map never get it).
    record_hud: bool = True
    stats: Path | None = None
    display: bool = True
    max_frames: int | None = None
    models_dir: Path | None = None
    snapshot_dir: Path = field(default_factory=Path)
    threads: int | None = None
    #: Top fixation points per frame written into --stats (0: none).
    points: int = 0
    #: What to ask a camera for (--width/--height/--fps/--fourcc); None: its defaults.
    camera: CameraSettings | None = None
    #: onnxruntime | openvino | auto (runtime/backends); letterbox: pad into the preset.
    backend: str = "auto"
    letterbox: bool = False
    #: Exports a variant that is missing (the CLI passes the exporter; None: fail clearly).
    on_missing: MissingModelHook | None = None


# --------------------------------------------------------------------------- controls

KEY_ESC = 27


@dataclass
class Controls:
    """What the keys change. :meth:`handle` maps one key code to an action name."""

    quality: str
    view: str = "overlay"
    mirror: bool = False
    paused: bool = False
    show_help: bool = False

    def handle(self, key: int | None) -> str | None:
        """Apply ``key``; return the action (``quit``, ``quality``, ``view``, ``mirror``,
        ``pause``, ``snapshot``, ``help``) or None for keys that mean nothing."""
        if key is None:
            return None
        char = chr(key).lower() if 0 <= key < 256 else ""
        if key == KEY_ESC or char == "q":
            return "quit"
        if char in "12345" and char:
            self.quality = QUALITY_ORDER[int(char) - 1]
            return "quality"
        if char == "v":
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
            return "view"
        if char == "m":
            self.mirror = not self.mirror
            return "mirror"
        if char == " ":
            self.paused = not self.paused
            return "pause"
        if char == "s":
            return "snapshot"
        if char == "h":
            self.show_help = not self.show_help
            return "help"
        return None


# --------------------------------------------------------------------------- sessions


def session_opener(
    options: LiveOptions, choice: ProviderChoice, say: Callable[[str], None]
) -> Callable[[str], SaliencySession]:
    """A function opening the variant for a preset with the run's precision, device and
    models folder (``options.on_missing`` may export a missing one first)."""
    check_precision(options.precision)

    def open_preset(name: str) -> SaliencySession:
        session = open_session(
            name,
            options.precision,
            options.device,
            options.models_dir,
            threads=options.threads,
            choice=choice,
            on_missing=options.on_missing,
            backend=options.backend,
            aspect="letterbox" if options.letterbox else "match",
        )
        if session.backend_note:  # what --backend auto measured (also in the HUD's device)
            say(f"{name}: {session.backend_note}")
        if session.fallback_note:
            say(f"{name}: {session.fallback_note}")
        return session

    return open_preset


# --------------------------------------------------------------------------- results


@dataclass
class LiveResult:
    """What a run did: for the summary, the ``--stats`` JSON and tests."""

    options: LiveOptions
    source: SourceInfo
    stats: RunStats
    providers: list[str]
    choice: ProviderChoice
    sessions: dict[str, SaliencySession]
    final_quality: str
    ended: str
    error: str | None = None
    recorded: Path | None = None
    recorded_frames: int = 0
    snapshots: list[Path] = field(default_factory=list)
    source_dropped: int = 0
    notes: list[str] = field(default_factory=list)
    failure: BaseException | None = field(default=None, repr=False)
    #: The signal that stopped the run (SIGINT for Ctrl-C), None if it ended otherwise.
    interrupted: int | None = None
    #: Per frame: ``{"frame", "time_s", "points": [...], "centroid": {...}}`` (--points).
    points: list[dict[str, Any]] = field(default_factory=list)
    #: Frames by how their map was made: ``computed`` / ``propagated`` (--reuse).
    map_counts: dict[str, int] = field(default_factory=dict)
    #: With --reuse: the indices of the frames the network ran on.
    computed_frames: list[int] = field(default_factory=list)

    def kept(self) -> list[str]:
        """What the run left on disk: the recording, the stats file, snapshots."""
        kept = []
        if self.recorded:
            kept.append(f"{self.recorded} ({self.recorded_frames} frames)")
        if self.options.stats is not None:
            kept.append(str(self.options.stats))
        if self.snapshots:
            kept.append(f"{len(self.snapshots)} snapshot(s) in {self.snapshots[0].parent}")
        return kept

    def interrupted_line(self) -> str:
        """``interrupted (SIGTERM): kept rec.mp4 (87 frames), s.json`` ("" if not)."""
        if self.interrupted is None:
            return ""
        kept = self.kept()
        what = f"kept {', '.join(kept)}" if kept else "nothing to keep"
        return f"interrupted ({signal_name(self.interrupted)}): {what}"

    @property
    def trained(self) -> bool:
        """False if any model used in the run had random (UNTRAINED) weights."""
        return all(s.trained for s in self.sessions.values())

    @property
    def inference_fps(self) -> float:
        """Frames per second the network alone managed, from its mean time on the same
        frames :attr:`RunStats.fps` counts (all but the first: its time includes the
        cold start, and FPS starts at the first output)."""
        infer = self.stats.stages.get("infer")
        if infer is None or infer.count == 0 or infer.total <= 0:
            return 0.0
        return infer.rate_after_first() or infer.count / infer.total

    def to_json(self) -> dict[str, Any]:
        """The ``--stats`` document."""
        summary = self.stats.summary()
        used = {name: s.variant for name, s in self.sessions.items()}
        final = used.get(self.final_quality)
        infer_fps = self.inference_fps
        return {
            "tool": "saliency-cam live",
            "version": _version(),
            "created": datetime.now().astimezone().isoformat(timespec="seconds"),
            "source": asdict(self.source),
            "model": {
                "quality": self.final_quality,
                "precision": final.precision if final else self.options.precision,
                "input_size": [final.height, final.width] if final else None,
                "trained": self.trained,
                "labels": {name: v.label() for name, v in used.items()},
                "frames_by_quality": summary.pop("frames_by"),
            },
            "untrained": not self.trained,
            "device": {
                "requested": self.options.device,
                "providers": self.providers,
                "note": self.choice.note,
            },
            "hardware": hardware_info(self.providers),
            **summary,
            "source_dropped": self.source_dropped,
            "inference_only_fps": round(infer_fps, 3),
            "fps_vs_inference": round(self.stats.fps / infer_fps, 3) if infer_fps else None,
            "figures": FIGURES,
            "ended": self.ended,
            "interrupted_by": (
                signal_name(self.interrupted) if self.interrupted is not None else None
            ),
            "error": self.error,
            "record": (
                {"path": str(self.recorded), "frames": self.recorded_frames}
                if self.recorded
                else None
            ),
            "snapshots": [str(p) for p in self.snapshots],
            **({"points": self.points} if self.options.points else {}),
            "reuse": (
                {
                    "every": self.options.reuse,
                    "frames_by_map": dict(self.map_counts),
                    "computed_frames": list(self.computed_frames),
                }
                if self.options.reuse > 1
                else None
            ),
            "notes": list(self.notes),
            "options": {
                "view": self.options.view,
                "alpha": self.options.alpha,
                "colormap": self.options.colormap,
                "smooth": self.options.smooth,
                "mirror": self.options.mirror,
                "max_frames": self.options.max_frames,
                "threads": self.options.threads,
            },
        }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("saliency-cam")
    except PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------- pictures


def compose(
    image: np.ndarray,
    saliency: np.ndarray,
    controls: Controls,
    *,
    alpha: float,
    colormap: int,
) -> np.ndarray:
    """The picture for the current view, mirrored if asked (HUD not included)."""
    if controls.mirror:
        image, saliency = cv2.flip(image, 1), cv2.flip(saliency, 1)
    return render(image, saliency, controls.view, alpha, colormap)


def save_snapshot(
    picture: np.ndarray, saliency: np.ndarray, directory: Path, *, inputs: Sequence[Path] = ()
) -> Path:
    """Save the shown picture and the raw map (8-bit grey) as PNGs; return the picture's
    path. Written under temporary names, then renamed; never over one of ``inputs``
    (the files the run reads)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    target = Path(directory) / f"saliency-cam-{stamp}.png"
    pair = ((target, picture), (target.with_name(f"{target.stem}-map.png"), None))
    refuse_overwriting_inputs(inputs, [p for p, _ in pair], hint="choose another --snapshot-dir")
    for path, image in pair:
        data = to_uint8(saliency) if image is None else image
        with atomic_output(path) as tmp:
            if not cv2.imwrite(str(tmp), data):
                raise SaliencyCamError(f"cannot write snapshot {path}: is the folder writable?")
    return target


# --------------------------------------------------------------------------- the run


def check_live_outputs(options: LiveOptions, inputs: Sequence[Path]) -> None:
    """Refuse ``--record``/``--stats`` paths that are one of the run's input files or
    each other (resolved: symlinks, ``./x`` and ``x`` are the same file), or that
    cannot be written."""
    outputs = [p for p in (options.record, options.stats) if p is not None]
    refuse_overwriting_inputs(inputs, outputs, hint="choose another --record/--stats path")
    if len(outputs) == 2 and outputs[0].resolve() == outputs[1].resolve():
        raise SaliencyCamError(f"--record and --stats are the same file {outputs[0]}")
    for option, path in (("--record", options.record), ("--stats", options.stats)):
        if path is not None:  # a place that cannot be written fails now, not at the end
            check_writable(path, option)


def run_live(
    options: LiveOptions,
    *,
    display: Display | None = None,
    source: FrameSource | None = None,
    say: Callable[[str], None] | None = None,
    on_frame: Callable[[Packet[Saliency], Controls, SaliencyEngine], None] | None = None,
    stop: StopRequest | None = None,
) -> LiveResult:
    """Run the live loop until the source ends, ``max_frames``, a quit key, the window
    closes, Ctrl-C, SIGTERM or SIGHUP (``stop``, default: the process's
    :data:`~saliency_cam.realtime.apps.interrupt.STOP`; the frame in hand is finished
    first). Returns what happened (``result.interrupted`` names the signal). An input
    failure mid-run (camera gone) is raised after the recording is finished (playable)
    and the stats are written; the exception carries the :class:`LiveResult` as
    ``.result`` (for the summary).

    ``display`` defaults to an OpenCV window (or nothing with ``options.display``
    False); ``source`` overrides ``options.source``; ``say`` prints one-line notes
    (stderr by default); ``on_frame`` is called after each shown frame (tests, scripts).
    """
    say = say or _say
    view = resolve_view(options.view)
    resolve_record_view(options.record_view)
    if options.points and options.stats is None:
        raise SaliencyCamError("--points goes into the --stats file: add --stats FILE.json")
    colormap = resolve_colormap(options.colormap)
    first = resolve_preset(options.quality, options.models_dir).name
    if options.max_frames is not None and options.max_frames < 1:
        raise SaliencyCamError("--max-frames must be at least 1")
    # before anything is opened or written: outputs must not land on what is read
    inputs = source_files(options.source) if source is None else []
    check_live_outputs(options, inputs)
    if display is None and options.display:
        reason = display_available()
        if reason:  # before loading models or opening the camera
            raise SaliencyCamError(
                f"cannot open a window: {reason}; run with --no-display "
                "(add --record out.mp4 to keep the result)"
            )
    # OpenVINO takes its own device names (GPU.1, NPU): onnxruntime's chooser stays on CPU
    choice = choose_providers("cpu" if options.backend == "openvino" else options.device)
    if choice.note and options.backend != "openvino":
        say(choice.note)
    pool = SessionPool(session_opener(options, choice, say), options.models_dir)
    engine = SaliencyEngine(pool, first)  # model problems surface before the camera opens
    if not engine.current.trained:
        say(f"{engine.current.variant.label()}: maps are NOT real saliency (tests/speed only)")

    own_source = source is None
    src = open_source(options.source, camera=options.camera) if source is None else source
    if src.info.note:  # e.g. the camera gave another size than asked for
        say(src.info.note)
    window: Display | None = display
    try:
        if window is None:
            window = OpenCVWindow("saliency-cam") if options.display else NoDisplay()
        controls = Controls(first, view, options.mirror)
        controls.show_help = options.display
        recorder = None
        if options.record is not None:
            recorder = Recorder(
                options.record,
                fps=src.info.fps or 30.0,
                paced=src.live,
                metadata={"comment": f"saliency-cam live, {engine.current.variant.label()}"},
            )
        loop = LiveLoop(
            options,
            src,
            engine,
            window,
            controls,
            colormap,
            recorder,
            say=say,
            on_frame=on_frame,
            stop=stop or STOP,
            inputs=inputs,
        )
        result = loop.run()
    finally:
        if window is not None:
            window.close()
        if own_source:
            src.close()
    result.source_dropped = src.dropped
    problems = getattr(src, "problems", [])
    for _, message in problems:  # one line per file, as 'saliency-cam image' reports them
        say(f"error: {message}")
    if problems:
        names = ", ".join(p.name for p, _ in problems[:3]) + (" …" if len(problems) > 3 else "")
        result.notes.append(f"skipped {len(problems)} unreadable image(s): {names}")
    if options.stats is not None:
        write_json(options.stats, result.to_json())
    if result.failure is not None:
        result.failure.result = result  # type: ignore[attr-defined]  # for the summary
        raise result.failure
    return result


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


# --------------------------------------------------------------------------- summary


def summary_table(result: LiveResult):  # -> rich.panel.Panel
    """A one-screen rich summary of a run."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    stats = result.stats
    summary = stats.summary()
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    info = result.source
    size = f" ({info.width}×{info.height})" if info.width and info.height else ""
    if info.live and info.fps:
        size += f" at {info.fps:g} FPS"
    if info.note:
        size += f"; {info.note}"
    table.add_row("source", f"{info.name}{size}")
    labels = [s.variant.label() for s in result.sessions.values()]
    model = Text(", ".join(labels), style="" if result.trained else "bold red")
    if not result.trained:
        model.append(" (maps are not real saliency)")
    table.add_row("model", model)
    device = provider_label(result.providers[0]) if result.providers else "?"
    note = f" — {result.choice.note}" if result.choice.note else ""
    table.add_row("device", f"{device} ({', '.join(result.providers)}){note}")
    elapsed = summary["elapsed_s"]
    drops = stats.dropped
    table.add_row("frames", f"{stats.frames} shown, {drops} dropped, {elapsed:.1f} s")
    infer_fps = result.inference_fps
    network = f"; the network alone, same frames: {infer_fps:.1f}" if infer_fps else ""
    table.add_row("FPS", f"{stats.fps:.1f} shown per second{network}")
    if info.live:  # a camera or stream: how old the picture is when shown
        lat = summary["latency_ms"]
        if lat.get("count"):
            table.add_row(
                "latency", f"p50 {lat['p50']:.0f} ms · p95 {lat['p95']:.0f} ms (capture → shown)"
            )
    else:  # files read ahead: queue time is not latency anyone sees; report the work
        work = summary["processing_ms"]
        if work.get("count"):
            table.add_row(
                "per frame",
                f"p50 {work['p50']:.0f} ms · p95 {work['p95']:.0f} ms processing "
                "(read → shown, queue waits left out)",
            )
    order = ["read", "wait", "preprocess", "infer", "postprocess", "reuse", "render", "record"]
    order.append("encode")
    order.append("display")
    stages = summary["stages_ms"]
    parts = [f"{name} {stages[name]['mean']:.1f}" for name in order if name in stages]
    if parts:
        table.add_row("stages (ms)", " · ".join(parts))
    if result.options.reuse > 1:
        counts = result.map_counts
        table.add_row(
            "reuse",
            f"every {result.options.reuse}: {counts.get('computed', 0)} maps computed, "
            f"{counts.get('propagated', 0)} propagated",
        )
    by = summary["frames_by"]
    if len(by) > 1:
        table.add_row("qualities", ", ".join(f"{k} {v}" for k, v in by.items()))
    if result.recorded:
        table.add_row("recorded", f"{result.recorded} ({result.recorded_frames} frames)")
    if result.snapshots:
        table.add_row("snapshots", f"{len(result.snapshots)} in {result.snapshots[0].parent}")
    if result.options.stats:
        table.add_row("stats", str(result.options.stats))
    for note in result.notes:
        table.add_row("note", Text(note, style="yellow"))
    ended = Text(result.ended, style="bold red" if result.error else "")
    table.add_row("ended", ended)
    return Panel(table, title="saliency-cam live", expand=False)


def print_summary(result: LiveResult, console: Any = None) -> None:
    """Print :func:`summary_table` (to stdout unless ``console`` is given)."""
    from rich.console import Console

    (console or Console()).print(summary_table(result))
