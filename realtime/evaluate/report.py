"""Render an :class:`~saliency_cam.realtime.evaluate.scoring.EvaluationReport`: per-image CSV,
summary JSON and Markdown, and the rich table ``saliency-cam evaluate`` prints.

Every rendering of results from an untrained (random-weight) model carries the
:data:`UNTRAINED_WARNING`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from saliency_cam.realtime.evaluate.scoring import (
    LOWER_IS_BETTER,
    EvaluationReport,
)

LABELS = {
    "auc_judd": "AUC-Judd",
    "auc_borji": "AUC-Borji",
    "auc_shuffled": "sAUC",
    "nss": "NSS",
    "cc": "CC",
    "sim": "SIM",
    "kld": "KLD",
    "info_gain": "IG",
    "emd": "EMD",
}
UNTRAINED_WARNING = (
    "UNTRAINED model (seeded random weights): these scores say nothing about MSI-Net; "
    "export trained weights with 'saliency-cam export' to evaluate it"
)
#: How many names each problem list shows on screen (all of them go to --json).
SCREEN_LIST = 10


def model_label(report: EvaluationReport) -> str:
    """'very_low fp32 (cpu) UNTRAINED', or 'predictions folder'."""
    if report.model is None:
        return "predictions folder"
    m = report.model
    label = f"{m.get('preset')} {m.get('precision')}"
    if m.get("provider"):
        label += f" ({m['provider']})"
    return label + ("" if report.trained else " UNTRAINED")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _source_word(report: EvaluationReport) -> str:
    return "stimulus" if report.settings.get("source") == "stimuli" else "prediction"


def problems(report: EvaluationReport) -> list[tuple[str, list[str]]]:
    """(headline, names) for every kind of file that was not scored as a whole."""
    m = report.matching
    word = _source_word(report)
    out = [
        (f"ground-truth files with no {word}", m.missing_source),
        (f"{word} files with no ground truth", m.missing_ground_truth),
        ("images with only fixations or only a saliency map", m.incomplete),
        ("names with several files", m.duplicates),
        ("files skipped for their extension", m.ignored),
        ("images that failed", [f"{r.key}: {r.error}" for r in report.failed]),
    ]
    return [(headline, names) for headline, names in out if names]


def missing_metric_notes(report: EvaluationReport) -> list[str]:
    """Why some metric families were not computed: their ground truth is missing (a
    family left out by ``--metrics`` needs no note)."""
    items = report.matching.items
    notes = []
    if not any(item.fixations for item in items):
        notes.append("AUC-Judd/AUC-Borji/sAUC/NSS/IG need fixations: pass --fixations DIR")
    if not any(item.saliency_map for item in items):
        notes.append("CC/SIM/KLD/EMD need continuous saliency maps: pass --maps DIR")
    return notes


def to_csv(report: EvaluationReport) -> str:
    """One row per matched image: size, fixation count, every metric, error."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "height", "width", "n_fixations", *report.metrics, "error", "model"])
    label = model_label(report)
    for r in report.results:
        scores = [
            "" if not math.isfinite(v := r.scores.get(name, math.nan)) else f"{v:.6g}"
            for name in report.metrics
        ]
        n_fix = "" if r.n_fixations is None else r.n_fixations
        writer.writerow([r.key, r.height, r.width, n_fix, *scores, r.error or "", label])
    return buffer.getvalue()


def to_dict(report: EvaluationReport) -> dict[str, Any]:
    """The summary as plain data (NaN → None), what ``--json`` writes."""
    m = report.matching
    summary = {
        name: {
            "mean": _finite(s.mean),
            "std": _finite(s.std),
            "n": s.n,
            "undefined": s.undefined,
            "higher_is_better": name not in LOWER_IS_BETTER,
        }
        for name, s in report.summary().items()
    }
    data: dict[str, Any] = {
        "tool": "saliency-cam evaluate",
        "model": report.model,
        "trained": report.trained,
    }
    if report.trained is False:
        data["warning"] = UNTRAINED_WARNING
    data.update(
        {
            "settings": report.settings,
            "images": {
                "matched": len(report.results),
                "scored": len(report.scored),
                "failed": len(report.failed),
            },
            "summary": summary,
            "failed": [{"image": r.key, "error": r.error} for r in report.failed],
            "missing_source": m.missing_source,
            "missing_ground_truth": m.missing_ground_truth,
            "incomplete": m.incomplete,
            "duplicates": m.duplicates,
            "ignored": m.ignored,
            "notes": missing_metric_notes(report),
        }
    )
    return data


def to_json(report: EvaluationReport) -> str:
    return json.dumps(to_dict(report), indent=2) + "\n"


def _mean_std(mean: float, std: float) -> str:
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:.3f} ± {std:.3f}" if math.isfinite(std) else f"{mean:.3f}"


def to_markdown(report: EvaluationReport) -> str:
    """A summary table (mean ± std per metric) with the model and any problems."""
    lines = ["# Saliency evaluation", ""]
    if report.trained is False:
        lines += [f"> **{UNTRAINED_WARNING}**", ""]
    lines += [
        f"Model: {model_label(report)}; images scored: {len(report.scored)} of "
        f"{len(report.results)} matched; seed {report.settings.get('seed')}, "
        f"IG baseline {report.settings.get('baseline')}.",
        "",
        "| metric | mean ± std | n | better |",
        "|---|---|---|---|",
    ]
    for name, s in report.summary().items():
        arrow = "lower" if name in LOWER_IS_BETTER else "higher"
        lines.append(f"| {LABELS[name]} | {_mean_std(s.mean, s.std)} | {s.n} | {arrow} |")
    for note in missing_metric_notes(report):
        lines += ["", f"Note: {note}."]
    for headline, names in problems(report):
        lines += ["", f"**{headline} ({len(names)}):**", ""]
        lines += [f"- `{name}`" for name in names]
    return "\n".join(lines) + "\n"


def print_report(report: EvaluationReport, console: Any, *, banner: bool = True) -> None:
    """Print the summary table, the UNTRAINED banner and problem lists to a rich console.
    ``banner=False``: the caller already showed the banner (before the scoring began),
    so it is not repeated; the table's caption and last line still say UNTRAINED."""
    from rich.markup import escape
    from rich.table import Table

    untrained = report.trained is False
    if untrained and banner:
        console.print(f"[bold white on red] {UNTRAINED_WARNING} [/]")
    table = Table(
        title=f"Saliency evaluation: {len(report.scored)} images",
        caption=f"model: {model_label(report)}",
        title_style="bold",
        caption_style="bold red" if untrained else "dim",
    )
    table.add_column("metric")
    table.add_column("mean ± std", justify="right")
    table.add_column("n", justify="right")
    table.add_column("better")
    for name, s in report.summary().items():
        arrow = "↓ lower" if name in LOWER_IS_BETTER else "↑ higher"
        table.add_row(LABELS[name], _mean_std(s.mean, s.std), str(s.n), arrow)
    console.print(table)
    for note in missing_metric_notes(report):
        console.print(f"[dim]note: {note}[/]")
    for headline, names in problems(report):
        shown = escape(", ".join(names[:SCREEN_LIST]))
        more = len(names) - SCREEN_LIST
        tail = f" (+{more} more; all in --json)" if more > 0 else ""
        console.print(f"[yellow]{headline} ({len(names)}):[/] {shown}{tail}")
    if untrained:
        console.print("[bold red]UNTRAINED: scores above come from random weights.[/]")


def write_reports(
    report: EvaluationReport,
    *,
    csv: Path | None = None,
    json: Path | None = None,
    markdown: Path | None = None,
) -> list[Path]:
    """Write the wanted report files atomically; return the paths written, in order."""
    from saliency_cam.models.atomic import atomic_write_text

    written = []
    for path, render in ((csv, to_csv), (json, to_json), (markdown, to_markdown)):
        if path is not None:
            atomic_write_text(path, render(report))
            written.append(path)
    return written
