"""``saliency-cam export --model NAME [--precision int8]`` re-exports a trained user
model's ONNX variants from its stored ``.weights.h5`` through the export path (parity
check included); a missing variant's error names that command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.export.training.datasets.folder import read_folder  # noqa: E402
from saliency_cam.export.training.publish import publish  # noqa: E402
from saliency_cam.export.training.splits import fraction_split  # noqa: E402
from saliency_cam.export.training.trainer import TrainConfig, fit  # noqa: E402
from saliency_cam.models.manifest import Manifest  # noqa: E402
from saliency_cam.realtime.cli.main import main  # noqa: E402

NAME = "tiny"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A user model trained for two steps at very_low (6 images, batch 3), published."""
    base = tmp_path_factory.mktemp("user_export")
    root = make_disc_study(base / "discs", 8, seed=3)
    data = read_folder(root)
    config = TrainConfig(size=(48, 64), epochs=1, batch_size=3, lr=1e-4, metric_images=2)
    result = fit(data, fraction_split(len(data.samples), 0.25), config, base / "run")
    assert result.steps == 2 and result.best_weights is not None
    models = base / "models"
    publish(NAME, result.best_weights, (48, 64), models_dir=models)
    return models, root / "stimuli" / "img_000.png"


def _image(models: Path, image: Path, out: Path, precision: str) -> None:
    main(["image", str(image), "--model", NAME, "--precision", precision,
          "--models-dir", str(models), "-o", str(out)])  # fmt: skip


def test_int8_of_a_user_model_is_exported_from_its_weights(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models, image = trained
    fp32 = Manifest.load(models).find(NAME, "fp32")
    fp32_mtime = fp32.path.stat().st_mtime_ns
    # not there yet: the error names the command that makes it
    with pytest.raises(SystemExit) as info:
        _image(models, image, tmp_path / "a", "int8")
    err = capsys.readouterr().err
    assert info.value.code != 0 and "Traceback" not in err
    assert f"saliency-cam export --model {NAME} --precision int8" in err

    main(["export", "--model", NAME, "--precision", "int8", "--models-dir", str(models)])
    int8 = Manifest.load(models).find(NAME, "int8")
    assert int8 is not None and int8.path.is_file()
    assert int8.weights["revision"] == fp32.weights["revision"]
    # the fp32 variant, from the same unchanged weights, was not exported again
    assert Manifest.load(models).find(NAME, "fp32").path.stat().st_mtime_ns == fp32_mtime

    _image(models, image, tmp_path / "b", "int8")
    import cv2

    saliency = cv2.imread(str(tmp_path / "b" / "img_000_saliency.png"), cv2.IMREAD_GRAYSCALE)
    assert saliency is not None and saliency.max() > saliency.min()


def test_forced_re_export_goes_through_the_parity_check(trained) -> None:
    models, _ = trained
    before = Manifest.load(models).find(NAME, "fp32")
    inode = before.path.stat().st_ino
    main(["export", "--model", NAME, "--force", "--models-dir", str(models)])
    after = Manifest.load(models).find(NAME, "fp32")
    assert after.path.stat().st_ino != inode  # written anew (temp file, then renamed)
    assert after.parity["max_abs"] <= 1e-4
    assert after.weights["revision"] == before.weights["revision"]
    card = json.loads((models / "user" / NAME / "card.json").read_text())
    assert card["name"] == NAME


def test_missing_weights_file_is_one_line(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models, _ = trained
    copy = tmp_path / "models"
    import shutil

    shutil.copytree(models, copy)
    (copy / "user" / NAME / f"{NAME}.weights.h5").unlink()
    with pytest.raises(SystemExit) as info:
        main(["export", "--model", NAME, "--force", "--models-dir", str(copy)])
    err = capsys.readouterr().err
    assert info.value.code != 0 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "no weights file" in lines[0] and "--replace" in lines[0]
    assert np.isfinite(Manifest.load(copy).find(NAME, "fp32").parity["max_abs"])
