"""What a training run shows and keeps of its progress: the history files (CSV, JSON,
plot), the per-step progress bar and the one-line epoch summary. Split from
``trainer.py``, which re-exports ``write_history``.

>>> write_history(Path("runs/a"), [{"epoch": 1, "loss": 0.5}])   # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from saliency_cam.models.atomic import atomic_output, atomic_write_text

#: Metrics scored on the validation subset each epoch (names as in models.metrics).
VAL_METRICS = ("cc", "kld", "nss", "sim", "auc_judd")


def write_history(run: Path, history: list[dict[str, float]]) -> None:
    """history.json, history.csv and history.png (loss and validation metrics)."""
    # NaN (a metric with no fixations to score) is written as null: strict JSON
    clean = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in history
    ]
    atomic_write_text(run / "history.json", json.dumps(clean, indent=2) + "\n")
    if not history:
        return
    columns = list(history[0])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(run / "history.csv", buffer.getvalue())
    _plot(run / "history.png", history)


def _plot(path: Path, history: list[dict[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key in ("loss", "val_loss"):
        left.plot(epochs, [row[key] for row in history], marker="o", label=key)
    left.set_xlabel("epoch")
    left.set_title("loss")
    left.legend()
    for name in VAL_METRICS:
        right.plot(epochs, [row[f"val_{name}"] for row in history], marker="o", label=name)
    right.set_xlabel("epoch")
    right.set_title("validation metrics")
    right.legend()
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


class _Bar:
    """A rich progress bar (loss, images/s, ETA) on terminals; one line per epoch always."""

    def __init__(self, console: Any, steps_per_epoch: int) -> None:
        self.console = console
        self.total = steps_per_epoch
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> _Bar:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  {task.fields[rate]:.2f} img/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def epoch(self, epoch: int, epochs: int, done: int) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(
            f"epoch {epoch + 1}/{epochs}", total=self.total, completed=done, loss=0.0, rate=0.0
        )

    def advance(self, loss: float, rate: float) -> None:
        self.progress.update(self.task, advance=1, loss=loss, rate=rate)

    def summary(self, row: dict[str, float], improved: bool) -> None:
        self.console.print(_summary_line(row, improved), markup=False)


def _summary_line(row: dict[str, float], improved: bool) -> str:
    parts = [f"epoch {row['epoch']}", f"loss {row['loss']:.4f}", f"val_loss {row['val_loss']:.4f}"]
    parts += [
        f"{k[4:]} {v:.3f}" for k, v in row.items() if k.startswith("val_") and k != "val_loss"
    ]
    return "  ".join(parts) + ("  (best)" if improved else "")
