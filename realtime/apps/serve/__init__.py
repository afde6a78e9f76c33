"""``saliency-cam serve``: a local web app and a versioned HTTP API on the same engine
as the command line (``open_session`` → ``SaliencySession``, ``decode_image``,
``render``, ``run_video_job``, ``list_models``).

>>> from saliency_cam.realtime.apps.serve import ServeConfig, create_app   # doctest: +SKIP
>>> app = create_app(ServeConfig(quality="low"))                          # doctest: +SKIP
>>> with running_server(ServeConfig(quality="low")) as server:             # doctest: +SKIP
...     httpx.get(server.url + "/healthz").json()

Pieces, one job each: ``config`` (options and limits), ``errors`` (JSON 4xx/5xx),
``auth`` (bearer token, Host/Origin checks), ``uploads`` (size and pixel limits before
decoding), ``budget`` (decoded pixels in flight),
``batcher`` (dynamic batching per model), ``engine`` (shared sessions + batchers),
``results`` (map → PNG / npy / JSON), ``jobs`` (background video jobs), ``live``
(the camera WebSocket), ``metrics`` (Prometheus text), ``app`` (routes), ``videos``
(the video job routes), ``server`` (uvicorn, signals, a background server for tests
and benchmarks).
"""

from __future__ import annotations

from saliency_cam.realtime.apps.serve.extra import require_serve_extra

require_serve_extra()  # before FastAPI is imported: one line naming the pip command

from saliency_cam.realtime.apps.serve.app import create_app  # noqa: E402
from saliency_cam.realtime.apps.serve.config import ServeConfig  # noqa: E402
from saliency_cam.realtime.apps.serve.server import running_server, serve  # noqa: E402

__all__ = ["ServeConfig", "create_app", "running_server", "serve"]
