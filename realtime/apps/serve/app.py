"""The FastAPI application: versioned API under ``/v1``, health and metrics, the live
WebSocket, offline API docs at ``/docs`` and the web page at ``/``.

>>> app = create_app(ServeConfig(quality="low", models_dir=Path("models")))  # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8000)                          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket

from saliency_cam.models.catalog import list_models
from saliency_cam.models.errors import InputError
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.version import VERSION as __version__
from saliency_cam.realtime.apps.serve import results
from saliency_cam.realtime.apps.serve.auth import (
    HostOriginGuard,
    bearer_scheme,
    has_token,
    require_token,
)
from saliency_cam.realtime.apps.serve.budget import PixelBudget
from saliency_cam.realtime.apps.serve.config import ServeConfig
from saliency_cam.realtime.apps.serve.engine import ServeEngine
from saliency_cam.realtime.apps.serve.errors import (
    ApiError,
    install_handlers,
    path_scrubber,
)
from saliency_cam.realtime.apps.serve.form import file_body, file_chunks, read_file_field
from saliency_cam.realtime.apps.serve.jobs import ACTIVE, FINAL, Job, JobManager, JobRequest
from saliency_cam.realtime.apps.serve.live import LiveConnection
from saliency_cam.realtime.apps.serve.metrics import Metrics
from saliency_cam.realtime.apps.serve.uploads import (
    BodyLimit,
    check_pixels,
    read_image,
    too_many_pixels,
    video_suffix,
)
from saliency_cam.realtime.apps.video import VideoStyle
from saliency_cam.realtime.io.video import VideoInfo
from saliency_cam.realtime.render.blend import (
    colorize,
    colormap_names,
    resolve_colormap,
    resolve_view,
)
from saliency_cam.realtime.runtime.session import SaliencySession

STATIC_DIR = Path(str(resources.files("saliency_cam.realtime.apps.serve") / "static"))


def create_app(config: ServeConfig | None = None) -> FastAPI:
    """A ready-to-run app for ``config`` (models open on first use; call
    ``app.state.engine.session()`` to load the default one up front)."""
    config = config or ServeConfig()
    metrics = Metrics()
    engine = ServeEngine(config, metrics)
    budget = PixelBudget(config.pixels_in_flight, config.budget_wait_s)
    metrics.gauge_callback(
        "saliency_pixels_in_flight",
        lambda: {"held": float(budget.held), "peak": float(budget.peak)},
        "amount",
    )
    folders = {str(resolve_models_dir(config.models_dir)): "the server's models folder"}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        root = Path(tempfile.mkdtemp(prefix="saliency-cam-serve-"))
        folders[str(root)] = "the server's temp folder"
        jobs = JobManager(
            root,
            engine.session,
            max_jobs=config.max_jobs,
            ttl_s=config.job_ttl_s,
            max_disk_bytes=config.max_disk_bytes,
            max_frames=config.max_video_frames,
            on_finish=lambda state: metrics.inc("saliency_video_jobs_total", state=state),
        )
        metrics.gauge_callback(
            "saliency_video_jobs",
            lambda: {s: float(jobs.count((s,))) for s in (*ACTIVE, *FINAL)},
            "state",
        )
        app.state.jobs = jobs

        async def sweep() -> None:
            while True:
                await asyncio.sleep(config.sweep_s)
                await run_in_threadpool(jobs.expire)

        sweeper = asyncio.create_task(sweep())
        try:
            yield
        finally:
            sweeper.cancel()
            await run_in_threadpool(jobs.shutdown)
            await run_in_threadpool(engine.close)
            shutil.rmtree(root, ignore_errors=True)

    app = FastAPI(
        title="saliency-cam",
        version=__version__,
        description="Where people will look (MSI-Net saliency): images, videos, live camera. "
        "Send 'Authorization: Bearer TOKEN' when the server was started with --token.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.budget = budget
    scrub = path_scrubber(folders)  # reads ``folders`` at each call: the temp dir joins later
    install_handlers(app, scrub)

    def limit_for(path: str) -> int:
        return config.max_video_bytes if path.startswith("/v1/videos") else config.max_image_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for)
    # outside the body limit: a foreign page's upload is refused before it is read
    app.add_middleware(HostOriginGuard, names=config.host_names)
    app.add_middleware(_RequestMetrics, metrics=metrics)

    protected = [Depends(bearer_scheme), Depends(require_token)]
    api = APIRouter(prefix="/v1", dependencies=protected)
    ops = APIRouter(dependencies=protected)
    _add_image_routes(api, config, engine, budget)
    _add_video_routes(api, config)
    _add_model_routes(api, config, engine)
    _add_ops_routes(app, ops, engine, metrics)
    app.include_router(api)
    app.include_router(ops)

    @app.websocket("/v1/live")
    async def live(ws: WebSocket) -> None:
        await LiveConnection(
            ws, engine, metrics, config.token, config.max_pixels, budget, scrub
        ).run()

    _add_docs(app)
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="page")
    return app


class _RequestMetrics:
    """ASGI middleware: count HTTP requests by route template and status, time them."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "") or "page"
            if not path.startswith(("/v1", "/healthz", "/metrics", "/docs", "/openapi")):
                path = "page"  # static files: one series, not one per file
            self.metrics.inc("saliency_requests_total", route=path, status=str(status))
            self.metrics.observe(
                "saliency_request_seconds", time.perf_counter() - started, route=path
            )


def model_headers(session: SaliencySession) -> dict[str, str]:
    """What made an answer, as response headers: the label, trained or not, and the
    resolved model (precision, backend, file checksum) a client can compare with what
    ``saliency-cam image`` prints."""
    resolved = session.resolved
    return {
        "X-Saliency-Model": session.variant.label(),
        "X-Saliency-Trained": "true" if session.trained else "false",
        "X-Saliency-Precision": resolved.precision,
        "X-Saliency-Backend": resolved.backend,
        "X-Saliency-Sha256": resolved.sha256,
    }


def _image_data(filename: str, data: bytes) -> str:
    name = Path(filename or "upload").name or "upload"  # for messages only, never a path
    if not data:
        raise InputError(f"{name}: empty file (0 bytes)")
    return name


def _add_image_routes(
    api: APIRouter, config: ServeConfig, engine: ServeEngine, budget: PixelBudget
) -> None:
    @api.post(
        "/saliency",
        tags=["images"],
        responses={
            200: {
                "content": {"image/png": {}, "application/x-npy": {}, "application/json": {}},
                "description": "the map (png: 8-bit like 'saliency-cam image'; png16; npy "
                "float32; json: top fixation points) or a rendered view",
            }
        },
        openapi_extra=file_body("an image (JPEG, PNG, WebP, TIFF, …)"),
    )
    async def saliency(
        request: Request,
        quality: Annotated[
            str | None, Query(description="model (default: the server's --quality)")
        ] = None,
        format: Annotated[str, Query(description=" | ".join(results.FORMATS))] = "png",
        alpha: Annotated[float, Query(ge=0.0, le=1.0, description="map weight in views")] = 0.5,
        colormap: Annotated[str, Query(description="OpenCV colormap name")] = "inferno",
        points: Annotated[int, Query(ge=1, le=100, description="fixations for json")] = 5,
    ) -> Response:
        """Saliency map of one image, at the image's own size (EXIF orientation applied)."""
        fmt = format.strip().lower()
        if fmt not in results.FORMATS:
            raise ApiError(
                422,
                "bad_request",
                f"unknown format {format!r}: one of {', '.join(results.FORMATS)}",
            )
        resolve_colormap(colormap)
        model = engine.name(quality)  # an unknown model fails before the upload is read
        filename, data = await read_file_field(request)  # in memory, within BodyLimit
        name = _image_data(filename, data)
        pixels = await run_in_threadpool(check_pixels, data, config.max_pixels, name)
        async with budget.hold(pixels):  # decoded copies, the map, its encoding
            image = await run_in_threadpool(read_image, data, name, config.max_pixels)
            saliency_map, session = await engine.predict(image, model)
            extra = {"model": session.variant.label(), "trained": session.trained}
            body, media_type = await run_in_threadpool(
                lambda: results.encode_map(
                    saliency_map,
                    image,
                    fmt,
                    note=session.note,
                    trained=session.trained,
                    alpha=alpha,
                    colormap=colormap,
                    points=points,
                    extra=extra,
                )
            )
        return Response(body, media_type=media_type, headers=model_headers(session))

    @api.get("/colormaps", tags=["images"])
    async def colormaps() -> dict[str, list[str]]:
        """Colormap names accepted by ``colormap``."""
        return {"colormaps": colormap_names()}

    @api.get("/colormaps/{name}", tags=["images"])
    async def colormap_table(name: str) -> dict[str, Any]:
        """A colormap as 256 RGB triples (the live page colours maps with it)."""
        resolve_colormap(name)
        ramp = (np.arange(256, dtype=np.float32) / 255.0)[None, :]
        rgb = colorize(ramp, name)[0, :, ::-1]
        return {"name": name, "lut": rgb.astype(int).tolist()}


def _add_video_routes(api: APIRouter, config: ServeConfig) -> None:
    def jobs_of(request: Request) -> JobManager:
        return request.app.state.jobs

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
        jobs = jobs_of(request)
        name = request.app.state.engine.name(quality)
        style = VideoStyle(resolve_view(view), alpha, colormap, smooth)
        resolve_colormap(colormap)
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
            job = jobs.submit(Job(job_id, folder, source, JobRequest(name, style), info, filename))
        except InputError as exc:
            jobs.abandon(job_id)  # a refused upload leaves nothing on disk
            raise ApiError(422, "bad_input", str(exc).replace(str(source), filename)) from exc
        except BaseException:
            jobs.abandon(job_id)
            raise
        response.headers["Location"] = f"/v1/videos/{job.id}"
        return job.describe()

    @api.get("/videos", tags=["videos"])
    async def list_videos(request: Request) -> dict[str, list[dict[str, Any]]]:
        """Every job this server knows (until it expires)."""
        return {"jobs": [j.describe() for j in jobs_of(request).list()]}

    @api.get("/videos/{job_id}", tags=["videos"])
    async def video_status(request: Request, job_id: str) -> dict[str, Any]:
        """State (queued, running, done, failed, cancelled) and progress of a job."""
        return jobs_of(request).get(job_id).describe()

    @api.delete("/videos/{job_id}", tags=["videos"])
    async def cancel_video(request: Request, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (a finished one is left as it is)."""
        return jobs_of(request).cancel(job_id).describe()

    @api.get(
        "/videos/{job_id}/download",
        tags=["videos"],
        response_class=FileResponse,
        responses={200: {"content": {"video/mp4": {}}}},
    )
    async def download_video(request: Request, job_id: str) -> FileResponse:
        """The finished video (H.264 MP4)."""
        job = jobs_of(request).get(job_id)
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


def _add_model_routes(api: APIRouter, config: ServeConfig, engine: ServeEngine) -> None:
    @api.get("/models", tags=["models"])
    async def models() -> dict[str, Any]:
        """Every preset, what is exported (``{precision: trained}``) and what is loaded.
        ``untrained``: only random-weight (UNTRAINED) variants are exported."""
        loaded = engine.pool.sessions
        entries = await run_in_threadpool(list_models, config.models_dir)
        return {
            "default": engine.name(),
            "precision": config.precision or "auto",
            "models": [
                {
                    "name": e.name,
                    "kind": e.kind,
                    "height": e.size[0],
                    "width": e.size[1],
                    "gflops": round(e.gflops, 2),
                    "description": e.description,
                    "exported": list(e.exported),
                    "trained": e.trained,
                    "available": bool(e.exported)
                    if (config.precision or "auto") == "auto"
                    else config.precision in e.exported,
                    "untrained": e.untrained,
                    "loaded": e.name in loaded,
                }
                for e in entries
            ],
        }


def _add_ops_routes(app: FastAPI, ops: APIRouter, engine: ServeEngine, metrics: Metrics) -> None:
    @app.get("/healthz", tags=["operations"])
    async def healthz(request: Request) -> dict[str, Any]:
        """The server is up. Open without the token (a health probe carries none), then
        it says only that; with the token (or on a server without one) also the version
        and which models are loaded."""
        if not has_token(request):
            return {"status": "ok"}
        return {
            "status": "ok",
            "version": __version__,
            "default_quality": engine.name(),
            "loaded": sorted(engine.pool.sessions),
        }

    @ops.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        """Prometheus text: requests, latencies, queue depth, batches, model loads, jobs."""
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")


def _add_docs(app: FastAPI) -> None:
    """Swagger UI from local files (works offline) when the bundle is installed."""
    from fastapi.openapi.docs import get_swagger_ui_html

    try:
        import swagger_ui_bundle

        app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
        assets = {
            "swagger_js_url": "/docs-assets/swagger-ui-bundle.js",
            "swagger_css_url": "/docs-assets/swagger-ui.css",
            "swagger_favicon_url": "/docs-assets/favicon-32x32.png",
        }
    except ImportError:  # the CDN copy (needs internet in the browser)
        assets = {}

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="saliency-cam API", **assets)
