"""What the training loop runs: the network built for a run (with its start weights and
frozen layers), the compiled training step and the optimiser, and all of them built
together on the run's devices (:func:`build_trainee`). Split from ``trainer.py``
(which re-exports the public names), where the loop itself lives.

>>> model = build_model(TrainConfig(size=(48, 64)), {}, seed=0)   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saliency_cam.export.weights import WeightMap
from saliency_cam.models.errors import SaliencyCamError

if TYPE_CHECKING:
    from saliency_cam.export.training.trainer import TrainConfig

#: Learning-rate schedules (``--schedule``).
SCHEDULES = ("constant", "cosine", "plateau")


def build_model(
    config: TrainConfig, start: WeightMap, *, seed: int, policy: str = "float32"
):  # -> keras.Model
    """The configured architecture (MSI-Net by default) at the training size, seeded,
    with ``start`` weights copied in (all of them, or only the encoder for a VGG16
    start) and the encoder frozen if asked. ``policy`` is the Keras dtype policy of its
    layers (``mixed_float16``: float16 compute, float32 variables; the output map stays
    float32)."""
    import keras

    from saliency_cam.models.architectures import get_architecture

    network = get_architecture(config.arch)
    options = config.build_options()
    if network.name == "msinet":
        options["dilated_taps"] = True  # same maths, a far faster gradient on CPU
    keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        if network.name == "lite":  # named by Keras layers, BatchNorm: its own builder
            return _build_lite(config, start, seed)
        model = network.build(*config.size, **options)
    finally:  # the policy is global: do not leak it into later models (export)
        keras.config.set_dtype_policy(previous)
    from saliency_cam.models.msinet import layer_name

    # by scope, so a partial start (the VGG-16 encoder) leaves the rest as built
    for name in sorted(start):
        scope, _, kind = name.rpartition("/")
        if kind == "kernel":
            model.get_layer(layer_name(scope)).set_weights([start[name], start[f"{scope}/bias"]])
        elif kind != "bias":  # a weight of its own (ML-Net's prior/prior)
            model.get_layer(layer_name(scope)).set_weights([start[name]])
    if network.name == "mlnet" and not config.prior:
        from saliency_cam.models.mlnet import PRIOR_LAYER

        model.get_layer(PRIOR_LAYER).trainable = False  # stays at ones
    if config.freeze == "encoder":
        for layer in model.layers:
            if layer.name.startswith("conv") and "__conv" in layer.name:
                layer.trainable = False
    elif config.freeze != "none":
        raise SaliencyCamError(f"unknown --freeze {config.freeze!r}: use none or encoder")
    return model


def _build_lite(config: TrainConfig, start: WeightMap, seed: int):  # -> keras.Model
    """The lite network at the training size, seeded; ``start`` (a full lite weight map,
    e.g. the ImageNet encoder) copied in when given."""
    from saliency_cam.models import lite

    if config.freeze != "none":
        raise SaliencyCamError("--freeze is for MSI-Net; the lite network trains whole")
    model = lite.build_lite(*config.size, seed=seed)
    if start:
        lite.load_weights(model, start)
    return model


def make_train_step(
    model, optimizer, loss_of: Callable, *, jit_compile: bool = False, strategy: Any = None
):
    """The compiled training step ``(images, maps) -> loss``: forward, loss, gradients
    of the trainable variables, one optimiser update (what :func:`fit` runs per batch,
    and what benchmarks/train_speed.py times).

    With a multi-replica ``strategy`` (MirroredStrategy) the batch arrives split across
    the replicas (a distributed dataset); each replica's mean loss is weighted by its
    share of the batch, so the all-reduced (summed) gradient is the whole batch's mean:
    the same update as one device on the whole batch. A LossScaleOptimizer (mixed precision)
    scales the loss before the gradient and unscales the gradient in its update.
    """
    import tensorflow as tf

    trainable = model.trainable_variables
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1

    def replica_step(images, maps):
        with tf.GradientTape() as tape:
            loss = loss_of(maps, model(images, training=True))
            if model.losses:  # the architecture's own terms (ML-Net: the prior's λ‖1 − w‖²)
                loss = loss + tf.add_n([tf.cast(term, loss.dtype) for term in model.losses])
            if replicas > 1:
                # this replica's share of the global batch's mean (batches may split
                # unevenly; an empty share, possible on a last short batch, adds 0)
                local = tf.cast(tf.shape(images)[0], tf.float32)
                total = tf.distribute.get_replica_context().all_reduce("sum", local)
                loss = tf.where(local > 0, loss * local / total, 0.0)
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, trainable)
        optimizer.apply_gradients(zip(grads, trainable, strict=True))
        return loss

    if replicas == 1:
        skip_one_device_all_reduce(optimizer)
        return tf.function(replica_step, jit_compile=jit_compile, reduce_retracing=True)

    @tf.function(reduce_retracing=True)
    def distributed_step(images, maps):
        shares = strategy.run(replica_step, args=(images, maps))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, shares, axis=None)

    return distributed_step


def _one_replica_sum(grads_and_vars):  # the sum over one replica is the gradient itself
    return list(grads_and_vars)


def skip_one_device_all_reduce(optimizer) -> None:
    """Let ``optimizer`` (and the one a LossScaleOptimizer wraps) skip the cross-replica
    gradient sum on one device, where it sums one replica: the same update.

    Why: Keras' TensorFlow optimizer all-reduces in the default replica context too, and
    traced in a ``tf.function`` that registers a custom gradient in TensorFlow's global
    registry which keeps the model and the Adam moments alive for the rest of the
    process: about 300 MB more per :func:`fit` at very_low (measured), so a sweep or a
    test suite that trains again and again in one process grew by GBs. Multi-device
    steps keep the real sum.
    """
    for opt in (optimizer, getattr(optimizer, "inner_optimizer", None)):
        if opt is not None and hasattr(opt, "_all_reduce_sum_gradients"):
            opt._all_reduce_sum_gradients = _one_replica_sum


def _optimizer(config: TrainConfig, steps_per_epoch: int):
    import keras

    lr: Any = config.lr
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(
            config.lr, max(1, config.epochs * steps_per_epoch)
        )
    elif config.schedule not in SCHEDULES:
        raise SaliencyCamError(
            f"unknown --schedule {config.schedule!r}: use {', '.join(SCHEDULES)}"
        )
    optimizer = keras.optimizers.Adam(learning_rate=lr)
    if config.mixed_precision:  # float16 gradients underflow without loss scaling
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


@dataclass
class Trainee:
    """The network being trained and what trains it, built for one run: the model and
    its optimiser (mirrored on every device of ``strategy``), the checkpointed step
    counter, the compiled training step and the validation step."""

    model: Any
    optimizer: Any
    step: Any  # tf.Variable: the optimiser step, saved in the checkpoints
    strategy: Any
    devices: list[str]
    train_step: Callable
    #: ``(images, maps) -> (prediction, loss)`` (the loss is KLD for the kld loss)
    predict_step: Callable

    @property
    def replicas(self) -> int:
        """How many devices train together (one: no distribution)."""
        return int(self.strategy.num_replicas_in_sync)


def build_trainee(config: TrainConfig, start: WeightMap, steps_per_epoch: int, out: Any) -> Trainee:
    """The model (``start`` weights copied in), optimiser and steps for ``config``, on
    the configured devices (several: MirroredStrategy, announced on ``out``)."""
    import tensorflow as tf

    from saliency_cam.export.training.loss import loss_fn

    strategy, devices, policy = _strategy(config)
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():  # variables mirrored on every device (one device: no-op)
        model = build_model(config, start, seed=config.seed, policy=policy)
        optimizer = _optimizer(config, steps_per_epoch)
        # Adam's moments made here, mirrored: made lazily inside the first distributed
        # step they fail ("must feed a value for placeholder ... replica_1/Initializer")
        optimizer.build(model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False)
    if replicas > 1:
        out.print(f"training on {replicas} devices: {', '.join(devices)}", markup=False)
    loss_of = loss_fn(config.loss)
    train_step = make_train_step(
        model, optimizer, loss_of, jit_compile=config.jit_compile,
        strategy=strategy if replicas > 1 else None,
    )  # fmt: skip
    predict_step = _predict_step(model, config.loss, loss_of)
    return Trainee(model, optimizer, step, strategy, devices, train_step, predict_step)


def _strategy(config: TrainConfig) -> tuple[Any, list[str], str]:
    """The distribution strategy for the configured devices (None: the visible GPUs, or
    the CPU), the devices, and the Keras dtype policy (mixed precision: GPUs only).
    A batch smaller than the number of devices is refused (a device would get none)."""
    from saliency_cam.export.training.devices import (
        make_strategy,
        mixed_precision_policy,
        visible_gpus,
    )

    devices = list(config.devices) if config.devices is not None else visible_gpus()
    policy = mixed_precision_policy(config.mixed_precision, [d for d in devices if "gpu" in d])
    strategy = make_strategy(devices)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size < replicas:
        raise SaliencyCamError(
            f"--batch-size {config.batch_size} is smaller than the {replicas} devices "
            f"training together: use --batch-size {replicas} or more"
        )
    return strategy, devices, policy


def _predict_step(model: Any, loss: str, loss_of: Callable) -> Callable:
    """The compiled validation step ``(images, maps) -> (prediction, loss)``. With the
    kld loss the loss is the project's KLD (the metric the history reports)."""
    import tensorflow as tf

    from saliency_cam.export.training.loss import kld

    @tf.function(reduce_retracing=True)
    def predict_step(images, maps):
        pred = model(images, training=False)
        return pred, kld(maps, pred) if loss == "kld" else loss_of(maps, pred)

    return predict_step
