"""Benchmark reports: a table on screen, JSON, Markdown and a plot, for one result or for
several merged (``--compare``: FPS across machines).

A single result is treated as a comparison of one, so every report looks the same; the
machine column appears once there is more than one machine.

>>> merged = merge_results([("a.json", result_a), ("b.json", result_b)])  # doctest: +SKIP
>>> write_markdown(merged, Path("bench.md"))                              # doctest: +SKIP
>>> write_plot(merged, Path("bench.png"))                                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from saliency_cam.models.atomic import atomic_output, atomic_write_text
from saliency_cam.models.errors import InputError
from saliency_cam.models.manifest import PRECISIONS
from saliency_cam.models.registry import QUALITY_ORDER
from saliency_cam.realtime.bench.hardware import machine_label
from saliency_cam.realtime.bench.runner import SCHEMA, UNTRAINED_NOTE
from saliency_cam.realtime.bench.summary import summarize

Result = dict[str, Any]


class NotABenchResult(InputError):
    """A readable file that is not a ``saliency-cam bench`` result (other JSON, or not
    JSON at all): ``--compare`` skips it, naming it."""


def load_result(path: str | os.PathLike[str]) -> Result:
    """Read a benchmark JSON file, checking it is one (schema and fields)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"no benchmark result at {path}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotABenchResult(f"{path} is not a readable JSON file: {exc}") from exc
    except OSError as exc:
        raise InputError(f"{path} is not readable: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise NotABenchResult(
            f"{path} is not a saliency-cam benchmark result (schema {found!r}, "
            f"expected {SCHEMA!r}): make it with 'saliency-cam bench --json FILE'"
        )
    for key in ("fingerprint", "results"):
        if key not in data:
            raise InputError(f"{path}: benchmark result without {key!r}; it is damaged")
    return data


def load_results(
    paths: list[str | os.PathLike[str]], skipped: list[Path] | None = None
) -> list[tuple[str, Result]]:
    """The benchmark results among ``paths`` as ``(name, result)`` pairs for
    :func:`merge_results`. A file that is not a benchmark result (a folder of results
    also holds other scripts' JSON: ``benchmarks/results/*.json``) is left out and
    appended to ``skipped``; a missing, unreadable or damaged result is an error, and
    so is finding none (one file given: its own reason)."""
    out: list[tuple[str, Result]] = []
    left_out: list[Path] = []
    for path in paths:
        try:
            out.append((str(path), load_result(path)))
        except NotABenchResult:
            if len(paths) == 1:
                raise  # the only file named: its own reason is the clearer line
            left_out.append(Path(path))
    if skipped is not None:
        skipped.extend(left_out)
    if paths and not out:
        names = ", ".join(str(p) for p in left_out[:3])
        more = f" and {len(left_out) - 3} more" if len(left_out) > 3 else ""
        raise InputError(
            f"none of the files is a saliency-cam benchmark result ({names}{more}): "
            "make one with 'saliency-cam bench --json FILE'"
        )
    return out


def _label(result: Result) -> str:
    return result.get("label") or machine_label(result["fingerprint"])


def merge_results(sources: list[tuple[str, Result]]) -> Result:
    """Merge ``(name, result)`` pairs into one comparison.

    Each gets a machine label (its ``label`` or CPU/GPU description); results from
    different fingerprints with the same label get the fingerprint id appended, repeat
    runs on one machine a run number. Rows gain a ``machine`` field.
    """
    if not sources:
        raise InputError("nothing to compare: give one or more benchmark JSON files")
    machines: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    seen: dict[str, list[str]] = {}
    for name, result in sources:
        base = _label(result)
        fid = result["fingerprint"].get("id", "")
        ids = seen.setdefault(base, [])
        label = base
        if ids:
            label = f"{base} [{fid}]" if fid not in ids else f"{base} (run {len(ids) + 1})"
        ids.append(fid)
        machines.append(
            {
                "machine": label,
                "source": name,
                "created": result.get("created"),
                "untrained": result.get("untrained", True),
                "fingerprint": result["fingerprint"],
                "gemm": result.get("gemm", {}),
                "load_average_after": result.get("load_average_after"),
                "summary": result.get("summary") or summarize(result),
            }
        )
        rows.extend({**row, "machine": label} for row in result["results"])
    return {"schema": SCHEMA, "machines": machines, "results": rows}


def _series(row: dict[str, Any], *, with_backend: bool = False) -> str:
    """What a row measures, without the quality: ``cpu int8``, ``cpu fp32 pipeline``, …
    (``with_backend``: ``cpu openvino int8``, for the plot's legend)."""
    if row["runtime"] == "tensorflow":
        return f"{row['device']} TensorFlow"
    backend = f" {backend_of(row)}" if with_backend and backend_of(row) != "onnxruntime" else ""
    # the student says so (MSI-Net, the reference, stays unnamed as in older results)
    arch = "" if row.get("arch", "msinet") == "msinet" else f" {row['arch']}"
    text = f"{row['device']}{arch}{backend} {row['precision']}"
    if row["mode"] == "inference":
        return text
    reuse = row.get("reuse", 1)
    return f"{text} pipeline" + (f" reuse {reuse}" if reuse > 1 else "")


def _memory(row: dict[str, Any]) -> str:
    """Peak resident MiB of opening and running the model (what it added in brackets)."""
    peak = row.get("peak_rss_mib")
    if peak is None:
        return ""
    added = row.get("rss_added_mib")
    return f"{peak:.0f}" + (f" (+{added:.0f})" if added is not None else "")


#: Row order within a quality: onnxruntime, then OpenVINO, then TensorFlow.
RUNTIME_ORDER: tuple[str, ...] = ("onnxruntime", "openvino", "tensorflow")


def backend_of(row: dict[str, Any]) -> str:
    """The backend that ran a row (``runtime`` in results from before the column)."""
    return str(row.get("backend") or row["runtime"])


def _order(row: dict[str, Any]) -> tuple[int, bool, int, int, bool, int]:
    """Quality, then MSI-Net before the student, then backend (onnxruntime, OpenVINO,
    TensorFlow), then precision (fp32 first), each followed by its pipeline runs (every
    frame, then with map reuse)."""
    q, p, b = row["quality"], row["precision"], backend_of(row)
    quality = QUALITY_ORDER.index(q) if q in QUALITY_ORDER else len(QUALITY_ORDER)
    precision = PRECISIONS.index(p) if p in PRECISIONS else len(PRECISIONS)
    runtime = RUNTIME_ORDER.index(b) if b in RUNTIME_ORDER else len(RUNTIME_ORDER)
    student = bool(row.get("student"))
    pipeline = row["mode"] != "inference"
    return (quality, student, runtime, precision, pipeline, row.get("reuse", 1))


def _sorted_rows(merged: Result) -> list[dict[str, Any]]:
    machines = [m["machine"] for m in merged["machines"]]
    return sorted(
        merged["results"],
        key=lambda r: (machines.index(r["machine"]), r["device"], *_order(r)),
    )


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


def _notes(row: dict[str, Any]) -> str:
    if row["mode"] == "pipeline" and row.get("clip"):
        clip = row["clip"]
        text = f"video job, {clip['width']}x{clip['height']} clip, {clip['frames']} frames"
        if row.get("inference_fps"):
            ratio = row.get("end_to_end_vs_inference")
            text += f"; network alone {row['inference_fps']:.1f} FPS ({ratio:.0%} of it end to end)"
        if row.get("reuse", 1) > 1 and row.get("maps"):
            maps = row["maps"]
            text += f"; network ran on {maps['computed']}, {maps['propagated']} maps propagated"
            if row.get("reuse_vs_every_frame"):
                text += f", {row['reuse_vs_every_frame']:.2f}x the every-frame run"
        return text
    notes = []
    if row.get("arch", "msinet") != "msinet":
        notes.append(f"{row['model']} ({'trained' if row.get('trained') else 'UNTRAINED'})")
    own = row.get("peak_precision")
    if own and own != row.get("precision") and row.get("peak_fraction") is not None:
        notes.append(f"of the {own} peak (no {row.get('precision')} probe here)")
    if row.get("fidelity_cc") is not None:
        source = " measured here" if str(row.get("fidelity_source", "")).startswith("bench") else ""
        own = "" if row.get("arch", "msinet") == "msinet" else f" vs {row['arch']} fp32"
        notes.append(f"CC {row['fidelity_cc']:.4f}{own}{source}")
        if row.get("default_ok") is False:
            notes.append("below the 0.99 bar")
    if "cc_vs_msinet_fp32" in row:
        cross = row["cc_vs_msinet_fp32"]
        # null between untrained networks: a number there would mean nothing
        notes.append(
            f"CC vs MSI-Net fp32 {cross:.4f}"
            if cross is not None
            else "CC vs MSI-Net: n/a (UNTRAINED)"
        )
    return ", ".join(notes)


def table_rows(merged: Result, compact: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and string cells shared by the screen table (``compact``: fewer, narrower
    columns) and the Markdown table."""
    many = len(merged["machines"]) > 1
    if compact:  # the backend goes into "what" (cpu openvino int8): a screen is narrow
        header = ["quality", "what", "median/p90 ms", "FPS", "e2e/inf", "GFLOP/s", "of peak"]
        header += ["peak MiB", "notes"]
    else:
        header = ["quality", "input", "GFLOPs", "what", "backend", "median ms", "p90 ms", "FPS"]
        header += ["e2e/inf", "GFLOP/s", "of peak", "peak MiB", "notes"]
    header = (["machine"] if many else []) + header
    body = []
    for row in _sorted_rows(merged):
        # the GEMM peak compares arithmetic rates; a whole video job is not one
        peak = "" if row["mode"] == "pipeline" else _pct(row.get("peak_fraction"))
        # a pipeline row's FPS over its own network alone (same model, same rounds)
        ratio = row.get("end_to_end_vs_inference") if row["mode"] == "pipeline" else None
        e2e = "" if ratio is None else f"{ratio:.2f}"
        rates = [f"{row['fps']:.1f}", e2e, f"{row['effective_gflops']:.0f}", peak, _memory(row)]
        rates.append(_notes(row))
        backend = backend_of(row)
        if compact:
            cells = [row["quality"], _series(row, with_backend=True)]
            cells.append(f"{row['median_ms']:.1f}/{row['p90_ms']:.1f}")
        else:
            cells = [
                row["quality"],
                f"{row['height']}x{row['width']}",
                f"{row['gflops_per_frame']:.1f}",
                _series(row),
                backend,
                f"{row['median_ms']:.1f}",
                f"{row['p90_ms']:.1f}",
            ]
        body.append(([row["machine"]] if many else []) + cells + rates)
    return header, body


def _peak_text(device: str, gemm: dict[str, Any]) -> str:
    """``cpu fp32 410 GFLOP/s, int8 1650 GOP/s (openvino)`` for one device's peaks."""
    parts = [f"fp32 {gemm['gflops']:.0f} GFLOP/s"]
    for precision, peak in (gemm.get("precisions") or {}).items():
        parts.append(f"{precision} {peak['gflops']:.0f} GOP/s ({peak['backend']})")
    return f"{device} " + ", ".join(parts)


def _machine_lines(machine: dict[str, Any]) -> list[str]:
    fp = machine["fingerprint"]
    gpus = ", ".join(
        f"{g['name']} (driver {g['driver']}, {g['memory']})" for g in fp.get("gpus", [])
    )
    gemm = "; ".join(_peak_text(d, g) for d, g in machine["gemm"].items())
    load = fp.get("load_average")
    units = fp.get("cpu_units") or {}
    lines = [
        f"CPU: {fp.get('cpu')}, {fp.get('logical_cores')} cores, {fp.get('memory_gb')} GB, "
        f"features {' '.join(fp.get('cpu_features') or []) or 'n/a'}; "
        f"AMX: {units.get('amx') or 'no'}, int8 via {units.get('int8') or '?'}, "
        f"bf16 via {units.get('bf16') or 'no native unit'}",
        f"GPU: {gpus or 'none'}",
        f"Software: onnxruntime {fp.get('onnxruntime')}, "
        f"OpenVINO {fp.get('openvino') or 'not installed'}, OpenCV {fp.get('opencv')}, "
        f"NumPy {fp.get('numpy')}, TensorFlow {fp.get('tensorflow') or 'not installed'}, "
        f"Python {fp.get('python')}; providers {', '.join(fp.get('providers') or [])}",
        f"GEMM peaks (MatMul probes, same run): {gemm or 'not measured'}",
    ]
    if load:
        after = machine.get("load_average_after")
        lines.append(
            f"Load average: {load[0]} before, {after[0] if after else '?'} after "
            f"({fp.get('logical_cores')} cores: above that the machine was shared)"
        )
    return lines


#: Line width when stdout is not a terminal (piped, redirected): no screen to fit, so
#: every cell is printed whole (rich would cut the table at 80 columns).
PIPED_WIDTH = 10_000


def report_console() -> Any:
    """A rich console on stdout: the terminal's width there, else :data:`PIPED_WIDTH`."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPED_WIDTH)
    return console


def print_table(merged: Result, console: Any = None) -> None:
    """Print the results as a rich table, each machine's fingerprint, and the targets
    (full width, nothing cut, when stdout is not a terminal)."""
    from rich.table import Table

    console = console or report_console()
    for machine in merged["machines"]:
        console.print(f"[bold]{machine['machine']}[/bold]  ({machine['created']})")
        for line in _machine_lines(machine):
            console.print(f"  {line}", markup=False, highlight=False)
        if machine["untrained"]:
            console.print(f"  [yellow]{UNTRAINED_NOTE}[/yellow]")
    header, body = table_rows(merged, compact=True)
    table = Table(title="saliency-cam bench")
    for name in header:
        left = name in ("what", "notes")
        # "what" says which backend and precision: wrapped, never cut to "openv…"
        table.add_column(
            name, justify="left" if left else "right", overflow="fold" if left else "ellipsis"
        )
    for cells in body:
        table.add_row(*cells)
    console.print(table)


def markdown(merged: Result) -> str:
    """The report as Markdown: machines, the table and ratios (facts only: the project's
    own speed targets stay in the JSON summary)."""
    many = len(merged["machines"]) > 1
    out = ["# saliency-cam benchmark" + (": comparison" if many else ""), ""]
    if any(m["untrained"] for m in merged["machines"]):
        out += [f"> {UNTRAINED_NOTE}.", ""]
    for machine in merged["machines"]:
        out.append(f"## {machine['machine']}")
        out.append("")
        out.append(f"- Measured {machine['created']} ({machine['source']})")
        out += [f"- {line}" for line in _machine_lines(machine)]
        out.append("")
    header, body = table_rows(merged)
    out.append("## Results")
    out.append("")
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join("---" for _ in header) + "|")
    out += ["| " + " | ".join(cells) + " |" for cells in body]
    out.append("")
    out.append(
        "FPS = 1000 / median latency; GFLOP/s = the network's convolution cost per frame × FPS; "
        "'of peak' compares with the GEMM peak of the row's own precision timed in the same "
        "rounds (fp32: onnxruntime MatMul; int8/bf16: an OpenVINO MatMul probe, fp32's where "
        "OpenVINO is missing; notes say which); 'peak MiB' is "
        "the process's peak resident memory while opening that model and running 3 frames "
        "(in brackets: what that added); CC is against onnxruntime fp32 of the same network "
        "(from the models' manifest, or 'measured here' on held-out frames); 'lite' rows are "
        "the student network at the same preset, with its CC against MSI-Net fp32 on the same "
        "frames only where both are trained (n/a between random networks); 'e2e/inf' is a "
        "video job's FPS over its network alone; 'reuse N' runs the network on every N-th "
        "frame and propagates the map along the motion in between."
    )
    return "\n".join(out) + "\n"


def write_markdown(merged: Result, path: Path) -> Path:
    atomic_write_text(path, markdown(merged))
    return path


def write_plot(merged: Result, path: Path) -> Path:
    """Grouped bars: FPS per quality, one bar per machine × device/precision/mode, log
    scale (the qualities span ~25× in cost)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    many = len(merged["machines"]) > 1
    rows = _sorted_rows(merged)
    qualities = [q for q in QUALITY_ORDER if any(r["quality"] == q for r in rows)]

    def name(row: dict[str, Any]) -> str:
        return (f"{row['machine']}: " if many else "") + _series(row, with_backend=True)

    series = list(dict.fromkeys(name(r) for r in rows))
    fps = {(name(r), r["quality"]): r["fps"] for r in rows}
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(qualities) + 0.25 * len(series)), 4.8))
    x = np.arange(len(qualities))
    for i, name in enumerate(series):
        values = [fps.get((name, q), np.nan) for q in qualities]
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name)
        for bar, value in zip(bars, values, strict=True):
            if np.isfinite(value):
                ax.annotate(
                    f"{value:.0f}" if value >= 10 else f"{value:.1f}",
                    (bar.get_x() + bar.get_width() / 2, value),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    ax.set_yscale("log")
    ax.set_xticks(x, qualities)
    ax.set_ylabel("frames per second (log scale)")
    title = "saliency-cam: FPS per quality" + (" across machines" if many else "")
    if not many:
        title += f"\n{merged['machines'][0]['machine']}"
    if any(m["untrained"] for m in merged["machines"]):
        title += "  (UNTRAINED random weights; speed only)"
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2 if len(series) > 6 else 1)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
