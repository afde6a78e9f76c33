"""A training run's folder and where the run stands: its state (``state.json``), the
resumable checkpoints (``latest/``), resuming or starting over, the stop flag that
Ctrl-C/SIGTERM raise, and the result handed back. Split from ``trainer.py`` (which
re-exports the public names), where the loop itself lives.

>>> run = open_run_folder("runs/a")                               # doctest: +SKIP
>>> state = resumed_state(run, config, resume=True, out=console)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_cam.models.atomic import atomic_write_text
from saliency_cam.models.errors import SaliencyCamError

if TYPE_CHECKING:
    from saliency_cam.export.training.trainer import TrainConfig

STATE = "state.json"
BEST = "best.weights.h5"
LATEST = "latest"
HISTORY_FILES = ("history.json", "history.csv", "history.png")


class TrainingInterrupted(SaliencyCamError):
    """Ctrl-C / SIGTERM: the latest state was saved; the same command resumes. Exits
    with the shell's code for the signal (130 Ctrl-C, 143 SIGTERM), as other commands do."""

    exit_code = 130

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.exit_code = 128 + int(signum)


@dataclass
class TrainResult:
    run_dir: Path
    best_weights: Path | None
    best_val_loss: float
    best_epoch: int
    steps: int
    epochs_done: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    images_per_second: float = 0.0
    stopped_early: bool = False


@dataclass
class RunState:
    epoch: int = 0
    batch_in_epoch: int = 0
    #: sum of this epoch's batch losses so far (the epoch's mean survives a resume)
    epoch_loss_sum: float = 0.0
    step: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = -1
    stale_epochs: int = 0
    lr: float = 0.0
    seconds: float = 0.0
    images: int = 0
    checkpoint: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> RunState | None:
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            if data.get("best_val_loss") is None:  # saved before any epoch ended (inf)
                data["best_val_loss"] = math.inf
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise SaliencyCamError(
                f"damaged training state {path} ({exc}): start over with --no-resume"
            ) from exc

    def save(self, path: Path) -> None:
        data = asdict(self)
        data["best_val_loss"] = None if math.isinf(self.best_val_loss) else self.best_val_loss
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")

    def result(self, run: Path, stopped_early: bool) -> TrainResult:
        """What the run reached, as :func:`~.trainer.fit` returns it."""
        best = run / BEST
        return TrainResult(
            run_dir=run,
            # only a best this run's state knows (a stray file is no epoch of this run)
            best_weights=best if best.is_file() and self.best_epoch > 0 else None,
            best_val_loss=self.best_val_loss,
            best_epoch=self.best_epoch,
            steps=self.step,
            epochs_done=self.epoch,
            history=self.history,
            seconds=self.seconds,
            images_per_second=self.images / self.seconds if self.seconds else 0.0,
            stopped_early=stopped_early,
        )


@contextlib.contextmanager
def stop_requests() -> Iterator[Callable[[], int]]:
    """Turn SIGINT/SIGTERM into a flag the loop polls between steps (so a checkpoint is
    never cut in half): the signal's number once one came, else 0. The handlers are
    restored afterwards. Outside the main thread (no signals there) it stays 0."""
    flag = {"stop": 0}

    def handler(signum: int, frame: object) -> None:
        flag["stop"] = int(signum)

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread
        pass
    try:
        yield lambda: flag["stop"]
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def open_run_folder(run_dir: str | os.PathLike[str]) -> Path:
    """``run_dir``, made if missing; one line naming the option when it cannot be."""
    run = Path(run_dir)
    try:
        run.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file of that name, no permission, read-only disk
        raise SaliencyCamError(
            f"cannot use {run} as the run folder ({exc.strerror or exc}): choose another --run-dir"
        ) from exc
    return run


def resumed_state(run: Path, config: TrainConfig, resume: bool, out: Any) -> RunState | None:
    """The state of the run in ``run`` to continue (None: a fresh run). A state saved
    with other settings is refused; without ``resume`` the earlier run's files go, so
    nothing of it can pass as this run's result."""
    state = RunState.load(run / STATE) if resume else None
    if state is not None and state.config != config.identity():
        raise SaliencyCamError(
            f"{run} holds a run with other settings ({_diff(state.config, config.identity())}): "
            "use another --run-dir, the same settings, or --no-resume to start over"
        )
    if state is not None and state.epoch >= config.epochs and state.batch_in_epoch == 0:
        out.print(f"{run}: all {config.epochs} epochs already done", markup=False)
    if not resume:  # start over: nothing of the earlier run may pass as this run's result
        shutil.rmtree(run / LATEST, ignore_errors=True)
        for leftover in (STATE, BEST, *HISTORY_FILES):
            (run / leftover).unlink(missing_ok=True)
    return state


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    return ", ".join(f"{k} {old.get(k)} → {new.get(k)}" for k in new if old.get(k) != new.get(k))


def current_lr(optimizer: Any) -> float:
    """The optimiser's learning rate now (a variable, or a plain number)."""
    value = optimizer.learning_rate
    return float(value.numpy() if hasattr(value, "numpy") else value)


class Checkpoints:
    """The run's resumable checkpoints in ``RUN/latest`` (model, optimiser and step; the
    last two kept) and the state that names the newest one."""

    def __init__(self, model: Any, optimizer: Any, step: Any, run: Path, state: RunState):
        import tensorflow as tf

        self.step, self.optimizer, self.run, self.state = step, optimizer, run, state
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(run / LATEST), max_to_keep=2)

    def restore(self, out: Any) -> None:
        """Load the checkpoint the state names (the run goes on where it stopped)."""
        if not self.state.checkpoint:
            raise SaliencyCamError(
                f"{self.run / STATE} names no checkpoint: start over with --no-resume"
            )
        self.checkpoint.restore(str(self.run / LATEST / self.state.checkpoint)).expect_partial()
        out.print(
            f"resuming {self.run} at epoch {self.state.epoch + 1}, step {self.state.step}",
            markup=False,
        )

    def save_latest(self) -> None:
        """Checkpoint now, then the state naming it (the state is written last: it never
        names a checkpoint that is not there)."""
        self.step.assign(self.state.step)
        path = self.manager.save(checkpoint_number=self.state.step)
        self.state.checkpoint = Path(path).name
        self.state.lr = float(current_lr(self.optimizer))
        self.state.save(self.run / STATE)
