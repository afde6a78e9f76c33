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
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import QUALITY_ORDER, resolve_preset
from saliency_cam.realtime.io.recorder import Recorder
from saliency_cam.realtime.io.sources import FrameSource, SourceInfo, open_source
from saliency_cam.realtime.pipeline.quality_switch import Saliency, SaliencyEngine, SessionPool
from saliency_cam.realtime.pipeline.stages import EOS, Packet, Pipeline
from saliency_cam.realtime.pipeline.stats import RunStats, hardware_info, timed, write_json
from saliency_cam.realtime.render.blend import (
    VIEWS,
    TemporalSmoother,
    render,
    resolve_colormap,
    resolve_view,
)
from saliency_cam.realtime.render.display import Display, NoDisplay, OpenCVWindow, display_available
from saliency_cam.realtime.render.hud import HudInfo, device_label, draw_hud
from saliency_cam.realtime.runtime.precision import check_precision
from saliency_cam.realtime.runtime.providers import ProviderChoice, choose_providers
from saliency_cam.realtime.runtime.session import (
    MissingModelHook,
    SaliencySession,
    open_session,
)

HELP_SECONDS = 4.0  # the key help shows this long at start (h toggles it)


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
    record: Path | None = None
    stats: Path | None = None
    display: bool = True
    max_frames: int | None = None
    models_dir: Path | None = None
    snapshot_dir: Path = field(default_factory=Path)
    threads: int | None = None
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
        )
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

    @property
    def trained(self) -> bool:
        """False if any model used in the run had random (UNTRAINED) weights."""
        return all(s.trained for s in self.sessions.values())

    @property
    def inference_fps(self) -> float:
        """Frames per second the network alone managed (from the mean infer time)."""
        infer = self.stats.stages.get("infer")
        if infer is None or infer.count == 0 or infer.total <= 0:
            return 0.0
        return infer.count / infer.total

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
            "ended": self.ended,
            "error": self.error,
            "record": (
                {"path": str(self.recorded), "frames": self.recorded_frames}
                if self.recorded
                else None
            ),
            "snapshots": [str(p) for p in self.snapshots],
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


def save_snapshot(picture: np.ndarray, saliency: np.ndarray, directory: Path) -> Path:
    """Save the shown picture and the raw map (8-bit grey) as PNGs; return the picture's
    path. Written under temporary names, then renamed."""
    from saliency_cam.realtime.render.blend import to_uint8

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    target = Path(directory) / f"saliency-cam-{stamp}.png"
    for path, image in ((target, picture), (target.with_name(f"{target.stem}-map.png"), None)):
        data = to_uint8(saliency) if image is None else image
        with atomic_output(path) as tmp:
            if not cv2.imwrite(str(tmp), data):
                raise SaliencyCamError(f"cannot write snapshot {path}: is the folder writable?")
    return target


# --------------------------------------------------------------------------- the run


def run_live(
    options: LiveOptions,
    *,
    display: Display | None = None,
    source: FrameSource | None = None,
    say: Callable[[str], None] | None = None,
    on_frame: Callable[[Packet[Saliency], Controls, SaliencyEngine], None] | None = None,
) -> LiveResult:
    """Run the live loop until the source ends, ``max_frames``, a quit key, the window
    closes or Ctrl-C. Returns what happened. An input failure mid-run (camera gone) is
    raised after the recording is finished (playable) and the stats are written; the
    exception carries the :class:`LiveResult` as ``.result`` (for the summary).

    ``display`` defaults to an OpenCV window (or nothing with ``options.display``
    False); ``source`` overrides ``options.source``; ``say`` prints one-line notes
    (stderr by default); ``on_frame`` is called after each shown frame (tests, scripts).
    """
    say = say or _say
    view = resolve_view(options.view)
    colormap = resolve_colormap(options.colormap)
    first = resolve_preset(options.quality, options.models_dir).name
    if options.max_frames is not None and options.max_frames < 1:
        raise SaliencyCamError("--max-frames must be at least 1")
    if display is None and options.display:
        reason = display_available()
        if reason:  # before loading models or opening the camera
            raise SaliencyCamError(
                f"cannot open a window: {reason}; run with --no-display "
                "(add --record out.mp4 to keep the result)"
            )
    choice = choose_providers(options.device)
    if choice.note:
        say(choice.note)
    pool = SessionPool(session_opener(options, choice, say))
    engine = SaliencyEngine(pool, first)  # model problems surface before the camera opens
    if not engine.current.trained:
        say(f"{engine.current.variant.label()}: maps are NOT real saliency (tests/speed only)")

    own_source = source is None
    src = open_source(options.source) if source is None else source
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
        result = _loop(options, src, engine, window, controls, colormap, recorder, say, on_frame)
    finally:
        if window is not None:
            window.close()
        if own_source:
            src.close()
    result.source_dropped = src.dropped
    unreadable = getattr(src, "unreadable", [])
    if unreadable:
        names = ", ".join(p.name for p in unreadable[:3]) + (" …" if len(unreadable) > 3 else "")
        result.notes.append(f"skipped {len(unreadable)} unreadable image(s): {names}")
    if options.stats is not None:
        write_json(options.stats, result.to_json())
    if result.failure is not None:
        result.failure.result = result  # type: ignore[attr-defined]  # for the summary
        raise result.failure
    return result


def _loop(
    options: LiveOptions,
    source: FrameSource,
    engine: SaliencyEngine,
    window: Display,
    controls: Controls,
    colormap: int,
    recorder: Recorder | None,
    say: Callable[[str], None],
    on_frame: Callable[[Packet[Saliency], Controls, SaliencyEngine], None] | None,
) -> LiveResult:
    stats = RunStats()
    pipeline: Pipeline[Saliency] = Pipeline(
        source, engine, max_frames=options.max_frames, stats=stats, label=lambda r: r.preset
    )
    smoother = TemporalSmoother(options.smooth)
    started = time.perf_counter()
    latency_ema = float("nan")
    last: tuple[np.ndarray, np.ndarray, Saliency] | None = None  # image, smoothed map, result
    picture: np.ndarray | None = None
    snapshots: list[Path] = []
    notes: list[str] = []
    ended, error = "end of source", None
    failure: BaseException | None = None
    poll = 0.005 if options.display else 0.1

    def hud_info(result: Saliency) -> HudInfo:
        status = engine.status if engine.switching or engine.error else ""
        return HudInfo(
            quality=result.preset,
            device=device_label(engine.current.providers[0]),
            fps=stats.current_fps,
            latency_ms=latency_ema,
            trained=result.trained,
            view=controls.view,
            status=status,
            paused=controls.paused,
            show_help=controls.show_help,
        )

    def redraw() -> np.ndarray | None:
        if last is None:
            return None
        image, smoothed, result = last
        shown = compose(image, smoothed, controls, alpha=options.alpha, colormap=colormap)
        return draw_hud(shown, hud_info(result))

    try:
        with pipeline:
            while True:
                packet = pipeline.get(timeout=poll)
                if packet is EOS:
                    ended = (
                        "max frames reached"
                        if options.max_frames and stats.frames >= options.max_frames
                        else "end of source"
                    )
                    break
                if packet is not None:
                    timings = packet.frame.timings
                    with timed(timings, "render"):
                        smoothed = smoother(packet.result.map)
                        last = (packet.frame.image, smoothed, packet.result)
                        now = time.perf_counter()
                        age = (now - packet.frame.captured) * 1e3
                        latency_ema = (
                            age if math.isnan(latency_ema) else 0.9 * latency_ema + 0.1 * age
                        )
                        if controls.show_help and now - started > HELP_SECONDS and options.display:
                            controls.show_help = False
                        picture = redraw()
                    if recorder is not None and picture is not None:
                        with timed(timings, "record"):
                            recorder.write(picture, packet.frame.stamp)
                    with timed(timings, "display"):
                        window.show(picture)  # type: ignore[arg-type]
                    pipeline.done(packet)
                    if engine.error and (not notes or notes[-1] != engine.error):
                        notes.append(engine.error)  # a quality that could not be loaded
                        say(f"quality switch failed: {engine.error}")
                    if on_frame is not None:
                        on_frame(packet, controls, engine)
                key = window.poll_key(30 if controls.paused else 1)
                action = controls.handle(key)
                if action == "quit":
                    ended = "quit key"
                    break
                if window.closed:
                    ended = "window closed"
                    break
                if action == "quality":
                    engine.request(controls.quality)
                elif action == "pause":
                    if controls.paused:
                        pipeline.pause()
                    else:
                        pipeline.resume()
                        if recorder is not None:
                            recorder.restart_clock()
                elif action == "snapshot" and last is not None and picture is not None:
                    try:
                        path = save_snapshot(picture, last[1], options.snapshot_dir)
                    except (SaliencyCamError, OSError) as exc:  # keep running: only a snapshot
                        notes.append(f"snapshot failed: {exc}")
                        say(notes[-1])
                    else:
                        snapshots.append(path)
                        say(f"snapshot saved: {path}")
                if action in ("view", "mirror", "pause", "help") and last is not None:
                    picture = redraw()  # show the change at once, even while paused
                    if picture is not None:
                        window.show(picture)
    except KeyboardInterrupt:
        ended = "interrupted (Ctrl-C)"
    except SaliencyCamError as exc:
        ended, error, failure = "error", str(exc), exc
    finally:
        # Close the recording normally even after an error: what was recorded so far is
        # renamed to its final name and plays.
        if recorder is not None:
            recorder.close()
            if recorder.encode_times.count:  # encoding ran in its own thread
                stats.stages["encode"] = recorder.encode_times

    return LiveResult(
        options=options,
        source=source.info,
        stats=stats,
        providers=list(engine.current.providers),
        choice=engine.current.choice,
        sessions=engine.pool.sessions,
        final_quality=engine.preset,
        ended=ended,
        error=error,
        recorded=options.record if recorder is not None and recorder.frames_written else None,
        recorded_frames=recorder.frames_written if recorder is not None else 0,
        snapshots=snapshots,
        notes=notes,
        failure=failure,
    )


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
    table.add_row("source", f"{info.name}{size}")
    labels = [s.variant.label() for s in result.sessions.values()]
    model = Text(", ".join(labels), style="" if result.trained else "bold red")
    if not result.trained:
        model.append(" (maps are not real saliency)")
    table.add_row("model", model)
    device = device_label(result.providers[0]) if result.providers else "?"
    note = f" — {result.choice.note}" if result.choice.note else ""
    table.add_row("device", f"{device} ({', '.join(result.providers)}){note}")
    elapsed = summary["elapsed_s"]
    drops = stats.dropped
    table.add_row("frames", f"{stats.frames} shown, {drops} dropped, {elapsed:.1f} s")
    infer_fps = result.inference_fps
    network = f" (the network alone: {infer_fps:.1f})" if infer_fps else ""
    table.add_row("FPS", f"{stats.fps:.1f}{network}")
    lat = summary["latency_ms"]
    if lat.get("count"):
        table.add_row(
            "latency", f"p50 {lat['p50']:.0f} ms · p95 {lat['p95']:.0f} ms (capture → shown)"
        )
    order = ["read", "wait", "preprocess", "infer", "postprocess", "render", "record", "encode"]
    order.append("display")
    stages = summary["stages_ms"]
    parts = [f"{name} {stages[name]['mean']:.1f}" for name in order if name in stages]
    if parts:
        table.add_row("stages (ms)", " · ".join(parts))
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
