"""The record of what a session runs (:class:`ResolvedModel`): two doors that print the
same record run the same bytes the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from saliency_cam.realtime.runtime.saliency_session import SaliencySession


@dataclass(frozen=True)
class ResolvedModel:
    """The model a command runs, resolved once: architecture, preset, precision,
    backend, file and checksum. Two doors that print the same ``ResolvedModel`` run the
    same bytes the same way, so they give the same map.

    >>> session = open_session(device="cpu")            # doctest: +SKIP
    >>> session.resolved.precision, session.resolved.backend   # doctest: +SKIP
    ('int8', 'openvino')
    """

    architecture: str
    preset: str
    precision: str
    backend: str
    file: str
    sha256: str
    height: int
    width: int

    @classmethod
    def of(cls, session: SaliencySession) -> ResolvedModel:
        """The resolved model behind an open session."""
        variant = session.variant
        return cls(
            architecture=str(getattr(variant, "architecture", "") or "msinet"),
            preset=variant.preset,
            precision=variant.precision,
            backend=session.backend,
            file=str(variant.path),
            sha256=variant.sha256,
            height=variant.height,
            width=variant.width,
        )

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready fields (reports, ``/v1/info``, result metadata)."""
        return asdict(self)
