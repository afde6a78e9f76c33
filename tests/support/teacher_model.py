"""A teacher no network has seen: an ONNX graph (built with onnx.helper) whose map is a
fixed function of the image — a weighted colour brightness, blurred twice, min-max
normalised — registered in a models folder as a user model so the runtime opens it by
name, and scenes for a student to learn it from.

>>> register_teacher(models_dir, "blur", (48, 64))   # doctest: +SKIP
>>> open_session("blur", models_dir=models_dir).predict(frame)   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Weights of the B, G, R channels in the teacher's brightness (reds stand out).
CHANNEL_WEIGHTS = (0.1, 0.3, 0.6)


def teacher_proto():
    """The graph: uint8 BGR ``[batch, height, width, 3]`` → float ``[batch, height, width, 1]``."""
    from onnx import TensorProto, helper, numpy_helper

    dims = ["batch", "height", "width"]
    weights = numpy_helper.from_array(np.asarray(CHANNEL_WEIGHTS, np.float32), "channel_weights")
    axes = numpy_helper.from_array(np.asarray([3], np.int64), "channel_axis")
    nodes = [
        helper.make_node("Cast", ["frame_bgr"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["f", "channel_weights"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "channel_axis"], ["bright"], keepdims=1),
        helper.make_node("Transpose", ["bright"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node(
            "AveragePool",
            ["nchw"],
            ["blur1"],
            kernel_shape=[7, 7],
            pads=[3, 3, 3, 3],
            count_include_pad=0,
        ),  # fmt: skip
        helper.make_node(
            "AveragePool",
            ["blur1"],
            ["blur2"],
            kernel_shape=[7, 7],
            pads=[3, 3, 3, 3],
            count_include_pad=0,
        ),  # fmt: skip
        helper.make_node("Transpose", ["blur2"], ["nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("ReduceMin", ["nhwc"], ["low"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Sub", ["nhwc", "low"], ["shifted"]),
        helper.make_node("ReduceMax", ["shifted"], ["high"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Add", ["high", "eps"], ["den"]),
        helper.make_node("Div", ["shifted", "den"], ["saliency"]),
    ]
    eps = numpy_helper.from_array(np.asarray(1e-7, np.float32), "eps")
    graph = helper.make_graph(
        nodes,
        "blurred_brightness_teacher",
        [helper.make_tensor_value_info("frame_bgr", TensorProto.UINT8, [*dims, 3])],
        [helper.make_tensor_value_info("saliency", TensorProto.FLOAT, [*dims, 1])],
        initializer=[weights, axes, eps],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def teacher_map(image_bgr: np.ndarray) -> np.ndarray:
    """The same function in NumPy/OpenCV (what the ONNX graph must give)."""
    import cv2

    bright = image_bgr.astype(np.float32) @ np.asarray(CHANNEL_WEIGHTS, np.float32)
    for _ in range(2):
        bright = cv2.blur(bright, (7, 7), borderType=cv2.BORDER_REPLICATE)
    bright -= bright.min()
    return bright / (1e-7 + bright.max())


def register_teacher(models_dir: Path, name: str, size: tuple[int, int]) -> Path:
    """Write the graph into ``models_dir`` and register it as user model ``name`` at
    ``size`` (as the exporter records a variant); returns the ONNX path."""
    from saliency_cam.models.manifest import (
        Manifest,
        UserModel,
        VariantInfo,
        sha256_file,
        variant_filename,
    )

    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / variant_filename(name)
    path.write_bytes(teacher_proto().SerializeToString())
    with Manifest.editing(models_dir) as manifest:
        manifest.put(
            VariantInfo(
                preset=name,
                precision="fp32",
                height=size[0],
                width=size[1],
                file=path.name,
                sha256=sha256_file(path),
                weights={"source": "onnx", "trained": True, "dataset": name},
                opset=17,
            )
        )
        manifest.put_user_model(UserModel(name, size[0], size[1], dataset=name))
    return path


def scenes(count: int, seed: int, size: tuple[int, int] = (96, 128)) -> list[np.ndarray]:
    """``count`` BGR scenes: a random background with a few coloured discs and boxes."""
    import cv2

    rng = np.random.default_rng(seed)
    height, width = size
    out = []
    for _ in range(count):
        image = np.empty((height, width, 3), np.uint8)
        image[:] = rng.integers(0, 160, 3)
        for _ in range(int(rng.integers(2, 6))):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            r = int(rng.integers(4, height // 4))
            if rng.random() < 0.5:
                cv2.circle(image, (x, y), r, colour, -1)
            else:
                cv2.rectangle(image, (x - r, y - r), (x + r, y + r), colour, -1)
        out.append(image)
    return out


def write_scenes(folder: Path, count: int, seed: int) -> Path:
    """:func:`scenes` written as PNGs into ``folder``."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(scenes(count, seed)):
        cv2.imwrite(str(folder / f"scene_{index:03d}.png"), image)
    return folder
