"""Saliency maps for still images at their original size (``saliency-cam image``).

For each picture: read it upright (EXIF orientation applied), letterbox it into the
network, crop the map back to exactly the picture's size and write it as an 8-bit
grayscale PNG; optionally the blend (``--overlay``) and the float map (``--npy``).

>>> session = open_session("very_high")                          # doctest: +SKIP
>>> outputs = ImageOutputs.beside(Path("out/cat"))               # doctest: +SKIP
>>> process_image(session, Path("cat.jpg"), outputs).outputs     # doctest: +SKIP
[PosixPath('out/cat_saliency.png')]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from saliency_cam.models.atomic import atomic_output, atomic_write_text
from saliency_cam.models.errors import SaliencyCamError, failure_line
from saliency_cam.models.media import IMAGE_SUFFIXES
from saliency_cam.realtime.apps.interrupt import STOP, Interrupted, StopRequest
from saliency_cam.realtime.apps.plan import Plan
from saliency_cam.realtime.apps.points import fixation_points
from saliency_cam.realtime.io.images import load_image
from saliency_cam.realtime.io.inputs import (
    expand_inputs,
    plan_outputs,
    refuse_overwriting_inputs,
    skip_own_outputs,
)
from saliency_cam.realtime.render.blend import render, to_uint8
from saliency_cam.realtime.render.hud import mark_untrained
from saliency_cam.realtime.runtime.session import SaliencySession

MAP_TAG = "_saliency"
OVERLAY_TAG = "_overlay"
POINTS_TAG = "_points"


@dataclass(frozen=True)
class ImageOutputs:
    """Where one image's results go (``overlay``/``npy`` None when not wanted)."""

    saliency: Path
    overlay: Path | None = None
    npy: Path | None = None
    #: ``<name>_points.json``: the top ``points_k`` fixation points and the centroid.
    points: Path | None = None
    points_k: int = 0

    @classmethod
    def beside(
        cls, base: Path, *, overlay: bool = False, npy: bool = False, points: int = 0
    ) -> ImageOutputs:
        """Names from ``base`` (folder + stem): ``<base>_saliency.png``, and when asked
        ``<base>_overlay.png``, ``<base>_saliency.npy`` and ``<base>_points.json``
        (``points`` > 0: that many fixation points)."""
        return cls(
            saliency=base.with_name(f"{base.name}{MAP_TAG}.png"),
            overlay=base.with_name(f"{base.name}{OVERLAY_TAG}.png") if overlay else None,
            npy=base.with_name(f"{base.name}{MAP_TAG}.npy") if npy else None,
            points=base.with_name(f"{base.name}{POINTS_TAG}.json") if points else None,
            points_k=points,
        )

    def paths(self) -> list[Path]:
        outputs = (self.saliency, self.overlay, self.npy, self.points)
        return [p for p in outputs if p is not None]


#: One input and where its results go.
ImageJob = tuple[Path, ImageOutputs]


#: What ``saliency-cam image`` will do: ``(input, outputs)`` pairs in order, the
#: arguments that named nothing usable and the files skipped as its own earlier outputs.
ImagePlan = Plan[list[ImageJob]]


def plan_image_jobs(
    inputs: Sequence[str | Path],
    output: Path | None = None,
    *,
    overlay: bool = False,
    npy: bool = False,
    points: int = 0,
) -> ImagePlan:
    """Expand ``inputs`` (files, folders, globs) and name every output, before any work.
    ``output`` is a folder (None: next to each input). Files this command writes
    (``<name>_saliency.png``, ``_overlay.png``, ``_saliency.npy`` of another input) are
    skipped, so rerunning on a folder does not take its own results as new pictures;
    a file named explicitly is always taken. Raises :class:`SaliencyCamError` when an
    output would overwrite an input.

    >>> plan = plan_image_jobs(["photos"])            # doctest: +SKIP
    >>> len(plan.jobs), len(plan.skipped)             # doctest: +SKIP
    (12, 12)
    """
    found = expand_inputs(inputs, IMAGE_SUFFIXES | {".gif"})

    def outputs_of(paths: Sequence[Path], *, every: bool = False) -> list[ImageJob]:
        bases = plan_outputs(paths, output, "", "", allow_file=False)
        return [
            (
                src,
                ImageOutputs.beside(
                    base, overlay=overlay or every, npy=npy or every, points=points
                ),
            )
            for src, base in bases.items()
        ]

    paths, skipped = skip_own_outputs(
        found.paths,
        lambda ps: [p for _, o in outputs_of(ps, every=True) for p in o.paths()],
        named=inputs,
    )
    jobs = outputs_of(paths)
    refuse_overwriting_inputs(paths, [p for _, o in jobs for p in o.paths()])
    return ImagePlan(jobs, list(found.problems), skipped)


@dataclass
class ImageResult:
    """What one image produced."""

    source: Path
    outputs: list[Path]
    width: int
    height: int


@dataclass
class ImageStyle:
    """How ``--overlay`` pictures look."""

    alpha: float = 0.5
    colormap: str = "inferno"


def process_image(
    session: SaliencySession,
    source: Path,
    outputs: ImageOutputs,
    style: ImageStyle | None = None,
    *,
    note: str = "",
) -> ImageResult:
    """Compute the saliency of ``source`` at its own size and write ``outputs``.

    ``note`` is stored in the PNG text chunks (e.g. which model made the map, and
    UNTRAINED for random weights).
    """
    image = load_image(source)
    return write_image_outputs(
        session, source, image, session.predict(image), outputs, style, note=note
    )


def write_image_outputs(
    session: SaliencySession,
    source: Path,
    image: np.ndarray,
    saliency: np.ndarray,
    outputs: ImageOutputs,
    style: ImageStyle | None = None,
    *,
    note: str = "",
) -> ImageResult:
    """Write ``outputs`` for ``image`` (as loaded from ``source``) and its ``saliency``
    map (at the image's size): the one writer of :func:`process_image` and the batched
    :func:`process_images`."""
    style = style or ImageStyle()
    height, width = image.shape[:2]
    if saliency.shape != (height, width):  # the letterbox undo guarantees this
        raise SaliencyCamError(f"internal: map {saliency.shape} for image {height}×{width}")
    written = [write_png(outputs.saliency, to_uint8(saliency), note=note)]
    if outputs.overlay is not None:
        picture = render(image, saliency, "overlay", style.alpha, style.colormap)
        if not session.trained:  # the label travels with the pixels, not only the metadata
            mark_untrained(picture)
        written.append(write_png(outputs.overlay, picture, note=note))
    if outputs.npy is not None:
        written.append(write_npy(outputs.npy, saliency.astype(np.float32)))
    if outputs.points is not None:
        found = fixation_points(saliency, outputs.points_k)
        document = {"image": str(source), "width": width, "height": height, **found.to_json()}
        if note:
            document["model"] = note
        atomic_write_text(outputs.points, json.dumps(document, indent=2) + "\n")
        written.append(outputs.points)
    return ImageResult(source, written, width, height)


def encode_png(image: np.ndarray, *, note: str = "") -> bytes:
    """PNG bytes of a grayscale (H, W) uint8/uint16 or BGR (H, W, 3) uint8 image, with
    ``note`` as its ``Comment`` text chunk (the server answers with these bytes)."""
    import io

    from PIL import Image, PngImagePlugin

    if image.dtype not in (np.uint8, np.uint16) or (image.ndim == 3 and image.dtype != np.uint8):
        raise ValueError(f"cannot write {image.dtype} {image.shape} as PNG")
    # BGR → RGB for colour; 2-D uint8 becomes mode L, 2-D uint16 mode I;16
    picture = Image.fromarray(np.ascontiguousarray(image[..., ::-1] if image.ndim == 3 else image))
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "saliency-cam")
    if note:
        info.add_text("Comment", note)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info, compress_level=3)
    return buffer.getvalue()


def write_png(path: Path, image: np.ndarray, *, note: str = "") -> Path:
    """Write :func:`encode_png`'s bytes to ``path`` atomically."""
    data = encode_png(image, note=note)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_npy(path: Path, array: np.ndarray) -> Path:
    """Save ``array`` as .npy atomically."""
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)
    return path


@dataclass
class BatchReport:
    """Outcome of processing many files: results, and ``(name, message)`` failures."""

    results: list[ImageResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


#: Decoded pictures a batched run holds at most (full size, BGR uint8) before it runs
#: what it has: 8 phone photos of 12 MP (36 MB each) fit; larger ones run in smaller
#: batches (one alone when it exceeds this by itself) rather than filling the memory.
BATCH_MEMORY_BYTES = 512 * 2**20

#: ``on_done(source, result, error)``: called once per input when it is finished.
OnDone = Callable[[Path, ImageResult | None, str | None], None]


def process_images(
    session: SaliencySession,
    plan: Sequence[tuple[Path, ImageOutputs]],
    style: ImageStyle | None = None,
    *,
    note: str = "",
    on_done: OnDone | None = None,
    stop: StopRequest = STOP,
    batch: int = 1,
    memory_limit: int = BATCH_MEMORY_BYTES,
) -> BatchReport:
    """Run :func:`process_image` over ``plan``; a bad file is recorded as a failure and
    the rest still run. ``on_done(source, result, error)`` is called after each file.

    ``batch`` > 1 runs up to that many pictures with the same network input size (same
    aspect) in one inference (:meth:`SaliencySession.predict_batch`); the maps are the
    same as one at a time. At most ``memory_limit`` bytes of decoded pictures wait for a
    batch. ``on_done`` then follows the batches; the report keeps the plan's order.

    Ctrl-C/SIGTERM/SIGHUP (``stop``) finish the pictures in hand, then raise
    :class:`~saliency_cam.realtime.apps.interrupt.Interrupted` carrying the report
    (``.report``) of what was written."""
    report = BatchReport()
    order = {str(source): index for index, (source, _) in enumerate(plan)}
    finish = _Finisher(session, style, note, report, on_done)
    batcher = _ImageBatcher(session, batch, memory_limit, finish) if batch > 1 else None
    with stop.armed():
        for source, outputs in plan:
            if stop.requested:
                if batcher is not None:
                    batcher.flush_all()
                interrupted = Interrupted(stop.signum or 0)
                interrupted.report = _in_order(report, order)  # type: ignore[attr-defined]
                raise interrupted
            if batcher is None:
                finish.attempt(source, lambda s=source, o=outputs: process_image(
                    session, s, o, style, note=note
                ))  # fmt: skip
            else:
                batcher.load(source, outputs)
        if batcher is not None:
            batcher.flush_all()
    return _in_order(report, order)


def _in_order(report: BatchReport, order: dict[str, int]) -> BatchReport:
    """``report`` with its results and failures in the plan's order (batches finish
    pictures grouped by size)."""
    report.results.sort(key=lambda r: order.get(str(r.source), len(order)))
    report.failures.sort(key=lambda f: order.get(f[0], len(order)))
    return report


@dataclass
class _Finisher:
    """Records each input's outcome: a result, or a failure line (the run goes on)."""

    session: SaliencySession
    style: ImageStyle | None
    note: str
    report: BatchReport
    on_done: OnDone | None

    def attempt(self, source: Path, work: Callable[[], ImageResult]) -> None:
        try:
            result = work()
        except Exception as exc:  # one bad file must not end the batch (a PNG bomb, …)
            self.failed(source, exc)
            return
        self.report.results.append(result)
        if self.on_done is not None:
            self.on_done(source, result, None)

    def failed(self, source: Path, exc: Exception) -> None:
        message = failure_line(source, exc)
        self.report.failures.append((str(source), message))
        if self.on_done is not None:
            self.on_done(source, None, message)

    def write(self, item: _Loaded, saliency: np.ndarray) -> None:
        self.attempt(
            item.source,
            lambda: write_image_outputs(
                self.session, item.source, item.image, saliency, item.outputs, self.style,
                note=self.note,
            ),
        )  # fmt: skip


@dataclass
class _Loaded:
    """A decoded picture waiting for its batch."""

    source: Path
    outputs: ImageOutputs
    image: np.ndarray


class _ImageBatcher:
    """Decoded pictures grouped by network input size; a group runs when it holds
    ``size`` pictures, when the pictures held exceed ``memory_limit`` bytes, or at the
    end."""

    def __init__(
        self, session: SaliencySession, size: int, memory_limit: int, finish: _Finisher
    ) -> None:
        self.session, self.size, self.memory_limit, self.finish = (
            session, size, memory_limit, finish
        )  # fmt: skip
        self.groups: dict[tuple[int, int], list[_Loaded]] = {}
        self.held = 0

    def load(self, source: Path, outputs: ImageOutputs) -> None:
        """Decode ``source`` (a bad file is reported now) and queue it for its batch."""
        try:
            image = load_image(source)
        except Exception as exc:  # one bad file must not end the batch
            self.finish.failed(source, exc)
            return
        key = self.session.input_size_for(image.shape)
        group = self.groups.setdefault(key, [])
        group.append(_Loaded(source, outputs, image))
        self.held += image.nbytes
        if len(group) >= self.size:
            self.flush(key)
        while self.held > self.memory_limit and self.groups:
            # the group holding the most memory runs first: the fewest runs cut short
            self.flush(max(self.groups, key=lambda k: sum(i.image.nbytes for i in self.groups[k])))

    def flush(self, key: tuple[int, int]) -> None:
        """Run one group and write its outputs."""
        group = self.groups.pop(key)
        self.held -= sum(item.image.nbytes for item in group)
        try:
            maps = self.session.predict_batch([item.image for item in group])
        except Exception:
            # one at a time, so the failure is reported against the picture that caused it
            for item in group:
                self.finish.attempt(
                    item.source,
                    lambda i=item: write_image_outputs(
                        self.session, i.source, i.image, self.session.predict(i.image),
                        i.outputs, self.finish.style, note=self.finish.note,
                    ),
                )  # fmt: skip
            return
        for item, saliency in zip(group, maps, strict=True):
            self.finish.write(item, saliency)

    def flush_all(self) -> None:
        for key in list(self.groups):
            self.flush(key)
