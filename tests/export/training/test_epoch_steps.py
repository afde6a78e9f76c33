"""The epoch loop's bookkeeping without TensorFlow: what an epoch's validation loss does
to the best weights, the stale count and a plateau schedule's rate; the run folder's
state on resume and start-over. (The loop itself trains in test_training_*.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from saliency_cam.export.training.runstate import (
    BEST,
    STATE,
    RunState,
    open_run_folder,
    resumed_state,
)
from saliency_cam.export.training.trainer import TrainConfig, _Epochs
from saliency_cam.models.errors import SaliencyCamError


class Rate:
    """A learning-rate variable: read with numpy(), set with assign()."""

    def __init__(self, value: float) -> None:
        self.value = value

    def numpy(self) -> float:
        return self.value

    def assign(self, value: float) -> None:
        self.value = value


class Model:
    def save_weights(self, path: Path) -> None:
        Path(path).write_bytes(b"weights")


def epochs_for(run: Path, schedule: str) -> tuple[_Epochs, RunState, Rate]:
    rate = Rate(0.01)
    trainee = SimpleNamespace(model=Model(), optimizer=SimpleNamespace(learning_rate=rate))
    state = RunState(epoch=3)
    config = TrainConfig(size=(48, 64), schedule=schedule)
    checkpoints = SimpleNamespace(run=run)  # the folder is all _keep_if_best reads
    epochs = _Epochs(None, ([0], [1]), config, state, trainee, checkpoints, None, None)
    return epochs, state, rate


def test_a_better_loss_keeps_the_weights_and_a_worse_one_halves_a_plateau_rate(
    tmp_path: Path,
) -> None:
    epochs, state, rate = epochs_for(tmp_path, "plateau")
    assert epochs._keep_if_best({"val_loss": 1.0})
    assert (state.best_val_loss, state.best_epoch, state.stale_epochs) == (1.0, 4, 0)
    assert (tmp_path / BEST).read_bytes() == b"weights"
    (tmp_path / BEST).unlink()
    assert not epochs._keep_if_best({"val_loss": 1.0})  # equal is no better
    assert not epochs._keep_if_best({"val_loss": 2.0})
    assert (state.best_val_loss, state.best_epoch, state.stale_epochs) == (1.0, 4, 2)
    assert rate.value == pytest.approx(0.0025) and not (tmp_path / BEST).exists()
    assert epochs._keep_if_best({"val_loss": 0.5}) and state.stale_epochs == 0


def test_other_schedules_keep_their_rate(tmp_path: Path) -> None:
    epochs, state, rate = epochs_for(tmp_path, "constant")
    epochs._keep_if_best({"val_loss": 1.0})
    epochs._keep_if_best({"val_loss": 2.0})
    assert state.stale_epochs == 1 and rate.value == 0.01


class Console:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def print(self, line: str, markup: bool = True) -> None:
        self.lines.append(line)


def test_resume_checks_the_settings_and_start_over_clears_the_run(tmp_path: Path) -> None:
    run = open_run_folder(tmp_path / "run")
    config = TrainConfig(size=(48, 64), epochs=2)
    out = Console()
    assert resumed_state(run, config, True, out) is None  # nothing there: a fresh run
    RunState(epoch=2, config=config.identity()).save(run / STATE)
    (run / BEST).write_bytes(b"old")
    assert resumed_state(run, config, True, out).epoch == 2
    assert out.lines == [f"{run}: all 2 epochs already done"]
    with pytest.raises(SaliencyCamError, match=r"other settings \(seed 0 → 1\)"):
        resumed_state(run, TrainConfig(size=(48, 64), epochs=2, seed=1), True, out)
    assert json.loads((run / STATE).read_text())["best_val_loss"] is None  # inf, saved
    assert resumed_state(run, TrainConfig(size=(48, 64), seed=1), False, out) is None
    assert not (run / STATE).exists() and not (run / BEST).exists()


def test_a_run_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    taken = tmp_path / "a_file"
    taken.write_text("x")
    with pytest.raises(SaliencyCamError, match="choose another --run-dir"):
        open_run_folder(taken)
