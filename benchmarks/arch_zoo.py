"""The architectures side by side: parameters and GFLOPs per frame at every quality
preset (from the registry's layer tables, no TensorFlow needed), and training
throughput (images/s) of each architecture's trainer step on this machine.

The training steps run interleaved, one step of each architecture in turn, in one
process, so load from other work hits them alike (the ratio is fair even when the
absolute numbers are not); each figure is the median of its timed steps, after two
untimed ones (tracing). Each architecture trains with its default loss (MSI-Net: kld,
ML-Net: nmse plus its prior's regulariser). Random weights and inputs: speed only.

    python benchmarks/arch_zoo.py --case 48x64x2 --steps 5 \\
        --json benchmarks/results/arch_zoo_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cost_table() -> dict:
    """``{arch: {"parameters": n, "gflops": {preset: GFLOPs}}}`` for every architecture."""
    from saliency_cam.models.architectures import ARCHITECTURES
    from saliency_cam.models.registry import QUALITY_PRESETS

    table = {}
    for name, arch in ARCHITECTURES.items():
        table[name] = {
            "title": arch.title,
            "parameters": arch.parameters,
            "gflops": {
                preset: round(arch.gflops(*QUALITY_PRESETS[preset].size), 3)
                for preset in arch.presets
            },
        }
    return table


def _train_steps(height: int, width: int, batch: int, archs: list[str]) -> dict:
    """One compiled trainer step per architecture on the same random batch."""
    import keras
    import numpy as np
    import tensorflow as tf

    from saliency_cam.export.training.loss import loss_fn
    from saliency_cam.export.training.trainer import TrainConfig, build_model, make_train_step
    from saliency_cam.models.architectures import get_architecture

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (batch, height, width, 3)).astype(np.float32))
    maps = tf.constant(rng.uniform(0, 1, (batch, height, width, 1)).astype(np.float32))
    runs = {}
    for name in archs:
        loss = get_architecture(name).default_loss
        config = TrainConfig(size=(height, width), batch_size=batch, arch=name, loss=loss)
        model = build_model(config, {}, seed=0)
        step = make_train_step(model, keras.optimizers.Adam(1e-5), loss_fn(loss))
        runs[name] = lambda step=step: float(step(images, maps))
    return runs


def measure(height: int, width: int, batch: int, steps: int, archs: list[str]) -> dict:
    runs = _train_steps(height, width, batch, archs)
    for run in runs.values():  # tracing, untimed
        run()
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(steps):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    row: dict = {"size": f"{height}x{width}", "batch": batch, "load_average": os.getloadavg()}
    for name, values in times.items():
        seconds = statistics.median(values)
        row[name] = {
            "seconds_per_step": round(seconds, 3),
            "images_per_second": round(batch / seconds, 3),
            "steps": [round(v, 3) for v in values],
        }
    if "msinet" in row:
        for name in runs:
            if name != "msinet":
                row[f"{name}_vs_msinet"] = round(
                    row["msinet"]["seconds_per_step"] / row[name]["seconds_per_step"], 2
                )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", default=[], help="HxWxBATCH (repeatable)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per architecture")
    parser.add_argument("--arch", action="append", default=[], help="default: all")
    parser.add_argument("--no-train", action="store_true", help="the cost table only")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from saliency_cam.models.architectures import ARCHITECTURES

    payload: dict = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "command": "python benchmarks/arch_zoo.py "
        + " ".join(f"--case {c}" for c in args.case)
        + f" --steps {args.steps}"
        + "".join(f" --arch {a}" for a in args.arch)
        + (" --no-train" if args.no_train else ""),
        "cost": cost_table(),
        "training": [],
    }
    print(json.dumps(payload["cost"], indent=2), flush=True)
    if not args.no_train:
        import tensorflow as tf

        payload["tensorflow"] = tf.__version__
        for case in args.case or ["48x64x2"]:
            height, width, batch = (int(v) for v in case.split("x"))
            row = measure(height, width, batch, args.steps, args.arch or list(ARCHITECTURES))
            print(json.dumps(row), flush=True)
            payload["training"].append(row)
    if args.json:
        tmp = args.json.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
