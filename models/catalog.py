"""What models exist: every registry preset and user model, and which of its variants are exported.

>>> for entry in list_models():                    # doctest: +SKIP
...     print(entry.name, entry.size, entry.exported, entry.untrained)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from saliency_cam.models.manifest import Manifest
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import all_presets, arch_presets


@dataclass(frozen=True)
class ModelEntry:
    """One preset and its exported variants.

    ``exported``: the precisions exported (empty: none); ``trained``: for each of them,
    whether it holds trained weights (False: seeded random, UNTRAINED: tests and speed
    only). Two fields, because one ``{precision: trained}`` map read as "not exported".
    A classical model (``kind == "baseline"``) is always exported as fp32, trained."""

    name: str
    kind: str
    size: tuple[int, int]
    gflops: float
    description: str
    exported: tuple[str, ...]
    trained: dict[str, bool]
    #: the network (``saliency_cam.models.architectures``; ``opencv`` for the classical
    #: models) and the quality presets it is offered at (``ultra`` only for fast ones)
    arch: str = "msinet"
    presets: tuple[str, ...] = ()

    @property
    def untrained(self) -> bool:
        """True when every exported variant has seeded random weights."""
        return bool(self.exported) and not any(self.trained.values())


def list_models(models_dir: str | os.PathLike[str] | None = None) -> list[ModelEntry]:
    """Every preset (qualities first, then datasets) with what is exported in
    ``models_dir`` (default: ``$SALIENCY_CAM_MODELS_DIR`` or the user cache)."""
    directory = resolve_models_dir(models_dir)
    manifest = Manifest.load(directory)
    entries = []
    # user models (saliency-cam train) come last, after the built-in presets
    for name, preset in all_presets(directory).items():
        trained = {
            info.precision: info.trained
            for info in manifest.variants.values()
            if info.preset == name and info.path.exists()
        }
        if preset.kind == "baseline":  # computed in code: always there, in float32
            trained = {"fp32": True}
        entries.append(
            ModelEntry(
                name,
                preset.kind,
                preset.size,
                preset.gflops,
                preset.description,
                exported=tuple(trained),
                trained=trained,
                arch="opencv" if preset.kind == "baseline" else preset.arch,
                presets=() if preset.kind == "baseline" else tuple(arch_presets(preset.arch)),
            )
        )
    return entries
