"""A generated eye-tracking study for training tests: textured noise with one to three
coloured discs whose positions vary; the "viewers" fixate the discs (never the centre
by construction), so a model that learns finds them and a centre-bias map does not.

>>> make_disc_study(Path("study"), 24)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np


def make_disc_study(
    root: Path, count: int, size: tuple[int, int] = (96, 128), seed: int = 0
) -> Path:
    """``root/stimuli/img_NNN.png`` + ``root/fixations.csv`` (image,x,y,observer)."""
    rng = np.random.default_rng(seed)
    height, width = size
    (root / "stimuli").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        noise = rng.integers(40, 140, (height // 4, width // 4, 3)).astype(np.uint8)
        image = cv2.resize(noise, (width, height), interpolation=cv2.INTER_NEAREST)
        for _ in range(int(rng.integers(1, 4))):
            while True:  # keep discs off the centre so a centre prior cannot win
                cx, cy = int(rng.integers(12, width - 12)), int(rng.integers(12, height - 12))
                if abs(cx - width / 2) > width / 6 or abs(cy - height / 2) > height / 6:
                    break
            color = [int(c) for c in rng.integers(0, 80, 3)]
            color[int(rng.integers(0, 3))] = 255
            cv2.circle(image, (cx, cy), 9, color, -1)
            for observer in range(4):
                jitter = rng.normal(0, 2.0, 2)
                rows.append([f"img_{i:03d}.png", cx + jitter[0], cy + jitter[1], observer])
        cv2.imwrite(str(root / "stimuli" / f"img_{i:03d}.png"), image)
    with open(root / "fixations.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "x", "y", "observer"])
        writer.writerows(rows)
    return root
