"""The models directory's ``manifest.json``: which ONNX variants exist and how they
were made. The exporter writes it; the runtime reads it (no TensorFlow needed).

>>> m = Manifest.load(Path("~/.cache/saliency-cam/models").expanduser())  # doctest: +SKIP
>>> m.find("medium", "fp32").path  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from saliency_cam.models.atomic import atomic_write_text
from saliency_cam.models.cost import Cost
from saliency_cam.models.errors import SaliencyCamError

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
#: bf16 has no file of its own: OpenVINO runs the fp32 file in bf16 (its entry records
#: the fidelity measured that way).
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "bf16")
#: ``weights.source`` of a classical model computed in code (``registry.BASELINES``).
BUILTIN_SOURCE = "builtin"
#: ``weights.source`` of an ONNX file added with ``saliency-cam models add``.
ADDED_SOURCE = "onnx"


def variant_key(preset: str, precision: str = "fp32") -> str:
    """Manifest key of one variant, e.g. ``medium-fp32``."""
    return f"{preset}-{precision}"


def variant_filename(preset: str, precision: str = "fp32", arch: str = "msinet") -> str:
    """ONNX file name of one variant, e.g. ``msinet_medium_fp32.onnx`` (the
    architecture's name first: ``mlnet_mine_fp32.onnx``)."""
    return f"{arch}_{preset}_{precision}.onnx"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class VariantInfo:
    """One exported ONNX variant as recorded in the manifest.

    ``weights`` holds ``source`` (hf/tfjs/pb/keras/random), ``revision``, ``dataset``
    and ``trained`` (False for seeded random weights: such a model is untrained and
    every output made with it says so). ``parity`` holds the ORT-vs-TensorFlow check
    made at export; ``fidelity`` (non-fp32 only) the comparison with fp32.
    """

    preset: str
    precision: str
    height: int
    width: int
    file: str
    sha256: str
    weights: dict[str, Any]
    opset: int
    exporter: dict[str, str] = field(default_factory=dict)
    parity: dict[str, Any] = field(default_factory=dict)
    fidelity: dict[str, Any] = field(default_factory=dict)
    default_ok: bool = True
    note: str = ""
    created: str = ""
    #: The declared pre/post-processing of a model added with ``saliency-cam models add``
    #: (:class:`~saliency_cam.models.contract.Contract` as JSON); empty for exported
    #: MSI-Net variants, whose graph takes the uint8 BGR frame itself.
    contract: dict[str, Any] = field(default_factory=dict)
    #: the network (``saliency_cam.models.architectures``); entries written before the
    #: field existed are MSI-Net
    arch: str = "msinet"
    directory: Path | None = field(default=None, compare=False, repr=False)
    #: What exporting it took in this run (seconds, peak memory); not saved.
    cost: Cost | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return variant_key(self.preset, self.precision)

    @property
    def network(self) -> str:
        """The architecture's display name (``MSI-Net``, ``ML-Net`` …)."""
        from saliency_cam.models.architectures import get_architecture

        return get_architecture(self.arch).title

    @property
    def trained(self) -> bool:
        """False when the weights are seeded random (tests and speed only)."""
        return bool(self.weights.get("trained", False))

    @property
    def builtin(self) -> bool:
        """True for a classical model computed in code (no file: nothing to export)."""
        return self.weights.get("source") == BUILTIN_SOURCE

    @property
    def path(self) -> Path:
        """Absolute path of the ONNX file."""
        if self.directory is None:
            raise SaliencyCamError(f"variant {self.key} has no models directory")
        return self.directory / self.file

    def describe(self) -> dict[str, object]:
        """What this variant is, for reports and result metadata (sessions add how it runs)."""
        return {
            "preset": self.preset,
            "arch": self.arch,
            "precision": self.precision,
            "input": f"{self.height}x{self.width}",
            "weights": self.weights.get("source"),
            "trained": self.trained,
            "sha256": self.sha256,
        }

    def label(self) -> str:
        """Short human label, e.g. ``medium fp32 (tfjs)`` or ``… UNTRAINED``."""
        if self.builtin:
            return f"{self.preset} (classical)"
        text = f"{self.preset} {self.precision} ({self.weights.get('source', '?')})"
        return text if self.trained else f"{text} UNTRAINED random weights"

    def output_note(self) -> str:
        """What made an output, stored in its metadata (says UNTRAINED for random weights)."""
        if self.builtin or self.contract:
            return f"saliency-cam {self.label()}"
        return f"saliency-cam {self.network} {self.label()}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("directory")
        data.pop("cost")
        if not data["contract"]:
            data.pop("contract")  # exported variants: the manifest reads as before
        return data


@dataclass
class UserModel:
    """A model trained by ``saliency-cam train`` and registered under its own name.

    It behaves like a preset (``--model NAME``): ``height``×``width`` is its input size,
    its ONNX variants are ordinary manifest variants whose ``preset`` is ``name``, and
    ``folder`` (relative to the models directory) holds its ``.weights.h5`` and card.
    """

    name: str
    height: int
    width: int
    dataset: str = ""
    description: str = ""
    folder: str = ""
    created: str = ""
    #: the network it was trained as (``saliency-cam train --arch``); entries written
    #: before the field existed load as MSI-Net
    arch: str = "msinet"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Manifest:
    """All variants in one models directory, plus the user models registered there."""

    directory: Path
    variants: dict[str, VariantInfo] = field(default_factory=dict)
    user_models: dict[str, UserModel] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        """Read ``directory/manifest.json``; an absent file is an empty manifest."""
        directory = Path(directory)
        path = directory / MANIFEST_NAME
        if not path.exists():
            return cls(directory)
        try:
            data = json.loads(path.read_text())
            variants = {
                key: VariantInfo(**{**entry, "directory": directory})
                for key, entry in data.get("variants", {}).items()
            }
            user_models = {
                name: UserModel(**entry) for name, entry in data.get("user_models", {}).items()
            }
        except (OSError, ValueError, TypeError) as exc:
            raise SaliencyCamError(
                f"damaged manifest {path}: {exc}; delete it and run 'saliency-cam export' again"
            ) from exc
        return cls(directory, variants, user_models)

    def find(self, preset: str, precision: str = "fp32") -> VariantInfo | None:
        """The variant for ``preset``/``precision`` if exported, else None."""
        return self.variants.get(variant_key(preset, precision))

    def put(self, info: VariantInfo) -> None:
        info.directory = self.directory
        self.variants[info.key] = info

    def put_user_model(self, model: UserModel) -> None:
        """Register (or replace) a user model."""
        self.user_models[model.name] = model

    @classmethod
    @contextlib.contextmanager
    def editing(cls, directory: str | os.PathLike[str]) -> Iterator[Manifest]:
        """Load, let the caller change, and save the manifest while holding the models
        folder's lock, so two processes exporting into one folder never lose each
        other's entries (a read-modify-write without it keeps only the last writer's).

        >>> with Manifest.editing(models) as manifest:     # doctest: +SKIP
        ...     manifest.put(info)
        """
        directory = Path(directory)
        with folder_lock(directory):
            manifest = cls.load(directory)
            yield manifest
            manifest.save()

    def save(self) -> None:
        """Write atomically (temp file + rename) so a crash keeps the old manifest."""
        self.directory.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "variants": {k: v.to_json() for k, v in sorted(self.variants.items())},
        }
        if self.user_models:
            payload["user_models"] = {k: v.to_json() for k, v in sorted(self.user_models.items())}
        atomic_write_text(self.directory / MANIFEST_NAME, json.dumps(payload, indent=2) + "\n")


def folder_lock(directory: str | os.PathLike[str]) -> Any:
    """The models folder's inter-process lock (one ``.manifest.lock`` file, ``filelock``):
    held for every manifest write and for each variant's export. Re-entrant within a
    process (one lock object per path), so an export may write the manifest while
    holding it. Waits as long as the other holder needs."""
    from filelock import FileLock

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return FileLock(str(directory / ".manifest.lock"), is_singleton=True)
