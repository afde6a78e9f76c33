"""Background video jobs: ``run_video_job`` (the code behind ``saliency-cam video``,
audio kept) on an uploaded file, one job at a time, with progress, cancel and expiry.

>>> jobs = JobManager(root, engine.session, max_jobs=4, ttl_s=3600)    # doctest: +SKIP
>>> job_id, folder = jobs.reserve(upload_bytes)                        # doctest: +SKIP
>>> job = jobs.submit(Job(job_id, folder, path, JobRequest("low"), info, "a.mp4"))  # doctest: +SKIP
>>> jobs.get(job.id).describe()["progress"]                            # doctest: +SKIP

Each job has a random id and its own folder under the server's temp dir; the output
is written under a temporary name and renamed when complete (``VideoSink``), so a
download never sees half a file. Finished jobs are deleted ``ttl_s`` after they end,
and every job folder when the server stops.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.serve.errors import ApiError, busy
from saliency_cam.realtime.apps.video import VideoOutputs, VideoStyle, run_video_job
from saliency_cam.realtime.io.video import VideoInfo
from saliency_cam.realtime.runtime.session import SaliencySession

log = logging.getLogger("saliency_cam.serve")

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled")


class JobCancelled(Exception):
    """Raised from the progress callback to stop a cancelled job."""


@dataclass(frozen=True)
class JobRequest:
    """What the client asked for: the model and the look of the output video."""

    quality: str
    style: VideoStyle = field(default_factory=VideoStyle)


@dataclass
class Job:
    """One uploaded video and its processing state."""

    id: str
    folder: Path
    source: Path
    request: JobRequest
    info: VideoInfo
    filename: str
    state: str = "queued"
    frames_done: int = 0
    error: str | None = None
    model: str | None = None
    trained: bool | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self) -> Path:
        return self.folder / "saliency.mp4"

    @property
    def download_name(self) -> str:
        return f"{Path(self.filename).stem or 'video'}_saliency.mp4"

    def describe(self) -> dict[str, Any]:
        """The job as ``GET /v1/videos/{id}`` shows it."""
        total = self.info.total_frames
        progress = 1.0 if self.state == "done" else (self.frames_done / total if total else 0.0)
        return {
            "id": self.id,
            "state": self.state,
            "progress": round(min(progress, 1.0), 4),
            "frames_done": self.frames_done,
            "total_frames": total,
            "width": self.info.width,
            "height": self.info.height,
            "fps": float(self.info.fps),
            "filename": self.filename,
            "quality": self.request.quality,
            "view": self.request.style.view,
            "model": self.model,
            "trained": self.trained,
            "error": self.error,
            "created": self.created,
            "finished": self.finished,
            "download": f"/v1/videos/{self.id}/download" if self.state == "done" else None,
        }


class JobManager:
    """Owns the jobs: a bounded number active, run one at a time in a worker thread."""

    def __init__(
        self,
        root: Path,
        open_model: Callable[[str], SaliencySession],
        *,
        max_jobs: int = 4,
        ttl_s: float = 3600.0,
        max_disk_bytes: int = 2**62,
        max_frames: int = 2**62,
        on_finish: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.open_model = open_model
        self.max_jobs = max_jobs
        self.max_disk_bytes = max_disk_bytes
        self.max_frames = max_frames
        self._uploading: dict[str, int] = {}  # job id → bytes reserved for its upload
        self.ttl_s = ttl_s
        self._on_finish = on_finish
        self._jobs: dict[str, Job] = {}
        self._expired: set[str] = set()
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video-job")

    def _full(self) -> ApiError:
        return busy(
            f"{self.max_jobs} video jobs are already uploading, queued or running: try again later",
            retry_after_s=10,
            limit="max_jobs",
        )

    def _disk_used(self) -> int:
        """Bytes under the temp folder, counting an upload still arriving as the bytes
        reserved for it (its file grows into them)."""
        with self._lock:
            uploading = dict(self._uploading)
        used = sum(uploading.values())
        for folder in self.root.iterdir() if self.root.exists() else ():
            if folder.name in uploading:
                continue
            used += _folder_bytes(folder)
        return used

    def reserve(self, upload_bytes: int) -> tuple[str, Path]:
        """Room for one more upload of at most ``upload_bytes``, before a byte of it is
        read: a job slot (uploads in progress count against ``max_jobs``) and disk
        space (``max_disk_bytes``), else 503 + Retry-After. Returns a fresh random job
        id and its empty folder; :meth:`submit` or :meth:`abandon` ends the
        reservation."""
        with self._lock:
            if len(self._uploading) + sum(j.state in ACTIVE for j in self._jobs.values()) >= (
                self.max_jobs
            ):
                raise self._full()
        used = self._disk_used()
        if used + upload_bytes > self.max_disk_bytes:
            raise busy(
                f"the server's temp folder is full ({used / 2**20:.0f} of "
                f"{self.max_disk_bytes / 2**20:.0f} MiB in use): try again when finished "
                "videos have been downloaded or have expired",
                retry_after_s=60,
                limit="max_disk_bytes",
            )
        job_id = secrets.token_urlsafe(12)
        with self._lock:
            if len(self._uploading) + sum(j.state in ACTIVE for j in self._jobs.values()) >= (
                self.max_jobs
            ):
                raise self._full()  # another upload took the last slot meanwhile
            self._uploading[job_id] = upload_bytes
        folder = self.root / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def abandon(self, job_id: str) -> None:
        """End a reservation without a job: its folder and whatever arrived go at once."""
        with self._lock:
            self._uploading.pop(job_id, None)
        shutil.rmtree(self.root / job_id, ignore_errors=True)

    def submit(self, job: Job) -> Job:
        """Queue a probed upload in the slot :meth:`reserve` gave it."""
        with self._lock:
            if self._uploading.pop(job.id, None) is None:
                raise RuntimeError(f"job {job.id} was not reserved")
            self._jobs[job.id] = job
        self._executor.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job:
        """The job, or 404 (never existed) / 410 (expired and deleted)."""
        with self._lock:
            job = self._jobs.get(job_id)
            expired = job_id in self._expired
        if job is not None:
            return job
        if expired:
            raise ApiError(410, "expired", f"video job {job_id} has expired and its files are gone")
        raise ApiError(404, "not_found", f"no video job {job_id}")

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def count(self, states: tuple[str, ...]) -> int:
        with self._lock:
            return sum(j.state in states for j in self._jobs.values())

    def cancel(self, job_id: str) -> Job:
        """Stop a queued or running job (its partial output is removed)."""
        job = self.get(job_id)
        job.cancel_event.set()
        if job.state == "queued":
            self._finish(job, "cancelled")
        return job

    def expire(self, now: float | None = None) -> list[str]:
        """Delete finished jobs older than ``ttl_s``; returns their ids."""
        now = time.time() if now is None else now
        with self._lock:
            old = [
                j
                for j in self._jobs.values()
                if j.state in FINAL and j.finished is not None and now - j.finished >= self.ttl_s
            ]
            for job in old:
                del self._jobs[job.id]
                self._expired.add(job.id)
        for job in old:
            shutil.rmtree(job.folder, ignore_errors=True)
        return [j.id for j in old]

    def shutdown(self) -> None:
        """Cancel everything, wait for the worker, delete every job folder."""
        for job in self.list():
            job.cancel_event.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _finish(self, job: Job, state: str, error: str | None = None) -> None:
        with self._lock:
            if job.state in FINAL:
                return
            job.state = state
            job.error = error
            job.finished = time.time()
        job.source.unlink(missing_ok=True)  # the upload is not needed any more
        if self._on_finish is not None:
            self._on_finish(state)

    def _run(self, job: Job) -> None:
        if job.cancel_event.is_set() or job.state in FINAL:
            self._finish(job, "cancelled")
            return
        job.state = "running"

        def on_frame(count: int) -> None:
            job.frames_done = count
            if job.cancel_event.is_set():
                raise JobCancelled
            if count > self.max_frames:  # the container understated its frame count
                raise SaliencyCamError(
                    f"{job.filename}: more than this server's limit of {self.max_frames:,} "
                    "frames (max_video_frames)"
                )

        try:
            session = self.open_model(job.request.quality)
            job.model, job.trained = session.variant.label(), session.trained
            run_video_job(
                session,
                job.source,
                VideoOutputs(blend=job.output),
                job.request.style,
                keep_audio=True,
                note=session.note,
                info=job.info,
                on_frame=on_frame,
            )
        except JobCancelled:
            self._finish(job, "cancelled")
        except SaliencyCamError as exc:
            # messages name the file: show the user's name, not our temp path
            message = str(exc).replace(str(job.source), job.filename)
            self._finish(job, "failed", message)
        except Exception as exc:  # keep the worker alive for the next job
            log.exception("video job %s failed", job.id)
            self._finish(job, "failed", f"unexpected {type(exc).__name__}: {exc}")
        else:
            self._finish(job, "done")


def _folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (files deleted meanwhile count as 0)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total
