"""How close saliency-cam's classical models are to OpenCV contrib's ``cv2.saliency``
(spectral residual, fine-grained static saliency), on the bundled sample pictures at
every quality's size: CC and the largest absolute difference of the peak-normalised maps.

saliency-cam does not depend on opencv-contrib (``scenedetect`` requires
``opencv-python``, and the two packages overwrite each other's ``cv2``); to run this,
put a contrib build on the path only for this script, e.g.::

    pip download --no-deps opencv-contrib-python-headless -d /tmp/w
    pip install --no-deps --target /tmp/contrib /tmp/w/opencv_contrib_python_headless-*.whl
    PYTHONPATH=/tmp/contrib python benchmarks/classical_vs_opencv_contrib.py \\
        --out benchmarks/results/classical_vs_opencv_contrib.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.models.registry import QUALITY_PRESETS
from saliency_cam.realtime.runtime.backends.classical import fine_grained, spectral_residual

ASSETS = Path(__file__).resolve().parents[1] / "models" / "assets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not hasattr(cv2, "saliency"):
        raise SystemExit("cv2.saliency is missing: put an opencv-contrib build on PYTHONPATH")
    pairs = {
        "spectral-residual": (
            spectral_residual,
            cv2.saliency.StaticSaliencySpectralResidual_create(),
        ),
        "fine-grained": (fine_grained, cv2.saliency.StaticSaliencyFineGrained_create()),
    }
    rows = []
    for picture_path in sorted(ASSETS.glob("*.jpg")):
        picture = cv2.imread(str(picture_path))
        for preset in QUALITY_PRESETS.values():
            frame = cv2.resize(picture, (preset.width, preset.height), interpolation=cv2.INTER_AREA)
            for name, (ours, theirs) in pairs.items():
                _, reference = theirs.computeSaliency(frame)
                reference = reference.astype(np.float64)
                reference /= max(reference.max(), 1e-12)
                mine = ours(frame).astype(np.float64)
                rows.append(
                    {
                        "model": name,
                        "picture": picture_path.name,
                        "preset": preset.name,
                        "cc": float(np.corrcoef(reference.ravel(), mine.ravel())[0, 1]),
                        "max_abs": float(np.abs(reference - mine).max()),
                    }
                )
    summary = {
        name: {
            "min_cc": min(r["cc"] for r in rows if r["model"] == name),
            "max_abs": max(r["max_abs"] for r in rows if r["model"] == name),
        }
        for name in pairs
    }
    result = {"opencv": cv2.__version__, "summary": summary, "rows": rows}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
