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

import contextlib
import json
import math
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
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
from saliency_cam.export.training.steps import (
    SCHEDULES,
    _optimizer,
    build_model,
    make_train_step,
)
from saliency_cam.export.weights import WeightMap
from saliency_cam.models.atomic import atomic_output, atomic_write_text
from saliency_cam.models.errors import SaliencyCamError

__all__ = [
    "SCHEDULES",
    "VAL_METRICS",
    "TrainConfig",
    "build_model",
    "fit",
    "make_train_step",
    "write_history",
]

STATE = "state.json"
BEST = "best.weights.h5"
LATEST = "latest"
HISTORY_FILES = ("history.json", "history.csv", "history.png")
FREEZE = ("none", "encoder")


class TrainingInterrupted(SaliencyCamError):
    """Ctrl-C / SIGTERM: the latest state was saved; the same command resumes. Exits
    with the shell's code for the signal (130 Ctrl-C, 143 SIGTERM), as other commands do."""

    exit_code = 130

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.exit_code = 128 + int(signum)


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
class _State:
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
    def load(cls, path: Path) -> _State | None:
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
    import tensorflow as tf

    from saliency_cam.export.training.devices import (
        make_strategy,
        mixed_precision_policy,
        visible_gpus,
    )
    from saliency_cam.export.training.loss import kld, loss_fn
    from saliency_cam.export.training.pipeline import make_dataset

    train_idx, val_idx = split
    if not train_idx or not val_idx:
        raise SaliencyCamError("training needs at least one training and one validation image")
    run = Path(run_dir)
    try:
        run.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file of that name, no permission, read-only disk
        raise SaliencyCamError(
            f"cannot use {run} as the run folder ({exc.strerror or exc}): choose another --run-dir"
        ) from exc
    out = console or _stderr_console()
    state = _State.load(run / STATE) if resume else None
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
    fresh = state is None
    state = state or _State(config=config.identity(), lr=config.lr)

    steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
    devices = list(config.devices) if config.devices is not None else visible_gpus()
    policy = mixed_precision_policy(config.mixed_precision, [d for d in devices if "gpu" in d])
    strategy = make_strategy(devices)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size < replicas:
        raise SaliencyCamError(
            f"--batch-size {config.batch_size} is smaller than the {replicas} devices "
            f"training together: use --batch-size {replicas} or more"
        )
    with strategy.scope():  # variables mirrored on every device (one device: no-op)
        model = build_model(
            config, start if fresh and start else {}, seed=config.seed, policy=policy
        )
        optimizer = _optimizer(config, steps_per_epoch)
        # Adam's moments made here, mirrored: made lazily inside the first distributed
        # step they fail ("must feed a value for placeholder ... replica_1/Initializer")
        optimizer.build(model.trainable_variables)
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False)
    if replicas > 1:
        out.print(f"training on {replicas} devices: {', '.join(devices)}", markup=False)
    loss_of = loss_fn(config.loss)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step_var)
    manager = tf.train.CheckpointManager(checkpoint, str(run / LATEST), max_to_keep=2)
    if not fresh:
        if not state.checkpoint:
            raise SaliencyCamError(
                f"{run / STATE} names no checkpoint: start over with --no-resume"
            )
        checkpoint.restore(str(run / LATEST / state.checkpoint)).expect_partial()
        out.print(f"resuming {run} at epoch {state.epoch + 1}, step {state.step}", markup=False)
    if config.schedule == "plateau":
        optimizer.learning_rate.assign(state.lr or config.lr)
    train_step = make_train_step(
        model, optimizer, loss_of, jit_compile=config.jit_compile,
        strategy=strategy if replicas > 1 else None,
    )  # fmt: skip

    @tf.function(reduce_retracing=True)
    def predict_step(images, maps):
        pred = model(images, training=False)
        return pred, kld(maps, pred) if config.loss == "kld" else loss_of(maps, pred)

    def save_latest() -> None:
        step_var.assign(state.step)
        path = manager.save(checkpoint_number=state.step)
        state.checkpoint = Path(path).name
        state.lr = float(_current_lr(optimizer))
        state.save(run / STATE)

    if fresh and config.validate_start:
        row = {"epoch": 0, "step": 0, "loss": float("nan")}
        row.update(validate(model, predict_step, data, val_idx, config))
        state.history.append(row)
        out.print(_summary_line(row, False), markup=False)

    started = time.perf_counter()
    base_seconds, base_images = state.seconds, state.images
    stopped_early = False
    with stop_requests() as stop_asked, _Bar(out, steps_per_epoch) as bar:
        while state.epoch < config.epochs:
            if config.max_steps is not None and state.step >= config.max_steps:
                break
            if config.patience is not None and state.stale_epochs >= config.patience:
                # a run that already stopped early stays stopped when the same command
                # runs again (e.g. after Ctrl-C in the export): no extra epoch each time
                stopped_early = True
                out.print(
                    f"{run}: already stopped early (no better validation loss for "
                    f"{state.stale_epochs} epoch(s))",
                    markup=False,
                )
                break
            bar.epoch(state.epoch, config.epochs, state.batch_in_epoch)
            ds = make_dataset(
                data, train_idx, config.size, batch_size=config.batch_size, epoch=state.epoch,
                seed=config.seed, shuffle=True, flip=config.flip,
                skip_batches=state.batch_in_epoch, sigma=config.sigma,
            )  # fmt: skip
            if replicas > 1:  # each batch split across the devices
                ds = strategy.experimental_distribute_dataset(ds)
            for images, maps in ds:
                loss = float(train_step(images, maps))
                if not math.isfinite(loss):
                    raise SaliencyCamError(
                        f"the loss became {loss} at step {state.step + 1}: lower --lr"
                    )
                state.epoch_loss_sum += loss
                state.step += 1
                state.batch_in_epoch += 1
                state.images += sum(
                    int(part.shape[0]) for part in strategy.experimental_local_results(images)
                )
                state.seconds = base_seconds + time.perf_counter() - started
                rate = (state.images - base_images) / max(1e-9, state.seconds - base_seconds)
                bar.advance(loss, rate)
                if on_step is not None:
                    on_step(state.step, loss)
                limit = config.max_steps is not None and state.step >= config.max_steps
                if stop_asked() or limit or state.step % config.checkpoint_every == 0:
                    save_latest()
                if data.bad.exceeded:  # found while decoding: stop resumable, as on Ctrl-C
                    save_latest()
                    raise data.bad.too_many(
                        data.root, f"training stopped at step {state.step} (resumable)"
                    )
                if stop_asked():
                    raise TrainingInterrupted(
                        f"interrupted at step {state.step} (epoch {state.epoch + 1}); the state "
                        f"is saved in {run}: run the same command again to resume",
                        stop_asked(),
                    )
                if limit:
                    break
            if state.batch_in_epoch < steps_per_epoch:
                break  # max_steps reached inside the epoch: resumable from here
            row = {"epoch": state.epoch + 1, "step": state.step}
            row["loss"] = state.epoch_loss_sum / max(1, state.batch_in_epoch)
            row.update(validate(model, predict_step, data, val_idx, config))
            state.history.append(row)
            improved = bool(row["val_loss"] < state.best_val_loss)
            if improved:
                state.best_val_loss, state.best_epoch, state.stale_epochs = (
                    row["val_loss"], state.epoch + 1, 0,
                )  # fmt: skip
                save_weights(model, run / BEST)
            else:
                state.stale_epochs += 1
                if config.schedule == "plateau":
                    optimizer.learning_rate.assign(_current_lr(optimizer) * 0.5)
            state.epoch += 1
            state.batch_in_epoch = 0
            state.epoch_loss_sum = 0.0
            save_latest()
            write_history(run, state.history)
            bar.summary(row, improved)
            if stop_asked():  # Ctrl-C during validation: the epoch is saved, stop here
                raise TrainingInterrupted(
                    f"interrupted after epoch {state.epoch}; the state is saved in {run}: "
                    "run the same command again to resume",
                    stop_asked(),
                )
            if config.patience is not None and state.stale_epochs >= config.patience:
                stopped_early = True
                out.print(
                    f"early stop: no better validation loss for {config.patience} epoch(s)",
                    markup=False,
                )
                break
    best = run / BEST
    return TrainResult(
        run_dir=run,
        # only a best this run's state knows (a stray file is no epoch of this run)
        best_weights=best if best.is_file() and state.best_epoch > 0 else None,
        best_val_loss=state.best_val_loss,
        best_epoch=state.best_epoch,
        steps=state.step,
        epochs_done=state.epoch,
        history=state.history,
        seconds=state.seconds,
        images_per_second=state.images / state.seconds if state.seconds else 0.0,
        stopped_early=stopped_early,
    )


def _current_lr(optimizer) -> float:
    value = optimizer.learning_rate
    return float(value.numpy() if hasattr(value, "numpy") else value)


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    return ", ".join(f"{k} {old.get(k)} → {new.get(k)}" for k in new if old.get(k) != new.get(k))


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
