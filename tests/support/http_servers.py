"""Small real HTTP servers on 127.0.0.1 for the download tests.

``serve(app)`` runs a threaded ``http.server`` on an ephemeral port and stops it when
the ``with`` block ends. ``app`` maps a :class:`Request` to a :class:`Reply`; replies
can cut the connection part-way (``drop_after``) to simulate a dropped download.
Three apps imitate the hosts the downloaders talk to: a static file host with Range
support (TF.js storage), a minimal Hugging Face Hub, and Google Drive's ``/uc``
endpoint. ``serve(app, certificate=...)`` lets gdown reach the fake Drive under its real
``https://drive.google.com`` name (needs the ``openssl`` command).

>>> with serve(static_files({"/a.bin": b"abc"})) as server:  # doctest: +SKIP
...     requests.get(server.url + "/a.bin").content
b'abc'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

#: Seconds a connection may stay idle before the server gives up on it (keeps a stuck
#: client from holding a test open).
SOCKET_TIMEOUT = 10.0


@dataclass
class Request:
    """What the app sees of one HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    host: str


@dataclass
class Reply:
    """What the app answers. ``Content-Length`` is added unless set; ``drop_after``
    sends only that many body bytes and then closes the connection."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop_after: int | None = None


App = Callable[[Request], Reply]


class Server(ThreadingHTTPServer):
    """A running test server: ``url`` to reach it, ``log`` of requests seen."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: App) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.certificate = ""
        self.log: list[Request] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    server: Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(
            method=self.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query).items()},
            headers=headers,
            host=headers.get("host", ""),
        )
        self.server.log.append(request)
        reply = self.server.app(request)
        self.send_response(reply.status)
        names = {k.lower() for k in reply.headers}
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(reply.body)))
        if reply.drop_after is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if reply.drop_after is None:
            self.wfile.write(reply.body)
            return
        self.wfile.write(reply.body[: reply.drop_after])
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def serve(app: App, *, certificate: Path | None = None) -> Iterator[Server]:
    """Run ``app`` on 127.0.0.1:<free port> in a thread for the ``with`` block.

    With ``certificate`` the server is an HTTPS proxy instead: it answers ``CONNECT``
    itself, terminates TLS with that certificate and serves the tunnelled requests with
    ``app`` (point ``HTTPS_PROXY`` at ``server.url`` and ``REQUESTS_CA_BUNDLE`` at the
    certificate; see :func:`make_test_certificate`).
    """
    server = Server(app)
    if certificate is not None:
        server.RequestHandlerClass = _ProxyHandler
        server.certificate = str(certificate)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens any more."""
    with serve(static_files({})) as server:
        url = server.url
    return url


def file_reply(request: Request, data: bytes, headers: dict[str, str] | None = None) -> Reply:
    """Serve ``data`` honouring ``Range: bytes=N-`` (206 + Content-Range) and
    ``If-Range`` (a validator other than this file's ETag gets the whole file)."""
    extra = {
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
        "ETag": f'"{hashlib.sha256(data).hexdigest()[:20]}"',
    }
    extra.update(headers or {})
    match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("range", ""))
    if_range = request.headers.get("if-range")
    if not match or (if_range is not None and if_range != extra["ETag"]):
        return Reply(200, data, extra)
    start = int(match.group(1))
    if start >= len(data):
        return Reply(416, b"", {**extra, "Content-Range": f"bytes */{len(data)}"})
    extra["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
    return Reply(206, data[start:], extra)


def static_files(
    files: dict[str, bytes],
    *,
    drop_first: set[str] | frozenset[str] = frozenset(),
    ranges: bool = True,
) -> App:
    """Serve ``files`` (URL path → bytes); 404 for anything else.

    The first GET of each path in ``drop_first`` sends half the file and then closes the
    connection. ``ranges=False`` makes the server ignore ``Range`` (always 200, whole file).
    """
    dropped: set[str] = set()
    lock = threading.Lock()

    def app(request: Request) -> Reply:
        data = files.get(request.path)
        if data is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        if not ranges:
            request.headers.pop("range", None)
        reply = file_reply(request, data)
        with lock:
            first = request.method == "GET" and request.path not in dropped
            if first and request.path in drop_first:
                dropped.add(request.path)
                reply.drop_after = len(reply.body) // 2
        return reply

    return app


# --------------------------------------------------------------------------- Hugging Face


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file, as the Hub reports it for non-LFS files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def fake_hub(
    repo_id: str,
    commit: str,
    files: dict[str, bytes],
    *,
    lfs: set[str] | frozenset[str] = frozenset(),
    lfs_sha256: dict[str, str] | None = None,
) -> App:
    """The few Hugging Face Hub endpoints ``snapshot_download`` uses, for one model repo.

    - ``GET /api/models/{repo}/revision/{rev}``: model info with ``sha`` and ``siblings``
      (for branch names; ``rev`` may be ``main`` or ``commit``).
    - ``GET /api/models/{repo}/tree/{commit}``: the file listing (``recursive``), LFS files
      with their sha256 (``lfs_sha256`` can lie, to test verification).
    - ``HEAD|GET /{repo}/resolve/{rev}/{path}``: the file with ``X-Repo-Commit``,
      ``ETag`` (sha256 for LFS, git blob id otherwise), ``Content-Length``, Range support.

    An unknown revision answers 404 with ``X-Error-Code: RevisionNotFound`` and an
    unknown file 404 with ``EntryNotFound``, as the Hub does.
    """
    sha = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    sha.update(lfs_sha256 or {})
    revisions = {"main", commit}

    def tree() -> list[dict[str, object]]:
        entries: list[dict[str, object]] = []
        folders = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
        for folder in folders:
            entries.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
        for path, data in sorted(files.items()):
            entry: dict[str, object] = {
                "type": "file",
                "oid": git_blob_sha1(data),
                "size": len(data),
                "path": path,
            }
            if path in lfs:
                entry["lfs"] = {"oid": sha[path], "size": len(data), "pointerSize": 134}
            entries.append(entry)
        return entries

    def not_found(code: str) -> Reply:
        body = json.dumps({"error": code}).encode()
        headers = {"X-Error-Code": code, "Content-Type": "application/json"}
        if code == "EntryNotFound":
            headers["X-Repo-Commit"] = commit
        return Reply(404, body, headers)

    def app(request: Request) -> Reply:
        api = f"/api/models/{repo_id}/"
        if request.path.startswith(api):
            kind, _, rest = request.path[len(api) :].partition("/")
            rev = rest.split("/", 1)[0]
            if rev not in revisions:
                return not_found("RevisionNotFound")
            if kind == "revision":
                info = {
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": commit,
                    "siblings": [{"rfilename": p} for p in sorted(files)],
                }
                return Reply(200, json.dumps(info).encode(), {"Content-Type": "application/json"})
            if kind == "tree":
                body = json.dumps(tree()).encode()
                return Reply(200, body, {"Content-Type": "application/json"})
            return Reply(404, b"{}", {"Content-Type": "application/json"})
        prefix = f"/{repo_id}/resolve/"
        if request.path.startswith(prefix):
            rev, _, path = request.path[len(prefix) :].partition("/")
            if rev not in revisions:
                return not_found("RevisionNotFound")
            if path not in files:
                return not_found("EntryNotFound")
            etag = sha[path] if path in lfs else git_blob_sha1(files[path])
            return file_reply(request, files[path], {"X-Repo-Commit": commit, "ETag": f'"{etag}"'})
        return Reply(404, b"not found", {"Content-Type": "text/plain"})

    return app


# --------------------------------------------------------------------------- Google Drive

REFUSED_PAGE = (
    b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head>"
    b"<body><p>Too many users have viewed or downloaded this file recently.</p></body></html>"
)


def confirm_page(file_id: str, action: str) -> bytes:
    """Drive's "can't scan this file for viruses" page with its download form."""
    return (
        "<!DOCTYPE html><html><body>"
        f'<form id="download-form" action="{action}" method="get">'
        '<input type="submit" value="Download anyway"/>'
        f'<input type="hidden" name="id" value="{file_id}">'
        '<input type="hidden" name="export" value="download">'
        '<input type="hidden" name="confirm" value="t">'
        "</form></body></html>"
    ).encode()


def fake_drive(
    zips: dict[str, bytes],
    *,
    refused: set[str] | frozenset[str] = frozenset(),
    confirm_action: str | None = None,
) -> App:
    """Google Drive's ``/uc?id=ID`` for the given file ids (id → zip bytes).

    Ids in ``refused`` get the "too many downloads" web page. With ``confirm_action``
    set, ``/uc`` first answers with the virus-scan confirmation form pointing there
    (path ``/download``), as Drive does for large files.
    """

    def attachment(file_id: str, request: Request) -> Reply:
        name = f"{file_id}.zip"
        return file_reply(
            request,
            zips[file_id],
            {
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )

    def app(request: Request) -> Reply:
        file_id = request.query.get("id", "")
        if file_id in refused:
            return Reply(200, REFUSED_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        if file_id not in zips:
            return Reply(404, b"<html>not found</html>", {"Content-Type": "text/html"})
        if request.path == "/uc" and confirm_action is not None:
            page = confirm_page(file_id, confirm_action)
            return Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})
        if request.path in ("/uc", "/download"):
            return attachment(file_id, request)
        return Reply(404, b"<html>not found</html>", {"Content-Type": "text/html"})

    return app


def make_test_certificate(folder: Path, hostnames: list[str]) -> Path | None:
    """A throw-away self-signed certificate (+ key, same file) for ``hostnames``, made
    with the ``openssl`` command; None when openssl is not installed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    pem = folder / "test-cert.pem"
    key = folder / "test-key.pem"
    san = ",".join(f"DNS:{h}" for h in hostnames)
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={hostnames[0]}",
            "-addext",
            f"subjectAltName={san}",
            "-keyout",
            str(key),
            "-out",
            str(pem),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    pem.write_bytes(pem.read_bytes() + key.read_bytes())
    return pem


class _ProxyHandler(_Handler):
    """An HTTPS proxy that answers CONNECT itself: it terminates TLS with the test
    certificate and serves the tunnelled requests with the app (a man in the middle
    that only the test's CA bundle trusts)."""

    def do_CONNECT(self) -> None:
        self.server.log.append(
            Request("CONNECT", self.path, {}, {k.lower(): v for k, v in self.headers.items()}, "")
        )
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server.certificate)
        try:
            tls = context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        tls.settimeout(SOCKET_TIMEOUT)
        _Handler(tls, self.client_address, self.server)
        self.close_connection = True
