"""Stress check for issue 26 item 8: two SIGINTs 10 ms apart during ``saliency-cam
video`` must exit 130 with a playable ``*.partial.mp4``, never abort (134). Repeats the
run N times on a generated clip and prints each exit code (a benchmark: the abort was
rare, about 1 run in 25, so a unit test cannot show it is gone).

    python benchmarks/double_ctrl_c.py --models-dir DIR --runs 12
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from cli_process import partials, start_cli, wait_for  # noqa: E402
from media_factory import make_clip  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", required=True, help="holds very_low fp32")
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="double-ctrl-c-"))
    clip = make_clip(root / "long.mp4", 160, 120, 1500, 25)
    codes = []
    for _ in range(args.runs):
        for path in root.iterdir():
            if path != clip:
                path.unlink()
        command = ["video", str(clip), "-q", "very_low", "--models-dir", args.models_dir]
        process = start_cli([*command, "--device", "cpu", "--no-progress"], root)
        wait_for(lambda: any(p.stat().st_size > 0 for p in partials(root)), process, 120)
        process.send_signal(signal.SIGINT)
        time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
        codes.append(process.returncode)
        print(process.returncode, sorted(p.name for p in root.iterdir()), flush=True)
    print("exit codes:", codes)
    return 0 if all(code == 130 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
