"""``train(...)``: the whole recipe a user runs — data, split, size, start, training,
export as a named model. The command line (``saliency-cam train``) only parses options
and calls this.

>>> train("./my_study", name="webpages", quality="medium", init="salicon")  # doctest: +SKIP
>>> open_session("webpages").predict(frame)                                 # doctest: +SKIP
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from saliency_cam.export.training.datasets.folder import DEFAULT_MAX_BAD, FolderData, read_folder
from saliency_cam.export.training.loss import loss_fn
from saliency_cam.export.training.splits import (
    ORIGINAL_TRAIN_COUNTS,
    category_split,
    fraction_split,
    original_split,
)
from saliency_cam.export.training.trainer import TrainConfig, TrainResult, fit
from saliency_cam.models.architecture import SIZE_MULTIPLE
from saliency_cam.models.architectures import get_architecture
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import VariantInfo
from saliency_cam.models.registry import (
    DATASET_PRESETS,
    arch_presets,
    resolve_preset,
)


@dataclass
class TrainingOutcome:
    """What :func:`train` did: the run, and the exported model (None with ``export=False``
    or when no epoch finished)."""

    run: TrainResult
    model: VariantInfo | None
    name: str
    #: unreadable files whose samples were skipped (each was named in a warning)
    skipped: list[Path] = field(default_factory=list)


def parse_size(text: str) -> tuple[int, int]:
    """``"240x320"`` → (240, 320); both multiples of 8."""
    try:
        height, width = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError as exc:
        raise SaliencyCamError(f"--size {text!r}: give HxW, e.g. 240x320") from exc
    if height <= 0 or width <= 0 or height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise SaliencyCamError(f"--size {text}: height and width must be positive multiples of 8")
    return height, width


def training_size(
    size: str | None, quality: str | None, dataset: str | None, arch: str = "msinet"
) -> tuple[int, int]:
    """The network size: ``--size``, else ``--quality``'s preset (``ultra`` only for the
    architectures offered it), else the dataset's original size (docs/design.md §2), else
    medium."""
    if size and quality:
        raise SaliencyCamError("give --size or --quality, not both")
    if size:
        return parse_size(size)
    if quality:
        key = quality.strip().lower().replace("-", "_")
        offered = arch_presets(arch)
        if key in offered:
            return offered[key]
        if key == "ultra":
            raise SaliencyCamError(
                f"--quality ultra is offered only to networks that run it in real time: "
                f"add --arch lite (not {arch})"
            )
        return resolve_preset(quality).size
    if dataset in DATASET_PRESETS:
        return DATASET_PRESETS[dataset].size
    return resolve_preset("medium").size


def choose_split(
    data: FolderData, dataset: str | None, val_split: float | None
) -> tuple[list[int], list[int]]:
    """SALICON: its own train/ and val/ folders; CAT2000: 80/20 inside each category;
    the other original datasets: the original seeded counts; anything else (or
    ``val_split``): the original's seeded shuffle with that fraction held out."""
    count = len(data.samples)
    if val_split is not None:
        return fraction_split(count, val_split)
    if dataset == "salicon":
        train = [i for i, s in enumerate(data.samples) if s.category == "train"]
        valid = [i for i, s in enumerate(data.samples) if s.category == "val"]
        if train and valid:
            return train, valid
        raise SaliencyCamError(f"{data.root}: SALICON needs stimuli/train and stimuli/val")
    if dataset == "cat2000":
        return category_split([s.category for s in data.samples])
    if dataset in ORIGINAL_TRAIN_COUNTS and count > ORIGINAL_TRAIN_COUNTS[dataset]:
        return original_split(count, ORIGINAL_TRAIN_COUNTS[dataset])
    return fraction_split(count, 0.2)


def resolve_data(
    data: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> tuple[Path, str | None]:
    """``data`` as a folder plus the original dataset's name when it is one: a dataset
    name means ``<data_dir>/<name>`` (downloaded first with ``download``)."""
    text = str(data)
    key = text.strip().lower()
    if key in DATASET_PRESETS and not Path(text).is_dir():
        from saliency_cam.export.training.datasets.sources import dataset_folder, download_dataset

        folder = dataset_folder(key, data_dir)
        if download:
            download_dataset(key, data_dir)
        elif not (folder / "stimuli").is_dir():
            raise SaliencyCamError(
                f"{key} is not in {folder}: add --download (or --data-dir where it is)"
            )
        return folder, key
    folder = Path(text).expanduser()
    if not folder.exists():
        names = ", ".join(DATASET_PRESETS)
        raise SaliencyCamError(f"{text} is neither a folder nor a dataset ({names})")
    return folder, None


def train(
    data: str | os.PathLike[str],
    *,
    name: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    size: str | None = None,
    quality: str | None = None,
    init: str | None = None,
    init_path: str | os.PathLike[str] | None = None,
    arch: str = "msinet",
    teacher: str | None = None,
    every: float = 1.0,
    run_dir: str | os.PathLike[str] | None = None,
    models_dir: str | os.PathLike[str] | None = None,
    val_split: float | None = None,
    resume: bool = True,
    export: bool = True,
    replace: bool = False,
    max_bad: int = DEFAULT_MAX_BAD,
    console: Any = None,
    **options: Any,
) -> TrainingOutcome:
    """Train a network (MSI-Net; ``arch="mlnet"`` for ML-Net) on ``data`` and export the
    best checkpoint as model ``name``.

    ``data``: a folder (``stimuli/`` + ``saliency/`` and/or ``fixations/`` or
    ``fixations.csv``) or an original dataset name (salicon, mit1003, …; with
    ``download`` it is fetched into ``data_dir``). ``options`` are
    :class:`~saliency_cam.export.training.trainer.TrainConfig` fields (epochs,
    batch_size, lr, loss, schedule, freeze, flip, seed, sigma, max_steps, patience, arch,
    prior, prior_weight …); ``loss`` None means the architecture's default.
    The run folder (default ``<models dir>/runs/<name>``) resumes when run again.
    An unreadable file is skipped with a warning naming it (its sample is left out);
    more than ``max_bad`` of them stop the run (:class:`~.datasets.folder.BadFiles`).

    ``arch``: ``msinet`` or ``lite`` (:mod:`saliency_cam.models.lite`). With ``teacher``
    (any model the runtime opens by name) ``data`` is unlabeled images or videos (one
    frame every ``every`` s): the teacher's maps, cached in ``<run>/teacher``, are the
    targets (distillation; :mod:`.distill`), the loss defaults to ``kld-cc``, and the
    validation CC/KLD (against the teacher, on held-out images) go into the card.
    """
    from saliency_cam.export.training.publish import check_free_name, publish
    from saliency_cam.models.paths import models_dir as resolve_models_dir
    from saliency_cam.models.registry import check_user_model_name

    if max_bad < 0:
        raise SaliencyCamError(f"--max-bad {max_bad}: give 0 or more unreadable files to skip")
    network = get_architecture(arch or options.pop("arch", None))
    arch = network.name
    if teacher is None:
        folder, dataset = resolve_data(data, data_dir=data_dir, download=download)
    else:
        folder, dataset = Path(data).expanduser(), None
    default_name = folder.resolve().name if folder.is_dir() else folder.stem
    name = check_user_model_name(name or dataset or default_name)
    if export:
        check_free_name(name, models_dir, replace)
    shape = training_size(size, quality, dataset, arch)
    config = train_config(shape, arch, dataset, options, distilling=teacher is not None)
    run = Path(run_dir) if run_dir else resolve_models_dir(models_dir) / "runs" / name
    began = time.time()
    distilled: dict[str, Any] = {}
    if teacher is not None:
        from saliency_cam.export.training.distill import teacher_maps

        distilled = teacher_maps(
            teacher, folder, run / "teacher", every=every, models_dir=models_dir, console=console
        )
        folder = run / "teacher"
    loaded = _read_data(folder, max_bad, console)
    split = choose_split(loaded, dataset, val_split)
    start = start_weights(arch, init, init_path, config)
    result = fit(loaded, split, config, run, start.weights, resume=resume, console=console)
    model = None
    if export and result.best_weights is not None:
        card = model_card(
            network, config, result, data=data if teacher is not None else folder,
            dataset=dataset, split=split, skipped=list(loaded.bad.files),
            init=start.description, began=began, distilled=distilled,
        )  # fmt: skip
        model = publish(
            name, result.best_weights, shape, models_dir=models_dir, dataset=dataset or "",
            card=card, arch=arch,
        )  # fmt: skip
    return TrainingOutcome(result, model, name, list(loaded.bad.files))


def train_config(
    shape: tuple[int, int],
    arch: str,
    dataset: str | None,
    options: dict[str, Any],
    *,
    distilling: bool,
) -> TrainConfig:
    """The run's :class:`TrainConfig` from the user's ``options`` (unknown ones refused)
    and the network's defaults for those not given (None). An unknown loss, and mixed
    precision without a GPU, are refused here, before any data is read or downloaded.
    An original dataset without maps of its own gets the original's blur σ."""
    unknown = set(options) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise SaliencyCamError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    options = dict(options)
    for key, value in arch_defaults(arch, distilling).items():
        if options.get(key) is None:
            options[key] = value
    loss_fn(options["loss"])  # an unknown loss is refused before any data is read
    config = TrainConfig(size=shape, arch=arch, **options)
    if config.mixed_precision:  # refused on CPU before any data is read or downloaded
        from saliency_cam.export.training.devices import mixed_precision_policy, visible_gpus

        mixed_precision_policy(True, visible_gpus())
    if dataset is not None and config.sigma is None and dataset in ORIGINAL_SIGMA:
        config.sigma = ORIGINAL_SIGMA[dataset]
    return config


def _read_data(folder: Path, max_bad: int, console: Any) -> FolderData:
    """The training folder, read and checked: every layout problem is listed before
    anything trains; each unreadable file is skipped with a warning (those found only
    once training decodes them too)."""
    loaded = read_folder(folder, max_bad=max_bad)
    warn = _warner(console)
    for line in loaded.bad.lines():
        warn(f"warning: skipped: {line}")
    loaded.bad.warn = warn  # and those found while training decodes them
    return loaded


def model_card(
    network: Any,
    config: TrainConfig,
    result: TrainResult,
    *,
    data: str | os.PathLike[str],
    dataset: str | None,
    split: tuple[list[int], list[int]],
    skipped: list[Path],
    init: str,
    began: float,
    distilled: dict[str, Any],
) -> dict[str, Any]:
    """The card published with the model: where its data came from, the network and
    settings, how the run went (best epoch, its validation row, speed) and the
    versions; with a teacher, the teacher and the student's agreement with it."""
    card = {
        "arch": network.name,
        "data": str(data),
        "dataset": dataset or "",
        "images": {"train": len(split[0]), "validation": len(split[1])},
        "unreadable_skipped": [str(path) for path in skipped],
        "init": init,
        "architecture": {
            **network.describe(),
            "gflops": round(network.gflops(*config.size), 3),
            "contract": network.contract.__dict__,
        },
        "config": {**config.__dict__, "size": list(config.size)},
        "epochs_done": result.epochs_done,
        "steps": result.steps,
        "best_epoch": result.best_epoch,
        "best_validation": next((r for r in result.history if r["epoch"] == result.best_epoch), {}),
        "training_seconds": round(result.seconds, 1),
        "wall_seconds": round(time.time() - began, 1),
        "images_per_second": round(result.images_per_second, 3),
        "versions": _versions(),
        "python": platform.python_version(),
    }
    if distilled:
        card["teacher"] = distilled
        card["distillation"] = agreement(result.history, result.best_epoch)
    return card


def _warner(console: Any):
    """One warning line on ``console`` (stderr when None), without rich markup."""
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    return lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True)


def arch_defaults(arch: str, distilling: bool) -> dict[str, Any]:
    """Training settings that depend on the network, used where the user gave none:
    MSI-Net keeps the original's (Adam 1e-5, batch 1); the lite network has BatchNorm
    (batches of 8) and starts far from its goal (Adam 2e-3). Distillation's loss is
    KLD + CC (the teacher's maps are dense, CC is the agreement reported)."""
    out: dict[str, Any] = {"lr": 1e-5, "batch_size": 1}
    out["loss"] = get_architecture(arch).default_loss
    if arch == "lite":
        out |= {"lr": 2e-3, "batch_size": 8, "loss": "kld"}
    if distilling:
        out["loss"] = "kld-cc"
    return out


def start_weights(arch: str, init: str | None, init_path: Any, config: TrainConfig):
    """``--init`` for ``arch``: MSI-Net's (vgg16 by default, see ``init.py``); the lite
    network's ``imagenet`` (default: Keras' MobileNetV2 encoder) or ``random``."""
    from saliency_cam.export.training.init import Start, initial_weights

    if arch != "lite":
        return initial_weights(init or "vgg16", init_path, seed=config.seed, arch=arch)
    from saliency_cam.models import lite

    key = (init or "imagenet").strip().lower()
    if key == "random":
        return Start({}, f"random (seed {config.seed})")
    if key == "imagenet":
        model = lite.build_lite(*config.size, init="imagenet", seed=config.seed)
        return Start(lite.extract_weights(model), "Keras MobileNetV2 ImageNet (encoder)")
    raise SaliencyCamError(f"--init {init} is not for --arch lite: use random or imagenet")


def agreement(history: list[dict[str, Any]], best_epoch: int) -> dict[str, Any]:
    """The student's held-out agreement with its teacher: CC and KLD at the best epoch,
    and per epoch (what the card records)."""
    best = next((r for r in history if r["epoch"] == best_epoch), {})
    return {
        "held_out_cc": best.get("val_cc"),
        "held_out_kld": best.get("val_kld"),
        "per_epoch": [
            {"epoch": r["epoch"], "cc": r.get("val_cc"), "kld": r.get("val_kld")} for r in history
        ],
    }


#: σ (px, at the published image size) the original used to blur fixations when a
#: dataset ships no maps of its own (only used for samples without a saliency map).
ORIGINAL_SIGMA: dict[str, float] = {"dutomron": 16.0, "osie": 16.0, "fiwi": 30.0}


def _versions() -> dict[str, str]:
    out = {}
    for package in ("tensorflow", "tensorflow-cpu", "keras", "numpy", "saliency-cam"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out
