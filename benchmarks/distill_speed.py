"""Distillation speed: how long a lite student takes, from ``--init random`` at very_low,
to reach held-out CC 0.9 against a teacher it has never seen, and the images/s of the
teacher pass and of training.

The teacher is the tests' ONNX graph whose map is a fixed function of the image
(tests/support/teacher_model.py: weighted colour brightness, blurred, min-max
normalised), registered in a scratch models folder; the images are generated scenes.
Training runs through the project's ``train`` (what ``saliency-cam train --teacher
blur --arch lite`` runs); each epoch's held-out CC (the validation split, images not
trained on) and its wall time since the start (teacher pass included) are recorded, and
the exported best student is scored on fresh scenes used neither for training nor
validation. ``seconds_to_target`` is the wall time of the first epoch at CC >= target.

    python benchmarks/distill_speed.py --images 400 --epochs 30 \\
        --json benchmarks/results/distill_speed_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent


def main() -> None:
    """Distil in a scratch folder; print the result and write it to ``--json``."""
    args = parse_args()
    sys.path.insert(0, str(HERE.parent / "tests" / "support"))  # the teacher, the scenes
    with tempfile.TemporaryDirectory(prefix="distill-speed-") as scratch:
        result = distill(args, Path(scratch))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--held-out", type=int, default=32)
    parser.add_argument("--quality", default="very_low")
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--json", type=Path)
    return parser.parse_args()


def distill(args: argparse.Namespace, root: Path) -> dict[str, object]:
    """Register the teacher under ``root``, train the student from random weights,
    score the best one on fresh scenes; the result JSON."""
    import numpy as np
    from teacher_model import register_teacher, scenes, write_scenes

    from saliency_cam.export.training import train
    from saliency_cam.models import metrics
    from saliency_cam.models.registry import arch_presets
    from saliency_cam.realtime.runtime.session import open_session

    models = root / "models"
    register_teacher(models, "blur", arch_presets("lite")[args.quality])
    data = write_scenes(root / "images", args.images, seed=1)
    fresh = scenes(args.held_out, seed=4242)  # neither trained on nor validated on
    teacher = open_session("blur", "fp32", "cpu", models)
    truth = [teacher.predict(image) for image in fresh]
    console = _TimedConsole()
    began = time.perf_counter()
    outcome = train(
        data, name="student", teacher="blur", arch="lite", quality=args.quality,
        init="random", epochs=args.epochs, models_dir=models, run_dir=root / "run",
        console=console,
    )  # fmt: skip
    wall = time.perf_counter() - began
    student = open_session("student", "fp32", "cpu", models)
    cc = float(
        np.mean([metrics.cc(student.predict(i), t) for i, t in zip(fresh, truth, strict=True)])
    )
    rows = epoch_rows(outcome.run.history, console.epoch_times(began))
    first = next((r for r in rows if r["val_cc"] >= args.target), None)
    card = json.loads((models / "user" / "student" / "card.json").read_text())
    return {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "quality": args.quality,
        "images": args.images,
        "teacher_pass": card.get("teacher"),
        "train_images_per_second": round(outcome.run.images_per_second, 2),
        "wall_seconds": round(wall, 1),
        "target_cc": args.target,
        "seconds_to_target": first["wall_seconds"] if first else None,
        "epoch_of_target": first["epoch"] if first else None,
        "fresh_scenes_cc_of_best": round(cc, 4),
        "epochs": rows,
    }


def epoch_rows(history: list[dict], times: dict[int, float]) -> list[dict[str, float]]:
    """Per epoch: its wall time since the start (from the printed lines), held-out CC
    and KLD."""
    return [
        {
            "epoch": row["epoch"],
            "wall_seconds": times.get(int(row["epoch"])),
            "val_cc": round(row["val_cc"], 4),
            "val_kld": round(row["val_kld"], 4),
        }
        for row in history
    ]


class _TimedConsole:
    """A rich Console on stderr that notes when each epoch's summary line was printed."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True)
        self.is_terminal = self._console.is_terminal
        self.lines: list[tuple[float, str]] = []

    def __getattr__(self, name: str):
        return getattr(self._console, name)

    def print(self, *objects, **kwargs) -> None:
        self.lines.append((time.perf_counter(), " ".join(str(o) for o in objects)))
        self._console.print(*objects, **kwargs)

    def epoch_times(self, began: float) -> dict[int, float]:
        out = {}
        for stamp, text in self.lines:
            if text.startswith("epoch "):
                out[int(text.split()[1])] = round(stamp - began, 1)
        return out


if __name__ == "__main__":
    main()
