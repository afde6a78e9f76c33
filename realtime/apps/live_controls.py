"""The live app's settings and controls: :class:`LiveOptions`, the keys
(:class:`Controls`), the session opener, and the pictures it composes and snapshots.

>>> LiveOptions(quality="very_low").quality
'very_low'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import QUALITY_ORDER
from saliency_cam.realtime.io.inputs import refuse_overwriting_inputs
from saliency_cam.realtime.io.sources import (
    CameraSettings,
)
from saliency_cam.realtime.render.blend import (
    VIEWS,
    render,
    to_uint8,
)
from saliency_cam.realtime.runtime.precision import check_precision
from saliency_cam.realtime.runtime.providers import (
    ProviderChoice,
)
from saliency_cam.realtime.runtime.session import (
    MissingModelHook,
    SaliencySession,
    open_session,
)

HELP_SECONDS = 4.0  # the key help shows this long at start (h toggles it)

#: ``--record-view`` choices: the views, the camera picture alone, the map alone.
RECORD_VIEWS: tuple[str, ...] = (*VIEWS, "clean", "map")


def resolve_record_view(name: str | None) -> str | None:
    """Validate a ``--record-view`` (None: record what the window shows)."""
    if name is None:
        return None
    key = name.strip().lower()
    if key not in RECORD_VIEWS:
        choices = ", ".join(RECORD_VIEWS)
        raise SaliencyCamError(f"unknown --record-view {name!r}: choose one of {choices}")
    return key


#: What each figure of the summary and the --stats file means, so none contradicts another.
FIGURES: dict[str, str] = {
    "fps": "frames shown per second, from the first shown frame to the last",
    "inference_only_fps": "1 / mean network time on the same frames (the first, a cold "
    "start, left out): the most the pipeline could reach",
    "latency_ms": "capture to shown, per frame; for files and folders it includes the time a "
    "frame waits in the read-ahead queue, so processing_ms is the figure to read there",
    "processing_ms": "time spent working on each frame (decode, pre/post-processing, network, "
    "render, record, display), queue waits left out",
    "stages_ms": "time per frame in each stage; stages run concurrently, so they overlap",
}


@dataclass
class LiveOptions:
    """Everything ``saliency-cam`` (the live command) can be told."""

    source: str = "0"
    quality: str = "medium"
    precision: str = "auto"
    device: str = "auto"
    view: str = "overlay"
    alpha: float = 0.5
    colormap: str = "inferno"
    mirror: bool = False
    smooth: float = 0.0
    #: --reuse N: the network on every N-th frame at most, the last map warped between
    reuse: int = 1
    record: Path | None = None
    #: What --record writes: None (what the window shows), or one of RECORD_VIEWS.
    record_view: str | None = None
    #: Draw the HUD on recorded overlay/heatmap/side pictures (clean and map never get it).
    record_hud: bool = True
    stats: Path | None = None
    display: bool = True
    max_frames: int | None = None
    models_dir: Path | None = None
    snapshot_dir: Path = field(default_factory=Path)
    threads: int | None = None
    #: Top fixation points per frame written into --stats (0: none).
    points: int = 0
    #: What to ask a camera for (--width/--height/--fps/--fourcc); None: its defaults.
    camera: CameraSettings | None = None
    #: onnxruntime | openvino | auto (runtime/backends); letterbox: pad into the preset.
    backend: str = "auto"
    letterbox: bool = False
    #: Exports a variant that is missing (the CLI passes the exporter; None: fail clearly).
    on_missing: MissingModelHook | None = None


# --------------------------------------------------------------------------- controls

KEY_ESC = 27


@dataclass
class Controls:
    """What the keys change. :meth:`handle` maps one key code to an action name."""

    quality: str
    view: str = "overlay"
    mirror: bool = False
    paused: bool = False
    show_help: bool = False

    def handle(self, key: int | None) -> str | None:
        """Apply ``key``; return the action (``quit``, ``quality``, ``view``, ``mirror``,
        ``pause``, ``snapshot``, ``help``) or None for keys that mean nothing."""
        if key is None:
            return None
        char = chr(key).lower() if 0 <= key < 256 else ""
        if key == KEY_ESC or char == "q":
            return "quit"
        if char in "12345" and char:
            self.quality = QUALITY_ORDER[int(char) - 1]
            return "quality"
        if char == "v":
            self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
            return "view"
        if char == "m":
            self.mirror = not self.mirror
            return "mirror"
        if char == " ":
            self.paused = not self.paused
            return "pause"
        if char == "s":
            return "snapshot"
        if char == "h":
            self.show_help = not self.show_help
            return "help"
        return None


# --------------------------------------------------------------------------- sessions


def session_opener(
    options: LiveOptions, choice: ProviderChoice, say: Callable[[str], None]
) -> Callable[[str], SaliencySession]:
    """A function opening the variant for a preset with the run's precision, device and
    models folder (``options.on_missing`` may export a missing one first)."""
    check_precision(options.precision)

    def open_preset(name: str) -> SaliencySession:
        session = open_session(
            name,
            options.precision,
            options.device,
            options.models_dir,
            threads=options.threads,
            choice=choice,
            on_missing=options.on_missing,
            backend=options.backend,
            aspect="letterbox" if options.letterbox else "match",
        )
        if session.backend_note:  # what --backend auto measured (also in the HUD's device)
            say(f"{name}: {session.backend_note}")
        if session.fallback_note:
            say(f"{name}: {session.fallback_note}")
        return session

    return open_preset


# --------------------------------------------------------------------------- pictures


def compose(
    image: np.ndarray,
    saliency: np.ndarray,
    controls: Controls,
    *,
    alpha: float,
    colormap: int,
) -> np.ndarray:
    """The picture for the current view, mirrored if asked (HUD not included)."""
    if controls.mirror:
        image, saliency = cv2.flip(image, 1), cv2.flip(saliency, 1)
    return render(image, saliency, controls.view, alpha, colormap)


def save_snapshot(
    picture: np.ndarray, saliency: np.ndarray, directory: Path, *, inputs: Sequence[Path] = ()
) -> Path:
    """Save the shown picture and the raw map (8-bit grey) as PNGs; return the picture's
    path. Written under temporary names, then renamed; never over one of ``inputs``
    (the files the run reads)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
    target = Path(directory) / f"saliency-cam-{stamp}.png"
    pair = ((target, picture), (target.with_name(f"{target.stem}-map.png"), None))
    refuse_overwriting_inputs(inputs, [p for p, _ in pair], hint="choose another --snapshot-dir")
    for path, image in pair:
        data = to_uint8(saliency) if image is None else image
        with atomic_output(path) as tmp:
            if not cv2.imwrite(str(tmp), data):
                raise SaliencyCamError(f"cannot write snapshot {path}: is the folder writable?")
    return target
