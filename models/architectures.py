"""The architecture registry: every network saliency-cam trains, exports and runs.

One entry per architecture says what it is, how it is built (a lazy reference to its
Keras module, so nothing here imports TensorFlow), the input contract of its exported
graph, the presets it runs at by default, its default training loss, its parameter
count and per-frame cost. Train, export, the manifest, ``list_models``, the model card
and the live HUD read the entry instead of assuming MSI-Net.

Adding an architecture is one :class:`Architecture` in :data:`ARCHITECTURES` (or a
:func:`register` call) plus its Keras module, which defines::

    build(height, width, **options) -> keras.Model   # RGB float 0..255 in, [N,H,W,1] out
    load_weights(model, weights)                      # {"<scope>/kernel": array, ...}
    extract_weights(model) -> dict[str, np.ndarray]

>>> get_architecture("mlnet").title
'ML-Net'
>>> get_architecture("msinet").default_loss
'kld'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from saliency_cam.models import architecture as _msinet
from saliency_cam.models import lite_arch as _lite
from saliency_cam.models import mlnet_layers as _mlnet
from saliency_cam.models.errors import SaliencyCamError

#: Architecture of anything recorded before the registry existed (old manifests).
DEFAULT_ARCH = "msinet"
#: The five quality presets every architecture here runs at.
QUALITY_NAMES: tuple[str, ...] = ("very_low", "low", "medium", "high", "very_high")
#: The ``ultra`` size (H, W), offered only to networks that run it in real time on a
#: laptop CPU (the lite network: 0.9 GMACs at 480×640, against MSI-Net's 182).
ULTRA_SIZE: tuple[int, int] = (480, 640)


class LazyShapes(Mapping[str, tuple[int, ...]]):
    """``expected_shapes`` read from the network's Keras module when first needed (for
    networks whose variables are named by their Keras layers, such as the lite one): the
    registry itself stays free of TensorFlow."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._shapes: dict[str, tuple[int, ...]] | None = None

    def _load(self) -> dict[str, tuple[int, ...]]:
        if self._shapes is None:
            self._shapes = importlib.import_module(self._module).expected_shapes()
        return self._shapes

    def __getitem__(self, key: str) -> tuple[int, ...]:
        return self._load()[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


@dataclass(frozen=True)
class InputContract:
    """What the network itself takes and gives (the exported ONNX graph adds the uint8
    BGR → float RGB cast in front, the same for every architecture)."""

    layout: str = "NHWC"
    channels: str = "RGB"
    value_range: str = "0-255"
    #: subtracted from R, G, B (in that order) by the network's first layer
    mean: tuple[float, float, float] = _msinet.RGB_MEAN
    #: input height and width must be multiples of this
    size_multiple: int = _msinet.SIZE_MULTIPLE
    output: str = "[N, H, W, 1] at the input size, min-max normalised to [0, 1]"


@dataclass(frozen=True)
class Architecture:
    """One network. ``module`` is the Keras module (imported only when building);
    ``builder`` the name of its build function there. ``trace_dynamic``: the exporter
    traces the graph at unknown height and width (no dilated convolutions to keep
    lean: see ``saliency_cam.export.dynamic``)."""

    name: str
    title: str
    module: str
    builder: str
    expected_shapes: Mapping[str, tuple[int, ...]]
    parameters: int
    gflops: Callable[[int, int], float]
    default_loss: str
    description: str
    reference: str = ""
    contract: InputContract = field(default_factory=InputContract)
    presets: tuple[str, ...] = QUALITY_NAMES
    default_preset: str = "medium"
    trace_dynamic: bool = False
    #: build options the trainer may pass (name → default), e.g. ML-Net's prior
    options: Mapping[str, Any] = field(default_factory=dict)
    #: seeded random weights come from the builder's own initialisers (``seed=``), not
    #: from He-normal kernels drawn per scope (networks with BatchNorm and depthwise
    #: layers, whose variables are not plain kernel/bias pairs)
    seeded_builder: bool = False

    def keras_module(self) -> ModuleType:
        """The Keras module (imports TensorFlow: the export extra)."""
        return importlib.import_module(self.module)

    def build(self, height: int | None = None, width: int | None = None, **options: Any):
        """The Keras model at ``height``×``width`` (None: any size), weights random."""
        return getattr(self.keras_module(), self.builder)(height, width, **options)

    def describe(self) -> dict[str, Any]:
        """For model cards and result metadata."""
        return {
            "architecture": self.name,
            "title": self.title,
            "parameters": self.parameters,
            "reference": self.reference,
        }


ARCHITECTURES: dict[str, Architecture] = {}


def register(arch: Architecture) -> Architecture:
    """Add ``arch`` (its name must be new); returns it."""
    if arch.name in ARCHITECTURES:
        raise ValueError(f"architecture {arch.name!r} is registered already")
    ARCHITECTURES[arch.name] = arch
    return arch


register(
    Architecture(
        name="msinet",
        title="MSI-Net",
        module="saliency_cam.models.msinet",
        builder="build_msinet",
        expected_shapes=_msinet.EXPECTED_SHAPES,
        parameters=_msinet.PARAMETER_COUNT,
        gflops=_msinet.gflops,
        default_loss="kld",
        description="contextual encoder-decoder: VGG-16, ASPP, bilinear decoder",
        reference="Kroner et al., Neural Networks 2020",
    )
)
register(
    Architecture(
        name="mlnet",
        title="ML-Net",
        module="saliency_cam.models.mlnet",
        builder="build_mlnet",
        expected_shapes=_mlnet.EXPECTED_SHAPES,
        parameters=_mlnet.PARAMETER_COUNT,
        gflops=_mlnet.gflops,
        default_loss="nmse",
        description="multi-level VGG-16 features, a small head and a learned prior",
        reference="Cornia et al., ICPR 2016",
        trace_dynamic=True,
        options={"prior_weight": _mlnet.PRIOR_WEIGHT, "dropout": _mlnet.DROPOUT},
    )
)
register(
    Architecture(
        name=_lite.ARCH,
        title="Lite",
        module="saliency_cam.models.lite",
        builder="build_lite",
        expected_shapes=LazyShapes("saliency_cam.models.lite"),
        parameters=_lite.PARAMETER_COUNT,
        gflops=lambda height, width: 2 * _lite.gmacs(height, width),
        default_loss="kld-cc",
        description="MobileNetV2 encoder, depthwise ASPP-like head, light decoder "
        "(distilled from a teacher: train --teacher)",
        reference="after FastSal (Hu & McGuinness 2020) and UNISAL (Droste et al. 2020)",
        presets=(*QUALITY_NAMES, "ultra"),
        seeded_builder=True,
        # MobileNetV2's own input scaling: x / 127.5 - 1 (inside the network)
        contract=InputContract(mean=(127.5, 127.5, 127.5)),
    )
)


def get_architecture(name: str | None) -> Architecture:
    """The entry called ``name`` (None or "" → MSI-Net, what old records mean); one
    readable error listing the known ones otherwise."""
    key = (name or DEFAULT_ARCH).strip().lower().replace("-", "").replace("_", "")
    for arch in ARCHITECTURES.values():
        if arch.name.replace("-", "").replace("_", "") == key:
            return arch
    raise SaliencyCamError(
        f"unknown architecture {name!r}: choose one of {', '.join(ARCHITECTURES)}"
    )
