"""Running the app: :func:`serve` for the command line (blocks; Ctrl-C / SIGTERM stop it
cleanly, temp files removed) and :func:`running_server` for tests and benchmarks (a
real uvicorn server on a free 127.0.0.1 port, in a thread).

>>> with running_server(ServeConfig(quality="low")) as server:   # doctest: +SKIP
...     httpx.get(f"{server.url}/healthz").json()["status"]
'ok'
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.serve.app import create_app
from saliency_cam.realtime.apps.serve.config import MIB, ServeConfig

#: WebSocket messages larger than this are refused (a camera frame is ~30 KB).
WS_MAX_BYTES = 8 * MIB


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _uvicorn_server(config: ServeConfig, app=None, log_level: str = "warning"):
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn, except that a stop signal ends the process normally: uvicorn re-raises
        SIGINT/SIGTERM after its graceful shutdown, which would make a clean stop look
        like a crash (exit -15) or an interruption (130)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            stops = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    app = app or create_app(config)
    settings = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        log_level=log_level,
        ws_max_size=WS_MAX_BYTES,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    return Server(settings), app


def url_for(config: ServeConfig) -> str:
    host = config.host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.port}"


def serve(
    config: ServeConfig,
    *,
    open_browser: bool = True,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Load the default model (errors surface before listening), then serve until
    Ctrl-C or SIGTERM (uvicorn handles both: in-flight requests finish, jobs stop,
    the temp dir is deleted)."""
    config.check_exposure()
    server, app = _uvicorn_server(config, log_level=log_level)
    app.state.engine.session()  # a missing model is an error line now, not a 404 later
    url = url_for(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            if on_ready is not None:
                on_ready(url)
            if open_browser:
                page = url + (f"/#token={config.token}" if config.token else "")
                webbrowser.open(page)

    threading.Thread(target=announce, daemon=True).start()
    server.run()
    if not server.started:
        raise SaliencyCamError(f"could not listen on {config.host}:{config.port} (port in use?)")


@dataclass(frozen=True)
class LocalServer:
    """A server started by :func:`running_server`: its base URL and its app (tests read
    ``app.state``)."""

    url: str
    app: Any


@contextlib.contextmanager
def running_server(config: ServeConfig | None = None, **overrides: Any) -> Iterator[LocalServer]:
    """A real server in a background thread on a free loopback port; stops it (cleanly,
    with the app's shutdown) when the block ends. ``overrides`` replace config fields."""
    config = replace(config or ServeConfig(), host="127.0.0.1", port=free_port(), **overrides)
    server, app = _uvicorn_server(config)
    # uvicorn installs signal handlers only in the main thread: this one is not
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield LocalServer(url_for(config), app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
