"""The ``/v1/videos`` routes: upload a video as a background job, list, poll, cancel and
download it; the upload is streamed to the job's folder and probed against the server's
limits before the job is queued.

>>> add_video_routes(api, config)   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from saliency_cam.models.errors import InputError
from saliency_cam.realtime.apps.serve.config import ServeConfig
from saliency_cam.realtime.apps.serve.errors import ApiError
from saliency_cam.realtime.apps.serve.form import file_body, file_chunks
from saliency_cam.realtime.apps.serve.jobs import Job, JobManager, JobRequest
from saliency_cam.realtime.apps.serve.uploads import too_many_pixels, video_suffix
from saliency_cam.realtime.apps.video import VideoStyle
from saliency_cam.realtime.io.video import VideoInfo
from saliency_cam.realtime.render.blend import resolve_colormap, resolve_view


def add_video_routes(api: APIRouter, config: ServeConfig) -> None:
    """The video job routes on ``api``: submit first, then the per-job ones (the order
    they appear in the API docs)."""
    _add_submit_route(api, config)
    _add_job_routes(api)


def _jobs_of(request: Request) -> JobManager:
    """The app's job manager (made in the lifespan, so looked up per request)."""
    return request.app.state.jobs


def _add_submit_route(api: APIRouter, config: ServeConfig) -> None:
    """``POST /v1/videos``: start a job from an uploaded video."""

    @api.post(
        "/videos",
        status_code=202,
        tags=["videos"],
        openapi_extra=file_body("a video (mp4, mov, mkv, webm, …)"),
    )
    async def submit_video(
        request: Request,
        response: Response,
        quality: Annotated[str | None, Query(description="model")] = None,
        view: Annotated[str, Query(description="overlay | heatmap | side")] = "overlay",
        alpha: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
        colormap: Annotated[str, Query()] = "inferno",
        smooth: Annotated[float, Query(ge=0.0, le=0.99)] = 0.0,
    ) -> dict[str, Any]:
        """Start a video job (the same processing as ``saliency-cam video``, audio kept).
        Poll ``GET /v1/videos/{id}``; download when its state is ``done``."""
        jobs = _jobs_of(request)
        name = request.app.state.engine.name(quality)
        style = VideoStyle(resolve_view(view), alpha, colormap, smooth)
        resolve_colormap(colormap)
        job = await _accept_video(request, jobs, config, JobRequest(name, style))
        response.headers["Location"] = f"/v1/videos/{job.id}"
        return job.describe()


async def _accept_video(
    request: Request, jobs: JobManager, config: ServeConfig, wanted: JobRequest
) -> Job:
    """Reserve a job slot, receive and probe the upload, queue the job. A refused or
    failed upload gives its slot back and leaves nothing on disk."""
    # a job slot and disk room before a byte of the upload is read
    upload_bytes = _declared_length(request, config.max_video_bytes)
    job_id, folder = await run_in_threadpool(jobs.reserve, upload_bytes)
    filename, source = "video", folder / "input"
    try:
        filename, source = await _receive_video(request, folder)
        if source.stat().st_size == 0:
            raise InputError(f"{filename}: empty file (0 bytes)")
        info = await run_in_threadpool(VideoInfo.from_path, source)
        _check_video(info, filename, config)
        return jobs.submit(Job(job_id, folder, source, wanted, info, filename))
    except InputError as exc:
        jobs.abandon(job_id)  # a refused upload leaves nothing on disk
        raise ApiError(422, "bad_input", str(exc).replace(str(source), filename)) from exc
    except BaseException:
        jobs.abandon(job_id)
        raise


def _add_job_routes(api: APIRouter) -> None:
    """List, poll, cancel and download jobs (any job this server still knows)."""

    @api.get("/videos", tags=["videos"])
    async def list_videos(request: Request) -> dict[str, list[dict[str, Any]]]:
        """Every job this server knows (until it expires)."""
        return {"jobs": [j.describe() for j in _jobs_of(request).list()]}

    @api.get("/videos/{job_id}", tags=["videos"])
    async def video_status(request: Request, job_id: str) -> dict[str, Any]:
        """State (queued, running, done, failed, cancelled) and progress of a job."""
        return _jobs_of(request).get(job_id).describe()

    @api.delete("/videos/{job_id}", tags=["videos"])
    async def cancel_video(request: Request, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (a finished one is left as it is)."""
        return _jobs_of(request).cancel(job_id).describe()

    @api.get(
        "/videos/{job_id}/download",
        tags=["videos"],
        response_class=FileResponse,
        responses={200: {"content": {"video/mp4": {}}}},
    )
    async def download_video(request: Request, job_id: str) -> FileResponse:
        """The finished video (H.264 MP4)."""
        job = _jobs_of(request).get(job_id)
        if job.state != "done" or not job.output.exists():
            raise ApiError(409, "not_ready", f"video job {job_id} is {job.state}, not done")
        return FileResponse(job.output, media_type="video/mp4", filename=job.download_name)


async def _receive_video(request: Request, folder: Path) -> tuple[str, Path]:
    """Stream the uploaded video straight into ``folder`` (the job's, in the server's own
    temp dir) as ``input<suffix>``; returns the client's file name (for messages) and the
    path. A wrong file type is refused when the part's headers arrive, before its data."""
    filename, source, out = "video", folder / "input", None
    try:
        async for sent_name, chunk in file_chunks(request):
            if out is None:
                filename = Path(sent_name or "video").name or "video"
                source = folder / f"input{video_suffix(filename)}"  # only the suffix is kept
                out = await run_in_threadpool(open, source, "wb")
            if chunk:
                await run_in_threadpool(out.write, chunk)
    finally:
        if out is not None:
            await run_in_threadpool(out.close)
    return filename, source


def _declared_length(request: Request, limit: int) -> int:
    """The body's Content-Length (the upload is at most that), else ``limit`` (a
    chunked body is cut off there by :class:`BodyLimit`)."""
    declared = request.headers.get("content-length", "")
    return min(int(declared), limit) if declared.isdigit() else limit


def _check_video(info: VideoInfo, filename: str, config: ServeConfig) -> None:
    """422 naming the limit for a probed video over the frame size, frame count,
    pixels x frames or length this server takes."""
    if info.width * info.height > config.max_pixels:
        raise too_many_pixels(f"{filename} (frames)", info.width, info.height, config.max_pixels)
    frames = info.total_frames
    if frames is not None and frames > config.max_video_frames:
        raise ApiError(
            422,
            "too_long",
            f"{filename}: {frames:,} frames, more than this server's limit of "
            f"{config.max_video_frames:,}",
            limit="max_video_frames",
            max_frames=config.max_video_frames,
        )
    if frames is not None and frames * info.width * info.height > config.max_video_pixel_frames:
        raise ApiError(
            422,
            "too_long",
            f"{filename}: {frames:,} frames of {info.width}x{info.height} are "
            f"{frames * info.width * info.height:,} pixels, more than this server's limit of "
            f"{config.max_video_pixel_frames:,}",
            limit="max_video_pixel_frames",
            max_pixel_frames=config.max_video_pixel_frames,
        )
    seconds = info.duration_s
    limit_s = config.max_video_seconds
    if seconds is not None and seconds > limit_s:
        raise ApiError(
            422,
            "too_long",
            f"{filename}: {seconds:.0f} s is longer than this server's limit of {limit_s:g} s",
            limit="max_video_seconds",
            max_seconds=limit_s,
        )
