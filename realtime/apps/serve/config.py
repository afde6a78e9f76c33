"""What a server runs with: model choice, batching, the limits that keep one client
from exhausting it (upload size, pixels, video length and frames, work in flight, disk)
and who may reach it (token, allowed Host names)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.runtime.defaults import DEFAULT_QUALITY

MIB = 1024 * 1024

#: Bytes of server memory one decoded pixel costs at the peak of a request (the decoded
#: BGR image, its network input, the full-size float map, the rendered answer and its
#: encoding): measured with a 7000x7000 PNG, 18 for ``format=png`` and 27 for ``side``
#: (the widest rendering), rounded up.
BYTES_PER_PIXEL = 28

#: Host names a loopback server answers to (DNS rebinding sends any other name).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

#: A token shorter than this is refused when the server is reachable from other machines.
MIN_PUBLIC_TOKEN = 16


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
    #: Decoded image (and video frame) size limit (decompression bombs): checked from
    #: the header first.
    max_pixels: int = 50_000_000
    max_video_seconds: float = 600.0
    #: Frames of one video (a 1000 fps clip is long in frames, short in seconds).
    max_video_frames: int = 36_000
    #: Width x height x frames of one video: the work a job holds the worker for.
    max_video_pixel_frames: int = 80_000_000_000
    #: Decoded pixels of the image requests and live frames worked on at once; a request
    #: over it waits up to ``budget_wait_s``, then gets 503 + Retry-After. None: sized
    #: from this machine's memory (:func:`default_pixels_in_flight`).
    max_pixels_in_flight: int | None = None
    budget_wait_s: float = 5.0
    #: Video jobs queued, running or still uploading at once; more get 503 + Retry-After
    #: before a byte of their upload is read.
    max_jobs: int = 4
    #: Bytes the server's temp folder may hold (uploads being received, queued inputs,
    #: finished videos kept for download); an upload that could cross it gets 503.
    max_disk_bytes: int = 4096 * MIB
    #: Seconds a finished job's files are kept.
    job_ttl_s: float = 3600.0
    #: Seconds between expiry sweeps.
    sweep_s: float = 30.0
    #: Host names (and addresses) clients may use besides the loopback names and
    #: ``host``; ``*`` accepts any (a DNS-rebinding page then reaches a token-less
    #: server). Origin headers are checked against the same list.
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise SaliencyCamError("--max-batch must be at least 1")
        if self.token is not None and not self.token.strip():
            raise SaliencyCamError("--token must not be empty")
        if self.max_pixels_in_flight is not None and self.max_pixels_in_flight < self.max_pixels:
            raise SaliencyCamError(
                "--max-work-megapixels must be at least --max-megapixels (one image at "
                "its limit must fit)"
            )

    @property
    def pixels_in_flight(self) -> int:
        """The decoded-pixel budget in force (given, or sized from memory)."""
        if self.max_pixels_in_flight is not None:
            return self.max_pixels_in_flight
        return max(self.max_pixels, default_pixels_in_flight())

    @property
    def host_names(self) -> frozenset[str] | None:
        """Host names requests may carry (lower case, no port); None: any (a wildcard
        address like 0.0.0.0, which needs a token, or ``--allowed-host '*'``)."""
        extra = {h.strip().lower().strip("[]") for h in self.allowed_hosts if h.strip()}
        if "*" in extra or (self.host in ("0.0.0.0", "::") and not extra):
            return None
        names = {*LOOPBACK_HOSTS, *extra}
        if self.host not in ("0.0.0.0", "::"):
            names.add(self.host.lower().strip("[]"))
        return frozenset(names)

    @property
    def loopback(self) -> bool:
        """True when the server is reachable from this machine only."""
        return is_loopback(self.host)

    def check_exposure(self) -> None:
        """Refuse to listen beyond this machine without a token, or with a short one."""
        if self.loopback:
            return
        if not self.token:
            raise SaliencyCamError(
                f"--host {self.host} makes the server reachable from other machines: "
                "give --token-file FILE (or set SALIENCY_CAM_TOKEN) so only your clients "
                "can use it"
            )
        if len(self.token) < MIN_PUBLIC_TOKEN:
            raise SaliencyCamError(
                f"--host {self.host} makes the server reachable from other machines: its "
                f"token must have at least {MIN_PUBLIC_TOKEN} characters (make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(24))')"
            )


def default_pixels_in_flight() -> int:
    """Decoded pixels the server works on at once: an eighth of this machine's memory,
    at most 1.5 GiB, at :data:`BYTES_PER_PIXEL` (24 GB → 57 million pixels: one image at the
    50 million limit at a time, or many small ones)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        memory = 8 * 1024 * MIB
    return min(memory // 8, 1536 * MIB) // BYTES_PER_PIXEL


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost`` → True; ``0.0.0.0`` and real addresses → False."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: may resolve anywhere
