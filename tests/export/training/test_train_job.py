"""train()'s steps without TensorFlow: the run's settings from the user's options and
the network's defaults, and the card published with the model. (train() itself runs in
test_training_run.py, test_distill.py and test_mlnet_end_to_end.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from saliency_cam.export.training.job import model_card, train_config
from saliency_cam.export.training.runstate import TrainResult
from saliency_cam.models.architectures import get_architecture
from saliency_cam.models.errors import SaliencyCamError

SIZE = (48, 64)


def test_defaults_fill_only_what_the_user_left_out() -> None:
    options = {"lr": None, "epochs": 3}
    config = train_config(SIZE, "lite", None, options, distilling=False)
    assert (config.lr, config.batch_size, config.loss, config.epochs) == (2e-3, 8, "kld", 3)
    assert options == {"lr": None, "epochs": 3}  # the caller's dict is left as it was
    config = train_config(SIZE, "msinet", None, {"batch_size": 2}, distilling=True)
    assert (config.lr, config.batch_size, config.loss) == (1e-5, 2, "kld-cc")
    assert config.size == SIZE and config.arch == "msinet" and config.sigma is None


def test_an_original_dataset_without_maps_gets_its_sigma_unless_given() -> None:
    assert train_config(SIZE, "msinet", "fiwi", {}, distilling=False).sigma == 30.0
    assert train_config(SIZE, "msinet", "fiwi", {"sigma": 5.0}, distilling=False).sigma == 5.0
    assert train_config(SIZE, "msinet", "salicon", {}, distilling=False).sigma is None


def test_unknown_options_and_losses_are_refused() -> None:
    with pytest.raises(SaliencyCamError, match="unknown training option.*: colour, speed"):
        train_config(SIZE, "msinet", None, {"speed": 1, "colour": 2}, distilling=False)
    with pytest.raises(SaliencyCamError, match="nope"):
        train_config(SIZE, "msinet", None, {"loss": "nope"}, distilling=False)


def test_the_card_records_the_run_and_a_teachers_agreement() -> None:
    history = [
        {"epoch": 1, "val_loss": 0.9, "val_cc": 0.4, "val_kld": 1.2},
        {"epoch": 2, "val_loss": 0.5, "val_cc": 0.6, "val_kld": 0.8},
    ]
    result = TrainResult(
        Path("run"), Path("run/best.weights.h5"), 0.5, 2, steps=8, epochs_done=2,
        history=history, seconds=12.34, images_per_second=1.23456,
    )  # fmt: skip
    config = train_config(SIZE, "msinet", None, {}, distilling=False)
    network = get_architecture("msinet")
    common = {"dataset": None, "split": ([0, 1, 2], [3]), "init": "random (seed 0)"}
    card = model_card(
        network, config, result, data=Path("d"), skipped=[Path("d/x.png")], began=0.0,
        distilled={}, **common,
    )  # fmt: skip
    assert card["data"] == "d" and card["dataset"] == "" and card["arch"] == "msinet"
    assert card["images"] == {"train": 3, "validation": 1}
    assert card["unreadable_skipped"] == [str(Path("d/x.png"))]
    assert card["best_validation"] == history[1] and card["training_seconds"] == 12.3
    assert card["images_per_second"] == 1.235 and card["config"]["size"] == [48, 64]
    assert card["architecture"]["gflops"] == round(network.gflops(*SIZE), 3)
    assert "teacher" not in card and "distillation" not in card
    card = model_card(
        network, config, result, data="clips", skipped=[], began=0.0,
        distilled={"teacher": "blur"}, **common,
    )  # fmt: skip
    assert card["teacher"] == {"teacher": "blur"}
    assert card["distillation"]["held_out_cc"] == 0.6
