"""The declared input/output contract of an ONNX model a user brings
(``saliency-cam models add NAME FILE.onnx``): how a uint8 BGR frame becomes the graph's
input and how its output becomes a map.

Exported MSI-Net variants need none: their graphs take the uint8 BGR frame
``[N, H, W, 3]`` and return ``[N, H, W, 1]`` in [0, 1]. Models exported elsewhere
(SalGAN, SalNet, DeepGaze, UNISAL …) take float RGB, often NCHW, normalised by a mean and
a standard deviation, and return a map of another size, sometimes logits. The contract
says which, in the option names scripts rely on:

- ``layout``: ``nhwc`` (default) or ``nchw``;
- ``channels``: ``rgb`` (default: what PyTorch/Keras exports expect) or ``bgr``;
- ``input_range``: ``0-255`` (default) or ``0-1``; the input dtype (uint8 or float32)
  is read from the graph;
- ``mean``/``std``: per channel (R, G, B order), applied after the range;
- ``size``: ``(H, W)`` to feed a graph whose height/width are symbolic (a fixed graph's
  own size otherwise);
- ``output``: ``none`` (default), ``sigmoid`` or ``softmax`` (over all pixels: a
  log-density such as DeepGaze's). The output may be ``1×H×W``, ``H×W×1`` or
  ``1×1×H×W`` (or ``1×H×W×1``) at any resolution.

Post-processing, in order: the activation, a bilinear resize to the input size, then a
min-max scaling of each map to [0, 1] (what MSI-Net's own graph does to its output, so
every model's map means the same thing to the renderers and the metrics; a constant map
becomes zeros).

>>> c = Contract.parse(layout="nchw", input_range="0-1", mean="0.485,0.456,0.406")
>>> c.layout, c.mean
('nchw', (0.485, 0.456, 0.406))
>>> Contract.from_json(c.to_json()) == c
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from saliency_cam.models.errors import SaliencyCamError

LAYOUTS: tuple[str, ...] = ("nhwc", "nchw")
CHANNELS: tuple[str, ...] = ("rgb", "bgr")
INPUT_RANGES: tuple[str, ...] = ("0-255", "0-1")
OUTPUTS: tuple[str, ...] = ("none", "sigmoid", "softmax")
#: Input element types a graph may declare (onnxruntime's names).
INPUT_TYPES: dict[str, Any] = {"tensor(uint8)": np.uint8, "tensor(float)": np.float32}
FLOAT_OUTPUTS: tuple[str, ...] = ("tensor(float)", "tensor(float16)", "tensor(double)")


class ContractError(SaliencyCamError):
    """A declared contract that does not fit the graph (or cannot be parsed)."""


def _choice(option: str, value: str, valid: tuple[str, ...]) -> str:
    text = value.strip().lower()
    if text not in valid:
        raise ContractError(f"{option} {value!r}: choose one of {' | '.join(valid)}")
    return text


def _triple(option: str, value: str | None) -> tuple[float, float, float] | None:
    if value is None or not value.strip():
        return None
    try:
        numbers = tuple(float(part) for part in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != 3 or not all(np.isfinite(numbers)):
        raise ContractError(f"{option} {value!r}: give three numbers R,G,B, e.g. 0.485,0.456,0.406")
    return numbers  # type: ignore[return-value]  # checked: three floats


def parse_size(value: str | None) -> tuple[int, int] | None:
    """``--size HxW`` as ``(H, W)``; None when not given."""
    if value is None or not value.strip():
        return None
    parts = value.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ContractError(f"--size {value!r}: give HxW in pixels, e.g. 192x256")
    height, width = (int(p) for p in parts)
    if not (8 <= height <= 4096 and 8 <= width <= 4096):
        raise ContractError(f"--size {value!r}: height and width must be 8 to 4096 pixels")
    return height, width


@dataclass(frozen=True)
class Contract:
    """How frames go into a user's ONNX graph and maps come out (see the module doc)."""

    layout: str = "nhwc"
    channels: str = "rgb"
    input_range: str = "0-255"
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    size: tuple[int, int] | None = None
    output: str = "none"

    @classmethod
    def parse(
        cls,
        *,
        layout: str = "nhwc",
        channels: str = "rgb",
        input_range: str = "0-255",
        mean: str | None = None,
        std: str | None = None,
        size: str | None = None,
        output: str = "none",
    ) -> Contract:
        """A contract from the command line's strings (each bad value: one line)."""
        stds = _triple("--std", std)
        if stds is not None and any(s == 0 for s in stds):
            raise ContractError(f"--std {std!r}: a standard deviation of 0 divides by zero")
        return cls(
            layout=_choice("--layout", layout, LAYOUTS),
            channels=_choice("--channels", channels, CHANNELS),
            input_range=_choice("--input-range", input_range, INPUT_RANGES),
            mean=_triple("--mean", mean),
            std=stds,
            size=parse_size(size),
            output=_choice("--output", output, OUTPUTS),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("mean", "std", "size"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contract:
        def tup(key: str) -> Any:
            value = data.get(key)
            return None if value is None else tuple(value)

        return cls(
            layout=data.get("layout", "nhwc"),
            channels=data.get("channels", "rgb"),
            input_range=data.get("input_range", "0-255"),
            mean=tup("mean"),
            std=tup("std"),
            size=tup("size"),
            output=data.get("output", "none"),
        )

    @property
    def is_float_work(self) -> bool:
        """True when the input needs float arithmetic (a range change, mean or std)."""
        return self.input_range != "0-255" or self.mean is not None or self.std is not None

    def preprocess(self, frames_bgr: np.ndarray, dtype: Any) -> np.ndarray:
        """uint8 BGR ``[N, H, W, 3]`` → the graph's input (``dtype`` from the graph)."""
        frames = frames_bgr[..., ::-1] if self.channels == "rgb" else frames_bgr
        if np.dtype(dtype) == np.uint8:
            tensor = np.ascontiguousarray(frames)
        else:
            tensor = frames.astype(np.float32)
            if self.input_range == "0-1":
                tensor = tensor / np.float32(255.0)
            # mean/std are given in R, G, B order (the convention of every model zoo)
            order = slice(None) if self.channels == "rgb" else slice(None, None, -1)
            if self.mean is not None:
                tensor = tensor - np.asarray(self.mean, np.float32)[order]
            if self.std is not None:
                tensor = tensor / np.asarray(self.std, np.float32)[order]
        if self.layout == "nchw":
            tensor = tensor.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(tensor, dtype=dtype)

    def postprocess(self, output: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """One frame's graph output → the float32 ``(H, W)`` map in [0, 1] at ``size``."""
        import cv2

        values = output_plane(output).astype(np.float64)
        if self.output == "sigmoid":
            values = 1.0 / (1.0 + np.exp(-values))
        elif self.output == "softmax":
            shifted = np.exp(values - values.max())
            values = shifted / shifted.sum()
        plane: np.ndarray = values.astype(np.float32)
        if plane.shape != tuple(size):
            plane = cv2.resize(plane, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        low, high = float(plane.min()), float(plane.max())
        if not (np.isfinite(low) and np.isfinite(high)):
            return plane  # the session refuses non-finite maps, naming the model
        if high - low <= 0:
            return np.zeros(plane.shape, np.float32)
        return ((plane - low) / (high - low)).astype(np.float32)


def output_plane(output: np.ndarray) -> np.ndarray:
    """The ``(H, W)`` plane of one frame's output: ``1×H×W``, ``H×W×1``, ``1×1×H×W`` or
    ``1×H×W×1``."""
    shape = output.shape
    if output.ndim == 4 and shape[0] == 1 and shape[1] == 1:
        return output[0, 0]
    if output.ndim == 4 and shape[0] == 1 and shape[3] == 1:
        return output[0, :, :, 0]
    if output.ndim == 3 and shape[0] == 1:
        return output[0]
    if output.ndim == 3 and shape[2] == 1:
        return output[:, :, 0]
    raise ContractError(
        f"output of shape {list(shape)} is not one map: expected 1xHxW, HxWx1 or 1x1xHxW"
    )


def check_graph(
    contract: Contract,
    input_type: str,
    input_shape: list[Any],
    output_type: str,
    output_shape: list[Any],
) -> tuple[Contract, Any]:
    """Check the contract against the graph's first input and output (types as
    onnxruntime names them, shapes with symbolic dims as strings/None).

    Returns the contract with its ``size`` filled in (the graph's own for a fixed graph)
    and the input dtype. Raises :class:`ContractError` naming the first mismatch.
    """
    dtype = _input_dtype(contract, input_type)
    spatial = _input_spatial_dims(contract, input_shape)
    if dtype == np.uint8 and contract.is_float_work:
        raise ContractError(
            "the graph's input is uint8: --input-range 0-1, --mean and --std need a float input"
        )
    size = _input_size(contract.size, spatial, input_shape)
    _check_output(output_type, output_shape)
    return Contract(**{**asdict(contract), "size": size}), dtype


def _input_dtype(contract: Contract, input_type: str) -> Any:
    """The numpy dtype of the graph's input (uint8 or float32; anything else refused)."""
    if input_type not in INPUT_TYPES:
        raise ContractError(
            f"the graph's input is {input_type}: only uint8 and float32 inputs are supported"
        )
    return INPUT_TYPES[input_type]


def _input_spatial_dims(contract: Contract, input_shape: list[Any]) -> list[Any]:
    """The input's height and width dims (as the graph declares them), once its rank,
    batch and channel count fit one 3-channel image in the contract's layout."""
    if len(input_shape) != 4:
        raise ContractError(
            f"the graph's input has rank {len(input_shape)} ({_shape(input_shape)}): "
            "expected 4 (one image: NHWC or NCHW)"
        )
    batch, *rest = input_shape
    if isinstance(batch, int) and batch != 1:
        raise ContractError(
            f"the graph's input takes {batch} images per run: expected 1 or dynamic"
        )
    channel_axis = 0 if contract.layout == "nchw" else 2
    channels = rest[channel_axis]
    if channels != 3:
        other = rest[2 if contract.layout == "nchw" else 0]
        hint = ""
        if other == 3:  # 3 channels on the other axis: the layout option is wrong
            other_layout = "nhwc" if contract.layout == "nchw" else "nchw"
            hint = f" (it looks like {other_layout}: try --layout {other_layout})"
        raise ContractError(
            f"the graph's input {_shape(input_shape)} has {channels} channels in the "
            f"--layout {contract.layout} position: expected 3{hint}"
        )
    return [d for i, d in enumerate(rest) if i != channel_axis]


def _input_size(
    size: tuple[int, int] | None, spatial: list[Any], input_shape: list[Any]
) -> tuple[int, int]:
    """The size frames are fed at: a fixed graph's own (``--size`` may only repeat it),
    or ``size`` for a graph with a dynamic height/width (where it must fit any fixed
    one of the two)."""
    fixed = [d if isinstance(d, int) and d > 0 else None for d in spatial]
    if None not in fixed:
        own = (int(fixed[0]), int(fixed[1]))  # type: ignore[arg-type]  # checked not None
        if size is not None and size != own:
            raise ContractError(
                f"--size {size[0]}x{size[1]} differs from the graph's fixed input "
                f"{own[0]}x{own[1]}: leave --size out"
            )
        return own
    if size is None:
        raise ContractError(
            f"the graph's input {_shape(input_shape)} has a dynamic height/width: give --size HxW"
        )
    for want, got in zip(fixed, size, strict=True):
        if want is not None and want != got:
            raise ContractError(
                f"--size {size[0]}x{size[1]} does not fit the graph's input {_shape(input_shape)}"
            )
    return size


def _check_output(output_type: str, output_shape: list[Any]) -> None:
    """The graph's output must be one float map (1xHxW, HxWx1, 1x1xHxW or 1xHxWx1)."""
    if output_type not in FLOAT_OUTPUTS:
        raise ContractError(f"the graph's output is {output_type}: expected a float map")
    if len(output_shape) not in (3, 4):
        raise ContractError(
            f"the graph's output has rank {len(output_shape)} ({_shape(output_shape)}): "
            "expected one map, 1xHxW, HxWx1 or 1x1xHxW"
        )
    ones = [i for i, d in enumerate(output_shape) if d == 1]
    if len(output_shape) == 4 and not ({0, 1} <= set(ones) or {0, 3} <= set(ones)):
        _maybe_not_one_map(output_shape)


def _maybe_not_one_map(shape: list[Any]) -> None:
    """A rank-4 output whose channel axis is fixed and not 1 holds several maps."""
    channel_dims = [shape[1], shape[3]]
    if all(isinstance(d, int) and d > 1 for d in channel_dims):
        raise ContractError(
            f"the graph's output {_shape(shape)} has more than one channel: expected one map"
        )


def _shape(shape: list[Any]) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) and d > 0 else "?" for d in shape) + "]"
