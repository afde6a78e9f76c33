"""The training loop: MSI-Net (the project's Keras model, so the result exports to ONNX
exactly), Adam, validation each epoch, best/latest checkpoints, resume, clean stops.

A run lives in one folder::

    RUN/state.json          where the run stands (epoch, step, best, history, config)
    RUN/latest/ckpt-N.*     model + optimiser + step (tf.train.Checkpoint), for resuming
    RUN/best.weights.h5     the weights with the lowest validation loss so far
    RUN/history.csv|.json   one row per epoch: loss, val_loss, CC, KLD, NSS, SIM, AUC-Judd
    RUN/history.png         a plot of the same

Every file is replaced atomically, so Ctrl-C or SIGTERM at any moment leaves a run that
resumes (the loop also saves the latest state when it is asked to stop).

>>> result = fit(data, split, TrainConfig(size=(48, 64)), Path("runs/a"))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.export.training.datasets.folder import FolderData, fixation_mask, target_map
from saliency_cam.export.training.progress import (
    VAL_METRICS,
    _Bar,
    _stderr_console,
    _summary_line,
    write_history,
)
from saliency_cam.export.training.runstate import (
    BEST,
    Checkpoints,
    RunState,
    TrainingInterrupted,
    TrainResult,
    current_lr,
    open_run_folder,
    resumed_state,
    stop_requests,
)
from saliency_cam.export.training.steps import (
    SCHEDULES,
    Trainee,
    _optimizer,  # noqa: F401 - re-exported (tests build the optimiser as fit does)
    build_model,
    build_trainee,
    make_train_step,
)
from saliency_cam.export.weights import WeightMap
from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import SaliencyCamError

__all__ = [
    "SCHEDULES",
    "VAL_METRICS",
    "TrainConfig",
    "TrainResult",
    "TrainingInterrupted",
    "build_model",
    "fit",
    "make_train_step",
    "write_history",
]

FREEZE = ("none", "encoder")


@dataclass
class TrainConfig:
    """Everything that defines a run (saved in its state; a resume must match it)."""

    size: tuple[int, int]
    epochs: int = 10
    batch_size: int = 1
    lr: float = 1e-5
    loss: str = "kld"
    schedule: str = "constant"
    freeze: str = "none"
    flip: bool = False
    seed: int = 0
    sigma: float | None = None
    #: stop after this many optimiser steps in total (smoke tests, benchmarks)
    max_steps: int | None = None
    #: stop when the validation loss has not improved for this many epochs
    patience: int | None = None
    #: validation images scored with the metrics each epoch (all of them get the loss)
    metric_images: int = 100
    #: save the resumable state every this many steps (and at every epoch end)
    checkpoint_every: int = 200
    #: compile the step with XLA (same maths). Off: on the 2-core AVX2 EPYC it made the
    #: step slower once the dilated convolutions compute by taps (train_speed_cpu.json)
    jit_compile: bool = False
    #: float16 compute with float32 variables, loss and output (GPU only: refused on CPU)
    mixed_precision: bool = False
    #: devices to train on (several: MirroredStrategy); None = the visible GPUs, or CPU
    devices: tuple[str, ...] | None = None
    #: score the starting weights first (history row "epoch 0": the baseline to beat)
    validate_start: bool = False
    #: the network (``saliency_cam.models.architectures``): msinet, mlnet, …
    arch: str = "msinet"
    #: ML-Net: train its learned prior (False: it stays at ones, no regulariser)
    prior: bool = True
    #: ML-Net: λ of the prior's regulariser λ‖1 − prior‖² (None: the architecture's)
    prior_weight: float | None = None

    def identity(self) -> dict[str, Any]:
        """The settings a resumed run must share with the interrupted one."""
        keep = ("size", "batch_size", "loss", "freeze", "flip", "seed", "sigma")
        identity = {k: v for k, v in asdict(self).items() if k in keep}
        if self.mixed_precision:  # its optimiser (loss scaling) checkpoints differently
            identity["mixed_precision"] = True
        if self.arch != "msinet":  # runs saved before architectures existed are MSI-Net
            identity |= {"arch": self.arch, "prior": self.prior, "prior_weight": self.prior_weight}
        return identity | {"size": list(self.size)}

    def build_options(self) -> dict[str, Any]:
        """Options for the architecture's builder (ML-Net: the prior's λ; 0 without it)."""
        if self.arch != "mlnet":
            return {}
        from saliency_cam.models.mlnet_layers import PRIOR_WEIGHT

        weight = PRIOR_WEIGHT if self.prior_weight is None else self.prior_weight
        return {"prior_weight": weight if self.prior else 0.0}


def fit(
    data: FolderData,
    split: tuple[list[int], list[int]],
    config: TrainConfig,
    run_dir: str | os.PathLike[str],
    start: WeightMap | None = None,
    *,
    resume: bool = True,
    console: Any = None,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train on ``data`` (``split`` = train and validation indices) into ``run_dir``.

    With ``resume`` and a state in ``run_dir``, the run continues where it stopped
    (same step, optimiser moments, history, data order); ``start`` is then ignored.
    Raises :class:`TrainingInterrupted` after saving when Ctrl-C/SIGTERM arrive.
    ``on_step(step, loss)`` is called after every optimiser step.
    """
    train_idx, val_idx = split
    if not train_idx or not val_idx:
        raise SaliencyCamError("training needs at least one training and one validation image")
    run = open_run_folder(run_dir)
    out = console or _stderr_console()
    state = resumed_state(run, config, resume, out)
    fresh = state is None
    state = state or RunState(config=config.identity(), lr=config.lr)
    steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
    trainee = build_trainee(config, start if fresh and start else {}, steps_per_epoch, out)
    checkpoints = Checkpoints(trainee.model, trainee.optimizer, trainee.step, run, state)
    if not fresh:
        checkpoints.restore(out)
    if config.schedule == "plateau":  # the rate the run had reached (halved on plateaus)
        trainee.optimizer.learning_rate.assign(state.lr or config.lr)
    epochs = _Epochs(data, split, config, state, trainee, checkpoints, out, on_step)
    if fresh and config.validate_start:
        epochs.validate_start()
    return state.result(run, stopped_early=epochs.run(steps_per_epoch))


class _Epochs:
    """The epoch loop of one :func:`fit`: trains batch by batch from where ``state``
    stands, validates and saves at each epoch's end, and stops (resumable) at
    ``max_steps``, on patience, on a signal or on too many unreadable files."""

    def __init__(
        self,
        data: FolderData,
        split: tuple[list[int], list[int]],
        config: TrainConfig,
        state: RunState,
        trainee: Trainee,
        checkpoints: Checkpoints,
        out: Any,
        on_step: Callable[[int, float], None] | None,
    ) -> None:
        self.data, (self.train_idx, self.val_idx), self.config = data, split, config
        self.state, self.trainee, self.checkpoints = state, trainee, checkpoints
        self.run_dir, self.out, self.on_step = checkpoints.run, out, on_step
        # set when run() starts: the clock and the counts this session's rate is from
        self.started, self.base_seconds, self.base_images = 0.0, 0.0, 0
        self.stop_asked: Callable[[], int] = lambda: 0  # run(): the signal flag
        self.bar: Any = None  # run(): the progress bar

    def validate_start(self) -> None:
        """Score the starting weights: history row "epoch 0", the baseline to beat."""
        row: dict[str, float] = {"epoch": 0, "step": 0, "loss": float("nan")}
        row.update(self._validate())
        self.state.history.append(row)
        self.out.print(_summary_line(row, False), markup=False)

    def run(self, steps_per_epoch: int) -> bool:
        """Train until the configured epochs are done, ``max_steps`` is reached or the
        patience runs out; True when it stopped early (patience)."""
        config, state = self.config, self.state
        self.started = time.perf_counter()
        self.base_seconds, self.base_images = state.seconds, state.images
        with stop_requests() as self.stop_asked, _Bar(self.out, steps_per_epoch) as self.bar:
            while state.epoch < config.epochs:
                if config.max_steps is not None and state.step >= config.max_steps:
                    return False
                if self._stopped_before():
                    return True
                self.bar.epoch(state.epoch, config.epochs, state.batch_in_epoch)
                self._train_epoch()
                if state.batch_in_epoch < steps_per_epoch:
                    return False  # max_steps reached inside the epoch: resumable from here
                if self._end_epoch():
                    return True
        return False

    def _stopped_before(self) -> bool:
        """A run that already stopped early stays stopped when the same command runs
        again (e.g. after Ctrl-C in the export): no extra epoch each time."""
        patience, stale = self.config.patience, self.state.stale_epochs
        if patience is None or stale < patience:
            return False
        self.out.print(
            f"{self.run_dir}: already stopped early (no better validation loss for "
            f"{stale} epoch(s))",
            markup=False,
        )
        return True

    def _train_epoch(self) -> None:
        """This epoch's batches, from the one a resumed run stopped before (the data
        order is the epoch's seeded shuffle), until the epoch or ``max_steps`` ends."""
        from saliency_cam.export.training.pipeline import make_dataset

        config, state = self.config, self.state
        ds = make_dataset(
            self.data, self.train_idx, config.size, batch_size=config.batch_size,
            epoch=state.epoch, seed=config.seed, shuffle=True, flip=config.flip,
            skip_batches=state.batch_in_epoch, sigma=config.sigma,
        )  # fmt: skip
        if self.trainee.replicas > 1:  # each batch split across the devices
            ds = self.trainee.strategy.experimental_distribute_dataset(ds)
        for images, maps in ds:
            if self._train_batch(images, maps):
                break

    def _train_batch(self, images: Any, maps: Any) -> bool:
        """One optimiser step, counted and shown; True once ``max_steps`` is reached."""
        state = self.state
        loss = float(self.trainee.train_step(images, maps))
        if not math.isfinite(loss):
            raise SaliencyCamError(f"the loss became {loss} at step {state.step + 1}: lower --lr")
        state.epoch_loss_sum += loss
        state.step += 1
        state.batch_in_epoch += 1
        local = self.trainee.strategy.experimental_local_results(images)
        state.images += sum(int(part.shape[0]) for part in local)
        state.seconds = self.base_seconds + time.perf_counter() - self.started
        seconds = max(1e-9, state.seconds - self.base_seconds)  # this session's rate
        self.bar.advance(loss, (state.images - self.base_images) / seconds)
        if self.on_step is not None:
            self.on_step(state.step, loss)
        limit = self.config.max_steps is not None and state.step >= self.config.max_steps
        self._save_or_stop(limit)
        return limit

    def _save_or_stop(self, limit: bool) -> None:
        """Save the resumable state when asked to stop, at ``max_steps`` and every
        ``checkpoint_every`` steps; then stop, resumable, on too many unreadable files
        (found while decoding) or on Ctrl-C/SIGTERM."""
        state = self.state
        if self.stop_asked() or limit or state.step % self.config.checkpoint_every == 0:
            self.checkpoints.save_latest()
        if self.data.bad.exceeded:  # found while decoding: stop resumable, as on Ctrl-C
            self.checkpoints.save_latest()
            raise self.data.bad.too_many(
                self.data.root, f"training stopped at step {state.step} (resumable)"
            )
        if self.stop_asked():
            raise TrainingInterrupted(
                f"interrupted at step {state.step} (epoch {state.epoch + 1}); the state "
                f"is saved in {self.run_dir}: run the same command again to resume",
                self.stop_asked(),
            )

    def _end_epoch(self) -> bool:
        """Validate, keep the best weights, save the state and history; True when the
        patience ran out (early stop). A signal during validation stops after saving."""
        state = self.state
        row = {"epoch": state.epoch + 1, "step": state.step}
        row["loss"] = state.epoch_loss_sum / max(1, state.batch_in_epoch)
        row.update(self._validate())
        state.history.append(row)
        improved = self._keep_if_best(row)
        state.epoch += 1
        state.batch_in_epoch = 0
        state.epoch_loss_sum = 0.0
        self.checkpoints.save_latest()
        write_history(self.run_dir, state.history)
        self.bar.summary(row, improved)
        if self.stop_asked():  # Ctrl-C during validation: the epoch is saved, stop here
            raise TrainingInterrupted(
                f"interrupted after epoch {state.epoch}; the state is saved in "
                f"{self.run_dir}: run the same command again to resume",
                self.stop_asked(),
            )
        patience = self.config.patience
        if patience is not None and state.stale_epochs >= patience:
            self.out.print(
                f"early stop: no better validation loss for {patience} epoch(s)", markup=False
            )
            return True
        return False

    def _keep_if_best(self, row: dict[str, float]) -> bool:
        """Save the weights when the validation loss improved (True); otherwise count
        a stale epoch and, with the plateau schedule, halve the learning rate."""
        state, optimizer = self.state, self.trainee.optimizer
        if row["val_loss"] < state.best_val_loss:
            state.best_val_loss, state.best_epoch, state.stale_epochs = (
                row["val_loss"], state.epoch + 1, 0,
            )  # fmt: skip
            save_weights(self.trainee.model, self.run_dir / BEST)
            return True
        state.stale_epochs += 1
        if self.config.schedule == "plateau":
            optimizer.learning_rate.assign(current_lr(optimizer) * 0.5)
        return False

    def _validate(self) -> dict[str, float]:
        # the module's validate, looked up at each call (tests wrap it)
        return validate(
            self.trainee.model, self.trainee.predict_step, self.data, self.val_idx, self.config
        )


def validate(model, predict_step, data: FolderData, val_idx, config: TrainConfig) -> dict:
    """Validation loss on every validation image, and the project's metrics (CC, KLD,
    NSS, SIM, AUC-Judd) on the first ``config.metric_images`` of them, scored at each
    image's own size after undoing the letterbox, as the runtime does."""
    from saliency_cam.export.training.pipeline import make_dataset
    from saliency_cam.models import metrics
    from saliency_cam.realtime.runtime.letterbox import Letterbox

    ds = make_dataset(data, val_idx, config.size, batch_size=config.batch_size, sigma=config.sigma)
    losses, preds = [], []
    for images, maps in ds:
        pred, loss = predict_step(images, maps)
        losses.append(float(loss) * int(images.shape[0]))
        if len(preds) < config.metric_images:
            preds.extend(pred.numpy()[:, :, :, 0])
    scores: dict[str, list[float]] = {name: [] for name in VAL_METRICS}
    for index, pred in zip(val_idx, preds[: config.metric_images], strict=False):
        sample = data.samples[index]
        if any(path in data.bad for path in sample.files):
            continue  # unreadable: its place held another image's prediction
        truth = target_map(sample, config.sigma)
        saliency = Letterbox.fit(truth.shape, config.size).undo(pred)
        scores["cc"].append(metrics.cc(saliency, truth))
        scores["kld"].append(metrics.kld(saliency, truth))
        scores["sim"].append(metrics.sim(saliency, truth))
        mask = fixation_mask(sample, truth.shape)
        if mask is not None and mask.any():
            scores["nss"].append(metrics.nss(saliency, mask))
            scores["auc_judd"].append(metrics.auc_judd(saliency, mask))
    row = {"val_loss": float(np.sum(losses) / len(val_idx))}
    for name, values in scores.items():
        finite = [v for v in values if math.isfinite(v)]
        row[f"val_{name}"] = float(np.mean(finite)) if finite else float("nan")
    return row


def save_weights(model, path: Path) -> Path:
    """``model.save_weights`` under a temp name, then rename (readable by the export
    step's Keras reader: the layers are MSI-Net's)."""
    with atomic_output(path) as tmp:
        folder = Path(tempfile.mkdtemp(prefix=".keras-", dir=path.parent))
        try:
            staged = folder / path.name  # Keras insists on the .weights.h5 suffix
            model.save_weights(staged)
            os.replace(staged, tmp)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return path
