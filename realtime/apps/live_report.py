"""What a live run reports: :class:`LiveResult` (frames, latency, drops, the
``--stats`` JSON) and the summary table printed when it ends.

>>> print_summary(result)          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_cam.realtime.apps.interrupt import signal_name
from saliency_cam.realtime.apps.live_controls import FIGURES, LiveOptions
from saliency_cam.realtime.io.sources import (
    SourceInfo,
)
from saliency_cam.realtime.pipeline.stats import RunStats, hardware_info
from saliency_cam.realtime.runtime.providers import (
    ProviderChoice,
    provider_label,
)
from saliency_cam.realtime.runtime.session import (
    SaliencySession,
)

if TYPE_CHECKING:  # rich is imported when a summary is printed, not with this module
    from rich.table import Table

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
        infer_fps = self.inference_fps
        return {
            "tool": "saliency-cam live",
            "version": _version(),
            "created": datetime.now().astimezone().isoformat(timespec="seconds"),
            "source": asdict(self.source),
            # takes "frames_by" out of the summary: it is per model, not a run figure
            "model": self._model_json(summary.pop("frames_by")),
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
            "reuse": self._reuse_json(),
            "notes": list(self.notes),
            "options": self._options_json(),
        }

    def _model_json(self, frames_by: dict[str, int]) -> dict[str, Any]:
        """The ``model`` section: the quality the run ended on and every model it used."""
        used = {name: s.variant for name, s in self.sessions.items()}
        final = used.get(self.final_quality)
        return {
            "quality": self.final_quality,
            "precision": final.precision if final else self.options.precision,
            "input_size": [final.height, final.width] if final else None,
            "trained": self.trained,
            "labels": {name: v.label() for name, v in used.items()},
            "frames_by_quality": frames_by,
        }

    def _reuse_json(self) -> dict[str, Any] | None:
        """The ``reuse`` section: which frames ran the network (None without --reuse)."""
        if self.options.reuse <= 1:
            return None
        return {
            "every": self.options.reuse,
            "frames_by_map": dict(self.map_counts),
            "computed_frames": list(self.computed_frames),
        }

    def _options_json(self) -> dict[str, Any]:
        """The ``options`` section: the picture and run settings the user chose."""
        options = self.options
        return {
            "view": options.view,
            "alpha": options.alpha,
            "colormap": options.colormap,
            "smooth": options.smooth,
            "mirror": options.mirror,
            "max_frames": options.max_frames,
            "threads": options.threads,
        }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("saliency-cam")
    except PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------- summary


def summary_table(result: LiveResult):  # -> rich.panel.Panel
    """A one-screen rich summary of a run."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    summary = result.stats.summary()
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    _add_setup_rows(table, result)
    _add_speed_rows(table, result, summary)
    _add_output_rows(table, result, summary)
    ended = Text(result.ended, style="bold red" if result.error else "")
    table.add_row("ended", ended)
    return Panel(table, title="saliency-cam live", expand=False)


def _add_setup_rows(table: Table, result: LiveResult) -> None:
    """What ran: the source (size, camera rate, note), the models, the device."""
    from rich.text import Text

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


def _add_speed_rows(table: Table, result: LiveResult, summary: dict[str, Any]) -> None:
    """How fast: frames, FPS, latency (live) or work per frame (files), stage means."""
    stats, info = result.stats, result.source
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


def _add_output_rows(table: Table, result: LiveResult, summary: dict[str, Any]) -> None:
    """What else happened and was kept: reuse, quality switches, files, notes."""
    from rich.text import Text

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


def print_summary(result: LiveResult, console: Any = None) -> None:
    """Print :func:`summary_table` (to stdout unless ``console`` is given)."""
    from rich.console import Console

    (console or Console()).print(summary_table(result))
