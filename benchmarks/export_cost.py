"""What the first run costs: wall seconds and peak memory of exporting each quality on
its own (a fresh ``saliency-cam export`` process per quality, as a user's first
``-q`` run does), of the whole ``saliency-cam demo``, and the disk the models take.

    python benchmarks/export_cost.py --json benchmarks/results/export_cost.json

Peak memory is the child process's maximum resident set size as the kernel reports it
when the process ends (``os.wait4``), so it includes TensorFlow's import and everything
the export touched. Random weights (``--weights random``): the cost does not depend on
the weight values, and it runs offline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

QUALITIES = ("very_low", "low", "medium", "high", "very_high")


def cli() -> list[str]:
    """The saliency-cam entry point of this interpreter's environment."""
    found = shutil.which("saliency-cam", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "saliency_cam.realtime.cli.main"]


def run_measured(args: list[str]) -> dict[str, float]:
    """Run ``args``; its wall seconds and peak RSS (MiB). A failure stops the benchmark."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{stderr.decode(errors='replace')[-2000:]}")
    return {"seconds": round(seconds, 1), "peak_mib": round(usage.ru_maxrss / 1024, 1)}


def folder_mib(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-q", "--quality", action="append", choices=QUALITIES)
    parser.add_argument("--no-demo", action="store_true", help="skip the whole-demo run")
    parser.add_argument("--json", type=Path, help="write the results here")
    options = parser.parse_args()
    qualities = options.quality or list(QUALITIES)

    rows = []
    with tempfile.TemporaryDirectory(prefix="export-cost-") as tmp:
        for quality in qualities:
            folder = Path(tmp) / quality
            args = [*cli(), "export", "-q", quality, "--weights", "random"]
            row = {"quality": quality, **run_measured([*args, "--models-dir", str(folder)])}
            row["disk_mib"] = folder_mib(folder)
            rows.append(row)
            print(f"export {quality:9} {row['seconds']:6.1f} s  peak {row['peak_mib']:7.0f} MiB")
        demo = None
        if not options.no_demo:
            models, output = Path(tmp) / "demo-models", Path(tmp) / "demo-out"
            args = [*cli(), "demo", "--weights", "random", "--models-dir", str(models)]
            demo = run_measured([*args, "-o", str(output)])
            demo["models_disk_mib"] = folder_mib(models)
            print(
                f"demo (5 exports + pictures + clip) {demo['seconds']:.1f} s, "
                f"peak {demo['peak_mib']:.0f} MiB, models {demo['models_disk_mib']:.0f} MiB"
            )

    result = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "untrained": True,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_average_after": os.getloadavg(),
        },
        "exports": rows,
        "demo": demo,
    }
    if options.json:
        options.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
