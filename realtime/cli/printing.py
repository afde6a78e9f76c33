"""How the commands print: one console style, the model line (with UNTRAINED said
plainly), per-input problems, the file commands' plan check, progress bar and
interrupt line, shared so every command reads the same."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

UNTRAINED_LINE = (
    "[bold yellow]UNTRAINED[/]: this model has seeded random weights (tests and speed "
    "only): its maps are meaningless; export trained weights with 'saliency-cam export'"
)


def console(stderr: bool = False) -> Any:
    """A rich console for a command's output (stdout) or its notes and errors (stderr)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def print_model(err: Any, session: Any) -> None:
    """Which model runs where, how the backend was chosen, and UNTRAINED when it is."""
    if session.choice.note and session.backend == "onnxruntime":
        err.print(session.choice.note)
    if session.backend_note:
        err.print(session.backend_note)
    resolved = session.resolved
    err.print(
        f"model: {session.variant.label()} on {session.providers[0]} "
        f"({resolved.backend}, sha256 {resolved.sha256[:12]})"
    )
    if not session.trained:
        err.print(UNTRAINED_LINE)


def report_problems(err: Any, problems: list[tuple[str, str]]) -> None:
    """One ``error: NAME: message`` line per input that cannot be used."""
    for name, message in problems:
        err.print(f"[red]error[/]: {name}: {message}", markup=True)


def check_plan(err: Any, plan: Any, kind: str) -> int:
    """List the inputs that cannot be used and the skipped earlier outputs, stop (exit 1)
    when nothing is left; return the number of inputs asked for (shared with reframe)."""
    report_problems(err, plan.problems)
    if plan.skipped:
        more = " …" if len(plan.skipped) > 3 else ""
        names = ", ".join(p.name for p in plan.skipped[:3]) + more
        err.print(
            f"skipped {len(plan.skipped)} file(s) this command wrote earlier: {names}",
            markup=False,
        )
    if not plan.jobs:
        err.print(f"[red]no {kind} to process[/]")
        raise typer.Exit(1)
    return plan.total


def interrupted(err: Any, exc: KeyboardInterrupt, kept: list[Path], unfinished: str) -> typer.Exit:
    """Say in one line that the run was interrupted and what it kept; the exit to raise."""
    from saliency_cam.realtime.apps.interrupt import exit_code_for, signal_name

    signum = getattr(exc, "signum", 2)
    what = f"kept {', '.join(str(p) for p in kept)}" if kept else "nothing was finished"
    err.print(f"interrupted ({signal_name(signum)}): {what}{unfinished}", markup=False)
    return typer.Exit(exit_code_for(signum))


@contextmanager
def file_progress(console: Any, enabled: bool) -> Iterator[Any]:
    """The file commands' progress bar: done/total, FPS (rich's smoothed rate), ETA."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class FPSColumn(ProgressColumn):
        def render(self, task) -> Text:  # rich's smoothed rate over recent updates
            return Text(f"{task.speed or 0.0:5.1f} FPS")

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        FPSColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )
    with progress:
        yield progress


def folders(paths: list[Path]) -> str:
    """``N files in out/`` for a summary line (each folder named once)."""
    names = sorted({str(p.parent) for p in paths})
    return f"{len(paths)} files in {', '.join(names)}"
