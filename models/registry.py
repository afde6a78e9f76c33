"""The one registry of presets: name → input size and where trained weights come from.

Everything else (export, runtime, benchmark, CLI) reads it; nothing here imports
TensorFlow.

>>> resolve_quality("very-low").size
(48, 64)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal

from saliency_cam.models.architectures import (
    ARCHITECTURES,
    DEFAULT_ARCH,
    ULTRA_SIZE,
    get_architecture,
)
from saliency_cam.models.errors import SaliencyCamError

WeightSourceName = Literal["hf", "tfjs", "pb", "keras", "random"]
WEIGHT_SOURCES: tuple[str, ...] = ("hf", "tfjs", "pb", "keras", "random")

#: Hugging Face repository of the SALICON model (TF2 SavedModel), pinned to a commit so
#: an upstream change never silently changes the weights.
HF_REPO_ID = "alexanderkroner/MSI-Net"
HF_REVISION = "6bc49c197e19da6db3723c09e98eac03a7e1dad3"

#: The browser demo's TF.js graph models, one trained per quality preset. Overridable
#: (``SALIENCY_CAM_TFJS_BASE_URL``) so tests and mirrors can serve them.
TFJS_BASE_URL = "https://storage.googleapis.com/msi-net/model"

#: Google Drive base for the original frozen graphs (``SALIENCY_CAM_DRIVE_BASE_URL``).
DRIVE_BASE_URL = "https://drive.google.com"


@dataclass(frozen=True)
class DriveFile:
    """A zip on Google Drive holding ``model_<dataset>_<device>.pb``."""

    file_id: str
    member: str


@dataclass(frozen=True)
class Preset:
    """One input size MSI-Net is run at, and where its trained weights come from.

    ``kind`` is ``"quality"`` (the five speed/quality steps), ``"dataset"`` (the
    original models, each trained on one eye-tracking data set), ``"user"`` (a model
    trained with ``saliency-cam train`` or added with ``saliency-cam models add``,
    registered in a models directory's manifest) or ``"baseline"`` (a classical model
    computed in OpenCV/NumPy: nothing to export, see :data:`BASELINES`).
    ``default_source`` is the weight source ``saliency-cam export`` uses when none is given.
    """

    name: str
    kind: Literal["quality", "dataset", "user", "baseline"]
    height: int
    width: int
    default_source: str
    sources: tuple[str, ...]
    tfjs_url: str | None = None
    drive: dict[str, DriveFile] = field(default_factory=dict)
    dataset: str = "salicon"
    description: str = ""
    #: the network (a name in ``saliency_cam.models.architectures``)
    arch: str = DEFAULT_ARCH

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the network input."""
        return (self.height, self.width)

    @property
    def gflops(self) -> float:
        """Convolution cost of one frame at this size (of this preset's architecture; 0
        for the classical models, whose FFT/box filters cost a negligible fraction)."""
        if self.kind == "baseline":
            return 0.0
        return arch_gflops(self.arch, self.height, self.width)


#: The networks a model can be (``saliency-cam train --arch``), from the registry.
ARCHES: tuple[str, ...] = tuple(ARCHITECTURES)


def check_arch(name: str) -> str:
    """The canonical name of architecture ``name``, else a one-line error listing them."""
    return get_architecture(name).name


def arch_gflops(arch: str, height: int, width: int) -> float:
    """GFLOPs (multiply-accumulates × 2) of one ``height``×``width`` frame of ``arch``."""
    return get_architecture(arch).gflops(height, width)


def arch_presets(arch: str) -> dict[str, tuple[int, int]]:
    """The quality presets ``arch`` is offered at, name → (height, width): every network
    has the five; ``ultra`` (480×640) only the ones fast enough for it (its registry
    entry lists it)."""
    network = get_architecture(arch)
    offered = {n: p.size for n, p in QUALITY_PRESETS.items() if n in network.presets}
    if "ultra" in network.presets:
        offered["ultra"] = ULTRA_SIZE
    return offered


def _quality(name: str, height: int, width: int, description: str) -> Preset:
    return Preset(
        name=name,
        kind="quality",
        height=height,
        width=width,
        default_source="tfjs",
        sources=("tfjs", "hf", "keras", "random"),
        tfjs_url=f"{TFJS_BASE_URL}/{name}/model.json",
        description=description,
    )


QUALITY_PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _quality("very_low", 48, 64, "fastest; coarse map"),
        _quality("low", 72, 96, "fast"),
        _quality("medium", 120, 160, "balanced"),
        _quality("high", 168, 224, "detailed"),
        _quality("very_high", 240, 320, "SALICON training resolution"),
    )
}

_DRIVE_IDS: dict[str, tuple[int, int, str, str]] = {
    # dataset: (height, width, cpu zip id, gpu zip id)
    "salicon": (240, 320, "1Xy9C72pcA8DO4CY0rc6B7wsuE9L9DDZY", "1Th7fqVYx25ePMZz4LYsjNQWgAu8tJqwL"),
    "mit1003": (360, 360, "1jsESjYtsTvkMqKftA4rdstfB7mSYw5Ec", "1P_tWxBl3igZlzcHGp5H3T3kzsOskWeG6"),
    "cat2000": (216, 384, "1XxaEx7xxD6rHasQTa-VY7T7eVpGhMxuV", "1T6ChEGB6Mf02gKXrENjdeD6XXJkE_jHh"),
    "dutomron": (
        360,
        360,
        "14tuRZpKi8LMDKRHNVUylu6RuAaXLjHTa",
        "15LG_M45fpYC1pTwnwmArNTZw_Z3BOIA-",
    ),
    "pascals": (360, 360, "1af9IvBqFamKWx64Ror6ALivuKNioOVIf", "1C-T-RQzX2SaiY9Nw1HmaSx6syyCt01Z0"),
    "osie": (240, 320, "1JD1tvAqZGxj_gEGmIfoxb9dTe5HOaHj1", "1g8UPr1hGpUdOSWerRb751pZqiWBOZOCh"),
    "fiwi": (216, 384, "19qj9nAjd5gVHLB71oRn_YfYDw5n4Uf2X", "12OpIMIi2IyDVaxkE2d37XO9uUsSYf1Ec"),
}

DATASET_PRESETS: dict[str, Preset] = {
    name: Preset(
        name=name,
        kind="dataset",
        height=h,
        width=w,
        default_source="pb",
        sources=("pb", "hf", "keras", "random") if name == "salicon" else ("pb", "keras", "random"),
        drive={
            "cpu": DriveFile(cpu_id, f"model_{name}_cpu.pb"),
            "gpu": DriveFile(gpu_id, f"model_{name}_gpu.pb"),
        },
        dataset=name,
        description=f"original model trained on {name.upper()}",
    )
    for name, (h, w, cpu_id, gpu_id) in _DRIVE_IDS.items()
}

#: ImageNet-pretrained VGG16 the original training started from (not a saliency model).
VGG16_HYBRID_DRIVE_ID = "1ff0va472Xs1bvidCwRlW3Ctf7Hbyyn7p"

QUALITY_ORDER: tuple[str, ...] = tuple(QUALITY_PRESETS)


def _canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def resolve_quality(name: str) -> Preset:
    """Return the quality preset for ``name`` (``very-low`` and ``very_low`` both work).

    Raises :class:`SaliencyCamError` listing the valid names for anything else.
    """
    key = _canonical(name)
    if key in QUALITY_PRESETS:
        return QUALITY_PRESETS[key]
    valid = ", ".join(QUALITY_PRESETS)
    raise SaliencyCamError(f"unknown quality {name!r}: choose one of {valid}")


def resolve_dataset(name: str) -> Preset:
    """Return the dataset preset for ``name`` (salicon, mit1003, cat2000, …)."""
    key = _canonical(name)
    if key in DATASET_PRESETS:
        return DATASET_PRESETS[key]
    valid = ", ".join(DATASET_PRESETS)
    raise SaliencyCamError(f"unknown dataset {name!r}: choose one of {valid}")


#: The classical models (no weights, no export step): the speed and accuracy floor of
#: every comparison. They run at any size: ``NAME`` at :data:`BASELINE_QUALITY`'s input
#: size, ``NAME@QUALITY`` (what ``--model NAME --quality Q`` resolves to) at Q's.
BASELINES: dict[str, str] = {
    "spectral-residual": "classical: spectral residual of the log spectrum (Hou & Zhang 2007)",
    "fine-grained": "classical: centre-surround intensity contrast, 6 scales "
    "(Montabone & Ruiz 2010)",
    "centre": "classical: a Gaussian centre-bias map (the image content is ignored)",
}
BASELINE_QUALITY = "medium"
#: Other spellings of a baseline's name (canonical form → name).
_BASELINE_ALIASES = {"center": "centre", "center_bias": "centre", "centre_bias": "centre"}


def resolve_baseline(name: str) -> Preset | None:
    """The :class:`Preset` of a classical model (``spectral-residual``,
    ``fine-grained``, ``centre``, optionally ``@QUALITY``), or None if ``name`` is not one.

    >>> resolve_baseline("centre@very_low").size
    (48, 64)
    """
    base, _, quality = name.strip().partition("@")
    key = _canonical(base)
    key = _BASELINE_ALIASES.get(key, key).replace("_", "-")
    if key not in BASELINES:
        return None
    size = resolve_quality(quality or BASELINE_QUALITY)
    return Preset(
        name=f"{key}@{size.name}" if quality else key,
        kind="baseline",
        height=size.height,
        width=size.width,
        default_source="builtin",
        sources=("builtin",),
        dataset="",
        description=BASELINES[key],
    )


def resolve_preset(name: str, models_dir: str | os.PathLike[str] | None = None) -> Preset:
    """Return a quality, dataset, baseline or user preset by name; the error lists every kind.

    User models (``saliency-cam train --name NAME``) are looked up in the manifest of
    ``models_dir`` (default: ``$SALIENCY_CAM_MODELS_DIR`` or the user cache).
    """
    key = _canonical(name)
    if key in QUALITY_PRESETS:
        return QUALITY_PRESETS[key]
    if key in DATASET_PRESETS:
        return DATASET_PRESETS[key]
    baseline = resolve_baseline(name)
    if baseline is not None:
        return baseline
    users = user_presets(models_dir)
    if name.strip() in users:
        return users[name.strip()]
    mine = f"; your models are {', '.join(users)}" if users else ""
    raise SaliencyCamError(
        f"unknown preset {name!r}: qualities are {', '.join(QUALITY_PRESETS)}; "
        f"datasets are {', '.join(DATASET_PRESETS)}; classical models are "
        f"{', '.join(BASELINES)}{mine}"
    )


#: What a user model's name may look like (it becomes part of file names).
USER_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_user_model_name(name: str) -> str:
    """``name`` if it can name a user model: letters, digits, ``_.-``, not a built-in
    preset name (``medium``, ``salicon`` …, in any spelling)."""
    if not USER_MODEL_NAME.match(name):
        raise SaliencyCamError(
            f"model name {name!r} is not allowed: use letters, digits, '_', '.', '-' "
            "(up to 64 characters, starting with a letter or digit)"
        )
    if (
        _canonical(name) in QUALITY_PRESETS
        or _canonical(name) in DATASET_PRESETS
        or resolve_baseline(name) is not None
    ):
        raise SaliencyCamError(f"{name!r} is a built-in preset: choose another model name")
    return name


def user_preset(
    name: str,
    height: int,
    width: int,
    dataset: str = "",
    description: str = "",
    arch: str = DEFAULT_ARCH,
) -> Preset:
    """The :class:`Preset` of a user model (its weights are its own Keras file)."""
    return Preset(
        name=check_user_model_name(name),
        kind="user",
        height=height,
        width=width,
        default_source="keras",
        sources=("keras",),
        dataset=dataset or name,
        description=description or f"trained with saliency-cam train ({dataset or 'own data'})",
        arch=get_architecture(arch).name,
    )


def user_presets(models_dir: str | os.PathLike[str] | None = None) -> dict[str, Preset]:
    """User models registered in ``models_dir``'s manifest, by name."""
    # Imported here: the manifest module reads files, the built-in table does not.
    from saliency_cam.models.manifest import Manifest
    from saliency_cam.models.paths import models_dir as resolve_models_dir

    manifest = Manifest.load(resolve_models_dir(models_dir))
    return {
        name: user_preset(name, m.height, m.width, m.dataset, m.description, m.arch)
        for name, m in manifest.user_models.items()
    }


def all_presets(models_dir: str | os.PathLike[str] | None = None) -> dict[str, Preset]:
    """Quality, dataset and classical presets together, keyed by name (plus the user
    models of ``models_dir`` when one is given)."""
    baselines = {name: resolve_baseline(name) for name in BASELINES}
    built_in: dict[str, Preset] = {**QUALITY_PRESETS, **DATASET_PRESETS, **baselines}  # type: ignore[dict-item]
    if models_dir is None:
        return built_in
    return {**built_in, **user_presets(models_dir)}
