"""Several models side by side (``saliency-cam evaluate DATA --model a --model b ...``):
one row per model, the eight metrics of the saliency benchmarks (AUC-J, SIM, EMD, AUC-B,
sAUC, CC, NSS, KL) plus information gain and the model's frames per second at its
input size. Each row is that model's single-model
:class:`~saliency_cam.realtime.evaluate.scoring.EvaluationReport`, scored exactly as
``evaluate --model NAME`` scores it (same seed, same splits): the table only lays the
means side by side.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saliency_cam.realtime.evaluate.scoring import LOWER_IS_BETTER, EvaluationReport

#: The columns, in the order of the benchmark tables (metric key, header).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("auc_judd", "AUC-J"),
    ("sim", "SIM"),
    ("emd", "EMD"),
    ("auc_borji", "AUC-B"),
    ("auc_shuffled", "sAUC"),
    ("cc", "CC"),
    ("nss", "NSS"),
    ("kld", "KL"),
    ("info_gain", "IG"),
)


@dataclass
class ComparisonRow:
    """One model's report and its speed (:func:`measure_fps`)."""

    name: str
    report: EvaluationReport
    fps: float

    def means(self) -> dict[str, float]:
        """Mean of every column's metric (NaN where not computed)."""
        summary = self.report.summary()
        return {key: summary[key].mean if key in summary else math.nan for key, _ in COLUMNS}


def measure_fps(session: Any, seconds: float = 0.5, min_frames: int = 3) -> float:
    """Maps per second of ``session`` at its preset's input size (a grey frame, after one
    warm-up run): the speed column, measured the same way for every model and mode."""
    import time

    import numpy as np

    frame = np.full((*session.size, 3), 126, np.uint8)
    session.predict(frame)
    frames, started = 0, time.perf_counter()
    while frames < min_frames or time.perf_counter() - started < seconds:
        session.predict(frame)
        frames += 1
    return frames / (time.perf_counter() - started)


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def to_dict(rows: list[ComparisonRow]) -> dict[str, Any]:
    """The table as plain data (NaN → None), what ``--json`` writes."""
    return {
        "tool": "saliency-cam evaluate (comparison)",
        "columns": [header for _, header in COLUMNS] + ["FPS"],
        "lower_is_better": [header for key, header in COLUMNS if key in LOWER_IS_BETTER],
        "models": [
            {
                "name": row.name,
                "model": row.report.model,
                "trained": row.report.trained,
                "images": {"scored": len(row.report.scored), "failed": len(row.report.failed)},
                "metrics": {key: _number(v) for key, v in row.means().items()},
                "fps": _number(row.fps),
            }
            for row in rows
        ],
        "settings": rows[0].report.settings if rows else {},
    }


def _cell(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "n/a"


def table_rows(rows: list[ComparisonRow]) -> list[list[str]]:
    """Header and one text row per model."""
    header = ["model"] + [h for _, h in COLUMNS] + ["FPS"]
    body = [
        [row.name] + [_cell(v) for v in row.means().values()] + [_cell(row.fps, 1)] for row in rows
    ]
    return [header, *body]


def to_csv(rows: list[ComparisonRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["model"] + [key for key, _ in COLUMNS] + ["fps"]
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.name] + [repr(v) for v in row.means().values()] + [repr(row.fps)])
    return buffer.getvalue()


def to_markdown(rows: list[ComparisonRow]) -> str:
    header, *body = table_rows(rows)
    lines = [
        "# Saliency models compared",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    lower = ", ".join(h for k, h in COLUMNS if k in LOWER_IS_BETTER)
    lines += [
        "",
        f"Lower is better for {lower}; higher for the others. "
        "FPS: maps per second at each model's input size, one process.",
    ]
    untrained = [row.name for row in rows if row.report.trained is False]
    if untrained:
        lines += ["", f"**UNTRAINED (random weights): {', '.join(untrained)}.**"]
    return "\n".join(lines) + "\n"


def plot(rows: list[ComparisonRow], path: Path) -> None:
    """One bar chart per column (models as bars), written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from saliency_cam.models.atomic import atomic_output

    columns = [*COLUMNS, ("fps", "FPS")]
    figure, axes = plt.subplots(2, 5, figsize=(15, 6))
    for axis, (key, header) in zip(axes.ravel(), columns, strict=True):
        values = [row.fps if key == "fps" else row.means()[key] for row in rows]
        axis.bar(range(len(rows)), [v if math.isfinite(v) else 0 for v in values])
        axis.set_xticks(range(len(rows)), [row.name for row in rows], rotation=30, ha="right")
        better = "lower" if key in LOWER_IS_BETTER else "higher"
        axis.set_title(f"{header} ({better} is better)", fontsize=9)
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)


def print_table(rows: list[ComparisonRow], console: Any) -> None:
    """The table on a rich console."""
    from rich.table import Table

    header, *body = table_rows(rows)
    table = Table(title="Saliency models compared")
    for name in header:
        table.add_column(name, justify="left" if name == "model" else "right", no_wrap=True)
    for cells in body:
        table.add_row(*cells)
    # wider than a narrow terminal rather than headers broken over lines
    needed = (
        sum(max(len(c) for c in column) + 3 for column in zip(*[header, *body], strict=True)) + 1
    )
    if needed > console.width:
        from rich.console import Console

        console = Console(file=console.file, width=needed)
    console.print(table)


def write_comparison(
    rows: list[ComparisonRow],
    *,
    csv_path: Path | None = None,
    json_path: Path | None = None,
    markdown: Path | None = None,
    plot_path: Path | None = None,
) -> list[Path]:
    """Write the wanted files atomically; return the paths written."""
    from saliency_cam.models.atomic import atomic_write_text

    written = []
    for path, text in (
        (csv_path, to_csv),
        (json_path, lambda r: json.dumps(to_dict(r), indent=2) + "\n"),
        (markdown, to_markdown),
    ):
        if path is not None:
            atomic_write_text(path, text(rows))
            written.append(path)
    if plot_path is not None:
        plot(rows, plot_path)
        written.append(plot_path)
    return written
