"""ML-Net for real: ``train --arch mlnet --init random`` on a generated study whose
salient discs are never at the centre learns it (held-out CC ≥ 0.6 and ≥ 0.2 above a
centre-bias map), exports through the same manifest with ONNX parity ≤ 1e-4, and runs
with ``--model NAME`` in ``image`` and ``video``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from media_factory import make_clip  # noqa: E402
from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.realtime.cli.main import main  # noqa: E402

SIGMA = 8.0  # the 6x8 map of very_low is coarse: blobs this wide it can draw


def _centre_cc(root: Path) -> float:
    """CC of a centre-bias map with each held-out image's ground truth (the split the
    training used: the seeded 25 % fraction)."""
    from saliency_cam.export.training.datasets.folder import read_folder, target_map
    from saliency_cam.export.training.splits import fraction_split
    from saliency_cam.models import metrics

    data = read_folder(root)
    _, held_out = fraction_split(len(data.samples), 0.25)
    scores = []
    for index in held_out:
        truth = target_map(data.samples[index], SIGMA)
        scores.append(metrics.cc(metrics.center_bias_map(truth.shape), truth))
    return float(np.mean(scores))


def test_mlnet_learns_off_centre_discs_exports_and_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_disc_study(tmp_path / "discs", 40)
    models = tmp_path / "models"
    main(["train", str(root), "--arch", "mlnet", "--name", "discs-ml", "-q", "very_low",
          "--init", "random", "--epochs", "2", "--batch-size", "2",
          "--lr", "3e-4", "--val-split", "0.25", "--sigma", str(SIGMA),
          "--models-dir", str(models)])  # fmt: skip
    assert "saliency-cam --model discs-ml" in capsys.readouterr().out

    card = json.loads((models / "user" / "discs-ml" / "card.json").read_text())
    best, centre = card["best_validation"]["val_cc"], _centre_cc(root)
    print(f"held-out CC {best:.3f}, centre-bias CC {centre:.3f}")
    assert best >= 0.6 and best >= centre + 0.2
    assert card["arch"] == "mlnet" and card["architecture"]["title"] == "ML-Net"

    from saliency_cam import list_models, open_session
    from saliency_cam.models.manifest import Manifest

    variant = Manifest.load(models).find("discs-ml")
    assert variant.arch == "mlnet" and variant.file == "mlnet_discs-ml_fp32.onnx"
    assert variant.parity["max_abs"] <= 1e-4 and variant.parity["aspect_max_abs"] <= 1e-4
    entry = next(m for m in list_models(models) if m.name == "discs-ml")
    assert entry.arch == "mlnet" and entry.exported == ("fp32",) and entry.trained == {"fp32": True}
    session = open_session("discs-ml", models_dir=models)
    assert "ML-Net" in session.note

    # a held-out picture: the map's peak is on a disc, not at the centre
    image = root / "stimuli" / "img_039.png"
    main(["image", str(image), "--model", "discs-ml", "--models-dir", str(models),
          "-o", str(tmp_path / "maps")])  # fmt: skip
    saliency = cv2.imread(str(tmp_path / "maps" / "img_039_saliency.png"), cv2.IMREAD_GRAYSCALE)
    assert saliency.shape == (96, 128) and saliency.max() > saliency.min()

    frame = cv2.imread(str(image))
    clip = make_clip(tmp_path / "clip.mp4", 128, 96, 6, 10, picture=lambda _i: frame)
    out = tmp_path / "clip_saliency.mp4"
    main(["video", str(clip), "--model", "discs-ml", "--models-dir", str(models),
          "-o", str(out), "--device", "cpu", "--no-progress"])  # fmt: skip
    assert out.is_file() and out.stat().st_size > 0
