"""What a server runs with: model choice, batching, and the limits that keep one client
from exhausting it (upload size, pixels, video length, queued work)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeConfig:
    """Options of ``saliency-cam serve`` (see its ``--help``).

    ``quality`` is the default model for requests that name none and the live page's
    first model. ``max_batch`` 1 disables dynamic batching; ``batch_wait_ms`` is how long
    the first request of a batch waits for company.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    quality: str = DEFAULT_QUALITY
    #: None: the defaults every door shares (runtime/defaults.py: auto, auto)
    precision: str | None = None
    backend: str | None = None
    device: str = "auto"
    models_dir: Path | None = None
    threads: int | None = None
    max_batch: int = 8
    batch_wait_ms: float = 3.0
    #: Requests waiting for one model before new ones get 503 + Retry-After.
    max_queue: int = 64
    max_image_bytes: int = 32 * MIB
    max_video_bytes: int = 512 * MIB
    #: Decoded image size limit (decompression bombs): checked from the header first.
    max_pixels: int = 50_000_000
    max_video_seconds: float = 600.0
    #: Video jobs queued or running at once; more get 503 + Retry-After.
    max_jobs: int = 4
    #: Seconds a finished job's files are kept.
    job_ttl_s: float = 3600.0
    #: Seconds between expiry sweeps.
    sweep_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise SaliencyCamError("--max-batch must be at least 1")
        if self.token is not None and not self.token.strip():
            raise SaliencyCamError("--token must not be empty")

    @property
    def loopback(self) -> bool:
        """True when the server is reachable from this machine only."""
        return is_loopback(self.host)

    def check_exposure(self) -> None:
        """Refuse to listen beyond this machine without a token."""
        if not self.loopback and not self.token:
            raise SaliencyCamError(
                f"--host {self.host} makes the server reachable from other machines: "
                "give --token TOKEN (or set SALIENCY_CAM_TOKEN) so only your clients can use it"
            )


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost`` → True; ``0.0.0.0`` and real addresses → False."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: may resolve anywhere
