"""Turn a training run's best weights into a named user model: ``NAME.weights.h5``, a
card, and the ONNX variant exported through the export step (with its parity check),
registered in the models directory's manifest so ``--model NAME`` works everywhere.

>>> publish("webpages", run_dir, (120, 160), card={...})  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from datetime import datetime, timezone
from typing import Any

from saliency_cam.models.atomic import atomic_output, atomic_write_text
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.manifest import Manifest, UserModel, VariantInfo
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import user_preset

#: User models keep their weights and card in ``<models dir>/user/<name>/``.
USER_FOLDER = "user"


def publish(
    name: str,
    weights_file: str | os.PathLike[str],
    size: tuple[int, int],
    *,
    models_dir: str | os.PathLike[str] | None = None,
    dataset: str = "",
    card: dict[str, Any] | None = None,
    on_step: Any = None,
    arch: str = "msinet",
) -> VariantInfo:
    """Export ``weights_file`` (a ``.weights.h5`` of MSI-Net, or of the ``arch`` network)
    as user model ``name`` at ``size`` into ``models_dir`` and register it; returns the
    fp32 variant's entry.

    Order: read and check the weights, export the ONNX (parity-checked, atomic), copy the
    weights and write the card, and only then register the name in the manifest: a
    failure before that leaves no model of that name.
    """
    from saliency_cam.export.onnx_export import export_variant
    from saliency_cam.export.readers.keras_weights import read_keras_weights
    from saliency_cam.export.variants import user_model_origin

    directory = resolve_models_dir(models_dir)
    preset = user_preset(name, *size, dataset=dataset, arch=arch)
    Manifest.load(directory)  # a damaged manifest is reported before any work
    loaded = read_keras_weights(weights_file, dataset=preset.dataset, arch=preset.arch)
    loaded.source = "keras"
    loaded.origin = user_model_origin(dataset)
    info = export_variant(preset, loaded, directory, on_step=on_step)

    folder = directory / USER_FOLDER / name
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_output(folder / f"{name}.weights.h5") as tmp:
        shutil.copyfile(weights_file, tmp)
    full_card = {
        "name": name,
        "size": list(size),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "onnx": info.file,
        "arch": preset.arch,
        "parity_max_abs": info.parity.get("max_abs"),
        "hardware": {"machine": platform.machine(), "processor": platform.processor()},
        **(card or {}),
    }
    atomic_write_text(folder / "card.json", json.dumps(full_card, indent=2, default=str) + "\n")

    with Manifest.editing(directory) as manifest:
        _drop_stale_variants(manifest, info)
        manifest.put_user_model(
            UserModel(
                name=name,
                height=size[0],
                width=size[1],
                dataset=dataset,
                description=preset.description,
                folder=f"{USER_FOLDER}/{name}",
                created=full_card["created"],
                arch=preset.arch,
            )
        )
    return info


def _drop_stale_variants(manifest: Manifest, fresh: VariantInfo) -> None:
    """Forget (and delete) the other precisions of a model published again under its
    name (``--replace``) that were exported from its earlier weights or size: they would
    otherwise go on serving the old model for ``--precision int8`` etc. Exported again
    from the new weights on demand (``saliency-cam export --model NAME --precision ...``)."""
    for key, variant in list(manifest.variants.items()):
        if variant.preset != fresh.preset or variant.precision == fresh.precision:
            continue
        same = (variant.height, variant.width) == (fresh.height, fresh.width)
        if same and variant.weights.get("revision") == fresh.weights.get("revision"):
            continue
        del manifest.variants[key]
        variant.path.unlink(missing_ok=True)


def check_free_name(name: str, models_dir: str | os.PathLike[str] | None, replace: bool) -> None:
    """Refuse to overwrite an existing user model unless ``replace``."""
    directory = resolve_models_dir(models_dir)
    if name in Manifest.load(directory).user_models and not replace:
        raise SaliencyCamError(
            f"a model named {name!r} already exists in {directory}: choose another --name "
            "or pass --replace"
        )
