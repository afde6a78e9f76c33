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
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
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
from saliency_cam.realtime.apps.serve.form import file_body, read_file_field
from saliency_cam.realtime.apps.serve.jobs import ACTIVE, FINAL, JobManager
from saliency_cam.realtime.apps.serve.live import LiveConnection
from saliency_cam.realtime.apps.serve.metrics import Metrics
from saliency_cam.realtime.apps.serve.uploads import (
    BodyLimit,
    check_pixels,
    read_image,
)
from saliency_cam.realtime.apps.serve.videos import add_video_routes
from saliency_cam.realtime.render.blend import (
    colorize,
    colormap_names,
    resolve_colormap,
)
from saliency_cam.realtime.runtime.session import SaliencySession

STATIC_DIR = Path(str(resources.files("saliency_cam.realtime.apps.serve") / "static"))


def create_app(config: ServeConfig | None = None) -> FastAPI:
    """A ready-to-run app for ``config`` (models open on first use; call
    ``app.state.engine.session()`` to load the default one up front)."""
    config = config or ServeConfig()
    metrics = Metrics()
    engine = ServeEngine(config, metrics)
    budget = _pixel_budget(config, metrics)
    folders = {str(resolve_models_dir(config.models_dir)): "the server's models folder"}
    app = FastAPI(
        title="saliency-cam",
        version=__version__,
        description="Where people will look (MSI-Net saliency): images, videos, live camera. "
        "Send 'Authorization: Bearer TOKEN' when the server was started with --token.",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(config, engine, metrics, folders),
    )
    app.state.config = config
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.budget = budget
    scrub = path_scrubber(folders)  # reads ``folders`` at each call: the temp dir joins later
    install_handlers(app, scrub)
    _add_middleware(app, config, metrics)
    _add_routes(app, config, engine, metrics, budget, scrub)
    return app


def _pixel_budget(config: ServeConfig, metrics: Metrics) -> PixelBudget:
    """The decoded-pixels budget shared by all requests, reported as a gauge."""
    budget = PixelBudget(config.pixels_in_flight, config.budget_wait_s)
    metrics.gauge_callback(
        "saliency_pixels_in_flight",
        lambda: {"held": float(budget.held), "peak": float(budget.peak)},
        "amount",
    )
    return budget


def _lifespan(
    config: ServeConfig, engine: ServeEngine, metrics: Metrics, folders: dict[str, str]
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's lifespan: a temp folder and the video job manager (with its expiry
    sweep) while the server runs; jobs, models and the folder go when it stops."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        root = Path(tempfile.mkdtemp(prefix="saliency-cam-serve-"))
        folders[str(root)] = "the server's temp folder"  # scrubbed from messages from now on
        jobs = _job_manager(root, config, engine, metrics)
        app.state.jobs = jobs
        sweeper = asyncio.create_task(_sweep(jobs, config.sweep_s))
        try:
            yield
        finally:
            sweeper.cancel()
            await run_in_threadpool(jobs.shutdown)
            await run_in_threadpool(engine.close)
            shutil.rmtree(root, ignore_errors=True)

    return lifespan


def _job_manager(
    root: Path, config: ServeConfig, engine: ServeEngine, metrics: Metrics
) -> JobManager:
    """Video jobs under ``root`` within the configured limits, counted in the metrics."""
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
    return jobs


async def _sweep(jobs: JobManager, every_s: float) -> None:
    """Expire finished jobs every ``every_s`` seconds until cancelled."""
    while True:
        await asyncio.sleep(every_s)
        await run_in_threadpool(jobs.expire)


def _add_middleware(app: FastAPI, config: ServeConfig, metrics: Metrics) -> None:
    """Body size limits, Host/Origin checks and request metrics (the last added runs
    first: metrics see every answer, the guard refuses before the limit reads)."""

    def limit_for(path: str) -> int:
        return config.max_video_bytes if path.startswith("/v1/videos") else config.max_image_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for)
    # outside the body limit: a foreign page's upload is refused before it is read
    app.add_middleware(HostOriginGuard, names=config.host_names)
    app.add_middleware(_RequestMetrics, metrics=metrics)


def _add_routes(
    app: FastAPI,
    config: ServeConfig,
    engine: ServeEngine,
    metrics: Metrics,
    budget: PixelBudget,
    scrub: Callable[[str], str],
) -> None:
    """Every route, by group: the token-protected ``/v1`` API and operations, the live
    WebSocket, the docs, and last the web page (a mount at ``/`` would shadow the rest)."""
    protected = [Depends(bearer_scheme), Depends(require_token)]
    api = APIRouter(prefix="/v1", dependencies=protected)
    ops = APIRouter(dependencies=protected)
    _add_image_routes(api, config, engine, budget)
    add_video_routes(api, config)
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
