"""What models exist: every registry preset and user model, and which of its variants are exported.

>>> for entry in list_models():                    # doctest: +SKIP
...     print(entry.name, entry.size, entry.exported)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from saliency_cam.models.manifest import Manifest
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import all_presets, arch_presets


@dataclass(frozen=True)
class ModelEntry:
    """One preset and its exported variants (``{precision: trained}``; empty: not exported)."""

    name: str
    kind: str
    size: tuple[int, int]
    gflops: float
    description: str
    exported: dict[str, bool]
    #: the network (``msinet`` or ``lite``) and the quality presets it is offered at
    #: (``ultra`` only for the fast ones)
    arch: str = "msinet"
    presets: tuple[str, ...] = ()

    @property
    def untrained(self) -> bool:
        """True when every exported variant has seeded random weights."""
        return bool(self.exported) and not any(self.exported.values())


def list_models(models_dir: str | os.PathLike[str] | None = None) -> list[ModelEntry]:
    """Every preset (qualities first, then datasets) with what is exported in
    ``models_dir`` (default: ``$SALIENCY_CAM_MODELS_DIR`` or the user cache)."""
    directory = resolve_models_dir(models_dir)
    manifest = Manifest.load(directory)
    entries = []
    # user models (saliency-cam train) come last, after the built-in presets
    for name, preset in all_presets(directory).items():
        exported = {
            info.precision: info.trained
            for info in manifest.variants.values()
            if info.preset == name and info.path.exists()
        }
        entries.append(
            ModelEntry(
                name, preset.kind, preset.size, preset.gflops, preset.description, exported,
                preset.arch, tuple(arch_presets(preset.arch)),
            )  # fmt: skip
        )
    return entries
