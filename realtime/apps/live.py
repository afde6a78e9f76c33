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

from collections.abc import Callable, Sequence
from pathlib import Path

from saliency_cam.models.atomic import check_writable, write_json
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import resolve_preset
from saliency_cam.realtime.apps.interrupt import STOP, StopRequest
from saliency_cam.realtime.apps.live_controls import (
    FIGURES,
    HELP_SECONDS,
    KEY_ESC,
    RECORD_VIEWS,
    Controls,
    LiveOptions,
    compose,
    resolve_record_view,
    save_snapshot,
    session_opener,
)
from saliency_cam.realtime.apps.live_loop import LiveLoop, _say
from saliency_cam.realtime.apps.live_report import LiveResult, print_summary, summary_table

# the live app's public names, wherever they are defined (tests and the CLI import them here)
__all__ = [
    "FIGURES",
    "HELP_SECONDS",
    "KEY_ESC",
    "RECORD_VIEWS",
    "Controls",
    "LiveLoop",
    "LiveOptions",
    "LiveResult",
    "check_live_outputs",
    "compose",
    "print_summary",
    "resolve_record_view",
    "run_live",
    "save_snapshot",
    "session_opener",
    "summary_table",
]
from saliency_cam.realtime.io.inputs import refuse_overwriting_inputs
from saliency_cam.realtime.io.recorder import Recorder
from saliency_cam.realtime.io.sources import (
    FrameSource,
    open_source,
    source_files,
)
from saliency_cam.realtime.pipeline.quality_switch import (
    Saliency,
    SaliencyEngine,
    SessionPool,
)
from saliency_cam.realtime.pipeline.stages import Packet
from saliency_cam.realtime.render.blend import (
    resolve_colormap,
    resolve_view,
)
from saliency_cam.realtime.render.display import Display, NoDisplay, OpenCVWindow, display_available
from saliency_cam.realtime.runtime.providers import (
    choose_providers,
)

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
    view, colormap, first, inputs = _check_run(options, display, source)
    engine = _open_engine(options, first, say)  # model problems surface before the camera
    own_source = source is None
    src = open_source(options.source, camera=options.camera) if source is None else source
    if src.info.note:  # e.g. the camera gave another size than asked for
        say(src.info.note)
    window: Display | None = display
    try:  # whatever fails from here on, the window and our own source are closed
        if window is None:
            window = OpenCVWindow("saliency-cam") if options.display else NoDisplay()
        controls = Controls(first, view, options.mirror)
        controls.show_help = options.display
        loop = LiveLoop(
            options,
            src,
            engine,
            window,
            controls,
            colormap,
            _recorder(options, src, engine),
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
    return _finish(result, src, options, say)


def _check_run(
    options: LiveOptions, display: Display | None, source: FrameSource | None
) -> tuple[str, int, str, list[Path]]:
    """Refuse bad options before anything is opened or written; returns the view, the
    colormap, the first quality's preset name and the input files (none for a given
    ``source``)."""
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
    return view, colormap, first, inputs


def _open_engine(options: LiveOptions, first: str, say: Callable[[str], None]) -> SaliencyEngine:
    """The provider choice, the session pool and an engine with ``first`` loaded (a
    note when its weights are random)."""
    # OpenVINO takes its own device names (GPU.1, NPU): onnxruntime's chooser stays on CPU
    choice = choose_providers("cpu" if options.backend == "openvino" else options.device)
    if choice.note and options.backend != "openvino":
        say(choice.note)
    pool = SessionPool(session_opener(options, choice, say), options.models_dir)
    engine = SaliencyEngine(pool, first)
    if not engine.current.trained:
        say(f"{engine.current.variant.label()}: maps are NOT real saliency (tests/speed only)")
    return engine


def _recorder(options: LiveOptions, src: FrameSource, engine: SaliencyEngine) -> Recorder | None:
    """The ``--record`` writer at the source's rate (paced for live sources), or None."""
    if options.record is None:
        return None
    return Recorder(
        options.record,
        fps=src.info.fps or 30.0,
        paced=src.live,
        metadata={"comment": f"saliency-cam live, {engine.current.variant.label()}"},
    )


def _finish(
    result: LiveResult, src: FrameSource, options: LiveOptions, say: Callable[[str], None]
) -> LiveResult:
    """After the loop: the source's drops and unreadable files into the result, the
    ``--stats`` file written, then a mid-run input failure raised (carrying the result)."""
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
