"""``saliency-cam bench --compare`` on the README's glob, and the table's width when
stdout is not a terminal. Runs on the committed results in ``benchmarks/results/``
(real ``saliency-cam bench --json`` files next to other scripts' JSON)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from saliency_cam.models.atomic import write_json
from saliency_cam.realtime.bench.runner import SCHEMA
from saliency_cam.realtime.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "benchmarks" / "results"


def _is_bench_result(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("schema") == SCHEMA


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a child with stdout piped (not a terminal) and no COLUMNS set."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run(
        [sys.executable, "-m", "saliency_cam.realtime.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_compare_on_the_results_folder_skips_and_names_the_other_json(tmp_path: Path) -> None:
    """The README's ``saliency-cam bench --compare benchmarks/results/*.json``: that folder
    also holds other scripts' JSON; those are named on stderr and left out."""
    files = sorted(RESULTS.glob("*.json"))
    results = [p for p in files if _is_bench_result(p)]
    others = [p for p in files if not _is_bench_result(p)]
    assert results and others  # what makes the README's glob a test of skipping
    merged_json = tmp_path / "merged.json"
    done = _cli("bench", "--compare", *map(str, files), "--json", str(merged_json))
    assert done.returncode == 0, done.stderr
    merged = json.loads(merged_json.read_text())
    assert [m["source"] for m in merged["machines"]] == [str(p) for p in results]
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped")]
    names = ", ".join(str(p) for p in others)
    assert skipped == [f"skipped {len(others)} file(s) that are not benchmark results: {names}"]


def test_compare_errors_on_damaged_results_and_on_no_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged result was meant to be compared: an error, not a skip; files none of
    which is a result: one line naming them."""
    good = next(p for p in sorted(RESULTS.glob("*.json")) if _is_bench_result(p))
    damaged = write_json(tmp_path / "damaged.json", {"schema": SCHEMA})
    (tmp_path / "notes.json").write_text("{ not json")
    other = write_json(tmp_path / "other.json", [1, 2])
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--compare", str(good), str(damaged)])
    assert exit_info.value.code != 0 and "damaged" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--compare", str(tmp_path / "notes.json"), str(other)])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith("error: none of the files is a saliency-cam benchmark result")
    assert "notes.json" in err and "other.json" in err and err.count("\n") == 1


def test_piped_table_is_printed_full_width() -> None:
    """Piped (``| tee``, ``> file``), the table keeps every cell whole: rich cut it at
    80 columns ("very_l…", notes folded over many lines)."""
    result = next(p for p in sorted(RESULTS.glob("*.json")) if _is_bench_result(p))
    data = json.loads(result.read_text())
    done = _cli("bench", "--compare", str(result))
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("│")]
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in table]
    assert len(rows) == len(data["results"])  # one line per row: nothing wrapped
    assert "…" not in done.stdout
    assert max(len(line) for line in table) > 80
    qualities = [row[0] for row in rows]
    assert qualities == [r["quality"] for r in data["results"]]
