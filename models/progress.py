"""The one maker of progress bars (rich), so every command's bars look and behave alike:
on stderr, hidden when stderr is not a terminal (logs and pipes get plain lines), and
measuring what the job counts — items, frames (with FPS) or bytes.

>>> with progress_bar("items") as bar:             # doctest: +SKIP
...     task = bar.add_task("export", total=5)
...     bar.advance(task)
"""

from __future__ import annotations

from typing import Any, Literal

Unit = Literal["items", "frames", "bytes"]


def progress_bar(
    unit: Unit = "items",
    *,
    console: Any = None,
    enabled: bool = True,
    transient: bool = True,
    detail: str | None = None,
) -> Any:
    """A ``rich.progress.Progress`` for ``unit`` (a context manager). ``detail`` names a
    task field shown after the bar (e.g. the current file). Disabled bars draw nothing."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text

    class FPSColumn(ProgressColumn):
        def render(self, task: Any) -> Text:  # rich's smoothed rate over recent updates
            return Text(f"{task.speed or 0.0:5.1f} FPS")

    console = console or Console(stderr=True)
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    if unit == "bytes":
        columns += [DownloadColumn(), TransferSpeedColumn()]
    elif unit == "frames":
        columns += [MofNCompleteColumn(), FPSColumn(), TimeElapsedColumn()]
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    else:
        columns = [SpinnerColumn(), *columns, MofNCompleteColumn(), TimeElapsedColumn()]
    if detail:
        columns.append(TextColumn(f"{{task.fields[{detail}]}}"))
    return Progress(
        *columns,
        console=console,
        transient=transient,
        disable=not enabled or not console.is_terminal,
    )
