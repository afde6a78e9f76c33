"""Training throughput (images/s) of MSI-Net on this machine: the issue's baseline step
(a plain GradientTape + Adam step of ``build_msinet(H, W)`` on the KLD loss) against the
project's trainer step (:func:`saliency_cam.export.training.trainer.make_train_step` on
:func:`~saliency_cam.export.training.trainer.build_model`: dilated convolutions by taps),
and optionally the trainer step under XLA, fp32, on random inputs.

The variants run interleaved, one step each in turn, in one process: on a machine shared
with other work the load hits them alike, so the ratio is fair even when the absolute
numbers are not. Each variant's time is the median of its steps; the first two steps of
each (tracing, XLA compilation) are not timed. The load average is recorded.

    python benchmarks/train_speed.py --case 48x64x8 --case 120x160x2 --case 240x320x1 \\
        --steps 3 --json benchmarks/results/train_speed_cpu.json

Random weights: speed only.
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

VARIANTS = ("baseline", "trainer", "trainer_xla")


def baseline_step(height: int, width: int):
    """The issue's baseline: a plain GradientTape + Adam step of ``build_msinet``, as a
    user would write it (Keras' dilated Conv2D, default graph, no XLA)."""
    import keras
    import tensorflow as tf

    from saliency_cam.export.training.loss import kld
    from saliency_cam.models.msinet import build_msinet

    keras.utils.set_random_seed(0)
    model = build_msinet(height, width)
    optimizer = keras.optimizers.Adam(1e-5)
    variables = model.trainable_variables

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = kld(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    return step


def trainer_step(height: int, width: int, batch: int, jit_compile: bool):
    """The trainer's own step on the trainer's own model (what ``fit`` runs)."""
    import keras

    from saliency_cam.export.training.loss import kld
    from saliency_cam.export.training.trainer import TrainConfig, build_model, make_train_step

    config = TrainConfig(size=(height, width), batch_size=batch, jit_compile=jit_compile)
    model = build_model(config, {}, seed=0)
    return make_train_step(model, keras.optimizers.Adam(1e-5), kld, jit_compile=jit_compile)


def _steps(height: int, width: int, batch: int, variants: list[str]) -> dict:
    """One compiled step per variant, each with its own model and optimiser, as
    argument-less callables on the same random batch."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (batch, height, width, 3)).astype(np.float32))
    maps = tf.constant(rng.uniform(0, 1, (batch, height, width, 1)).astype(np.float32))
    runs = {}
    for name in variants:
        if name == "baseline":
            step = baseline_step(height, width)
        else:
            step = trainer_step(height, width, batch, jit_compile=name == "trainer_xla")
        runs[name] = lambda step=step: float(step(images, maps))
    return runs


def measure(height: int, width: int, batch: int, steps: int, variants: list[str]) -> dict:
    runs = _steps(height, width, batch, variants)
    for run in runs.values():  # tracing / compilation, untimed
        run()
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(steps):
        for name, run in runs.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            run()
            times[name].append(time.perf_counter() - started)
            # CPU seconds of all this process's threads: less sensitive to other load
            cpu[name].append(time.process_time() - started_cpu)
    row: dict = {"size": f"{height}x{width}", "batch": batch, "load_average": os.getloadavg()}
    for name, values in times.items():
        seconds = statistics.median(values)
        row[name] = {
            "seconds_per_step": round(seconds, 3),
            "seconds_per_image": round(seconds / batch, 3),
            "images_per_second": round(batch / seconds, 3),
            "salicon_epoch_hours": round(10_000 * seconds / batch / 3600, 2),
            "steps": [round(v, 3) for v in values],
            "cpu_seconds_per_step": round(statistics.median(cpu[name]), 3),
        }
    if "baseline" in row:
        for name in runs:
            if name != "baseline":
                row[f"{name}_speedup"] = round(
                    row["baseline"]["seconds_per_step"] / row[name]["seconds_per_step"], 2
                )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", default=[], help="HxWxBATCH (repeatable)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant")
    parser.add_argument("--variant", action="append", choices=VARIANTS, default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import tensorflow as tf

    rows = []
    for case in args.case or ["48x64x8"]:
        height, width, batch = (int(v) for v in case.split("x"))
        row = measure(height, width, batch, args.steps, args.variant or list(VARIANTS[:2]))
        print(json.dumps(row), flush=True)
        rows.append(row)
        if args.json:  # written after each case: a long run keeps what it measured
            payload = {
                "machine": platform.processor() or platform.machine(),
                "cpus": os.cpu_count(),
                "tensorflow": tf.__version__,
                "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
                "command": "python benchmarks/train_speed.py "
                + " ".join(f"--case {c}" for c in args.case)
                + f" --steps {args.steps}"
                + "".join(f" --variant {v}" for v in args.variant),
                "rows": rows,
            }
            args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
