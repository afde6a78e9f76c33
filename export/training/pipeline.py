"""The tf.data input pipeline: decode in parallel, letterbox as at inference, batch,
prefetch.

Preprocessing is the runtime's (docs/design.md §3): aspect-preserving resize (area when
shrinking, bicubic when enlarging), symmetric padding to the network size — images with
grey 126 (:class:`~saliency_cam.realtime.runtime.letterbox.Letterbox`, the one
letterboxer), maps with 0. The order of each epoch is a seeded permutation, so a resumed
run sees exactly the images it would have seen. A sample whose file cannot be decoded
is recorded in the data's :class:`~.datasets.folder.BadFiles` (a warning naming it) and
its place in the batch goes to the next readable sample of the list: every epoch keeps
its number of batches, so step counts and resumes stay exact.

>>> ds = make_dataset(data, indices, (48, 64), batch_size=1, epoch=0)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from saliency_cam.export.training.datasets.folder import (
    FolderData,
    Sample,
    target_map,
    unreadable_reason,
)
from saliency_cam.models.errors import InputError
from saliency_cam.realtime.runtime.letterbox import Letterbox
from saliency_cam.realtime.runtime.session import as_bgr_uint8

#: Batches prepared ahead of the training step (the original prefetches 5).
PREFETCH = 5


def epoch_order(count: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The order of the training images in ``epoch`` (the same on every resume)."""
    order = np.arange(count)
    if shuffle:
        np.random.default_rng([seed, epoch]).shuffle(order)
    return order


def letterbox_map(saliency: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A ground-truth map resized like its image and padded with 0 to ``size``."""
    import cv2

    box = Letterbox.fit(saliency.shape[:2], size)
    ih, iw = box.inner
    h, w = box.source
    interp = cv2.INTER_AREA if ih <= h and iw <= w else cv2.INTER_CUBIC
    inner = cv2.resize(saliency.astype(np.float32), (iw, ih), interpolation=interp)
    out = np.zeros(size, np.float32)
    out[box.top : box.top + ih, box.left : box.left + iw] = np.maximum(inner, 0.0)
    return out


def load_example(
    sample: Sample, size: tuple[int, int], sigma: float | None = None, flip: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(RGB float32 image 0..255 [H, W, 3], map float32 [H, W, 1]) at network ``size``."""
    from saliency_cam.models.groundtruth import read_image

    image = as_bgr_uint8(read_image(sample.image))
    saliency = target_map(sample, sigma)
    if saliency.shape != image.shape[:2]:
        import cv2

        # maps published at another size than their stimulus (rare): bring them over
        saliency = cv2.resize(saliency, (image.shape[1], image.shape[0]), cv2.INTER_LINEAR)
    boxed = Letterbox.fit(image.shape[:2], size).apply(image)
    rgb = boxed[:, :, ::-1].astype(np.float32)
    target = letterbox_map(saliency, size)
    if flip:
        rgb, target = rgb[:, ::-1], target[:, ::-1]
    return np.ascontiguousarray(rgb), np.ascontiguousarray(target[:, :, None])


def load_readable(
    data: FolderData,
    indices: Sequence[int],
    position: int,
    size: tuple[int, int],
    sigma: float | None = None,
    flip: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`load_example` of ``data.samples[indices[position]]``, or, when one of its
    files cannot be decoded (recorded in ``data.bad``), of the next readable sample of
    ``indices`` (cyclically). Raises the last error when none is readable."""
    error: InputError | None = None
    for step in range(len(indices)):
        sample = data.samples[int(indices[(position + step) % len(indices)])]
        if any(path in data.bad for path in sample.files):
            continue
        try:
            return load_example(sample, size, sigma, flip)
        except InputError as exc:
            error = exc
            culprit = _culprit(sample, exc)
            data.bad.add(culprit, unreadable_reason(exc, culprit))
    raise error or InputError(f"no readable sample left in {data.root}")


def _culprit(sample: Sample, exc: InputError) -> Path:
    """The file of ``sample`` an error names (the stimulus when it names none)."""
    text = str(exc)
    return next((p for p in sample.files if str(p) in text), sample.image)


def make_dataset(
    data: FolderData,
    indices: Sequence[int],
    size: tuple[int, int],
    *,
    batch_size: int = 1,
    epoch: int = 0,
    seed: int = 0,
    shuffle: bool = False,
    flip: bool = False,
    skip_batches: int = 0,
    sigma: float | None = None,
):  # -> tf.data.Dataset
    """Batches of ``(images, maps)`` for ``indices`` of ``data``; with ``shuffle`` in the
    seeded order of ``epoch``, starting after ``skip_batches`` (a resumed epoch). ``flip``
    mirrors a seeded half of the training images left-right."""
    import tensorflow as tf

    order = np.asarray(indices)[epoch_order(len(indices), seed, epoch, shuffle)]
    # positions in the whole epoch's order: a resumed epoch substitutes as the first did
    positions = np.arange(skip_batches * batch_size, len(order), dtype=np.int64)
    flips = (
        np.random.default_rng([seed, epoch, 1]).random(len(indices))[positions] < 0.5
        if flip
        else np.zeros(len(positions), bool)
    )
    height, width = size

    def load(position: np.int64, mirror: np.bool_) -> tuple[np.ndarray, np.ndarray]:
        return load_readable(data, order, int(position), size, sigma, bool(mirror))

    def tf_load(position, mirror):
        image, target = tf.numpy_function(load, [position, mirror], [tf.float32, tf.float32])
        image.set_shape([height, width, 3])
        target.set_shape([height, width, 1])
        return image, target

    ds = tf.data.Dataset.from_tensor_slices((positions, flips))
    ds = ds.map(tf_load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).prefetch(PREFETCH)
