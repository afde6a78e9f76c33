"""The training flows a user runs twice: ``--no-resume`` into a used run folder, and the
same command again after a run stopped early (TensorFlow, very_low, one step an epoch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.export.training.datasets.folder import read_folder  # noqa: E402
from saliency_cam.export.training.trainer import TrainConfig, fit  # noqa: E402

VERY_LOW = (48, 64)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """4 images: 3 train (one batch of 3: one step an epoch), 1 validates."""
    root = make_disc_study(tmp_path_factory.mktemp("tiny") / "discs", 4, seed=2)
    return read_folder(root), ([0, 1, 2], [3])


def test_no_resume_does_not_pass_the_old_runs_best_off_as_its_own(
    tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``train --no-resume`` stopped (--max-steps) before its first epoch ended has no
    best weights: the earlier run's best.weights.h5 was exported under the name ("best
    epoch -1"). The line says what to change (the same command again would not go on)."""
    from saliency_cam.realtime.cli.main import main

    data, split = tiny
    run = tmp_path / "run"
    config = TrainConfig(size=VERY_LOW, epochs=1, batch_size=3, sigma=4.0)
    assert fit(data, split, config, run).best_weights is not None
    assert (run / "history.json").is_file()
    models = tmp_path / "models"
    main(["train", str(data.root), "--init", "random", "-q", "very_low", "--seed", "9",
          "--run-dir", str(run), "--no-resume", "--max-steps", "1", "--name", "again",
          "--models-dir", str(models)])  # fmt: skip
    err = capsys.readouterr().err
    assert "trained 1 steps (0 epochs" in err
    assert "--max-steps 1 reached before the first epoch ended: nothing exported" in err
    assert not models.exists() or not list(models.glob("*.onnx"))
    assert not (run / "best.weights.h5").exists() and not (run / "history.json").exists()


def test_a_run_that_stopped_early_stays_stopped_when_run_again(tiny, tmp_path: Path) -> None:
    """Early stop, then the same command again (e.g. after Ctrl-C in the export): no
    extra epoch is trained and the history is unchanged."""
    data, split = tiny
    run = tmp_path / "run"
    # lr 0: the validation loss never improves after epoch 1, so patience 1 stops at 2
    config = TrainConfig(size=VERY_LOW, epochs=5, batch_size=3, lr=0.0, sigma=4.0, patience=1)
    first = fit(data, split, config, run)
    assert first.stopped_early and first.epochs_done == 2 and first.steps == 2
    history = json.loads((run / "history.json").read_text())
    again = fit(data, split, config, run)
    assert again.stopped_early and again.epochs_done == 2 and again.steps == 2
    assert json.loads((run / "history.json").read_text()) == history


def test_empty_images_and_misfit_maps_are_listed_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 0-byte stimulus (was: 'unexpected error: OpenCV ... !buf.empty()'), a saliency
    map of another aspect ratio (was: trained on shifted targets) and a fixation map of
    another size (was: refused only once training ran) are each listed up front."""
    import cv2
    import numpy as np

    from saliency_cam.realtime.cli.main import main

    root = make_disc_study(tmp_path / "data", 4, seed=3)  # stimuli are 96x128
    (root / "fixations.csv").unlink()
    (root / "saliency").mkdir()
    (root / "fixations").mkdir()
    blob = np.zeros((96, 128), np.uint8)
    blob[40:50, 60:70] = 255
    cv2.imwrite(str(root / "saliency" / "img_000.png"), blob)  # fine
    cv2.imwrite(str(root / "saliency" / "img_001.png"), cv2.resize(blob, (64, 48)))  # fine
    cv2.imwrite(str(root / "saliency" / "img_002.png"), blob[:50])  # another aspect
    cv2.imwrite(str(root / "fixations" / "img_003.png"), cv2.resize(blob, (64, 48)))
    (root / "stimuli" / "img_004.png").write_bytes(b"")
    cv2.imwrite(str(root / "saliency" / "img_004.png"), blob)
    with pytest.raises(SystemExit) as info:
        main(["train", str(root), "--init", "random", "--models-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "unexpected" not in err and "Traceback" not in err
    assert "3 problem(s)" in err and "nothing was trained" in err
    assert "saliency/img_002.png is 50x128 but img_002.png is 96x128" in err
    assert "fixations/img_003.png is 48x64 but img_003.png is 96x128" in err
    assert "stimuli/img_004.png" in err
    assert not (tmp_path / "m").exists()


def test_replace_forgets_the_old_models_other_precisions(tmp_path: Path) -> None:
    """``train --replace`` publishes new weights under the name: an int8 (or fp16) made
    from the old weights must not go on answering ``--model NAME --precision int8``."""
    import dataclasses
    import shutil

    import keras

    from saliency_cam.export.training.publish import publish
    from saliency_cam.export.training.trainer import save_weights
    from saliency_cam.models.manifest import Manifest
    from saliency_cam.models.msinet import build_msinet

    pytest.importorskip("tf2onnx")
    models = tmp_path / "models"
    weights = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        weights.append(save_weights(build_msinet(*VERY_LOW), tmp_path / f"w{seed}.weights.h5"))
    publish("study", weights[0], VERY_LOW, models_dir=models)
    # the old model's int8, as `export --model study --precision int8` registers it (a
    # copy of the fp32 file stands in for the quantized one: only its record matters)
    with Manifest.editing(models) as manifest:
        fp32 = manifest.find("study", "fp32")
        shutil.copyfile(fp32.path, models / "msinet_study_int8.onnx")
        manifest.put(dataclasses.replace(fp32, precision="int8", file="msinet_study_int8.onnx"))
    publish("study", weights[1], VERY_LOW, models_dir=models)  # new weights
    manifest = Manifest.load(models)
    assert manifest.find("study", "int8") is None
    assert not (models / "msinet_study_int8.onnx").exists()
    assert manifest.find("study", "fp32").weights != fp32.weights


def test_a_signal_during_validation_stops_after_the_epoch(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGTERM arriving while the last epoch validates: the epoch is kept and the
    run stops with 143 (it used to be ignored: the command went on to export as if not
    asked)."""
    import os
    import signal

    from saliency_cam.export.training import trainer

    data, split = tiny
    real_validate = trainer.validate

    def validate_with_sigterm(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # the moment: validation has begun
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(trainer, "validate", validate_with_sigterm)
    run = tmp_path / "run"
    config = TrainConfig(size=VERY_LOW, epochs=1, batch_size=3, sigma=4.0)
    with pytest.raises(trainer.TrainingInterrupted, match="after epoch 1") as stopped:
        fit(data, split, config, run)
    assert stopped.value.exit_code == 143  # SIGTERM's code (was 130 for any signal)
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 1 and state["step"] == 1 and len(state["history"]) == 1
    assert (run / "best.weights.h5").is_file()


def test_run_dir_that_is_a_file_and_missing_init_path_are_one_line(
    tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--run-dir naming a file was 'unexpected FileExistsError'; a missing --init-path
    was reported as '... check --weights-path' (an option train does not have)."""
    from saliency_cam.realtime.cli.main import main

    data, _ = tiny
    base = ["train", str(data.root), "-q", "very_low", "--models-dir", str(tmp_path / "m")]
    taken = tmp_path / "a_file"
    taken.write_text("not a folder")
    with pytest.raises(SystemExit) as info:
        main([*base, "--init", "random", "--run-dir", str(taken)])
    err = capsys.readouterr().err
    assert info.value.code != 0 and "unexpected" not in err
    assert f"cannot use {taken} as the run folder" in err and "--run-dir" in err
    with pytest.raises(SystemExit) as info:
        main([*base, "--init", "salicon", "--init-path", str(tmp_path / "nope.pb")])
    err = capsys.readouterr().err
    assert info.value.code != 0 and "--init-path" in err and "--weights-path" not in err
    assert taken.read_text() == "not a folder"
