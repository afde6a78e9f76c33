"""Training throughput (images/s) of MSI-Net on this machine: the project's training step
(:mod:`saliency_cam.export.training.trainer`: GradientTape + Adam on the KLD loss),
fp32, on random inputs at the given sizes, with and without XLA (``jit_compile``), and
the time per SALICON epoch (10 000 images) it implies.

    python benchmarks/train_speed.py --size 48x64 --size 120x160 --size 240x320 \\
        --batch 1 --batch 8 --steps 5 --json benchmarks/results/train_speed_cpu.json

Only the step is timed (the data pipeline prefetches in parallel threads); the first
two steps (tracing, XLA compilation) are excluded. Random weights: speed only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure(height: int, width: int, batch: int, steps: int, jit: bool) -> dict:
    import numpy as np
    import tensorflow as tf

    from saliency_cam.export.training.loss import kld
    from saliency_cam.export.training.trainer import TrainConfig, build_model

    config = TrainConfig(size=(height, width), batch_size=batch, jit_compile=jit)
    model = build_model(config, {}, seed=0)
    import keras

    optimizer = keras.optimizers.Adam(1e-5)
    variables = model.trainable_variables
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (batch, height, width, 3)).astype(np.float32))
    maps = tf.constant(rng.uniform(0, 1, (batch, height, width, 1)).astype(np.float32))

    @tf.function(jit_compile=jit)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = kld(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    for _ in range(2):
        float(step(images, maps))
    started = time.perf_counter()
    for _ in range(steps):
        float(step(images, maps))
    seconds = (time.perf_counter() - started) / steps
    return {
        "size": f"{height}x{width}",
        "batch": batch,
        "jit_compile": jit,
        "seconds_per_step": round(seconds, 4),
        "images_per_second": round(batch / seconds, 3),
        "salicon_epoch_hours": round(10_000 * seconds / batch / 3600, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", default=[], help="HxW (repeatable)")
    parser.add_argument("--batch", action="append", type=int, default=[])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--jit", choices=("off", "on", "both"), default="both")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    jits = {"off": [False], "on": [True], "both": [False, True]}[args.jit]
    rows = []
    for size in args.size or ["48x64"]:
        height, width = (int(v) for v in size.split("x"))
        for batch in args.batch or [1]:
            for jit in jits:
                row = measure(height, width, batch, args.steps, jit)
                print(json.dumps(row), flush=True)
                rows.append(row)
    if args.json:
        import tensorflow as tf

        payload = {
            "machine": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__,
            "rows": rows,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
