"""MSI-Net definition, the preset registry and the model manifest.

Importing this package never imports TensorFlow; only ``saliency_cam.models.msinet``
does, and only the export step needs it.
"""

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import (
    DATASET_PRESETS,
    QUALITY_PRESETS,
    Preset,
    resolve_preset,
    resolve_quality,
)

__all__ = [
    "DATASET_PRESETS",
    "QUALITY_PRESETS",
    "Preset",
    "SaliencyCamError",
    "resolve_preset",
    "resolve_quality",
]
