"""How closely a reduced-precision variant (fp16, int8) reproduces its fp32 original.

Both variants run on the same held-out frames (never the calibration frames); the maps
are compared with the saliency benchmark's own CC and KLD (``models/metrics.py``) and
the max absolute difference. A variant whose mean CC is below :data:`CC_BAR` is kept on
disk but not used by default (``default_ok=False``), and its manifest ``note`` says why.

>>> same = [np.eye(4, dtype=np.float32)] * 2
>>> fidelity_of_maps(same, same).cc
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from saliency_cam.models.manifest import VariantInfo
from saliency_cam.models.metrics import cc, kld

#: A non-fp32 variant is used by default only if its maps correlate this well with fp32.
CC_BAR = 0.99


@dataclass(frozen=True)
class Fidelity:
    """Agreement of ``frames`` candidate maps with their fp32 references.

    ``cc`` and ``kld`` are means over frames (KLD of the candidate from fp32, lower is
    better); ``cc_min`` is the worst frame; ``max_abs`` the largest pixel difference.
    """

    cc: float
    cc_min: float
    kld: float
    kld_max: float
    max_abs: float
    frames: int
    bar: float = CC_BAR
    provider: str = ""

    @property
    def ok(self) -> bool:
        """Mean CC meets the bar (NaN never does)."""
        return bool(self.cc >= self.bar)

    def note(self, precision: str) -> str:
        """Why the variant is not used by default, or ``""`` when it is."""
        if self.ok:
            return ""
        return (
            f"{precision} not used by default: CC {self.cc:.4f} vs fp32 on {self.frames} "
            f"held-out frames is below {self.bar} (select it with --precision {precision})"
        )

    def to_json(self) -> dict[str, object]:
        """The manifest's ``fidelity`` entry."""
        return {
            "reference": "fp32",
            "cc": round(self.cc, 6),
            "cc_min": round(self.cc_min, 6),
            "kld": round(self.kld, 6),
            "kld_max": round(self.kld_max, 6),
            "max_abs": round(self.max_abs, 6),
            "frames": self.frames,
            "bar": self.bar,
            "provider": self.provider,
        }


def fidelity_of_maps(
    reference: Sequence[np.ndarray],
    candidate: Sequence[np.ndarray],
    bar: float = CC_BAR,
    provider: str = "",
) -> Fidelity:
    """Compare candidate maps with reference (fp32) maps frame by frame.

    >>> ref = [np.array([[0.0, 1.0], [0.5, 0.25]])]
    >>> round(fidelity_of_maps(ref, [ref[0] * 0.5]).max_abs, 3)
    0.5
    """
    if len(reference) != len(candidate) or not reference:
        raise ValueError(f"need equal, non-zero map counts, got {len(reference)}/{len(candidate)}")
    ccs, klds, worst = [], [], 0.0
    for ref, cand in zip(reference, candidate, strict=True):
        ref64 = np.asarray(ref, np.float64).squeeze()
        cand64 = np.asarray(cand, np.float64).squeeze()
        if ref64.shape != cand64.shape:
            raise ValueError(f"map shapes differ: {ref64.shape} vs {cand64.shape}")
        ccs.append(cc(cand64, ref64))
        klds.append(kld(cand64, ref64))
        worst = max(worst, float(np.abs(ref64 - cand64).max()))
    return Fidelity(
        cc=float(np.mean(ccs)),
        cc_min=float(np.min(ccs)),
        kld=float(np.mean(klds)),
        kld_max=float(np.max(klds)),
        max_abs=worst,
        frames=len(ccs),
        bar=bar,
        provider=provider,
    )


def measure_fidelity(
    reference: VariantInfo,
    candidate: VariantInfo,
    frames: Sequence[np.ndarray],
    device: str = "cpu",
    bar: float = CC_BAR,
) -> Fidelity:
    """Run both variants on ``frames`` (uint8 BGR at the preset size) on ``device`` and
    compare their maps."""
    from saliency_cam.realtime.runtime.session import SaliencySession

    ref_session = SaliencySession(reference, device, warmup=0)
    # bf16 is OpenVINO's run mode of the fp32 file; the other precisions are files
    backend = "openvino" if candidate.precision == "bf16" else "onnxruntime"
    cand_session = SaliencySession(candidate, device, warmup=0, backend=backend)
    ref_maps = [ref_session.infer(frame) for frame in frames]
    cand_maps = [cand_session.infer(frame) for frame in frames]
    return fidelity_of_maps(ref_maps, cand_maps, bar, provider=cand_session.providers[0])
