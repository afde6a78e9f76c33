"""The student's rows in ``saliency-cam bench``: the lite network (``train --arch lite``,
distilled from MSI-Net) at the same quality preset, on the same backends and precisions,
timed in the same interleaved rounds as MSI-Net so their ratio is fair on a shared
machine.

Where its model comes from: without ``--models-dir``, a seeded random-weight
(UNTRAINED) export into the benchmark's cache beside MSI-Net's
(:func:`saliency_cam.export.random_students.export_random_students`, user model
``lite_<quality>``); with ``--models-dir``, a lite model found there (``lite_<quality>``
first, else any lite user model at that quality's input size).

Its CC against MSI-Net fp32 on the same frames means something only when both networks
are trained (a student's agreement with its teacher); between two random networks it is
noise, so it is left out (null) and the row says why (:func:`cross_arch_cc`).

>>> student_for("very_low", ("fp32", "int8")).name                       # doctest: +SKIP
'lite_very_low'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saliency_cam.models.manifest import Manifest
from saliency_cam.models.registry import QUALITY_PRESETS, arch_presets
from saliency_cam.realtime.bench.plan import BenchConfig, Contenders, Progress

#: The network the student rows run (``saliency_cam.models.architectures``).
STUDENT_ARCH = "lite"
#: The row note where the CC against MSI-Net is left out.
UNTRAINED_CROSS_CC = (
    "CC vs MSI-Net fp32 not given: UNTRAINED random weights, so two different networks' "
    "maps agree only by chance"
)
TRAINED_CROSS_CC = "CC vs MSI-Net onnxruntime fp32 on {frames} held-out frames"


@dataclass(frozen=True)
class Student:
    """The student model at one quality: its name in the models folder and the
    precisions exported for it."""

    quality: str
    name: str
    precisions: tuple[str, ...]

    def contenders(self, msinet: Contenders) -> Contenders:
        """MSI-Net's (backend, precision) pairs that this model has a variant for."""
        return [(b, p) for b, p in msinet if p in self.precisions]


def prepare_students(
    config: BenchConfig, models_dir: Path, precisions: list[str], say: Progress
) -> dict[str, Student]:
    """``{quality: Student}`` for the qualities measured (quality presets only: a user
    model given with ``--model`` has no student twin). Without ``config.models_dir`` the
    students are exported (random weights, once) into ``models_dir``, the benchmark's
    cache; with it, looked up there, a quality without one skipped with a message."""
    if not config.student:
        return {}
    qualities = [q for q in config.qualities if q in QUALITY_PRESETS]
    qualities = [q for q in qualities if q in arch_presets(STUDENT_ARCH)]
    if config.models_dir is None and qualities:
        from saliency_cam.export.random_students import export_random_students

        say(f"exporting the random-weight (UNTRAINED) {STUDENT_ARCH} student into {models_dir}")
        export_random_students(qualities, models_dir, precisions, arch=STUDENT_ARCH)
    manifest = Manifest.load(models_dir)
    out: dict[str, Student] = {}
    for quality in qualities:
        found = find_student(manifest, quality)
        if found is None:
            say(
                f"{quality}: no {STUDENT_ARCH} model in {models_dir} at this size: skipping the "
                f"student (train one with 'saliency-cam train --arch {STUDENT_ARCH}')"
            )
            continue
        exported = tuple(p for p in precisions if manifest.find(found, p) is not None)
        if "fp32" not in exported:
            say(f"{quality}: {found} has no fp32 variant: skipping the student")
            continue
        for precision in (p for p in precisions if p not in exported):
            say(f"{quality}: skipping the student's {precision} ({found} has none exported)")
        out[quality] = Student(quality, found, exported)
    return out


def find_student(manifest: Manifest, quality: str) -> str | None:
    """The lite user model for ``quality`` in ``manifest``: ``lite_<quality>`` if it is
    one, else the first lite model at the quality's input size (same frames as
    MSI-Net's, so the two can be compared on them)."""
    size = QUALITY_PRESETS[quality].size
    lite = {
        name: model for name, model in manifest.user_models.items() if model.arch == STUDENT_ARCH
    }
    preferred = f"{STUDENT_ARCH}_{quality}"
    if preferred in lite and (lite[preferred].height, lite[preferred].width) == size:
        return preferred
    return next((n for n, m in lite.items() if (m.height, m.width) == size), None)


def cross_arch_cc(
    reference: Any, opened: dict[tuple[str, str], tuple[Any, Any]], frames: list[Any]
) -> tuple[dict[tuple[str, str], float | None], str]:
    """(CC of each student session against MSI-Net's onnxruntime fp32 ``reference`` on
    ``frames``, the note saying what that is). All None, with the reason, unless both
    networks are trained."""
    import numpy as np

    from saliency_cam.models.metrics import cc

    trained = reference.variant.trained and all(s.variant.trained for s, _ in opened.values())
    if not trained:
        return dict.fromkeys(opened), UNTRAINED_CROSS_CC
    expected = [reference.infer(f).astype(np.float64) for f in frames]
    out: dict[tuple[str, str], float | None] = {}
    for key, (session, _) in opened.items():
        values = [
            cc(session.infer(f).astype(np.float64), e)
            for f, e in zip(frames, expected, strict=True)
        ]
        out[key] = round(float(np.mean(values)), 6)
    return out, TRAINED_CROSS_CC.format(frames=len(frames))
